#include "psi/identifiers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::psi {
namespace {

absl::StatusOr<std::optional<std::string>> AsIs(absl::string_view value) {
  return std::optional<std::string>(std::string(value));
}

}  // namespace

std::vector<std::string> NormaliserNames() { return {"none"}; }

absl::StatusOr<Normaliser> NormaliserNamed(absl::string_view name) {
  if (name == "none") return Normaliser(AsIs);
  return absl::InvalidArgumentError(absl::StrCat("unknown normalisation '", name, "' (expected ",
                                                 absl::StrJoin(NormaliserNames(), ", "), ")"));
}

absl::Status IdentifierSet::Add(std::optional<absl::string_view> value, uint64_t row) {
  ++values_;
  if (!value) {
    ++skipped_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<std::string>> identifier = normalise_(*value);
  if (!identifier.ok()) {
    return absl::Status(identifier.status().code(),
                        absl::StrCat("row ", row, ": ", identifier.status().message()));
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
