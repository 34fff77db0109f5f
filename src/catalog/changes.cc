// Change requests and invitations: a collaboration's terms (payer, auto-approved kinds), proposing
// a change, votes, cancelling, committing a change once every active member has approved it, and
// redeeming an invitation. Each call is one write transaction, so two votes (or a vote and a
// cancel) landing together are serialized by SQLite's write lock: the second sees the first.
#include <sqlite3.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace internal {
namespace {

bool HasTable(sqlite3* db, const char* name) {
  absl::StatusOr<Statement> exists =
      Statement::Prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  if (!exists.ok() || !exists->Bind(std::string(name)).ok()) return false;
  absl::StatusOr<bool> found = exists->Step();
  return found.ok() && *found;
}

Json AbilitiesOf(const Member& member) {
  Json abilities = Json::array();
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  if (member.can_run_jobs) abilities.push_back("run_jobs");
  return abilities;
}

Json BudgetJson(const PrivacyBudget& budget) {
  return {{"epsilon_per_month", budget.epsilon_per_period},
          {"delta_per_month", budget.delta_per_period},
          {"default_epsilon", budget.default_epsilon},
          {"max_epsilon", budget.max_epsilon}};
}

// The change as stored and audited: its kind's fields only.
Json ChangeJson(const Change& change) {
  Json json = {{"kind", change.kind}};
  if (change.member.has_value()) {
    json["member"] = change.member->name;
    json["abilities"] = AbilitiesOf(*change.member);
    if (change.kind == "add_member") {
      json["invitation"] = change.member->status == MemberStatus::kInvited;
    }
  }
  if (change.payer.has_value()) json["payer"] = *change.payer;
  if (change.query_logging.has_value()) json["query_logging"] = *change.query_logging;
  if (change.privacy_budget.has_value())
    json["privacy_budget"] = BudgetJson(*change.privacy_budget);
  if (change.time_limit_seconds.has_value())
    json["time_limit_seconds"] = *change.time_limit_seconds;
  return json;
}

absl::StatusOr<Change> ChangeFromJson(std::string_view text) {
  absl::Status corrupt = absl::InternalError("catalog: a stored change request is corrupt");
  std::optional<Json> json = ParseObject(text);
  if (!json.has_value()) return corrupt;
  try {
    Change change;
    change.kind = json->at("kind").get<std::string>();
    if (json->contains("member")) {
      Member member;
      member.name = json->at("member").get<std::string>();
      for (const Json& ability : json->at("abilities")) {
        if (ability == "query") member.can_query = true;
        if (ability == "receive") member.can_receive = true;
        if (ability == "run_jobs") member.can_run_jobs = true;
      }
      member.status =
          json->value("invitation", false) ? MemberStatus::kInvited : MemberStatus::kActive;
      change.member = member;
    }
    if (json->contains("payer")) change.payer = json->at("payer").get<std::string>();
    if (json->contains("query_logging"))
      change.query_logging = json->at("query_logging").get<bool>();
    if (json->contains("privacy_budget")) {
      const Json& budget = json->at("privacy_budget");
      change.privacy_budget = PrivacyBudget{budget.at("epsilon_per_month").get<int64_t>(),
                                            budget.at("delta_per_month").get<int64_t>(),
                                            budget.at("default_epsilon").get<int64_t>(),
                                            budget.at("max_epsilon").get<int64_t>()};
    }
    if (json->contains("time_limit_seconds")) {
      change.time_limit_seconds = json->at("time_limit_seconds").get<int64_t>();
    }
    return change;
  } catch (const Json::exception&) {
    return corrupt;
  }
}

absl::Status ChangeNotFound(std::string_view collaboration, int64_t id) {
  return absl::NotFoundError(
      absl::StrCat("change request ", id, " not found in collaboration ", Quote(collaboration)));
}

const Member* FindIn(const Collaboration& collaboration, std::string_view name) {
  for (const Member& member : collaboration.members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

bool IsActive(const Collaboration& collaboration, std::string_view name) {
  const Member* member = FindIn(collaboration, name);
  return member != nullptr && member->status == MemberStatus::kActive;
}

// Whether `change` can apply to the collaboration as it is now: its form and its object.
absl::Status CheckChange(const Collaboration& collaboration, const Change& change) {
  if (!IsChangeKind(change.kind)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown kind of change ", Quote(change.kind)));
  }
  bool needs_member = change.kind == "add_member" || change.kind == "abilities";
  if (needs_member != change.member.has_value() ||
      (change.kind == "payer") != change.payer.has_value() ||
      (change.kind == "query_logging") != change.query_logging.has_value() ||
      (change.kind == "privacy_budget") != change.privacy_budget.has_value() ||
      (change.kind == "time_limit") != change.time_limit_seconds.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a change of kind ", Quote(change.kind), " needs exactly its own fields"));
  }
  if (change.kind == "add_member") {
    PARLEY_RETURN_IF_ERROR(CheckPartyName("member", change.member->name));
    const Member* existing = FindIn(collaboration, change.member->name);
    if (existing != nullptr &&
        (existing->status == MemberStatus::kActive || existing->status == MemberStatus::kInvited)) {
      return absl::AlreadyExistsError(absl::StrCat("member ", Quote(change.member->name),
                                                   " already exists in collaboration ",
                                                   Quote(collaboration.name)));
    }
  } else if (change.kind == "abilities") {
    if (!IsActive(collaboration, change.member->name)) {
      return absl::NotFoundError(absl::StrCat("member ", Quote(change.member->name),
                                              " is not an active member of collaboration ",
                                              Quote(collaboration.name)));
    }
  } else if (change.kind == "payer") {
    if (*change.payer != kRunnerPays && !IsActive(collaboration, *change.payer)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the payer must be 'runner' or an active member of collaboration ",
                       Quote(collaboration.name), "; ", Quote(*change.payer), " is not"));
    }
  } else if (change.kind == "time_limit") {
    if (*change.time_limit_seconds < 0 || *change.time_limit_seconds > kMaxTimeLimitSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("a time limit is a number of seconds from 1 to ", kMaxTimeLimitSeconds,
                       " (or none); ", *change.time_limit_seconds, " is not"));
    }
  } else if (change.kind == "privacy_budget") {
    const PrivacyBudget& budget = *change.privacy_budget;
    if (budget.epsilon_per_period <= 0 || budget.default_epsilon <= 0 ||
        budget.delta_per_period < 0 || budget.max_epsilon < budget.default_epsilon ||
        budget.max_epsilon > budget.epsilon_per_period) {
      return absl::InvalidArgumentError(
          "privacy budget: need 0 < default epsilon <= max epsilon per query <= epsilon per "
          "month, and delta >= 0");
    }
  }
  return absl::OkStatus();
}

// The subject of a change, for refusing two pending changes of one kind about one thing.
std::string SubjectOf(const Change& change) {
  return change.member.has_value() ? absl::StrCat(change.kind, "/", change.member->name)
                                   : change.kind;
}

absl::StatusOr<ChangeRequest> ReadChange(sqlite3* db, std::string_view collaboration,
                                         int64_t collaboration_id, int64_t id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT change_json, proposer, status, auto_approved, "
                         "created_at, decided_at, decided_by FROM "
                         "change_requests WHERE id = ? AND collaboration_id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(id, collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return ChangeNotFound(collaboration, id);
  ChangeRequest request;
  request.id = id;
  request.collaboration = std::string(collaboration);
  PARLEY_ASSIGN_OR_RETURN(request.change, ChangeFromJson(statement.Text(0)));
  request.proposer = statement.Text(1);
  PARLEY_ASSIGN_OR_RETURN(request.status, ParseChangeStatus(statement.Text(2)));
  request.auto_approved = statement.Bool(3);
  request.created_at = statement.Int(4);
  request.decided_at = statement.Int(5);
  request.decided_by = statement.Text(6);
  PARLEY_ASSIGN_OR_RETURN(Statement votes,
                          Statement::Prepare(db,
                                             "SELECT member, approve FROM change_votes WHERE "
                                             "change_id = ? ORDER BY created_at, rowid"));
  PARLEY_RETURN_IF_ERROR(votes.Bind(id));
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, votes.Step());
    if (!row) break;
    (votes.Bool(1) ? request.approvals : request.denials).push_back(votes.Text(0));
  }
  return request;
}

absl::Status SetStatus(CollaborationWrite& write, int64_t id, ChangeStatus status,
                       std::string_view by) {
  return Write(write.db(),
               "UPDATE change_requests SET status = ?, decided_at = ?, decided_by = ? WHERE id = ?",
               ChangeStatusName(status), write.now(), std::string(by), id);
}

absl::Status Vote(CollaborationWrite& write, int64_t id, std::string_view member, bool approve) {
  return Write(write.db(),
               "INSERT INTO change_votes (change_id, member, approve, created_at) VALUES (?, ?, ?, "
               "?)",
               id, std::string(member), approve, write.now());
}

// Applies an approved change with its own audit entry (the actor: who completed the approvals).
absl::Status Apply(CollaborationWrite& write, const ChangeRequest& request,
                   const std::string& actor) {
  const Change& change = request.change;
  PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, ReadCollaboration(write.db(), write.id()));
  PARLEY_RETURN_IF_ERROR(CheckChange(collaboration, change));
  Json by_change = {{"change", request.id}};
  if (change.kind == "add_member") {
    return AddMemberIn(write, *change.member, actor, by_change);
  }
  if (change.kind == "abilities") {
    PARLEY_RETURN_IF_ERROR(Write(write.db(),
                                 "UPDATE members SET can_query = ?, can_receive = ? WHERE "
                                 "collaboration_id = ? AND name = ?",
                                 change.member->can_query, change.member->can_receive, write.id(),
                                 change.member->name));
    PARLEY_RETURN_IF_ERROR(internal::SetRunJobs(write.db(), write.id(), change.member->name,
                                                change.member->can_run_jobs));
    const Member* before = FindIn(collaboration, change.member->name);
    Json details = {{"member", change.member->name},
                    {"from", AbilitiesOf(*before)},
                    {"to", AbilitiesOf(*change.member)},
                    {"change", request.id}};
    return write.Append(actor, "member.abilities", details, PolicyEffect::kChangesPolicy);
  }
  if (change.kind == "payer") {
    collaboration.payer = *change.payer;
    PARLEY_RETURN_IF_ERROR(WriteTerms(write.db(), write.id(), collaboration));
    return write.Append(actor, "collaboration.payer",
                        {{"payer", *change.payer}, {"change", request.id}},
                        PolicyEffect::kChangesPolicy);
  }
  if (change.kind == "query_logging") {
    PARLEY_RETURN_IF_ERROR(Write(write.db(),
                                 "UPDATE collaborations SET query_logging = ? WHERE id = ?",
                                 *change.query_logging, write.id()));
    return write.Append(actor, "collaboration.query_logging",
                        {{"query_logging", *change.query_logging}, {"change", request.id}},
                        PolicyEffect::kChangesPolicy);
  }
  if (change.kind == "time_limit") {
    std::optional<int64_t> seconds;
    if (*change.time_limit_seconds > 0) seconds = *change.time_limit_seconds;
    PARLEY_RETURN_IF_ERROR(WriteTimeLimit(write.db(), write.id(), seconds));
    // How long queries may run decides no release: the policy is the same.
    return write.Append(
        actor, "collaboration.time_limit",
        {{"time_limit_seconds", seconds ? Json(*seconds) : Json(nullptr)}, {"change", request.id}},
        PolicyEffect::kKeepsPolicy);
  }
  PARLEY_RETURN_IF_ERROR(WritePrivacyBudget(write.db(), write.id(), *change.privacy_budget));
  return write.Append(
      actor, "collaboration.privacy_budget",
      {{"privacy_budget", BudgetJson(*change.privacy_budget)}, {"change", request.id}},
      PolicyEffect::kChangesPolicy);
}

// Whether change request `id` adds a member by invitation (it then waits for the code).
absl::StatusOr<bool> HasInvitation(sqlite3* db, int64_t id) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db, "SELECT 1 FROM invitations WHERE change_id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(id));
  return statement.Step();
}

// When every active member has approved the pending change `id` (or `auto_approved`), approves it
// and — unless it is an invitation, which waits for its code — commits it. The re-read record.
absl::StatusOr<ChangeRequest> Settle(CollaborationWrite& write, int64_t id,
                                     const std::string& actor, bool auto_approved = false) {
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest request,
                          ReadChange(write.db(), write.name(), write.id(), id));
  if (request.status != ChangeStatus::kPending) return request;
  PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, ReadCollaboration(write.db(), write.id()));
  std::vector<std::string> waiting;
  for (const Member& member : collaboration.members) {
    if (member.status != MemberStatus::kActive) continue;
    if (std::find(request.approvals.begin(), request.approvals.end(), member.name) ==
        request.approvals.end()) {
      waiting.push_back(member.name);
    }
  }
  if (!waiting.empty() && !auto_approved) return request;
  PARLEY_RETURN_IF_ERROR(SetStatus(write, id, ChangeStatus::kApproved, actor));
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "change.approved",
                                      {{"change", id}, {"auto_approved", auto_approved}},
                                      PolicyEffect::kChangesPolicy));
  PARLEY_RETURN_IF_ERROR(Apply(write, request, actor));
  PARLEY_ASSIGN_OR_RETURN(bool invitation, HasInvitation(write.db(), id));
  if (!invitation) {
    PARLEY_RETURN_IF_ERROR(SetStatus(write, id, ChangeStatus::kCommitted, actor));
    PARLEY_RETURN_IF_ERROR(write.Append(actor, "change.commit",
                                        {{"change", id}, {"kind", request.change.kind}},
                                        PolicyEffect::kChangesPolicy));
  }
  return ReadChange(write.db(), write.name(), write.id(), id);
}

absl::StatusOr<std::vector<int64_t>> PendingIds(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT id FROM change_requests WHERE "
                                             "collaboration_id = ? AND status = 'pending' "
                                             "ORDER BY id"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<int64_t> ids;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    ids.push_back(statement.Int(0));
  }
  return ids;
}

absl::StatusOr<std::optional<Invitation>> FindInvitation(sqlite3* db, std::string_view id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT i.id, c.name, i.organisation, i.change_id, i.salt, i.hash, "
                         "i.created_at, i.expires_at, i.redeemed_at FROM invitations i JOIN "
                         "collaborations c ON c.id = i.collaboration_id WHERE i.id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(std::string(id)));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  Invitation invitation;
  invitation.id = statement.Text(0);
  invitation.collaboration = statement.Text(1);
  invitation.organisation = statement.Text(2);
  invitation.change_id = statement.Int(3);
  invitation.salt_hex = statement.Text(4);
  invitation.hash_hex = statement.Text(5);
  invitation.created_at = statement.Int(6);
  invitation.expires_at = statement.Int(7);
  if (!statement.IsNull(8)) invitation.redeemed_at = statement.Int(8);
  return invitation;
}

absl::Status InvitationNotFound() {
  return absl::NotFoundError("no such invitation (the code is not valid)");
}

}  // namespace

absl::Status ReadTerms(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration) {
  collaboration.payer = kRunnerPays;
  collaboration.auto_approve.clear();
  if (!HasTable(db, "collaboration_terms")) return absl::OkStatus();
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT payer, auto_approve FROM collaboration_terms WHERE "
                         "collaboration_id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return absl::OkStatus();
  collaboration.payer = statement.Text(0);
  PARLEY_ASSIGN_OR_RETURN(collaboration.auto_approve,
                          ReadStringArray(statement.Text(1), "auto-approved kinds"));
  return absl::OkStatus();
}

absl::Status WriteTerms(sqlite3* db, int64_t collaboration_id, const Collaboration& collaboration) {
  for (const std::string& kind : collaboration.auto_approve) {
    if (!IsChangeKind(kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown kind of change ", Quote(kind),
                       " (kinds: add_member, abilities, payer, query_logging, privacy_budget, "
                       "time_limit)"));
    }
  }
  if (collaboration.payer != kRunnerPays && FindIn(collaboration, collaboration.payer) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the payer must be 'runner' or a member of collaboration ",
                     Quote(collaboration.name), "; ", Quote(collaboration.payer), " is not"));
  }
  PARLEY_ASSIGN_OR_RETURN(
      std::string kinds, Canonical(StringArray(collaboration.auto_approve), "auto-approved kinds"));
  return Write(db,
               "INSERT OR REPLACE INTO collaboration_terms (collaboration_id, payer, "
               "auto_approve) VALUES (?, ?, ?)",
               collaboration_id, collaboration.payer, kinds);
}

}  // namespace internal

using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Write;

bool IsChangeKind(std::string_view kind) {
  return std::find(std::begin(kChangeKinds), std::end(kChangeKinds), kind) !=
         std::end(kChangeKinds);
}

std::string ChangeStatusName(ChangeStatus status) {
  switch (status) {
    case ChangeStatus::kPending:
      return "pending";
    case ChangeStatus::kApproved:
      return "approved";
    case ChangeStatus::kDenied:
      return "denied";
    case ChangeStatus::kCommitted:
      return "committed";
    case ChangeStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

absl::StatusOr<ChangeStatus> ParseChangeStatus(std::string_view name) {
  for (ChangeStatus status :
       {ChangeStatus::kPending, ChangeStatus::kApproved, ChangeStatus::kDenied,
        ChangeStatus::kCommitted, ChangeStatus::kCancelled}) {
    if (name == ChangeStatusName(status)) return status;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown change status ", Quote(name)));
}

absl::StatusOr<ChangeRequest> Store::ProposeChange(const std::string& collaboration,
                                                   const std::string& proposer,
                                                   const Change& change,
                                                   const std::optional<Invitation>& invitation) {
  PARLEY_RETURN_IF_ERROR(internal::CheckPartyName("member", proposer));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  sqlite3* db = write.db();
  PARLEY_ASSIGN_OR_RETURN(Collaboration current, internal::ReadCollaboration(db, write.id()));
  PARLEY_RETURN_IF_ERROR(internal::CheckChange(current, change));
  // An invited member may also be listed without a code (the store's state for members that are
  // not acting yet); such a change commits like any other.
  if (invitation.has_value() &&
      !(change.kind == "add_member" && change.member->status == MemberStatus::kInvited)) {
    return absl::InvalidArgumentError(
        "an invitation goes only with an add_member change of an invited member");
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<int64_t> pending, internal::PendingIds(db, write.id()));
  for (int64_t other : pending) {
    PARLEY_ASSIGN_OR_RETURN(ChangeRequest open,
                            internal::ReadChange(db, collaboration, write.id(), other));
    if (internal::SubjectOf(open.change) == internal::SubjectOf(change)) {
      return absl::FailedPreconditionError(
          absl::StrCat("change request ", other, " of kind ", Quote(change.kind),
                       change.member.has_value() ? absl::StrCat(" for ", Quote(change.member->name))
                                                 : std::string(),
                       " is already pending; approve, deny or cancel it first"));
    }
  }
  Json change_json = internal::ChangeJson(change);
  PARLEY_ASSIGN_OR_RETURN(std::string change_text, internal::Canonical(change_json, "change"));
  bool auto_approved = std::find(current.auto_approve.begin(), current.auto_approve.end(),
                                 change.kind) != current.auto_approve.end();
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO change_requests (collaboration_id, kind, change_json, "
                               "proposer, status, auto_approved, created_at, decided_at, "
                               "decided_by) VALUES (?, ?, ?, ?, 'pending', ?, ?, 0, '')",
                               write.id(), change.kind, change_text, proposer, auto_approved,
                               write.now()));
  int64_t id = sqlite3_last_insert_rowid(db);
  PARLEY_RETURN_IF_ERROR(internal::Vote(write, id, proposer, /*approve=*/true));
  Json details = {{"change", id}, {"proposal", change_json}};
  if (invitation.has_value()) {
    if (invitation->organisation != change.member->name || invitation->expires_at <= write.now()) {
      return absl::InvalidArgumentError("an invitation names the member it adds and expires later");
    }
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "INSERT INTO invitations (id, collaboration_id, organisation, "
                                 "change_id, salt, hash, created_at, expires_at) VALUES (?, ?, ?, "
                                 "?, ?, ?, ?, ?)",
                                 invitation->id, write.id(), invitation->organisation, id,
                                 invitation->salt_hex, invitation->hash_hex, write.now(),
                                 invitation->expires_at));
    details["invitation"] = invitation->id;
    details["expires_at"] = invitation->expires_at;
  }
  PARLEY_RETURN_IF_ERROR(
      write.Append(proposer, "change.propose", details, PolicyEffect::kKeepsPolicy));
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest settled,
                          internal::Settle(write, id, proposer, auto_approved));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return settled;
}

absl::StatusOr<ChangeRequest> Store::VoteOnChange(const std::string& collaboration, int64_t id,
                                                  const std::string& member, bool approve) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest request,
                          internal::ReadChange(write.db(), collaboration, write.id(), id));
  if (request.status != ChangeStatus::kPending) {
    return absl::FailedPreconditionError(absl::StrCat(
        "change request ", id, " is ", ChangeStatusName(request.status), ", not pending"));
  }
  bool voted =
      std::find(request.approvals.begin(), request.approvals.end(), member) !=
          request.approvals.end() ||
      std::find(request.denials.begin(), request.denials.end(), member) != request.denials.end();
  if (voted) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", Quote(member), " has already voted on change request ", id));
  }
  PARLEY_RETURN_IF_ERROR(internal::Vote(write, id, member, approve));
  ChangeRequest result;
  if (approve) {
    PARLEY_RETURN_IF_ERROR(
        write.Append(member, "change.approve", {{"change", id}}, PolicyEffect::kKeepsPolicy));
    PARLEY_ASSIGN_OR_RETURN(result, internal::Settle(write, id, member));
  } else {
    PARLEY_RETURN_IF_ERROR(internal::SetStatus(write, id, ChangeStatus::kDenied, member));
    PARLEY_RETURN_IF_ERROR(
        write.Append(member, "change.deny", {{"change", id}}, PolicyEffect::kKeepsPolicy));
    PARLEY_ASSIGN_OR_RETURN(result,
                            internal::ReadChange(write.db(), collaboration, write.id(), id));
  }
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return result;
}

absl::StatusOr<ChangeRequest> Store::CancelChange(const std::string& collaboration, int64_t id,
                                                  const std::string& actor) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest request,
                          internal::ReadChange(write.db(), collaboration, write.id(), id));
  bool waiting_invitation = request.status == ChangeStatus::kApproved;
  if (request.status != ChangeStatus::kPending && !waiting_invitation) {
    return absl::FailedPreconditionError(absl::StrCat("change request ", id, " is ",
                                                      ChangeStatusName(request.status),
                                                      " and cannot be cancelled"));
  }
  PARLEY_RETURN_IF_ERROR(internal::SetStatus(write, id, ChangeStatus::kCancelled, actor));
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "change.cancel", {{"change", id}}, PolicyEffect::kKeepsPolicy));
  if (waiting_invitation) {
    // The invited member was listed when the invitation was approved; it never joined.
    PARLEY_RETURN_IF_ERROR(Write(write.db(),
                                 "UPDATE members SET status = 'removed' WHERE collaboration_id = ? "
                                 "AND name = ? AND status = 'invited'",
                                 write.id(), request.change.member->name));
    PARLEY_RETURN_IF_ERROR(write.Append(actor, "member.status",
                                        {{"member", request.change.member->name},
                                         {"from", "invited"},
                                         {"to", "removed"},
                                         {"change", id}},
                                        PolicyEffect::kChangesPolicy));
  }
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest result,
                          internal::ReadChange(write.db(), collaboration, write.id(), id));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return result;
}

absl::Status Store::SettleChanges(const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<int64_t> pending,
                          internal::PendingIds(write.db(), write.id()));
  if (pending.empty()) return absl::OkStatus();
  for (int64_t id : pending) {
    PARLEY_RETURN_IF_ERROR(internal::Settle(write, id, "parley").status());
  }
  return write.Commit();
}

absl::StatusOr<ChangeRequest> Store::GetChange(const std::string& collaboration, int64_t id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest request,
                          internal::ReadChange(db, collaboration, collaboration_id, id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return request;
}

absl::StatusOr<std::vector<ChangeRequest>> Store::ListChanges(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  std::vector<int64_t> ids;
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(
            db, "SELECT id FROM change_requests WHERE collaboration_id = ? ORDER BY id"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      ids.push_back(statement.Int(0));
    }
  }
  std::vector<ChangeRequest> requests;
  for (int64_t id : ids) {
    PARLEY_ASSIGN_OR_RETURN(ChangeRequest request,
                            internal::ReadChange(db, collaboration, collaboration_id, id));
    requests.push_back(std::move(request));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return requests;
}

absl::StatusOr<Invitation> Store::GetInvitation(const std::string& id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::optional<Invitation> invitation, internal::FindInvitation(db, id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  if (!invitation.has_value()) return internal::InvitationNotFound();
  return *invitation;
}

absl::StatusOr<ChangeRequest> Store::RedeemInvitation(const std::string& id) {
  std::string collaboration;
  {
    PARLEY_ASSIGN_OR_RETURN(Invitation invitation, GetInvitation(id));
    collaboration = invitation.collaboration;
  }
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  // Read again inside the write lock: of two redemptions at once, the second sees the first.
  PARLEY_ASSIGN_OR_RETURN(std::optional<Invitation> invitation,
                          internal::FindInvitation(write.db(), id));
  if (!invitation.has_value()) return internal::InvitationNotFound();
  if (invitation->redeemed_at.has_value()) {
    return absl::FailedPreconditionError("this invitation has already been used");
  }
  if (invitation->expires_at <= write.now()) {
    return absl::FailedPreconditionError("this invitation has expired; ask for a new one");
  }
  PARLEY_ASSIGN_OR_RETURN(
      ChangeRequest request,
      internal::ReadChange(write.db(), collaboration, write.id(), invitation->change_id));
  if (request.status != ChangeStatus::kApproved) {
    if (request.status == ChangeStatus::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("this invitation waits for change request ", request.id,
                       " to be approved by every member of collaboration ", Quote(collaboration)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "this invitation is void: its change request was ", ChangeStatusName(request.status)));
  }
  PARLEY_RETURN_IF_ERROR(
      Write(write.db(), "UPDATE invitations SET redeemed_at = ? WHERE id = ?", write.now(), id));
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "UPDATE members SET status = 'active' WHERE collaboration_id = ? "
                               "AND name = ? AND status = 'invited'",
                               write.id(), invitation->organisation));
  if (sqlite3_changes(write.db()) != 1) {
    return absl::FailedPreconditionError("the invited member is no longer invited");
  }
  PARLEY_RETURN_IF_ERROR(write.Append(
      invitation->organisation, "member.join",
      {{"member", invitation->organisation}, {"invitation", id}, {"change", request.id}},
      PolicyEffect::kChangesPolicy));
  PARLEY_RETURN_IF_ERROR(
      internal::SetStatus(write, request.id, ChangeStatus::kCommitted, invitation->organisation));
  PARLEY_RETURN_IF_ERROR(write.Append(invitation->organisation, "change.commit",
                                      {{"change", request.id}, {"kind", "add_member"}},
                                      PolicyEffect::kChangesPolicy));
  PARLEY_ASSIGN_OR_RETURN(ChangeRequest result,
                          internal::ReadChange(write.db(), collaboration, write.id(), request.id));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return result;
}

}  // namespace parley::catalog
