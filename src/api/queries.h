// API types (see api/types.h for the conventions every type follows): Queries: explain, run, fetch
// a result, list queries and the query log; verdicts, violations and results as the caller sees
// them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

struct Violation {
  std::string code;  // stable identifier, e.g. "join_column_outside_join"
  std::string rule;
  std::string table;
  std::string owner;
  std::string column;
  std::string clause;
  std::string position;  // "line 1, column 8", or empty
  std::string message;
  std::string hint;
  template <class V>
  void Visit(V& v) {
    v.Required("code", code);
    v.Optional("rule", rule);
    v.Optional("table", table);
    v.Optional("owner", owner);
    v.Optional("column", column);
    v.Optional("clause", clause);
    v.Optional("position", position);
    v.Required("message", message);
    v.Optional("hint", hint);
  }
};

struct Threshold {
  std::string table;
  std::string column;
  int64_t minimum = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("column", column);
    v.Required("minimum", minimum);
  }
};

// Differential privacy of an allowed query over a private table: what it spends and, per
// aggregate of its result, the scale of the noise added and the half-width of its 95% interval
// (value units; for an average, of its sum and of its count).
struct NoiseScale {
  std::string column;
  std::string scale;
  std::string ci95_half_width;
  template <class V>
  void Visit(V& v) {
    v.Required("column", column);
    v.Required("scale", scale);
    v.Required("ci95_half_width", ci95_half_width);
  }
};
struct Privacy {
  std::string epsilon;
  std::string delta;
  std::optional<int64_t> selection_threshold;  // grouped: the noisy unit count a group needs
  std::vector<NoiseScale> noise;
  // When the runner gave an accuracy target, that target ("±50 at 95%"); epsilon is then the
  // smallest that meets it.
  std::optional<std::string> accuracy;
  // Explain only: the ε left of this month's budget before the query; a run spending more than
  // that is refused.
  std::optional<std::string> epsilon_left;
  template <class V>
  void Visit(V& v) {
    v.Required("epsilon", epsilon);
    v.Required("delta", delta);
    v.Optional("selection_threshold", selection_threshold);
    v.Required("noise", noise);
    v.Optional("accuracy", accuracy);
    v.Optional("epsilon_left", epsilon_left);
  }
};

// The verdict on a query and, when allowed, the SQL the engine runs.
struct Explanation {
  bool allowed = false;
  std::optional<std::string> rule_kind;  // the kind of rule that judged the query, if any did
  std::vector<Violation> violations;     // empty when allowed
  std::vector<std::string> tables;
  std::vector<Threshold> thresholds;
  std::optional<std::string> engine_sql;  // absent when rejected
  // The registered engine the query runs on ("clickhouse engine 'warehouse'"); absent: Parley's
  // own DuckDB engine.
  std::optional<std::string> engine;
  int64_t front_end_micros = 0;
  std::optional<Privacy> privacy;  // queries over a table with differential privacy
  template <class V>
  void Visit(V& v) {
    v.Required("allowed", allowed);
    v.Optional("rule_kind", rule_kind);
    v.Required("violations", violations);
    v.Required("tables", tables);
    v.Required("thresholds", thresholds);
    v.Optional("engine_sql", engine_sql);
    v.Optional("engine", engine);
    v.Required("front_end_micros", front_end_micros);
    v.Optional("privacy", privacy);
  }
};

struct ExplainRequest {
  std::string collaboration;
  std::string sql;
  std::vector<std::string> receivers;  // empty: the caller
  std::optional<std::string> epsilon;  // differential privacy: empty, the collaboration's default
  // Or an accuracy target ("50": counts within ±50, sums within ±50 × their bound) at
  // `confidence` ("0.95", the default), from which the ε is computed (dp/accuracy.h).
  std::optional<std::string> accuracy;
  std::optional<std::string> confidence;
  // Also say what a run with this save_as would save (nothing is run or saved).
  std::optional<std::string> save_as;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("sql", sql);
    v.Optional("receivers", receivers);
    v.Optional("epsilon", epsilon);
    v.Optional("accuracy", accuracy);
    v.Optional("confidence", confidence);
    v.Optional("save_as", save_as);
  }
};
// The table `query run --save-as` would create: its derived rule (docs/rules.md "Derived
// tables"), or why the result could not be saved. Present only for an allowed query.
struct SavedTablePreview {
  std::string table;
  std::optional<nlohmann::json> rule;  // absent when refused
  std::vector<std::string> co_owners;  // who would approve templates over it
  std::optional<std::string> refused;  // why it could not be saved
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Optional("rule", rule);
    v.Required("co_owners", co_owners);
    v.Optional("refused", refused);
  }
};
struct ExplainResponse {
  Explanation explanation;
  std::optional<SavedTablePreview> saved_table;  // with save_as
  template <class V>
  void Visit(V& v) {
    v.Required("explanation", explanation);
    v.Optional("saved_table", saved_table);
  }
};

struct ResultColumn {
  std::string name;
  std::string type;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("type", type);
  }
};

// A result as rows of text (DuckDB's rendering of each value); null for SQL NULL.
struct Result {
  std::vector<ResultColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  template <class V>
  void Visit(V& v) {
    v.Required("columns", columns);
    v.Required("rows", rows);
  }
};

struct RunQueryRequest {
  std::string collaboration;
  std::string sql;
  std::vector<std::string> receivers;  // empty: the caller
  // Save the result as this table of the collaboration (docs/rules.md "Derived tables").
  std::optional<std::string> save_as;
  std::optional<std::string> epsilon;   // differential privacy: empty, the collaboration's default
  std::optional<std::string> accuracy;  // as in ExplainRequest
  std::optional<std::string> confidence;  // as in ExplainRequest
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("sql", sql);
    v.Optional("receivers", receivers);
    v.Optional("save_as", save_as);
    v.Optional("epsilon", epsilon);
    v.Optional("accuracy", accuracy);
    v.Optional("confidence", confidence);
  }
};

// What a run tells the caller. A rejected query has explanation.allowed == false and nothing
// else ran. `row_count`, `run_micros` and `result` are present only when the caller receives
// the result (a runner who does not receive learns only that the query was accepted and ran).
struct RunResponse {
  int64_t query_id = 0;
  Explanation explanation;
  std::vector<std::string> receivers;
  std::optional<int64_t> row_count;
  std::optional<int64_t> run_micros;
  std::optional<Result> result;
  // true: the result is stored sealed to the receivers' keys; `result` is absent and the
  // receiver's client fetches the sealed bytes (GetResult) and opens them.
  std::optional<bool> sealed;
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("explanation", explanation);
    v.Required("receivers", receivers);
    v.Optional("row_count", row_count);
    v.Optional("run_micros", run_micros);
    v.Optional("result", result);
    v.Optional("sealed", sealed);
  }
};
using RunQueryResponse = RunResponse;

// A stored result, for one of its receivers.
struct GetResultRequest {
  std::string collaboration;
  int64_t query_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("query_id", query_id);
  }
};
// A sealed result comes as `sealed_result` (its bytes in base64, docs/formats/sealed-results.md)
// with an empty `result`; the CLI opens it with the receiver's private key and fills `result`.
struct GetResultResponse {
  int64_t query_id = 0;
  Result result;
  std::optional<std::string> sealed_result;
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("result", result);
    v.Optional("sealed_result", sealed_result);
  }
};

// A query as the caller may see it (service::QueryView): `row_count` and `error` only for its
// receivers; "finished" stands for succeeded/failed/cancelled for everyone else.
struct Query {
  int64_t id = 0;
  int64_t created_at = 0;
  std::string runner;
  std::string sql;
  std::optional<std::string> template_id;
  std::vector<std::string> receivers;
  std::vector<std::string> tables;
  std::string status;
  std::vector<Violation> violations;  // of a rejected query
  std::optional<int64_t> row_count;
  std::optional<std::string> error;
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("created_at", created_at);
    v.Required("runner", runner);
    v.Required("sql", sql);
    v.Optional("template_id", template_id);
    v.Required("receivers", receivers);
    v.Required("tables", tables);
    v.Required("status", status);
    v.Required("violations", violations);
    v.Optional("row_count", row_count);
    v.Optional("error", error);
  }
};

// The queries the caller ran or receives.
struct ListQueriesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct QueriesResponse {
  std::vector<Query> queries;
  template <class V>
  void Visit(V& v) {
    v.Required("queries", queries);
  }
};
using ListQueriesResponse = QueriesResponse;

// The queries that touched the caller's tables (collaborations that log queries).
struct QueryLogRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
using QueryLogResponse = QueriesResponse;

}  // namespace parley::api
