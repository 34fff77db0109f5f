#include "rewrite/rewrite.h"

#include "rewrite/error_guard.h"
#include "rewrite/once_per_group.h"
#include "rewrite/threshold.h"

namespace parley::rewrite {

void Rewrite(sql::BoundQuery& query, const policy::Verdict& verdict) {
  if (verdict.rule_kind == policy::RuleKind::kAggregation ||
      verdict.rule_kind == policy::RuleKind::kList) {
    GuardRowErrors(query);
  }
  ApplyThresholds(query, verdict.thresholds);
  // Last, so that the thresholds' distinct counts move into the deduplicated form with the rest.
  if (verdict.rule_kind == policy::RuleKind::kAggregation) {
    CountEachRowOnce(query, verdict.deduplicated_tables);
  }
}

}  // namespace parley::rewrite
