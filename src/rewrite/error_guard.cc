#include "rewrite/error_guard.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

enum class Family { kNumeric, kText, kBoolean, kTemporal, kNull, kUnknown };

Family ColumnFamily(const std::string& duckdb_type) {
  std::string type = absl::AsciiStrToUpper(duckdb_type);
  static const char* kNumeric[] = {"TINYINT",  "SMALLINT",  "INTEGER",  "BIGINT",  "HUGEINT",
                                   "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                                   "FLOAT",    "REAL",      "DOUBLE",   "DECIMAL"};
  for (const char* numeric : kNumeric) {
    if (absl::StartsWith(type, numeric)) return Family::kNumeric;
  }
  if (type == "VARCHAR") return Family::kText;
  if (type == "BOOLEAN") return Family::kBoolean;
  if (absl::StartsWith(type, "DATE") || absl::StartsWith(type, "TIMESTAMP") ||
      absl::StartsWith(type, "TIME")) {
    return Family::kTemporal;
  }
  return Family::kUnknown;
}

// The type family of a value expression that cannot fail, or kUnknown.
Family ValueFamily(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn:
      return ColumnFamily(expr.type);
    case BoundExprKind::kConstant:
      switch (expr.constant.kind) {
        case sql::ConstantKind::kInteger:
        case sql::ConstantKind::kFloat:
          return Family::kNumeric;
        case sql::ConstantKind::kString:
          return Family::kText;
        case sql::ConstantKind::kBoolean:
          return Family::kBoolean;
        case sql::ConstantKind::kNull:
          return Family::kNull;
      }
      return Family::kUnknown;
    case BoundExprKind::kAggregate:
      // COUNT, SUM and AVG of plain columns (what the rules admit) are numbers.
      return expr.name == "count" || expr.name == "sum" || expr.name == "avg" ? Family::kNumeric
                                                                              : Family::kUnknown;
    default:
      return Family::kUnknown;
  }
}

// Whether comparing `a` with `b` converts only constants (at bind time), never a column value.
bool Comparable(const BoundExpr& a, const BoundExpr& b) {
  Family left = ValueFamily(a);
  Family right = ValueFamily(b);
  if (left == Family::kUnknown || right == Family::kUnknown) return false;
  if (left == Family::kNull || right == Family::kNull) return true;
  // Two columns of one family may still differ in type (DATE and TIMESTAMP, HUGEINT and
  // DECIMAL(38,10)): DuckDB then converts one of them row by row, which can fail on some values.
  if (a.kind == BoundExprKind::kColumn && b.kind == BoundExprKind::kColumn) {
    return sql::ComparisonCannotFail(a.type, b.type);
  }
  // A HUGEINT or wide DECIMAL column compared with a number may be converted to the constant's
  // type (a DECIMAL too narrow for it).
  if ((a.kind == BoundExprKind::kColumn && sql::IsWideNumericType(a.type) &&
       right == Family::kNumeric) ||
      (b.kind == BoundExprKind::kColumn && sql::IsWideNumericType(b.type) &&
       left == Family::kNumeric)) {
    return false;
  }
  if (left == right) return true;
  // A text constant against a date or number column is converted once, as a constant.
  bool left_constant = a.kind == BoundExprKind::kConstant;
  bool right_constant = b.kind == BoundExprKind::kConstant;
  if (right_constant && right == Family::kText && left != Family::kText) return true;
  if (left_constant && left == Family::kText && right != Family::kText) return true;
  return false;
}

bool IsComparison(const std::string& op) {
  static const std::set<std::string> kComparisons = {
      "=", "<>", "!=", "<", ">", "<=", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
  return kComparisons.contains(op);
}

// Whether evaluating `expr` can raise an error that depends on the data.
bool Safe(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn:
    case BoundExprKind::kConstant:
      return true;
    case BoundExprKind::kAggregate:
      return ValueFamily(expr) != Family::kUnknown || expr.name == "count";
    case BoundExprKind::kIsNull:
      return Safe(*expr.args[0]);
    case BoundExprKind::kUnaryOp:
      return expr.name == "NOT" && Safe(*expr.args[0]);
    case BoundExprKind::kBinaryOp:
      if (expr.name == "AND" || expr.name == "OR") {
        return Safe(*expr.args[0]) && Safe(*expr.args[1]);
      }
      if (IsComparison(expr.name)) return Comparable(*expr.args[0], *expr.args[1]);
      if (expr.name == "LIKE" || expr.name == "ILIKE") {
        return ValueFamily(*expr.args[0]) == Family::kText &&
               ValueFamily(*expr.args[1]) == Family::kText;
      }
      return false;  // arithmetic can overflow
    case BoundExprKind::kBetween:
      return Comparable(*expr.args[0], *expr.args[1]) && Comparable(*expr.args[0], *expr.args[2]);
    case BoundExprKind::kInList:
      for (size_t i = 1; i < expr.args.size(); ++i) {
        if (!Comparable(*expr.args[0], *expr.args[i])) return false;
      }
      return true;
    default:
      return false;  // casts, CASE, scalar functions
  }
}

std::unique_ptr<BoundExpr> Guard(std::unique_ptr<BoundExpr> expr) {
  if (!expr || Safe(*expr)) return expr;
  auto guarded = std::make_unique<BoundExpr>();
  guarded->kind = BoundExprKind::kScalar;
  guarded->name = "try";
  guarded->location = expr->location;
  guarded->args.push_back(std::move(expr));
  return guarded;
}

// Guards each conjunct of an AND chain on its own, so that safe conjuncts still push down.
std::unique_ptr<BoundExpr> GuardConjuncts(std::unique_ptr<BoundExpr> expr) {
  if (!expr) return expr;
  if (expr->kind == BoundExprKind::kBinaryOp && expr->name == "AND") {
    expr->args[0] = GuardConjuncts(std::move(expr->args[0]));
    expr->args[1] = GuardConjuncts(std::move(expr->args[1]));
    return expr;
  }
  return Guard(std::move(expr));
}

// SUM and AVG of HUGEINT and wide DECIMAL columns add in 128 bits and fail with an overflow when
// a few large values meet — in a group that the threshold would have suppressed, or only when a
// crafted row of the runner's joins one of another member's. Summed as DOUBLE they cannot fail.
void SumWideColumnsAsDouble(BoundExpr& expr) {
  if (expr.kind == BoundExprKind::kAggregate && (expr.name == "sum" || expr.name == "avg") &&
      expr.args.size() == 1 && expr.args[0]->kind == BoundExprKind::kColumn &&
      sql::IsWideNumericType(expr.args[0]->type)) {
    auto cast = std::make_unique<BoundExpr>();
    cast->kind = BoundExprKind::kCast;
    cast->location = expr.args[0]->location;
    cast->type_name = "DOUBLE";
    cast->type = "DOUBLE";
    cast->args.push_back(std::move(expr.args[0]));
    expr.args[0] = std::move(cast);
    return;
  }
  for (auto& arg : expr.args) SumWideColumnsAsDouble(*arg);
}

}  // namespace

void GuardRowErrors(sql::BoundQuery& query) {
  for (sql::BoundSelectItem& item : query.select) SumWideColumnsAsDouble(*item.expr);
  if (query.having) SumWideColumnsAsDouble(*query.having);
  for (sql::BoundOrderItem& order : query.order_by) SumWideColumnsAsDouble(*order.expr);
  for (sql::BoundSelectItem& item : query.select) item.expr = Guard(std::move(item.expr));
  query.where = GuardConjuncts(std::move(query.where));
  for (auto& group : query.group_by) group = Guard(std::move(group));
  query.having = GuardConjuncts(std::move(query.having));
  for (sql::BoundOrderItem& order : query.order_by) order.expr = Guard(std::move(order.expr));
}

}  // namespace parley::rewrite
