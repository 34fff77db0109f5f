#include "rewrite/rewrite.h"

#include "rewrite/error_guard.h"
#include "rewrite/threshold.h"

namespace parley::rewrite {

void Rewrite(sql::BoundQuery& query, const policy::Verdict& verdict) {
  if (verdict.rule_kind == policy::RuleKind::kAggregation ||
      verdict.rule_kind == policy::RuleKind::kList) {
    GuardRowErrors(query);
  }
  ApplyThresholds(query, verdict.thresholds);
}

}  // namespace parley::rewrite
