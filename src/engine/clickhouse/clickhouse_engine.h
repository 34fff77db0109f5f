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
// Results: TabSeparatedWithNamesAndTypes, decoded exactly — types mapped to Parley's engine-neutral
// names (Int64 → BIGINT, Decimal(38, 2) → DECIMAL(38,2), DateTime → TIMESTAMP, Nullable(T) → T),
// values as ClickHouse prints them, \N as NULL.
//
// Errors never carry the server's message (it may quote a value: "Cannot parse input ... 'abc'"):
// they are chosen from the error's code and name the engine and the class of failure only.
//
// Thread safety: Run may be called from any number of threads at once (each run is its own HTTP
// connection; the engine's fields are immutable after Connect).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/engine.h"

namespace parley::engine::clickhouse {

struct ConnectOptions {
  std::string url;       // http://HOST:PORT of one node
  std::string database;  // the one database the account may use
  std::string user;
  std::string password;  // read from the operator's password file; never logged or printed
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

// What Connect found on the server.
struct ServerFacts {
  std::string version;   // "18.16.1"
  std::string timezone;  // "Etc/UTC": Connect checks that its offset is zero all year
  int64_t max_result_rows = 0;
  int64_t max_execution_time = 0;
  int64_t max_memory_usage = 0;
};

// The result of a ClickHouse HTTP response body in TabSeparatedWithNamesAndTypes. InvalidArgument
// (naming the line, never a value) when the body is not that format.
absl::StatusOr<ResultTable> DecodeTabSeparated(std::string_view body);

// Parley's name for a ClickHouse type ("Nullable(Decimal(38, 2))" → "DECIMAL(38,2)"); "" for a
// type Parley cannot carry exactly (arrays, tuples, ...).
std::string ParleyTypeName(std::string_view clickhouse_type);

// The Status for a ClickHouse error response: its code chooses the class; the server's text is
// dropped. `engine` names the engine ("clickhouse engine 'warehouse'").
absl::Status StatusForServerError(std::string_view body, std::string_view engine);

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

 protected:
  // Checks each view's pinned columns against DESCRIBE TABLE (FailedPrecondition naming the
  // table, the column and both types), then runs the SQL.
  absl::StatusOr<ResultTable> RunPlan(const Plan& plan, Stage& stage) override;

 private:
  explicit ClickHouseEngine(ConnectOptions options) : options_(std::move(options)) {}
  absl::Status CheckPinnedColumns(const SourceView& view) const;

  ConnectOptions options_;
  std::string host_;
  int port_ = 0;
  ServerFacts facts_;
};

}  // namespace parley::engine::clickhouse
