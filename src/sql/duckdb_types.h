// The one mapping between DuckDB's type names and Parley's own types (sql/type.h).
//
// Why it is one place: the IR, the checks and the rewrite passes reason about `sql::Type` only;
// DuckDB's spelling enters where DuckDB reports a column type (the catalog pins what DESCRIBE
// printed) and leaves where SQL is rendered for DuckDB. A second engine gets a mapping of its
// own beside its renderer; nothing else parses or prints engine type names. (It lives in src/sql
// until the DuckDB dialect has a folder of its own under src/render.)
//
// Example:
//   TypeFromDuckDbName("DECIMAL(18,2)") == Type::Decimal(18, 2);
//   TypeFromDuckDbName("VARCHAR[]") == Type::Other("VARCHAR[]");   // opaque, kept as written
//   DuckDbTypeName(Type(TypeKind::kTimestampTz)) == "TIMESTAMP WITH TIME ZONE";
//   ParseDuckDbTypeName("DECIMAL(40,2)") -> InvalidArgument
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "sql/type.h"

namespace parley::sql {

// The type DuckDB means by `name`, case-insensitively, with DuckDB's aliases (INT4, REAL, TEXT,
// NUMERIC, ...; DECIMAL without modifiers is DECIMAL(18,3)). A name Parley has no kind for (a
// list, a struct, an enum, TIMESTAMP_NS, a malformed DECIMAL) becomes Type::Other(name as
// written, without surrounding blanks); "" is the unknown type. Never fails: a pinned catalog
// column of any type stays usable as an opaque value.
Type TypeFromDuckDbName(std::string_view name);

// Like TypeFromDuckDbName, but InvalidArgument for an empty name and for a DECIMAL whose width
// or scale DuckDB does not accept (width 1 to 38, scale at most the width).
absl::StatusOr<Type> ParseDuckDbTypeName(std::string_view name);

// DuckDB's canonical spelling of `type`, as rendered in CAST(... AS <name>): "BIGINT",
// "DECIMAL(18,2)", "TIMESTAMP WITH TIME ZONE"; a kOther type's description; "NULL" for the NULL
// constant's type; "" for the unknown type (which is never rendered).
std::string DuckDbTypeName(const Type& type);

}  // namespace parley::sql
