// The rewrite step of the pipeline: what turns an allowed query into the one the engine runs.
// For rules that protect rows (aggregation, list) row-level errors are suppressed
// (error_guard.h); thresholds become HAVING conditions (threshold.h); aggregation rules count
// each row of a table once per output group, whatever the join's fan-out (once_per_group.h).
#pragma once

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::rewrite {

// `verdict` must be allowed (it carries the rule kind and the thresholds).
void Rewrite(sql::BoundQuery& query, const policy::Verdict& verdict);

}  // namespace parley::rewrite
