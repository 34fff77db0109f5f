// Binding: parsed tree (ast.h) + table schemas → bound IR (ir.h). Resolves table names and
// aliases, column references (qualified or not, case-insensitively, so quoting and case tricks
// land on the same column), output aliases and ordinals in GROUP BY / ORDER BY, and classifies
// functions as aggregate or scalar.
//
// Only a table's allowed columns exist for the binder: a column that the owner did not expose is
// reported as unknown, exactly like a column that does not exist, so its existence is not leaked.
//
// Errors (InvalidArgument, naming the position "line L, column C"): unknown table, unknown or
// ambiguous column, an unsupported expression, a bad ordinal. Constructs that are well-formed but
// which rules may forbid (subqueries, CTEs, window functions, SELECT *, LIMIT, ...) are not
// errors: they are listed in BoundQuery::constructs for the checker to judge.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sql/ast.h"
#include "sql/ir.h"
#include "sql/type.h"

namespace parley::sql {

// A value for a template parameter: a constant, cast to `cast_type` unless that is unknown.
// Values reach the IR as constant nodes, never as text spliced into the query.
struct ParameterValue {
  Constant constant;
  Type cast_type;
};

struct BindOptions {
  std::vector<ParameterValue> parameters;  // $1 is parameters[0]
};

absl::StatusOr<BoundQuery> Bind(const SelectStatement& statement, const SchemaProvider& tables,
                                std::string_view source_text, const BindOptions& options = {});

// Whether `name` (lower case) is an aggregate function name known to Parley.
bool IsAggregateFunction(std::string_view name);

// The type a CAST to a PostgreSQL type name means, as the parser spells the name ("int4",
// "numeric(10,2)"); nullopt when Parley does not support casting to it (or the DECIMAL
// modifiers are out of range).
std::optional<Type> CastTargetType(std::string_view pg_type_name);

}  // namespace parley::sql
