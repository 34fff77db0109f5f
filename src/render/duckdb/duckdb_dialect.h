// The DuckDB dialect: the SQL that engine/duckdb runs. DuckDB reads the standard shape
// (SqlWriter) as it is — CTEs, window functions, any number of joins per SELECT — so this dialect
// only spells what DuckDB names differently (EXTRACT as date_part, CEILING as ceil) and the error
// guard's conversions that yield NULL on failure as TRY_CAST (which, unlike TRY(), never takes
// DuckDB's row-by-row fallback; see rewrite/error_guard.h). It refuses nothing.
//
//   render::DuckDbDialect dialect;
//   PARLEY_ASSIGN_OR_RETURN(std::string sql, dialect.Render(rewritten));
//
// Thread safety: immutable; Render may be called from several threads at once.
#pragma once

#include <string>
#include <string_view>

#include "render/dialect.h"
#include "sql/ir.h"

namespace parley::render {

class DuckDbDialect : public Dialect {
 public:
  std::string_view name() const override { return "duckdb"; }
  // HUGEINT, DECIMAL of 18 digits in 64 bits and up to 38 in 128, TRY_CAST (DuckDB 1.4).
  const Capabilities& capabilities() const override;
  absl::StatusOr<std::string> Render(const sql::BoundQuery& query) const override;
};

// DuckDbDialect().Render(query), for tests and tools: the DuckDB dialect refuses nothing, so this
// cannot fail.
std::string RenderDuckDb(const sql::BoundQuery& query);

}  // namespace parley::render
