// API types (see api/types.h for the conventions every type follows): Collaborations and their
// members: create, list, show; add, remove, leave.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/privacy.h"

namespace parley::api {

// Abilities are "query" and "receive"; a member with neither has an empty list.
struct Member {
  std::string name;
  std::vector<std::string> abilities;
  std::string status;  // "invited" | "active" | "left" | "removed"
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("abilities", abilities);
    v.Required("status", status);
  }
};

// Client-side column encryption (docs/formats/encrypted-columns.md), fixed at creation: whether
// cleartext columns may be registered, whether a fingerprint column may repeat a value, whether
// fingerprint columns of different names may be joined, and whether NULLs stay NULL in
// encrypted columns (which GROUP BY and NULL tests on them need).
struct EncryptionSettings {
  bool allow_cleartext = true;
  bool allow_duplicates = false;
  bool allow_joins_on_columns_with_different_names = false;
  bool preserve_nulls = false;
  template <class V>
  void Visit(V& v) {
    v.Optional("allow_cleartext", allow_cleartext);
    v.Optional("allow_duplicates", allow_duplicates);
    v.Optional("allow_joins_on_columns_with_different_names",
               allow_joins_on_columns_with_different_names);
    v.Optional("preserve_nulls", preserve_nulls);
  }
};

struct Collaboration {
  std::string name;
  std::string description;
  std::string creator;
  bool query_logging = false;
  int64_t created_at = 0;  // seconds since the epoch
  std::vector<Member> members;
  std::optional<PrivacyBudget> privacy_budget;
  // "open", or "closed" once its creator closed it (CloseCollaboration): a closed collaboration
  // takes no queries and no changes, and stays readable to its members.
  std::string state = "open";
  std::optional<int64_t> closed_at;       // seconds since the epoch; only when closed
  std::string payer = "runner";           // "runner" or a member; changed by change request
  std::vector<std::string> auto_approve;  // kinds of change that commit without approvals
  EncryptionSettings encryption;
  // How long one of its queries may run, in seconds (the server's limit applies when shorter);
  // absent: the server's limit. Changed by change request ("time_limit").
  std::optional<int64_t> time_limit_seconds;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Optional("description", description);
    v.Required("creator", creator);
    v.Required("query_logging", query_logging);
    v.Required("created_at", created_at);
    v.Required("members", members);
    v.Optional("privacy_budget", privacy_budget);
    v.Required("state", state);
    v.Optional("closed_at", closed_at);
    v.Required("payer", payer);
    v.Required("auto_approve", auto_approve);
    v.Required("encryption", encryption);
    v.Optional("time_limit_seconds", time_limit_seconds);
  }
};

struct CreateCollaborationRequest {
  std::string name;
  std::string description;
  std::vector<std::string> creator_abilities = {"query", "receive"};
  bool query_logging = false;
  std::optional<PrivacyBudget> privacy_budget;  // later changed only by change request
  std::string payer = "runner";
  // Kinds of change request that commit as soon as proposed: add_member, abilities, payer,
  // query_logging, privacy_budget, time_limit.
  std::vector<std::string> auto_approve;
  // Days its results are kept (the creator changes it later); absent: until deleted.
  std::optional<int64_t> result_retention_days;
  EncryptionSettings encryption;  // fixed at creation
  // How long one of its queries may run, in seconds: from 1 to the server's own limit (a query
  // over it is cancelled); absent: the server's limit. Later changed by change request.
  std::optional<int64_t> time_limit_seconds;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Optional("description", description);
    v.Optional("creator_abilities", creator_abilities);
    v.Optional("query_logging", query_logging);
    v.Optional("privacy_budget", privacy_budget);
    v.Optional("payer", payer);
    v.Optional("auto_approve", auto_approve);
    v.Optional("result_retention_days", result_retention_days);
    v.Optional("time_limit_seconds", time_limit_seconds);
    v.Optional("encryption", encryption);
  }
};
struct CreateCollaborationResponse {
  Collaboration collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};

struct ListCollaborationsRequest {
  template <class V>
  void Visit(V&) {}
};
struct ListCollaborationsResponse {
  std::vector<Collaboration> collaborations;
  template <class V>
  void Visit(V& v) {
    v.Required("collaborations", collaborations);
  }
};

struct ShowCollaborationRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ShowCollaborationResponse {
  Collaboration collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};

// Only the creator closes a collaboration, once; there is no reopening. Afterwards every query
// and every change to its members, tables, rules and templates is refused (400,
// FailedPrecondition, saying it is closed); its results and audit log stay readable.
struct CloseCollaborationRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
using CloseCollaborationResponse = ShowCollaborationResponse;

// Only the creator adds and removes members. Adding is a change request (api/changes.h): the
// member is active once every active member has approved; embedded callers only (over a server,
// organisations are invited).
struct AddMemberRequest {
  std::string collaboration;
  std::string member;
  std::vector<std::string> abilities;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("abilities", abilities);
  }
};
// AddMemberResponse: api/changes.h (it carries the change request).

struct RemoveMemberRequest {
  std::string collaboration;
  std::string member;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
  }
};
// Also the response of Leave: who is no longer an active member of which collaboration.
struct RemoveMemberResponse {
  std::string collaboration;
  std::string member;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
  }
};

// The caller leaves the collaboration.
struct LeaveRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
using LeaveResponse = RemoveMemberResponse;

}  // namespace parley::api
