#include "policy/encryption_check.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;

const char* KindWord(ColumnEncryption kind) {
  return kind == ColumnEncryption::kSealed ? "sealed" : "fingerprint";
}

// Where a column of a query comes from: the base column and its encryption, if it passes through
// unchanged from one.
struct Origin {
  const EncryptedColumn* encryption = nullptr;  // nullptr: cleartext (or computed)
  std::string table;
  std::string owner;
  std::string column;

  bool encrypted() const { return encryption != nullptr; }
  ColumnEncryption kind() const {
    return encryption ? encryption->kind : ColumnEncryption::kCleartext;
  }
  std::string Name() const { return absl::StrCat(table, ".", column); }
};

// How a block's SELECT list is used: the final result, a pass-through (CTE, derived table), a
// branch of a set operation, or the value of an expression subquery.
enum class BlockUse { kFinal, kPassThrough, kSetBranch, kExpressionSubquery };

struct Context {
  const char* clause;
  bool conjunct;  // reached from the root of JOIN ON or WHERE through ANDs only
};

class Checker {
 public:
  Checker(const EncryptionPolicy& policy, Verdict& verdict) : policy_(policy), verdict_(verdict) {}

  void Block(const BoundQuery& query, BlockUse use, std::vector<const BoundQuery*> stack) {
    stack.push_back(&query);
    for (const sql::BoundCte& cte : query.ctes) {
      if (cte.query) Block(*cte.query, BlockUse::kPassThrough, stack);
    }
    if (query.set_operation != sql::SetOperation::kNone) {
      if (query.set_left) Block(*query.set_left, BlockUse::kSetBranch, stack);
      if (query.set_right) Block(*query.set_right, BlockUse::kSetBranch, stack);
      return;
    }
    for (const sql::BoundTable& table : query.tables) {
      if (table.derived && table.cte_id < 0) Block(*table.derived, BlockUse::kPassThrough, stack);
    }
    for (const sql::BoundSelectItem& item : query.select) {
      if (!item.expr) continue;
      if (item.expr->kind == BoundExprKind::kColumn) {
        Origin origin = Resolve(*item.expr, stack);
        if (origin.encrypted()) {
          SelectedColumn(query, use, origin, *item.expr);
          continue;
        }
      }
      Visit(*item.expr, {sql::kClauseSelect, false}, stack);
    }
    for (const auto& from : query.from) From(*from, stack);
    if (query.where) Visit(*query.where, {sql::kClauseWhere, true}, stack);
    for (const auto& group : query.group_by) {
      if (group->kind == BoundExprKind::kColumn) {
        Origin origin = Resolve(*group, stack);
        if (origin.kind() == ColumnEncryption::kSealed) {
          Refuse(origin, *group, sql::kClauseGroupBy,
                 absl::StrCat("sealed column '", origin.Name(),
                              "' cannot be grouped by: every cell is encrypted with a fresh nonce"),
                 "output it without grouping, or group by a fingerprint column");
          continue;
        }
        if (origin.kind() == ColumnEncryption::kFingerprint) {
          if (!policy_.preserve_nulls) RefuseNulls(origin, *group, sql::kClauseGroupBy, "GROUP BY");
          continue;
        }
      }
      Visit(*group, {sql::kClauseGroupBy, false}, stack);
    }
    if (query.having) Visit(*query.having, {sql::kClauseHaving, false}, stack);
    for (const sql::BoundOrderItem& order : query.order_by) {
      Visit(*order.expr, {sql::kClauseOrderBy, false}, stack);
    }
  }

 private:
  void From(const sql::BoundFrom& from, const std::vector<const BoundQuery*>& stack) {
    if (from.left) From(*from.left, stack);
    if (from.right) From(*from.right, stack);
    if (from.on) Visit(*from.on, {sql::kClauseJoinOn, true}, stack);
  }

  void SelectedColumn(const BoundQuery& query, BlockUse use, const Origin& origin,
                      const BoundExpr& expr) {
    if (use == BlockUse::kSetBranch) {
      Refuse(origin, expr, sql::kClauseSelect,
             absl::StrCat(KindWord(origin.kind()), " column '", origin.Name(),
                          "' cannot be an output of a set operation (UNION, INTERSECT, EXCEPT)"),
             "");
      return;
    }
    if (use == BlockUse::kExpressionSubquery) {
      Refuse(origin, expr, sql::kClauseSelect,
             absl::StrCat(KindWord(origin.kind()), " column '", origin.Name(),
                          "' cannot be the value of a subquery (it would be compared or computed "
                          "with)"),
             "join on it with '=' to another fingerprint column instead");
      return;
    }
    if (query.distinct) {
      if (origin.kind() == ColumnEncryption::kSealed) {
        Refuse(origin, expr, sql::kClauseSelect,
               absl::StrCat("SELECT DISTINCT cannot deduplicate sealed column '", origin.Name(),
                            "': every cell is encrypted with a fresh nonce"),
               "");
      } else if (!policy_.preserve_nulls) {
        RefuseNulls(origin, expr, sql::kClauseSelect, "SELECT DISTINCT");
      }
    }
  }

  void Visit(const BoundExpr& expr, Context context, const std::vector<const BoundQuery*>& stack) {
    Context inner{context.clause, false};
    switch (expr.kind) {
      case BoundExprKind::kColumn: {
        Origin origin = Resolve(expr, stack);
        if (origin.encrypted()) RefuseInExpression(origin, expr, context.clause);
        return;
      }
      case BoundExprKind::kAggregate: {
        if (expr.name == "count" && expr.value_args() == 1 &&
            expr.args[0]->kind == BoundExprKind::kColumn) {
          Origin origin = Resolve(*expr.args[0], stack);
          if (origin.kind() == ColumnEncryption::kSealed) {
            Refuse(origin, expr, context.clause,
                   absl::StrCat("sealed column '", origin.Name(),
                                "' can only be output, not counted: count a fingerprint column"),
                   "");
          }
          if (expr.has_filter) Visit(*expr.filter(), {sql::kClauseFilter, false}, stack);
          return;
        }
        break;
      }
      case BoundExprKind::kBinaryOp: {
        if (expr.name == "AND" && context.conjunct) {
          for (const auto& arg : expr.args) Visit(*arg, context, stack);
          return;
        }
        if (expr.args.size() == 2 && expr.args[0]->kind == BoundExprKind::kColumn &&
            expr.args[1]->kind == BoundExprKind::kColumn) {
          Origin left = Resolve(*expr.args[0], stack);
          Origin right = Resolve(*expr.args[1], stack);
          if (left.encrypted() || right.encrypted()) {
            Comparison(expr, left, right, context);
            return;
          }
        }
        break;
      }
      case BoundExprKind::kIsNull: {
        if (expr.args.size() == 1 && expr.args[0]->kind == BoundExprKind::kColumn) {
          Origin origin = Resolve(*expr.args[0], stack);
          if (origin.encrypted()) {
            if (!policy_.preserve_nulls) {
              RefuseNulls(origin, expr, context.clause, "a NULL test (IS NULL, IS NOT NULL)");
            }
            return;
          }
        }
        break;
      }
      case BoundExprKind::kSubquery: {
        if (expr.subquery) Block(*expr.subquery, BlockUse::kExpressionSubquery, stack);
        break;
      }
      default:
        break;
    }
    for (const auto& arg : expr.args) Visit(*arg, inner, stack);
    for (const auto& partition : expr.partition_by) Visit(*partition, inner, stack);
    for (const sql::BoundOrderItem& order : expr.window_order) Visit(*order.expr, inner, stack);
  }

  void Comparison(const BoundExpr& expr, const Origin& left, const Origin& right, Context context) {
    const Origin& encrypted = left.encrypted() ? left : right;
    bool both_fingerprints = left.kind() == ColumnEncryption::kFingerprint &&
                             right.kind() == ColumnEncryption::kFingerprint;
    if (!both_fingerprints || expr.name != "=" || expr.negated || !context.conjunct) {
      Refuse(encrypted, expr, context.clause,
             absl::StrCat(KindWord(encrypted.kind()), " column '", encrypted.Name(),
                          "' can be compared only with '=' to another fingerprint column, as a "
                          "join condition (JOIN ON or WHERE, combined with AND)"),
             "");
      return;
    }
    if (left.encryption->key_id != right.encryption->key_id) {
      Refuse(right, expr, context.clause,
             absl::StrCat("fingerprint columns '", left.Name(), "' and '", right.Name(),
                          "' were encrypted with different secrets, collaboration ids or settings: "
                          "the join would match nothing"),
             "encrypt both tables with the collaboration's shared secret and settings");
      return;
    }
    if (!policy_.allow_joins_on_columns_with_different_names &&
        !absl::EqualsIgnoreCase(left.column, right.column)) {
      Refuse(right, expr, context.clause,
             absl::StrCat("fingerprint columns '", left.Name(), "' and '", right.Name(),
                          "' have different names, and collaboration '", policy_.collaboration,
                          "' does not allow joins on columns with different names"),
             "");
    }
  }

  void RefuseInExpression(const Origin& origin, const BoundExpr& expr, const char* clause) {
    std::string what = std::string_view(clause) == sql::kClauseOrderBy
                           ? "cannot be ordered by"
                           : "cannot be used in a function, operator, cast, CASE or comparison";
    std::string allowed = origin.kind() == ColumnEncryption::kSealed
                              ? "a sealed column may only be output as it is"
                              : "a fingerprint column may be joined with '=', counted (COUNT, "
                                "COUNT DISTINCT), grouped or output as it is";
    Refuse(origin, expr, clause,
           absl::StrCat(KindWord(origin.kind()), " column '", origin.Name(), "' ", what), allowed);
  }

  void RefuseNulls(const Origin& origin, const BoundExpr& expr, const char* clause,
                   const std::string& what) {
    Refuse(origin, expr, clause,
           absl::StrCat(what, " on encrypted column '", origin.Name(),
                        "' needs the collaboration setting preserve_nulls: without it each NULL "
                        "was encrypted as a value of its own, and the answer would be wrong"),
           "");
  }

  void Refuse(const Origin& origin, const BoundExpr& expr, const char* clause,
              const std::string& message, const std::string& hint) {
    for (const Violation& existing : verdict_.violations) {
      if (existing.code == "encrypted_column" && existing.location == expr.location &&
          existing.message == message) {
        return;  // a CTE body is reached once per reference; report it once
      }
    }
    Violation violation;
    violation.code = "encrypted_column";
    violation.rule = "encryption";
    violation.table = origin.table;
    violation.owner = origin.owner;
    violation.column = origin.column;
    violation.clause = clause;
    violation.location = expr.location;
    violation.message = message;
    violation.hint = hint;
    verdict_.violations.push_back(std::move(violation));
  }

  // The base column `expr` (a kColumn) passes through unchanged, if any.
  Origin Resolve(const BoundExpr& expr, const std::vector<const BoundQuery*>& stack) const {
    if (expr.outer_depth < 0 || static_cast<size_t>(expr.outer_depth) >= stack.size()) return {};
    const BoundQuery* query = stack[stack.size() - 1 - expr.outer_depth];
    if (expr.table_index < 0 || static_cast<size_t>(expr.table_index) >= query->tables.size()) {
      return {};
    }
    return ResolveIn(query->tables[expr.table_index], expr.column, 0);
  }

  Origin ResolveIn(const sql::BoundTable& table, const std::string& column, int depth) const {
    if (depth > 64) return {};
    if (table.is_base()) {
      Origin origin;
      origin.table = table.schema->name;
      origin.owner = table.schema->owner;
      origin.column = column;
      origin.encryption = policy_.Find(table.schema->name, column);
      if (origin.encryption != nullptr && origin.encryption->kind == ColumnEncryption::kCleartext) {
        origin.encryption = nullptr;
      }
      return origin;
    }
    if (!table.derived) return {};
    const BoundQuery* derived = table.derived.get();
    // A set operation's outputs are named after its left branch; its branches refuse encrypted
    // outputs, so what comes out of it is cleartext.
    if (derived->set_operation != sql::SetOperation::kNone) return {};
    for (const sql::BoundSelectItem& item : derived->select) {
      if (!item.expr || !absl::EqualsIgnoreCase(item.output_name, column)) continue;
      if (item.expr->kind != BoundExprKind::kColumn || item.expr->outer_depth != 0) return {};
      if (item.expr->table_index < 0 ||
          static_cast<size_t>(item.expr->table_index) >= derived->tables.size()) {
        return {};
      }
      return ResolveIn(derived->tables[item.expr->table_index], item.expr->column, depth + 1);
    }
    return {};
  }

  const EncryptionPolicy& policy_;
  Verdict& verdict_;
};

}  // namespace

const EncryptedColumn* EncryptionPolicy::Find(const std::string& table,
                                              const std::string& column) const {
  auto found = tables.find(absl::AsciiStrToLower(table));
  if (found == tables.end()) return nullptr;
  auto entry = found->second.find(absl::AsciiStrToLower(column));
  return entry == found->second.end() ? nullptr : &entry->second;
}

void CheckEncryptedColumns(const sql::BoundQuery& query, const EncryptionPolicy& policy,
                           Verdict& verdict) {
  if (policy.empty()) return;
  Checker(policy, verdict).Block(query, BlockUse::kFinal, {});
}

}  // namespace parley::policy
