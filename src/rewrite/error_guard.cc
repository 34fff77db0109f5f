#include "rewrite/error_guard.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/types.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::Type;
using sql::TypeKind;

bool ReadsData(const BoundExpr& expr) {
  if (expr.kind == BoundExprKind::kColumn || expr.kind == BoundExprKind::kAggregate ||
      expr.kind == BoundExprKind::kOutputRef || expr.kind == BoundExprKind::kWindow ||
      expr.kind == BoundExprKind::kSubquery) {
    return true;
  }
  for (const auto& arg : expr.args) {
    if (ReadsData(*arg)) return true;
  }
  return false;
}

std::unique_ptr<BoundExpr> Cast(std::unique_ptr<BoundExpr> expr, const Type& type, bool can_fail) {
  auto cast = std::make_unique<BoundExpr>();
  cast->kind = BoundExprKind::kCast;
  cast->location = expr->location;
  cast->cast_type = type;
  cast->type = type;
  if (can_fail) cast->name = "try_cast";
  cast->args.push_back(std::move(expr));
  return cast;
}

int Bits(const Type& type) { return sql::IntegerBits(type.kind()); }

// Digits before the point of an exact numeric type (integers as DuckDB's DECIMAL(w,0); the widest
// as the engine's widest DECIMAL).
int DecimalWidth(const Type& type, const sql::Capabilities& capabilities) {
  if (type.kind() == TypeKind::kDecimal) return type.width();
  switch (Bits(type)) {
    case 8:
      return 3;
    case 16:
      return 5;
    case 32:
      return 10;
    case 64:
      return type.IsUnsigned() ? 20 : 19;
    default:
      return capabilities.decimal_max_width;
  }
}

class Guarder {
 public:
  explicit Guarder(const sql::Capabilities& capabilities) : capabilities_(capabilities) {}

  std::vector<Unguardable> refusals;

  void Guard(std::unique_ptr<BoundExpr>& expr, const char* clause) {
    if (!expr) return;
    clause_ = clause;
    Visit(expr);
  }

  // A condition (WHERE, HAVING, an operand of AND/OR/NOT, a CASE WHEN) must be BOOLEAN.
  void RequireBoolean(std::unique_ptr<BoundExpr>& expr) { ConvertTo(expr, TypeKind::kBoolean); }

 private:
  void Refuse(const BoundExpr& expr, std::string what) {
    refusals.push_back(Unguardable{
        absl::StrCat(what,
                     " can fail on some values, and Parley has no form of it that cannot; "
                     "rows a threshold suppresses could make the query fail"),
        clause_, expr.location});
  }

  // Makes the conversion of `expr` to `type` explicit: CAST when it cannot fail, TRY_CAST when
  // it can. Constants too: DuckDB's constant folding swallows a conversion error and leaves the
  // cast to run time, where it fails only if evaluation reaches it — behind an OR, CASE or
  // COALESCE that depends on the data (found by the neighbouring-dataset oracle).
  void ConvertTo(std::unique_ptr<BoundExpr>& expr, const Type& to) {
    if (to.is_unknown()) return;
    const Type& from = expr->type;
    if (from.kind() == TypeKind::kNull || from == to) return;
    bool can_fail = sql::CastCanFail(from, to);
    if (can_fail && !capabilities_.null_on_failed_conversion) {
      Refuse(*expr, "a conversion to another type");
      return;
    }
    // A literal whose conversion cannot fail is left to the engine (it stays a plain constant,
    // which keeps filters pushed down into the scans).
    if (!can_fail && expr->kind == BoundExprKind::kConstant) return;
    expr = Cast(std::move(expr), to, can_fail);
  }

  // Operands that the engine converts to one type (comparisons, IN, BETWEEN, CASE branches,
  // COALESCE): each is converted explicitly to the common type.
  void Unify(std::vector<std::unique_ptr<BoundExpr>*> operands, const BoundExpr& node) {
    Type common = TypeKind::kNull;
    for (auto* operand : operands) {
      common = sql::CommonType(common, (*operand)->type);
      if (common.is_unknown()) break;
    }
    if (common.is_unknown()) {
      // DuckDB would pick a conversion Parley cannot judge: refuse rather than guess.
      // Constants included: the engine's conversion of a constant is deferred to run time too.
      bool reads = !operands.empty();
      if (reads) {
        refusals.push_back(Unguardable{
            "values of types that Parley cannot compare without a conversion that may fail are "
            "combined here; CAST one side explicitly",
            clause_, node.location});
      }
      return;
    }
    for (auto* operand : operands) ConvertTo(*operand, common);
  }

  static std::unique_ptr<BoundExpr> Constant(sql::ConstantKind kind, std::string text, Type type) {
    auto constant = std::make_unique<BoundExpr>();
    constant->kind = BoundExprKind::kConstant;
    constant->constant = sql::Constant{kind, std::move(text)};
    constant->type = std::move(type);
    return constant;
  }

  static std::unique_ptr<BoundExpr> Binary(std::string op, std::unique_ptr<BoundExpr> left,
                                           std::unique_ptr<BoundExpr> right) {
    auto node = std::make_unique<BoundExpr>();
    node->kind = BoundExprKind::kBinaryOp;
    node->name = std::move(op);
    node->location = left->location;
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    sql::DeriveType(*node);
    return node;
  }

  // CASE WHEN <condition> THEN <expr> END: the operation is evaluated only for the values it is
  // defined for (DuckDB evaluates THEN only for the rows whose WHEN holds), NULL elsewhere.
  static void OnlyWhen(std::unique_ptr<BoundExpr>& expr, std::unique_ptr<BoundExpr> condition) {
    auto guarded = std::make_unique<BoundExpr>();
    guarded->kind = BoundExprKind::kCase;
    guarded->location = expr->location;
    guarded->type = expr->type;
    guarded->args.push_back(std::move(condition));
    guarded->args.push_back(std::move(expr));
    expr = std::move(guarded);
  }

  // DATE ± integer fails when the result leaves DATE's range: it is computed only when the day
  // number (DATE - DATE is a BIGINT and cannot fail) plus the offset stays in that range.
  void DateArithmetic(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    int date_index = node.args[0]->type.kind() == TypeKind::kDate ? 0 : 1;
    const std::string& op = node.name;
    Type offset_type = node.args[1 - date_index]->type;
    if (!offset_type.IsInteger() || Bits(offset_type) > 32 || (op == "-" && date_index == 1)) {
      Refuse(node, absl::StrCat("date arithmetic (", op, ")"));
      return;
    }
    sql::DeriveType(node);
    auto days = Binary("-", node.args[date_index]->Clone(),
                       Constant(sql::ConstantKind::kString, "1970-01-01", TypeKind::kDate));
    auto offset = node.args[1 - date_index]->Clone();
    if (ReadsData(*offset)) {
      offset = Cast(std::move(offset), TypeKind::kBigint, false);
    } else {
      offset->type = TypeKind::kBigint;
    }
    auto result_day = Binary(op, std::move(days), std::move(offset));
    auto in_range = std::make_unique<BoundExpr>();
    in_range->kind = BoundExprKind::kBetween;
    in_range->location = node.location;
    in_range->args.push_back(std::move(result_day));
    in_range->args.push_back(
        Constant(sql::ConstantKind::kInteger, "-2147483646", TypeKind::kBigint));
    in_range->args.push_back(
        Constant(sql::ConstantKind::kInteger, "2147483646", TypeKind::kBigint));
    in_range->type = TypeKind::kBoolean;
    OnlyWhen(expr, std::move(in_range));
  }

  // The signed integer of `bits` bits (64 or 128) when the engine has one, else DOUBLE (which
  // cannot fail).
  Type SignedInteger(int bits) const {
    if (bits > capabilities_.widest_integer_bits) return TypeKind::kDouble;
    switch (bits) {
      case 64:
        return TypeKind::kBigint;
      case 128:
        return TypeKind::kHugeint;
      default:
        return TypeKind::kDouble;
    }
  }

  // The integer type wide enough for any result of `op` on integers of these types.
  Type WideInteger(const std::string& op, const Type& left, const Type& right) const {
    int bits = std::max(Bits(left), Bits(right));
    if (bits <= 32) return SignedInteger(64);
    if (bits <= 64) {
      bool unsigned_64 =
          (Bits(left) == 64 && left.IsUnsigned()) || (Bits(right) == 64 && right.IsUnsigned());
      if (op == "*" && unsigned_64) return TypeKind::kDouble;
      return SignedInteger(128);
    }
    return TypeKind::kDouble;
  }

  void Arithmetic(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    const std::string& op = node.name;
    // Text meeting a number is converted to that number's type.
    for (int i = 0; i < 2; ++i) {
      Type self = node.args[i]->type;
      Type other = node.args[1 - i]->type;
      if (self.kind() == TypeKind::kVarchar && other.IsNumeric()) ConvertTo(node.args[i], other);
    }
    Type left = node.args[0]->type;
    Type right = node.args[1]->type;
    if (left.IsTemporal() || right.IsTemporal()) {
      if (left.kind() == TypeKind::kDate && right.kind() == TypeKind::kDate && op == "-") {
        sql::DeriveType(node);  // a number of days: cannot fail
        return;
      }
      if ((left.kind() == TypeKind::kDate || right.kind() == TypeKind::kDate) &&
          (op == "+" || op == "-")) {
        DateArithmetic(expr);
        return;
      }
      // TIMESTAMP ± INTERVAL and the like: no bound Parley can state in the query.
      Refuse(node, absl::StrCat("arithmetic on dates, timestamps or intervals (", op, ")"));
      return;
    }
    if (!left.IsNumeric() || !right.IsNumeric()) {
      Unify({&node.args[0], &node.args[1]}, node);
      sql::DeriveType(node);
      return;
    }
    if (op == "/" || left.IsFloating() || right.IsFloating()) {
      sql::DeriveType(node);
      return;  // division yields DOUBLE; floating arithmetic yields inf or nan, never an error
    }
    Type wide;
    if (left.IsInteger() && right.IsInteger()) {
      wide = WideInteger(op, left, right);
    } else {
      // Decimals: the engine caps results at its narrow width (both inputs at most that wide;
      // DuckDB: 18 digits) or its widest (DuckDB: 38) and checks for overflow; give it room for
      // the exact result, or compute in DOUBLE.
      const int narrow = capabilities_.decimal_narrow_width;
      const int widest = capabilities_.decimal_max_width;
      int lw = DecimalWidth(left, capabilities_), rw = DecimalWidth(right, capabilities_);
      if (op == "*") {
        if (lw + rw > widest) {
          wide = TypeKind::kDouble;
        } else if (lw <= narrow && rw <= narrow && lw + rw > narrow) {
          // One input wider than the narrow width moves the product to the wide representation,
          // exact up to the widest DECIMAL.
          Type& widened = lw >= rw ? left : right;
          int index = lw >= rw ? 0 : 1;
          ConvertTo(node.args[index], Type::Decimal(narrow + 1, widened.scale()));
        }
      } else if (op == "+" || op == "-") {
        int scale = std::max(left.scale(), right.scale());
        int digits = std::max(lw - left.scale(), rw - right.scale());
        int exact = digits + scale + 1;
        if (exact > widest) {
          wide = TypeKind::kDouble;
        } else if (exact == narrow + 1) {
          // Both at most narrow: the engine would keep the narrow width and check for overflow.
          ConvertTo(
              node.args[0],
              Type::Decimal(std::max(narrow + 1, lw - left.scale() + left.scale()), left.scale()));
          if (node.args[0]->type.width() < narrow + 1) {
            ConvertTo(node.args[1], Type::Decimal(narrow + 1, right.scale()));
          }
        }
      }
    }
    if (!wide.is_unknown()) {
      ConvertTo(node.args[0], wide);
      ConvertTo(node.args[1], wide);
      for (auto& arg : node.args) {
        if (!ReadsData(*arg) && arg->kind == BoundExprKind::kConstant) {
          if (wide.kind() == TypeKind::kDouble) {
            arg = Cast(std::move(arg), wide, false);
          } else {
            arg->type = wide;
          }
        }
      }
    }
    sql::DeriveType(node);
  }

  void Negate(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    Type type = node.args[0]->type;
    if (type.IsInteger()) {
      // -(-2147483648) does not fit an INTEGER; unsigned values have no negative at all.
      Type wide = Bits(type) < 64    ? SignedInteger(64)
                  : Bits(type) == 64 ? SignedInteger(128)
                                     : TypeKind::kDouble;
      ConvertTo(node.args[0], wide);
    } else if (type.IsTemporal()) {
      Refuse(node, "the negation of a date or interval");
      return;
    }
    sql::DeriveType(node);
  }

  void Function(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    const std::string& name = node.name;
    if (name == "try") return;
    // These return a value (inf and nan included) for every argument of the types they accept.
    static const std::set<std::string> kCannotFail = {
        "round", "ceil",    "ceiling",   "floor",   "trunc",      "sign",   "upper",  "lower",
        "trim",  "ltrim",   "rtrim",     "length",  "substring",  "substr", "concat", "left",
        "right", "replace", "date_part", "extract", "date_trunc", "power",  "pow",    "exp"};
    if (name == "abs" && !node.args.empty()) {
      Type type = node.args[0]->type;
      if (type.IsInteger() && !type.IsUnsigned()) {
        ConvertTo(node.args[0], Bits(type) < 64    ? SignedInteger(64)
                                : Bits(type) == 64 ? SignedInteger(128)
                                                   : TypeKind::kDouble);
      }
      sql::DeriveType(node);
      return;
    }
    if (name == "mod" && node.args.size() == 2) {
      Type left = node.args[0]->type;
      Type right = node.args[1]->type;
      if (left.IsInteger() && right.IsInteger()) {
        Type wide = WideInteger("%", left, right);
        ConvertTo(node.args[0], wide);
        ConvertTo(node.args[1], wide);
      }
      sql::DeriveType(node);
      return;
    }
    if (name == "coalesce" || name == "greatest" || name == "least" || name == "nullif") {
      std::vector<std::unique_ptr<BoundExpr>*> operands;
      for (auto& arg : node.args) operands.push_back(&arg);
      Unify(operands, node);
      sql::DeriveType(node);
      return;
    }
    sql::DeriveType(node);
    // The part name of DATE_TRUNC and DATE_PART is checked by the engine for every value it is
    // given: from a column, an unknown name fails on some rows only.
    if ((name == "date_trunc" || name == "date_part" || name == "extract") && !node.args.empty() &&
        ReadsData(*node.args[0])) {
      Refuse(node, absl::StrCat("the function ", absl::AsciiStrToUpper(name),
                                "() with a part name read from the data"));
      return;
    }
    if (kCannotFail.contains(name)) return;
    // Logarithms and square roots raise an error outside their domain: they are computed only
    // inside it.
    bool logarithm = name == "ln" || name == "log" || name == "log10" || name == "log2";
    if ((logarithm || name == "sqrt") && !node.args.empty() && node.args.size() <= 2) {
      std::unique_ptr<BoundExpr> condition;
      for (const auto& arg : node.args) {
        auto positive = Binary(name == "sqrt" ? ">=" : ">", arg->Clone(),
                               Constant(sql::ConstantKind::kInteger, "0", TypeKind::kInteger));
        condition = condition ? Binary("AND", std::move(condition), std::move(positive))
                              : std::move(positive);
      }
      OnlyWhen(expr, std::move(condition));
      return;
    }
    Refuse(node, absl::StrCat("the function ", absl::AsciiStrToUpper(name), "()"));
  }

  void Visit(std::unique_ptr<BoundExpr>& expr) {
    // A bare literal was converted when the query was bound. Anything computed from literals
    // alone is guarded like data: the engine does not fold what fails, it defers it to run time.
    if (expr->kind == BoundExprKind::kConstant) return;
    BoundExpr& node = *expr;
    if (node.kind == BoundExprKind::kAggregate) {
      // SUM and AVG of HUGEINT and wide DECIMAL columns (wider than the engine's narrow width)
      // add in 128 bits and fail when a few large values meet; as DOUBLE they cannot fail.
      // Counting never fails.
      if ((node.name == "sum" || node.name == "avg") && node.value_args() == 1) {
        Type type = node.args[0]->type;
        if (type.kind() == TypeKind::kHugeint || type.kind() == TypeKind::kUhugeint ||
            (type.kind() == TypeKind::kDecimal &&
             type.width() > capabilities_.decimal_narrow_width)) {
          node.args[0] = Cast(std::move(node.args[0]), TypeKind::kDouble, false);
        }
      }
      for (auto& arg : node.args) Visit(arg);
      // A FILTER condition is guarded as a WHERE is.
      if (node.has_filter) RequireBoolean(node.args.back());
      sql::DeriveType(node);
      return;
    }
    for (auto& arg : node.args) Visit(arg);
    switch (node.kind) {
      case BoundExprKind::kUnaryOp:
        if (node.name == "NOT") {
          RequireBoolean(node.args[0]);
        } else if (node.name == "-") {
          Negate(expr);
          return;
        }
        break;
      case BoundExprKind::kBinaryOp:
        if (node.name == "AND" || node.name == "OR") {
          RequireBoolean(node.args[0]);
          RequireBoolean(node.args[1]);
        } else if (sql::IsComparisonOperator(node.name)) {
          Unify({&node.args[0], &node.args[1]}, node);
        } else if (node.name == "LIKE" || node.name == "ILIKE") {
          ConvertTo(node.args[0], TypeKind::kVarchar);
          ConvertTo(node.args[1], TypeKind::kVarchar);
        } else if (node.name == "+" || node.name == "-" || node.name == "*" || node.name == "/" ||
                   node.name == "%") {
          Arithmetic(expr);
          return;
        }
        break;
      case BoundExprKind::kBetween:
      case BoundExprKind::kInList: {
        std::vector<std::unique_ptr<BoundExpr>*> operands;
        for (auto& arg : node.args) operands.push_back(&arg);
        Unify(operands, node);
        break;
      }
      case BoundExprKind::kCase: {
        size_t i = node.case_has_operand ? 1 : 0;
        size_t end = node.args.size() - (node.case_has_else ? 1 : 0);
        std::vector<std::unique_ptr<BoundExpr>*> operand_and_whens, results;
        if (node.case_has_operand) operand_and_whens.push_back(&node.args[0]);
        for (; i + 1 < end; i += 2) {
          if (node.case_has_operand) {
            operand_and_whens.push_back(&node.args[i]);
          } else {
            RequireBoolean(node.args[i]);
          }
          results.push_back(&node.args[i + 1]);
        }
        if (node.case_has_else) results.push_back(&node.args.back());
        if (node.case_has_operand) Unify(operand_and_whens, node);
        Unify(results, node);
        break;
      }
      case BoundExprKind::kCast: {
        if (sql::CastCanFail(node.args[0]->type, node.cast_type)) {
          if (!capabilities_.null_on_failed_conversion) {
            Refuse(node, "a CAST");
            return;
          }
          node.name = "try_cast";
        }
        break;
      }
      case BoundExprKind::kScalar:
        Function(expr);
        return;
      default:
        break;
    }
    sql::DeriveType(node);
  }

  const sql::Capabilities& capabilities_;
  const char* clause_ = "";
};

}  // namespace

std::vector<Unguardable> GuardRowErrors(sql::BoundQuery& query,
                                        const sql::Capabilities& capabilities) {
  Guarder guarder(capabilities);
  for (sql::BoundSelectItem& item : query.select) guarder.Guard(item.expr, sql::kClauseSelect);
  if (query.where) {
    guarder.Guard(query.where, sql::kClauseWhere);
    guarder.RequireBoolean(query.where);
  }
  for (auto& group : query.group_by) guarder.Guard(group, sql::kClauseGroupBy);
  if (query.having) {
    guarder.Guard(query.having, sql::kClauseHaving);
    guarder.RequireBoolean(query.having);
  }
  for (sql::BoundOrderItem& order : query.order_by) {
    guarder.Guard(order.expr, sql::kClauseOrderBy);
  }
  return guarder.refusals;
}

}  // namespace parley::rewrite
