// The one place where Parley decides who may do what in a collaboration. Each use case of the
// service asks once, before it touches anything: `Require(caller, room, action, target)`. The
// rules, all here:
//
//   - only active members act at all (an invited, departed or removed member, or an outsider,
//     is refused everything, including seeing that the collaboration's members exist). A caller
//     authenticated by a token is told NotFound, exactly as for a collaboration that does not
//     exist, so that a server does not reveal which names are taken by rooms it may not see;
//     an embedded caller (who can read the home anyway) gets PermissionDenied saying why;
//   - the collaboration's creator adds and removes members, and cannot leave or be removed;
//   - a table's owner sets its rule and approves or revokes analysis templates for it;
//   - a member with the `query` ability explains and runs queries and templates;
//   - a result is read only by the query's receivers, each an active member with `receive`;
//   - any active member proposes and votes on change requests (only the creator proposes adding
//     a member, by invitation over a server), and only its proposer cancels one;
//   - a table's location is shown only to its owner; query listings show a member the queries
//     it ran or receives, and the query log the queries that touched its own tables.
//   - the creator closes the collaboration, once. A closed collaboration is an archive: reading
//     (the collaboration, its tables, templates, policy, audit, queries and the results one
//     receives) goes on as before, and every change and every new query or explanation is
//     refused with FailedPrecondition saying it is closed — after the checks above, so an
//     outsider still learns nothing and a member learns only what it could do were it open.
//
// The service converts its stored records into the small Room value below, so these rules do not
// depend on how the catalog stores members.
//
//   PARLEY_RETURN_IF_ERROR(identity::Require(caller, room, identity::Action::kSetRule,
//                                            {.table = "sales", .table_owner = "retailer"}));
//
// Errors: PermissionDenied (not an active member, not the creator or owner, missing ability, not
// a receiver), FailedPrecondition (the creator leaving, a change in a closed room), InvalidArgument
// (removing the creator, receivers that are not active members with `receive`). Messages name
// members, tables and abilities, never data. Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "identity/ability.h"
#include "identity/caller.h"

namespace parley::identity {

struct Membership {
  std::string name;
  AbilitySet abilities;
  bool active = false;
  std::string status;  // as shown in messages: "active", "invited", "left", "removed"
};

// A collaboration as the access rules see it.
struct Room {
  std::string name;
  std::string creator;
  std::vector<Membership> members;
  bool closed = false;

  const Membership* Find(const std::string& member) const;
};

enum class Action {
  kView,             // see the collaboration, its tables, templates, policy, audit, own queries
  kAddMember,        // the creator
  kRemoveMember,     // the creator; target.member must not be the creator
  kLeave,            // any active member but the creator
  kAddTable,         // any active member (the table is its own)
  kCreateTemplate,   // any active member
  kSetRule,          // the table's owner
  kApproveTemplate,  // the table's owner
  kRevokeTemplate,   // the table's owner
  kQuery,            // an active member with the `query` ability
  kReadResult,       // an active member among the query's receivers
  kReadQueryLog,     // any active member (the log shows only queries touching its tables)
  kClose,            // the creator, once
  kProposeChange,    // any active member; adding a member (target.change_kind "add_member"): the
                     // creator
  kVoteOnChange,     // any active member (approve or deny a pending change request)
  kCancelChange,     // the change request's proposer (target.member)
  kRunJob,           // an active member with the `run_jobs` ability
};

// What an action is about; only the fields the action needs are read.
struct Target {
  std::string table = {};                   // kSetRule, kApproveTemplate, kRevokeTemplate
  std::string table_owner = {};             // idem
  std::string member = {};                  // kRemoveMember; kCancelChange: the proposer
  std::string change_kind = {};             // kProposeChange
  int64_t query_id = 0;                     // kReadResult
  std::vector<std::string> receivers = {};  // kReadResult
};

absl::Status Require(const Caller& caller, const Room& room, Action action,
                     const Target& target = {});

// The receivers of a query `caller` runs: `requested`, or the caller itself when none are named.
// Each must be an active member with `receive`, named once. InvalidArgument otherwise.
absl::StatusOr<std::vector<std::string>> Receivers(const Caller& caller, const Room& room,
                                                   std::vector<std::string> requested);

// Whether `caller` sees the collaboration at all (it is an active member).
bool MayView(const Caller& caller, const Room& room);
// Whether `caller` sees the location of a table owned by `table_owner`.
bool SeesLocation(const Caller& caller, const std::string& table_owner);
// Whether `caller` is among `receivers`: it sees a query's result, row count and error.
bool Receives(const Caller& caller, const std::vector<std::string>& receivers);
// Whether a query is listed to `caller` among its own queries: it ran or receives it.
bool ListsQuery(const Caller& caller, const std::string& runner,
                const std::vector<std::string>& receivers);

}  // namespace parley::identity
