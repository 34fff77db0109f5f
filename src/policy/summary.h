// What a member may do with the tables of a collaboration, before it asks: the rules of every
// table merged into one summary (`parley policy`). The checker decides each query; this module
// states the same rules in advance, and shares with the checker the one predicate both need
// (who may send free-form SQL to a custom table), so the summary cannot promise what the
// checker refuses.
//
//   policy::PolicySummary summary = policy::Summarize("retailer", {{"sales", "retailer", &rule}});
//
// Thread safety: pure functions.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "policy/rule.h"

namespace parley::policy {

// True when `runner` may read a table of `owner` under custom rule `rule` with a free-form
// query: the owner always may (of a saved result's table, only when it owns every input: the
// inputs' owners are its co-owners), and so may a listed provider when the rule allows any query.
bool MaySendFreeFormQuery(const CustomRule& rule, const std::string& owner,
                          const std::string& runner);

struct TableRule {
  std::string table;
  std::string owner;
  const Rule* rule = nullptr;  // nullptr: no rule yet; not owned
};

struct PolicySummary {
  // Merged across the tables of each rule kind, strictest winning: the scalar functions and join
  // operators every aggregation (or list) table allows.
  std::set<std::string> aggregation_scalar_functions;
  std::set<std::string> aggregation_join_operators;
  std::set<std::string> list_join_operators;
  // The custom tables `member` may send free-form queries to, in the order given.
  std::vector<std::string> free_form_custom_tables;
};

PolicySummary Summarize(const std::string& member, const std::vector<TableRule>& tables);

}  // namespace parley::policy
