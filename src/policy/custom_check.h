// The custom rule (DESIGN.md §4): approved analyses (templates) or any query by listed
// providers; disallowed output columns traced through CTEs, subqueries, aliases, expressions,
// window functions and set operations to the final projection; allowed result receivers.
// Internal to the checker; see checker.h for the contract.
#pragma once

#include <string_view>

#include "policy/checker.h"
#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

// `source_text` is the query as written, for positions named inside messages.
void CheckCustom(const sql::BoundQuery& query, const RuleProvider& rules,
                 const CheckContext& context, std::string_view source_text, Verdict& verdict);

}  // namespace parley::policy
