#include "sql/ir.h"

#include <cctype>
#include <functional>
#include <string>

namespace parley::sql {

std::unique_ptr<BoundExpr> BoundExpr::Clone() const {
  auto copy = std::make_unique<BoundExpr>();
  copy->kind = kind;
  copy->location = location;
  copy->table_index = table_index;
  copy->outer_depth = outer_depth;
  copy->column = column;
  copy->type = type;
  copy->constant = constant;
  copy->name = name;
  copy->cast_type = cast_type;
  copy->what = what;
  copy->distinct = distinct;
  copy->star_argument = star_argument;
  copy->negated = negated;
  copy->case_has_operand = case_has_operand;
  copy->case_has_else = case_has_else;
  copy->has_filter = has_filter;
  copy->output_index = output_index;
  copy->subquery = subquery;  // bound queries are immutable once bound: shared
  for (const auto& arg : args) copy->args.push_back(arg->Clone());
  for (const auto& part : partition_by) copy->partition_by.push_back(part->Clone());
  for (const BoundOrderItem& order : window_order) {
    copy->window_order.push_back(
        BoundOrderItem{order.expr->Clone(), order.descending, order.nulls_first, order.location});
  }
  return copy;
}

namespace {
bool SameList(const std::vector<std::unique_ptr<BoundExpr>>& a,
              const std::vector<std::unique_ptr<BoundExpr>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i]->SameAs(*b[i])) return false;
  }
  return true;
}
}  // namespace

bool BoundExpr::SameAs(const BoundExpr& other) const {
  if (kind != other.kind || table_index != other.table_index || outer_depth != other.outer_depth ||
      column != other.column || constant.kind != other.constant.kind ||
      constant.text != other.constant.text || name != other.name || cast_type != other.cast_type ||
      distinct != other.distinct || star_argument != other.star_argument ||
      negated != other.negated || case_has_operand != other.case_has_operand ||
      case_has_else != other.case_has_else || has_filter != other.has_filter ||
      output_index != other.output_index || subquery != other.subquery ||
      window_order.size() != other.window_order.size()) {
    return false;
  }
  for (size_t i = 0; i < window_order.size(); ++i) {
    if (window_order[i].descending != other.window_order[i].descending ||
        window_order[i].nulls_first != other.window_order[i].nulls_first ||
        !window_order[i].expr->SameAs(*other.window_order[i].expr)) {
      return false;
    }
  }
  return SameList(args, other.args) && SameList(partition_by, other.partition_by);
}

namespace {

// Calls `visit` on every expression of `query`'s own block (not descending into subqueries).
void ForEachExpr(const BoundQuery& query, const std::function<void(const BoundExpr&)>& visit) {
  std::function<void(const BoundExpr&)> walk = [&](const BoundExpr& expr) {
    visit(expr);
    for (const auto& arg : expr.args) walk(*arg);
    for (const auto& part : expr.partition_by) walk(*part);
    for (const BoundOrderItem& order : expr.window_order) walk(*order.expr);
  };
  std::function<void(const BoundFrom&)> walk_from = [&](const BoundFrom& from) {
    if (from.left) walk_from(*from.left);
    if (from.right) walk_from(*from.right);
    if (from.on) walk(*from.on);
  };
  for (const auto& root : query.from) walk_from(*root);
  for (const BoundSelectItem& item : query.select) {
    if (item.expr) walk(*item.expr);
  }
  if (query.where) walk(*query.where);
  for (const auto& group : query.group_by) walk(*group);
  if (query.having) walk(*query.having);
  for (const BoundOrderItem& order : query.order_by) walk(*order.expr);
}

void CollectBaseTables(const BoundQuery& query, std::vector<const BoundTable*>& out) {
  for (const BoundCte& cte : query.ctes) CollectBaseTables(*cte.query, out);
  if (query.set_left) CollectBaseTables(*query.set_left, out);
  if (query.set_right) CollectBaseTables(*query.set_right, out);
  for (const BoundTable& table : query.tables) {
    if (table.is_base()) {
      out.push_back(&table);
    } else if (table.derived && table.cte_id < 0) {
      CollectBaseTables(*table.derived, out);
    }
  }
  ForEachExpr(query, [&](const BoundExpr& expr) {
    if (expr.subquery) CollectBaseTables(*expr.subquery, out);
  });
}

}  // namespace

bool BoundQuery::IsFlat() const {
  if (!ctes.empty() || set_operation != SetOperation::kNone) return false;
  for (const BoundTable& table : tables) {
    if (!table.is_base()) return false;
  }
  bool flat = true;
  ForEachExpr(*this, [&](const BoundExpr& expr) {
    flat &= expr.kind != BoundExprKind::kSubquery && expr.kind != BoundExprKind::kWindow;
  });
  return flat;
}

std::vector<const BoundTable*> BoundQuery::BaseTables() const {
  std::vector<const BoundTable*> tables;
  CollectBaseTables(*this, tables);
  return tables;
}

}  // namespace parley::sql
