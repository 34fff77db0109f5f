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

// Without paging parameters: every entry, oldest first (what a client re-checking the chain
// needs). With any of them, one page (at most 1000 entries; seq never changes once written, so
// a cursor stays valid while the log grows):
//   limit=N           the newest N entries, newest first (default N: 100);
//   before=SEQ        then older ones, newest first: pass the response's `next` as `before`;
//   after=SEQ         entries with a greater seq, oldest first (after=0: from the start):
//                     following a growing log with the last seq seen returns each entry once.
// On GET these travel in the query string (`.../audit?limit=50&before=120`).
struct ListAuditRequest {
  std::string collaboration;
  std::optional<int64_t> after;
  std::optional<int64_t> before;
  std::optional<int64_t> limit;
  bool Paged() const { return after || before || limit; }
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("after", after);
    v.Optional("before", before);
    v.Optional("limit", limit);
  }
};
struct ListAuditResponse {
  std::string collaboration;
  std::vector<AuditEntry> entries;
  // A page only: the chain's newest seq when it was read, and the cursor of the next page in
  // the same direction (as `before` or `after`), absent when this page reached the end.
  std::optional<int64_t> head_seq;
  std::optional<int64_t> next;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("entries", entries);
    v.Optional("head_seq", head_seq);
    v.Optional("next", next);
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
