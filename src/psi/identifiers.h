// The set of identifiers one party brings to a PSI session (docs/formats/psi.md, "Identifiers and
// hash-to-group"): the values of one column, normalised, without NULLs, empties and duplicates,
// each remembered with the first spelling found in the party's file so that the output shows the
// party's own values.
//
//   PARLEY_ASSIGN_OR_RETURN(Normaliser normalise, NormaliserNamed("text"));
//   IdentifierSet set(normalise);
//   for (const auto& value : column) PARLEY_RETURN_IF_ERROR(set.Add(value));
//
// Thread safety: an IdentifierSet is used from one thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::psi {

// Turns one value into the identifier that is matched: the same person spelled two ways by two
// parties must give the same identifier. nullopt: the value identifies nobody (it is skipped).
// InvalidArgument: the value is not an identifier of that kind (it is counted and skipped); any
// other error stops the read. Messages must not quote the value.
using Normaliser = std::function<absl::StatusOr<std::optional<std::string>>(absl::string_view)>;

// The names the command line accepts for --normalise: those of crypto/normalise.h (the same
// rules as fingerprint columns, so PSI and encrypted joins agree on who is the same person).
std::vector<std::string> NormaliserNames();

// The normaliser of that name; InvalidArgument naming the known ones otherwise.
absl::StatusOr<Normaliser> NormaliserNamed(absl::string_view name);

class IdentifierSet {
 public:
  explicit IdentifierSet(Normaliser normalise) : normalise_(std::move(normalise)) {}

  // Adds one value of the column (nullopt for NULL). `row` (1-based) names the row in errors.
  absl::Status Add(std::optional<absl::string_view> value, uint64_t row);

  // The distinct identifiers, in the order first seen.
  const std::vector<std::string>& identifiers() const { return identifiers_; }
  // The first spelling of identifiers()[i] in the input.
  const std::string& spelling(size_t i) const { return spellings_[i]; }
  // Values read, and values skipped (NULL or nothing left after normalisation).
  uint64_t values() const { return values_; }
  uint64_t skipped() const { return skipped_; }
  // Values the normaliser refused (InvalidArgument), and the row of the first.
  uint64_t unusable() const { return unusable_; }
  uint64_t first_unusable_row() const { return first_unusable_row_; }

 private:
  Normaliser normalise_;
  std::vector<std::string> identifiers_;
  std::vector<std::string> spellings_;
  absl::flat_hash_map<std::string, size_t> positions_;
  uint64_t values_ = 0;
  uint64_t skipped_ = 0;
  uint64_t unusable_ = 0;
  uint64_t first_unusable_row_ = 0;
};

}  // namespace parley::psi
