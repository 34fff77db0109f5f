#include "query/compile.h"

#include <chrono>
#include <set>

#include "policy/checker.h"
#include "render/duckdb/duckdb_dialect.h"
#include "render/postgres/scan_filter.h"
#include "rewrite/rewrite.h"
#include "sql/parser.h"

namespace parley::query {

absl::StatusOr<Compiled> Compile(const Snapshot& snapshot, const Request& request) {
  auto start = std::chrono::steady_clock::now();
  PARLEY_RETURN_IF_ERROR(snapshot.rules_status());
  PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(request.sql));
  PARLEY_ASSIGN_OR_RETURN(sql::BoundQuery bound,
                          sql::Bind(*statement, snapshot, request.sql, request.bind));
  Compiled compiled;
  std::set<std::string> seen;
  for (const sql::BoundTable* table : bound.BaseTables()) {
    if (seen.insert(table->schema->name).second) compiled.tables.push_back(table->schema->name);
  }
  policy::CheckContext context{request.runner, request.template_id, request.receivers};
  compiled.verdict = policy::Check(bound, snapshot, context, request.sql);
  if (compiled.verdict.allowed()) {
    // The error guard chooses its conversions from the facts of the engine that will run the
    // query: the dialect's capabilities.
    const render::DuckDbDialect dialect;
    rewrite::Rewrite(bound, compiled.verdict, dialect.capabilities(), request.sql,
                     rewrite::PrivacyRequest{request.privacy_epsilon, request.privacy_delta},
                     &compiled.plan.noise);
    // The rewrite refuses operations that could fail on the data and have no guard: it adds
    // violations to the verdict, and then nothing is rendered. The engine's dialect renders it,
    // or refuses a construct its engine cannot run (returned as is).
    if (compiled.verdict.allowed()) {
      PARLEY_ASSIGN_OR_RETURN(compiled.plan.rendered_sql, dialect.Render(bound));
      compiled.plan.thresholds = compiled.verdict.thresholds;
      compiled.plan.rule_kind = compiled.verdict.rule_kind;
      // From the rewritten statement: what runs, including anything the rewrite added.
      compiled.plan.postgres_filters = render::PostgresScanFilters(bound);
    }
  }
  compiled.front_end_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
  return compiled;
}

}  // namespace parley::query
