#include "rewrite/support.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;
using Expr = std::unique_ptr<BoundExpr>;

// The statement is owned by the compiler and rewritten before it is rendered; nested queries are
// held as shared_ptr<const> only because they are shared (CTE bodies, subquery clones).
BoundQuery& Mutable(const std::shared_ptr<const BoundQuery>& query) {
  return const_cast<BoundQuery&>(*query);
}

Expr Node(BoundExprKind kind, std::string name = "") {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = kind;
  expr->name = std::move(name);
  return expr;
}

Expr Call(std::string name, std::vector<Expr> args, BoundExprKind kind = BoundExprKind::kScalar) {
  Expr call = Node(kind, std::move(name));
  call->args = std::move(args);
  return call;
}

template <typename... Args>
std::vector<Expr> List(Args... args) {
  std::vector<Expr> list;
  (list.push_back(std::move(args)), ...);
  return list;
}

Expr Integer(int64_t value) {
  Expr constant = Node(BoundExprKind::kConstant);
  constant->constant = sql::Constant{sql::ConstantKind::kInteger, std::to_string(value)};
  constant->type = sql::TypeKind::kBigint;
  return constant;
}

Expr Null() {
  Expr constant = Node(BoundExprKind::kConstant);
  constant->constant = sql::Constant{sql::ConstantKind::kNull, ""};
  return constant;
}

Expr ColumnRef(int table_index, std::string column) {
  Expr ref = Node(BoundExprKind::kColumn);
  ref->table_index = table_index;
  ref->column = std::move(column);
  return ref;
}

// The distinct identities of a list of lists, cut to `minimum`.
Expr Merged(Expr lists, int64_t minimum) {
  return Call("list_slice",
              List(Call("list_distinct", List(Call("flatten", List(std::move(lists))))), Integer(1),
                   Integer(minimum)));
}

std::string SupportName(size_t i) { return absl::StrCat("__parley_s", i); }

// Calls `visit` on the expressions of `query`'s own block, outermost first, without entering
// subqueries or the arguments of window functions (`enter_windows` false).
void ForEachOwnExpr(BoundQuery& query, const std::function<void(BoundExpr&)>& visit) {
  std::function<void(BoundExpr&)> walk = [&](BoundExpr& expr) {
    visit(expr);
    if (expr.kind == BoundExprKind::kWindow) return;
    for (auto& arg : expr.args) walk(*arg);
  };
  for (sql::BoundSelectItem& item : query.select) {
    if (item.expr) walk(*item.expr);
  }
  if (query.having) walk(*query.having);
  for (sql::BoundOrderItem& order : query.order_by) walk(*order.expr);
}

int MaxRenderId(const BoundQuery& query) {
  int id = -1;
  ForEachBlock(const_cast<BoundQuery&>(query), [&](BoundQuery& block) {
    for (const sql::BoundTable& table : block.tables) id = std::max(id, table.render_id);
  });
  return id;
}

// What a hidden support column holds on each row: one identity (a row of the table, passed
// through), the distinct identities of the rows it stands for (cut to the minimum), or — in the
// judged block only — their count.
enum class Form { kSingle, kList, kCount };

struct Support {
  int64_t minimum = 0;
  Form form = Form::kSingle;
};

class SupportRewriter {
 public:
  SupportRewriter(const std::vector<policy::Threshold>& thresholds, int next_render_id)
      : thresholds_(thresholds), next_render_id_(next_render_id) {}

  // The top level: suppress the rows below a threshold before ORDER BY and LIMIT.
  void Judge(BoundQuery& query) {
    if (query.set_operation == sql::SetOperation::kUnion) {
      Judge(Mutable(query.set_left));
      Judge(Mutable(query.set_right));
      return;
    }
    if (query.set_operation != sql::SetOperation::kNone) return;  // reads no thresholded table
    size_t visible = query.select.size();
    std::vector<std::string> names;
    for (const sql::BoundSelectItem& item : query.select) names.push_back(item.output_name);
    counting_ = true;
    std::vector<Support> supports = Add(query);
    if (supports.empty()) return;
    std::vector<sql::BoundOrderItem> order = std::move(query.order_by);

    BoundQuery inner;
    inner.tables = std::move(query.tables);
    inner.from = std::move(query.from);
    inner.distinct = query.distinct;
    inner.select = std::move(query.select);
    inner.where = std::move(query.where);
    inner.group_by = std::move(query.group_by);
    inner.having = std::move(query.having);
    for (size_t i = 0; i < visible; ++i)
      inner.select[i].output_name = absl::StrCat("__parley_c", i);

    BoundQuery& outer = query;
    outer.select.clear();
    outer.order_by.clear();
    outer.constructs.clear();
    outer.distinct = false;
    sql::BoundTable released;
    released.index = 0;
    released.render_id = next_render_id_++;
    released.alias = "released";
    for (size_t i = 0; i < visible; ++i) {
      Expr ref = ColumnRef(0, inner.select[i].output_name);
      ref->type = inner.select[i].expr->type;
      ref->location = inner.select[i].location;
      outer.select.push_back(
          sql::BoundSelectItem{std::move(ref), names[i], inner.select[i].location, false});
    }
    // ORDER BY keys are computed in the inner block and sorted on outside, after suppression.
    for (size_t j = 0; j < order.size(); ++j) {
      std::string name = absl::StrCat("__parley_o", j);
      Expr ref = ColumnRef(0, name);
      ref->type = order[j].expr->type;
      inner.select.push_back(
          sql::BoundSelectItem{std::move(order[j].expr), name, order[j].location, false});
      outer.order_by.push_back(sql::BoundOrderItem{std::move(ref), order[j].descending,
                                                   order[j].nulls_first, order[j].location});
    }
    std::unique_ptr<BoundExpr> condition;
    for (size_t i = 0; i < supports.size(); ++i) {
      Expr size;
      switch (supports[i].form) {
        case Form::kCount:
          size = ColumnRef(0, SupportName(i));
          break;
        case Form::kList:
          size = Call("len", List(Call("list_distinct", List(ColumnRef(0, SupportName(i))))));
          break;
        case Form::kSingle: {
          // One row of one person: 1, or 0 without an identity.
          size = Node(BoundExprKind::kCase);
          Expr missing = Node(BoundExprKind::kIsNull);
          missing->type = sql::TypeKind::kBoolean;
          missing->args = List(ColumnRef(0, SupportName(i)));
          size->args = List(std::move(missing), Integer(0), Integer(1));
          size->case_has_else = true;
          size->type = sql::TypeKind::kBigint;
          break;
        }
      }
      Expr count = Call("coalesce", List(std::move(size), Integer(0)));
      Expr at_least = Node(BoundExprKind::kBinaryOp, ">=");
      at_least->type = sql::TypeKind::kBoolean;
      at_least->args = List(std::move(count), Integer(supports[i].minimum));
      if (!condition) {
        condition = std::move(at_least);
      } else {
        Expr both = Node(BoundExprKind::kBinaryOp, "AND");
        both->type = sql::TypeKind::kBoolean;
        both->args = List(std::move(condition), std::move(at_least));
        condition = std::move(both);
      }
    }
    for (const sql::BoundSelectItem& item : inner.select) {
      released.columns.push_back(
          sql::ColumnInfo{item.output_name, item.expr ? item.expr->type : sql::Type()});
    }
    released.derived = std::make_shared<const BoundQuery>(std::move(inner));
    outer.tables.clear();
    outer.tables.push_back(std::move(released));
    auto from = std::make_unique<sql::BoundFrom>();
    from->table_index = 0;
    outer.from.clear();
    outer.from.push_back(std::move(from));
    outer.where = std::move(condition);
    // LIMIT and OFFSET stay on `outer`: they choose among released rows only.
  }

 private:
  // Adds the supports of `query` as trailing output columns and returns what they hold.
  std::vector<Support> Add(BoundQuery& query) {
    // The judged block's supports of single identities only need counting: count(DISTINCT
    // identity), as a hand-written threshold would, rather than a list of the identities.
    bool top = counting_;
    counting_ = false;
    if (query.set_operation != sql::SetOperation::kNone) return AddToSetOperation(query);
    // The per-row supports of the FROM rows.
    std::vector<Expr> rows;
    std::vector<Support> kinds;
    for (sql::BoundTable& table : query.tables) {
      if (table.is_base()) {
        for (const policy::Threshold& threshold : thresholds_) {
          if (threshold.table != table.schema->name) continue;
          rows.push_back(ColumnRef(table.index, threshold.column));
          kinds.push_back(Support{threshold.minimum, Form::kSingle});
        }
        continue;
      }
      if (!table.derived) continue;
      std::vector<Support> derived;
      if (table.cte_id >= 0) {
        auto it = cte_supports_.find(table.cte_id);
        if (it == cte_supports_.end()) {
          it = cte_supports_.emplace(table.cte_id, Add(Mutable(table.derived))).first;
        }
        derived = it->second;
      } else {
        derived = Add(Mutable(table.derived));
      }
      for (size_t i = 0; i < derived.size(); ++i) {
        rows.push_back(ColumnRef(table.index, SupportName(i)));
        table.columns.push_back(sql::ColumnInfo{SupportName(i), sql::Type()});
        kinds.push_back(derived[i]);
      }
    }
    if (rows.empty()) return {};

    bool groups = !query.group_by.empty() || query.having != nullptr;
    std::vector<const BoundExpr*> windows;
    ForEachOwnExpr(query, [&](BoundExpr& expr) {
      if (expr.kind == BoundExprKind::kAggregate) groups = true;
      if (expr.kind != BoundExprKind::kWindow) return;
      for (const BoundExpr* seen : windows) {
        if (seen->partition_by.size() == expr.partition_by.size() &&
            seen->window_order.size() == expr.window_order.size()) {
          bool same = true;
          for (size_t i = 0; i < expr.partition_by.size(); ++i) {
            same &= seen->partition_by[i]->SameAs(*expr.partition_by[i]);
          }
          for (size_t i = 0; i < expr.window_order.size(); ++i) {
            same &= seen->window_order[i].expr->SameAs(*expr.window_order[i].expr) &&
                    seen->window_order[i].descending == expr.window_order[i].descending &&
                    seen->window_order[i].nulls_first == expr.window_order[i].nulls_first;
          }
          if (same) return;
        }
      }
      windows.push_back(&expr);
    });
    if (query.distinct) {
      // DISTINCT is a GROUP BY of the outputs: each output row merges the supports of the rows
      // it stands for (the checker refused DISTINCT over aggregates and windows).
      query.distinct = false;
      for (const sql::BoundSelectItem& item : query.select) {
        query.group_by.push_back(item.expr->Clone());
      }
      groups = true;
    }

    std::vector<Expr> supports;
    std::vector<Support> added;
    for (size_t i = 0; i < rows.size(); ++i) {
      int64_t minimum = kinds[i].minimum;
      if (!groups) {
        supports.push_back(rows[i]->Clone());
        added.push_back(kinds[i]);
      } else if (kinds[i].form == Form::kSingle && top) {
        Expr count = Call("count", List(rows[i]->Clone()), BoundExprKind::kAggregate);
        count->distinct = true;
        count->type = sql::TypeKind::kBigint;
        supports.push_back(std::move(count));
        added.push_back(Support{minimum, Form::kCount});
      } else if (kinds[i].form == Form::kSingle) {
        Expr distinct = Call("list", List(rows[i]->Clone()), BoundExprKind::kAggregate);
        distinct->distinct = true;
        supports.push_back(Call("list_slice", List(Call("list_distinct", List(std::move(distinct))),
                                                   Integer(1), Integer(minimum))));
        added.push_back(Support{minimum, Form::kList});
      } else {
        supports.push_back(
            Merged(Call("list", List(rows[i]->Clone()), BoundExprKind::kAggregate), minimum));
        added.push_back(Support{minimum, Form::kList});
      }
    }
    for (const BoundExpr* window : windows) {
      for (size_t i = 0; i < rows.size(); ++i) {
        Expr over = Call("list", List(rows[i]->Clone()), BoundExprKind::kWindow);
        for (const auto& part : window->partition_by) over->partition_by.push_back(part->Clone());
        for (const sql::BoundOrderItem& order : window->window_order) {
          over->window_order.push_back(sql::BoundOrderItem{order.expr->Clone(), order.descending,
                                                           order.nulls_first, order.location});
        }
        if (kinds[i].form == Form::kSingle) {
          supports.push_back(Call("list_slice", List(Call("list_distinct", List(std::move(over))),
                                                     Integer(1), Integer(kinds[i].minimum))));
        } else {
          supports.push_back(Merged(std::move(over), kinds[i].minimum));
        }
        added.push_back(Support{kinds[i].minimum, Form::kList});
      }
    }
    for (size_t i = 0; i < supports.size(); ++i) {
      query.select.push_back(
          sql::BoundSelectItem{std::move(supports[i]), SupportName(i), -1, false});
    }
    return added;
  }

  // UNION ALL: each branch's supports in columns of their own, NULL in the other's rows.
  std::vector<Support> AddToSetOperation(BoundQuery& query) {
    BoundQuery& left = Mutable(query.set_left);
    BoundQuery& right = Mutable(query.set_right);
    size_t visible = query.select.size();
    std::vector<Support> left_minimums = Add(left);
    std::vector<Support> right_minimums = Add(right);
    AppendNulls(left, visible + left_minimums.size(), right_minimums.size());
    AppendNulls(right, visible, left_minimums.size());
    std::vector<Support> minimums = left_minimums;
    minimums.insert(minimums.end(), right_minimums.begin(), right_minimums.end());
    Rename(left, visible, minimums.size());
    Rename(right, visible, minimums.size());
    for (size_t i = 0; i < minimums.size(); ++i) {
      query.select.push_back(sql::BoundSelectItem{nullptr, SupportName(i), -1, false});
    }
    return minimums;
  }

  // Inserts `count` NULL outputs at `position` of every branch of `query`.
  static void AppendNulls(BoundQuery& query, size_t position, size_t count) {
    if (count == 0) return;
    if (query.set_operation != sql::SetOperation::kNone) {
      AppendNulls(Mutable(query.set_left), position, count);
      AppendNulls(Mutable(query.set_right), position, count);
      for (size_t i = 0; i < count; ++i) {
        query.select.insert(query.select.begin() + position,
                            sql::BoundSelectItem{nullptr, "", -1, false});
      }
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      query.select.insert(query.select.begin() + position,
                          sql::BoundSelectItem{Null(), "", -1, false});
    }
  }

  // Names the supports (and the NULLs in their place) alike in every branch.
  static void Rename(BoundQuery& query, size_t visible, size_t count) {
    for (size_t i = 0; i < count && visible + i < query.select.size(); ++i) {
      query.select[visible + i].output_name = SupportName(i);
    }
    if (query.set_operation != sql::SetOperation::kNone) {
      Rename(Mutable(query.set_left), visible, count);
      Rename(Mutable(query.set_right), visible, count);
    }
  }

  const std::vector<policy::Threshold>& thresholds_;
  int next_render_id_;
  std::map<int, std::vector<Support>> cte_supports_;
  bool counting_ = false;  // the next block Add sees is the judged one
};

}  // namespace

void ForEachBlock(BoundQuery& statement, const std::function<void(BoundQuery&)>& visit) {
  std::set<const BoundQuery*> done;
  std::function<void(BoundQuery&)> block;
  std::function<void(BoundExpr&)> expr = [&](BoundExpr& node) {
    for (auto& arg : node.args) expr(*arg);
    for (auto& part : node.partition_by) expr(*part);
    for (sql::BoundOrderItem& order : node.window_order) expr(*order.expr);
    if (node.subquery) block(Mutable(node.subquery));
  };
  block = [&](BoundQuery& query) {
    if (!done.insert(&query).second) return;
    for (sql::BoundCte& cte : query.ctes) block(Mutable(cte.query));
    if (query.set_left) block(Mutable(query.set_left));
    if (query.set_right) block(Mutable(query.set_right));
    for (sql::BoundTable& table : query.tables) {
      if (table.derived) block(Mutable(table.derived));
    }
    std::function<void(sql::BoundFrom&)> from = [&](sql::BoundFrom& node) {
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
      if (node.on) expr(*node.on);
    };
    for (auto& root : query.from) from(*root);
    for (sql::BoundSelectItem& item : query.select) {
      if (item.expr) expr(*item.expr);
    }
    if (query.where) expr(*query.where);
    for (auto& group : query.group_by) expr(*group);
    if (query.having) expr(*query.having);
    for (sql::BoundOrderItem& order : query.order_by) expr(*order.expr);
    visit(query);
  };
  block(statement);
}

void ApplyIdentityThresholds(BoundQuery& statement,
                             const std::vector<policy::Threshold>& thresholds) {
  if (thresholds.empty()) return;
  SupportRewriter(thresholds, MaxRenderId(statement) + 1).Judge(statement);
}

}  // namespace parley::rewrite
