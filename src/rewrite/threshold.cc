#include "rewrite/threshold.h"

#include <map>
#include <utility>

namespace parley::rewrite {
namespace {

std::unique_ptr<sql::BoundExpr> Node(sql::BoundExprKind kind, std::string name) {
  auto expr = std::make_unique<sql::BoundExpr>();
  expr->kind = kind;
  expr->name = std::move(name);
  return expr;
}

std::unique_ptr<sql::BoundExpr> And(std::unique_ptr<sql::BoundExpr> left,
                                    std::unique_ptr<sql::BoundExpr> right) {
  if (!left) return right;
  auto conjunction = Node(sql::BoundExprKind::kBinaryOp, "AND");
  conjunction->args.push_back(std::move(left));
  conjunction->args.push_back(std::move(right));
  return conjunction;
}

}  // namespace

void ApplyThresholds(sql::BoundQuery& query, const std::vector<policy::Threshold>& thresholds) {
  std::map<std::pair<int, std::string>, int64_t> strictest;
  for (const policy::Threshold& threshold : thresholds) {
    int64_t& minimum = strictest[{threshold.table_index, threshold.column}];
    minimum = std::max(minimum, threshold.minimum);
  }
  for (const auto& [key, minimum] : strictest) {
    auto column = Node(sql::BoundExprKind::kColumn, "");
    column->table_index = key.first;
    column->column = key.second;
    auto count = Node(sql::BoundExprKind::kAggregate, "count");
    count->distinct = true;
    count->args.push_back(std::move(column));
    auto bound = Node(sql::BoundExprKind::kConstant, "");
    bound->constant = sql::Constant{sql::ConstantKind::kInteger, std::to_string(minimum)};
    auto comparison = Node(sql::BoundExprKind::kBinaryOp, ">=");
    comparison->args.push_back(std::move(count));
    comparison->args.push_back(std::move(bound));
    query.having = And(std::move(query.having), std::move(comparison));
  }
}

}  // namespace parley::rewrite
