#include "policy/summary.h"

namespace parley::policy {
namespace {

// Keeps in `merged` only what `allowed` also has: a query across tables must satisfy each.
void Intersect(std::set<std::string>& merged, const std::set<std::string>& allowed) {
  std::erase_if(merged, [&](const std::string& name) { return !allowed.contains(name); });
}

}  // namespace

bool MaySendFreeFormQuery(const CustomRule& rule, const std::string& owner,
                          const std::string& runner) {
  // The owner of a saved result's table saved it, but the inputs' owners (its co-owners) wrote
  // its rule: unless they are all the runner, it sends free-form SQL over it only as a provider
  // they listed, like anyone else.
  bool owns = owner == runner;
  if (owns && rule.derived_from) {
    for (const std::string& co_owner : rule.derived_from->co_owners) owns &= co_owner == runner;
  }
  return owns || (rule.any_query && rule.allowed_analysis_providers.contains(runner));
}

PolicySummary Summarize(const std::string& member, const std::vector<TableRule>& tables) {
  PolicySummary summary;
  bool first_aggregation = true, first_list = true;
  for (const TableRule& table : tables) {
    if (table.rule == nullptr) continue;
    const Rule& rule = *table.rule;
    if (rule.kind == RuleKind::kAggregation) {
      if (first_aggregation) {
        summary.aggregation_scalar_functions = rule.aggregation.scalar_functions;
        summary.aggregation_join_operators = rule.aggregation.allowed_join_operators;
        first_aggregation = false;
      } else {
        Intersect(summary.aggregation_scalar_functions, rule.aggregation.scalar_functions);
        Intersect(summary.aggregation_join_operators, rule.aggregation.allowed_join_operators);
      }
    } else if (rule.kind == RuleKind::kList) {
      if (first_list) {
        summary.list_join_operators = rule.list.allowed_join_operators;
        first_list = false;
      } else {
        Intersect(summary.list_join_operators, rule.list.allowed_join_operators);
      }
    } else if (MaySendFreeFormQuery(rule.custom, table.owner, member)) {
      summary.free_form_custom_tables.push_back(table.table);
    }
  }
  return summary;
}

}  // namespace parley::policy
