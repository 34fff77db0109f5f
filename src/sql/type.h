// Parley's own logical types: what the bound IR says about the values an expression yields.
//
// Why Parley has its own: the IR is shared by every engine Parley renders for (DuckDB now, a
// distributed engine next), so the type of a column or expression must not be one engine's
// spelling. Each engine (and each source that reports column types) maps its names to and from
// `Type` in one place of its own — for DuckDB, sql/duckdb_types.h — and nothing else parses or
// prints engine type names.
//
// A `Type` is a small value: a kind, the precision and scale of a DECIMAL, and for a type Parley
// knows only by its source's description (lists, structs, enums, ...) that description, kept as
// an opaque token so that two columns of the same such type still compare equal. Copy it freely.
//
// Example:
//   Type amount = Type::Decimal(18, 2);
//   amount.ToString() == "DECIMAL(18,2)";
//   Type(TypeKind::kBigint).IsNarrowNumeric() == true;
//   Type() .is_unknown() == true;                   // what the binder could not type
#pragma once

#include <ostream>
#include <string>

namespace parley::sql {

enum class TypeKind {
  kUnknown,  // not known to Parley (an expression it cannot type)
  kNull,     // the type of the NULL constant
  kBoolean,
  kTinyint,
  kSmallint,
  kInteger,
  kBigint,
  kHugeint,  // 128-bit integer
  kUtinyint,
  kUsmallint,
  kUinteger,
  kUbigint,
  kUhugeint,
  kFloat,    // 32-bit binary floating point
  kDouble,   // 64-bit binary floating point
  kDecimal,  // exact, width() digits of which scale() after the point (width 1 to 38)
  kVarchar,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,  // a timestamp with time zone
  kInterval,
  kBlob,
  kUuid,
  kOther,  // known only by its source's description: lists, structs, maps, enums, ...
};

class Type {
 public:
  // The unknown type.
  Type() = default;
  // A type of `kind`. Not for kDecimal (use Decimal()) or kOther (use Other()): those become
  // the unknown type, so that a DECIMAL never lacks its width.
  Type(TypeKind kind);  // NOLINT: implicit, so that `expr.type = TypeKind::kBoolean` reads well
  // DECIMAL(width, scale); requires 1 <= width <= 38 and 0 <= scale <= width (else unknown).
  static Type Decimal(int width, int scale);
  // A type Parley knows only by `description`, as the source or engine that reported it spells
  // it. Only the mapping that created it interprets the description.
  static Type Other(std::string description);

  TypeKind kind() const { return kind_; }
  int width() const { return width_; }                             // kDecimal only; 0 otherwise
  int scale() const { return scale_; }                             // kDecimal only; 0 otherwise
  const std::string& description() const { return description_; }  // kOther only

  bool is_unknown() const { return kind_ == TypeKind::kUnknown; }
  bool IsInteger() const;   // signed or unsigned, 8 to 128 bits
  bool IsUnsigned() const;  // unsigned integers
  bool IsFloating() const { return kind_ == TypeKind::kFloat || kind_ == TypeKind::kDouble; }
  bool IsExactNumeric() const { return IsInteger() || kind_ == TypeKind::kDecimal; }
  bool IsNumeric() const { return IsExactNumeric() || IsFloating(); }
  // DATE, TIMESTAMP and INTERVAL: the temporal types Parley does arithmetic and checks on.
  bool IsTemporal() const {
    return kind_ == TypeKind::kDate || kind_ == TypeKind::kTimestamp ||
           kind_ == TypeKind::kInterval;
  }
  // Types Parley types no operation on and converts nothing to (TIME, TIMESTAMP WITH TIME
  // ZONE, BLOB, UUID, kOther): values of them are only passed along or compared among equals.
  bool IsOpaque() const;
  // Numeric types whose values can be summed, compared and converted among each other without
  // overflow: integers up to 64 bits, FLOAT, DOUBLE and DECIMAL of at most 18 digits.
  bool IsNarrowNumeric() const;
  // 128-bit integers and DECIMAL of 19 to 38 digits: sums of two values can overflow, and mixing
  // them with other numeric types converts values into types that may not hold them.
  bool IsWideNumeric() const;

  // For messages: "BIGINT", "DECIMAL(18,2)", "TIMESTAMP WITH TIME ZONE", the description of a
  // kOther type, "NULL" for the NULL constant's type, "" for the unknown type. Not an engine
  // spelling: render through the engine's own mapping.
  std::string ToString() const;

  bool operator==(const Type& other) const = default;

 private:
  TypeKind kind_ = TypeKind::kUnknown;
  int width_ = 0;
  int scale_ = 0;
  std::string description_;
};

// Whether comparing a value of type `left` with a value of type `right` can never raise an
// error: the same (known) type, or two narrow numeric types. Anything else makes an engine
// convert one side at run time (VARCHAR to INTEGER, DATE to TIMESTAMP, HUGEINT to DECIMAL), which
// fails on some values and not others.
bool ComparisonCannotFail(const Type& left, const Type& right);

// For test failure messages.
inline std::ostream& operator<<(std::ostream& out, const Type& type) {
  return out << (type.is_unknown() ? std::string("<unknown type>") : type.ToString());
}

}  // namespace parley::sql
