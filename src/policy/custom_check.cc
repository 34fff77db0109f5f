#include "policy/custom_check.h"

namespace parley::policy {

void CheckCustom(const sql::BoundQuery& query, const RuleProvider& rules,
                 const CheckContext& context, Verdict& verdict) {
  Violation violation;
  violation.code = "custom_rules_unavailable";
  violation.rule = "custom";
  violation.message = "custom rules cannot be checked yet";
  verdict.violations.push_back(std::move(violation));
}

}  // namespace parley::policy
