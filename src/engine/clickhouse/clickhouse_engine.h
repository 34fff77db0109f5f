// ClickHouse as an Engine: each Plan runs as one HTTP request to a node of a ClickHouse cluster
// (the node then spreads it over the shards of the Distributed tables it reads). The tables
// already live on the cluster — registered in place or loaded at registration — so a plan's views
// only name tables of the engine's database and pin their columns; the SQL is the clickhouse
// dialect's (render/clickhouse), which qualifies every table with that database.
//
// Lock-down is the server's, not ours: Parley connects as an account whose profile has readonly=1
// (no SET, no per-query or URL settings, no DDL or writes, no table functions such as url() or
// remote()), join_use_nulls=1 (outer joins give NULL, not '' or 0), max_memory_usage,
// max_execution_time and max_result_rows, and may use one database. Connect checks that profile
// and the server's version and timezone before anything runs, and refuses an account that could
// do more (docs/scale-out.md says why each setting is there).
//
//   PARLEY_ASSIGN_OR_RETURN(auto engine, clickhouse::ClickHouseEngine::Connect(options));
//   PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result, engine->Run(plan));
//
// Results: JSONCompact, decoded exactly — types mapped to Parley's engine-neutral names (Int64 →
// BIGINT, Decimal(38, 2) → DECIMAL(38,2), DateTime → TIMESTAMP, Nullable(T) → T), values as
// ClickHouse prints them (numbers by their text, never through a double), null as NULL. JSON and
// not TabSeparated because only the JSON formats end with the query's "statistics": the rows and
// bytes it read on every shard, which metering records (18.16 has no X-ClickHouse-Summary header,
// and its query_log is flushed seconds later). The account's profile must set
// output_format_json_quote_denormals=1, or NaN and infinities would arrive as JSON null — the
// same as a NULL.
//
// Credentials travel as X-ClickHouse-User / X-ClickHouse-Key headers built for each request and
// wiped after it; the password is held in a Secret (base/secret.h). The HTTP library copies the
// headers into its request object for the request's lifetime and frees that copy unwiped: the
// one exposure left, inside this process's heap.
//
// Errors never carry the server's message (it may quote a value: "Cannot parse input ... 'abc'"):
// they are chosen from the error's code and name the engine and the class of failure only.
//
// Thread safety: Run may be called from any number of threads at once (each run is its own HTTP
// connection; the engine's fields are immutable after Connect).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret.h"
#include "engine/engine.h"

namespace parley::engine::clickhouse {

struct ConnectOptions {
  std::string url;       // http://HOST:PORT of one node
  std::string database;  // the one database the account may use
  std::string user;
  Secret password;  // read from the operator's password file; never logged or printed
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // A run stops (and is killed on the server) soon after *cancel becomes true (Limits::cancel).
  const std::atomic<bool>* cancel = nullptr;
};

// What Connect found on the server.
struct ServerFacts {
  std::string version;   // "18.16.1"
  std::string timezone;  // "Etc/UTC": Connect checks that its offset is zero all year
  int64_t max_result_rows = 0;
  int64_t max_execution_time = 0;
  int64_t max_memory_usage = 0;
};

// A decoded answer and what the query read to give it, across every shard ("statistics").
struct Answer {
  ResultTable table;
  ScanCount read;
};

// The result of a ClickHouse HTTP response body in JSONCompact. InvalidArgument (naming the row
// or column, never a value) when the body is not that format; the Status of the server's error
// when the body ends with one (an error after the first rows were sent: the status was 200).
absl::StatusOr<Answer> DecodeJsonCompact(std::string_view body);

// Parley's name for a ClickHouse type ("Nullable(Decimal(38, 2))" → "DECIMAL(38,2)"); "" for a
// type Parley cannot carry exactly (arrays, tuples, ...).
std::string ParleyTypeName(std::string_view clickhouse_type);

// The Status for a ClickHouse error response: its code chooses the class; the server's text is
// dropped. `engine` names the engine ("clickhouse engine 'warehouse'").
absl::Status StatusForServerError(std::string_view body, std::string_view engine);

// Runs one statement as the account of `options` (for the loader account: CREATE TABLE, INSERT),
// sending `data` after it (the rows of an INSERT ... FORMAT TabSeparated; empty: none) with the
// URL settings of `settings` (a writer account may take them; a readonly=1 one may not). Returns
// the response body. Errors as StatusForServerError (never the server's text) or Unavailable.
absl::StatusOr<std::string> ExecuteStatement(
    const ConnectOptions& options, const std::string& statement, const std::string& data = "",
    const std::vector<std::pair<std::string, std::string>>& settings = {});

// Runs an INSERT ... FORMAT TabSeparated as the account of `options` with its rows streamed in the
// request body (chunked transfer): `next` appends the next piece of rows to its argument (an empty
// string it may fill up to any size) and returns true, or returns false when there are no more; an
// error from `next` stops the request midway (the server then fails the INSERT, but may already
// have written the blocks it received: load into a table nobody reads yet). Errors: `next`'s
// error, else as ExecuteStatement.
absl::Status ExecuteStreamed(const ConnectOptions& options, const std::string& statement,
                             const std::function<absl::StatusOr<bool>(std::string&)>& next,
                             const std::vector<std::pair<std::string, std::string>>& settings = {});

class ClickHouseEngine : public Engine {
 public:
  // Connects, checks the server (version 18.16.x — the dialect is written for it; timezone UTC,
  // since Parley's TIMESTAMP has no zone) and the account's profile (readonly=1, join_use_nulls=1,
  // positive max_memory_usage, max_execution_time and max_result_rows; the database reachable).
  // Errors: Unavailable when the server does not answer; PermissionDenied when it refuses the
  // credentials; FailedPrecondition naming the setting or fact that is wrong.
  static absl::StatusOr<std::unique_ptr<ClickHouseEngine>> Connect(ConnectOptions options);

  std::string_view dialect() const override { return "clickhouse"; }
  const ServerFacts& facts() const { return facts_; }

  // Runs one query as the account and decodes its result; the plumbing of RunPlan, for tools
  // (the benchmark) that query system tables.
  absl::StatusOr<ResultTable> Query(const std::string& sql) const;
  // The same, with what the query read.
  absl::StatusOr<Answer> QueryCounted(const std::string& sql) const;

  // Checks that `table` (a table of the engine's database) still shows each of `pinned` with its
  // pinned type, by DESCRIBE TABLE. FailedPrecondition opening with `context` ("table 'audience'
  // of member 'retailer'") naming the column and both types, or saying the table is gone.
  absl::Status CheckTable(const std::string& table, const std::vector<ResultColumn>& pinned,
                          const std::string& context) const;

 protected:
  // Checks each view's pinned columns against DESCRIBE TABLE (FailedPrecondition naming the
  // table, the column and both types), then runs the SQL under a query id of its own. A run
  // stopped by the plan's RunControl (cancel, or its timeout) or by Limits is ended on the server
  // too: 18.16 goes on running a query whose HTTP client went away (verified: closing the
  // connection does not stop it), so the engine sends `KILL QUERY WHERE query_id = ...` as the
  // same account (18.16 lets an account kill its own queries, readonly=1 included) and returns
  // Cancelled or DeadlineExceeded. On success, writes what the query read on every shard to
  // *plan.read when it is set.
  absl::StatusOr<ResultTable> RunPlan(const Plan& plan, Stage& stage) override;

 private:
  explicit ClickHouseEngine(ConnectOptions options) : options_(std::move(options)) {}
  // One query as the account, under `query_id` when not empty; `timeout` bounds the wait.
  absl::StatusOr<Answer> QueryWithId(const std::string& sql, const std::string& query_id,
                                     std::chrono::milliseconds timeout) const;

  ConnectOptions options_;
  std::string host_;
  int port_ = 0;
  ServerFacts facts_;
};

}  // namespace parley::engine::clickhouse
