#include "policy/summary.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::StatusOr<PolicyView> Service::Impl::Policy(const identity::Caller& caller,
                                                 const std::string& collaboration) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  identity::AbilitySet abilities = RoomOf(found).Find(actor)->abilities;
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(tables));
  PolicyView view;
  view.member = actor;
  view.abilities = abilities;
  std::vector<policy::TableRule> table_rules;
  for (const catalog::Table& table : tables) {
    TablePolicy entry;
    entry.table = table.name;
    entry.owner = table.owner;
    entry.columns = ViewOfTable(*connectors, table, caller).columns;
    const policy::Rule* rule = rules.RuleFor(table.name);
    if (rule != nullptr) entry.rule = *rule;
    table_rules.push_back({table.name, table.owner, rule});
    view.tables.push_back(std::move(entry));
  }
  policy::PolicySummary summary = policy::Summarize(actor, table_rules);
  view.aggregation_scalar_functions = std::move(summary.aggregation_scalar_functions);
  view.aggregation_join_operators = std::move(summary.aggregation_join_operators);
  view.list_join_operators = std::move(summary.list_join_operators);
  view.free_form_custom_tables = std::move(summary.free_form_custom_tables);
  if (abilities.Has(identity::Ability::kQuery)) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<TemplateView> templates, TemplateViews(collaboration));
    for (TemplateView& analysis : templates) {
      if (analysis.runnable()) view.runnable_templates.push_back(std::move(analysis));
    }
  }
  return view;
}

}  // namespace parley::service
