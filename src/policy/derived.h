// Derived tables (issue 16 §3; docs/rules.md "Derived tables"): the rule of a saved query result
// is computed from the rules of the tables the query read, and may afterwards only be tightened.
//
//   DeriveRule: what a result may carry forward. Every input must have a custom rule (an
//   aggregation or list result is refused: see the docs), and the derived custom rule is
//     - receivers: the intersection of the inputs' allowed_result_receivers (any member with
//       `receive` only when no input restricts them);
//     - free-form queries: by the members who may send them over every input (its listed
//       providers, and its owner);
//       templates: none in allowed_analyses — a template over a derived table runs once every
//       co-owner and its owner have approved it (derived_from.approvals, rule.h);
//     - disallowed output columns: every output column derived (data flow) from a disallowed
//       input column;
//     - thresholds: for each input threshold, the output columns derived from its identity column
//       carry it (the largest minimum where several inputs meet); an input threshold whose
//       identity reaches no output column is refused — the saved rows could no longer be counted
//       per person. Output-column overrides only ever raise the minimum: exemptions (0) and
//       overrides below the minimum are dropped;
//     - comparison controls: when an input has an allow-list, only the output columns derived
//       solely from allowed columns (of the inputs that have that allow-list) are allowed;
//       allowed_aggregate_expressions is columns_only when any input's is.
//   CheckTightens: whether a rule the owner sets later is at least as strict as the inherited one.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "sql/ir.h"

namespace parley::policy {

// `tables`: the catalog names of the tables `query` reads; `owners`: their owners (for a table
// that is itself derived, its co-owners are carried too, from its rule). Errors:
// FailedPrecondition naming the table and the reason when the result cannot be saved.
absl::StatusOr<Rule> DeriveRule(const sql::BoundQuery& query, const RuleProvider& rules,
                                const std::vector<std::string>& tables,
                                const std::map<std::string, std::string>& owners);

// Who must approve an analysis template over a saved result's table: its co-owners (the owners
// of its inputs, transitively) and `owner`, the member who saved it.
std::set<std::string> CoOwners(const DerivedFrom& origin, const std::string& owner);
// Those of them who have not approved template `template_id` (empty: it may run).
std::vector<std::string> PendingApprovals(const DerivedFrom& origin, const std::string& owner,
                                          const std::string& template_id);

// OK when `rule` allows nothing `inherited` does not; otherwise InvalidArgument naming what it
// loosens.
absl::Status CheckTightens(const CustomRule& inherited, const CustomRule& rule);

}  // namespace parley::policy
