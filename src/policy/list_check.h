// The list rule (DESIGN.md §4): distinct rows of list columns for the overlap with the runner's
// table. Internal to the checker; see checker.h for the contract.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/rule.h"
#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

// Appends the violations of `query` against the list rules `rules` (one per table occurrence of
// query.tables, nullptr for occurrences that are not base tables).
void CheckList(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
               const std::string& runner, std::string_view source_text, Verdict& verdict);

}  // namespace parley::policy
