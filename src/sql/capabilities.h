// What the rewrite passes must know about the engine a query will run on, as facts about types:
// its widest integer, the widths at which its exact decimal arithmetic caps results, and whether
// it has a conversion that yields NULL instead of failing (spelled by each dialect: TRY_CAST in
// DuckDB, accurateCastOrNull in ClickHouse). The error guard (rewrite/error_guard.h) chooses its
// conversions and arithmetic from these; its reasoning (which operations can fail, which guard
// each needs) is the same for every engine.
//
// Each dialect states its engine's values (render::Dialect::capabilities(); render/dialect.h
// names this type render::Capabilities) and query::Compile hands them to the rewrite. The type
// lives here, below both, because rewrite/ must not depend on render/ (src/layers.txt): the
// rewrite runs before rendering and knows no dialect.
// Thread safety: a plain value.
#pragma once

namespace parley::sql {

struct Capabilities {
  int widest_integer_bits = 128;  // the widest signed integer (DuckDB: HUGEINT)
  int decimal_narrow_width = 18;  // decimals up to this width compute in 64 bits
  int decimal_max_width = 38;     // the widest DECIMAL
  bool null_on_failed_conversion = true;
  // Whether a join can match rows on `a IS NOT DISTINCT FROM b` (NULL keys equal). DuckDB can;
  // ClickHouse 18.16 joins only by USING equal columns, so the differential-privacy rewrite builds
  // its unit counts without such a join there (rewrite/differential_privacy.h).
  bool null_safe_joins = true;
};

}  // namespace parley::sql
