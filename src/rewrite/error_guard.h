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
//     decimal sums and products the engine would cap at 18 or 38 digits, negation and ABS;
//   - SUM and AVG of HUGEINT and wide DECIMAL columns add as DOUBLE;
//   - what has no form that cannot fail (date arithmetic, LN/SQRT/POWER/EXP of values outside
//     their domain) is wrapped in TRY on its own — the single operation, whose arguments contain
//     no AND, OR, CASE or COALESCE. TRY is never put around a boolean or short-circuit
//     expression: DuckDB 1.4.4 re-evaluates such an expression row by row after an error and
//     returns wrong values for *other* rows (NOTES.md), so one row of a suppressed group would
//     change the sums released for another group. A failing operation whose arguments are such
//     expressions is refused, with its position.
// Literals never need a guard: the binder converted them to the type they meet, or refused them.
//
// Expressions that read no column are left alone (the engine folds them once, whatever the
// data), and so are comparisons of values of one type — so that filters that cannot fail still
// push down into Parquet scans. JOIN … ON is left alone too: the checkers only admit equalities
// of join columns whose comparison cannot fail.
#pragma once

#include <string>
#include <vector>

#include "sql/ir.h"

namespace parley::rewrite {

// An operation that can fail on the data and has no guard: the query is refused.
struct Unguardable {
  std::string message;  // names the construct, never a value
  std::string clause;
  int location = -1;
};

// Guards a flat query's SELECT items, WHERE, GROUP BY, HAVING and ORDER BY in place. Returns the
// operations it could not guard (then the query must not run).
std::vector<Unguardable> GuardRowErrors(sql::BoundQuery& query);

}  // namespace parley::rewrite
