#include "rewrite/rewrite.h"

#include "rewrite/error_guard.h"
#include "rewrite/threshold.h"

namespace parley::rewrite {

void Rewrite(sql::BoundQuery& query, const policy::Verdict& verdict) {
  if (verdict.rule_kind == "aggregation" || verdict.rule_kind == "list") GuardRowErrors(query);
  ApplyThresholds(query, verdict.thresholds);
}

}  // namespace parley::rewrite
