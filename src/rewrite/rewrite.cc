#include "rewrite/rewrite.h"

#include <functional>
#include <vector>

#include "policy/violation_builder.h"
#include "rewrite/error_guard.h"
#include "rewrite/once_per_group.h"
#include "rewrite/support.h"
#include "rewrite/threshold.h"
#include "sql/parser.h"

namespace parley::rewrite {

void Rewrite(sql::BoundQuery& query, policy::Verdict& verdict,
             const sql::Capabilities& capabilities, std::string_view source_text,
             const PrivacyRequest& privacy, std::optional<dp::NoisePlan>* noise) {
  bool protects_rows = verdict.rule_kind == policy::RuleKind::kAggregation ||
                       verdict.rule_kind == policy::RuleKind::kList;
  if (protects_rows) {
    const char* rule = verdict.rule_kind == policy::RuleKind::kAggregation ? "aggregation" : "list";
    for (Unguardable& refusal : GuardRowErrors(query, capabilities)) {
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
    std::optional<dp::NoisePlan> plan =
        BuildPrivatePlan(query, verdict, privacy, source_text, capabilities);
    if (noise != nullptr) *noise = std::move(plan);
    if (noise == nullptr && verdict.allowed()) {
      // A caller that cannot noise must not run the plan: nothing un-noised may leave.
      verdict.violations.push_back(policy::MakeViolation(
          "aggregation", "dp_not_supported_here", policy::AttributeToAll(query), "", "", -1,
          "this front end cannot run queries over tables with differential privacy"));
    }
    return;
  }
  if (verdict.rule_kind == policy::RuleKind::kCustom && !verdict.thresholds.empty()) {
    // Thresholds on free SQL protect rows too: no operation may fail on the data, in any block
    // (the rows of every block run before the thresholds suppress any), JOIN … ON included.
    ForEachBlock(query, [&](sql::BoundQuery& block) {
      std::vector<Unguardable> refusals = GuardRowErrors(block, capabilities);
      std::function<void(sql::BoundFrom&)> on = [&](sql::BoundFrom& node) {
        if (node.left) on(*node.left);
        if (node.right) on(*node.right);
        if (!node.on) return;
        sql::BoundQuery condition;
        condition.where = std::move(node.on);
        for (Unguardable& refusal : GuardRowErrors(condition, capabilities)) {
          refusal.clause = sql::kClauseJoinOn;
          refusals.push_back(std::move(refusal));
        }
        node.on = std::move(condition.where);
      };
      for (auto& root : block.from) on(*root);
      // PARTITION BY and window ORDER BY expressions are evaluated on every row too.
      std::function<void(sql::BoundExpr&)> windows = [&](sql::BoundExpr& expr) {
        for (auto& arg : expr.args) windows(*arg);
        if (expr.kind != sql::BoundExprKind::kWindow) return;
        sql::BoundQuery keys;
        for (auto& part : expr.partition_by) {
          keys.select.push_back(sql::BoundSelectItem{std::move(part), "", -1, false});
        }
        for (sql::BoundOrderItem& order : expr.window_order) {
          keys.select.push_back(sql::BoundSelectItem{std::move(order.expr), "", -1, false});
        }
        for (Unguardable& refusal : GuardRowErrors(keys, capabilities))
          refusals.push_back(std::move(refusal));
        size_t i = 0;
        for (auto& part : expr.partition_by) part = std::move(keys.select[i++].expr);
        for (sql::BoundOrderItem& order : expr.window_order) {
          order.expr = std::move(keys.select[i++].expr);
        }
      };
      for (sql::BoundSelectItem& item : block.select) {
        if (item.expr) windows(*item.expr);
      }
      for (sql::BoundOrderItem& order : block.order_by) windows(*order.expr);
      for (Unguardable& refusal : refusals) {
        policy::Violation violation =
            policy::MakeViolation("custom", "operation_may_fail", policy::AttributeToAll(query), "",
                                  refusal.clause, refusal.location, std::move(refusal.message));
        violation.position = sql::DescribePosition(source_text, violation.location);
        verdict.violations.push_back(std::move(violation));
      }
    });
    if (!verdict.allowed()) return;
    ApplyIdentityThresholds(query, verdict.thresholds);
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
