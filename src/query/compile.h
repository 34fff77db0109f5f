// The query compiler: the ONE place where a query's text becomes a verdict and, when allowed, an
// engine plan — parse → bind → check → rewrite → render. The service, the policy corpus runner,
// the fuzzers and the benchmarks all call Compile, so the corpus tests the pipeline that runs.
//
// Example:
//   query::Request request;
//   request.sql = "SELECT region, COUNT(*) FROM retail GROUP BY region";
//   request.runner = "supplier";
//   request.receivers = {"supplier"};
//   PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, query::Compile(*snapshot, request));
//   if (!compiled.verdict.allowed()) ...  // violations; nothing may run
//   engine.Run(compiled.plan.rendered_sql);
//
// Thread safety: Compile only reads the snapshot; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "dp/noise.h"
#include "policy/verdict.h"
#include "query/snapshot.h"
#include "sql/binder.h"

namespace parley::render {
class Dialect;  // render/dialect.h; callers that choose a dialect include it
}  // namespace parley::render

namespace parley::query {

// Who asks what, for whom.
struct Request {
  // The text the parser reads (for a template, its text with `$n` for its parameters).
  std::string sql;
  sql::BindOptions bind;  // typed template parameter values
  std::string runner;
  std::string template_id;  // empty for a free-form query
  std::vector<std::string> receivers;
  // What a query over a table with differential privacy may spend (dp/budget.h fixed point): ε
  // in millionths (0: the collaboration has no budget, and such a query is refused) and δ in
  // 10^-15 (spent only by grouped queries, to select groups).
  int64_t privacy_epsilon = 0;
  int64_t privacy_delta = 0;
  // Diagnosis of a failed conversion (service: a data owner's own query): every conversion of
  // data in Compiled::conversions runs as TRY_CAST except the one at this byte offset, so a run
  // that still fails with a conversion error failed there.
  std::optional<int> strict_conversion;
  // The dialect of the engine that will run the query (its capabilities steer the error guard);
  // nullptr: DuckDB's. Not owned; must outlive the call.
  const render::Dialect* dialect = nullptr;
};

// An explicit conversion of data in the query (CAST, `::`): where it is and what it converts.
struct Conversion {
  int location = -1;                 // byte offset of the cast in the text parsed
  std::vector<std::string> columns;  // the columns it reads, as "table.column" (or "column")
  std::string type;                  // the type converted to, as Parley names it
};

// What the engine is to run for an allowed query.
struct Plan {
  std::string rendered_sql;  // renderer output (Request::dialect's); empty when rejected
  std::vector<policy::Threshold> thresholds;
  std::optional<policy::RuleKind> rule_kind;
  // Set for a query over a table with differential privacy: the engine's result is exact
  // per-group aggregates of the bounded plan, and must go through dp::ApplyNoise before anything
  // of it is stored or delivered.
  std::optional<dp::NoisePlan> noise;
  // Per base table (catalog name): a condition in PostgreSQL's SQL that every row the rendered
  // SQL uses satisfies, for connectors that read from PostgreSQL to push into their remote
  // query (render/postgres/scan_filter.h). Absent for a table with none.
  std::map<std::string, std::string> postgres_filters;
};

struct Compiled {
  policy::Verdict verdict;
  // The base tables the query reads, by catalog name, in order of first appearance; filled for
  // rejected queries too (the owners of those tables see the attempt in their logs).
  std::vector<std::string> tables;
  Plan plan;  // meaningful only when verdict.allowed()
  // The explicit conversions of data in the query, in the order of the text (any block).
  std::vector<Conversion> conversions;
  int64_t front_end_micros = 0;  // parse + bind + check + rewrite + render
};

// Compiles `request` against `snapshot`. A policy rejection is a verdict with violations (OK
// status). Errors: InvalidArgument when the text does not parse or bind (the message names a
// position, never a data value); Internal when a stored rule of the snapshot no longer
// validates (Snapshot::rules_status()).
absl::StatusOr<Compiled> Compile(const Snapshot& snapshot, const Request& request);

}  // namespace parley::query
