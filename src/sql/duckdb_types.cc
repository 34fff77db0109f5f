#include "sql/duckdb_types.h"

#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace parley::sql {
namespace {

// Debian's Abseil has its own string_view type; this works on std::string_view.
std::string_view Strip(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool ReadInt(std::string_view text, int* value) {
  text = Strip(text);
  return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), value);
}

// DuckDB's names for the kinds Parley knows, canonical spelling first (DuckDbTypeName prints
// the first name of a kind).
constexpr std::pair<std::string_view, TypeKind> kNames[] = {
    {"NULL", TypeKind::kNull},
    {"BOOLEAN", TypeKind::kBoolean},
    {"BOOL", TypeKind::kBoolean},
    {"LOGICAL", TypeKind::kBoolean},
    {"TINYINT", TypeKind::kTinyint},
    {"INT1", TypeKind::kTinyint},
    {"SMALLINT", TypeKind::kSmallint},
    {"INT2", TypeKind::kSmallint},
    {"SHORT", TypeKind::kSmallint},
    {"INTEGER", TypeKind::kInteger},
    {"INT", TypeKind::kInteger},
    {"INT4", TypeKind::kInteger},
    {"SIGNED", TypeKind::kInteger},
    {"BIGINT", TypeKind::kBigint},
    {"INT8", TypeKind::kBigint},
    {"LONG", TypeKind::kBigint},
    {"HUGEINT", TypeKind::kHugeint},
    {"INT128", TypeKind::kHugeint},
    {"UTINYINT", TypeKind::kUtinyint},
    {"USMALLINT", TypeKind::kUsmallint},
    {"UINTEGER", TypeKind::kUinteger},
    {"UBIGINT", TypeKind::kUbigint},
    {"UHUGEINT", TypeKind::kUhugeint},
    {"FLOAT", TypeKind::kFloat},
    {"REAL", TypeKind::kFloat},
    {"FLOAT4", TypeKind::kFloat},
    {"DOUBLE", TypeKind::kDouble},
    {"FLOAT8", TypeKind::kDouble},
    {"VARCHAR", TypeKind::kVarchar},
    {"TEXT", TypeKind::kVarchar},
    {"STRING", TypeKind::kVarchar},
    {"CHAR", TypeKind::kVarchar},
    {"BPCHAR", TypeKind::kVarchar},
    {"DATE", TypeKind::kDate},
    {"TIME", TypeKind::kTime},
    {"TIMESTAMP", TypeKind::kTimestamp},
    {"DATETIME", TypeKind::kTimestamp},
    {"TIMESTAMP WITH TIME ZONE", TypeKind::kTimestampTz},
    {"TIMESTAMPTZ", TypeKind::kTimestampTz},
    {"INTERVAL", TypeKind::kInterval},
    {"BLOB", TypeKind::kBlob},
    {"BYTEA", TypeKind::kBlob},
    {"BINARY", TypeKind::kBlob},
    {"VARBINARY", TypeKind::kBlob},
    {"UUID", TypeKind::kUuid},
};

// DECIMAL / NUMERIC with or without (width[,scale]). Returns false when `upper` is not such a
// name; `type` stays unknown when it is one with modifiers DuckDB refuses.
bool ReadDecimal(const std::string& upper, Type& type) {
  if (upper == "DECIMAL" || upper == "NUMERIC") {
    type = Type::Decimal(18, 3);
    return true;
  }
  std::string_view text = upper;
  if (text.substr(0, 8) != "DECIMAL(" && text.substr(0, 8) != "NUMERIC(") return false;
  if (text.back() != ')') return true;
  std::string_view inside = text.substr(8, text.size() - 9);
  size_t comma = inside.find(',');
  int width = 0, scale = 0;
  if (!ReadInt(inside.substr(0, comma), &width)) return true;
  if (comma != std::string_view::npos && !ReadInt(inside.substr(comma + 1), &scale)) {
    return true;
  }
  type = Type::Decimal(width, scale);
  return true;
}

}  // namespace

absl::StatusOr<Type> ParseDuckDbTypeName(std::string_view name) {
  std::string_view stripped = Strip(name);
  if (stripped.empty()) return absl::InvalidArgumentError("a column type is empty");
  std::string upper(stripped);
  absl::AsciiStrToUpper(&upper);
  for (const auto& [known, kind] : kNames) {
    if (upper == known) return Type(kind);
  }
  Type decimal;
  if (ReadDecimal(upper, decimal)) {
    if (decimal.is_unknown()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", std::string(stripped),
                       "' is not a valid DECIMAL type (width 1 to 38, scale 0 to ", "the width)"));
    }
    return decimal;
  }
  return Type::Other(std::string(stripped));
}

Type TypeFromDuckDbName(std::string_view name) {
  absl::StatusOr<Type> type = ParseDuckDbTypeName(name);
  if (type.ok()) return *type;
  std::string_view stripped = Strip(name);
  return stripped.empty() ? Type() : Type::Other(std::string(stripped));
}

std::string DuckDbTypeName(const Type& type) {
  switch (type.kind()) {
    case TypeKind::kUnknown:
      return "";
    case TypeKind::kDecimal:
      return absl::StrCat("DECIMAL(", type.width(), ",", type.scale(), ")");
    case TypeKind::kOther:
      return type.description();
    default:
      break;
  }
  for (const auto& [known, kind] : kNames) {
    if (kind == type.kind()) return std::string(known);
  }
  return "";
}

}  // namespace parley::sql
