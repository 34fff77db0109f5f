// Runtime errors are an oracle: a query that fails only when some row matches a narrow filter
// (an integer overflow in a projected expression, a cast of a column that fails on one value)
// tells the runner that such a row exists — even when the group it belongs to is below the
// threshold and would have been suppressed. For rules that protect rows (aggregation, list),
// every expression that could fail on the data is therefore evaluated under DuckDB's TRY, which
// turns the error into NULL: the row then falls out of the filter or lands in a NULL group, and
// the outcome no longer depends on whether the failing row exists.
//
// Expressions that cannot fail on data stay as they are (so that filters still push down into
// Parquet scans): columns, constants, aggregates of columns, and comparisons, IN lists,
// BETWEEN, LIKE and IS NULL between operands of the same type family, combined with AND, OR
// and NOT. Arithmetic, casts, CASE and scalar functions are always guarded.
#pragma once

#include "sql/ir.h"

namespace parley::rewrite {

// Guards a flat query's SELECT items, WHERE and HAVING conjuncts, GROUP BY and ORDER BY items.
void GuardRowErrors(sql::BoundQuery& query);

}  // namespace parley::rewrite
