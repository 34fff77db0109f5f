// API types (see api/types.h for the conventions every type follows): The audit log: list a
// collaboration's entries, verify the hash chains.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

struct AuditEntry {
  int64_t seq = 0;
  int64_t time = 0;
  std::string actor;
  std::string action;      // e.g. "collaboration.create", "query.started"
  nlohmann::json details;  // a JSON object: metadata only, never data values
  std::string prev_hash;
  std::string hash;
  std::string state_sha256;  // empty for entries that recorded no policy state
  template <class V>
  void Visit(V& v) {
    v.Required("seq", seq);
    v.Required("time", time);
    v.Required("actor", actor);
    v.Required("action", action);
    v.Required("details", details);
    v.Required("prev_hash", prev_hash);
    v.Required("hash", hash);
    v.Optional("state_sha256", state_sha256);
  }
};

struct ListAuditRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListAuditResponse {
  std::string collaboration;
  std::vector<AuditEntry> entries;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("entries", entries);
  }
};

// With a collaboration: its chain, for one of its members (`expected_head`: a head printed
// earlier that the chain must still contain). Without: every chain of the home, for its operator.
struct VerifyAuditRequest {
  std::optional<std::string> collaboration;
  std::optional<std::string> expected_head;
  template <class V>
  void Visit(V& v) {
    v.Optional("collaboration", collaboration);
    v.Optional("expected_head", expected_head);
  }
};
// A verification that ran and found the log tampered with is a response (ok == false, problem
// says where), not an error.
struct VerifyAuditResponse {
  bool ok = true;
  std::optional<std::string> problem;
  int64_t entries = 0;  // entries that verified
  // By collaboration ("" for the catalog-wide chain): the hash of the last entry verified.
  std::map<std::string, std::string> heads;
  std::optional<int64_t> expected_head_seq;
  std::optional<int64_t> entries_after_expected_head;
  template <class V>
  void Visit(V& v) {
    v.Required("ok", ok);
    v.Optional("problem", problem);
    v.Required("entries", entries);
    v.Required("heads", heads);
    v.Optional("expected_head_seq", expected_head_seq);
    v.Optional("entries_after_expected_head", entries_after_expected_head);
  }
};

}  // namespace parley::api
