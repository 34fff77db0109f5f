#include "query/compile.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "policy/checker.h"
#include "render/duckdb/duckdb_dialect.h"
#include "render/postgres/scan_filter.h"
#include "rewrite/rewrite.h"
#include "rewrite/support.h"
#include "sql/parser.h"

namespace parley::query {
namespace {

// Calls `visit` on every expression of every block of `statement`.
void ForEachExpression(sql::BoundQuery& statement,
                       const std::function<void(sql::BoundExpr&, sql::BoundQuery&)>& visit) {
  rewrite::ForEachBlock(statement, [&](sql::BoundQuery& block) {
    std::function<void(sql::BoundExpr&)> walk = [&](sql::BoundExpr& expr) {
      visit(expr, block);
      for (auto& arg : expr.args) walk(*arg);
      for (auto& part : expr.partition_by) walk(*part);
      for (sql::BoundOrderItem& order : expr.window_order) walk(*order.expr);
    };
    std::function<void(sql::BoundFrom&)> from = [&](sql::BoundFrom& node) {
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
      if (node.on) walk(*node.on);
    };
    for (auto& root : block.from) from(*root);
    for (sql::BoundSelectItem& item : block.select) {
      if (item.expr) walk(*item.expr);
    }
    if (block.where) walk(*block.where);
    for (auto& group : block.group_by) walk(*group);
    if (block.having) walk(*block.having);
    for (sql::BoundOrderItem& order : block.order_by) walk(*order.expr);
  });
}

bool IsDataConversion(const sql::BoundExpr& expr) {
  if (expr.kind != sql::BoundExprKind::kCast || expr.name == "try_cast" || expr.location < 0) {
    return false;
  }
  std::function<bool(const sql::BoundExpr&)> reads = [&](const sql::BoundExpr& node) {
    if (node.kind == sql::BoundExprKind::kColumn) return true;
    for (const auto& arg : node.args) {
      if (reads(*arg)) return true;
    }
    return false;
  };
  return reads(expr);
}

std::vector<Conversion> ConversionsOf(sql::BoundQuery& statement) {
  std::vector<Conversion> conversions;
  ForEachExpression(statement, [&](sql::BoundExpr& expr, sql::BoundQuery& block) {
    if (!IsDataConversion(expr)) return;
    Conversion conversion{expr.location, {}, expr.cast_type.ToString()};
    std::function<void(const sql::BoundExpr&)> columns = [&](const sql::BoundExpr& node) {
      if (node.kind == sql::BoundExprKind::kColumn) {
        std::string name = node.column;
        if (node.outer_depth == 0 && node.table_index >= 0 &&
            node.table_index < static_cast<int>(block.tables.size()) &&
            block.tables[node.table_index].is_base()) {
          name = absl::StrCat(block.tables[node.table_index].schema->name, ".", node.column);
        }
        if (std::find(conversion.columns.begin(), conversion.columns.end(), name) ==
            conversion.columns.end()) {
          conversion.columns.push_back(std::move(name));
        }
      }
      for (const auto& arg : node.args) columns(*arg);
    };
    columns(*expr.args[0]);
    conversions.push_back(std::move(conversion));
  });
  std::sort(conversions.begin(), conversions.end(),
            [](const Conversion& a, const Conversion& b) { return a.location < b.location; });
  return conversions;
}

}  // namespace

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
  compiled.conversions = ConversionsOf(bound);
  policy::CheckContext context{request.runner, request.template_id, request.receivers};
  compiled.verdict = policy::Check(bound, snapshot, context, request.sql);
  if (compiled.verdict.allowed()) {
    // The error guard chooses its conversions from the facts of the engine that will run the
    // query: the dialect's capabilities.
    static const render::DuckDbDialect kDuckDb;
    const render::Dialect& dialect = request.dialect != nullptr ? *request.dialect : kDuckDb;
    rewrite::Rewrite(bound, compiled.verdict, dialect.capabilities(), request.sql,
                     rewrite::PrivacyRequest{request.privacy_epsilon, request.privacy_delta},
                     &compiled.plan.noise);
    // The rewrite refuses operations that could fail on the data and have no guard: it adds
    // violations to the verdict, and then nothing is rendered. The engine's dialect renders it,
    // or refuses a construct its engine cannot run (returned as is).
    if (compiled.verdict.allowed() && request.strict_conversion.has_value()) {
      ForEachExpression(bound, [&](sql::BoundExpr& expr, sql::BoundQuery&) {
        if (IsDataConversion(expr) && expr.location != *request.strict_conversion) {
          expr.name = "try_cast";
        }
      });
    }
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
