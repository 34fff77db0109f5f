// Thresholds are enforced by rewriting, not by trusting the query, and nothing the user wrote
// above the grouping is evaluated on a group that a threshold suppresses. An aggregation query
// becomes two blocks:
//
//   SELECT <the user's SELECT items over inner columns>
//   FROM (SELECT <group keys> AS g0…, <every aggregate the query uses, once> AS a0…
//         FROM … WHERE … GROUP BY …
//         HAVING count(DISTINCT t.col) >= k AND …           -- thresholds only
//         OFFSET 0)                                          -- no filter pushed below it
//   WHERE <the user's HAVING over inner columns>
//   ORDER BY <the user's ORDER BY over inner columns>
//
// Each output constraint `COUNT DISTINCT(col) >= k` of a table is a condition on a hidden
// `count(DISTINCT col)` per group of the inner block, counted over the rows after the joins. The
// user's HAVING, ORDER BY and SELECT expressions only ever see groups that passed every
// threshold, so whether they fail, or what they compute, cannot depend on a suppressed group.
#pragma once

#include <vector>

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::rewrite {

// Moves `query`'s FROM, WHERE and GROUP BY and every aggregate it uses into the returned flat
// block, whose SELECT lists the group keys ("g0", "g1", …) then the aggregates ("a0", …) and
// whose HAVING holds one conjunct per distinct (table occurrence, column) with the largest
// minimum asked for it (none without thresholds). `query` becomes the outer block: its SELECT,
// WHERE (the user's HAVING) and ORDER BY reference the inner block's columns through its only
// table, whose `derived` stays empty until AttachAggregate. A query without GROUP BY is one
// group, thresholded the same way. `query` must be flat and have passed the aggregation check.
sql::BoundQuery BuildThresholdedAggregate(sql::BoundQuery& query,
                                          const std::vector<policy::Threshold>& thresholds);

// Plugs the (possibly further rewritten) inner block into the outer one, behind OFFSET 0: DuckDB
// 1.4 pushes an outer filter into the threshold filter (and may run it first) unless a LIMIT or
// OFFSET stands between them.
void AttachAggregate(sql::BoundQuery& outer, sql::BoundQuery inner);

}  // namespace parley::rewrite
