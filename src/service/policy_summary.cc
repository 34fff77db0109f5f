#include "policy/summary.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::StatusOr<PolicyView> Service::Impl::Policy(const std::string& actor,
                                                 const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_ASSIGN_OR_RETURN(catalog::Member member, ActiveMember(found, actor));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(tables));
  PolicyView view;
  view.member = actor;
  view.can_query = member.can_query;
  view.can_receive = member.can_receive;
  std::vector<policy::TableRule> table_rules;
  for (const catalog::Table& table : tables) {
    TablePolicy entry;
    entry.table = table.name;
    entry.owner = table.owner;
    entry.columns = ViewOfTable(*connectors, table, actor).columns;
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
  if (member.can_query) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<TemplateView> templates, TemplateViews(collaboration));
    for (TemplateView& analysis : templates) {
      if (analysis.runnable()) view.runnable_templates.push_back(std::move(analysis));
    }
  }
  return view;
}

}  // namespace parley::service
