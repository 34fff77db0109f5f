#include <set>

#include "absl/strings/str_cat.h"
#include "policy/derived.h"
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

// A saved result's table keeps the derived_from section Parley wrote when it was populated (the
// owner may leave it out; it is carried over), and its rule may only be tightened. No other
// table may claim to be derived.
namespace {

// The canonical form of `rule` without the co-owners' template approvals: what they approved.
std::string WithoutApprovals(policy::Rule rule) {
  if (rule.kind == policy::RuleKind::kCustom && rule.custom.derived_from) {
    rule.custom.derived_from->approvals.clear();
  }
  return policy::CanonicalRuleJson(rule);
}

}  // namespace

absl::Status Service::Impl::CheckDerivedRule(const catalog::Table& record, policy::Rule& rule) {
  std::optional<policy::DerivedFrom> existing;
  std::optional<policy::Rule> stored_rule;
  if (record.rule_json) {
    absl::StatusOr<policy::Rule> stored =
        policy::ParseRule(*record.rule_json, record.allowed_columns);
    if (stored.ok() && stored->kind == policy::RuleKind::kCustom) {
      existing = stored->custom.derived_from;
      stored_rule = *std::move(stored);
    }
  }
  bool claims = rule.kind == policy::RuleKind::kCustom && rule.custom.derived_from.has_value();
  if (!existing) {
    if (claims) {
      return absl::InvalidArgumentError(
          "rule: derived_from: is written by Parley when a query result is saved (--save-as); "
          "it cannot be set on another table");
    }
    return absl::OkStatus();
  }
  if (rule.kind != policy::RuleKind::kCustom) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rule: table '", record.name,
        "' holds a saved query result: its rule stays a custom rule, and may only be tightened"));
  }
  if (claims) {
    policy::Rule a, b;
    a.kind = b.kind = policy::RuleKind::kCustom;
    a.custom = *existing->inherited;
    b.custom = *rule.custom.derived_from->inherited;
    if (rule.custom.derived_from->tables != existing->tables ||
        rule.custom.derived_from->co_owners != existing->co_owners ||
        policy::CanonicalRuleJson(a) != policy::CanonicalRuleJson(b)) {
      return absl::InvalidArgumentError(
          "rule: derived_from: differs from the one Parley wrote when the result was saved; "
          "leave it out (it is kept) or copy it unchanged");
    }
  }
  // The co-owners' approvals are Parley's to write (template approve): the stored ones are kept
  // while the rule stays the same, and all of them lapse when it changes — each co-owner
  // approved a template under the rule then in force.
  rule.custom.derived_from = existing;
  if (WithoutApprovals(rule) != WithoutApprovals(*stored_rule)) {
    rule.custom.derived_from->approvals.clear();
  }
  return policy::CheckTightens(*existing->inherited, rule.custom);
}

absl::Status Service::Impl::SetRule(const identity::Caller& caller,
                                    const std::string& collaboration, const std::string& table,
                                    const std::string& rule_json, bool dry_run) {
  const std::string& actor = caller.member();
  // Read, checked against the stored rule, written: held so that an approval landing in between
  // cannot write the previous rule back (templates.cc SetApproval holds it too).
  auto store_lock = store.Lock();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  // Membership first: an outsider learns nothing of which tables exist.
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto record, store->GetTable(collaboration, table));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kSetRule,
                                 {.table = table, .table_owner = record.owner}));
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
  PARLEY_RETURN_IF_ERROR(CheckDerivedRule(record, rule));
  if (dry_run) return absl::OkStatus();
  return store->SetRule(collaboration, table, policy::CanonicalRuleJson(rule), actor);
}

}  // namespace parley::service
