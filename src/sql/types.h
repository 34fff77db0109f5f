// Result types of bound expressions, as DuckDB 1.4 computes them, and the conversions between
// types that can fail on a value. Types are DuckDB type names ("BIGINT", "DECIMAL(18,2)",
// "DATE"); "NULL" is the type of the NULL constant, "" an unknown type.
//
// Why Parley computes them instead of asking the engine: the checker must know, before anything
// runs, which operations of a query can raise an error on some values and not others — a runtime
// error that depends on the data is an oracle on rows the runner may not see (issue 6). Literals
// are converted when the query is bound, to the type they meet, so that the engine never converts
// a column's values to a literal's type (a 33-digit decimal compared with a BIGINT column makes
// DuckDB cast every value to DECIMAL(38,32), which overflows on large values).
//
// Example:
//   TypeInfo t = ParseType("DECIMAL(18,2)");        // kDecimal, width 18, scale 2
//   CastCanFail("INTEGER", "BIGINT") == false;       // widening
//   CastCanFail("DATE", "TIMESTAMP") == true;        // far dates do not fit a TIMESTAMP
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sql/ir.h"

namespace parley::sql {

enum class TypeId {
  kUnknown,
  kNull,
  kBoolean,
  kTinyint,
  kSmallint,
  kInteger,
  kBigint,
  kHugeint,
  kUtinyint,
  kUsmallint,
  kUinteger,
  kUbigint,
  kUhugeint,
  kFloat,
  kDouble,
  kDecimal,
  kVarchar,
  kDate,
  kTimestamp,
  kInterval,
  kOther,  // a type Parley knows by name only (TIME, BLOB, UUID, ...)
};

struct TypeInfo {
  TypeId id = TypeId::kUnknown;
  int width = 0;  // kDecimal: precision
  int scale = 0;  // kDecimal
  std::string name;

  bool IsInteger() const { return id >= TypeId::kTinyint && id <= TypeId::kUhugeint; }
  bool IsUnsigned() const { return id >= TypeId::kUtinyint && id <= TypeId::kUhugeint; }
  bool IsFloating() const { return id == TypeId::kFloat || id == TypeId::kDouble; }
  bool IsExactNumeric() const { return IsInteger() || id == TypeId::kDecimal; }
  bool IsNumeric() const { return IsExactNumeric() || IsFloating(); }
  bool IsTemporal() const {
    return id == TypeId::kDate || id == TypeId::kTimestamp || id == TypeId::kInterval;
  }
};

TypeInfo ParseType(std::string_view type);
std::string DecimalType(int width, int scale);

// The type DuckDB converts both of two values to when they are compared, or combined by CASE,
// COALESCE, GREATEST, LEAST; "" when DuckDB would refuse to mix them (VARCHAR and a number in
// CASE) or Parley does not know the pair.
std::string CommonType(const std::string& left, const std::string& right);

// Whether converting some value of type `from` to type `to` raises an error (text that is not a
// number, a date beyond the range of TIMESTAMP, a BIGINT too large for DECIMAL(38,32)).
bool CastCanFail(const std::string& from, const std::string& to);

// The type of an integer or decimal literal as DuckDB types it ("INTEGER", "BIGINT", "HUGEINT",
// "DECIMAL(p,s)", "DOUBLE").
std::string LiteralType(const Constant& constant);

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
