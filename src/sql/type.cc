#include "sql/type.h"

#include "absl/strings/str_cat.h"

namespace parley::sql {

Type::Type(TypeKind kind) {
  if (kind != TypeKind::kDecimal && kind != TypeKind::kOther) kind_ = kind;
}

Type Type::Decimal(int width, int scale) {
  Type type;
  if (width < 1 || width > 38 || scale < 0 || scale > width) return type;
  type.kind_ = TypeKind::kDecimal;
  type.width_ = width;
  type.scale_ = scale;
  return type;
}

Type Type::Other(std::string description) {
  Type type;
  if (description.empty()) return type;
  type.kind_ = TypeKind::kOther;
  type.description_ = std::move(description);
  return type;
}

bool Type::IsInteger() const {
  switch (kind_) {
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kHugeint:
      return true;
    default:
      return IsUnsigned();
  }
}

bool Type::IsUnsigned() const {
  switch (kind_) {
    case TypeKind::kUtinyint:
    case TypeKind::kUsmallint:
    case TypeKind::kUinteger:
    case TypeKind::kUbigint:
    case TypeKind::kUhugeint:
      return true;
    default:
      return false;
  }
}

bool Type::IsOpaque() const {
  switch (kind_) {
    case TypeKind::kTime:
    case TypeKind::kTimestampTz:
    case TypeKind::kBlob:
    case TypeKind::kUuid:
    case TypeKind::kOther:
      return true;
    default:
      return false;
  }
}

bool Type::IsNarrowNumeric() const {
  if (kind_ == TypeKind::kDecimal) return width_ <= 18;
  if (kind_ == TypeKind::kHugeint || kind_ == TypeKind::kUhugeint) return false;
  return IsInteger() || IsFloating();
}

bool Type::IsWideNumeric() const {
  if (kind_ == TypeKind::kDecimal) return width_ > 18;
  return kind_ == TypeKind::kHugeint || kind_ == TypeKind::kUhugeint;
}

std::string Type::ToString() const {
  switch (kind_) {
    case TypeKind::kUnknown:
      return "";
    case TypeKind::kNull:
      return "NULL";
    case TypeKind::kBoolean:
      return "BOOLEAN";
    case TypeKind::kTinyint:
      return "TINYINT";
    case TypeKind::kSmallint:
      return "SMALLINT";
    case TypeKind::kInteger:
      return "INTEGER";
    case TypeKind::kBigint:
      return "BIGINT";
    case TypeKind::kHugeint:
      return "HUGEINT";
    case TypeKind::kUtinyint:
      return "UTINYINT";
    case TypeKind::kUsmallint:
      return "USMALLINT";
    case TypeKind::kUinteger:
      return "UINTEGER";
    case TypeKind::kUbigint:
      return "UBIGINT";
    case TypeKind::kUhugeint:
      return "UHUGEINT";
    case TypeKind::kFloat:
      return "FLOAT";
    case TypeKind::kDouble:
      return "DOUBLE";
    case TypeKind::kDecimal:
      return absl::StrCat("DECIMAL(", width_, ",", scale_, ")");
    case TypeKind::kVarchar:
      return "VARCHAR";
    case TypeKind::kDate:
      return "DATE";
    case TypeKind::kTime:
      return "TIME";
    case TypeKind::kTimestamp:
      return "TIMESTAMP";
    case TypeKind::kTimestampTz:
      return "TIMESTAMP WITH TIME ZONE";
    case TypeKind::kInterval:
      return "INTERVAL";
    case TypeKind::kBlob:
      return "BLOB";
    case TypeKind::kUuid:
      return "UUID";
    case TypeKind::kOther:
      return description_;
  }
  return "";
}

bool ComparisonCannotFail(const Type& left, const Type& right) {
  if (left.is_unknown() || right.is_unknown()) return false;
  if (left == right) return true;
  return left.IsNarrowNumeric() && right.IsNarrowNumeric();
}

}  // namespace parley::sql
