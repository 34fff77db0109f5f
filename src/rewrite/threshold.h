// Thresholds are enforced by rewriting, not by trusting the query: each output constraint
// `COUNT DISTINCT(col) >= k` of a table becomes a HAVING condition on a hidden
// `count(DISTINCT col)` per output group, so groups below the threshold vanish. The count is over
// the rows after the joins, so duplicating a key in one's own table does not inflate it.
#pragma once

#include <vector>

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::rewrite {

// Adds one HAVING conjunct per distinct (table occurrence, column), with the largest minimum
// asked for it. A query without GROUP BY is one group, thresholded the same way.
void ApplyThresholds(sql::BoundQuery& query, const std::vector<policy::Threshold>& thresholds);

}  // namespace parley::rewrite
