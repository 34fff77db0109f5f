#include "render/clickhouse/clickhouse_dialect.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "render/sql_writer.h"
#include "sql/types.h"

namespace parley::render {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundFrom;
using sql::BoundQuery;
using sql::BoundTable;
using sql::TypeKind;

bool IsInteger(const sql::Type& type) {
  switch (type.kind()) {
    case TypeKind::kTinyint:
    case TypeKind::kSmallint:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kUtinyint:
    case TypeKind::kUsmallint:
    case TypeKind::kUinteger:
    case TypeKind::kUbigint:
      return true;
    default:
      return false;
  }
}

// The range of an integer type Parley converts to under a guard, as ClickHouse literals.
bool IntegerRange(const sql::Type& type, std::string* low, std::string* high) {
  switch (type.kind()) {
    case TypeKind::kTinyint:
      *low = "-128", *high = "127";
      return true;
    case TypeKind::kSmallint:
      *low = "-32768", *high = "32767";
      return true;
    case TypeKind::kInteger:
      *low = "-2147483648", *high = "2147483647";
      return true;
    case TypeKind::kBigint:
      *low = "-9223372036854775808", *high = "9223372036854775807";
      return true;
    default:
      return false;
  }
}

// The window the once-per-group rewrite projects: (row_number() OVER (PARTITION BY …) = 1).
bool IsFirstRowFlag(const BoundExpr& expr) {
  return expr.kind == BoundExprKind::kBinaryOp && expr.name == "=" && expr.args.size() == 2 &&
         expr.args[0]->kind == BoundExprKind::kWindow && expr.args[0]->name == "row_number" &&
         expr.args[0]->window_order.empty() && !expr.args[0]->partition_by.empty() &&
         expr.args[1]->kind == BoundExprKind::kConstant && expr.args[1]->constant.text == "1";
}

// Whether `text` is a valid date "YYYY-MM-DD" (with " HH:MM:SS" for a timestamp) in ClickHouse's
// range (1970 to 2105), so that ClickHouse reads it as DuckDB does.
bool ValidDateText(const std::string& text, bool timestamp) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  char rest = 0;
  int fields = timestamp ? std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%c", &year, &month,
                                       &day, &hour, &minute, &second, &rest)
                         : std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &rest);
  if (fields != (timestamp ? 6 : 3) || text.size() != (timestamp ? 19u : 10u)) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 1970 || year > 2105 || month < 1 || month > 12 || day < 1) return false;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  return hour < 24 && minute < 60 && second < 60;
}

class ClickHouseWriter : public SqlWriter {
 public:
  explicit ClickHouseWriter(const ClickHouseLayout& layout)
      : SqlWriter("clickhouse"), layout_(layout) {}

  absl::StatusOr<std::string> WriteStatement(const BoundQuery& query) {
    CollectColumns(query, {});
    // The user's output names only here, outside every SELECT that reads a table.
    std::vector<std::string> outputs;
    for (size_t i = 0; i < query.select.size(); ++i) {
      outputs.push_back(absl::StrCat(Identifier(absl::StrCat("__parley_o", i)), " AS ",
                                     Identifier(query.select[i].output_name)));
    }
    top_ = &query;
    PARLEY_ASSIGN_OR_RETURN(std::string body, Write(query));
    return absl::StrCat("SELECT ", absl::StrJoin(outputs, ", "), " FROM (", body, ")");
  }

 protected:
  // ClickHouse reads backslash escapes in quoted names and strings: both are escaped.
  static std::string Escape(std::string_view text, char quote) {
    std::string out(1, quote);
    for (char c : text) {
      if (c == quote || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back(quote);
    return out;
  }
  static std::string Identifier(std::string_view name) { return Escape(name, '"'); }

  std::string Query(const BoundQuery& query) override {
    std::string prefix = "__parley_o";
    if (&query != top_) prefix = pending_prefix_.empty() ? NextSubqueryPrefix() : pending_prefix_;
    pending_prefix_.clear();
    return QueryAs(query, prefix);
  }

  std::string QueryAs(const BoundQuery& query, const std::string& prefix) {
    if (query.set_operation != sql::SetOperation::kNone) {
      if (query.set_operation != sql::SetOperation::kUnion) {
        return Refuse(query.set_operation == sql::SetOperation::kIntersect ? "INTERSECT" : "EXCEPT",
                      -1);
      }
      std::string left = QueryAs(*query.set_left, prefix);
      std::string right = QueryAs(*query.set_right, prefix);
      std::string out = absl::StrCat("SELECT ", query.set_all ? "" : "DISTINCT ", "* FROM (", left,
                                     " UNION ALL ", right, ")");
      if (!query.order_by.empty()) {
        std::vector<std::string> orders;
        for (const sql::BoundOrderItem& order : query.order_by) {
          if (order.expr->kind != BoundExprKind::kOutputRef) {
            orders.push_back(Refuse("ORDER BY an expression of a set operation", order.location));
            continue;
          }
          bool nulls_first = order.nulls_first.value_or(order.descending);
          orders.push_back(absl::StrCat(Identifier(absl::StrCat(prefix, order.expr->output_index)),
                                        order.descending ? " DESC" : " ASC",
                                        nulls_first ? " NULLS FIRST" : " NULLS LAST"));
        }
        absl::StrAppend(&out, " ORDER BY ", absl::StrJoin(orders, ", "));
      }
      return out + Limits(query);
    }
    stack_.push_back(&query);
    Scope saved = scope_;
    std::string out = BlockAs(query, prefix);
    scope_ = saved;
    stack_.pop_back();
    return out;
  }

  std::string BlockAs(const BoundQuery& query, const std::string& prefix) {
    if (query.from.size() != 1) {
      return Refuse("a FROM clause with several comma-separated tables", -1);
    }
    scope_ = Scope{};
    std::string from = FromTree(*query.from[0]);
    // 18.16 crashes hashing several keys of which one is a Decimal wider than 18 digits.
    std::vector<const BoundExpr*> keys;
    for (const auto& group : query.group_by) keys.push_back(group.get());
    if (query.distinct) {
      for (const auto& item : query.select) keys.push_back(item.expr.get());
    }
    for (const BoundExpr* key : keys) {
      // Integer sums are Decimal(38, 0) here (Argument), typed HUGEINT by Parley.
      bool wide = (key->type.kind() == TypeKind::kDecimal && key->type.width() > 18) ||
                  key->type.kind() == TypeKind::kHugeint;
      if (keys.size() > 1 && wide) {
        Refuse("grouping by a DECIMAL of more than 18 digits with other keys", key->location);
      }
    }
    for (const sql::BoundSelectItem& item : query.select) {
      if (!HasWindow(*item.expr)) continue;
      // The user's own windows are refused as before; only the rewrite's are written in stages.
      if (const BoundExpr* own = UserWindow(*item.expr)) {
        return Refuse("window functions", own->location);
      }
      return WindowBlock(query, prefix, from);
    }
    std::vector<std::string> items;
    for (size_t i = 0; i < query.select.size(); ++i) {
      items.push_back(
          absl::StrCat(Expr(*query.select[i].expr), " AS ", Identifier(absl::StrCat(prefix, i))));
    }
    std::string out = absl::StrCat(query.distinct ? "SELECT DISTINCT " : "SELECT ",
                                   absl::StrJoin(items, ", "), " FROM ", from);
    if (query.where) absl::StrAppend(&out, " WHERE ", Expr(*query.where));
    if (!query.group_by.empty()) {
      std::vector<std::string> groups;
      for (const auto& group : query.group_by) groups.push_back(Expr(*group));
      absl::StrAppend(&out, " GROUP BY ", absl::StrJoin(groups, ", "));
    }
    if (query.having) absl::StrAppend(&out, " HAVING ", Expr(*query.having));
    if (!query.order_by.empty()) absl::StrAppend(&out, " ORDER BY ", OrderList(query.order_by));
    return out + Limits(query);
  }

  // --- windows the rewrite builds ---------------------------------------------------------------
  //
  // 18.16 has no window functions. The differential-privacy plan (rewrite/differential_privacy.h)
  // numbers rows with row_number() over a partition, over rows without GROUP BY: each unit's
  // groups in the order of their keys, and the first row of each (group, value) of another
  // table's thresholded column. Such a block is written in stages:
  //
  //   stage 0:   SELECT <every window-free part> h…, <partitions> h…, <orders> h… FROM … WHERE …
  //   window i:  SELECT tupleElement(t, 1) h…, …, n r_i FROM (
  //                SELECT arraySort(x -> (isNull(x.o), assumeNotNull(x.o), …),
  //                                 groupArray(tuple(h…, r…))) s
  //                FROM (<stage i-1>) GROUP BY <partition>)
  //              ARRAY JOIN s AS t, arrayEnumerate(s) AS n
  //   outer:     SELECT <the items, over h… and r…> FROM (<last stage>)
  //
  // Each partition is gathered into one array at the initiator, after every shard's rows arrived
  // (the stage-0 subquery runs on the shards and is merged there), so a partition whose rows are
  // on both shards is numbered as one. The order is ascending with NULLs last, as DuckDB's
  // default; rows that tie get consecutive numbers in any order, as in DuckDB. Ordering by a
  // real number is refused (NaN and -0 sort differently), and so is every window of the user's
  // own query (only those the rewrite builds, which have no position in the user's SQL, are
  // written this way).

  // Whether `expr` holds a window function, other than the once-per-group flag (written as the
  // tuple of its partition, see Aggregate).
  // A flag inside an expression is not read by Aggregate's pattern, so it is a window here.
  static bool HasWindow(const BoundExpr& expr, bool item = true) {
    if (item && IsFirstRowFlag(expr)) return false;
    if (expr.kind == BoundExprKind::kWindow) return true;
    for (const auto& arg : expr.args) {
      if (HasWindow(*arg, false)) return true;
    }
    return false;
  }

  // Decimals wider than 18 digits (and integer sums, Decimal(38, 0) here) are Decimal128, which
  // 18.16 crashes on inside groupArray(tuple(…)): they travel through the stages as text.
  static bool Wide(const sql::Type& type) {
    return (type.kind() == TypeKind::kDecimal && type.width() > 18) ||
           type.kind() == TypeKind::kHugeint;
  }

  static const BoundExpr* UserWindow(const BoundExpr& expr) {
    if (expr.kind == BoundExprKind::kWindow && expr.location >= 0) return &expr;
    for (const auto& arg : expr.args) {
      if (const BoundExpr* found = UserWindow(*arg)) return found;
    }
    return nullptr;
  }

  static bool HasAggregate(const BoundExpr& expr) {
    if (expr.kind == BoundExprKind::kAggregate) return true;
    for (const auto& arg : expr.args) {
      if (HasAggregate(*arg)) return true;
    }
    return false;
  }

  struct WindowStages {
    std::string block;                         // the unique part of this block's names
    std::vector<std::string> hoisted;          // stage 0's items, "<expr> AS <name>"
    std::vector<std::string> columns;          // names carried from stage to stage
    std::vector<int> wide_scale;               // per column: its scale if carried as text, or -1
    std::vector<const BoundExpr*> windows;     // in the order of their numbers
    std::vector<std::vector<int>> partitions;  // per window: indexes into columns
    std::vector<std::vector<int>> orders;      // per window: indexes into columns
  };

  // A window-free expression as a stage-0 column; returns its index in `stages.columns`.
  int Hoist(WindowStages& stages, const BoundExpr& expr) {
    std::string name = absl::StrCat("__parley_w", stages.block, "_h", stages.hoisted.size());
    std::string value = Expr(expr);
    bool wide = Wide(expr.type);
    if (wide) value = absl::StrCat("toString(", value, ")");
    stages.hoisted.push_back(absl::StrCat(value, " AS ", Identifier(name)));
    stages.columns.push_back(name);
    stages.wide_scale.push_back(!wide                                    ? -1
                                : expr.type.kind() == TypeKind::kDecimal ? expr.type.scale()
                                                                         : 0);
    return static_cast<int>(stages.columns.size()) - 1;
  }

  // `expr` as the outer SELECT writes it, over the stages' columns.
  // `item`: `expr` is a whole SELECT item (where a once-per-group flag is no window).
  std::string OverStages(WindowStages& stages, const BoundExpr& expr, bool item = false) {
    if (!HasWindow(expr, item)) {
      if (expr.kind == BoundExprKind::kConstant) return Expr(expr);
      return Identifier(stages.columns[Hoist(stages, expr)]);
    }
    if (expr.kind == BoundExprKind::kWindow) {
      if (expr.location >= 0 || expr.name != "row_number" || !expr.args.empty()) {
        return Refuse("window functions", expr.location);
      }
      std::vector<int> partition, order;
      for (const auto& part : expr.partition_by) partition.push_back(Hoist(stages, *part));
      for (const sql::BoundOrderItem& item : expr.window_order) {
        const sql::Type& type = item.expr->type;
        if (item.descending || item.nulls_first.value_or(false)) {
          return Refuse("a window ordered descending or with NULLs first", expr.location);
        }
        if (type.kind() == TypeKind::kDouble || type.kind() == TypeKind::kFloat) {
          // (A differentially private query's groups are ranked by their keys.)
          return Refuse(absl::StrCat("ranking rows by a ", type.ToString(),
                                     " (NaN and -0 sort differently there)"),
                        expr.location);
        }
        if (Wide(type)) {
          return Refuse(absl::StrCat("ranking rows by a ", type.ToString()), expr.location);
        }
        order.push_back(Hoist(stages, *item.expr));
      }
      stages.windows.push_back(&expr);
      stages.partitions.push_back(std::move(partition));
      stages.orders.push_back(std::move(order));
      return Identifier(absl::StrCat("__parley_w", stages.block, "_r", stages.windows.size() - 1));
    }
    static const std::set<std::string> kOperators = {"=",  "!=", "<>",  "<", ">",
                                                     "<=", ">=", "AND", "OR"};
    if (expr.kind == BoundExprKind::kBinaryOp && kOperators.count(expr.name) && !expr.negated) {
      std::string left = OverStages(stages, *expr.args[0]);
      std::string right = OverStages(stages, *expr.args[1]);
      return absl::StrCat("(", left, " ", expr.name, " ", right, ")");
    }
    return Refuse("window functions inside this expression", expr.location);
  }

  std::string WindowBlock(const BoundQuery& query, const std::string& prefix,
                          const std::string& from) {
    if (!query.group_by.empty() || query.having || query.distinct || !query.order_by.empty() ||
        query.limit || query.offset) {
      return Refuse("window functions in a block with GROUP BY, DISTINCT, ORDER BY or LIMIT", -1);
    }
    WindowStages stages;
    stages.block = absl::StrCat(windows_++);
    std::vector<std::string> items;
    for (size_t i = 0; i < query.select.size(); ++i) {
      const BoundExpr& expr = *query.select[i].expr;
      if (HasAggregate(expr)) return Refuse("window functions over aggregates", expr.location);
      items.push_back(absl::StrCat(OverStages(stages, expr, true), " AS ",
                                   Identifier(absl::StrCat(prefix, i))));
    }
    if (stages.hoisted.empty()) {
      stages.hoisted.push_back(
          absl::StrCat("0 AS ", Identifier(absl::StrCat("__parley_w", stages.block, "_h0"))));
      stages.columns.push_back(absl::StrCat("__parley_w", stages.block, "_h0"));
      stages.wide_scale.push_back(-1);
    }
    std::string stage =
        absl::StrCat("SELECT ", absl::StrJoin(stages.hoisted, ", "), " FROM ", from);
    if (query.where) absl::StrAppend(&stage, " WHERE ", Expr(*query.where));
    for (size_t w = 0; w < stages.windows.size(); ++w) {
      std::string base = absl::StrCat("__parley_w", stages.block, "_", w);
      std::vector<std::string> carried, unpacked, sort_key, partition;
      const bool last = w + 1 == stages.windows.size();
      for (size_t c = 0; c < stages.columns.size(); ++c) {
        carried.push_back(Identifier(stages.columns[c]));
        std::string element =
            absl::StrCat("tupleElement(", Identifier(base + "t"), ", ", c + 1, ")");
        if (last && stages.wide_scale[c] >= 0) {
          element = Uncarried(sql::Type::Decimal(38, stages.wide_scale[c]), element);
        }
        unpacked.push_back(absl::StrCat(element, " AS ", Identifier(stages.columns[c])));
      }
      for (int index : stages.orders[w]) {
        std::string element = absl::StrCat("tupleElement(x, ", index + 1, ")");
        sort_key.push_back(absl::StrCat("isNull(", element, ")"));
        sort_key.push_back(absl::StrCat("assumeNotNull(", element, ")"));
      }
      for (int index : stages.partitions[w]) {
        partition.push_back(Identifier(stages.columns[index]));
      }
      std::string gathered = absl::StrCat("groupArray(tuple(", absl::StrJoin(carried, ", "), "))");
      if (!sort_key.empty()) {
        gathered = absl::StrCat("arraySort(x -> tuple(", absl::StrJoin(sort_key, ", "), "), ",
                                gathered, ")");
      }
      std::string grouped =
          absl::StrCat("SELECT ", gathered, " AS ", Identifier(base + "s"), " FROM (", stage, ")");
      if (!partition.empty()) {
        absl::StrAppend(&grouped, " GROUP BY ", absl::StrJoin(partition, ", "));
      }
      std::string number = absl::StrCat("__parley_w", stages.block, "_r", w);
      stage =
          absl::StrCat("SELECT ", absl::StrJoin(unpacked, ", "), ", ", Identifier(base + "n"),
                       " AS ", Identifier(number), " FROM (", grouped, ") ARRAY JOIN ",
                       Identifier(base + "s"), " AS ", Identifier(base + "t"), ", arrayEnumerate(",
                       Identifier(base + "s"), ") AS ", Identifier(base + "n"));
      stages.columns.push_back(number);
      stages.wide_scale.push_back(-1);
    }
    return absl::StrCat("SELECT ", absl::StrJoin(items, ", "), " FROM (", stage, ")");
  }

  std::string Limits(const BoundQuery& query) {
    int64_t offset = query.offset.value_or(0);
    if (query.limit) return absl::StrCat(" LIMIT ", offset, ", ", *query.limit);
    if (offset != 0) return absl::StrCat(" LIMIT ", offset, ", 18446744073709551615");
    return "";
  }

  // --- FROM -------------------------------------------------------------------------------------

  // What the SELECT being written reads directly: the render id of its unaliased base table
  // (-1: none), and whether that table is Distributed, so the SELECT runs on the shards.
  struct Scope {
    int direct = -1;
    bool on_shards = false;
  };

  const ClickHouseTable* Layout(const BoundTable& table) {
    auto found = layout_.tables.find(absl::AsciiStrToLower(table.schema->name));
    if (found == layout_.tables.end()) {
      Refuse(absl::StrCat("table '", table.schema->name, "', which is not on this engine"),
             table.location);
      return nullptr;
    }
    return &found->second;
  }

  std::string Qualified(const std::string& table) {
    return absl::StrCat(Identifier(layout_.database), ".", Identifier(table));
  }

  static std::string Renamed(int render_id, std::string_view column) {
    return Identifier(absl::StrCat("__parley_t", render_id, "_", std::string(column)));
  }

  std::string DerivedPrefix(const BoundTable& table) {
    return absl::StrCat("__parley_t", table.render_id, "_");
  }

  // A table occurrence as a subquery whose columns have statement-unique names.
  std::string RenamedSource(const BoundTable& table, const std::string& source_table) {
    std::vector<std::string> columns;
    for (const std::string& column : columns_[table.render_id]) {
      columns.push_back(absl::StrCat(Identifier(column), " AS ", Renamed(table.render_id, column)));
    }
    if (columns.empty()) columns.push_back(absl::StrCat("0 AS ", Renamed(table.render_id, "")));
    return absl::StrCat("(SELECT ", absl::StrJoin(columns, ", "), " FROM ", Qualified(source_table),
                        ")");
  }

  std::string DerivedSource(const BoundTable& table) {
    pending_prefix_ = DerivedPrefix(table);
    return absl::StrCat("(", Query(*table.derived), ")");
  }

  const BoundTable& TableOf(const BoundFrom& leaf) {
    return stack_.back()->tables[leaf.table_index];
  }

  // Every table occurrence under `from`.
  void Leaves(const BoundFrom& from, std::vector<const BoundTable*>& out) {
    if (!from.is_join) {
      out.push_back(&TableOf(from));
      return;
    }
    Leaves(*from.left, out);
    Leaves(*from.right, out);
  }

  // A join tree as one subquery exposing every column of its tables under the renamed names.
  std::string NestedJoin(const BoundFrom& join) {
    Scope saved = scope_;
    scope_ = Scope{};
    std::string from = FromTree(join);
    std::vector<const BoundTable*> tables;
    Leaves(join, tables);
    std::vector<std::string> columns;
    for (const BoundTable* table : tables) {
      if (table->is_base()) {
        for (const std::string& column : columns_[table->render_id]) {
          std::string renamed = Renamed(table->render_id, column);
          columns.push_back(table->render_id == scope_.direct
                                ? absl::StrCat(Identifier(column), " AS ", renamed)
                                : renamed);
        }
      } else {
        for (size_t i = 0; i < table->derived->select.size(); ++i) {
          columns.push_back(Identifier(absl::StrCat(DerivedPrefix(*table), i)));
        }
      }
    }
    if (columns.empty()) columns.push_back("0 AS \"__parley_none\"");
    scope_ = saved;
    return absl::StrCat("(SELECT ", absl::StrJoin(columns, ", "), " FROM ", from, ")");
  }

  std::string FromTree(const BoundFrom& from) {
    if (!from.is_join) {
      const BoundTable& table = TableOf(from);
      if (!table.is_base()) return DerivedSource(table);
      const ClickHouseTable* layout = Layout(table);
      if (layout == nullptr) return "NULL";
      scope_.direct = table.render_id;
      scope_.on_shards = true;
      return Qualified(layout->distributed);
    }
    if (from.join_type == sql::JoinType::kRight || from.join_type == sql::JoinType::kFull) {
      // 18.16 joins by USING (its ON returns wrong values of the right key), which merges the
      // keys: after a RIGHT or FULL join the left key would show the right's value.
      return Refuse(from.join_type == sql::JoinType::kRight ? "RIGHT JOIN" : "FULL JOIN",
                    from.location);
    }
    std::string left;
    const BoundTable* left_table = from.left->is_join ? nullptr : &TableOf(*from.left);
    if (left_table != nullptr && left_table->is_base()) {
      left = FromTree(*from.left);
    } else if (left_table != nullptr) {
      left = DerivedSource(*left_table);
    } else {
      left = NestedJoin(*from.left);
    }
    std::set<int> right_ids;
    std::vector<const BoundTable*> right_tables;
    Leaves(*from.right, right_tables);
    for (const BoundTable* table : right_tables) right_ids.insert(table->render_id);
    // The equalities of ON as (left column, right column).
    std::vector<std::pair<const BoundExpr*, const BoundExpr*>> keys;
    if (from.on != nullptr && !JoinKeys(*from.on, right_ids, keys)) return "NULL";
    bool co_located = false;
    std::string right;
    const BoundTable* right_table = from.right->is_join ? nullptr : &TableOf(*from.right);
    if (right_table != nullptr && right_table->is_base()) {
      const ClickHouseTable* layout = Layout(*right_table);
      if (layout == nullptr) return "NULL";
      co_located = scope_.on_shards && !layout->local.empty() && from.on != nullptr &&
                   left_table != nullptr && left_table->is_base() &&
                   JoinsOnShardingKeys(*from.on, *left_table, *right_table);
      right = RenamedSource(*right_table, co_located ? layout->local : layout->distributed);
    } else if (right_table != nullptr) {
      Scope saved = scope_;
      right = DerivedSource(*right_table);
      scope_ = saved;
    } else {
      right = NestedJoin(*from.right);
    }
    std::string global = scope_.on_shards && !co_located ? "GLOBAL " : "";
    if (from.join_type == sql::JoinType::kCross) {
      return absl::StrCat(left, " ", global, "CROSS JOIN ", right);
    }
    // USING needs each key under one name on both sides: the right side gets a copy of its key
    // under the left key's name (its own column stays, NULL where a LEFT JOIN found no match).
    std::vector<std::string> copies, names;
    for (const auto& [left_key, right_key] : keys) {
      std::string name = ColumnName(*left_key);
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return Refuse("a join that equates one column with two others", from.location);
      }
      names.push_back(name);
      copies.push_back(absl::StrCat(ColumnName(*right_key), " AS ", name));
    }
    if (keys.empty()) return Refuse("a join without an equality of columns", from.location);
    right = absl::StrCat("(SELECT *, ", absl::StrJoin(copies, ", "), " FROM ", right, ")");
    return absl::StrCat(
        left, " ", global,
        from.join_type == sql::JoinType::kLeft ? "ALL LEFT JOIN " : "ALL INNER JOIN ", right,
        " USING (", absl::StrJoin(names, ", "), ")");
  }

  // Splits ON into equalities of a left column and a right column (of the same type); false after
  // refusing anything else.
  bool JoinKeys(const BoundExpr& on, const std::set<int>& right_ids,
                std::vector<std::pair<const BoundExpr*, const BoundExpr*>>& keys) {
    if (on.kind == BoundExprKind::kBinaryOp && on.name == "AND" && !on.negated) {
      return JoinKeys(*on.args[0], right_ids, keys) && JoinKeys(*on.args[1], right_ids, keys);
    }
    if (on.kind != BoundExprKind::kBinaryOp || on.name != "=" || on.negated ||
        on.args[0]->kind != BoundExprKind::kColumn || on.args[1]->kind != BoundExprKind::kColumn ||
        on.args[0]->outer_depth != 0 || on.args[1]->outer_depth != 0) {
      Refuse("a join condition other than equalities of columns joined by AND", on.location);
      return false;
    }
    if (!(on.args[0]->type == on.args[1]->type)) {
      Refuse("a join of columns of different types", on.location);
      return false;
    }
    const BoundQuery& owner = *stack_.back();
    bool first_right = right_ids.count(owner.tables[on.args[0]->table_index].render_id) > 0;
    bool second_right = right_ids.count(owner.tables[on.args[1]->table_index].render_id) > 0;
    if (first_right == second_right) {
      Refuse("a join condition that compares two columns of one side", on.location);
      return false;
    }
    keys.emplace_back(first_right ? on.args[1].get() : on.args[0].get(),
                      first_right ? on.args[0].get() : on.args[1].get());
    return true;
  }

  // Whether `on` equates the sharding keys of both tables (of the same type).
  bool JoinsOnShardingKeys(const BoundExpr& on, const BoundTable& left, const BoundTable& right) {
    if (on.kind == BoundExprKind::kBinaryOp && on.name == "AND") {
      return JoinsOnShardingKeys(*on.args[0], left, right) ||
             JoinsOnShardingKeys(*on.args[1], left, right);
    }
    if (on.kind != BoundExprKind::kBinaryOp || on.name != "=" || on.negated) return false;
    const BoundExpr& a = *on.args[0];
    const BoundExpr& b = *on.args[1];
    if (a.kind != BoundExprKind::kColumn || b.kind != BoundExprKind::kColumn ||
        a.outer_depth != 0 || b.outer_depth != 0 || !(a.type == b.type)) {
      return false;
    }
    const ClickHouseTable* l = Layout(left);
    const ClickHouseTable* r = Layout(right);
    if (l == nullptr || r == nullptr || l->sharding_key.empty() || r->sharding_key.empty()) {
      return false;
    }
    auto is = [&](const BoundExpr& column, const BoundTable& table, const std::string& key) {
      return column.table_index == table.index && absl::EqualsIgnoreCase(column.column, key);
    };
    return (is(a, left, l->sharding_key) && is(b, right, r->sharding_key)) ||
           (is(b, left, l->sharding_key) && is(a, right, r->sharding_key));
  }

  // --- expressions ------------------------------------------------------------------------------

  std::string ColumnName(const BoundExpr& expr) {
    if (expr.outer_depth > 0) return Refuse("a correlated subquery", expr.location);
    const BoundQuery& owner = *stack_.back();
    const BoundTable& table = owner.tables[expr.table_index];
    if (table.is_base()) {
      if (absl::EqualsIgnoreCase(expr.column, kRowIdColumn)) {
        const ClickHouseTable* layout = Layout(table);
        if (layout == nullptr) return "NULL";
        if (!layout->row_id) {
          return Refuse(absl::StrCat("each row of table '", table.schema->name,
                                     "' once per group over a join: the table has no row "
                                     "identity on the cluster"),
                        table.location);
        }
      }
      return table.render_id == scope_.direct ? Identifier(expr.column)
                                              : Renamed(table.render_id, expr.column);
    }
    for (size_t i = 0; i < table.derived->select.size(); ++i) {
      if (absl::EqualsIgnoreCase(table.derived->select[i].output_name, expr.column)) {
        return Identifier(absl::StrCat(DerivedPrefix(table), i));
      }
    }
    return Refuse(absl::StrCat("the column '", expr.column, "'"), expr.location);
  }

  // The derived-table column `expr` refers to, when it is the once-per-group flag.
  const BoundExpr* FlagColumn(const BoundExpr& expr) {
    if (expr.kind != BoundExprKind::kColumn || expr.outer_depth != 0) return nullptr;
    const BoundTable& table = stack_.back()->tables[expr.table_index];
    if (table.is_base()) return nullptr;
    for (const sql::BoundSelectItem& item : table.derived->select) {
      if (absl::EqualsIgnoreCase(item.output_name, expr.column) && item.expr &&
          IsFirstRowFlag(*item.expr)) {
        return item.expr.get();
      }
    }
    return nullptr;
  }

  std::string StringConstant(const std::string& text) { return Escape(text, '\''); }

  std::string ConstantText(const BoundExpr& expr) {
    const sql::Constant& constant = expr.constant;
    switch (constant.kind) {
      case sql::ConstantKind::kNull:
        return "NULL";
      case sql::ConstantKind::kBoolean:
        return constant.text == "true" ? "1" : "0";
      case sql::ConstantKind::kString:
        if (expr.type.kind() == TypeKind::kVarchar || expr.type.is_unknown()) {
          return StringConstant(constant.text);
        }
        return PlainCast(StringConstant(constant.text), expr.type);
      case sql::ConstantKind::kInteger:
      case sql::ConstantKind::kFloat:
        if (expr.type.kind() == TypeKind::kDecimal) {
          return PlainCast(StringConstant(constant.text), expr.type);
        }
        if (expr.type.kind() == TypeKind::kDouble || expr.type.kind() == TypeKind::kFloat) {
          return absl::StrCat("toFloat64(", StringConstant(constant.text), ")");
        }
        return constant.text;
    }
    return "NULL";
  }

  std::string TypeName(const sql::Type& type) override {
    switch (type.kind()) {
      case TypeKind::kBoolean:
      case TypeKind::kUtinyint:
        return "UInt8";
      case TypeKind::kTinyint:
        return "Int8";
      case TypeKind::kSmallint:
        return "Int16";
      case TypeKind::kInteger:
        return "Int32";
      case TypeKind::kBigint:
        return "Int64";
      case TypeKind::kUsmallint:
        return "UInt16";
      case TypeKind::kUinteger:
        return "UInt32";
      case TypeKind::kUbigint:
        return "UInt64";
      case TypeKind::kFloat:
        return "Float32";
      case TypeKind::kDouble:
        return "Float64";
      case TypeKind::kDecimal:
        return absl::StrCat("Decimal(", type.width(), ", ", type.scale(), ")");
      case TypeKind::kVarchar:
        return "String";
      case TypeKind::kDate:
        return "Date";
      case TypeKind::kTimestamp:
        return "DateTime";
      default:
        return Refuse(absl::StrCat("the type ", type.ToString()), -1);
    }
  }

  std::string PlainCast(const std::string& operand, const sql::Type& type) {
    // Nullable: 18.16 refuses to CAST a NULL to a plain type.
    return absl::StrCat("CAST(", operand, " AS Nullable(", TypeName(type), "))");
  }

  // Conversions whose ClickHouse value is DuckDB's; `from` is the operand's type.
  std::string Conversion(const BoundExpr& expr) {
    const sql::Type& from = expr.args[0]->type;
    const sql::Type& to = expr.cast_type;
    std::string operand = Expr(*expr.args[0]);
    bool guarded = expr.name == "try_cast";
    std::string what = absl::StrCat(guarded ? "a guarded conversion of " : "a conversion of ",
                                    from.ToString(), " to ", to.ToString());
    if (from == to || from.kind() == TypeKind::kNull) return PlainCast(operand, to);
    bool from_number = IsInteger(from) || from.kind() == TypeKind::kHugeint;
    bool from_real = from.kind() == TypeKind::kDouble || from.kind() == TypeKind::kFloat ||
                     from.kind() == TypeKind::kDecimal;
    // Widening and exact conversions.
    if ((from_number || from_real) && to.kind() == TypeKind::kDouble) {
      return PlainCast(operand, to);
    }
    if (from_number && IsInteger(to)) {
      std::string low, high;
      if (!IntegerRange(to, &low, &high)) return Refuse(what, expr.location);
      if (!guarded) return PlainCast(operand, to);
      return absl::StrCat("if(", operand, " BETWEEN ", low, " AND ", high, ", ",
                          PlainCast(operand, to), ", NULL)");
    }
    if (from_number && to.kind() == TypeKind::kDecimal) {
      int digits = to.width() - to.scale();
      if (digits >= 19 || !guarded) return PlainCast(operand, to);
      std::string bound = absl::StrCat("1", std::string(digits, '0'));
      return absl::StrCat("if(", operand, " > -", bound, " AND ", operand, " < ", bound, ", ",
                          PlainCast(operand, to), ", NULL)");
    }
    if (from.kind() == TypeKind::kDecimal && to.kind() == TypeKind::kDecimal &&
        to.scale() >= from.scale() && to.width() - to.scale() >= from.width() - from.scale()) {
      return PlainCast(operand, to);
    }
    if (from.kind() == TypeKind::kDate && to.kind() == TypeKind::kTimestamp) {
      return PlainCast(operand, to);
    }
    // To text, where ClickHouse prints as DuckDB does: integers, decimals (with their scale) and
    // dates. Reals are refused (ClickHouse prints 5 where DuckDB prints 5.0).
    if (to.kind() == TypeKind::kVarchar &&
        (IsInteger(from) || from.kind() == TypeKind::kDecimal || from.kind() == TypeKind::kDate)) {
      return absl::StrCat("toString(", operand, ")");
    }
    // A date or timestamp constant: its text is checked here, since ClickHouse would move an
    // invalid day (2024-02-30) to another date where DuckDB refuses it.
    if (from.kind() == TypeKind::kVarchar && expr.args[0]->kind == BoundExprKind::kConstant &&
        (to.kind() == TypeKind::kDate || to.kind() == TypeKind::kTimestamp) &&
        ValidDateText(expr.args[0]->constant.text, to.kind() == TypeKind::kTimestamp)) {
      return PlainCast(operand, to);
    }
    // Text to numbers or dates: 18.16's *OrNull wrap (toInt32OrNull of 99999999999) and shift
    // dates (toDateOrNull and even CAST of 2024-02-30 give 2024-03-01; a bad DateTime is a zero
    // date), where DuckDB fails or gives NULL.
    // Reals to integers: ClickHouse truncates where DuckDB rounds.
    return Refuse(what, expr.location);
  }

  std::string FunctionName(const std::string& name) override {
    static const auto* const kNames =
        new std::map<std::string, std::string>{{"upper", "upperUTF8"},
                                               {"lower", "lowerUTF8"},
                                               {"length", "lengthUTF8"},
                                               {"abs", "abs"},
                                               {"coalesce", "coalesce"},
                                               {"nullif", "nullIf"},
                                               {"round", "round"},
                                               {"floor", "floor"},
                                               {"ceil", "ceil"},
                                               {"ceiling", "ceil"},
                                               {"sqrt", "sqrt"},
                                               {"exp", "exp"},
                                               {"ln", "log"},
                                               {"log10", "log10"},
                                               {"log2", "log2"},
                                               {"pow", "pow"},
                                               {"power", "pow"},
                                               {"sign", "sign"},
                                               {"trim", "trimBoth"},
                                               {"ltrim", "trimLeft"},
                                               {"rtrim", "trimRight"},
                                               {"greatest", "greatest"},
                                               {"least", "least"}};
    auto found = kNames->find(name);
    return found == kNames->end() ? "" : found->second;
  }

  std::string Scalar(const BoundExpr& expr) {
    if (expr.name == "coalesce" && expr.args.size() == 2 &&
        expr.args[0]->kind == BoundExprKind::kAggregate && expr.args[0]->name == "sum" &&
        !expr.args[0]->distinct && !expr.args[0]->star_argument &&
        expr.args[0]->filter() == nullptr && expr.args[0]->value_args() == 1 &&
        expr.args[1]->kind == BoundExprKind::kConstant &&
        expr.args[1]->constant.kind == sql::ConstantKind::kInteger &&
        expr.args[1]->constant.text == "0") {
      std::string sum = SumOrZero(*expr.args[0]);
      if (!sum.empty()) return sum;
    }
    if (expr.name == "concat") {
      // DuckDB's concat skips NULLs; ClickHouse's gives NULL.
      std::vector<std::string> parts;
      for (const auto& arg : expr.args)
        parts.push_back(absl::StrCat("ifNull(", Expr(*arg), ", '')"));
      return absl::StrCat("concat(", absl::StrJoin(parts, ", "), ")");
    }
    if (expr.name == "substring" || expr.name == "substr") {
      // Equal to DuckDB's only from a positive start, with a length that is not negative.
      auto positive = [](const BoundExpr& arg, bool zero) {
        if (arg.kind != BoundExprKind::kConstant ||
            arg.constant.kind != sql::ConstantKind::kInteger) {
          return false;
        }
        long long value = std::atoll(arg.constant.text.c_str());
        return zero ? value >= 0 : value >= 1;
      };
      if (expr.args.size() < 2 || expr.args.size() > 3 || !positive(*expr.args[1], false) ||
          (expr.args.size() == 3 && !positive(*expr.args[2], true))) {
        return Refuse("the function substring with these arguments", expr.location);
      }
      return absl::StrCat("substringUTF8(", Args(expr), ")");
    }
    if ((expr.name == "round" && !expr.args.empty() &&
         expr.args[0]->type.kind() != TypeKind::kDouble) ||
        ((expr.name == "greatest" || expr.name == "least") && expr.args.size() != 2)) {
      return Refuse(absl::StrCat("the function ", expr.name, " with these arguments"),
                    expr.location);
    }
    std::string name = FunctionName(expr.name);
    if (name.empty()) return Refuse(absl::StrCat("the function ", expr.name), expr.location);
    return absl::StrCat(name, "(", Args(expr), ")");
  }

  std::string Aggregate(const BoundExpr& expr) {
    const BoundExpr* filter = expr.filter();
    std::string suffix = filter ? "If" : "";
    std::string condition = filter ? absl::StrCat(", ", Expr(*filter)) : "";
    if (expr.star_argument) {
      if (expr.name != "count") return Refuse(absl::StrCat(expr.name, "(*)"), expr.location);
      return filter ? absl::StrCat("countIf(", Expr(*filter), ")") : "count()";
    }
    if (expr.value_args() != 1) {
      return Refuse(absl::StrCat("the aggregate ", expr.name), expr.location);
    }
    const BoundExpr& arg = *expr.args[0];
    // The once-per-group weighting: CASE WHEN <flag> THEN v END over the group's distinct
    // (partition, value) pairs.
    if (!expr.distinct && arg.kind == BoundExprKind::kCase && !arg.case_has_operand &&
        !arg.case_has_else && arg.args.size() == 2 && FlagColumn(*arg.args[0]) != nullptr) {
      // The pairs hold the raw value: 18.16 crashes hashing a Nullable(Decimal) inside a tuple,
      // so the conversion comes after deduplication.
      std::string pairs =
          absl::StrCat("groupUniqArray", suffix, "(tuple(", Expr(*arg.args[0]), ", toNullable(",
                       Carried(*arg.args[1]), "))", condition, ")");
      std::string name = Reducer(expr);
      if (name.empty()) return "NULL";
      return absl::StrCat(
          "arrayReduce('", name, "', arrayMap(p -> ",
          Converted(expr.name, *arg.args[1], Uncarried(arg.args[1]->type, "tupleElement(p, 2)")),
          ", ", pairs, "))");
    }
    std::string value = Argument(expr.name, arg);
    if (expr.name == "count") {
      if (expr.distinct) {
        // Over a Nullable argument (join_use_nulls=1) 18.16 answers NULL for no rows at all,
        // where COUNT(DISTINCT) is 0.
        return absl::StrCat("ifNull(uniqExact", suffix, "(", Expr(arg), condition, "), 0)");
      }
      return absl::StrCat("count", suffix, "(", Expr(arg), condition, ")");
    }
    std::string name = Reducer(expr);
    if (name.empty()) return "NULL";
    if (expr.distinct && (expr.name == "sum" || expr.name == "avg")) {
      return absl::StrCat("arrayReduce('", name, "', groupUniqArray", suffix, "(", value, condition,
                          "))");
    }
    return absl::StrCat(name, suffix, "(", value, condition, ")");
  }

  // coalesce(sum(x), 0): the sum of x's values that are not NULL, 0 over none — as a sum of
  // ifNull(x, 0), which ClickHouse gives as 0 over no rows. (18.16 crashes on coalesce() of a
  // Nullable(Decimal) sum.) With the once-per-group weighting, over the group's distinct
  // (partition, value) pairs, as in Aggregate.
  std::string SumOrZero(const BoundExpr& sum) {
    const BoundExpr& arg = *sum.args[0];
    const sql::Type& type = sum.type;
    auto value = [&](const std::string& text) -> std::string {
      if (type.kind() == TypeKind::kHugeint || type.kind() == TypeKind::kDecimal) {
        int scale = type.kind() == TypeKind::kDecimal ? type.scale() : 0;
        return absl::StrCat("ifNull(toDecimal128(", text, ", ", scale, "), toDecimal128(0, ", scale,
                            "))");
      }
      return absl::StrCat("ifNull(", text, ", toFloat64(0))");
    };
    // Other sums (of FLOAT) keep the general form.
    bool exact = type.kind() == TypeKind::kHugeint || type.kind() == TypeKind::kDecimal;
    if (!exact && !(type.kind() == TypeKind::kDouble && arg.type.kind() == TypeKind::kDouble)) {
      return "";
    }
    if (arg.kind == BoundExprKind::kCase && !arg.case_has_operand && !arg.case_has_else &&
        arg.args.size() == 2 && FlagColumn(*arg.args[0]) != nullptr) {
      std::string pairs = absl::StrCat("groupUniqArray(tuple(", Expr(*arg.args[0]), ", toNullable(",
                                       Carried(*arg.args[1]), ")))");
      return absl::StrCat("arrayReduce('sum', arrayMap(p -> ",
                          value(Uncarried(arg.args[1]->type, "tupleElement(p, 2)")), ", ", pairs,
                          "))");
    }
    return absl::StrCat("sum(", value(Expr(arg)), ")");
  }

  // A value inside a tuple of an array (groupArray, groupUniqArray): Decimal128 as its text, since
  // 18.16 crashes on it there; Uncarried reads it back (the text of a value of one type is
  // canonical, so equal values stay equal).
  std::string Carried(const BoundExpr& value) {
    std::string text = Expr(value);
    return Wide(value.type) ? absl::StrCat("toString(", text, ")") : text;
  }
  static std::string Uncarried(const sql::Type& type, const std::string& element) {
    if (!Wide(type)) return element;
    // The if() keeps NULL: 18.16 parses a NULL's empty text otherwise.
    return absl::StrCat("if(isNull(", element, "), NULL, toDecimal128(ifNull(", element, ", '0'), ",
                        type.kind() == TypeKind::kDecimal ? type.scale() : 0, "))");
  }

  // The ClickHouse aggregate for SUM, AVG, MIN, MAX, COUNT.
  std::string Reducer(const BoundExpr& expr) {
    if (expr.name == "sum" || expr.name == "avg" || expr.name == "min" || expr.name == "max" ||
        expr.name == "count") {
      return expr.name;
    }
    return Refuse(absl::StrCat("the aggregate ", expr.name), expr.location);
  }

  // An aggregate's argument: Nullable, so an empty group gives NULL; integer sums in
  // Decimal(38, 0) (checked, where Int64 wraps); averages of exact numbers in Float64, as
  // DuckDB's AVG returns DOUBLE.
  std::string Argument(const std::string& aggregate, const BoundExpr& arg) {
    if (aggregate == "count") return Expr(arg);
    return absl::StrCat("toNullable(", Converted(aggregate, arg, Expr(arg)), ")");
  }

  // `value` (of `arg`'s type) as the aggregate adds it.
  static std::string Converted(const std::string& aggregate, const BoundExpr& arg,
                               const std::string& value) {
    if (aggregate == "sum" && IsInteger(arg.type)) {
      return absl::StrCat("toDecimal128(", value, ", 0)");
    }
    if (aggregate == "avg" && arg.type.kind() != TypeKind::kDouble) {
      return absl::StrCat("toFloat64(", value, ")");
    }
    return value;
  }

  std::string Expr(const BoundExpr& expr) override {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        return ColumnName(expr);
      case BoundExprKind::kConstant:
        return ConstantText(expr);
      case BoundExprKind::kScalar:
        return Scalar(expr);
      case BoundExprKind::kAggregate:
        return Aggregate(expr);
      case BoundExprKind::kWindow:
        return Refuse("window functions", expr.location);
      case BoundExprKind::kCast:
        return Conversion(expr);
      case BoundExprKind::kBinaryOp: {
        if (IsFirstRowFlag(expr)) {
          // Identifies the partition; the masked aggregate deduplicates on it (Aggregate).
          std::vector<std::string> parts;
          for (const auto& part : expr.args[0]->partition_by) parts.push_back(Expr(*part));
          return absl::StrCat("tuple(", absl::StrJoin(parts, ", "), ")");
        }
        static const std::set<std::string> kOperators = {
            "=", "!=", "<>", "<", ">",   "<=", ">=",   "+",
            "-", "*",  "/",  "%", "AND", "OR", "LIKE", "||"};
        if (!kOperators.count(expr.name)) {
          return Refuse(absl::StrCat("the operator ", expr.name), expr.location);
        }
        if (expr.name == "||") {
          return absl::StrCat("concat(", Expr(*expr.args[0]), ", ", Expr(*expr.args[1]), ")");
        }
        break;
      }
      case BoundExprKind::kUnaryOp:
        if (expr.name != "-" && expr.name != "NOT") {
          return Refuse(absl::StrCat("the operator ", expr.name), expr.location);
        }
        break;
      case BoundExprKind::kCase: {
        std::string out = "CASE";
        size_t i = 0;
        if (expr.case_has_operand) absl::StrAppend(&out, " ", Expr(*expr.args[i++]));
        size_t end = expr.args.size() - (expr.case_has_else ? 1 : 0);
        for (; i + 1 < end; i += 2) {
          absl::StrAppend(&out, " WHEN ", Expr(*expr.args[i]), " THEN ", Expr(*expr.args[i + 1]));
        }
        absl::StrAppend(&out, " ELSE ", expr.case_has_else ? Expr(*expr.args.back()) : "NULL");
        return out + " END";
      }
      case BoundExprKind::kSubquery: {
        if (expr.what == "EXISTS") return Refuse("EXISTS", expr.location);
        if (!expr.args.empty() && expr.negated) {
          return Refuse("NOT IN (subquery)", expr.location);
        }
        Scope saved = scope_;
        std::string prefix = NextSubqueryPrefix();
        pending_prefix_ = prefix;
        std::string body = Query(*expr.subquery);
        scope_ = saved;
        if (!expr.args.empty()) {
          // 18.16's IN is 0 where SQL's is NULL (a NULL operand, or no match in a set holding a
          // NULL), which NOT turns into 1: SQL's three values, spelled out.
          std::string operand = Expr(*expr.args[0]);
          return absl::StrCat("multiIf(isNull(", operand, "), NULL, ", operand,
                              scope_.on_shards ? " GLOBAL IN (" : " IN (", body,
                              "), 1, (SELECT count() FROM (", body, ") WHERE isNull(",
                              Identifier(prefix + "0"), ")) > 0, NULL, 0)");
        }
        return absl::StrCat("(", body, ")");
      }
      case BoundExprKind::kInList: {
        // 18.16 gives 0 for NULL IN (…) and 1 for NULL NOT IN (…), where SQL gives NULL (and a
        // WHERE drops the row): the NULL operand is spelled out. A NULL in the list would make
        // every non-match NULL too; refused rather than spelled.
        for (size_t i = 1; i < expr.args.size(); ++i) {
          if (expr.args[i]->kind == BoundExprKind::kConstant &&
              expr.args[i]->constant.kind == sql::ConstantKind::kNull) {
            return Refuse("IN with NULL in its list", expr.location);
          }
        }
        std::string operand = Expr(*expr.args[0]);
        return absl::StrCat("if(isNull(", operand, "), NULL, (", operand,
                            expr.negated ? " NOT IN (" : " IN (", Args(expr, 1), ")))");
      }
      case BoundExprKind::kOutputRef:
        return Refuse("ORDER BY an output of a set operation", expr.location);
      default:
        break;
    }
    return SqlWriter::Expr(expr);
  }

 private:
  std::string NextSubqueryPrefix() { return absl::StrCat("__parley_s", subqueries_++, "_"); }

  // Which columns of each base-table occurrence the statement reads, by render id.
  void CollectColumns(const BoundQuery& query, std::vector<const BoundQuery*> stack) {
    if (query.set_operation != sql::SetOperation::kNone) {
      CollectColumns(*query.set_left, stack);
      CollectColumns(*query.set_right, stack);
      return;
    }
    stack.push_back(&query);
    std::function<void(const BoundExpr&)> walk = [&](const BoundExpr& expr) {
      if (expr.kind == BoundExprKind::kColumn &&
          expr.outer_depth < static_cast<int>(stack.size())) {
        const BoundQuery& owner = *stack[stack.size() - 1 - expr.outer_depth];
        const BoundTable& table = owner.tables[expr.table_index];
        if (table.is_base()) columns_[table.render_id].insert(expr.column);
      }
      for (const auto& arg : expr.args) walk(*arg);
      for (const auto& part : expr.partition_by) walk(*part);
      for (const auto& order : expr.window_order) walk(*order.expr);
      if (expr.subquery) CollectColumns(*expr.subquery, stack);
    };
    std::function<void(const BoundFrom&)> from = [&](const BoundFrom& node) {
      if (node.on) walk(*node.on);
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
    };
    for (const auto& root : query.from) from(*root);
    for (const auto& item : query.select) walk(*item.expr);
    if (query.where) walk(*query.where);
    for (const auto& group : query.group_by) walk(*group);
    if (query.having) walk(*query.having);
    for (const auto& order : query.order_by) walk(*order.expr);
    for (const BoundTable& table : query.tables) {
      if (!table.is_base() && table.derived) CollectColumns(*table.derived, stack);
    }
  }

  const ClickHouseLayout& layout_;
  const BoundQuery* top_ = nullptr;
  std::string pending_prefix_;
  int subqueries_ = 0;
  int windows_ = 0;
  Scope scope_;
  std::map<int, std::set<std::string>> columns_;
};

}  // namespace

const Capabilities& ClickHouseDialect::capabilities() const {
  static constexpr Capabilities kClickHouse{.widest_integer_bits = 64,
                                            .decimal_narrow_width = 18,
                                            .decimal_max_width = 38,
                                            .null_on_failed_conversion = true,
                                            .null_safe_joins = false};
  return kClickHouse;
}

absl::StatusOr<std::string> ClickHouseDialect::Render(const sql::BoundQuery& query) const {
  return ClickHouseWriter(layout_).WriteStatement(query);
}

}  // namespace parley::render
