#include "rewrite/rewrite.h"

#include "policy/violation_builder.h"
#include "rewrite/error_guard.h"
#include "rewrite/once_per_group.h"
#include "rewrite/threshold.h"
#include "sql/parser.h"

namespace parley::rewrite {

void Rewrite(sql::BoundQuery& query, policy::Verdict& verdict, std::string_view source_text,
             const PrivacyRequest& privacy, std::optional<dp::NoisePlan>* noise) {
  bool protects_rows = verdict.rule_kind == policy::RuleKind::kAggregation ||
                       verdict.rule_kind == policy::RuleKind::kList;
  if (protects_rows) {
    const char* rule = verdict.rule_kind == policy::RuleKind::kAggregation ? "aggregation" : "list";
    for (Unguardable& refusal : GuardRowErrors(query)) {
      policy::Violation violation =
          policy::MakeViolation(rule, "operation_may_fail", policy::AttributeToAll(query), "",
                                refusal.clause, refusal.location, std::move(refusal.message));
      violation.position = sql::DescribePosition(source_text, violation.location);
      verdict.violations.push_back(std::move(violation));
    }
    if (!verdict.allowed()) return;
  }
  if (verdict.rule_kind == policy::RuleKind::kAggregation &&
      verdict.differential_privacy.has_value()) {
    std::optional<dp::NoisePlan> plan = BuildPrivatePlan(query, verdict, privacy, source_text);
    if (noise != nullptr) *noise = std::move(plan);
    if (noise == nullptr && verdict.allowed()) {
      // A caller that cannot noise must not run the plan: nothing un-noised may leave.
      verdict.violations.push_back(policy::MakeViolation(
          "aggregation", "dp_not_supported_here", policy::AttributeToAll(query), "", "", -1,
          "this front end cannot run queries over tables with differential privacy"));
    }
    return;
  }
  if (verdict.rule_kind == policy::RuleKind::kAggregation) {
    sql::BoundQuery inner = BuildThresholdedAggregate(query, verdict.thresholds);
    // Fan-out (issue 6 §3): the flat thresholded block counts each row of a deduplicated table
    // once per group — thresholds included, as they are distinct counts carried through — before
    // it becomes the outer query's derived table (whose render id, query.tables[0].render_id, is
    // the largest in the statement so far).
    CountEachRowOnce(inner, verdict.deduplicated_tables, query.tables[0].render_id + 1);
    AttachAggregate(query, std::move(inner));
  }
}

}  // namespace parley::rewrite
