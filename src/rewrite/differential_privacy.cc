#include "rewrite/differential_privacy.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/row_identity.h"
#include "policy/violation_builder.h"
#include "sql/parser.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using Expr = std::unique_ptr<BoundExpr>;

Expr Node(BoundExprKind kind, std::string name, sql::Type type) {
  auto node = std::make_unique<BoundExpr>();
  node->kind = kind;
  node->name = std::move(name);
  node->type = std::move(type);
  return node;
}

Expr Column(int table_index, std::string column, sql::Type type) {
  Expr node = Node(BoundExprKind::kColumn, "", std::move(type));
  node->table_index = table_index;
  node->column = std::move(column);
  return node;
}

Expr Call(BoundExprKind kind, std::string name, sql::Type type, std::vector<Expr> args) {
  Expr node = Node(kind, std::move(name), std::move(type));
  for (Expr& arg : args) node->args.push_back(std::move(arg));
  return node;
}

Expr Constant(sql::ConstantKind kind, std::string text, sql::Type type) {
  Expr node = Node(BoundExprKind::kConstant, "", std::move(type));
  node->constant = sql::Constant{kind, std::move(text)};
  return node;
}

Expr Integer(int64_t value) {
  return Constant(sql::ConstantKind::kInteger, std::to_string(value), sql::TypeKind::kBigint);
}

Expr Binary(std::string op, Expr left, Expr right) {
  std::vector<Expr> args;
  args.push_back(std::move(left));
  args.push_back(std::move(right));
  return Call(BoundExprKind::kBinaryOp, std::move(op), sql::TypeKind::kBoolean, std::move(args));
}

Expr And(Expr left, Expr right) {
  if (!left) return right;
  return Binary("AND", std::move(left), std::move(right));
}

Expr CountStar() {
  Expr count = Node(BoundExprKind::kAggregate, "count", sql::TypeKind::kBigint);
  count->star_argument = true;
  return count;
}

Expr Aggregate(std::string name, sql::Type type, Expr arg) {
  std::vector<Expr> args;
  args.push_back(std::move(arg));
  return Call(BoundExprKind::kAggregate, std::move(name), std::move(type), std::move(args));
}

Expr Scalar(std::string name, sql::Type type, Expr a, Expr b) {
  std::vector<Expr> args;
  args.push_back(std::move(a));
  args.push_back(std::move(b));
  return Call(BoundExprKind::kScalar, std::move(name), std::move(type), std::move(args));
}

// What a sum of a column is computed in, as the engine sums it, and the grid its noise is on.
struct SumKind {
  sql::Type type;
  int grid_exponent = 0;
};

std::optional<SumKind> SumKindOf(const sql::Type& column) {
  if (column.IsInteger()) return SumKind{sql::TypeKind::kHugeint, 0};
  if (column.kind() == sql::TypeKind::kDecimal) {
    return SumKind{sql::Type::Decimal(38, column.scale()), column.scale()};
  }
  // Floating-point sums are released on a grid of 0.01 (docs/rules.md).
  if (column.IsFloating()) return SumKind{sql::TypeKind::kDouble, 2};
  return std::nullopt;
}

// A bound as a constant of the sum's type, rounded inward onto its grid so that a clamped value
// never exceeds the declared bound's magnitude.
Expr BoundConstant(double bound, bool upper, const SumKind& kind) {
  long double scaled = static_cast<long double>(bound) * std::pow(10.0L, kind.grid_exponent);
  long double on_grid = upper ? std::floor(scaled) : std::ceil(scaled);
  if (kind.type.kind() == sql::TypeKind::kHugeint) {
    return Constant(sql::ConstantKind::kInteger, absl::StrFormat("%.0Lf", on_grid), kind.type);
  }
  std::string text =
      absl::StrFormat("%.*Lf", kind.grid_exponent, on_grid / std::pow(10.0L, kind.grid_exponent));
  if (text.find('.') == std::string::npos) text += ".0";
  return Constant(sql::ConstantKind::kFloat, text, kind.type);
}

class PrivatePlanBuilder {
 public:
  PrivatePlanBuilder(sql::BoundQuery& query, policy::Verdict& verdict,
                     const PrivacyRequest& request, std::string_view source_text,
                     const sql::Capabilities& capabilities)
      : query_(query),
        verdict_(verdict),
        target_(*verdict.differential_privacy),
        request_(request),
        source_text_(source_text),
        capabilities_(capabilities) {}

  std::optional<dp::NoisePlan> Build() {
    Classify();
    if (!verdict_.allowed()) return std::nullopt;
    plan_.grouped = !query_.group_by.empty();
    plan_.max_groups_per_unit = target_.rule.max_groups_per_unit;
    plan_.minimum_units = target_.minimum_units;
    plan_.epsilon = request_.epsilon;
    plan_.delta = plan_.grouped ? request_.delta : 0;
    if (absl::Status scaled = dp::SetScales(plan_); !scaled.ok()) {
      Refuse("dp_no_delta", sql::kClauseSelect, -1, std::string(scaled.message()),
             "ask the collaboration's creator for a budget with a delta, or query without GROUP "
             "BY");
      return std::nullopt;
    }
    Rewrite();
    return std::move(plan_);
  }

 private:
  struct SumColumn {
    std::string column;
    sql::Type type;
    SumKind kind;
    int sum_measure = -1;
    int count_measure = -1;
    int value_index = 0;  // v<i> in the rows block
  };

  void Refuse(const char* code, const char* clause, int location, std::string message,
              std::string hint = "", std::string column = "") {
    policy::Violation violation = policy::MakeViolation(
        "aggregation", code, policy::Attribution{target_.table, target_.owner}, std::move(column),
        clause, location, std::move(message), std::move(hint));
    violation.position = sql::DescribePosition(source_text_, violation.location);
    verdict_.violations.push_back(std::move(violation));
  }

  std::string Prefix() const {
    return absl::StrCat("with differential privacy on table '", target_.table, "', ");
  }

  bool IsPrivateColumn(const BoundExpr& expr) const {
    return expr.kind == BoundExprKind::kColumn && expr.outer_depth == 0 &&
           expr.table_index == target_.table_index;
  }

  int AddMeasure(dp::Measure::Kind kind, uint64_t sensitivity, int grid_exponent = 0) {
    dp::Measure measure;
    measure.kind = kind;
    measure.sensitivity = sensitivity;
    measure.grid_exponent = grid_exponent;
    plan_.measures.push_back(measure);
    return static_cast<int>(plan_.measures.size()) - 1;
  }

  // The sum (and, for AVG, the count) measures of a column of the private table; nullptr after
  // refusing it.
  SumColumn* SumOf(const BoundExpr& aggregate, const std::string& function) {
    const BoundExpr& argument = *aggregate.args[0];
    if (!IsPrivateColumn(argument)) {
      Refuse("dp_unbounded_column", sql::kClauseSelect, aggregate.location,
             absl::StrCat(Prefix(), function,
                          " of a column of another table cannot be bounded: "
                          "only the columns of table '",
                          target_.table, "' have declared bounds"),
             "aggregate the private table's columns, or query the other table on its own");
      return nullptr;
    }
    auto bounds = target_.rule.bounds.find(argument.column);
    std::optional<SumKind> kind = SumKindOf(argument.type);
    if (bounds == target_.rule.bounds.end() || !kind.has_value()) {
      Refuse(
          "dp_missing_bounds", sql::kClauseSelect, aggregate.location,
          absl::StrCat(Prefix(), function, " of column '", argument.column,
                       "' needs bounds, and its differential_privacy declares none for it"),
          absl::StrCat("its owner '", target_.owner, "' can add {\"column\": \"", argument.column,
                       "\", \"minimum\": …, \"maximum\": …} to differential_privacy.bounds"),
          argument.column);
      return nullptr;
    }
    for (SumColumn& known : sums_) {
      if (known.column == argument.column) return &known;
    }
    SumColumn sum;
    sum.column = argument.column;
    sum.type = argument.type;
    sum.kind = *kind;
    sum.value_index = static_cast<int>(sums_.size());
    sums_.push_back(sum);
    return &sums_.back();
  }

  void EnsureSumMeasure(SumColumn& sum) {
    if (sum.sum_measure >= 0) return;
    const policy::ValueBounds& bounds = target_.rule.bounds.at(sum.column);
    // One unit changes a group's clamped sum by at most R·max(|min|, |max|); rounded onto the
    // grid, by at most that many grid units rounded up, plus one; over its K groups, K times it.
    long double reach = static_cast<long double>(target_.rule.max_rows_per_unit) *
                        std::max(std::fabs(bounds.minimum), std::fabs(bounds.maximum)) *
                        std::pow(10.0L, sum.kind.grid_exponent);
    uint64_t per_group = static_cast<uint64_t>(std::ceil(reach)) + 1;
    sum.sum_measure =
        AddMeasure(dp::Measure::Kind::kSum, per_group * target_.rule.max_groups_per_unit,
                   sum.kind.grid_exponent);
    plan_.measures[sum.sum_measure].target_unit =
        std::max(std::fabs(bounds.minimum), std::fabs(bounds.maximum));
  }

  void EnsureCountMeasure(SumColumn& sum) {
    if (sum.count_measure >= 0) return;
    sum.count_measure =
        AddMeasure(dp::Measure::Kind::kValueCount,
                   target_.rule.max_rows_per_unit * target_.rule.max_groups_per_unit);
  }

  void Classify() {
    if (request_.epsilon <= 0) {
      Refuse("dp_no_budget", sql::kClauseFrom, query_.tables[target_.table_index].location,
             absl::StrCat("table '", target_.table,
                          "' uses differential privacy, and this collaboration has no privacy "
                          "budget"),
             "a collaboration created with a privacy budget (parley collab create --dp-epsilon …) "
             "can query it");
      return;
    }
    if (query_.having) {
      Refuse("dp_having", sql::kClauseHaving, query_.having->location,
             Prefix() + "HAVING is not supported: groups are selected privately",
             "filter the noisy result yourself");
    }
    if (!query_.order_by.empty()) {
      Refuse("dp_order_by", sql::kClauseOrderBy, query_.order_by[0].location,
             Prefix() + "ORDER BY is not supported", "sort the noisy result yourself");
    }
    // measures[0]: the unit count, which selects groups.
    AddMeasure(dp::Measure::Kind::kUnits, target_.rule.max_groups_per_unit);
    for (const sql::BoundSelectItem& item : query_.select) {
      const BoundExpr& expr = *item.expr;
      dp::OutputColumn output;
      output.name = item.output_name;
      bool key = false;
      for (size_t i = 0; i < query_.group_by.size(); ++i) {
        if (query_.group_by[i]->SameAs(expr)) {
          output.kind = dp::OutputColumn::Kind::kKey;
          output.engine_column = static_cast<int>(i);
          key = true;
        }
      }
      if (key) {
        plan_.outputs.push_back(output);
        continue;
      }
      if (expr.kind != BoundExprKind::kAggregate) {
        Refuse("dp_expression", sql::kClauseSelect, expr.location,
               Prefix() + "each aggregate must be selected on its own, not inside an expression",
               "select COUNT(*), COUNT(DISTINCT " + target_.rule.privacy_unit +
                   "), SUM(column) or AVG(column) as they are");
        continue;
      }
      if (expr.has_filter) {
        Refuse("dp_expression", sql::kClauseSelect, expr.filter()->location,
               Prefix() + "FILTER (WHERE ...) is not supported with differential privacy",
               "filter the rows with WHERE");
        continue;
      }
      std::string name = absl::AsciiStrToUpper(expr.name);
      if (name == "COUNT" && expr.star_argument) {
        if (rows_measure_ < 0) {
          rows_measure_ =
              AddMeasure(dp::Measure::Kind::kRows,
                         target_.rule.max_rows_per_unit * target_.rule.max_groups_per_unit);
        }
        output.kind = dp::OutputColumn::Kind::kCount;
        output.measure = rows_measure_;
      } else if (name == "COUNT" && expr.distinct && IsPrivateColumn(*expr.args[0]) &&
                 absl::EqualsIgnoreCase(expr.args[0]->column, target_.rule.privacy_unit)) {
        output.kind = dp::OutputColumn::Kind::kCount;
        output.measure = 0;
      } else if ((name == "SUM" || name == "AVG") && !expr.distinct) {
        SumColumn* sum = SumOf(expr, name);
        if (sum == nullptr) continue;
        EnsureSumMeasure(*sum);
        output.measure = sum->sum_measure;
        if (name == "SUM") {
          output.kind = dp::OutputColumn::Kind::kSum;
        } else {
          EnsureCountMeasure(*sum);
          output.kind = dp::OutputColumn::Kind::kAverage;
          output.count_measure = sum->count_measure;
        }
      } else {
        Refuse("dp_unsupported_aggregate", sql::kClauseSelect, expr.location,
               absl::StrCat(Prefix(), name, expr.distinct ? "(DISTINCT …)" : "(…)",
                            " is not supported"),
               absl::StrCat("supported: COUNT(*), COUNT(DISTINCT ", target_.rule.privacy_unit,
                            "), SUM and AVG of columns with declared bounds"));
        continue;
      }
      plan_.outputs.push_back(output);
    }
  }

  // A derived table reading `block`, at index 0 of the next block out.
  sql::BoundTable Derived(sql::BoundQuery block, std::string alias) {
    sql::BoundTable table;
    table.index = 0;
    table.render_id = next_render_id_++;
    table.alias = std::move(alias);
    for (const sql::BoundSelectItem& item : block.select) {
      table.columns.push_back(sql::ColumnInfo{item.output_name, item.expr->type});
    }
    table.derived = std::make_shared<const sql::BoundQuery>(std::move(block));
    return table;
  }

  static void Select(sql::BoundQuery& block, std::string name, Expr expr) {
    block.select.push_back(sql::BoundSelectItem{std::move(expr), std::move(name), -1, false});
  }

  // The engine's rows in the order of the group keys (NULLs last), on every engine: the noise is
  // drawn row by row, so the same seeded draws give the same answer on each engine, and the
  // released groups come in a stable order.
  static void OrderByKeys(sql::BoundQuery& block, std::vector<Expr> keys) {
    for (Expr& key : keys) {
      sql::BoundOrderItem order;
      order.expr = std::move(key);
      order.nulls_first = false;
      block.order_by.push_back(std::move(order));
    }
  }

  static void FromDerived(sql::BoundQuery& block, sql::BoundTable table) {
    block.tables.push_back(std::move(table));
    auto from = std::make_unique<sql::BoundFrom>();
    from->table_index = 0;
    block.from.push_back(std::move(from));
  }

  void Rewrite() {
    for (const sql::BoundTable& table : query_.tables) {
      next_render_id_ = std::max(next_render_id_, table.render_id + 1);
    }
    const int unit_table = target_.table_index;
    const sql::BoundTable& private_table = query_.tables[unit_table];
    sql::Type unit_type;
    for (const sql::ColumnInfo& column : private_table.columns) {
      if (absl::EqualsIgnoreCase(column.name, target_.rule.privacy_unit)) unit_type = column.type;
    }
    const size_t keys = query_.group_by.size();
    std::vector<sql::Type> key_types;
    for (const auto& key : query_.group_by) key_types.push_back(key->type);
    // The flag that counts a row of the private table once per group is read by the sums only
    // (COUNT(*) over a join is refused unless every table allows fan-out, and unit counts are
    // distinct by construction): without sums it would cost a window over the joined rows for
    // nothing.
    const bool joined = query_.tables.size() > 1 && !sums_.empty();
    const int64_t rows_cap = target_.rule.max_rows_per_unit;

    // Other tables' thresholds, on exact distinct counts per group, as without privacy.
    std::vector<std::pair<const policy::Threshold*, int64_t>> thresholds;
    std::map<std::pair<int, std::string>, int64_t> strictest;
    for (const policy::Threshold& threshold : verdict_.thresholds) {
      if (threshold.table_index == unit_table) continue;  // applied to the noisy unit count
      int64_t& minimum = strictest[{threshold.table_index, threshold.column}];
      minimum = std::max(minimum, threshold.minimum);
    }

    // --- rows ---
    sql::BoundQuery rows;
    rows.tables = std::move(query_.tables);
    rows.from = std::move(query_.from);
    Expr unit = Column(unit_table, target_.rule.privacy_unit, unit_type);
    Expr not_null = Node(BoundExprKind::kIsNull, "", sql::TypeKind::kBoolean);
    not_null->negated = true;
    not_null->args.push_back(unit->Clone());
    rows.where = And(std::move(query_.where), std::move(not_null));
    for (size_t i = 0; i < keys; ++i)
      Select(rows, absl::StrCat("k", i), query_.group_by[i]->Clone());
    Select(rows, "u", unit->Clone());
    for (const SumColumn& sum : sums_) {
      Select(rows, absl::StrCat("v", sum.value_index), Column(unit_table, sum.column, sum.type));
    }
    auto keys_of = [&](int table_index, const char* prefix) {
      std::vector<Expr> parts;
      for (size_t i = 0; i < keys; ++i) {
        parts.push_back(table_index < 0
                            ? query_.group_by[i]->Clone()
                            : Column(table_index, absl::StrCat(prefix, i), key_types[i]));
      }
      return parts;
    };
    if (joined) {
      // Each row of the private table once per group, however many rows of other tables it
      // matches.
      Expr first = Node(BoundExprKind::kWindow, "row_number", sql::TypeKind::kBigint);
      first->partition_by.push_back(Column(unit_table, kRowIdColumn, sql::TypeKind::kVarchar));
      for (Expr& key : keys_of(-1, "")) first->partition_by.push_back(std::move(key));
      Select(rows, "f", Binary("=", std::move(first), Integer(1)));
    }
    // (CountUnitsPerGroup joins the rows to their groups on IS NOT DISTINCT FROM the keys; an
    // engine without such joins takes the per-unit plan below, which gives the same counts.)
    const bool units_only =
        sums_.empty() && rows_measure_ < 0 && (keys == 0 || capabilities_.null_safe_joins);
    // Only unit counts: the other tables' thresholds are plain distinct counts over all the
    // group's rows, as in the thresholded query, and each unit's groups are chosen by an
    // aggregate (CountUnitsPerGroup).
    int threshold_index = 0;
    for (const auto& [key, minimum] : strictest) {
      const sql::BoundTable& table = rows.tables[key.first];
      sql::Type type;
      for (const sql::ColumnInfo& column : table.columns) {
        if (column.name == key.second) type = column.type;
      }
      if (units_only) {
        Select(rows, absl::StrCat("c", threshold_index++), Column(key.first, key.second, type));
        continue;
      }
      // Otherwise the first row of each (group, value) is flagged, and the flags are counted
      // per unit, then per group: the group's distinct count of the column, over all its rows.
      Expr first = Node(BoundExprKind::kWindow, "row_number", sql::TypeKind::kBigint);
      for (Expr& part : keys_of(-1, "")) first->partition_by.push_back(std::move(part));
      first->partition_by.push_back(Column(key.first, key.second, type));
      Expr present = Node(BoundExprKind::kIsNull, "", sql::TypeKind::kBoolean);
      present->negated = true;
      present->args.push_back(Column(key.first, key.second, type));
      Select(rows, absl::StrCat("c", threshold_index++),
             And(Binary("=", std::move(first), Integer(1)), std::move(present)));
    }
    if (units_only) {
      std::vector<sql::Type> threshold_types;
      for (const sql::BoundSelectItem& item : rows.select) {
        if (absl::StartsWith(item.output_name, "c")) threshold_types.push_back(item.expr->type);
      }
      std::vector<int64_t> minimums;
      for (const auto& [key, minimum] : strictest) minimums.push_back(minimum);
      if (keys > 0) {
        CountUnitsPerGroup(std::move(rows), key_types, unit_type, threshold_types, minimums);
        return;
      }
      sql::BoundQuery groups;
      FromDerived(groups, Derived(std::move(rows), "bounded_rows"));
      for (Expr& key : keys_of(0, "k")) groups.group_by.push_back(std::move(key));
      for (size_t i = 0; i < keys; ++i) {
        Select(groups, absl::StrCat("g", i), Column(0, absl::StrCat("k", i), key_types[i]));
      }
      Expr units = Aggregate("count", sql::TypeKind::kBigint, Column(0, "u", unit_type));
      units->distinct = true;
      Select(groups, "units", std::move(units));
      plan_.measures[0].engine_column = static_cast<int>(keys);
      int index = 0;
      for (const auto& [key, minimum] : strictest) {
        Expr distinct = Aggregate("count", sql::TypeKind::kBigint,
                                  Column(0, absl::StrCat("c", index), threshold_types[index]));
        distinct->distinct = true;
        ++index;
        groups.having =
            And(std::move(groups.having), Binary(">=", std::move(distinct), Integer(minimum)));
      }
      SetKeyTypes(key_types);
      query_ = std::move(groups);
      return;
    }

    // --- per unit: each unit's contribution to each group it reaches ---
    sql::BoundQuery per_unit;
    FromDerived(per_unit, Derived(std::move(rows), "bounded_rows"));
    for (Expr& key : keys_of(0, "k")) per_unit.group_by.push_back(std::move(key));
    per_unit.group_by.push_back(Column(0, "u", unit_type));
    for (size_t i = 0; i < keys; ++i) {
      Select(per_unit, absl::StrCat("k", i), Column(0, absl::StrCat("k", i), key_types[i]));
    }
    Select(per_unit, "u", Column(0, "u", unit_type));
    Select(per_unit, "n", CountStar());
    for (const SumColumn& sum : sums_) {
      auto value = [&]() -> Expr {
        Expr v = Column(0, absl::StrCat("v", sum.value_index), sum.type);
        if (!joined) return v;
        Expr when = Node(BoundExprKind::kCase, "", sum.type);
        when->args.push_back(Column(0, "f", sql::TypeKind::kBoolean));
        when->args.push_back(std::move(v));
        return when;
      };
      Select(per_unit, absl::StrCat("s", sum.value_index),
             Scalar("coalesce", sum.kind.type, Aggregate("sum", sum.kind.type, value()),
                    Constant(sql::ConstantKind::kInteger, "0", sum.kind.type)));
      Select(per_unit, absl::StrCat("m", sum.value_index),
             Aggregate("count", sql::TypeKind::kBigint, value()));
    }
    for (int i = 0; i < threshold_index; ++i) {
      Expr when = Node(BoundExprKind::kCase, "", sql::TypeKind::kInteger);
      when->args.push_back(Column(0, absl::StrCat("c", i), sql::TypeKind::kBoolean));
      when->args.push_back(Integer(1));
      Select(per_unit, absl::StrCat("c", i),
             Aggregate("count", sql::TypeKind::kBigint, std::move(when)));
    }

    // --- ranked: which of its groups a unit keeps (its first K in the order of the keys),
    // ranked over the per-unit rows, far fewer than the joined ones ---
    sql::BoundQuery ranked;
    std::vector<sql::ColumnInfo> per_unit_columns;
    for (const sql::BoundSelectItem& item : per_unit.select) {
      per_unit_columns.push_back(sql::ColumnInfo{item.output_name, item.expr->type});
    }
    FromDerived(ranked, Derived(std::move(per_unit), "per_unit"));
    for (const sql::ColumnInfo& column : per_unit_columns) {
      Select(ranked, column.name, Column(0, column.name, column.type));
    }
    if (keys > 0) {
      Expr rank = Node(BoundExprKind::kWindow, "row_number", sql::TypeKind::kBigint);
      rank->partition_by.push_back(Column(0, "u", unit_type));
      for (Expr& key : keys_of(0, "k")) {
        sql::BoundOrderItem order;
        order.expr = std::move(key);
        rank->window_order.push_back(std::move(order));
      }
      Select(ranked, "r", std::move(rank));
    }
    // A unit's contribution to a group counts only where the group is among its first K.
    auto kept = [&](Expr value, sql::Type type) -> Expr {
      if (keys == 0) return value;
      Expr when = Node(BoundExprKind::kCase, "", std::move(type));
      when->args.push_back(Binary("<=", Column(0, "r", sql::TypeKind::kBigint),
                                  Integer(target_.rule.max_groups_per_unit)));
      when->args.push_back(std::move(value));
      return when;
    };

    // --- groups: the block the engine returns ---
    sql::BoundQuery groups;
    FromDerived(groups, Derived(std::move(ranked), "ranked"));
    for (Expr& key : keys_of(0, "k")) groups.group_by.push_back(std::move(key));
    for (size_t i = 0; i < keys; ++i) {
      Select(groups, absl::StrCat("g", i), Column(0, absl::StrCat("k", i), key_types[i]));
    }
    std::vector<int> engine_column(plan_.measures.size(), 0);
    auto next_column = [&]() { return static_cast<int>(groups.select.size()) - 1; };
    Select(groups, "units",
           Aggregate("count", sql::TypeKind::kBigint, kept(Integer(1), sql::TypeKind::kBigint)));
    engine_column[0] = next_column();
    if (rows_measure_ >= 0) {
      Select(groups, "rows",
             Aggregate("sum", sql::TypeKind::kHugeint,
                       kept(Scalar("least", sql::TypeKind::kBigint,
                                   Column(0, "n", sql::TypeKind::kBigint), Integer(rows_cap)),
                            sql::TypeKind::kBigint)));
      engine_column[rows_measure_] = next_column();
    }
    for (const SumColumn& sum : sums_) {
      const policy::ValueBounds& bounds = target_.rule.bounds.at(sum.column);
      if (sum.sum_measure >= 0) {
        Expr clamped = Scalar("greatest", sum.kind.type,
                              Scalar("least", sum.kind.type,
                                     Column(0, absl::StrCat("s", sum.value_index), sum.kind.type),
                                     BoundConstant(bounds.maximum * rows_cap, true, sum.kind)),
                              BoundConstant(bounds.minimum * rows_cap, false, sum.kind));
        Select(groups, absl::StrCat("sum", sum.value_index),
               Aggregate("sum", sum.kind.type, kept(std::move(clamped), sum.kind.type)));
        engine_column[sum.sum_measure] = next_column();
      }
      if (sum.count_measure >= 0) {
        Select(
            groups, absl::StrCat("count", sum.value_index),
            Aggregate(
                "sum", sql::TypeKind::kHugeint,
                kept(Scalar("least", sql::TypeKind::kBigint,
                            Column(0, absl::StrCat("m", sum.value_index), sql::TypeKind::kBigint),
                            Integer(rows_cap)),
                     sql::TypeKind::kBigint)));
        engine_column[sum.count_measure] = next_column();
      }
    }
    int index = 0;
    for (const auto& [key, minimum] : strictest) {
      groups.having =
          And(std::move(groups.having),
              Binary(">=",
                     Aggregate("sum", sql::TypeKind::kHugeint,
                               Column(0, absl::StrCat("c", index++), sql::TypeKind::kBigint)),
                     Integer(minimum)));
    }
    for (size_t m = 0; m < plan_.measures.size(); ++m) {
      plan_.measures[m].engine_column = engine_column[m];
    }
    OrderByKeys(groups, keys_of(0, "k"));
    SetKeyTypes(key_types);
    query_ = std::move(groups);
  }

  // A reference to `cte`, at `index` of the block that reads it.
  sql::BoundTable CteTable(const sql::BoundCte& cte, int index, std::string alias) {
    sql::BoundTable table;
    table.index = index;
    table.render_id = next_render_id_++;
    table.alias = std::move(alias);
    for (const sql::BoundSelectItem& item : cte.query->select) {
      table.columns.push_back(sql::ColumnInfo{item.output_name, item.expr->type});
    }
    table.derived = cte.query;
    table.cte_id = cte.id;
    return table;
  }

  // FROM tables[0] <join> tables[1] ON `on`.
  static void FromJoin(sql::BoundQuery& block, sql::BoundTable left, sql::BoundTable right,
                       sql::JoinType join_type, Expr on) {
    left.index = 0;
    right.index = 1;
    block.tables.push_back(std::move(left));
    block.tables.push_back(std::move(right));
    auto join = std::make_unique<sql::BoundFrom>();
    join->is_join = true;
    join->join_type = join_type;
    join->left = std::make_unique<sql::BoundFrom>();
    join->left->table_index = 0;
    join->right = std::make_unique<sql::BoundFrom>();
    join->right->table_index = 1;
    join->on = std::move(on);
    block.from.push_back(std::move(join));
  }

  // The plan of a grouped query that selects only unit counts, without a window over the
  // joined rows (which sorted them all by unit and keys):
  //
  //   WITH rows   AS (SELECT k…, u, c… FROM <joins> WHERE … AND u IS NOT NULL),
  //        groups AS (SELECT k…, count(DISTINCT c0) d0…, row_number() OVER (ORDER BY k…) o
  //                   FROM rows GROUP BY k…)
  //   SELECT g.k… g…, coalesce(n.units, 0) units
  //   FROM groups g LEFT JOIN (SELECT o, count(*) units
  //                            FROM (SELECT min(g.o) o FROM rows JOIN groups g
  //                                  ON rows.k… IS NOT DISTINCT FROM g.k… GROUP BY rows.u)
  //                            GROUP BY o) n ON g.o = n.o
  //   WHERE g.d0 >= <other table's threshold> …
  //
  // o numbers every group in the order of its keys (the order the window used), so min(o) per
  // unit is its first group; with max_groups_per_unit K > 1 a unit's distinct (unit, o) pairs
  // are ranked instead — far fewer rows than the joined ones. A unit's choice is made among all
  // its groups, before any threshold, so it depends on that unit's rows alone. The joined rows
  // are computed once: DuckDB materialises a CTE read twice.
  void CountUnitsPerGroup(sql::BoundQuery rows, const std::vector<sql::Type>& key_types,
                          const sql::Type& unit_type, const std::vector<sql::Type>& threshold_types,
                          const std::vector<int64_t>& minimums) {
    const size_t keys = key_types.size();
    const int64_t max_groups = target_.rule.max_groups_per_unit;
    sql::BoundQuery plan;
    const sql::BoundCte rows_cte{0, "bounded_rows",
                                 std::make_shared<const sql::BoundQuery>(std::move(rows)), -1};

    sql::BoundQuery groups;
    groups.tables.push_back(CteTable(rows_cte, 0, "bounded_rows"));
    groups.from.push_back(std::make_unique<sql::BoundFrom>());
    groups.from.back()->table_index = 0;
    Expr ordinal = Node(BoundExprKind::kWindow, "row_number", sql::TypeKind::kBigint);
    for (size_t i = 0; i < keys; ++i) {
      Expr key = Column(0, absl::StrCat("k", i), key_types[i]);
      groups.group_by.push_back(key->Clone());
      sql::BoundOrderItem order;
      order.expr = key->Clone();
      ordinal->window_order.push_back(std::move(order));
      Select(groups, absl::StrCat("k", i), std::move(key));
    }
    for (size_t j = 0; j < threshold_types.size(); ++j) {
      Expr distinct = Aggregate("count", sql::TypeKind::kBigint,
                                Column(0, absl::StrCat("c", j), threshold_types[j]));
      distinct->distinct = true;
      Select(groups, absl::StrCat("d", j), std::move(distinct));
    }
    Select(groups, "o", std::move(ordinal));
    const sql::BoundCte groups_cte{1, "bounded_groups",
                                   std::make_shared<const sql::BoundQuery>(std::move(groups)), -1};
    plan.ctes = {rows_cte, groups_cte};

    // Each unit's (unit, o) over the joined rows.
    auto unit_groups = [&](sql::BoundQuery& block) {
      Expr same_keys;
      for (size_t i = 0; i < keys; ++i) {
        same_keys =
            And(std::move(same_keys),
                Binary("IS NOT DISTINCT FROM", Column(0, absl::StrCat("k", i), key_types[i]),
                       Column(1, absl::StrCat("k", i), key_types[i])));
      }
      FromJoin(block, CteTable(rows_cte, 0, "bounded_rows"), CteTable(groups_cte, 1, "groups"),
               sql::JoinType::kInner, std::move(same_keys));
    };
    sql::BoundQuery chosen;
    if (max_groups == 1) {
      unit_groups(chosen);
      chosen.group_by.push_back(Column(0, "u", unit_type));
      Select(chosen, "o",
             Aggregate("min", sql::TypeKind::kBigint, Column(1, "o", sql::TypeKind::kBigint)));
    } else {
      sql::BoundQuery pairs;
      unit_groups(pairs);
      pairs.group_by.push_back(Column(0, "u", unit_type));
      pairs.group_by.push_back(Column(1, "o", sql::TypeKind::kBigint));
      Select(pairs, "u", Column(0, "u", unit_type));
      Select(pairs, "o", Column(1, "o", sql::TypeKind::kBigint));
      sql::BoundQuery ranked;
      FromDerived(ranked, Derived(std::move(pairs), "unit_groups"));
      Select(ranked, "o", Column(0, "o", sql::TypeKind::kBigint));
      Expr rank = Node(BoundExprKind::kWindow, "row_number", sql::TypeKind::kBigint);
      rank->partition_by.push_back(Column(0, "u", unit_type));
      sql::BoundOrderItem order;
      order.expr = Column(0, "o", sql::TypeKind::kBigint);
      rank->window_order.push_back(std::move(order));
      Select(ranked, "r", std::move(rank));
      FromDerived(chosen, Derived(std::move(ranked), "ranked"));
      chosen.where = Binary("<=", Column(0, "r", sql::TypeKind::kBigint), Integer(max_groups));
      Select(chosen, "o", Column(0, "o", sql::TypeKind::kBigint));
    }
    sql::BoundQuery counted;
    FromDerived(counted, Derived(std::move(chosen), "chosen"));
    counted.group_by.push_back(Column(0, "o", sql::TypeKind::kBigint));
    Select(counted, "o", Column(0, "o", sql::TypeKind::kBigint));
    Select(counted, "units", CountStar());

    FromJoin(plan, CteTable(groups_cte, 0, "groups"), Derived(std::move(counted), "counted"),
             sql::JoinType::kLeft,
             Binary("=", Column(0, "o", sql::TypeKind::kBigint),
                    Column(1, "o", sql::TypeKind::kBigint)));
    for (size_t i = 0; i < keys; ++i) {
      Select(plan, absl::StrCat("g", i), Column(0, absl::StrCat("k", i), key_types[i]));
    }
    Select(plan, "units",
           Scalar("coalesce", sql::TypeKind::kBigint, Column(1, "units", sql::TypeKind::kBigint),
                  Integer(0)));
    plan_.measures[0].engine_column = static_cast<int>(keys);
    for (size_t j = 0; j < minimums.size(); ++j) {
      plan.where = And(std::move(plan.where),
                       Binary(">=", Column(0, absl::StrCat("d", j), sql::TypeKind::kBigint),
                              Integer(minimums[j])));
    }
    std::vector<Expr> order;
    for (size_t i = 0; i < keys; ++i)
      order.push_back(Column(0, absl::StrCat("k", i), key_types[i]));
    OrderByKeys(plan, std::move(order));
    SetKeyTypes(key_types);
    query_ = std::move(plan);
  }

  // Keys keep the engine types of the group keys (as the renderer names them).
  void SetKeyTypes(const std::vector<sql::Type>& key_types) {
    for (dp::OutputColumn& output : plan_.outputs) {
      if (output.kind == dp::OutputColumn::Kind::kKey) {
        output.engine_type = key_types[output.engine_column].ToString();
      }
    }
  }

  sql::BoundQuery& query_;
  policy::Verdict& verdict_;
  const policy::PrivacyTarget& target_;
  PrivacyRequest request_;
  std::string_view source_text_;
  sql::Capabilities capabilities_;
  dp::NoisePlan plan_;
  std::vector<SumColumn> sums_;
  int rows_measure_ = -1;
  int next_render_id_ = 0;
};

}  // namespace

std::optional<dp::NoisePlan> BuildPrivatePlan(sql::BoundQuery& query, policy::Verdict& verdict,
                                              const PrivacyRequest& request,
                                              std::string_view source_text,
                                              const sql::Capabilities& capabilities) {
  return PrivatePlanBuilder(query, verdict, request, source_text, capabilities).Build();
}

}  // namespace parley::rewrite
