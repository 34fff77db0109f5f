// The aggregation rule (DESIGN.md §4): aggregates over thresholded groups. Internal to the
// checker; see checker.h for the contract.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/rule.h"
#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

// Appends the violations of `query` against the aggregation rules `rules` (one per table
// occurrence, same order as query.tables; nullptr entries were reported already) and, when the
// query is allowed, the thresholds the rewriter must enforce.
void CheckAggregation(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
                      const std::string& runner, std::string_view source_text, Verdict& verdict);

}  // namespace parley::policy
