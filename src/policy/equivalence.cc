#include "policy/equivalence.h"

#include <functional>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/parser.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;

// The query blocks a column reference can name, innermost last: outer_depth d names the block
// d places below the top. Set operation nodes are not blocks (their branches are).
using Stack = std::vector<const BoundQuery*>;

// A column of one table occurrence of one query block.
struct Slot {
  const BoundQuery* block = nullptr;
  int table = -1;
  std::string column;
  bool operator<(const Slot& other) const {
    return std::tie(block, table, column) < std::tie(other.block, other.table, other.column);
  }
};

// An expression evaluated in the block on top of `stack`.
struct Side {
  Stack stack;
  const BoundExpr* expr = nullptr;
};

// A predicate that makes its sides equal in the rows that survive it.
struct Fact {
  std::vector<Side> sides;
  std::string predicate;
  const char* clause = "";
  int location = -1;
};

// A range comparison: `low` is below (or at) `high` in the rows that survive it.
struct Bound {
  const BoundExpr* low = nullptr;
  const BoundExpr* high = nullptr;
  const char* clause = "";
  int location = -1;
};

// Whether a predicate must hold for a row to survive (positive), must not hold (negative, under
// NOT), or either (inside CASE, COALESCE, a comparison with TRUE, …).
enum class Polarity { kPositive, kNegative, kUnknown };

Polarity Flip(Polarity polarity) {
  switch (polarity) {
    case Polarity::kPositive:
      return Polarity::kNegative;
    case Polarity::kNegative:
      return Polarity::kPositive;
    case Polarity::kUnknown:
      return Polarity::kUnknown;
  }
  return Polarity::kUnknown;
}

void Merge(ValueSources& into, const ValueSources& from) {
  into.columns.insert(from.columns.begin(), from.columns.end());
  into.equalities.insert(from.equalities.begin(), from.equalities.end());
}

std::pair<std::string, std::string> KeyOf(const BaseColumn& column) {
  return {column.first != nullptr ? column.first->name : "", column.second};
}

// The columns an expression names in its own block or enclosing ones (not inside its
// subqueries, which are blocks of their own), as slots.
void CollectSlots(const BoundExpr& expr, const Stack& stack, std::vector<Slot>& slots) {
  if (expr.kind == BoundExprKind::kColumn && expr.outer_depth >= 0 &&
      expr.outer_depth < static_cast<int>(stack.size())) {
    slots.push_back(
        Slot{stack[stack.size() - 1 - expr.outer_depth], expr.table_index, expr.column});
  }
  for (const auto& arg : expr.args) CollectSlots(*arg, stack, slots);
  for (const auto& part : expr.partition_by) CollectSlots(*part, stack, slots);
  for (const sql::BoundOrderItem& order : expr.window_order)
    CollectSlots(*order.expr, stack, slots);
}

std::vector<Slot> SlotsOf(const Side& side) {
  std::vector<Slot> slots;
  CollectSlots(*side.expr, side.stack, slots);
  return slots;
}

// Calls `visit` with each SELECT block of a query (the branches of set operations), and the
// stack it is evaluated in.
void ForEachLeaf(const BoundQuery& query, const Stack& enclosing,
                 const std::function<void(const BoundQuery&, const Stack&)>& visit) {
  if (query.set_operation != sql::SetOperation::kNone) {
    ForEachLeaf(*query.set_left, enclosing, visit);
    ForEachLeaf(*query.set_right, enclosing, visit);
    return;
  }
  Stack stack = enclosing;
  stack.push_back(&query);
  visit(query, stack);
}

// Calls `visit` on every expression of one block (not inside its subqueries).
void ForEachExprOfBlock(const BoundQuery& query,
                        const std::function<void(const BoundExpr&)>& visit) {
  std::function<void(const BoundExpr&)> walk = [&](const BoundExpr& expr) {
    visit(expr);
    for (const auto& arg : expr.args) walk(*arg);
    for (const auto& part : expr.partition_by) walk(*part);
    for (const sql::BoundOrderItem& order : expr.window_order) walk(*order.expr);
  };
  std::function<void(const sql::BoundFrom&)> from = [&](const sql::BoundFrom& node) {
    if (node.left) from(*node.left);
    if (node.right) from(*node.right);
    if (node.on) walk(*node.on);
  };
  for (const auto& root : query.from) from(*root);
  for (const sql::BoundSelectItem& item : query.select) {
    if (item.expr) walk(*item.expr);
  }
  if (query.where) walk(*query.where);
  for (const auto& group : query.group_by) walk(*group);
  if (query.having) walk(*query.having);
  for (const sql::BoundOrderItem& order : query.order_by) walk(*order.expr);
}

}  // namespace

class ProtectionTracer::Engine {
 public:
  // Which other output columns of a derived table or CTE body hold a value equal to output
  // column i, per (body, i). Shared by an engine and the engines it starts for bodies.
  using LinkMemo = std::map<std::pair<const BoundQuery*, size_t>, std::set<size_t>>;

  Engine(const BoundQuery& root, Stack enclosing, IsProtected is_protected,
         std::shared_ptr<LinkMemo> memo)
      : root_(root),
        enclosing_(std::move(enclosing)),
        is_protected_(std::move(is_protected)),
        memo_(std::move(memo)) {
    CollectBlock(root_, enclosing_);
  }

  // Marks a slot as protected from the start (for the engines that ask what a body links).
  void Seed(const Slot& slot) {
    protected_.emplace(slot, EqualityReason{{nullptr, ""}, "", "", -1});
  }

  // Spreads protection over the facts until nothing changes. Every step only adds slots, and
  // there are finitely many, so it ends.
  void Run() {
    while (true) {
      bool changed = false;
      Lineage lineage(protected_);
      for (const Fact& fact : facts_) {
        std::optional<BaseColumn> origin;
        for (const Side& side : fact.sides) {
          origin = Origin(lineage, side);
          if (origin) break;
        }
        if (!origin) continue;
        EqualityReason reason{*origin, fact.predicate, fact.clause, fact.location};
        for (const Side& side : fact.sides) {
          for (const Slot& slot : SlotsOf(side)) changed |= Protect(slot, reason);
        }
      }
      // A derived table's or CTE's column equated outside it protects the columns of the same
      // occurrence that hold the same value inside it (SELECT n, n AS copy …).
      std::vector<std::pair<Slot, EqualityReason>> current(protected_.begin(), protected_.end());
      for (const auto& [slot, reason] : current) {
        const sql::BoundTable& table = slot.block->tables[slot.table];
        if (table.is_base() || !table.derived) continue;
        auto stack = block_stacks_.find(slot.block);
        if (stack == block_stacks_.end()) continue;
        for (size_t i = 0; i < table.columns.size(); ++i) {
          if (table.columns[i].name != slot.column) continue;
          for (size_t j : Linked(*table.derived, i, stack->second)) {
            changed |= Protect(Slot{slot.block, slot.table, table.columns[j].name}, reason);
          }
        }
      }
      if (!changed) return;
    }
  }

  ValueSources Output(const BoundQuery& query, size_t position) {
    Lineage lineage(protected_);
    return lineage.OutputIn(enclosing_, query, position);
  }

  std::optional<EqualityReason> SlotReason(const Slot& slot) const {
    auto it = protected_.find(slot);
    if (it == protected_.end()) return std::nullopt;
    return it->second;
  }

  const BoundQuery& root() const { return root_; }

 private:
  // Data flow, as the custom rule traces it, plus the equalities that protect the slots it
  // passes through.
  class Lineage {
   public:
    explicit Lineage(const std::map<Slot, EqualityReason>& protected_slots)
        : protected_(protected_slots) {}

    ValueSources OutputIn(const Stack& enclosing, const BoundQuery& query, size_t position) {
      stack_ = enclosing;
      return Output(query, position);
    }
    ValueSources ExprIn(const Stack& stack, const BoundExpr& expr) {
      stack_ = stack;
      return Expr(expr);
    }

   private:
    ValueSources Output(const BoundQuery& query, size_t position) {
      if (query.set_operation != sql::SetOperation::kNone) {
        ValueSources sources = Output(*query.set_left, position);
        Merge(sources, Output(*query.set_right, position));
        return sources;
      }
      if (position >= query.select.size() || !query.select[position].expr) return {};
      stack_.push_back(&query);
      ValueSources sources = Expr(*query.select[position].expr);
      stack_.pop_back();
      return sources;
    }

    ValueSources Expr(const BoundExpr& expr) {
      ValueSources sources;
      if (expr.kind == BoundExprKind::kColumn) {
        if (expr.outer_depth < 0 || expr.outer_depth >= static_cast<int>(stack_.size())) {
          return sources;
        }
        const BoundQuery& owner = *stack_[stack_.size() - 1 - expr.outer_depth];
        if (auto it = protected_.find(Slot{&owner, expr.table_index, expr.column});
            it != protected_.end()) {
          sources.equalities.emplace(KeyOf(it->second.protected_column), it->second);
        }
        const sql::BoundTable& table = owner.tables[expr.table_index];
        if (table.is_base()) {
          sources.columns.insert({table.schema, expr.column});
          return sources;
        }
        for (size_t i = 0; i < table.columns.size(); ++i) {
          if (table.columns[i].name != expr.column) continue;
          // A derived table's body sits inside the query that names it (or, for a CTE, is bound
          // without access to enclosing queries), so the stack is right for it as it is.
          if (table.cte_id < 0) {
            Merge(sources, Output(*table.derived, i));
            return sources;
          }
          // A CTE body depends on nothing outside it, so its lineage is computed once: a chain
          // of CTEs that each read the previous one twice would otherwise cost 2^n.
          auto key = std::make_pair(table.derived.get(), i);
          auto cached = cte_outputs_.find(key);
          if (cached == cte_outputs_.end()) {
            cached = cte_outputs_.emplace(key, Output(*table.derived, i)).first;
          }
          Merge(sources, cached->second);
          return sources;
        }
        return sources;
      }
      if (expr.kind == BoundExprKind::kSubquery) {
        for (size_t i = 0; i < expr.subquery->select.size(); ++i) {
          Merge(sources, Output(*expr.subquery, i));
        }
        // A correlated subquery's value depends on the outer row's columns wherever the
        // subquery names them — EXISTS (SELECT 1 WHERE a.user_id LIKE 'u0%') is CASE WHEN in
        // disguise.
        Merge(sources, OuterReferences(*expr.subquery, 1));
      }
      for (const auto& arg : expr.args) Merge(sources, Expr(*arg));
      for (const auto& part : expr.partition_by) Merge(sources, Expr(*part));
      for (const sql::BoundOrderItem& order : expr.window_order) Merge(sources, Expr(*order.expr));
      return sources;
    }

    // The sources of the columns that `query`, nested `level` blocks below the query on top of
    // the stack, takes from that query or its enclosing ones, in any clause and at any depth.
    // Set operation branches are blocks of the same level; FROM subqueries are one level deeper
    // (they cannot see the block they sit in, but still see those around it); CTE bodies see no
    // enclosing query.
    ValueSources OuterReferences(const BoundQuery& query, int level) {
      ValueSources sources;
      if (query.set_operation != sql::SetOperation::kNone) {
        Merge(sources, OuterReferences(*query.set_left, level));
        Merge(sources, OuterReferences(*query.set_right, level));
        return sources;
      }
      for (const sql::BoundTable& table : query.tables) {
        if (table.derived && table.cte_id < 0) {
          Merge(sources, OuterReferences(*table.derived, level + 1));
        }
      }
      ForEachExprOfBlock(query, [&](const BoundExpr& expr) {
        if (expr.kind == BoundExprKind::kColumn && expr.outer_depth >= level) {
          BoundExpr outer;
          outer.kind = BoundExprKind::kColumn;
          outer.table_index = expr.table_index;
          outer.outer_depth = expr.outer_depth - level;
          outer.column = expr.column;
          Merge(sources, Expr(outer));
        }
        if (expr.subquery) Merge(sources, OuterReferences(*expr.subquery, level + 1));
      });
      return sources;
    }

    const std::map<Slot, EqualityReason>& protected_;
    Stack stack_;
    std::map<std::pair<const BoundQuery*, size_t>, ValueSources> cte_outputs_;
  };

  // The protected column a side's value comes from or is equal to, if any; the first by name
  // when there are several, so that reasons do not depend on memory layout.
  std::optional<BaseColumn> Origin(Lineage& lineage, const Side& side) {
    ValueSources sources = lineage.ExprIn(side.stack, *side.expr);
    std::optional<BaseColumn> origin;
    for (const BaseColumn& column : sources.columns) {
      if (!is_protected_(*column.first, column.second)) continue;
      if (!origin || KeyOf(column) < KeyOf(*origin)) origin = column;
    }
    if (origin) return origin;
    if (!sources.equalities.empty()) return sources.equalities.begin()->second.protected_column;
    return std::nullopt;
  }

  bool Protect(const Slot& slot, const EqualityReason& reason) {
    return protected_.emplace(slot, reason).second;
  }

  // The output columns of `body` (other than `position`) that hold a value equal to output
  // column `position`: those an engine over the body alone protects when it starts from the
  // columns of that output.
  std::set<size_t> Linked(const BoundQuery& body, size_t position, const Stack& enclosing) {
    auto key = std::make_pair(&body, position);
    if (auto it = memo_->find(key); it != memo_->end()) return it->second;
    Engine engine(
        body, enclosing, [](const sql::TableSchema&, const std::string&) { return false; }, memo_);
    ForEachLeaf(body, enclosing, [&](const BoundQuery& leaf, const Stack& stack) {
      if (position >= leaf.select.size() || !leaf.select[position].expr) return;
      for (const Slot& slot : SlotsOf(Side{stack, leaf.select[position].expr.get()})) {
        engine.Seed(slot);
      }
    });
    engine.Run();
    std::set<size_t> linked;
    size_t outputs = body.select.size();
    for (size_t j = 0; j < outputs; ++j) {
      if (j != position && !engine.Output(body, j).equalities.empty()) linked.insert(j);
    }
    memo_->emplace(key, linked);
    return linked;
  }

  // --- collecting the facts -------------------------------------------------------------------

  void CollectBlock(const BoundQuery& query, const Stack& enclosing) {
    if (!visited_.insert(&query).second) return;
    // A CTE body sees no enclosing query.
    for (const sql::BoundCte& cte : query.ctes) CollectBlock(*cte.query, {});
    if (query.set_operation != sql::SetOperation::kNone) {
      CollectBlock(*query.set_left, enclosing);
      CollectBlock(*query.set_right, enclosing);
      return;
    }
    Stack stack = enclosing;
    stack.push_back(&query);
    block_stacks_[&query] = stack;
    for (const sql::BoundTable& table : query.tables) {
      if (table.derived && table.cte_id < 0) CollectBlock(*table.derived, stack);
    }
    std::vector<Bound> bounds;
    std::function<void(const sql::BoundFrom&)> from = [&](const sql::BoundFrom& node) {
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
      if (node.on) Predicate(*node.on, stack, sql::kClauseJoinOn, Polarity::kPositive, bounds);
    };
    for (const auto& root : query.from) from(*root);
    if (query.where) Predicate(*query.where, stack, sql::kClauseWhere, Polarity::kPositive, bounds);
    if (query.having) {
      Predicate(*query.having, stack, sql::kClauseHaving, Polarity::kPositive, bounds);
    }
    // A comparison computed as a value can be filtered on one level up (SELECT n, n = t.id AS
    // hit … WHERE hit): whether it ends up true or false is not known here, so both count.
    for (const sql::BoundSelectItem& item : query.select) {
      if (item.expr) Predicate(*item.expr, stack, sql::kClauseSelect, Polarity::kUnknown, bounds);
    }
    for (const auto& group : query.group_by) {
      Predicate(*group, stack, sql::kClauseGroupBy, Polarity::kUnknown, bounds);
    }
    for (const sql::BoundOrderItem& order : query.order_by) {
      Predicate(*order.expr, stack, sql::kClauseOrderBy, Polarity::kUnknown, bounds);
    }
    // A value bounded on both sides (x >= a AND x < b, in any clause of the block) is pinned
    // between them: with a = t.id and b = t.id + 1 it is t.id.
    // One fact per bounded value, with every bound of it (not one per pair of bounds, which
    // would grow with the square of the comparisons).
    std::vector<bool> done(bounds.size(), false);
    for (size_t i = 0; i < bounds.size(); ++i) {
      if (done[i]) continue;
      const BoundExpr& value = *bounds[i].high;
      std::vector<Side> sides = {Side{stack, &value}};
      bool has_low = false, has_high = false;
      for (size_t j = i; j < bounds.size(); ++j) {
        if (bounds[j].high->SameAs(value)) {
          done[j] = true;
          has_low = true;
          sides.push_back(Side{stack, bounds[j].low});
        } else if (bounds[j].low->SameAs(value)) {
          has_high = true;
          sides.push_back(Side{stack, bounds[j].high});
        }
      }
      for (size_t j = 0; j < i; ++j) {
        if (bounds[j].low->SameAs(value)) {
          has_high = true;
          sides.push_back(Side{stack, bounds[j].high});
        }
      }
      if (has_low && has_high) {
        AddFact(std::move(sides), "the range comparisons", bounds[i].clause, bounds[i].location);
      }
    }
    ForEachExprOfBlock(query, [&](const BoundExpr& expr) {
      if (expr.subquery) CollectBlock(*expr.subquery, stack);
    });
  }

  void AddFact(std::vector<Side> sides, std::string predicate, const char* clause, int location) {
    facts_.push_back(Fact{std::move(sides), std::move(predicate), clause, location});
  }

  // Records the facts of a predicate of `clause`, evaluated in the block on top of `stack`.
  void Predicate(const BoundExpr& expr, const Stack& stack, const char* clause, Polarity polarity,
                 std::vector<Bound>& bounds) {
    // Whether a comparison that holds when `positive` is what the predicate needs.
    auto holds = [&](bool positive) {
      return polarity == Polarity::kUnknown || (polarity == Polarity::kPositive) == positive;
    };
    auto sides = [&](std::initializer_list<const BoundExpr*> exprs) {
      std::vector<Side> result;
      for (const BoundExpr* e : exprs) result.push_back(Side{stack, e});
      return result;
    };
    switch (expr.kind) {
      case BoundExprKind::kBinaryOp: {
        const std::string& op = expr.name;
        if (op == "AND" || op == "OR") {
          // Both branches of an OR count: the other one can be made false for the rows that
          // matter (… OR 1 = 0).
          Predicate(*expr.args[0], stack, clause, polarity, bounds);
          Predicate(*expr.args[1], stack, clause, polarity, bounds);
          return;
        }
        if (op == "=" || op == "IS NOT DISTINCT FROM") {
          if (holds(true)) {
            AddFact(sides({expr.args[0].get(), expr.args[1].get()}),
                    op == "=" ? "the equality" : "IS NOT DISTINCT FROM", clause, expr.location);
          }
          return;
        }
        if (op == "<>" || op == "!=" || op == "IS DISTINCT FROM") {
          if (holds(false)) {
            AddFact(sides({expr.args[0].get(), expr.args[1].get()}),
                    op == "IS DISTINCT FROM" ? "the negated IS DISTINCT FROM"
                                             : "the negated inequality",
                    clause, expr.location);
          }
          return;
        }
        if (op == "LIKE" || op == "ILIKE") {
          // A pattern without wildcards matches only itself: x LIKE t.email is x = t.email.
          if (holds(!expr.negated)) {
            AddFact(sides({expr.args[0].get(), expr.args[1].get()}), op, clause, expr.location);
          }
          return;
        }
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
          const BoundExpr* left = expr.args[0].get();
          const BoundExpr* right = expr.args[1].get();
          bool left_below = op == "<" || op == "<=";
          if (holds(true)) {
            bounds.push_back(left_below ? Bound{left, right, clause, expr.location}
                                        : Bound{right, left, clause, expr.location});
          }
          if (holds(false)) {
            bounds.push_back(left_below ? Bound{right, left, clause, expr.location}
                                        : Bound{left, right, clause, expr.location});
          }
          // A side that combines several columns can pin one to another on its own:
          // ABS(x - t.id) < 1 and (x - t.id) * (x - t.id) < 1 are x = t.id.
          for (const BoundExpr* side : {left, right}) {
            std::vector<Slot> slots = SlotsOf(Side{stack, side});
            std::set<Slot> distinct(slots.begin(), slots.end());
            if (distinct.size() >= 2)
              AddFact({Side{stack, side}}, "the comparison", clause, expr.location);
          }
          return;
        }
        break;
      }
      case BoundExprKind::kUnaryOp:
        if (expr.name == "NOT") {
          Predicate(*expr.args[0], stack, clause, Flip(polarity), bounds);
          return;
        }
        break;
      case BoundExprKind::kInList:
        if (holds(!expr.negated)) {
          for (size_t i = 1; i < expr.args.size(); ++i) {
            AddFact(sides({expr.args[0].get(), expr.args[i].get()}), "the IN list", clause,
                    expr.location);
          }
        }
        return;
      case BoundExprKind::kBetween:
        if (holds(!expr.negated) && expr.args.size() == 3) {
          AddFact(sides({expr.args[0].get(), expr.args[1].get(), expr.args[2].get()}), "BETWEEN",
                  clause, expr.location);
        }
        return;
      case BoundExprKind::kSubquery:
        // NOT IN (subquery) counts too: like NOT EXISTS, it keeps the runner's values outside the
        // protected set, and so tells which ones are in it.
        if (expr.what == "IN (subquery)" && !expr.args.empty()) {
          ForEachLeaf(*expr.subquery, stack, [&](const BoundQuery& leaf, const Stack& inner) {
            if (leaf.select.empty() || !leaf.select[0].expr) return;
            AddFact({Side{stack, expr.args[0].get()}, Side{inner, leaf.select[0].expr.get()}},
                    "IN (subquery)", clause, expr.location);
          });
        }
        // EXISTS and the subquery's own predicates are facts of its block (CollectBlock).
        for (const auto& arg : expr.args) {
          Predicate(*arg, stack, clause, Polarity::kUnknown, bounds);
        }
        return;
      case BoundExprKind::kScalar:
        // A function whose value is the predicate (starts_with, regexp_matches, …) relates its
        // arguments as a comparison does, and may pin one to another.
        if (holds(true) && expr.args.size() >= 2) {
          std::vector<Side> arguments;
          for (const auto& arg : expr.args) arguments.push_back(Side{stack, arg.get()});
          AddFact(std::move(arguments), absl::StrCat(absl::AsciiStrToUpper(expr.name), "()"),
                  clause, expr.location);
        }
        break;
      default:
        break;
    }
    // Anything else (CASE, COALESCE, a comparison with TRUE, a function): whether the
    // comparisons inside it must hold or must fail is not known, so both count.
    for (const auto& arg : expr.args) Predicate(*arg, stack, clause, Polarity::kUnknown, bounds);
    for (const auto& part : expr.partition_by) {
      Predicate(*part, stack, clause, Polarity::kUnknown, bounds);
    }
    for (const sql::BoundOrderItem& order : expr.window_order) {
      Predicate(*order.expr, stack, clause, Polarity::kUnknown, bounds);
    }
  }

  const BoundQuery& root_;
  Stack enclosing_;
  IsProtected is_protected_;
  std::shared_ptr<LinkMemo> memo_;
  std::set<const BoundQuery*> visited_;
  std::map<const BoundQuery*, Stack> block_stacks_;  // each block's stack, itself on top
  std::vector<Fact> facts_;
  std::map<Slot, EqualityReason> protected_;  // slots protected by equality, with the first reason
};

ProtectionTracer::ProtectionTracer(const sql::BoundQuery& statement, IsProtected is_protected)
    : engine_(std::make_unique<Engine>(statement, Stack{}, std::move(is_protected),
                                       std::make_shared<Engine::LinkMemo>())) {
  engine_->Run();
}

ProtectionTracer::~ProtectionTracer() = default;

ValueSources ProtectionTracer::Output(size_t position) {
  return engine_->Output(engine_->root(), position);
}

std::optional<EqualityReason> ProtectionTracer::EqualityOf(const sql::BoundExpr& column) const {
  if (column.kind != BoundExprKind::kColumn || column.outer_depth != 0) return std::nullopt;
  return engine_->SlotReason(Slot{&engine_->root(), column.table_index, column.column});
}

std::string ProtectedByEqualityMessage(std::string_view subject, const EqualityReason& reason,
                                       std::string_view source_text) {
  const BaseColumn& column = reason.protected_column;
  std::string table = column.first != nullptr ? column.first->name : "";
  std::string position = sql::DescribePosition(source_text, reason.location);
  std::string where = absl::StrCat(reason.predicate, " in ", reason.clause);
  if (!position.empty()) absl::StrAppend(&where, " at ", position);
  return absl::StrCat(std::string(subject), " is compared equal to column '", column.second,
                      "' of table '", table, "', which may not be output (by ", where, ")");
}

}  // namespace parley::policy
