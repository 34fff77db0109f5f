// The audit log as the store exposes it: appending an action that changes no record, listing
// entries, and verifying chains. The chains themselves (hashing, heads, migration) are in
// audit.cc.
#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace {

using internal::CheckPartyName;
using internal::CollaborationNotFound;
using internal::CollaborationWrite;
using internal::Json;
using internal::ParseObject;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Transaction;
using internal::Write;

// Actions are code-defined identifiers such as "query.submitted".
absl::Status CheckAction(std::string_view action) {
  bool valid = !action.empty() && action.size() <= 64 && absl::ascii_islower(action[0]);
  for (char c : action) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '.') valid = false;
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid audit action ", Quote(action)));
}

// The policy state of a chain's collaboration now, or the error met reading it (which the
// verification reports as a state changed outside Parley).
absl::StatusOr<internal::PolicyState> StateOf(sqlite3* db, std::string_view chain) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, internal::FindCollaborationId(db, chain));
  return internal::CurrentPolicyState(db, chain, id);
}

}  // namespace

absl::Status Store::AppendAudit(const std::string& collaboration, const std::string& actor,
                                const std::string& action, const std::string& details_json) {
  if (!collaboration.empty())
    PARLEY_RETURN_IF_ERROR(CheckPartyName("collaboration", collaboration));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_RETURN_IF_ERROR(CheckAction(action));
  std::optional<Json> details = ParseObject(details_json.empty() ? "{}" : details_json);
  if (!details.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the details of audit action ", Quote(action), " are not a JSON object"));
  }
  // "" is the catalog-wide chain: no record, no state.
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration, /*must_exist=*/true,
                                                    absl::StartsWith(action, "query.")
                                                        ? internal::Durability::kWritten
                                                        : internal::Durability::kSynced));
  // An appended action changes no record, so the state checked is the state it records.
  PARLEY_RETURN_IF_ERROR(write.Append(actor, action, *details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::vector<AuditEntry>> Store::ListAudit(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  std::string sql =
      "SELECT seq, time, collaboration, actor, action, details_json, prev_hash, hash, "
      "state_sha256 FROM audit ";
  if (!collaboration.empty()) {
    PARLEY_RETURN_IF_ERROR(internal::CollaborationId(db, collaboration).status());
    sql += "WHERE collaboration = ? ";
  }
  sql += "ORDER BY id";
  PARLEY_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(db, sql));
  if (!collaboration.empty()) PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
  std::vector<AuditEntry> entries;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    entries.push_back({statement.Int(0), statement.Int(1), statement.Text(2), statement.Text(3),
                       statement.Text(4), statement.Text(5), statement.Text(6), statement.Text(7),
                       statement.Text(8)});
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return entries;
}

absl::StatusOr<AuditPage> Store::ListAuditPage(const std::string& collaboration,
                                               const AuditPageQuery& query) {
  if (collaboration.empty()) return CollaborationNotFound(collaboration);
  sqlite3* db = impl_->handle();
  // One read transaction: the page and the head come from the same snapshot while others append.
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_RETURN_IF_ERROR(internal::CollaborationId(db, collaboration).status());
  AuditPage page;
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement head,
        Statement::Prepare(db, "SELECT coalesce(max(seq), 0) FROM audit WHERE collaboration = ?"));
    PARLEY_RETURN_IF_ERROR(head.Bind(collaboration));
    PARLEY_ASSIGN_OR_RETURN(bool row, head.Step());
    if (row) page.head_seq = head.Int(0);
  }
  // (collaboration, seq) is unique, hence indexed: a page reads only its own rows (one more
  // tells whether others remain).
  bool forward = query.after.has_value();
  std::string sql =
      "SELECT seq, time, collaboration, actor, action, details_json, prev_hash, hash, "
      "state_sha256 FROM audit WHERE collaboration = ? AND seq ";
  sql += forward ? "> ? ORDER BY seq ASC" : "< ? ORDER BY seq DESC";
  sql += " LIMIT ?";
  int64_t bound =
      forward ? *query.after : query.before.value_or(std::numeric_limits<int64_t>::max());
  PARLEY_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(db, sql));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration, bound, query.limit + 1));
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    if (static_cast<int64_t>(page.entries.size()) == query.limit) {
      page.more = true;
      break;
    }
    page.entries.push_back({statement.Int(0), statement.Int(1), statement.Text(2),
                            statement.Text(3), statement.Text(4), statement.Text(5),
                            statement.Text(6), statement.Text(7), statement.Text(8)});
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return page;
}

absl::StatusOr<AuditVerification> Store::VerifyAudit(const std::string& collaboration,
                                                     const std::string& expected_head) {
  sqlite3* db = impl_->handle();
  // One read transaction: the head, the rows and the policy state come from the same snapshot
  // even while another process appends.
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  if (collaboration.empty() ||
      std::find(chains.begin(), chains.end(), collaboration) == chains.end()) {
    return CollaborationNotFound(collaboration);
  }
  PARLEY_ASSIGN_OR_RETURN(
      AuditVerification verification,
      internal::VerifyChain(db, collaboration, StateOf(db, collaboration), expected_head));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  // Records of queries are committed without an fsync; the head reported is made durable first.
  PARLEY_RETURN_IF_ERROR(internal::SyncWriteAheadLog(*impl_));
  return verification;
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  AuditVerification all;
  for (const std::string& chain : chains) {
    PARLEY_ASSIGN_OR_RETURN(AuditVerification verification,
                            internal::VerifyChain(db, chain, StateOf(db, chain)));
    all.entries += verification.entries;
    if (!verification.ok) {
      all.ok = false;
      all.heads.clear();
      all.problem = chain.empty()
                        ? absl::StrCat("catalog-wide actions: ", verification.problem)
                        : absl::StrCat("collaboration ", Quote(chain), ": ", verification.problem);
      return all;
    }
    all.heads.merge(verification.heads);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  PARLEY_RETURN_IF_ERROR(internal::SyncWriteAheadLog(*impl_));
  return all;
}

}  // namespace parley::catalog
