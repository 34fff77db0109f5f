// API types (see api/types.h for the conventions every type follows): results kept in the home —
// list, delete — and the home itself: its size and its result retention.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// A result kept for the caller (one of its receivers).
struct StoredResult {
  int64_t query_id = 0;
  int64_t created_at = 0;
  std::string runner;
  std::vector<std::string> receivers;
  int64_t row_count = 0;
  int64_t bytes = 0;  // on disk
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("created_at", created_at);
    v.Required("runner", runner);
    v.Required("receivers", receivers);
    v.Required("row_count", row_count);
    v.Required("bytes", bytes);
  }
};

struct ListResultsRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListResultsResponse {
  std::vector<StoredResult> results;
  template <class V>
  void Visit(V& v) {
    v.Required("results", results);
  }
};

// Deletes a kept result (any of its receivers may; the query's record stays).
struct DeleteResultRequest {
  std::string collaboration;
  int64_t query_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("query_id", query_id);
  }
};
struct DeleteResultResponse {
  std::string collaboration;
  int64_t query_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("query_id", query_id);
  }
};

// The home as its operator sees it; a request to change its result retention (days; absent:
// keep results until deleted) answers the same.
struct HomeInfoRequest {
  template <class V>
  void Visit(V&) {}
};
struct SetResultRetentionRequest {
  std::optional<int64_t> days;
  template <class V>
  void Visit(V& v) {
    v.Optional("days", days);
  }
};
struct HomeInfoResponse {
  std::string path;
  int64_t total_bytes = 0;
  int64_t catalog_bytes = 0;
  int64_t result_count = 0;
  int64_t result_bytes = 0;
  std::optional<int64_t> result_retention_days;
  template <class V>
  void Visit(V& v) {
    v.Required("path", path);
    v.Required("total_bytes", total_bytes);
    v.Required("catalog_bytes", catalog_bytes);
    v.Required("result_count", result_count);
    v.Required("result_bytes", result_bytes);
    v.Optional("result_retention_days", result_retention_days);
  }
};

}  // namespace parley::api
