#include "psi/identifiers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "crypto/normalise.h"

namespace parley::psi {
std::vector<std::string> NormaliserNames() {
  return {"none", "email", "email+provider", "phone", "phone:<country code>", "text"};
}

absl::StatusOr<Normaliser> NormaliserNamed(absl::string_view name) {
  absl::StatusOr<crypto::Normalisation> normalisation =
      crypto::ParseNormalisation(std::string_view(name.data(), name.size()));
  if (!normalisation.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown normalisation '", name, "' (expected ",
                                                   absl::StrJoin(NormaliserNames(), ", "), ")"));
  }
  return Normaliser([normalisation = *normalisation](
                        absl::string_view value) -> absl::StatusOr<std::optional<std::string>> {
    PARLEY_ASSIGN_OR_RETURN(
        std::string normalised,
        crypto::Normalise(normalisation, std::string_view(value.data(), value.size())));
    return std::optional<std::string>(std::move(normalised));
  });
}

absl::Status IdentifierSet::Add(std::optional<absl::string_view> value, uint64_t row) {
  ++values_;
  if (!value) {
    ++skipped_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<std::string>> identifier = normalise_(*value);
  if (!identifier.ok()) {
    if (identifier.status().code() != absl::StatusCode::kInvalidArgument) {
      return absl::Status(identifier.status().code(),
                          absl::StrCat("row ", row, ": ", identifier.status().message()));
    }
    // Not an identifier under this normalisation (not an e-mail address, say): it cannot match
    // anything, so it is left out and counted, like a NULL.
    if (unusable_ == 0) first_unusable_row_ = row;
    ++unusable_;
    return absl::OkStatus();
  }
  if (!identifier->has_value() || (*identifier)->empty()) {
    ++skipped_;
    return absl::OkStatus();
  }
  auto [position, inserted] = positions_.try_emplace(**identifier, identifiers_.size());
  if (inserted) {
    identifiers_.push_back(std::move(**identifier));
    spellings_.emplace_back(*value);
  }
  return absl::OkStatus();
}

}  // namespace parley::psi
