// The API of a Parley home: one request and one response type per use case of the service
// facade, in the words a client sees on the wire (JSON, see api/codec.h). Every front end speaks
// these types: the CLI (through its Backend, local or remote) and the HTTP server.
//
// What a response never carries: a storage record (no catalog:: type), stored JSON as a string
// (rules, audit details and violations are structured JSON values) or a path on the server (a
// table's `location` is present only for its owner; results travel as rows, never as files).
//
// Each type lists its fields once, in `Visit`, for the codec: `v.Required(name, field)` must be
// present when decoding; `v.Optional(name, field)` may be absent (a std::optional field is then
// nullopt and is omitted when encoding; any other field keeps its default and is always encoded).
// Requests carry no caller: who acts is the front end's business (`--as` locally, a token on the
// server).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// ---- Collaborations and members ----

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

// Differential privacy's budget of a collaboration, per calendar month (UTC); decimals as text
// ("10", "0.00001") so that no value is rounded on the way.
struct PrivacyBudget {
  std::string epsilon_per_month;
  std::string delta_per_month;
  std::string default_epsilon;  // what a query spends unless its runner asks otherwise
  std::string max_epsilon;      // the most one query may spend
  template <class V>
  void Visit(V& v) {
    v.Required("epsilon_per_month", epsilon_per_month);
    v.Required("delta_per_month", delta_per_month);
    v.Required("default_epsilon", default_epsilon);
    v.Required("max_epsilon", max_epsilon);
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
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Optional("description", description);
    v.Required("creator", creator);
    v.Required("query_logging", query_logging);
    v.Required("created_at", created_at);
    v.Required("members", members);
    v.Optional("privacy_budget", privacy_budget);
  }
};

struct CreateCollaborationRequest {
  std::string name;
  std::string description;
  std::vector<std::string> creator_abilities = {"query", "receive"};
  bool query_logging = false;
  std::optional<PrivacyBudget> privacy_budget;  // set once, here
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Optional("description", description);
    v.Optional("creator_abilities", creator_abilities);
    v.Optional("query_logging", query_logging);
    v.Optional("privacy_budget", privacy_budget);
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

// Only the creator adds and removes members.
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
struct AddMemberResponse {
  std::string collaboration;
  Member member;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
  }
};

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

// ---- Tables and rules ----

struct Column {
  std::string name;
  std::string type;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("type", type);
  }
};

// What a member sees of a table: metadata, never rows. `location` (the server-side path or glob
// of its source) is present only in responses to the table's owner; for every other member the
// field is absent. `rule` is the rule document as a JSON object, absent while no rule is set.
struct Table {
  std::string name;
  std::string owner;
  std::string kind;  // the source kind: "csv" | "parquet"
  std::optional<std::string> location;
  std::vector<Column> columns;  // the allowed columns with their pinned types
  std::optional<nlohmann::json> rule;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("owner", owner);
    v.Required("kind", kind);
    v.Optional("location", location);
    v.Required("columns", columns);
    v.Optional("rule", rule);
  }
};

struct AddTableRequest {
  std::string collaboration;
  std::string table;
  std::string source;                // a path or glob readable by the server
  std::vector<std::string> columns;  // the allowed columns; empty means every column
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
    v.Required("source", source);
    v.Optional("columns", columns);
  }
};
struct TableResponse {
  Table table;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
  }
};
using AddTableResponse = TableResponse;

struct ListTablesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListTablesResponse {
  std::vector<Table> tables;
  template <class V>
  void Visit(V& v) {
    v.Required("tables", tables);
  }
};

struct ShowTableRequest {
  std::string collaboration;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
  }
};
using ShowTableResponse = TableResponse;

// The owner sets its table's rule: a JSON object (docs/rules.md); the response shows the table
// with the rule as stored.
struct SetRuleRequest {
  std::string collaboration;
  std::string table;
  nlohmann::json rule;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
    v.Required("rule", rule);
  }
};
using SetRuleResponse = TableResponse;

// ---- Queries ----

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
  template <class V>
  void Visit(V& v) {
    v.Required("epsilon", epsilon);
    v.Required("delta", delta);
    v.Optional("selection_threshold", selection_threshold);
    v.Required("noise", noise);
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
    v.Required("front_end_micros", front_end_micros);
    v.Optional("privacy", privacy);
  }
};

struct ExplainRequest {
  std::string collaboration;
  std::string sql;
  std::vector<std::string> receivers;  // empty: the caller
  std::optional<std::string> epsilon;  // differential privacy: empty, the collaboration's default
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("sql", sql);
    v.Optional("receivers", receivers);
    v.Optional("epsilon", epsilon);
  }
};
struct ExplainResponse {
  Explanation explanation;
  template <class V>
  void Visit(V& v) {
    v.Required("explanation", explanation);
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
  std::optional<std::string> epsilon;  // differential privacy: empty, the collaboration's default
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("sql", sql);
    v.Optional("receivers", receivers);
    v.Optional("epsilon", epsilon);
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
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("explanation", explanation);
    v.Required("receivers", receivers);
    v.Optional("row_count", row_count);
    v.Optional("run_micros", run_micros);
    v.Optional("result", result);
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
struct GetResultResponse {
  int64_t query_id = 0;
  Result result;
  template <class V>
  void Visit(V& v) {
    v.Required("query_id", query_id);
    v.Required("result", result);
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

// ---- Templates ----

struct TemplateParameter {
  std::string name;
  std::string type;  // "integer" | "number" | "text" | "date" | "boolean"
  std::optional<std::string> default_value;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("type", type);
    v.Optional("default", default_value);
  }
};

struct TableApproval {
  std::string table;
  std::string owner;
  bool approved = false;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("owner", owner);
    v.Required("approved", approved);
  }
};

struct Template {
  std::string id;  // hex SHA-256 of its content
  std::string name;
  std::string author;
  std::string sql;
  std::vector<TemplateParameter> parameters;
  int64_t created_at = 0;
  std::vector<TableApproval> tables;
  bool altered = false;   // its stored content no longer hashes to its id: it never runs
  bool runnable = false;  // every table approves it and it is not altered
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("name", name);
    v.Required("author", author);
    v.Required("sql", sql);
    v.Required("parameters", parameters);
    v.Required("created_at", created_at);
    v.Required("tables", tables);
    v.Required("altered", altered);
    v.Required("runnable", runnable);
  }
};

struct CreateTemplateRequest {
  std::string collaboration;
  std::string name;
  std::string sql;                      // with :name parameters
  std::vector<std::string> parameters;  // declarations "name:type[=default]" (docs/rules.md)
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("name", name);
    v.Required("sql", sql);
    v.Optional("parameters", parameters);
  }
};
struct TemplateResponse {
  Template template_;
  template <class V>
  void Visit(V& v) {
    v.Required("template", template_);
  }
};
using CreateTemplateResponse = TemplateResponse;

struct ShowTemplateRequest {
  std::string collaboration;
  std::string template_id;  // or a unique prefix
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
  }
};
using ShowTemplateResponse = TemplateResponse;

struct ListTemplatesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListTemplatesResponse {
  std::vector<Template> templates;
  template <class V>
  void Visit(V& v) {
    v.Required("templates", templates);
  }
};

// The owner of `table` (custom rule) approves a template for it, or revokes the approval.
struct TemplateApprovalRequest {
  std::string collaboration;
  std::string template_id;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
    v.Required("table", table);
  }
};
using ApproveTemplateRequest = TemplateApprovalRequest;
using RevokeTemplateRequest = TemplateApprovalRequest;
using ApproveTemplateResponse = TemplateResponse;
using RevokeTemplateResponse = TemplateResponse;

struct RunTemplateRequest {
  std::string collaboration;
  std::string template_id;
  std::map<std::string, std::string> parameters;  // values by name; defaults fill the rest
  std::vector<std::string> receivers;             // empty: the caller
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
    v.Optional("parameters", parameters);
    v.Optional("receivers", receivers);
  }
};
using RunTemplateResponse = RunResponse;

// ---- Policy summary ----

struct TablePolicy {
  std::string table;
  std::string owner;
  std::vector<Column> columns;
  std::optional<nlohmann::json> rule;  // absent: no rule yet, the table cannot be queried
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("owner", owner);
    v.Required("columns", columns);
    v.Optional("rule", rule);
  }
};

struct TemplateName {
  std::string id;
  std::string name;
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("name", name);
  }
};

struct PolicyRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
// What the caller may ask of each table, merged across tables (see service::PolicyView).
struct PolicyResponse {
  std::string collaboration;
  std::string member;
  std::vector<std::string> abilities;
  std::vector<TablePolicy> tables;
  std::vector<std::string> aggregation_scalar_functions;
  std::vector<std::string> aggregation_join_operators;
  std::vector<std::string> list_join_operators;
  std::vector<std::string> free_form_custom_tables;
  std::vector<TemplateName> runnable_templates;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("abilities", abilities);
    v.Required("tables", tables);
    v.Required("aggregation_scalar_functions", aggregation_scalar_functions);
    v.Required("aggregation_join_operators", aggregation_join_operators);
    v.Required("list_join_operators", list_join_operators);
    v.Required("free_form_custom_tables", free_form_custom_tables);
    v.Required("runnable_templates", runnable_templates);
  }
};

// ---- Audit ----

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

// ---- Errors ----

// What a failed call answers instead of a response: the canonical code name ("NOT_FOUND", see
// absl::StatusCodeToString) and a message a user can act on.
struct Error {
  std::string code;
  std::string message;
  template <class V>
  void Visit(V& v) {
    v.Required("code", code);
    v.Required("message", message);
  }
};

// `parley budget`: a collaboration's privacy budget and what is left of it per month.
struct BudgetRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct BudgetPeriod {
  std::string period;  // "2026-11"
  std::string epsilon_spent;
  std::string epsilon_left;
  std::string delta_spent;
  std::string delta_left;
  int64_t queries = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("period", period);
    v.Required("epsilon_spent", epsilon_spent);
    v.Required("epsilon_left", epsilon_left);
    v.Required("delta_spent", delta_spent);
    v.Required("delta_left", delta_left);
    v.Required("queries", queries);
  }
};
struct BudgetResponse {
  std::string collaboration;
  std::optional<PrivacyBudget> budget;  // absent: the collaboration has none
  std::vector<BudgetPeriod> periods;    // the current month first, then earlier ones spent in
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("budget", budget);
    v.Required("periods", periods);
  }
};

}  // namespace parley::api
