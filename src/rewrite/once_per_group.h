// Fan-out does not weigh a row twice. In a join, a row of one table appears once for every row of
// the other tables it matches, so a plain SUM, AVG or COUNT over the joined rows weighs it by a
// multiplicity that another member controls: a runner who repeats a victim's join key k times in
// its own table, keeps every distinct count above the thresholds, and compares two sums reads the
// victim's value off their difference. Aggregation rules therefore count each row of a table at
// most once per output group (unless its owner opts out with "allow_fan_out": true).
//
// The pass rewrites one flat aggregation block (base tables and joins, WHERE, GROUP BY,
// aggregates in SELECT, HAVING and ORDER BY) into an equivalent block over a derived table of the
// joined rows. The derived table projects the group keys, the aggregate arguments, and for each
// set of deduplicated tables an aggregate reads, a flag that is true on the first joined row of
// each of their rows within its group:
//
//   SELECT g, sum(x) FROM v JOIN r ON … GROUP BY g
//   → SELECT d.g0, sum(CASE WHEN d.f0 THEN d.a0 END)
//     FROM (SELECT g AS g0, v.x AS a0,
//                  (row_number() OVER (PARTITION BY g, v.__parley_row_id) = 1) AS f0
//           FROM v JOIN r ON …) AS d
//     GROUP BY d.g0
//
// Only non-distinct aggregates of a deduplicated table's columns change. DISTINCT aggregates (the
// thresholds' COUNT(DISTINCT …) among them) already count a value once and read the joined rows as
// before; COUNT(*) counts joined rows (the checker refuses it over a join of a deduplicated
// table). A block that reads one table, or whose aggregates need no deduplication, is left exactly
// as it was, so the campaign query (COUNT(DISTINCT …) only) renders as before.
//
// Row identity is the hidden column every engine view carries (base/row_identity.h); the pass is
// run after the policy check, so nothing the user wrote can name it.
#pragma once

#include <set>

#include "sql/ir.h"

namespace parley::rewrite {

// `block` must be flat (BoundQuery::IsFlat); anything else is left unchanged. `deduplicated_tables`
// are indexes into `block.tables`. The new derived table gets the render id one above the largest
// in `block`; the caller keeps render ids unique if `block` is nested in a larger statement.
void CountEachRowOnce(sql::BoundQuery& block, const std::set<int>& deduplicated_tables);

}  // namespace parley::rewrite
