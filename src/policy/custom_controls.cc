#include "policy/custom_controls.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "policy/equivalence.h"
#include "policy/violation_builder.h"
#include "sql/binder.h"
#include "sql/types.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;
using Stack = std::vector<const BoundQuery*>;
using ColumnSet = std::set<BaseColumn, BaseColumnOrder>;

// Window functions whose value is an aggregate over the rows of their (default) frame: the
// rewrite counts the identities of that frame. The others read one row's value (LAG, LEAD,
// FIRST_VALUE, …) or the partition's shape (NTILE, CUME_DIST, PERCENT_RANK).
bool IsFrameAggregateWindow(const std::string& name) {
  static const std::set<std::string> kRanking = {"row_number", "rank", "dense_rank"};
  return kRanking.contains(name) || sql::IsAggregateFunction(name);
}

// Functions that compare their arguments: used as a predicate or a value, they are comparisons.
bool IsComparingFunction(const std::string& name) {
  static const std::set<std::string> kFunctions = {
      "starts_with", "regexp_matches", "strpos", "greatest", "least", "nullif",
      "contains",    "ends_with",      "suffix", "prefix",   "instr", "position"};
  return kFunctions.contains(name);
}

class ControlsChecker {
 public:
  ControlsChecker(const BoundQuery& query, const RuleProvider& rules, std::string_view source_text,
                  Verdict& verdict)
      : query_(query), rules_(rules), source_text_(source_text), verdict_(verdict) {}

  void Run() {
    for (const sql::BoundTable* table : query_.BaseTables()) {
      const CustomRule* rule = RuleOf(*table->schema);
      if (rule != nullptr && !rule->aggregation_thresholds.empty()) thresholded_ = true;
    }
    if (thresholded_) Thresholds();
    Query(query_, {}, /*top=*/true);
  }

 private:
  const CustomRule* RuleOf(const sql::TableSchema& table) const {
    const Rule* rule = rules_.RuleFor(table.name);
    if (rule == nullptr || rule->kind != RuleKind::kCustom) return nullptr;
    return &rule->custom;
  }

  bool IsThresholded(const sql::TableSchema& table) const {
    const CustomRule* rule = RuleOf(table);
    return rule != nullptr && !rule->aggregation_thresholds.empty();
  }

  void Add(std::string code, const sql::TableSchema* table, std::string column, const char* clause,
           int location, std::string message, std::string hint = "") {
    Attribution who = table != nullptr ? AttributeTo(*table) : AttributeToAll(query_);
    verdict_.violations.push_back(MakeViolation("custom", std::move(code), std::move(who),
                                                std::move(column), clause, location,
                                                std::move(message), std::move(hint)));
  }

  // ---- lineage: the base columns a value comes from, through derived tables and CTEs ----

  // The base columns output `name` of `body` comes from (set operations: every branch).
  const ColumnSet& OutputSources(const BoundQuery& body, const std::string& name,
                                 const Stack& stack) {
    auto key = std::make_tuple(&body, name, skip_counts_);
    if (auto it = output_sources_.find(key); it != output_sources_.end()) return it->second;
    ColumnSet found;
    CollectOutput(body, OutputPosition(body, name), stack, found);
    return output_sources_[key] = std::move(found);
  }

  static size_t OutputPosition(const BoundQuery& body, const std::string& name) {
    for (size_t i = 0; i < body.select.size(); ++i) {
      if (body.select[i].output_name == name) return i;
    }
    for (size_t i = 0; i < body.select.size(); ++i) {
      if (absl::EqualsIgnoreCase(body.select[i].output_name, name)) return i;
    }
    return body.select.size();
  }

  void CollectOutput(const BoundQuery& body, size_t position, const Stack& stack, ColumnSet& out) {
    if (body.set_operation != sql::SetOperation::kNone) {
      CollectOutput(*body.set_left, position, stack, out);
      CollectOutput(*body.set_right, position, stack, out);
      return;
    }
    if (position >= body.select.size() || !body.select[position].expr) return;
    Stack inner = stack;
    inner.push_back(&body);
    Sources(*body.select[position].expr, inner, out);
  }

  void Sources(const BoundExpr& expr, const Stack& stack, ColumnSet& out) {
    if (expr.kind == BoundExprKind::kColumn) {
      if (expr.outer_depth < 0 || expr.outer_depth >= static_cast<int>(stack.size())) return;
      const BoundQuery& block = *stack[stack.size() - 1 - expr.outer_depth];
      if (expr.table_index < 0 || expr.table_index >= static_cast<int>(block.tables.size())) {
        return;
      }
      const sql::BoundTable& table = block.tables[expr.table_index];
      if (table.is_base()) {
        out.insert(BaseColumn{table.schema, expr.column});
      } else if (table.derived) {
        Stack enclosing(stack.begin(), stack.end() - expr.outer_depth);
        const ColumnSet& found = OutputSources(*table.derived, expr.column, enclosing);
        out.insert(found.begin(), found.end());
      }
      return;
    }
    // A count of rows or of distinct values says how many, not which: compared with a literal
    // (`HAVING COUNT(DISTINCT user_id) >= 10`) it compares no value of the column.
    if (skip_counts_ && expr.kind == BoundExprKind::kAggregate &&
        (expr.name == "count" || expr.name == "approx_count_distinct")) {
      return;
    }
    for (const auto& arg : expr.args) Sources(*arg, stack, out);
    for (const auto& part : expr.partition_by) Sources(*part, stack, out);
    for (const sql::BoundOrderItem& order : expr.window_order) Sources(*order.expr, stack, out);
    if (expr.subquery && expr.kind == BoundExprKind::kSubquery && expr.what != "EXISTS") {
      CollectOutput(*expr.subquery, 0, stack, out);
    }
  }

  ColumnSet SourcesOf(const BoundExpr& expr, const Stack& stack) {
    ColumnSet out;
    Sources(expr, stack, out);
    return out;
  }

  // The columns whose values a comparison side compares: its sources, less what only a count
  // reads.
  ColumnSet ComparedOf(const BoundExpr& expr, const Stack& stack) {
    skip_counts_ = true;
    ColumnSet out = SourcesOf(expr, stack);
    skip_counts_ = false;
    return out;
  }

  // Whether `expr` is a column that is a base column renamed, through any number of derived
  // tables and CTEs (set operations: in every branch), never computed.
  bool IsPlainColumn(const BoundExpr& expr, const Stack& stack) {
    if (expr.kind != BoundExprKind::kColumn) return false;
    if (expr.outer_depth < 0 || expr.outer_depth >= static_cast<int>(stack.size())) return false;
    const BoundQuery& block = *stack[stack.size() - 1 - expr.outer_depth];
    const sql::BoundTable& table = block.tables[expr.table_index];
    if (table.is_base()) return true;
    if (!table.derived) return false;
    Stack enclosing(stack.begin(), stack.end() - expr.outer_depth);
    return IsPlainOutput(*table.derived, OutputPosition(*table.derived, expr.column), enclosing);
  }

  bool IsPlainOutput(const BoundQuery& body, size_t position, const Stack& stack) {
    if (body.set_operation != sql::SetOperation::kNone) {
      return IsPlainOutput(*body.set_left, position, stack) &&
             IsPlainOutput(*body.set_right, position, stack);
    }
    if (position >= body.select.size() || !body.select[position].expr) return false;
    Stack inner = stack;
    inner.push_back(&body);
    return IsPlainColumn(*body.select[position].expr, inner);
  }

  // ---- thresholds ----

  // Each thresholded table's minimum per identity column: the rule's, or — when the query outputs
  // something derived from columns with an output_column_thresholds entry — the largest minimum
  // over the output columns (an output from no listed column keeps the rule's minimum).
  void Thresholds() {
    ProtectionTracer tracer(query_,
                            [](const sql::TableSchema&, const std::string&) { return false; });
    std::vector<ColumnSet> outputs;
    for (size_t i = 0; i < query_.select.size(); ++i) {
      ValueSources sources = tracer.Output(i);
      outputs.emplace_back(sources.columns.begin(), sources.columns.end());
    }
    std::set<std::string> seen;
    for (const sql::BoundTable* table : query_.BaseTables()) {
      if (!seen.insert(table->schema->name).second) continue;
      const CustomRule* rule = RuleOf(*table->schema);
      if (rule == nullptr) continue;
      for (const IdentityThreshold& threshold : rule->aggregation_thresholds) {
        int64_t minimum = -1;
        for (const ColumnSet& output : outputs) {
          // An output's minimum: the largest override among the table's columns it comes from,
          // when every one of them has an override; else the rule's minimum.
          int64_t output_minimum = -1;
          bool all_listed = true;
          for (const BaseColumn& column : output) {
            if (column.first->name != table->schema->name) continue;
            auto it = threshold.output_column_thresholds.find(column.second);
            if (it == threshold.output_column_thresholds.end()) {
              all_listed = false;
              break;
            }
            output_minimum = std::max(output_minimum, it->second);
          }
          if (!all_listed || output_minimum < 0) output_minimum = threshold.minimum;
          minimum = std::max(minimum, output_minimum);
        }
        if (minimum < 0) minimum = threshold.minimum;
        if (minimum == 0) continue;  // every output is exempt
        verdict_.thresholds.push_back(
            Threshold{-1, table->schema->name, threshold.identity_column, minimum});
      }
    }
  }

  // Whether `query` reads a thresholded table anywhere: its own tables, derived tables, CTEs it
  // references, set operation branches and subqueries.
  bool ReadsThresholded(const BoundQuery& query) const {
    std::set<const BoundQuery*> visited;
    std::function<bool(const BoundQuery&)> reads = [&](const BoundQuery& q) -> bool {
      if (!visited.insert(&q).second) return false;
      if (q.set_left && reads(*q.set_left)) return true;
      if (q.set_right && reads(*q.set_right)) return true;
      for (const sql::BoundTable& table : q.tables) {
        if (table.is_base() && IsThresholded(*table.schema)) return true;
        if (table.derived && reads(*table.derived)) return true;
      }
      bool found = false;
      std::function<void(const BoundExpr&)> expr = [&](const BoundExpr& node) {
        if (found) return;
        if (node.subquery && reads(*node.subquery)) found = true;
        for (const auto& arg : node.args) expr(*arg);
        for (const auto& part : node.partition_by) expr(*part);
        for (const sql::BoundOrderItem& order : node.window_order) expr(*order.expr);
      };
      std::function<void(const sql::BoundFrom&)> from = [&](const sql::BoundFrom& node) {
        if (node.left) from(*node.left);
        if (node.right) from(*node.right);
        if (node.on) expr(*node.on);
      };
      for (const auto& root : q.from) from(*root);
      for (const sql::BoundSelectItem& item : q.select) {
        if (item.expr) expr(*item.expr);
      }
      if (q.where) expr(*q.where);
      for (const auto& group : q.group_by) expr(*group);
      if (q.having) expr(*q.having);
      for (const sql::BoundOrderItem& order : q.order_by) expr(*order.expr);
      return found;
    };
    return reads(query);
  }

  // The thresholded table a refusal is attributed to: the first the statement reads.
  const sql::TableSchema* FirstThresholded() const {
    for (const sql::BoundTable* table : query_.BaseTables()) {
      if (IsThresholded(*table->schema)) return table->schema;
    }
    return nullptr;
  }

  void RefuseConstruct(const std::string& construct, const char* clause, int location,
                       std::string hint) {
    const sql::TableSchema* table = FirstThresholded();
    Add("threshold_not_countable", table, "", clause, location,
        absl::StrCat("the thresholds of table '", table->name, "' cannot be counted through ",
                     construct),
        std::move(hint));
  }

  // ---- the walk over every block ----

  void Query(const BoundQuery& query, const Stack& stack, bool top) {
    for (const sql::BoundCte& cte : query.ctes) Query(*cte.query, {}, false);
    if (query.set_operation != sql::SetOperation::kNone) {
      if (thresholded_ && ReadsThresholded(query)) {
        // A set operation has no position of its own: its second branch's first output has.
        const BoundQuery* second = query.set_right.get();
        while (second->set_left) second = second->set_left.get();
        int location = second->select.empty() ? -1 : second->select[0].location;
        if (query.set_operation != sql::SetOperation::kUnion) {
          RefuseConstruct(
              query.set_operation == sql::SetOperation::kIntersect ? "INTERSECT" : "EXCEPT",
              sql::kClauseSelect, location,
              "whether a row is in the result depends on rows of the other branch, "
              "which support no output row; use a JOIN, or UNION ALL");
        } else if (!query.set_all && !top) {
          RefuseConstruct("UNION (without ALL) inside the query", sql::kClauseSelect, location,
                          "use UNION ALL inside a query, or UNION at its top level");
        }
      }
      // The branches of a top-level UNION are judged row by row, each as a top-level query.
      bool branches_top = top && query.set_operation == sql::SetOperation::kUnion;
      Query(*query.set_left, stack, branches_top);
      Query(*query.set_right, stack, branches_top);
      return;
    }
    Stack inner = stack;
    inner.push_back(&query);
    for (const sql::BoundTable& table : query.tables) {
      if (table.derived && table.cte_id < 0) Query(*table.derived, inner, false);
    }
    if (thresholded_) ReservedNames(query);
    bool reads = thresholded_ && ReadsThresholded(query);
    if (reads) BlockShape(query);
    bool repeats = reads && FromRepeats(query);
    std::function<void(const sql::BoundFrom&)> from = [&](const sql::BoundFrom& node) {
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
      if (node.on) Expr(*node.on, inner, sql::kClauseJoinOn, reads);
    };
    for (const auto& root : query.from) from(*root);
    for (const sql::BoundSelectItem& item : query.select) {
      if (item.expr) Expr(*item.expr, inner, sql::kClauseSelect, reads, repeats);
    }
    if (query.where) Expr(*query.where, inner, sql::kClauseWhere, reads);
    for (const auto& group : query.group_by) Expr(*group, inner, sql::kClauseGroupBy, reads);
    if (query.having) Expr(*query.having, inner, sql::kClauseHaving, reads, repeats);
    for (const sql::BoundOrderItem& order : query.order_by) {
      Expr(*order.expr, inner, sql::kClauseOrderBy, reads, repeats);
    }
  }

  // The rewrite adds hidden columns named "__parley_…" next to the query's own; an output of
  // the query named so could stand in for one of them (names are matched case-insensitively).
  void ReservedNames(const BoundQuery& query) {
    for (const sql::BoundSelectItem& item : query.select) {
      if (!absl::StartsWithIgnoreCase(item.output_name, kReservedColumnPrefix)) continue;
      Add("reserved_name", FirstThresholded(), "", sql::kClauseSelect, item.location,
          absl::StrCat("output name '", item.output_name, "' is reserved: names starting with '",
                       kReservedColumnPrefix, "' are Parley's own"),
          "choose another alias");
    }
  }

  // A block that reads a thresholded table: windows over grouped rows and DISTINCT over
  // aggregates would need a second merge of the identities in one block.
  void BlockShape(const BoundQuery& query) {
    bool aggregates = !query.group_by.empty() || query.having != nullptr;
    const BoundExpr* window = nullptr;
    std::function<void(const BoundExpr&)> scan = [&](const BoundExpr& expr) {
      if (expr.kind == BoundExprKind::kAggregate) aggregates = true;
      if (expr.kind == BoundExprKind::kWindow && window == nullptr) window = &expr;
      if (expr.kind == BoundExprKind::kWindow) return;  // its arguments run per row
      for (const auto& arg : expr.args) scan(*arg);
    };
    for (const sql::BoundSelectItem& item : query.select) {
      if (item.expr) scan(*item.expr);
    }
    for (const sql::BoundOrderItem& order : query.order_by) scan(*order.expr);
    if (window != nullptr && aggregates) {
      RefuseConstruct(absl::StrCat("a window function (", absl::AsciiStrToUpper(window->name),
                                   " OVER) over grouped rows"),
                      sql::kClauseSelect, window->location,
                      "aggregate in a CTE or derived table, then apply the window function to it");
    }
    if (query.distinct && (aggregates || window != nullptr)) {
      RefuseConstruct("SELECT DISTINCT over aggregates or window functions", sql::kClauseSelect,
                      query.select.empty() ? -1 : query.select[0].location,
                      "apply DISTINCT in an enclosing query");
    }
  }

  void Expr(const BoundExpr& expr, const Stack& stack, const char* clause, bool reads,
            bool repeats = false) {
    switch (expr.kind) {
      case BoundExprKind::kSubquery:
        if (thresholded_ && ReadsThresholded(*expr.subquery)) {
          std::string what = expr.what == "EXISTS" ? "EXISTS (subquery)" : expr.what;
          RefuseConstruct(
              absl::StrCat("a subquery expression (", what, ")"), clause, expr.location,
              "read the table in FROM (a join, a CTE or a derived table) so that its rows carry "
              "their identities to the output");
        }
        break;
      case BoundExprKind::kWindow:
        if (reads && !IsFrameAggregateWindow(expr.name)) {
          RefuseConstruct(absl::StrCat("the window function ", absl::AsciiStrToUpper(expr.name),
                                       ", which returns a value of one row or the shape of its "
                                       "partition"),
                          clause, expr.location,
                          "use ROW_NUMBER, RANK, DENSE_RANK or an aggregate OVER (…)");
        }
        AggregateArguments(expr, stack, clause);
        if (repeats) Weighted(expr, stack, clause);
        break;
      case BoundExprKind::kAggregate:
        AggregateArguments(expr, stack, clause);
        if (repeats) Weighted(expr, stack, clause);
        // A threshold counts the identities of a group's rows; an aggregate that FILTERs them
        // would compute over fewer rows than were counted (one person's, in a group of a
        // hundred). Its comparisons still meet the comparison controls through the walk below.
        if (expr.has_filter && reads) {
          RefuseConstruct(absl::StrCat("FILTER (WHERE ...) on ", absl::AsciiStrToUpper(expr.name),
                                       ", which aggregates fewer rows than the group counted"),
                          clause, expr.filter()->location,
                          "filter the rows with WHERE, or GROUP BY the condition");
        }
        break;
      default:
        break;
    }
    Comparisons(expr, stack, clause);
    for (const auto& arg : expr.args) Expr(*arg, stack, clause, reads, repeats);
    for (const auto& part : expr.partition_by) Expr(*part, stack, clause, reads, repeats);
    for (const sql::BoundOrderItem& order : expr.window_order) {
      Expr(*order.expr, stack, clause, reads, repeats);
    }
    if (expr.subquery) Query(*expr.subquery, stack, false);
  }

  // ---- fan-out ----

  // Whether the rows of `query` (a FROM item) may hold one row of a table several times: a join
  // below it with no grouping in between. A grouping block outputs one row per group.
  bool RowsRepeat(const BoundQuery& query) {
    if (query.set_operation != sql::SetOperation::kNone) {
      return RowsRepeat(*query.set_left) || RowsRepeat(*query.set_right);
    }
    bool groups = !query.group_by.empty() || query.having != nullptr || query.distinct;
    for (const sql::BoundSelectItem& item : query.select) {
      std::function<void(const BoundExpr&)> scan = [&](const BoundExpr& expr) {
        if (expr.kind == BoundExprKind::kAggregate) groups = true;
        if (expr.kind == BoundExprKind::kWindow) return;
        for (const auto& arg : expr.args) scan(*arg);
      };
      if (item.expr) scan(*item.expr);
    }
    return !groups && FromRepeats(query);
  }

  bool FromRepeats(const BoundQuery& query) {
    if (query.tables.size() > 1) return true;
    for (const sql::BoundTable& table : query.tables) {
      if (table.derived && RowsRepeat(*table.derived)) return true;
    }
    return false;
  }

  // Over rows that repeat a row of a thresholded table once per row it matches elsewhere, an
  // aggregate that weighs every row (SUM, AVG, COUNT(*), a window function, …) lets the runner
  // choose each person's weight: repeating a victim's key a thousand times in its own table
  // turns a sum over a hundred people into the victim's value. Idempotent aggregates (MIN, MAX,
  // DISTINCT ones) are unaffected; COUNT(*) and window functions count the repeated rows.
  void Weighted(const BoundExpr& call, const Stack& stack, const char* clause) {
    static const std::set<std::string> kIdempotent = {
        "min",     "max",     "bool_and", "bool_or", "any_value", "approx_count_distinct",
        "arg_min", "arg_max", "min_by",   "max_by"};
    bool counts_rows = call.star_argument || call.kind == BoundExprKind::kWindow;
    if (!counts_rows && (call.distinct || kIdempotent.contains(call.name))) return;
    const sql::TableSchema* weighed = nullptr;
    if (counts_rows) {
      weighed = FirstThresholded();
    } else {
      for (const auto& arg : call.args) {
        for (const BaseColumn& column : SourcesOf(*arg, stack)) {
          if (IsThresholded(*column.first)) weighed = column.first;
        }
      }
    }
    if (weighed == nullptr) return;
    std::string name = absl::AsciiStrToUpper(call.name);
    if (call.star_argument) name += "(*)";
    Add("threshold_fan_out", weighed, "", clause, call.location,
        absl::StrCat(name, " over a join weighs a row of table '", weighed->name,
                     "' once for every row it matches in the other tables"),
        "aggregate the table on its own (in a CTE) before joining, or use COUNT(DISTINCT …), MIN "
        "or MAX over the join");
  }

  // allowed_aggregate_expressions: columns_only — an argument that reads a column of such a
  // table must be that column itself (renamed at most), never an expression: `SUM(CASE WHEN zip =
  // '10001' THEN salary END)` is a filter on one zip code that no comparison control would see.
  // FILTER (WHERE …) is such a filter, named as one.
  void AggregateArguments(const BoundExpr& call, const Stack& stack, const char* clause) {
    for (const auto& arg : call.args) {
      if (arg.get() == call.filter()) {
        for (const BaseColumn& column : SourcesOf(*arg, stack)) {
          const CustomRule* rule = RuleOf(*column.first);
          if (rule == nullptr ||
              rule->allowed_aggregate_expressions != AggregateExpressions::kColumnsOnly) {
            continue;
          }
          Add("aggregate_expression_not_allowed", column.first, column.second, clause,
              arg->location >= 0 ? arg->location : call.location,
              absl::StrCat("FILTER (WHERE ...) of ", absl::AsciiStrToUpper(call.name),
                           " chooses its rows by column '", column.second, "' of table '",
                           column.first->name,
                           "', which allows only plain columns inside aggregate and window "
                           "functions"),
              "aggregate the column as it is (allowed_aggregate_expressions: columns_only); "
              "filter rows with WHERE");
          break;
        }
        continue;
      }
      if (IsPlainColumn(*arg, stack)) continue;
      for (const BaseColumn& column : SourcesOf(*arg, stack)) {
        const CustomRule* rule = RuleOf(*column.first);
        if (rule == nullptr ||
            rule->allowed_aggregate_expressions != AggregateExpressions::kColumnsOnly) {
          continue;
        }
        Add("aggregate_expression_not_allowed", column.first, column.second, clause,
            arg->location >= 0 ? arg->location : call.location,
            absl::StrCat("the argument of ", absl::AsciiStrToUpper(call.name),
                         " must be a plain column: table '", column.first->name,
                         "' allows only columns inside aggregate and window functions, and this "
                         "one computes an expression of column '",
                         column.second, "'"),
            "aggregate the column as it is (allowed_aggregate_expressions: columns_only); filter "
            "rows with WHERE");
        break;
      }
    }
  }

  // ---- comparisons ----

  void Comparisons(const BoundExpr& expr, const Stack& stack, const char* clause) {
    std::vector<std::pair<const BoundExpr*, const BoundExpr*>> pairs;
    std::vector<const BoundExpr*> subquery_sides;  // compared with a subquery's output
    switch (expr.kind) {
      case BoundExprKind::kBinaryOp:
        if (sql::IsComparisonOperator(expr.name) || expr.name == "LIKE" || expr.name == "ILIKE") {
          pairs.emplace_back(expr.args[0].get(), expr.args[1].get());
        }
        break;
      case BoundExprKind::kBetween:
        pairs.emplace_back(expr.args[0].get(), expr.args[1].get());
        pairs.emplace_back(expr.args[0].get(), expr.args[2].get());
        break;
      case BoundExprKind::kInList:
        for (size_t i = 1; i < expr.args.size(); ++i) {
          pairs.emplace_back(expr.args[0].get(), expr.args[i].get());
        }
        break;
      case BoundExprKind::kCase:
        if (expr.case_has_operand) {
          size_t end = expr.args.size() - (expr.case_has_else ? 1 : 0);
          for (size_t i = 1; i + 1 < end; i += 2) {
            pairs.emplace_back(expr.args[0].get(), expr.args[i].get());
          }
        }
        break;
      case BoundExprKind::kScalar:
        if (IsComparingFunction(expr.name)) {
          for (size_t i = 0; i < expr.args.size(); ++i) {
            for (size_t j = i + 1; j < expr.args.size(); ++j) {
              pairs.emplace_back(expr.args[i].get(), expr.args[j].get());
            }
          }
        }
        break;
      case BoundExprKind::kSubquery:
        if (!expr.args.empty()) {
          ColumnSet other;
          CollectOutput(*expr.subquery, 0, stack, other);
          ColumnSet value = SourcesOf(*expr.args[0], stack);
          skip_counts_ = true;
          ColumnSet other_compared;
          CollectOutput(*expr.subquery, 0, stack, other_compared);
          skip_counts_ = false;
          Judge(ComparedOf(*expr.args[0], stack), /*literal=*/other.empty(), clause, expr.location);
          Judge(other_compared, /*literal=*/value.empty(), clause, expr.location);
        }
        return;
      default:
        return;
    }
    for (const auto& [left, right] : pairs) {
      // A side computed from no column of any table is a literal, however it is written: a
      // constant, or a column of a derived table of constants (`JOIN (SELECT 'u01' AS v) c`).
      ColumnSet left_sources = SourcesOf(*left, stack);
      ColumnSet right_sources = SourcesOf(*right, stack);
      Judge(ComparedOf(*left, stack), right_sources.empty(), clause, expr.location);
      Judge(ComparedOf(*right, stack), left_sources.empty(), clause, expr.location);
    }
  }

  // `columns` are compared with a literal (`literal`) or with another value.
  void Judge(const ColumnSet& columns, bool literal, const char* clause, int location) {
    for (const BaseColumn& column : columns) {
      const CustomRule* rule = RuleOf(*column.first);
      if (rule == nullptr) continue;
      if (literal) {
        bool identity = false;
        for (const IdentityThreshold& threshold : rule->aggregation_thresholds) {
          identity |= threshold.identity_column == column.second;
        }
        if (identity) {
          Add("identity_literal_comparison", column.first, column.second, clause, location,
              absl::StrCat("identity column '", column.second, "' of table '", column.first->name,
                           "' may not be compared with a literal: that picks individuals out"),
              "compare identity columns only with columns of other rows (joins)");
          continue;
        }
        const auto& allowed = rule->allowed_literal_comparison_columns;
        if (allowed && !allowed->contains(column.second)) {
          Add("literal_comparison_not_allowed", column.first, column.second, clause, location,
              absl::StrCat("column '", column.second, "' of table '", column.first->name,
                           "' may not be compared with a literal"),
              allowed->empty()
                  ? "the table allows no comparison with a literal"
                  : absl::StrCat("columns that may be: ", absl::StrJoin(*allowed, ", ")));
        }
        continue;
      }
      const auto& allowed = rule->allowed_column_comparison_columns;
      if (allowed && !allowed->contains(column.second)) {
        Add("column_comparison_not_allowed", column.first, column.second, clause, location,
            absl::StrCat("column '", column.second, "' of table '", column.first->name,
                         "' may not be compared with another column"),
            allowed->empty()
                ? "the table allows no comparison with another column"
                : absl::StrCat("columns that may be: ", absl::StrJoin(*allowed, ", ")));
      }
    }
  }

  const BoundQuery& query_;
  const RuleProvider& rules_;
  std::string_view source_text_;
  Verdict& verdict_;
  bool thresholded_ = false;
  std::map<std::tuple<const BoundQuery*, std::string, bool>, ColumnSet> output_sources_;
  bool skip_counts_ = false;  // Sources() leaves out what only COUNT reads
};

}  // namespace

void CheckCustomControls(const sql::BoundQuery& query, const RuleProvider& rules,
                         std::string_view source_text, Verdict& verdict) {
  ControlsChecker(query, rules, source_text, verdict).Run();
}

}  // namespace parley::policy
