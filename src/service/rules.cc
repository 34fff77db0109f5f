#include <set>

#include "absl/strings/str_cat.h"
#include "policy/rule.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::StatusOr<CatalogRules> Service::Impl::LoadRules(const std::vector<catalog::Table>& tables) {
  CatalogRules rules;
  for (const catalog::Table& table : tables) {
    if (!table.rule_json) continue;
    auto rule = policy::ParseRule(*table.rule_json, table.allowed_columns);
    if (!rule.ok()) {
      return absl::InternalError(absl::StrCat("the stored rule of table '", table.name,
                                              "' no longer validates: ", rule.status().message()));
    }
    rules.rules_[table.name] = *std::move(rule);
  }
  return rules;
}

absl::Status Service::Impl::SetRule(const std::string& actor, const std::string& collaboration,
                                    const std::string& table, const std::string& rule_json) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto record, store->GetTable(collaboration, table));
  if (record.owner != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the owner of table '", table, "' ('",
                                                    record.owner, "') can set its rule"));
  }
  PARLEY_ASSIGN_OR_RETURN(policy::Rule rule, policy::ParseRule(rule_json, record.allowed_columns));
  // Names in a custom rule must be members: a misspelt provider or receiver would silently
  // grant nothing, or grant it to whoever joins later under that name.
  if (rule.kind == policy::RuleKind::kCustom) {
    auto check_members = [&](const std::set<std::string>& names, const char* key) -> absl::Status {
      for (const std::string& name : names) {
        bool member = false;
        for (const catalog::Member& m : found.members) member |= m.name == name;
        if (!member) {
          return absl::InvalidArgumentError(absl::StrCat("rule: ", key, ": '", name,
                                                         "' is not a member of collaboration '",
                                                         collaboration, "'"));
        }
      }
      return absl::OkStatus();
    };
    PARLEY_RETURN_IF_ERROR(
        check_members(rule.custom.allowed_analysis_providers, "allowed_analysis_providers"));
    PARLEY_RETURN_IF_ERROR(
        check_members(rule.custom.allowed_result_receivers, "allowed_result_receivers"));
  }
  return store->SetRule(collaboration, table, policy::CanonicalRuleJson(rule), actor);
}

}  // namespace parley::service
