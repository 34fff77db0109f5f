// Result types of bound expressions, as DuckDB 1.4 computes them, and the conversions between
// types that can fail on a value. Types are Parley's own (sql/type.h): TypeKind::kNull is the
// type of the NULL constant, the default Type an unknown one.
//
// Why Parley computes them instead of asking the engine: the checker must know, before anything
// runs, which operations of a query can raise an error on some values and not others — a runtime
// error that depends on the data is an oracle on rows the runner may not see (issue 6). Literals
// are converted when the query is bound, to the type they meet, so that the engine never converts
// a column's values to a literal's type (a 33-digit decimal compared with a BIGINT column makes
// DuckDB cast every value to DECIMAL(38,32), which overflows on large values).
//
// Example:
//   CastCanFail(TypeKind::kInteger, TypeKind::kBigint) == false;   // widening
//   CastCanFail(TypeKind::kDate, TypeKind::kTimestamp) == true;    // far dates do not fit
//   CommonType(TypeKind::kBigint, Type::Decimal(18, 2)) == Type::Decimal(21, 2);
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sql/ir.h"
#include "sql/type.h"

namespace parley::sql {

// The width in bits of an integer type (8 to 64); 128 for HUGEINT and for any other type.
int IntegerBits(TypeKind id);

// The type DuckDB converts both of two values to when they are compared, or combined by CASE,
// COALESCE, GREATEST, LEAST; the unknown type when DuckDB would refuse to mix them (VARCHAR and a
// number in CASE) or Parley does not know the pair.
Type CommonType(const Type& left, const Type& right);

// Whether converting some value of type `from` to type `to` raises an error (text that is not a
// number, a date beyond the range of TIMESTAMP, a BIGINT too large for DECIMAL(38,32)).
bool CastCanFail(const Type& from, const Type& to);

// The type of a literal as DuckDB types it (integers: INTEGER, BIGINT, HUGEINT; decimals:
// DECIMAL(p,s); DOUBLE beyond those or with an exponent; VARCHAR, BOOLEAN, NULL).
Type LiteralType(const Constant& constant);

// An error found while typing an expression: a message without data values, and its position.
struct TypeError {
  std::string message;
  int location = -1;
};

// Types `expr` (whose arguments are typed already): sets `expr.type`, and converts the literals
// among its operands to the type they meet — a text literal compared with a DATE becomes a DATE
// constant, '12' against INTEGER becomes 12, a numeric literal outside the range of the column
// type it is compared with folds the comparison to its constant outcome. May replace `expr` by
// an equivalent node. Returns an error for a literal that does not convert.
std::optional<TypeError> TypeExpression(std::unique_ptr<BoundExpr>& expr);

// Converts a literal used as a whole condition (WHERE 'x', HAVING 1) to BOOLEAN, or returns why
// it does not convert.
std::optional<TypeError> TypeCondition(BoundExpr& condition);

// Sets `expr.type` from its arguments' types, without converting anything (used after a rewrite
// changed arguments).
void DeriveType(BoundExpr& expr);

// Whether `op` compares its operands (=, <>, <, ..., IS [NOT] DISTINCT FROM).
bool IsComparisonOperator(const std::string& op);

}  // namespace parley::sql
