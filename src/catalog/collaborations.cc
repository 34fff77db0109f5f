// Collaborations and their members: creating a collaboration with its first members, reading
// it, the policy snapshot, adding members and changing their status.
#include <sqlite3.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace internal {
namespace {}  // namespace

absl::Status SetRunJobs(sqlite3* db, int64_t collaboration_id, const std::string& member,
                        bool can_run_jobs) {
  PARLEY_RETURN_IF_ERROR(
      Write(db, "DELETE FROM member_job_runners WHERE collaboration_id = ? AND name = ?",
            collaboration_id, member));
  if (!can_run_jobs) return absl::OkStatus();
  return Write(db, "INSERT INTO member_job_runners (collaboration_id, name) VALUES (?, ?)",
               collaboration_id, member);
}

namespace {

absl::StatusOr<Member> ReadMember(const Statement& statement, int first_column) {
  Member member;
  member.name = statement.Text(first_column);
  member.can_query = statement.Bool(first_column + 1);
  member.can_receive = statement.Bool(first_column + 2);
  PARLEY_ASSIGN_OR_RETURN(member.status, ParseMemberStatus(statement.Text(first_column + 3)));
  member.can_run_jobs = statement.Bool(first_column + 4);
  return member;
}

absl::StatusOr<std::optional<Member>> FindMember(sqlite3* db, int64_t collaboration_id,
                                                 std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT name, can_query, can_receive, status, EXISTS "
                                             "(SELECT 1 FROM member_job_runners r WHERE "
                                             "r.collaboration_id = m.collaboration_id AND r.name = "
                                             "m.name) FROM members m WHERE collaboration_id = ? "
                                             "AND name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return ReadMember(statement, 0);
}

absl::StatusOr<std::vector<Member>> ListMembers(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT name, can_query, can_receive, status, EXISTS "
                                             "(SELECT 1 FROM member_job_runners r WHERE "
                                             "r.collaboration_id = m.collaboration_id AND r.name = "
                                             "m.name) FROM members m WHERE collaboration_id = ? "
                                             "ORDER BY id"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<Member> members;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(Member member, ReadMember(statement, 0));
    members.push_back(std::move(member));
  }
  return members;
}

// When the collaboration was closed; 0 while it is open.
absl::StatusOr<int64_t> ReadClosedAt(sqlite3* db, int64_t collaboration_id) {
  absl::StatusOr<Statement> prepared = Statement::Prepare(
      db, "SELECT closed_at FROM collaboration_closures WHERE collaboration_id = ?");
  if (!prepared.ok()) {
    // As for privacy budgets: the migrations of older catalogs read collaborations before the
    // migration that creates the table has run. No table, not closed.
    PARLEY_ASSIGN_OR_RETURN(
        Statement exists,
        Statement::Prepare(db,
                           "SELECT 1 FROM sqlite_master WHERE name = 'collaboration_closures'"));
    PARLEY_ASSIGN_OR_RETURN(bool has_table, exists.Step());
    if (!has_table) return 0;
    return prepared.status();
  }
  Statement statement = *std::move(prepared);
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  return found ? statement.Int(0) : 0;
}

// The abilities of a member as the audit log names them.
Json Abilities(const Member& member) {
  Json abilities = Json::array();
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  if (member.can_run_jobs) abilities.push_back("run_jobs");
  return abilities;
}

}  // namespace

absl::StatusOr<std::optional<int64_t>> FindCollaborationId(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db, "SELECT id FROM collaborations WHERE name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return statement.Int(0);
}

absl::StatusOr<int64_t> CollaborationId(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, FindCollaborationId(db, name));
  if (!id.has_value()) return CollaborationNotFound(name);
  return *id;
}

absl::StatusOr<Member> GetMember(sqlite3* db, int64_t collaboration_id,
                                 std::string_view collaboration, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<Member> member, FindMember(db, collaboration_id, name));
  if (!member.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("member ", Quote(name), " not found in collaboration ", Quote(collaboration)));
  }
  return *member;
}

absl::StatusOr<Collaboration> ReadCollaboration(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT name, description, creator, query_logging, "
                                             "created_at FROM collaborations WHERE id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return absl::InternalError("catalog: a collaboration record vanished");
  Collaboration collaboration;
  collaboration.name = statement.Text(0);
  collaboration.description = statement.Text(1);
  collaboration.creator = statement.Text(2);
  collaboration.query_logging = statement.Bool(3);
  collaboration.created_at = statement.Int(4);
  PARLEY_ASSIGN_OR_RETURN(collaboration.closed_at, ReadClosedAt(db, collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(collaboration.members, ListMembers(db, collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(collaboration.privacy_budget, ReadPrivacyBudget(db, collaboration_id));
  PARLEY_RETURN_IF_ERROR(ReadTerms(db, collaboration_id, collaboration));
  PARLEY_RETURN_IF_ERROR(ReadEncryption(db, collaboration_id, collaboration));
  PARLEY_RETURN_IF_ERROR(ReadTimeLimit(db, collaboration_id, collaboration));
  return collaboration;
}

}  // namespace internal

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Transaction;
using internal::Write;

absl::Status Store::CreateCollaboration(const Collaboration& collaboration) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("collaboration", collaboration.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", collaboration.creator));
  std::set<std::string_view> seen;
  for (const Member& member : collaboration.members) {
    PARLEY_RETURN_IF_ERROR(CheckPartyName("member", member.name));
    if (!seen.insert(member.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("member ", Quote(member.name),
                                                     " is listed twice in collaboration ",
                                                     Quote(collaboration.name)));
    }
  }
  if (!seen.contains(collaboration.creator)) {
    return absl::InvalidArgumentError(absl::StrCat("the creator ", Quote(collaboration.creator),
                                                   " must be listed as a member of collaboration ",
                                                   Quote(collaboration.name)));
  }

  PARLEY_ASSIGN_OR_RETURN(
      CollaborationWrite write,
      CollaborationWrite::Begin(*impl_, collaboration.name, /*must_exist=*/false));
  if (write.exists()) {
    return absl::AlreadyExistsError(
        absl::StrCat("collaboration ", Quote(collaboration.name), " already exists"));
  }
  sqlite3* db = write.db();
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO collaborations (name, description, creator, "
                               "query_logging, created_at) VALUES (?, ?, ?, ?, ?)",
                               collaboration.name, collaboration.description, collaboration.creator,
                               collaboration.query_logging, write.now()));
  write.SetId(sqlite3_last_insert_rowid(db));
  Json members = Json::array();
  for (const Member& member : collaboration.members) {
    // The creator starts active whatever the caller passed: it is already in the room.
    MemberStatus status =
        member.name == collaboration.creator ? MemberStatus::kActive : member.status;
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "INSERT INTO members (collaboration_id, name, can_query, "
                                 "can_receive, status) VALUES (?, ?, ?, ?, ?)",
                                 write.id(), member.name, member.can_query, member.can_receive,
                                 MemberStatusName(status)));
    PARLEY_RETURN_IF_ERROR(internal::SetRunJobs(db, write.id(), member.name, member.can_run_jobs));
    members.push_back({{"name", member.name},
                       {"abilities", internal::Abilities(member)},
                       {"status", MemberStatusName(status)}});
  }
  Json details = {{"creator", collaboration.creator},
                  {"members", members},
                  {"query_logging", collaboration.query_logging}};
  if (collaboration.privacy_budget.has_value()) {
    const PrivacyBudget& budget = *collaboration.privacy_budget;
    PARLEY_RETURN_IF_ERROR(internal::WritePrivacyBudget(db, write.id(), budget));
    // In fixed point, as stored: ε in millionths, δ in 10^-15.
    details["privacy_budget"] = {{"epsilon_per_month", budget.epsilon_per_period},
                                 {"delta_per_month", budget.delta_per_period},
                                 {"default_epsilon", budget.default_epsilon},
                                 {"max_epsilon", budget.max_epsilon}};
  }
  PARLEY_RETURN_IF_ERROR(internal::WriteTerms(db, write.id(), collaboration));
  if (collaboration.payer != kRunnerPays) details["payer"] = collaboration.payer;
  if (collaboration.time_limit_seconds) {
    PARLEY_RETURN_IF_ERROR(
        internal::WriteTimeLimit(db, write.id(), collaboration.time_limit_seconds));
    details["time_limit_seconds"] = *collaboration.time_limit_seconds;
  }
  if (!collaboration.auto_approve.empty()) details["auto_approve"] = collaboration.auto_approve;
  PARLEY_RETURN_IF_ERROR(internal::WriteEncryption(db, write.id(), collaboration));
  if (!(collaboration.encryption == EncryptionSettings{})) {
    const EncryptionSettings& e = collaboration.encryption;
    details["encryption"] = {{"allow_cleartext", e.allow_cleartext},
                             {"allow_duplicates", e.allow_duplicates},
                             {"allow_joins_on_columns_with_different_names",
                              e.allow_joins_on_columns_with_different_names},
                             {"preserve_nulls", e.preserve_nulls}};
  }
  PARLEY_RETURN_IF_ERROR(write.Append(collaboration.creator, "collaboration.create", details,
                                      PolicyEffect::kChangesPolicy));
  return write.Commit();
}

absl::StatusOr<Collaboration> Store::GetCollaboration(const std::string& name) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, name));
  PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, internal::ReadCollaboration(db, id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return collaboration;
}

absl::StatusOr<std::vector<Collaboration>> Store::ListCollaborations() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  std::vector<int64_t> ids;
  {
    PARLEY_ASSIGN_OR_RETURN(Statement statement,
                            Statement::Prepare(db, "SELECT id FROM collaborations ORDER BY name"));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      ids.push_back(statement.Int(0));
    }
  }
  std::vector<Collaboration> collaborations;
  for (int64_t id : ids) {
    PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, internal::ReadCollaboration(db, id));
    collaborations.push_back(std::move(collaboration));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return collaborations;
}

absl::StatusOr<PolicySnapshot> Store::GetPolicySnapshot(const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<const PolicySnapshot> shared, SharedPolicySnapshot(name));
  return *shared;
}

absl::StatusOr<std::shared_ptr<const PolicySnapshot>> Store::SharedPolicySnapshot(
    const std::string& name) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  // Read and digested again only when the catalog changed since (internal::PolicyCache).
  PARLEY_RETURN_IF_ERROR(internal::RefreshPolicyCache(*impl_));
  const internal::CachedPolicy* cached = internal::FindCachedPolicy(*impl_, name);
  if (cached == nullptr) {
    PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, name));
    PARLEY_ASSIGN_OR_RETURN(cached, internal::LoadPolicy(*impl_, name, id));
  }
  std::shared_ptr<const PolicySnapshot> snapshot = cached->snapshot;
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return snapshot;
}

namespace internal {

absl::Status AddMemberIn(CollaborationWrite& write, const Member& member, const std::string& actor,
                         const Json& extra) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<Member> existing,
                          internal::FindMember(write.db(), write.id(), member.name));
  if (existing.has_value() && existing->status != MemberStatus::kLeft &&
      existing->status != MemberStatus::kRemoved) {
    return absl::AlreadyExistsError(absl::StrCat(
        "member ", Quote(member.name), " already exists in collaboration ", Quote(write.name())));
  }
  if (existing.has_value()) {
    // A member who left or was removed comes back. Its tables come back with it, but not their
    // rules: they were set for the earlier membership, and a table is queried again only once its
    // owner sets a rule anew (a creator cannot bring a departed member's data back on its own).
    PARLEY_RETURN_IF_ERROR(Write(write.db(),
                                 "UPDATE members SET can_query = ?, can_receive = ?, status = ? "
                                 "WHERE collaboration_id = ? AND name = ?",
                                 member.can_query, member.can_receive,
                                 MemberStatusName(member.status), write.id(), member.name));
    PARLEY_RETURN_IF_ERROR(SetRunJobs(write.db(), write.id(), member.name, member.can_run_jobs));
    std::vector<std::string> cleared;
    {
      PARLEY_ASSIGN_OR_RETURN(
          Statement tables,
          Statement::Prepare(write.db(),
                             "SELECT name FROM tables WHERE collaboration_id = ? AND owner = ? AND "
                             "rule_json IS NOT NULL ORDER BY name"));
      PARLEY_RETURN_IF_ERROR(tables.Bind(write.id(), member.name));
      while (true) {
        PARLEY_ASSIGN_OR_RETURN(bool row, tables.Step());
        if (!row) break;
        cleared.push_back(tables.Text(0));
      }
    }
    PARLEY_RETURN_IF_ERROR(Write(
        write.db(), "UPDATE tables SET rule_json = NULL WHERE collaboration_id = ? AND owner = ?",
        write.id(), member.name));
    Json details = {{"member", member.name},
                    {"abilities", internal::Abilities(member)},
                    {"status", MemberStatusName(member.status)},
                    {"rejoined_from", MemberStatusName(existing->status)},
                    {"rules_cleared", cleared}};
    details.update(extra);
    PARLEY_RETURN_IF_ERROR(
        write.Append(actor, "member.add", details, PolicyEffect::kChangesPolicy));
    return absl::OkStatus();
  }
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "INSERT INTO members (collaboration_id, name, can_query, "
                               "can_receive, status) VALUES (?, ?, ?, ?, ?)",
                               write.id(), member.name, member.can_query, member.can_receive,
                               MemberStatusName(member.status)));
  PARLEY_RETURN_IF_ERROR(SetRunJobs(write.db(), write.id(), member.name, member.can_run_jobs));
  Json details = {{"member", member.name},
                  {"abilities", internal::Abilities(member)},
                  {"status", MemberStatusName(member.status)}};
  details.update(extra);
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "member.add", details, PolicyEffect::kChangesPolicy));
  return absl::OkStatus();
}

}  // namespace internal

absl::Status Store::AddMember(const std::string& collaboration, const Member& member,
                              const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", member.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_RETURN_IF_ERROR(internal::AddMemberIn(write, member, actor, Json::object()));
  return write.Commit();
}

absl::Status Store::SetMemberStatus(const std::string& collaboration, const std::string& member,
                                    MemberStatus status, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_ASSIGN_OR_RETURN(Member existing,
                          internal::GetMember(write.db(), write.id(), collaboration, member));
  PARLEY_RETURN_IF_ERROR(
      Write(write.db(), "UPDATE members SET status = ? WHERE collaboration_id = ? AND name = ?",
            MemberStatusName(status), write.id(), member));
  Json details = {{"member", member},
                  {"from", MemberStatusName(existing.status)},
                  {"to", MemberStatusName(status)}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "member.status", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

absl::Status Store::CloseCollaboration(const std::string& collaboration, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  if (write.closed_at() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("collaboration ", Quote(collaboration), " is already closed"));
  }
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "INSERT INTO collaboration_closures (collaboration_id, closed_at) "
                               "VALUES (?, ?)",
                               write.id(), write.now()));
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "collaboration.close", Json::object(), PolicyEffect::kChangesPolicy));
  return write.Commit();
}

}  // namespace parley::catalog
