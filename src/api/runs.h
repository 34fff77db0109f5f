// API types (see api/types.h for the conventions every type follows): asynchronous runs on a
// server (service/run_queue.h). A run is submitted (a query's SQL, or a template with its
// parameters), answered at once with its id and status, then followed, waited for or cancelled
// by its runner — and only by its runner: for anyone else a run that exists is answered as one
// that does not (404).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/queries.h"

namespace parley::api {

// Exactly one of `sql` and `template_id` (with its `parameters`).
struct SubmitRunRequest {
  std::string collaboration;
  std::optional<std::string> sql;
  std::optional<std::string> template_id;
  std::map<std::string, std::string> parameters;  // a template's values by name
  std::vector<std::string> receivers;             // empty: the caller
  std::optional<std::string> epsilon;             // as in RunQueryRequest
  std::optional<std::string> accuracy;
  std::optional<std::string> confidence;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("sql", sql);
    v.Optional("template_id", template_id);
    v.Optional("parameters", parameters);
    v.Optional("receivers", receivers);
    v.Optional("epsilon", epsilon);
    v.Optional("accuracy", accuracy);
    v.Optional("confidence", confidence);
  }
};

// Show or cancel a run.
struct RunIdRequest {
  std::string collaboration;
  int64_t query_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("query_id", query_id);
  }
};

// Wait until the run has ended, or at most `timeout_ms` (default and most: 30000).
struct WaitRunRequest {
  std::string collaboration;
  int64_t query_id = 0;
  std::optional<int64_t> timeout_ms;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("query_id", query_id);
    v.Optional("timeout_ms", timeout_ms);
  }
};

// A run as its runner sees it. `status`: "queued" (with `queue_position`, 1 next), "running"
// (with `progress`, "0.0" to "100.0", once the engine estimates it), then "succeeded",
// "finished" (a runner who does not receive the result: how the run ended is not told),
// "failed" or "cancelled" (with `error`: what a synchronous run would have answered), or
// "rejected". `outcome` is the synchronous run's response (a rejected query's violations; a
// finished run's explanation, and for a receiver its result) while the server still holds it;
// otherwise a receiver fetches the result (GET .../queries/{query_id}/result).
struct RunStatusResponse {
  int64_t query_id = 0;
  std::string status;
  std::optional<int64_t> queue_position;
  std::optional<std::string> progress;
  std::optional<Error> error;
  std::optional<RunResponse> outcome;
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("status", status);
    v.Optional("queue_position", queue_position);
    v.Optional("progress", progress);
    v.Optional("error", error);
    v.Optional("outcome", outcome);
  }
};

}  // namespace parley::api
