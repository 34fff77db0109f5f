#include "rewrite/threshold.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sql/types.h"

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
  conjunction->type = sql::TypeKind::kBoolean;
  conjunction->args.push_back(std::move(left));
  conjunction->args.push_back(std::move(right));
  return conjunction;
}

// Rewrites the user's expressions over the inner block: a group key becomes a reference to its
// "g<i>" column, an aggregate to its "a<j>" column (added to the inner block the first time).
class Lifter {
 public:
  Lifter(sql::BoundQuery& inner) : inner_(inner) {}

  std::unique_ptr<sql::BoundExpr> Lift(std::unique_ptr<sql::BoundExpr> expr) {
    for (size_t i = 0; i < inner_.group_by.size(); ++i) {
      if (inner_.group_by[i]->SameAs(*expr)) {
        return Reference(absl::StrCat("g", i), inner_.group_by[i]->type, expr->location);
      }
    }
    if (expr->kind == sql::BoundExprKind::kAggregate) {
      for (size_t j = 0; j < aggregates_.size(); ++j) {
        if (aggregates_[j]->SameAs(*expr)) {
          return Reference(absl::StrCat("a", j), expr->type, expr->location);
        }
      }
      std::string name = absl::StrCat("a", aggregates_.size());
      aggregates_.push_back(expr.get());
      sql::Type type = expr->type;
      int location = expr->location;
      inner_.select.push_back(sql::BoundSelectItem{std::move(expr), name, location, false});
      return Reference(name, type, location);
    }
    for (auto& arg : expr->args) arg = Lift(std::move(arg));
    return expr;
  }

 private:
  static std::unique_ptr<sql::BoundExpr> Reference(std::string column, sql::Type type,
                                                   int location) {
    auto reference = Node(sql::BoundExprKind::kColumn, "");
    reference->table_index = 0;
    reference->column = std::move(column);
    reference->type = std::move(type);
    reference->location = location;
    return reference;
  }

  sql::BoundQuery& inner_;
  std::vector<const sql::BoundExpr*> aggregates_;
};

// The distinct FILTER conditions of the aggregates in `expr`, cloned into `filters`.
void CollectFilters(const sql::BoundExpr& expr,
                    std::vector<std::unique_ptr<sql::BoundExpr>>& filters) {
  if (const sql::BoundExpr* filter = expr.filter()) {
    bool seen = false;
    for (const auto& known : filters) seen |= known->SameAs(*filter);
    if (!seen) filters.push_back(filter->Clone());
  }
  for (const auto& arg : expr.args) CollectFilters(*arg, filters);
}

}  // namespace

sql::BoundQuery BuildThresholdedAggregate(sql::BoundQuery& query,
                                          const std::vector<policy::Threshold>& thresholds) {
  sql::BoundQuery inner;
  int next_render_id = 0;
  for (const sql::BoundTable& table : query.tables) {
    next_render_id = std::max(next_render_id, table.render_id + 1);
  }
  // An aggregate with FILTER (WHERE c) reads only the group's rows where c holds: each threshold
  // must hold for those rows too, as it would for the query with WHERE c. (nullptr: the group.)
  std::vector<std::unique_ptr<sql::BoundExpr>> filters;
  for (const sql::BoundSelectItem& item : query.select) CollectFilters(*item.expr, filters);
  if (query.having) CollectFilters(*query.having, filters);
  for (const sql::BoundOrderItem& order : query.order_by) CollectFilters(*order.expr, filters);
  filters.insert(filters.begin(), nullptr);
  inner.tables = std::move(query.tables);
  inner.from = std::move(query.from);
  inner.where = std::move(query.where);
  inner.group_by = std::move(query.group_by);
  for (size_t i = 0; i < inner.group_by.size(); ++i) {
    inner.select.push_back(sql::BoundSelectItem{inner.group_by[i]->Clone(), absl::StrCat("g", i),
                                                inner.group_by[i]->location, false});
  }

  Lifter lifter(inner);
  for (sql::BoundSelectItem& item : query.select) item.expr = lifter.Lift(std::move(item.expr));
  std::unique_ptr<sql::BoundExpr> having = std::move(query.having);
  if (having) having = lifter.Lift(std::move(having));
  for (sql::BoundOrderItem& order : query.order_by) {
    order.expr = lifter.Lift(std::move(order.expr));
  }

  std::map<std::pair<int, std::string>, int64_t> strictest;
  for (const policy::Threshold& threshold : thresholds) {
    int64_t& minimum = strictest[{threshold.table_index, threshold.column}];
    minimum = std::max(minimum, threshold.minimum);
  }
  for (const auto& filter : filters) {
    for (const auto& [key, minimum] : strictest) {
      auto column = Node(sql::BoundExprKind::kColumn, "");
      column->table_index = key.first;
      column->column = key.second;
      auto count = Node(sql::BoundExprKind::kAggregate, "count");
      count->distinct = true;
      count->type = sql::TypeKind::kBigint;
      count->args.push_back(std::move(column));
      if (filter) {
        count->args.push_back(filter->Clone());
        count->has_filter = true;
      }
      auto bound = Node(sql::BoundExprKind::kConstant, "");
      bound->constant = sql::Constant{sql::ConstantKind::kInteger, std::to_string(minimum)};
      bound->type = sql::TypeKind::kBigint;
      auto comparison = Node(sql::BoundExprKind::kBinaryOp, ">=");
      comparison->type = sql::TypeKind::kBoolean;
      comparison->args.push_back(std::move(count));
      comparison->args.push_back(std::move(bound));
      inner.having = And(std::move(inner.having), std::move(comparison));
    }
  }

  // The outer block reads the inner one as its only table.
  sql::BoundTable derived;
  derived.index = 0;
  derived.render_id = next_render_id;
  derived.alias = "thresholded";
  for (const sql::BoundSelectItem& item : inner.select) {
    derived.columns.push_back(sql::ColumnInfo{item.output_name, item.expr->type});
  }
  query.tables.clear();
  query.tables.push_back(std::move(derived));
  auto from = std::make_unique<sql::BoundFrom>();
  from->table_index = 0;
  query.from.clear();
  query.from.push_back(std::move(from));
  query.where = std::move(having);
  query.constructs.clear();
  return inner;
}

void AttachAggregate(sql::BoundQuery& outer, sql::BoundQuery inner) {
  // DuckDB's optimizer pushes the outer WHERE into the filter that applies the thresholds and
  // may evaluate it first, on groups the thresholds drop; filters are not pushed through a
  // LIMIT/OFFSET, so OFFSET 0 keeps the user's conditions above the thresholded groups.
  inner.offset = 0;
  outer.tables[0].columns.clear();
  for (const sql::BoundSelectItem& item : inner.select) {
    outer.tables[0].columns.push_back(sql::ColumnInfo{item.output_name, item.expr->type});
  }
  outer.tables[0].derived = std::make_shared<const sql::BoundQuery>(std::move(inner));
}

}  // namespace parley::rewrite
