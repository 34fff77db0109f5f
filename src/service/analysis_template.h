// Analysis templates: parameterised SQL a member authors and table owners approve. A template is
// immutable and identified by the SHA-256 of its canonical content (SQL text and parameter
// declarations), so an approval names exactly one text: changing a single character makes a
// different template that nobody has approved.
//
// Parameters are written `:name` in the SQL and declared with a type and an optional default:
//
//   SELECT region, COUNT(*) FROM retail WHERE annual_spend >= :min_spend GROUP BY region
//   min_spend:number=1000
//
// Running a template supplies values; each is checked against its type and becomes a typed
// constant in the bound IR (PositionalSql turns `:name` into `$n` before parsing). Values are
// never spliced into SQL text.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sql/binder.h"

namespace parley::service {

enum class ParameterType { kInteger, kNumber, kText, kDate, kBoolean };
std::string ParameterTypeName(
    ParameterType type);  // "integer", "number", "text", "date", "boolean"

struct TemplateParameter {
  std::string name;  // [a-z_][a-z0-9_]{0,62}
  ParameterType type = ParameterType::kText;
  std::optional<std::string> default_value;  // checked against the type when declared
};

// "name:type" or "name:type=default". InvalidArgument naming the problem.
absl::StatusOr<TemplateParameter> ParseParameterSpec(std::string_view spec);

// The canonical JSON of the parameters (declaration order), as stored in the catalog, and back.
std::string ParametersJson(const std::vector<TemplateParameter>& parameters);
absl::StatusOr<std::vector<TemplateParameter>> ParametersFromJson(std::string_view json);

// SHA-256 (hex) of {"parameters": [...], "sql": "..."} in canonical JSON.
std::string TemplateId(std::string_view sql, const std::vector<TemplateParameter>& parameters);

// `sql` with each `:name` outside string literals, quoted identifiers and comments replaced by
// `$n` (n: the parameter's position, 1-based), padded to keep every byte offset the same.
// InvalidArgument for a `:name` that is not declared, or a declared parameter that is not used.
absl::StatusOr<std::string> PositionalSql(std::string_view sql,
                                          const std::vector<TemplateParameter>& parameters);

// Typed values for the binder, from the values given by name (defaults fill the rest).
// InvalidArgument for a missing value, an unknown name, or a value not of the declared type; the
// message names the parameter and its type but never repeats the value.
absl::StatusOr<std::vector<sql::ParameterValue>> ParameterValues(
    const std::vector<TemplateParameter>& parameters,
    const std::map<std::string, std::string>& values);

// A value of each parameter's type, to bind a template before anyone runs it (to learn which
// tables it reads and to reject text that does not bind).
std::vector<sql::ParameterValue> PlaceholderValues(
    const std::vector<TemplateParameter>& parameters);

}  // namespace parley::service
