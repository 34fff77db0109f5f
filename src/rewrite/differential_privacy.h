// Differential privacy in the rewrite: a query over a table whose rule carries
// differential_privacy runs as a contribution-bounded plan built from the IR, whose exact
// per-group aggregates the service then noises (dp/noise.h) — nothing un-noised leaves it.
//
//   rows:     SELECT <group keys> k0…, <unit> u, <summed columns> v0…,
//                    row_number() OVER (PARTITION BY <private row id>, k…) = 1 AS f,  -- joins
//                    row_number() OVER (PARTITION BY k…, <other table's column> x) = 1
//                      AND x IS NOT NULL AS c0…           -- the first row of each (group, x)
//             FROM <the query's joins> WHERE <the query's WHERE> AND u IS NOT NULL
//   per unit: SELECT k…, u, count(*) n, coalesce(sum(CASE WHEN f THEN v END), 0) s…,
//                    count(CASE WHEN f THEN v END) m…, count(CASE WHEN c0 THEN 1 END) c0…
//             FROM rows GROUP BY k…, u
//   ranked:   SELECT *, row_number() OVER (PARTITION BY u ORDER BY k…) r FROM per_unit
//   groups:   SELECT k… g…, count(kept(1)) units, sum(kept(least(n, R))) rows,
//                    sum(kept(greatest(least(s, R·max), R·min))) sum…, sum(kept(least(m, R)))
//                    count…    -- kept(x): CASE WHEN r <= max_groups_per_unit THEN x END
//             FROM ranked GROUP BY k… HAVING sum(c0) >= <other table's threshold> …
//             ORDER BY k… ASC NULLS LAST
//
// The groups come in the order of their keys on every engine: the service draws the noise row
// by row, so the same draws give the same answer whichever engine ran the plan.
// A grouped query that selects only unit counts (the common case) skips the per-unit grouping:
// the joined rows go into a CTE, every group gets an ordinal o in the order of its keys and its
// other tables' distinct counts, each unit's first group is min(o) over its rows (a hash
// aggregate, no sort; for K > 1 its distinct (unit, o) pairs are ranked), and the groups count
// the units that chose them (see CountUnitsPerGroup in the .cc). That plan joins the rows to
// their groups on IS NOT DISTINCT FROM the keys; on an engine without such joins
// (Capabilities::null_safe_joins false: ClickHouse 18.16) the per-unit plan above counts the
// same units.
//
// So after the joins each privacy unit reaches at most max_groups_per_unit groups (its first in
// the order of the group keys, chosen among all its groups before any threshold, so the choice
// depends on that unit's rows alone), adds 1 to a group's unit count, at most R = max_rows_per_unit
// to its row count, and a sum clamped to R times the column's declared bounds; a row of the private
// table that matches several rows of other tables is counted once per group (f). Those bounds are
// the sensitivities the noise is scaled to (NoisePlan). The private table's own output constraint
// applies to the noisy unit count; other tables' thresholds apply as before, on exact counts.
//
// Supported: group keys, COUNT(*), COUNT(DISTINCT <unit>), SUM and AVG of a column of the private
// table with declared bounds. Anything else (other aggregates, expressions over aggregates,
// HAVING, ORDER BY) is refused with a violation naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dp/noise.h"
#include "policy/verdict.h"
#include "sql/capabilities.h"
#include "sql/ir.h"

namespace parley::rewrite {

// What the query may spend: ε (millionths) and δ (10^-15). Zero ε: the collaboration has no
// privacy budget, and a query over a private table is refused.
struct PrivacyRequest {
  int64_t epsilon = 0;
  int64_t delta = 0;
};

// Rewrites `query` (flat, allowed, with verdict.differential_privacy set) into the bounded plan
// and returns its noise plan with scales set; or adds violations to `verdict` (positions from
// `source_text`) and returns nullopt, leaving `query` unusable.
// `capabilities` choose between equivalent plan shapes the engine can run.
std::optional<dp::NoisePlan> BuildPrivatePlan(sql::BoundQuery& query, policy::Verdict& verdict,
                                              const PrivacyRequest& request,
                                              std::string_view source_text,
                                              const sql::Capabilities& capabilities = {});

}  // namespace parley::rewrite
