// Runtime errors are an oracle: a query that fails only when some row exists — a row of a group
// the threshold suppresses, a row of another member's that only a crafted row of the runner's
// joins — tells the runner that the row exists. For the rules that protect rows (aggregation,
// list), no operation of a query may fail on the data.
//
// The guards are derived from the types in the bound IR (sql/types.h), one per operation that
// can fail, never from a list of known-bad shapes:
//   - every conversion of a value to another type is made explicit: CAST when it cannot fail
//     (INTEGER to BIGINT), TRY_CAST when it can (text to a number, DATE to TIMESTAMP, BIGINT to
//     a DECIMAL too narrow for it) — TRY_CAST yields NULL for that value alone;
//   - integer arithmetic is computed in a type wide enough for any result of its operand types
//     (INTEGER + INTEGER as BIGINT, BIGINT * BIGINT as HUGEINT, beyond that DOUBLE); so are
//     decimal sums and products the engine would cap at 18 or 38 digits, negation and ABS
//     (the widths and the widest integer are the engine's: sql::Capabilities, from its dialect);
//   - SUM and AVG of HUGEINT and wide DECIMAL columns add as DOUBLE;
//   - operations defined on part of their domain are computed only there, under a CASE whose
//     WHEN states the domain (DuckDB evaluates THEN only for the rows whose WHEN holds):
//     LN/LOG of positive values, SQRT of non-negative ones, DATE ± days when the resulting day
//     number stays in DATE's range (computed as BIGINT from DATE - DATE, which cannot fail);
//   - what has no such form (TIMESTAMP ± INTERVAL, functions Parley does not know) is refused
//     at check time, naming the construct and its position.
// Parley never relies on DuckDB's TRY: in DuckDB 1.4.4, TRY around an expression that fails on
// one row re-evaluates the vector row by row and returns wrong values for *other* rows — around
// AND/OR (NOTES.md) and COALESCE, and depending on what ran earlier in the same session — so
// one row of a suppressed group would change the sums released for another group.
// Literals never need a guard: the binder converted them to the type they meet, or refused them.
//
// Expressions that read no column are left alone (the engine folds them once, whatever the
// data), and so are comparisons of values of one type — so that filters that cannot fail still
// push down into Parquet scans. JOIN … ON is left alone too: the checkers only admit equalities
// of join columns whose comparison cannot fail.
#pragma once

#include <string>
#include <vector>

#include "sql/capabilities.h"
#include "sql/ir.h"

namespace parley::rewrite {

// An operation that can fail on the data and has no guard: the query is refused.
struct Unguardable {
  std::string message;  // names the construct, never a value
  std::string clause;
  int location = -1;
};

// Guards a flat query's SELECT items, WHERE, GROUP BY, HAVING and ORDER BY in place, for an engine
// with `capabilities` (its dialect's: render::Dialect::capabilities()). Returns the operations it
// could not guard (then the query must not run): with an engine that has no NULL-on-failure
// conversion, every conversion that can fail is one of them.
std::vector<Unguardable> GuardRowErrors(sql::BoundQuery& query,
                                        const sql::Capabilities& capabilities);

}  // namespace parley::rewrite
