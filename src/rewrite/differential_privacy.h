// Differential privacy in the rewrite: a query over a table whose rule carries
// differential_privacy runs as a contribution-bounded plan built from the IR, whose exact
// per-group aggregates the service then noises (dp/noise.h) — nothing un-noised leaves it.
//
//   rows:     SELECT <group keys> k0…, <unit> u, <summed columns> v0…,
//                    row_number() OVER (PARTITION BY <private row id>, k…) = 1 AS f  -- joins only
//                    dense_rank() OVER (PARTITION BY u ORDER BY k…) AS r,           -- GROUP BY
//                    only count(DISTINCT <other table's column>) OVER (PARTITION BY k…) AS c0…
//             FROM <the query's joins> WHERE <the query's WHERE> AND u IS NOT NULL
//   per unit: SELECT k…, u, count(*) n, coalesce(sum(v), 0) s…, count(v) m…, min(c) c…
//             FROM rows WHERE r <= max_groups_per_unit GROUP BY k…, u
//   groups:   SELECT k… g…, count(*) units, sum(least(n, R)) rows,
//                    sum(greatest(least(s, R·max), R·min)) sum…, sum(least(m, R)) count…
//             FROM per_unit GROUP BY k… HAVING min(c0) >= <other table's threshold> …
//
// So after the joins each privacy unit reaches at most max_groups_per_unit groups (its first in
// the order of the group keys), adds 1 to a group's unit count, at most R = max_rows_per_unit to
// its row count, and a sum clamped to R times the column's declared bounds; a row of the private
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
std::optional<dp::NoisePlan> BuildPrivatePlan(sql::BoundQuery& query, policy::Verdict& verdict,
                                              const PrivacyRequest& request,
                                              std::string_view source_text);

}  // namespace parley::rewrite
