// The rewrite step of the pipeline: what turns an allowed query into the one the engine runs.
// For rules that protect rows (aggregation, list) no operation may fail on the data
// (error_guard.h); aggregation queries are split so that thresholds filter groups in an inner
// block and the user's HAVING, ORDER BY and SELECT expressions run outside it (threshold.h); and
// that inner block counts each row of a table once per output group, whatever the join's
// fan-out (once_per_group.h).
#pragma once

#include <string_view>

#include "policy/verdict.h"
#include "sql/capabilities.h"
#include "sql/ir.h"

namespace parley::rewrite {

// `verdict` must be allowed (it carries the rule kind and the thresholds). `capabilities` are the
// engine's that will run the query (its dialect's; query::Compile passes them). When an operation
// that can fail on the data has no guard, a violation is added to `verdict` (positions described
// from `source_text`) and `query` must not run: check `verdict.allowed()` again.
void Rewrite(sql::BoundQuery& query, policy::Verdict& verdict,
             const sql::Capabilities& capabilities, std::string_view source_text = "");

}  // namespace parley::rewrite
