#include "rewrite/once_per_group.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/row_identity.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

// The table occurrences of the block itself (not of enclosing queries) that `expr` reads.
void CollectTables(const BoundExpr& expr, std::set<int>& tables) {
  if (expr.kind == BoundExprKind::kColumn && expr.outer_depth == 0) tables.insert(expr.table_index);
  for (const auto& arg : expr.args) CollectTables(*arg, tables);
  for (const auto& part : expr.partition_by) CollectTables(*part, tables);
  for (const sql::BoundOrderItem& order : expr.window_order) CollectTables(*order.expr, tables);
}

// The deduplicated tables whose rows `aggregate` would weigh by their fan-out: those its
// arguments read, for a non-distinct aggregate of columns. Empty when it needs no change.
std::set<int> TablesToCountOnce(const BoundExpr& aggregate, const std::set<int>& deduplicated) {
  std::set<int> tables;
  if (aggregate.distinct || aggregate.star_argument) return tables;
  // A FILTER only chooses rows: the weight is the arguments'.
  for (size_t i = 0; i < aggregate.value_args(); ++i) CollectTables(*aggregate.args[i], tables);
  std::set<int> once;
  std::set_intersection(tables.begin(), tables.end(), deduplicated.begin(), deduplicated.end(),
                        std::inserter(once, once.begin()));
  return once;
}

// Calls `visit` on every aggregate call in `expr` (aggregates do not nest in flat blocks).
void ForEachAggregate(const BoundExpr& expr, const std::function<void(const BoundExpr&)>& visit) {
  if (expr.kind == BoundExprKind::kAggregate) {
    visit(expr);
    return;
  }
  for (const auto& arg : expr.args) ForEachAggregate(*arg, visit);
}

bool NeedsRewrite(const sql::BoundQuery& block, const std::set<int>& deduplicated) {
  if (block.tables.size() < 2 || deduplicated.empty() || !block.IsFlat()) return false;
  bool needed = false;
  auto check = [&](const BoundExpr& aggregate) {
    needed |= !TablesToCountOnce(aggregate, deduplicated).empty();
  };
  for (const sql::BoundSelectItem& item : block.select) {
    if (item.expr) ForEachAggregate(*item.expr, check);
  }
  if (block.having) ForEachAggregate(*block.having, check);
  for (const sql::BoundOrderItem& order : block.order_by) ForEachAggregate(*order.expr, check);
  return needed;
}

std::unique_ptr<BoundExpr> Node(BoundExprKind kind, std::string name = "") {
  auto node = std::make_unique<BoundExpr>();
  node->kind = kind;
  node->name = std::move(name);
  return node;
}

std::unique_ptr<BoundExpr> Column(int table_index, std::string column, sql::Type type) {
  auto node = Node(BoundExprKind::kColumn);
  node->table_index = table_index;
  node->column = std::move(column);
  node->type = std::move(type);
  return node;
}

// A copy of `expr` without its children, to be given mapped ones.
std::unique_ptr<BoundExpr> ShallowCopy(const BoundExpr& expr) {
  auto copy = std::make_unique<BoundExpr>();
  copy->kind = expr.kind;
  copy->location = expr.location;
  copy->table_index = expr.table_index;
  copy->outer_depth = expr.outer_depth;
  copy->column = expr.column;
  copy->type = expr.type;
  copy->constant = expr.constant;
  copy->name = expr.name;
  copy->cast_type = expr.cast_type;
  copy->what = expr.what;
  copy->distinct = expr.distinct;
  copy->star_argument = expr.star_argument;
  copy->negated = expr.negated;
  copy->case_has_operand = expr.case_has_operand;
  copy->case_has_else = expr.case_has_else;
  copy->has_filter = expr.has_filter;
  copy->output_index = expr.output_index;
  copy->subquery = expr.subquery;
  return copy;
}

int LargestRenderId(const sql::BoundQuery& block) {
  int largest = -1;
  for (const sql::BoundTable& table : block.tables) largest = std::max(largest, table.render_id);
  for (const sql::BoundTable* table : block.BaseTables()) {
    largest = std::max(largest, table->render_id);
  }
  return largest;
}

// Splits a block into the joined rows (the derived table, `inner_`) and the aggregation over them
// (the block itself, rewritten in place). Expressions of the block's SELECT, HAVING and ORDER BY
// are mapped onto the derived table's columns: a GROUP BY expression becomes its key column, an
// aggregate aggregates its projected arguments, any other column reference is projected as is.
class Splitter {
 public:
  Splitter(sql::BoundQuery& block, const std::set<int>& deduplicated)
      : block_(block), deduplicated_(deduplicated) {}

  void Run(int render_id) {
    inner_.tables = std::move(block_.tables);
    inner_.from = std::move(block_.from);
    inner_.where = std::move(block_.where);
    keys_ = std::move(block_.group_by);
    for (const auto& key : keys_) key_columns_.push_back(Project(*key, "k"));

    for (sql::BoundSelectItem& item : block_.select) {
      if (item.expr) item.expr = Map(*item.expr);
    }
    if (block_.having) block_.having = Map(*block_.having);
    for (sql::BoundOrderItem& order : block_.order_by) order.expr = Map(*order.expr);
    block_.group_by.clear();
    for (size_t i = 0; i < keys_.size(); ++i) {
      block_.group_by.push_back(DerivedColumn(key_columns_[i]));
    }

    sql::BoundTable derived;
    derived.index = 0;
    derived.render_id = render_id;
    derived.alias = "rows_once_per_group";
    for (const sql::BoundSelectItem& item : inner_.select) {
      derived.columns.push_back({item.output_name, item.expr->type});
    }
    derived.derived = std::make_shared<const sql::BoundQuery>(std::move(inner_));
    block_.tables.clear();
    block_.tables.push_back(std::move(derived));
    auto leaf = std::make_unique<sql::BoundFrom>();
    leaf->table_index = 0;
    block_.from.clear();
    block_.from.push_back(std::move(leaf));
  }

 private:
  // Adds `expr` (over the base tables) to the derived table's columns once; returns its name.
  std::string Project(const BoundExpr& expr, const char* prefix) {
    for (const sql::BoundSelectItem& item : inner_.select) {
      if (item.expr->SameAs(expr)) return item.output_name;
    }
    int& counter = counters_[prefix];
    std::string name = absl::StrCat(prefix, counter++);
    inner_.select.push_back(sql::BoundSelectItem{expr.Clone(), name, expr.location, false});
    return name;
  }

  std::unique_ptr<BoundExpr> DerivedColumn(const std::string& name) {
    for (const sql::BoundSelectItem& item : inner_.select) {
      if (item.output_name == name) return Column(0, name, item.expr->type);
    }
    return Column(0, name, sql::Type());
  }

  // The flag column that is true on one joined row per row of each of `tables` and output group:
  // row_number() OVER (PARTITION BY <group keys>, <row ids of tables>) = 1. Which of a row's
  // copies gets the flag does not matter: they carry the same values of that row's columns. Keys
  // are deterministic expressions (rules admit no volatile function).
  std::string FirstOccurrenceFlag(const std::set<int>& tables) {
    auto window = Node(BoundExprKind::kWindow, "row_number");
    window->type = sql::TypeKind::kBigint;
    // A key that reads only these tables is fixed by their rows: partitioning by it as well
    // would change nothing but cost hashing (the common case: the table's own dimensions).
    for (const auto& key : keys_) {
      std::set<int> read;
      CollectTables(*key, read);
      if (!std::includes(tables.begin(), tables.end(), read.begin(), read.end())) {
        window->partition_by.push_back(key->Clone());
      }
    }
    // The row id's type depends on the source (BIGINT, HUGEINT or UUID) and matters to no one.
    for (int table : tables)
      window->partition_by.push_back(Column(table, kRowIdColumn, sql::Type()));
    auto one = Node(BoundExprKind::kConstant);
    one->constant = sql::Constant{sql::ConstantKind::kInteger, "1"};
    one->type = sql::TypeKind::kInteger;
    auto first = Node(BoundExprKind::kBinaryOp, "=");
    first->type = sql::TypeKind::kBoolean;
    first->args.push_back(std::move(window));
    first->args.push_back(std::move(one));
    return Project(*first, "f");
  }

  std::unique_ptr<BoundExpr> Map(const BoundExpr& expr) {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i]->SameAs(expr)) return DerivedColumn(key_columns_[i]);
    }
    if (expr.kind == BoundExprKind::kAggregate) {
      auto call = ShallowCopy(expr);
      std::set<int> once = TablesToCountOnce(expr, deduplicated_);
      std::string flag = once.empty() ? "" : FirstOccurrenceFlag(once);
      for (const auto& arg : expr.args) {
        auto value = DerivedColumn(Project(*arg, "v"));
        if (!flag.empty() && arg.get() != expr.filter()) {
          auto masked = Node(BoundExprKind::kCase);
          masked->type = value->type;
          masked->args.push_back(DerivedColumn(flag));
          masked->args.push_back(std::move(value));
          value = std::move(masked);
        }
        call->args.push_back(std::move(value));
      }
      return call;
    }
    if (expr.kind == BoundExprKind::kColumn && expr.outer_depth == 0) {
      return DerivedColumn(Project(expr, "c"));
    }
    auto copy = ShallowCopy(expr);
    for (const auto& arg : expr.args) copy->args.push_back(Map(*arg));
    for (const auto& part : expr.partition_by) copy->partition_by.push_back(Map(*part));
    for (const sql::BoundOrderItem& order : expr.window_order) {
      copy->window_order.push_back(sql::BoundOrderItem{Map(*order.expr), order.descending,
                                                       order.nulls_first, order.location});
    }
    return copy;
  }

  sql::BoundQuery& block_;
  const std::set<int>& deduplicated_;
  sql::BoundQuery inner_;
  std::vector<std::unique_ptr<BoundExpr>> keys_;
  std::vector<std::string> key_columns_;
  std::map<std::string, int> counters_;
};

}  // namespace

void CountEachRowOnce(sql::BoundQuery& block, const std::set<int>& deduplicated_tables,
                      int render_id) {
  if (!NeedsRewrite(block, deduplicated_tables)) return;
  Splitter(block, deduplicated_tables).Run(render_id >= 0 ? render_id : LargestRenderId(block) + 1);
}

}  // namespace parley::rewrite
