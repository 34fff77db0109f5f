#include "policy/join_graph.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

void CollectColumns(const BoundExpr& expr, std::vector<const BoundExpr*>& columns) {
  if (expr.kind == BoundExprKind::kColumn) columns.push_back(&expr);
  for (const auto& arg : expr.args) CollectColumns(*arg, columns);
}

class JoinConditionChecker {
 public:
  JoinConditionChecker(const sql::BoundQuery& query, JoinCheckHost& host, JoinGraph& graph)
      : query_(query), host_(host), graph_(graph) {}

  void CheckFrom(const sql::BoundFrom& from) {
    if (!from.is_join) return;
    CheckFrom(*from.left);
    CheckFrom(*from.right);
    if (from.on) graph_ = CheckCondition(*from.on, graph_);
  }

 private:
  // Returns which tables are joined once the condition holds, given those `before` it: AND
  // joins what either side does; OR only what both sides do, as a row may satisfy one alone.
  JoinGraph CheckCondition(const BoundExpr& expr, const JoinGraph& before) {
    const char* clause = sql::kClauseJoinOn;
    JoinGraph joined = before;
    if (expr.kind == BoundExprKind::kBinaryOp && (expr.name == "AND" || expr.name == "OR")) {
      for (const sql::BoundTable& table : query_.tables) {
        const std::set<std::string>& allowed = host_.JoinOperatorsOf(table.index);
        if (!allowed.contains(expr.name)) {
          host_.Report("join_operator_not_allowed", table.index, "", clause, expr.location,
                       absl::StrCat("join operator ", expr.name, " is not allowed (allowed: ",
                                    absl::StrJoin(allowed, ", "), ")"),
                       "");
        }
      }
      JoinGraph left = CheckCondition(*expr.args[0], before);
      if (expr.name == "AND") return CheckCondition(*expr.args[1], left);
      return JoinGraph::Common(left, CheckCondition(*expr.args[1], before));
    }
    if (expr.kind != BoundExprKind::kBinaryOp || expr.name != "=") {
      host_.Report(
          "join_condition_not_equality", -1, "", clause, expr.location,
          "JOIN … ON may only contain equalities between join columns, combined with AND or OR",
          "");
      return joined;
    }
    sql::Type left_type, right_type;
    int left = Operand(*expr.args[0], left_type);
    int right = Operand(*expr.args[1], right_type);
    if (left < 0 || right < 0) return joined;
    if (left == right) {
      host_.Report("join_condition_same_table", left, "", clause, expr.location,
                   "JOIN … ON must compare join columns of two different tables", "");
      return joined;
    }
    // Join conditions are not evaluated under TRY (that would turn hash joins into nested loops),
    // so they must not be able to fail: comparing VARCHAR with INTEGER converts every row's text
    // and fails on the first that is not a number — and only if a row passing the WHERE filters
    // exists, which reveals groups far below any threshold.
    if (!left_type.is_unknown() && !right_type.is_unknown() &&
        !sql::ComparisonCannotFail(left_type, right_type)) {
      host_.Report(
          "join_column_types_differ", right, "", clause, expr.location,
          absl::StrCat("JOIN … ON compares join columns of different types (", left_type.ToString(),
                       " and ", right_type.ToString(), ")"),
          "compare join columns of one type (or two numbers of up to 64 bits): a conversion "
          "that fails on some rows would reveal them");
      return joined;
    }
    joined.Connect(left, right);
    return joined;
  }

  // Checks one side of a join equality: exactly one join column, with what the host allows
  // around it. Returns its table occurrence, or -1 after reporting why not.
  int Operand(const BoundExpr& operand, sql::Type& type) {
    const char* clause = sql::kClauseJoinOn;
    std::vector<const BoundExpr*> columns;
    CollectColumns(operand, columns);
    // The type a join column has as it is, or wrapped in what the host accepts around it (text
    // normalisations: UPPER, LOWER, TRIM, which apply to text only). Other operands are refused
    // with a reason of their own.
    type = sql::Type();
    if (operand.kind == BoundExprKind::kColumn) {
      type = operand.type;
    } else if (operand.kind == BoundExprKind::kScalar && columns.size() == 1) {
      type = columns.front()->type;
    }
    if (columns.empty()) {
      host_.Report("join_condition_constant", -1, "", clause, operand.location,
                   "JOIN … ON may not compare a join column with a constant",
                   "compare join columns of two tables, e.g. a.hashed_email = b.hashed_email");
      return -1;
    }
    if (!host_.AcceptJoinOperand(operand)) return -1;
    bool ok = true;
    for (const BoundExpr* column : columns) {
      const std::set<std::string>& join_columns = host_.JoinColumnsOf(column->table_index);
      if (!join_columns.contains(column->column)) {
        const std::string& table = query_.tables[column->table_index].schema->name;
        host_.Report("not_join_column", column->table_index, column->column, clause,
                     column->location,
                     absl::StrCat("column '", column->column, "' is not a join column of table '",
                                  table, "'"),
                     JoinColumnsHint(table, join_columns));
        ok = false;
      }
    }
    if (columns.size() > 1) {
      host_.Report("join_operand_several_columns", -1, "", clause, operand.location,
                   "each side of a JOIN … ON equality must be a single join column", "");
      ok = false;
    }
    if (operand.kind != BoundExprKind::kColumn) host_.CheckJoinOperandExpression(operand);
    return ok ? columns.front()->table_index : -1;
  }

  const sql::BoundQuery& query_;
  JoinCheckHost& host_;
  JoinGraph& graph_;
};

}  // namespace

JoinGraph::JoinGraph(size_t tables) : parent_(tables) {
  std::iota(parent_.begin(), parent_.end(), 0);
}

int JoinGraph::Find(int i) const {
  while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
  return i;
}

void JoinGraph::Connect(int a, int b) { parent_[Find(a)] = Find(b); }

bool JoinGraph::Connected(int a, int b) const { return Find(a) == Find(b); }

JoinGraph JoinGraph::Common(const JoinGraph& a, const JoinGraph& b) {
  JoinGraph common(a.parent_.size());
  for (size_t i = 0; i < a.parent_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (a.Connected(i, j) && b.Connected(i, j)) common.Connect(i, j);
    }
  }
  return common;
}

void CheckJoinConditions(const sql::BoundQuery& query, JoinCheckHost& host, JoinGraph& graph) {
  JoinConditionChecker checker(query, host, graph);
  for (const auto& root : query.from) checker.CheckFrom(*root);
}

void CheckJoinedWithRunner(const sql::BoundQuery& query, JoinGraph& graph,
                           const std::string& runner, JoinCheckHost& host,
                           const std::function<bool(int)>& required) {
  for (const sql::BoundTable& table : query.tables) {
    if (!required(table.index) || table.schema->owner == runner) continue;
    bool joined = false;
    for (const sql::BoundTable& other : query.tables) {
      joined |= other.schema->owner == runner && graph.Connected(other.index, table.index);
    }
    if (joined) continue;
    host.Report("join_required", table.index, "", sql::kClauseFrom, table.location,
                absl::StrCat("table '", table.schema->name,
                             "' must be joined, directly or through other tables, with a table of "
                             "the query runner '",
                             runner, "'"),
                absl::StrCat("add INNER JOIN <a table of ", runner, "> ON <join column equality>"));
  }
}

std::string JoinColumnsHint(const std::string& table, const std::set<std::string>& join_columns) {
  if (join_columns.empty()) return "this table's rule has no join columns";
  return absl::StrCat("join columns of '", table, "': ", absl::StrJoin(join_columns, ", "));
}

}  // namespace parley::policy
