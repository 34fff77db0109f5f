#include "identity/access.h"

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace parley::identity {

const Membership* Room::Find(const std::string& member) const {
  for (const Membership& membership : members) {
    if (membership.name == member) return &membership;
  }
  return nullptr;
}

namespace {

// The caller as an active member of the room: every action starts here.
absl::StatusOr<const Membership*> ActiveMember(const Caller& caller, const Room& room) {
  const Membership* membership = room.Find(caller.member());
  bool active = membership != nullptr && membership->active;
  if (!active && caller.authentication() == Authentication::kToken) {
    // A remote caller who may not see the room learns nothing of it, not even that it exists:
    // the answer is the store's for a collaboration that does not exist, word for word.
    return absl::NotFoundError(
        absl::StrCat("collaboration '", absl::CHexEscape(room.name), "' not found"));
  }
  if (membership == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("'", caller.member(), "' is not a member of collaboration '", room.name, "'"));
  }
  if (!membership->active) {
    return absl::PermissionDeniedError(absl::StrCat("member '", caller.member(), "' is ",
                                                    membership->status, " in collaboration '",
                                                    room.name, "', not active"));
  }
  return membership;
}

absl::Status RequireCreator(const Caller& caller, const Room& room, const char* what) {
  if (room.creator == caller.member()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '", room.name,
                                                  "' ('", room.creator, "') can ", what));
}

absl::Status RequireOwner(const Caller& caller, const Target& target, const char* what) {
  if (target.table_owner == caller.member()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("only the owner of table '", target.table, "' ('",
                                                  target.table_owner, "') can ", what));
}

// Whether `action` only reads: the actions a closed room still allows.
bool Reads(Action action) {
  return action == Action::kView || action == Action::kReadResult ||
         action == Action::kReadQueryLog;
}

absl::Status RequireRole(const Caller& caller, const Room& room, const Membership* membership,
                         Action action, const Target& target) {
  switch (action) {
    case Action::kView:
    case Action::kAddTable:
    case Action::kCreateTemplate:
    case Action::kReadQueryLog:
      return absl::OkStatus();
    case Action::kAddMember:
      return RequireCreator(caller, room, "add members");
    case Action::kRemoveMember:
      PARLEY_RETURN_IF_ERROR(RequireCreator(caller, room, "remove members"));
      if (target.member == room.creator) {
        return absl::InvalidArgumentError("the creator cannot be removed from its collaboration");
      }
      return absl::OkStatus();
    case Action::kLeave:
      if (room.creator == caller.member()) {
        return absl::FailedPreconditionError(
            "the creator cannot leave its collaboration; the room would have no one to run it");
      }
      return absl::OkStatus();
    case Action::kProposeChange:
      if (target.change_kind == "add_member") {
        return RequireCreator(caller, room, "add members");
      }
      return absl::OkStatus();
    case Action::kVoteOnChange:
      return absl::OkStatus();
    case Action::kCancelChange:
      if (target.member == caller.member()) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat("only the proposer of a change request ('",
                                                      target.member, "') can cancel it"));
    case Action::kSetRule:
      return RequireOwner(caller, target, "set its rule");
    case Action::kApproveTemplate:
      return RequireOwner(caller, target, "approve analyses for it");
    case Action::kRevokeTemplate:
      return RequireOwner(caller, target, "revoke analyses for it");
    case Action::kQuery:
      if (membership->abilities.Has(Ability::kQuery)) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          "member '", caller.member(), "' does not have the 'query' ability in collaboration '",
          room.name, "' (abilities: ", membership->abilities.ToString(), ")"));
    case Action::kReadResult:
      if (Receives(caller, target.receivers)) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          "member '", caller.member(), "' is not a receiver of query ", target.query_id));
    case Action::kClose:
      return RequireCreator(caller, room, "close it");
    case Action::kRunJob:
      if (membership->abilities.Has(Ability::kRunJobs)) return absl::OkStatus();
      return absl::PermissionDeniedError(absl::StrCat(
          "member '", caller.member(), "' does not have the 'run_jobs' ability in collaboration '",
          room.name, "' (abilities: ", membership->abilities.ToString(), ")"));
  }
  return absl::InternalError("unknown action");
}

}  // namespace

absl::Status Require(const Caller& caller, const Room& room, Action action, const Target& target) {
  PARLEY_ASSIGN_OR_RETURN(const Membership* membership, ActiveMember(caller, room));
  PARLEY_RETURN_IF_ERROR(RequireRole(caller, room, membership, action, target));
  if (room.closed && action == Action::kClose) {
    return absl::FailedPreconditionError(
        absl::StrCat("collaboration '", room.name, "' is already closed"));
  }
  if (room.closed && !Reads(action)) {
    // The catalog's words (catalog::internal::CollaborationClosed), which refuses the same
    // changes again inside its write transaction.
    return absl::FailedPreconditionError(absl::StrCat(
        "collaboration '", room.name,
        "' is closed: it takes no more queries and no changes to its members, tables, rules or "
        "templates; its results and audit log stay readable"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Receivers(const Caller& caller, const Room& room,
                                                   std::vector<std::string> requested) {
  PARLEY_ASSIGN_OR_RETURN(const Membership* runner, ActiveMember(caller, room));
  if (requested.empty()) {
    if (!runner->abilities.Has(Ability::kReceive)) {
      return absl::InvalidArgumentError(
          absl::StrCat("member '", runner->name,
                       "' cannot receive results; name a receiver with the 'receive' ability"));
    }
    requested.push_back(runner->name);
  }
  std::set<std::string> seen;
  for (const std::string& receiver : requested) {
    if (!seen.insert(receiver).second) {
      return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver, "' is named twice"));
    }
    const Membership* found = room.Find(receiver);
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "receiver '", receiver, "' is not a member of collaboration '", room.name, "'"));
    }
    if (!found->active || !found->abilities.Has(Ability::kReceive)) {
      return absl::InvalidArgumentError(
          absl::StrCat("receiver '", receiver,
                       "' may not receive results (it needs the 'receive' ability "
                       "and an active membership)"));
    }
  }
  return requested;
}

bool MayView(const Caller& caller, const Room& room) { return ActiveMember(caller, room).ok(); }

bool SeesLocation(const Caller& caller, const std::string& table_owner) {
  return caller.member() == table_owner;
}

bool Receives(const Caller& caller, const std::vector<std::string>& receivers) {
  return std::find(receivers.begin(), receivers.end(), caller.member()) != receivers.end();
}

bool ListsQuery(const Caller& caller, const std::string& runner,
                const std::vector<std::string>& receivers) {
  return runner == caller.member() || Receives(caller, receivers);
}

}  // namespace parley::identity
