// The audit chains inside the catalog: appending an entry to its collaboration's chain, verifying
// one chain against its recorded head and the collaboration's current policy state, and the
// one-time move (schema version 3) from the single catalog-wide chain of earlier versions to one
// chain per collaboration. Internal to src/catalog: the store calls these inside its own
// transactions and computes the policy states they record and compare.
//
// Why one chain per collaboration: a member verifies its own room by reading only its room's
// entries. Why a head table beside the entries: deleting the last entries of a chain leaves a
// well-formed shorter chain; the head (seq and hash of the last entry) records where it ended.
// Whoever can write the catalog file can rewrite the head too, which is why `audit verify`
// prints the head for members to compare out of band.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "catalog/internal.h"
#include "catalog/store.h"

namespace parley::catalog::internal {

inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// A collaboration's policy state as its chain records it. `parts` holds one digest per part —
// the collaboration's settings, each member, each table, each template — so that verification
// can say which part changed; `digest` (PolicyStateDigest) is the digest of `parts`. Both are ""
// for the catalog-wide chain and for a collaboration without a record.
struct PolicyState {
  std::string digest;
  std::string parts;  // canonical JSON
};
// How a table enters the state. Catalogs before schema version 5 stored a file kind and a location
// instead of a kind of source and its description, and their audit entries recorded states
// digested from {"kind", "location", ...}; the migration to version 5 recomputes such a state
// (kVersion4, from the files description {"format", "path"}) to check it before converting.
enum class TableDocument { kCurrent, kVersion4 };
PolicyState ComputePolicyState(const Collaboration& collaboration, const std::vector<Table>& tables,
                               const std::vector<AnalysisTemplate>& templates,
                               TableDocument form = TableDocument::kCurrent);

// What differs between two `parts` documents, for messages: "table 'retail' changed, member
// 'intruder' added". Names only, never values. Empty when either document is unreadable.
std::string DescribeStateChange(std::string_view recorded_parts, std::string_view current_parts);

// Appends an entry to the chain of `collaboration` and moves that chain's head. `state` is the
// collaboration's policy state after the action (empty for catalog-wide actions). Must run
// inside a write transaction, after the change it records.
absl::Status AppendEntry(sqlite3* db, int64_t time, std::string_view collaboration,
                         std::string_view actor, std::string_view action, const Json& details,
                         const PolicyState& state);

// The policy state recorded by the head of `collaboration`'s chain: nullopt for a chain with no
// entry and no head; FailedPrecondition when the head and the entries disagree (the head or its
// entry is missing or was edited), which `VerifyChain` then describes.
absl::StatusOr<std::optional<PolicyState>> HeadState(sqlite3* db, std::string_view collaboration);

// Verifies the chain of `collaboration`: every link and hash, the head, and that the last
// entry's state is `current_state` — the collaboration's policy state now (empty when it has no
// record), or the error met reading it, which counts as a state changed outside Parley.
// A non-empty `expected_head` must be the hash of one of the chain's entries (see
// Store::VerifyAudit).
absl::StatusOr<AuditVerification> VerifyChain(sqlite3* db, std::string_view collaboration,
                                              const absl::StatusOr<PolicyState>& current_state,
                                              std::string_view expected_head = "");

// The names of every chain in the catalog, sorted: collaborations with entries, a head or a
// record ("" for the catalog-wide chain when it has entries).
absl::StatusOr<std::vector<std::string>> ChainNames(sqlite3* db);

// Schema version 3. Verifies the old catalog-wide chain as earlier versions did, then recomputes
// every entry's prev_hash and hash as a member of its collaboration's chain (with an empty
// state), writes the heads and drops the old head. Returns what the old chain's verification
// found ("intact" or the problem), its head hash and its number of entries, for the entry the
// store then appends to each chain to record the migration.
struct LegacyChain {
  std::string verdict;
  std::string head;
  int64_t entries = 0;
};
absl::StatusOr<LegacyChain> RechainByCollaboration(sqlite3* db);

}  // namespace parley::catalog::internal
