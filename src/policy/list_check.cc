#include "policy/list_check.h"

#include <algorithm>
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

bool ContainsColumn(const BoundExpr& expr) {
  if (expr.kind == BoundExprKind::kColumn) return true;
  for (const auto& arg : expr.args) {
    if (ContainsColumn(*arg)) return true;
  }
  return false;
}

constexpr char kExpressionHint[] =
    "list queries allow arithmetic (+ - * / %), comparisons, AND, OR, NOT, LIKE, IS [NOT] NULL, "
    "BETWEEN and IN (…), and no functions (CAST and CASE included)";

class ListChecker : public JoinCheckHost {
 public:
  ListChecker(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
              const std::string& runner, std::string_view source_text, Verdict& verdict)
      : query_(query),
        rules_(rules),
        runner_(runner),
        source_text_(source_text),
        verdict_(verdict),
        graph_(query.tables.size()) {}

  void Run() {
    // SELECT DISTINCT is what a list query is; LIMIT is allowed with a positive count.
    for (const sql::Construct& construct : query_.constructs) {
      if (construct.what == "SELECT DISTINCT" || construct.what == "LIMIT") continue;
      Add("construct_not_allowed", -1, "", construct.clause, construct.location,
          absl::StrCat("list rules do not allow ", construct.what), HintFor(construct));
    }
    // A statement with nested queries (CTEs, subqueries, set operations) is judged on its
    // constructs alone; so is one that reads a table without a rule.
    if (!query_.IsFlat()) return;
    for (const Rule* rule : rules_) {
      if (rule == nullptr) return;
    }
    // Only list columns are output, and not one the query compares equal to another column.
    equalities_ = std::make_unique<ProtectionTracer>(
        query_, [this](const sql::TableSchema& table, const std::string& column) {
          int index = IndexOf(table);
          return index >= 0 && !RuleOf(index).list_columns.contains(column);
        });
    CheckClauses();
    for (const sql::BoundSelectItem& item : query_.select) {
      if (item.from_star) continue;  // SELECT * is reported as a construct, once
      if (!ContainsColumn(*item.expr)) {
        Add("list_column_required", -1, "", sql::kClauseSelect, item.location,
            "each SELECT item of a list query must return list columns; this one reads none",
            "select list columns, e.g. SELECT DISTINCT a.segment");
      }
      CheckExpr(*item.expr, sql::kClauseSelect);
    }
    if (query_.where) CheckExpr(*query_.where, sql::kClauseWhere);
    CheckJoinConditions(query_, *this, graph_);
    CheckRunnerJoin();
  }

  // JoinCheckHost.
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
  bool AcceptJoinOperand(const BoundExpr& operand) override { return true; }
  // With no functions to apply, anything around a join column is arithmetic, and arithmetic
  // matches rows that do not overlap (a.id * 0 = b.id * 0 joins every row with every row).
  void CheckJoinOperandExpression(const BoundExpr& operand) override {
    Add("join_operand_not_column", -1, "", sql::kClauseJoinOn, operand.location,
        "each side of a JOIN … ON equality must be a plain join column in list queries",
        "compare join columns as they are, e.g. a.hashed_email = b.hashed_email");
  }

 private:
  const ListRule& RuleOf(int table_index) const { return rules_[table_index]->list; }
  const std::string& TableName(int table_index) const {
    return query_.tables[table_index].schema->name;
  }

  void Add(std::string code, int table_index, std::string column, std::string clause, int location,
           std::string message, std::string hint = "") {
    Attribution who =
        table_index >= 0 ? AttributeTo(*query_.tables[table_index].schema) : AttributeToAll(query_);
    verdict_.violations.push_back(MakeViolation("list", std::move(code), std::move(who),
                                                std::move(column), std::move(clause), location,
                                                std::move(message), std::move(hint)));
  }

  static std::string HintFor(const sql::Construct& construct) {
    if (construct.what == "SELECT *") return "name the list columns to return";
    if (construct.what == "OFFSET") return "list results have no order to page through";
    if (construct.what.find("JOIN") != std::string::npos ||
        construct.what.find("cross join") != std::string::npos) {
      return "use INNER JOIN … ON equalities between join columns";
    }
    return "";
  }

  // The shape: SELECT DISTINCT, a positive LIMIT, and none of the clauses that group or order.
  void CheckClauses() {
    if (!query_.distinct) {
      Add("distinct_required", -1, "", sql::kClauseSelect,
          query_.select.empty() ? -1 : query_.select.front().location,
          "list queries must be SELECT DISTINCT", "write SELECT DISTINCT <list columns>");
    }
    if (!query_.group_by.empty()) {
      Add("construct_not_allowed", -1, "", sql::kClauseGroupBy, query_.group_by.front()->location,
          "list rules do not allow GROUP BY",
          "SELECT DISTINCT returns each combination of list columns once");
    }
    if (query_.having) {
      Add("construct_not_allowed", -1, "", sql::kClauseHaving, query_.having->location,
          "list rules do not allow HAVING", "");
    }
    if (!query_.order_by.empty()) {
      Add("construct_not_allowed", -1, "", sql::kClauseOrderBy, query_.order_by.front().location,
          "list rules do not allow ORDER BY", "");
    }
    if (query_.limit && *query_.limit <= 0) {
      int location = -1;
      for (const sql::Construct& construct : query_.constructs) {
        if (construct.what == "LIMIT") location = construct.location;
      }
      Add("limit_not_positive", -1, "", sql::kClauseLimit, location,
          "LIMIT must be a positive integer", "");
    }
  }

  void CheckExpr(const BoundExpr& expr, const char* clause) {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        CheckColumnUse(expr, clause);
        return;
      case BoundExprKind::kScalar:
        Add("function_not_allowed", -1, "", clause, expr.location,
            absl::StrCat("function ", absl::AsciiStrToUpper(expr.name),
                         " is not allowed in list queries"),
            kExpressionHint);
        break;
      case BoundExprKind::kAggregate:
      case BoundExprKind::kWindow:
        Add("function_not_allowed", -1, "", clause, expr.location,
            absl::StrCat("aggregate function ", absl::AsciiStrToUpper(expr.name),
                         " is not allowed in list queries"),
            "list queries return distinct rows of list columns; aggregates need an aggregation "
            "rule");
        break;
      case BoundExprKind::kCast:
        Add("function_not_allowed", -1, "", clause, expr.location,
            "CAST is not allowed in list queries", kExpressionHint);
        break;
      case BoundExprKind::kCase:
        Add("function_not_allowed", -1, "", clause, expr.location,
            "CASE is not allowed in list queries", kExpressionHint);
        break;
      case BoundExprKind::kUnaryOp:
      case BoundExprKind::kBinaryOp:
        if (!IsOperatorAllowed(RuleKind::kList, expr.name)) {
          Add("operator_not_allowed", -1, "", clause, expr.location,
              absl::StrCat("operator '", expr.name, "' is not allowed in list queries"),
              kExpressionHint);
        }
        break;
      default:
        break;
    }
    for (const auto& arg : expr.args) CheckExpr(*arg, clause);
  }

  // List columns are the only ones a list query may return or filter on; join columns only
  // match rows, in JOIN … ON (judged by CheckJoinConditions).
  void CheckColumnUse(const BoundExpr& column, const char* clause) {
    if (std::string_view(clause) == sql::kClauseJoinOn) return;
    const ListRule& rule = RuleOf(column.table_index);
    const std::string& name = column.column;
    if (rule.list_columns.contains(name)) {
      CheckEquality(column, clause);
      return;
    }
    if (rule.join_columns.contains(name)) {
      Add("join_column_outside_join", column.table_index, name, clause, column.location,
          absl::StrCat("join column '", name, "' may only be used in JOIN … ON equalities"),
          "join columns match rows across tables; they are never returned or filtered on");
      return;
    }
    Add("column_not_allowed", column.table_index, name, clause, column.location,
        absl::StrCat("column '", name, "' is not a list column of table '",
                     TableName(column.table_index), "'"),
        ListColumnsHint(column.table_index));
  }

  // A list column compared equal to a column that is not one (a join column above all: the
  // runner's own column equated with another member's would list the overlap's keys) is as good
  // as that column: it may filter, but is not output.
  void CheckEquality(const BoundExpr& column, const char* clause) {
    if (std::string_view(clause) != sql::kClauseSelect) return;
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

  std::string ListColumnsHint(int table_index) const {
    const ListRule& rule = RuleOf(table_index);
    if (rule.list_columns.empty()) {
      return "this table's rule has no list columns: it only matches rows through its join "
             "columns";
    }
    return absl::StrCat("list columns of '", TableName(table_index),
                        "': ", absl::StrJoin(rule.list_columns, ", "));
  }

  // A list is the overlap with the runner's rows: the runner must read a table of its own, and
  // every other table must be joined with one, directly or through other tables.
  void CheckRunnerJoin() {
    bool runner_reads = false;
    for (const sql::BoundTable& table : query_.tables)
      runner_reads |= table.schema->owner == runner_;
    if (runner_reads) {
      CheckJoinedWithRunner(query_, graph_, runner_, *this, [](int) { return true; });
      return;
    }
    std::set<std::string> reported;
    for (const sql::BoundTable& table : query_.tables) {
      if (!reported.insert(table.schema->name).second) continue;
      Add("runner_table_required", table.index, "", sql::kClauseFrom, table.location,
          absl::StrCat("table '", table.schema->name,
                       "' may only be listed where it overlaps a table of the query runner '",
                       runner_, "', and the query reads none"),
          absl::StrCat("add INNER JOIN <a table of ", runner_, "> ON <join column equality>"));
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

void CheckList(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
               const std::string& runner, std::string_view source_text, Verdict& verdict) {
  ListChecker(query, rules, runner, source_text, verdict).Run();
}

}  // namespace parley::policy
