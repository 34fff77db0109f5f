#include "policy/aggregation_check.h"

#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/equivalence.h"
#include "policy/join_graph.h"
#include "policy/operators.h"
#include "policy/violation_builder.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

// The AWS name of an aggregate call: COUNT, COUNT_DISTINCT, SUM, SUM_DISTINCT, AVG; "" otherwise.
std::string AggregateName(const BoundExpr& expr) {
  if (expr.name == "count") return expr.distinct ? "COUNT_DISTINCT" : "COUNT";
  if (expr.name == "sum") return expr.distinct ? "SUM_DISTINCT" : "SUM";
  if (expr.name == "avg" && !expr.distinct) return "AVG";
  return "";
}

std::string CallText(const BoundExpr& expr) {
  return absl::StrCat(absl::AsciiStrToUpper(expr.name), expr.distinct ? "(DISTINCT …)" : "(…)");
}

bool ContainsAggregate(const BoundExpr& expr) {
  if (expr.kind == BoundExprKind::kAggregate) return true;
  for (const auto& arg : expr.args) {
    if (ContainsAggregate(*arg)) return true;
  }
  return false;
}

void CollectColumnsOutsideAggregates(const BoundExpr& expr,
                                     std::vector<const BoundExpr*>& columns) {
  if (expr.kind == BoundExprKind::kAggregate) return;
  if (expr.kind == BoundExprKind::kColumn) columns.push_back(&expr);
  for (const auto& arg : expr.args) CollectColumnsOutsideAggregates(*arg, columns);
}

class AggregationChecker : public JoinCheckHost {
 public:
  AggregationChecker(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
                     const std::string& runner, std::string_view source_text, Verdict& verdict)
      : query_(query),
        rules_(rules),
        runner_(runner),
        source_text_(source_text),
        verdict_(verdict),
        graph_(query.tables.size()) {}

  void Run() {
    for (const sql::Construct& construct : query_.constructs) {
      Add("construct_not_allowed", -1, "", construct.clause, construct.location,
          absl::StrCat("aggregation rules do not allow ", construct.what), HintFor(construct));
    }
    // A statement with nested queries (CTEs, subqueries, set operations) is judged on its
    // constructs alone; so is one that reads a table without a rule.
    if (!query_.IsFlat()) return;
    for (const Rule* rule : rules_) {
      if (rule == nullptr) return;
    }
    // Join columns are never output, nor is a dimension the query compares equal to one.
    equalities_ = std::make_unique<ProtectionTracer>(
        query_, [this](const sql::TableSchema& table, const std::string& column) {
          int index = IndexOf(table);
          return index >= 0 && RuleOf(index).join_columns.contains(column);
        });
    bool has_aggregate = false;
    for (const sql::BoundSelectItem& item : query_.select) {
      if (item.from_star) continue;  // SELECT * is reported as a construct, once
      has_aggregate |= ContainsAggregate(*item.expr);
      CheckExpr(*item.expr, sql::kClauseSelect);
    }
    if (!has_aggregate) {
      Add("no_aggregate", -1, "", sql::kClauseSelect,
          query_.select.empty() ? -1 : query_.select.front().location,
          "an aggregation query must select at least one aggregate function",
          "add COUNT, COUNT(DISTINCT …), SUM or AVG of an aggregate column");
    }
    if (query_.where) CheckExpr(*query_.where, sql::kClauseWhere);
    for (const auto& group : query_.group_by) CheckExpr(*group, sql::kClauseGroupBy);
    if (query_.having) CheckExpr(*query_.having, sql::kClauseHaving);
    for (const sql::BoundOrderItem& order : query_.order_by) {
      CheckExpr(*order.expr, sql::kClauseOrderBy);
    }
    CheckJoinConditions(query_, *this, graph_);
    for (const sql::BoundSelectItem& item : query_.select) {
      if (!item.from_star) CheckGrouped(*item.expr, sql::kClauseSelect);
    }
    for (const sql::BoundOrderItem& order : query_.order_by)
      CheckGrouped(*order.expr, sql::kClauseOrderBy);
    CheckJoinedWithRunner(query_, graph_, runner_, *this, [this](int table_index) {
      return RuleOf(table_index).join_required_query_runner;
    });
    if (verdict_.violations.empty()) AddThresholds();
  }

 private:
  const AggregationRule& RuleOf(int table_index) const { return rules_[table_index]->aggregation; }
  const std::string& TableName(int table_index) const {
    return query_.tables[table_index].schema->name;
  }

  // JoinCheckHost: join conditions are judged as for list rules, and may apply the scalar
  // functions every table's rule allows to a join column.
  const std::set<std::string>& JoinColumnsOf(int table_index) const override {
    return RuleOf(table_index).join_columns;
  }
  const std::set<std::string>& JoinOperatorsOf(int table_index) const override {
    return RuleOf(table_index).allowed_join_operators;
  }
  void Report(std::string code, int table_index, std::string column, std::string clause,
              int location, std::string message, std::string hint) override {
    Add(std::move(code), table_index, std::move(column), std::move(clause), location,
        std::move(message), std::move(hint));
  }
  bool AcceptJoinOperand(const BoundExpr& operand) override {
    if (ContainsAggregate(operand)) {
      Add("aggregate_in_clause", -1, "", sql::kClauseJoinOn, operand.location,
          "aggregate functions are not allowed in JOIN ON");
      return false;
    }
    // Only normalisations of case and spacing may wrap a join column: a function such as
    // LEFT(e, 0) or LENGTH(e) would make every row match and fake the required join.
    static const std::set<std::string> kNormalisations = {"upper", "lower", "trim", "ltrim",
                                                          "rtrim"};
    const BoundExpr* inner = &operand;
    while (inner->kind == BoundExprKind::kScalar && kNormalisations.contains(inner->name) &&
           inner->args.size() == 1) {
      inner = inner->args[0].get();
    }
    if (inner->kind == BoundExprKind::kColumn) return true;
    Add("join_operand_not_column", -1, "", sql::kClauseJoinOn, operand.location,
        "each side of a JOIN … ON equality must be a join column, optionally wrapped in UPPER, "
        "LOWER or TRIM");
    return false;
  }
  void CheckJoinOperandExpression(const BoundExpr& operand) override {
    CheckExpr(operand, sql::kClauseJoinOn);
  }

  void Add(std::string code, int table_index, std::string column, std::string clause, int location,
           std::string message, std::string hint = "") {
    Attribution who =
        table_index >= 0 ? AttributeTo(*query_.tables[table_index].schema) : AttributeToAll(query_);
    verdict_.violations.push_back(MakeViolation("aggregation", std::move(code), std::move(who),
                                                std::move(column), std::move(clause), location,
                                                std::move(message), std::move(hint)));
  }

  static std::string HintFor(const sql::Construct& construct) {
    if (construct.what == "SELECT *") return "name the dimension columns and aggregates to return";
    if (construct.what == "LIMIT" || construct.what == "OFFSET") {
      return "aggregation results are returned whole; filter groups with WHERE or HAVING";
    }
    if (construct.what.find("JOIN") != std::string::npos ||
        construct.what.find("cross join") != std::string::npos) {
      return "use INNER JOIN … ON equalities between join columns";
    }
    return "";
  }

  void CheckExpr(const BoundExpr& expr, const char* clause) {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        CheckColumnUse(expr, clause);
        return;
      case BoundExprKind::kAggregate:
        CheckAggregate(expr, clause);
        return;
      case BoundExprKind::kScalar:
        CheckScalarFunction(absl::AsciiStrToUpper(expr.name), expr.location, clause);
        break;
      case BoundExprKind::kCast:
        CheckScalarFunction("CAST", expr.location, clause);
        break;
      case BoundExprKind::kCase:
        CheckScalarFunction("CASE", expr.location, clause);
        break;
      case BoundExprKind::kUnaryOp:
      case BoundExprKind::kBinaryOp:
        if (!IsOperatorAllowed(RuleKind::kAggregation, expr.name)) {
          Add("operator_not_allowed", -1, "", clause, expr.location,
              absl::StrCat("operator '", expr.name, "' is not allowed in aggregation queries"),
              "allowed: arithmetic (+ - * / %), comparisons, AND, OR, NOT, LIKE, IS [NOT] NULL, "
              "BETWEEN, IN (…)");
        }
        break;
      default:
        break;
    }
    for (const auto& arg : expr.args) CheckExpr(*arg, clause);
  }

  void CheckColumnUse(const BoundExpr& column, const char* clause) {
    const AggregationRule& rule = RuleOf(column.table_index);
    const std::string& name = column.column;
    // JoinOperand judges the columns of a join condition; here only its functions are checked.
    if (std::string_view(clause) == sql::kClauseJoinOn) return;
    if (std::string_view(clause) == sql::kClauseHaving) {
      Add("having_non_aggregate", column.table_index, name, clause, column.location,
          absl::StrCat("HAVING may only filter on aggregates; column '", name,
                       "' is used outside an aggregate function"),
          "move conditions on dimension columns to WHERE");
      return;
    }
    if (rule.dimension_columns.contains(name)) {
      CheckEquality(column, clause);
      return;
    }
    if (rule.join_columns.contains(name)) {
      Add("join_column_outside_join", column.table_index, name, clause, column.location,
          absl::StrCat("join column '", name, "' may only be used in JOIN … ON equalities"),
          "join columns match rows across tables; they are never returned, grouped or filtered on");
      return;
    }
    if (auto it = rule.aggregate_columns.find(name); it != rule.aggregate_columns.end()) {
      Add("aggregate_column_outside_aggregate", column.table_index, name, clause, column.location,
          absl::StrCat("aggregate column '", name, "' may only be used inside ",
                       absl::StrJoin(it->second, ", ")),
          "");
      return;
    }
    Add("column_not_allowed", column.table_index, name, clause, column.location,
        absl::StrCat("column '", name,
                     "' has no role in the aggregation rule (it is not a dimension, join or "
                     "aggregate column)"),
        DimensionHint(column.table_index));
  }

  // A dimension compared equal to a join column is as good as the join column: it may filter,
  // but is not output, grouped or ordered on (aggregates of it are thresholded like any other).
  void CheckEquality(const BoundExpr& column, const char* clause) {
    std::string_view clause_name = clause;
    if (clause_name != sql::kClauseSelect && clause_name != sql::kClauseGroupBy &&
        clause_name != sql::kClauseOrderBy) {
      return;
    }
    std::optional<EqualityReason> reason = equalities_->EqualityOf(column);
    if (!reason) return;
    Add("protected_by_equality", IndexOf(*reason->protected_column.first),
        reason->protected_column.second, clause, column.location,
        ProtectedByEqualityMessage(absl::StrCat("column '", column.column, "'"), *reason,
                                   source_text_),
        kProtectedByEqualityHint);
  }

  // The first occurrence of `table` in the query, -1 if none.
  int IndexOf(const sql::TableSchema& table) const {
    for (const sql::BoundTable& occurrence : query_.tables) {
      if (occurrence.schema == &table) return occurrence.index;
    }
    return -1;
  }

  std::string DimensionHint(int table_index) const {
    const AggregationRule& rule = RuleOf(table_index);
    if (rule.dimension_columns.empty()) return "";
    return absl::StrCat("dimension columns of '", TableName(table_index),
                        "': ", absl::StrJoin(rule.dimension_columns, ", "));
  }

  void CheckAggregate(const BoundExpr& call, const char* clause) {
    std::string_view clause_name = clause;
    if (clause_name == sql::kClauseWhere || clause_name == sql::kClauseGroupBy ||
        clause_name == sql::kClauseJoinOn) {
      Add("aggregate_in_clause", -1, "", clause, call.location,
          absl::StrCat("aggregate functions are not allowed in ", clause),
          clause_name == sql::kClauseWhere ? "filter on aggregates with HAVING" : "");
      return;
    }
    // FILTER (WHERE …) chooses the rows the aggregate reads, as a WHERE chooses the query's: its
    // columns, functions and operators are judged as a WHERE's (dimension columns only, no join
    // or aggregate column), and the rewrite applies every threshold to the filtered rows too.
    if (const BoundExpr* filter = call.filter()) {
      if (!rules_.empty() && HasDifferentialPrivacy()) {
        Add("filter_not_allowed", -1, "", clause, filter->location,
            "FILTER (WHERE ...) is not supported on tables with differential privacy",
            "filter the rows with WHERE");
      }
      CheckExpr(*filter, sql::kClauseFilter);
    }
    std::string function = AggregateName(call);
    if (function.empty()) {
      Add("aggregate_function_not_allowed", -1, "", clause, call.location,
          absl::StrCat("aggregate ", CallText(call), " is not allowed in aggregation queries"),
          "allowed: COUNT, COUNT(DISTINCT …), SUM, SUM(DISTINCT …), AVG");
      return;
    }
    if (call.star_argument) {
      std::set<const sql::TableSchema*> reported;
      for (const sql::BoundTable& table : query_.tables) {
        if (!reported.insert(table.schema).second) continue;  // a table joined with itself
        bool allows_count = false;
        for (const auto& [column, functions] : RuleOf(table.index).aggregate_columns) {
          allows_count |= functions.contains("COUNT");
        }
        if (!allows_count) {
          Add("count_star_not_allowed", table.index, "", clause, call.location,
              absl::StrCat("COUNT(*) counts the rows of every table, and table '",
                           table.schema->name, "' allows COUNT on no column"),
              CountHint(table.index));
        }
      }
      return;
    }
    for (size_t i = 0; i < call.value_args(); ++i) {
      const auto& arg = call.args[i];
      if (ContainsAggregate(*arg)) {
        Add("nested_aggregate", -1, "", clause, arg->location,
            absl::StrCat("an aggregate is nested inside ", CallText(call)));
        return;
      }
    }
    if (call.value_args() != 1 || call.args[0]->kind != BoundExprKind::kColumn) {
      int location = call.value_args() == 0 ? call.location : call.args[0]->location;
      Add("aggregate_argument_not_column", -1, "", clause, location,
          absl::StrCat("the argument of ", function, " must be a single plain column"),
          "aggregate a column as it is; expressions inside aggregates are not allowed");
      return;
    }
    const BoundExpr& column = *call.args[0];
    const AggregationRule& rule = RuleOf(column.table_index);
    auto it = rule.aggregate_columns.find(column.column);
    if (it == rule.aggregate_columns.end()) {
      Add("not_aggregate_column", column.table_index, column.column, clause, column.location,
          absl::StrCat("column '", column.column,
                       "' is not an aggregate column, so it cannot be used in ", function),
          AggregateHint(column.table_index));
      return;
    }
    if (!it->second.contains(function)) {
      Add("aggregate_function_not_allowed_for_column", column.table_index, column.column, clause,
          call.location,
          absl::StrCat(function, " is not allowed on column '", column.column,
                       "' (allowed: ", absl::StrJoin(it->second, ", "), ")"));
      return;
    }
    // SUM and AVG of a date, time or interval can overflow on a few rows, and a query that fails
    // only when such rows join is an oracle on them; numbers are summed without failing (the
    // rewrite sums HUGEINT and wide DECIMAL columns as DOUBLE).
    if (call.name != "count" && !column.type.IsNarrowNumeric() && !column.type.IsWideNumeric()) {
      Add("aggregate_argument_not_numeric", column.table_index, column.column, clause,
          call.location,
          absl::StrCat(
              function, " needs a numeric column; '", column.column, "' is ",
              column.type.is_unknown() ? std::string("not numeric") : column.type.ToString()),
          "count the rows with COUNT or COUNT(DISTINCT …) instead");
    }
  }

  bool HasDifferentialPrivacy() const {
    for (const sql::BoundTable& table : query_.tables) {
      if (rules_[table.index]->aggregation.differential_privacy.has_value()) return true;
    }
    return false;
  }

  std::string CountHint(int table_index) const {
    std::vector<std::string> options;
    for (const auto& [column, functions] : RuleOf(table_index).aggregate_columns) {
      if (functions.contains("COUNT_DISTINCT")) options.push_back("COUNT(DISTINCT " + column + ")");
    }
    if (options.empty()) return "";
    return absl::StrCat("count with ", absl::StrJoin(options, " or "), " instead");
  }

  std::string AggregateHint(int table_index) const {
    std::vector<std::string> entries;
    for (const auto& [column, functions] : RuleOf(table_index).aggregate_columns) {
      entries.push_back(absl::StrCat(column, " (", absl::StrJoin(functions, ", "), ")"));
    }
    return absl::StrCat("aggregate columns of '", TableName(table_index),
                        "': ", absl::StrJoin(entries, "; "));
  }

  void CheckScalarFunction(const std::string& name, int location, const char* clause) {
    if (!SupportedScalarFunctions().contains(name)) {
      Add("function_not_allowed", -1, "", clause, location,
          absl::StrCat("function ", name, " is not a scalar function Parley allows in queries"));
      return;
    }
    std::set<const sql::TableSchema*> reported;
    for (const sql::BoundTable& table : query_.tables) {
      if (!reported.insert(table.schema).second) continue;  // a table joined with itself
      if (!RuleOf(table.index).scalar_functions.contains(name)) {
        Add("function_not_allowed", table.index, "", clause, location,
            absl::StrCat("function ", name, " is not in the scalar_functions of table '",
                         table.schema->name, "'"),
            RuleOf(table.index).scalar_functions.empty()
                ? "this table's rule allows no scalar functions"
                : absl::StrCat("allowed: ",
                               absl::StrJoin(RuleOf(table.index).scalar_functions, ", ")));
      }
    }
  }

  // A SELECT or ORDER BY expression outside aggregates must be one of the GROUP BY expressions,
  // or built from them.
  bool Grouped(const BoundExpr& expr) const {
    for (const auto& group : query_.group_by) {
      if (group->SameAs(expr)) return true;
    }
    if (expr.kind == BoundExprKind::kColumn) return false;
    if (expr.kind == BoundExprKind::kAggregate) return true;
    for (const auto& arg : expr.args) {
      if (!Grouped(*arg)) return false;
    }
    return true;
  }

  void CheckGrouped(const BoundExpr& expr, const char* clause) {
    if (Grouped(expr)) return;
    std::vector<const BoundExpr*> columns;
    CollectColumnsOutsideAggregates(expr, columns);
    for (const BoundExpr* column : columns) {
      bool grouped = false;
      for (const auto& group : query_.group_by) grouped |= group->SameAs(*column);
      if (grouped) continue;
      Add("not_grouped", column->table_index, column->column, clause, column->location,
          absl::StrCat("column '", column->column,
                       "' must appear in GROUP BY or be used inside an aggregate function"));
      return;
    }
  }

  void AddThresholds() {
    for (const sql::BoundTable& table : query_.tables) {
      for (const OutputConstraint& constraint : RuleOf(table.index).output_constraints) {
        verdict_.thresholds.push_back(
            Threshold{table.index, table.schema->name, constraint.column, constraint.minimum});
      }
    }
  }

  const sql::BoundQuery& query_;
  const std::vector<const Rule*>& rules_;
  const std::string& runner_;
  std::string_view source_text_;
  Verdict& verdict_;
  std::unique_ptr<ProtectionTracer> equalities_;  // set once the query is known to be flat
  JoinGraph graph_;
};

}  // namespace

void CheckAggregation(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
                      const std::string& runner, std::string_view source_text, Verdict& verdict) {
  AggregationChecker(query, rules, runner, source_text, verdict).Run();
}

}  // namespace parley::policy
