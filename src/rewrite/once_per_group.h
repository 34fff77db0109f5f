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
//   → SELECT d.k0, sum(CASE WHEN d.f0 THEN d.v0 END)
//     FROM (SELECT g AS k0,
//                  (row_number() OVER (PARTITION BY g, v.__parley_row_id) = 1) AS f0, v.x AS v0
//           FROM v JOIN r ON …) AS d
//     GROUP BY d.k0
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
// are indexes into `block.tables`. The block keeps its output columns (names, order, values), so a
// query built around it (an outer block reading them by name) needs no change. The new derived
// table is rendered "t<render_id>"; by default one above the largest render id in `block`, which
// a caller nesting `block` in a larger statement replaces by the statement's next free id.
void CountEachRowOnce(sql::BoundQuery& block, const std::set<int>& deduplicated_tables,
                      int render_id = -1);

}  // namespace parley::rewrite
