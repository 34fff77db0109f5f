// API types (see api/types.h for the conventions every type follows): change requests and
// invitations. After a collaboration is created, changes that affect everyone — adding a member,
// changing a member's abilities, who pays for queries, query logging, the privacy budget — are
// change requests that commit only when every active member has approved (docs/api.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/collaborations.h"
#include "api/privacy.h"

namespace parley::api {

// A change request. `kind` says which of the change's fields are present: add_member (member,
// abilities, invitation), abilities (member, abilities), payer (payer), query_logging
// (query_logging), privacy_budget (privacy_budget).
struct ChangeRequest {
  int64_t id = 0;
  std::string collaboration;
  std::string kind;
  std::string proposer;
  std::string status;  // "pending" | "approved" | "denied" | "committed" | "cancelled"
  bool auto_approved = false;
  int64_t created_at = 0;
  std::optional<int64_t> decided_at;      // when it left pending
  std::optional<std::string> decided_by;  // who completed, denied or cancelled it
  std::vector<std::string> approvals;     // in order; the proposer first
  std::vector<std::string> denials;
  std::vector<std::string> waiting_for;  // active members yet to approve, while pending
  std::optional<std::string> member;
  std::optional<std::vector<std::string>> abilities;
  std::optional<bool> invitation;    // add_member: the member joins with an invitation's code
  std::optional<std::string> payer;  // "runner" or a member
  std::optional<bool> query_logging;
  std::optional<PrivacyBudget> privacy_budget;
  std::optional<int64_t> time_limit_seconds;  // time_limit: seconds, 0 for the server's limit
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("collaboration", collaboration);
    v.Required("kind", kind);
    v.Required("proposer", proposer);
    v.Required("status", status);
    v.Required("auto_approved", auto_approved);
    v.Required("created_at", created_at);
    v.Optional("decided_at", decided_at);
    v.Optional("decided_by", decided_by);
    v.Required("approvals", approvals);
    v.Required("denials", denials);
    v.Required("waiting_for", waiting_for);
    v.Optional("member", member);
    v.Optional("abilities", abilities);
    v.Optional("invitation", invitation);
    v.Optional("payer", payer);
    v.Optional("query_logging", query_logging);
    v.Optional("privacy_budget", privacy_budget);
    v.Optional("time_limit_seconds", time_limit_seconds);
  }
};

// A member added (embedded callers): the change request, committed at once when the creator is
// the only active member, else pending.
struct AddMemberResponse {
  std::string collaboration;
  Member member;  // as it is once the change commits
  ChangeRequest change;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("change", change);
  }
};

// Proposes a change of kind abilities, payer, query_logging, privacy_budget or time_limit (members
// are added with AddMember or InviteMember), with that kind's fields.
struct ProposeChangeRequest {
  std::string collaboration;
  std::string kind;
  std::optional<std::string> member;
  std::optional<std::vector<std::string>> abilities;
  std::optional<std::string> payer;
  std::optional<bool> query_logging;
  std::optional<PrivacyBudget> privacy_budget;
  // time_limit: seconds, from 1 to the server's limit; 0 removes the collaboration's own limit.
  std::optional<int64_t> time_limit_seconds;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("kind", kind);
    v.Optional("member", member);
    v.Optional("abilities", abilities);
    v.Optional("payer", payer);
    v.Optional("query_logging", query_logging);
    v.Optional("privacy_budget", privacy_budget);
    v.Optional("time_limit_seconds", time_limit_seconds);
  }
};
// The response of every call that proposes, votes on, cancels or shows one change request.
struct ChangeResponse {
  ChangeRequest change;
  template <class V>
  void Visit(V& v) {
    v.Required("change", change);
  }
};

struct ListChangesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListChangesResponse {
  std::vector<ChangeRequest> changes;  // by id
  template <class V>
  void Visit(V& v) {
    v.Required("changes", changes);
  }
};

// Show, approve, deny or cancel one change request.
struct ChangeIdRequest {
  std::string collaboration;
  int64_t change_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("change_id", change_id);
  }
};

// The creator invites an organisation: the response holds the one-time code (shown once; the
// server keeps only its hash) and the add_member change request it is redeemed for.
struct InviteMemberRequest {
  std::string collaboration;
  std::string member;
  std::vector<std::string> abilities;
  int64_t valid_hours = 168;  // 1 to 720
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("abilities", abilities);
    v.Optional("valid_hours", valid_hours);
  }
};
struct InviteMemberResponse {
  std::string collaboration;
  std::string member;
  std::string code;
  int64_t expires_at = 0;
  ChangeRequest change;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("code", code);
    v.Required("expires_at", expires_at);
    v.Required("change", change);
  }
};

// The invited organisation redeems its code and becomes an active member.
struct JoinRequest {
  std::string code;
  template <class V>
  void Visit(V& v) {
    v.Required("code", code);
  }
};
struct JoinResponse {
  std::string collaboration;
  std::string member;
  ChangeRequest change;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("change", change);
  }
};

}  // namespace parley::api
