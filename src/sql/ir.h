// The bound IR: the query after name resolution. Every column reference knows the table it
// comes from, that table's owner, the column's catalog name and type; every expression knows its
// result type (sql/types.h), and literals have been converted to the type they meet; functions
// are classified as aggregate or scalar; GROUP BY / ORDER BY ordinals and output aliases are
// replaced by the expressions they denote. Policy checks run on this, never on text, and the
// renderer generates engine SQL from it alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/ast.h"
#include "sql/type.h"

namespace parley::sql {

// What the binder needs to know about a table: the columns a query may reference (its allowed
// columns), and who owns it.
struct ColumnInfo {
  std::string name;
  Type type;  // whoever builds a schema from an engine's or a source's type names converts them
              // (for DuckDB's: sql/duckdb_types.h)
};

struct TableSchema {
  std::string name;
  std::string owner;
  std::vector<ColumnInfo> columns;
};

// Looks tables up by name, case-insensitively. Returns nullptr when there is no such table.
class SchemaProvider {
 public:
  virtual ~SchemaProvider() = default;
  virtual const TableSchema* FindTable(std::string_view name) const = 0;
};

struct BoundQuery;
struct BoundExpr;

// One table occurrence in FROM (the same table twice is two occurrences): a base table of the
// collaboration, or a derived table — a subquery in FROM or a reference to a CTE.
struct BoundTable {
  int index = 0;                        // position in its query's `tables`
  int render_id = 0;                    // unique in the whole statement: rendered as "t<id>"
  const TableSchema* schema = nullptr;  // base tables; nullptr for derived ones
  std::string alias;                    // as written, or the table (or CTE) name
  int location = -1;
  std::vector<ColumnInfo> columns;  // what a query may reference: allowed or output columns
  std::shared_ptr<const BoundQuery> derived;  // derived tables: the subquery or CTE body
  int cte_id = -1;  // CTE references: the id of the CTE (rendered "c<id>")

  bool is_base() const { return schema != nullptr; }
};

struct BoundOrderItem {
  std::unique_ptr<BoundExpr> expr;
  bool descending = false;
  std::optional<bool> nulls_first;
  int location = -1;
};

enum class BoundExprKind {
  kColumn,     // table_index in the query `outer_depth` levels out; column, type
  kConstant,   // constant
  kScalar,     // name (lower case), args
  kAggregate,  // name, distinct, star_argument, args (the last one its FILTER when has_filter)
  kWindow,     // name, args, partition_by, window_order: a window function
  kUnaryOp,    // name, args[0]
  kBinaryOp,   // name, args[0..1], negated (NOT LIKE)
  kIsNull,
  kBetween,
  kInList,
  kCase,
  kCast,       // cast_type: the type to cast to; name "try_cast" for TRY_CAST
  kSubquery,   // subquery; what: "EXISTS", "scalar subquery", "IN (subquery)"; args[0] for IN
  kOutputRef,  // ORDER BY of a set operation: output column `output_index` (0-based)
};

struct BoundExpr {
  BoundExprKind kind = BoundExprKind::kConstant;
  int location = -1;
  int table_index = -1;
  int outer_depth = 0;  // kColumn: 0 for the query's own tables, 1 for the enclosing query, ...
  std::string column;
  Type type;  // the type of the result; unknown when Parley cannot type it
  Constant constant;
  std::string name;
  Type cast_type;
  std::string what;
  bool distinct = false;
  bool star_argument = false;
  bool negated = false;
  bool case_has_operand = false;
  bool case_has_else = false;
  // kAggregate: `f(x) FILTER (WHERE c)` — c is the last of `args`, after the arguments. It is
  // kept among the arguments on purpose: every walk over an expression's arguments (column
  // lineage, comparisons, row errors, protections) meets the filter's columns without knowing
  // of FILTER; the code that reads an aggregate's arguments by position asks value_args().
  bool has_filter = false;
  int output_index = -1;
  std::vector<std::unique_ptr<BoundExpr>> args;
  std::vector<std::unique_ptr<BoundExpr>> partition_by;
  std::vector<BoundOrderItem> window_order;
  std::shared_ptr<const BoundQuery> subquery;

  // kAggregate: its FILTER condition, or nullptr; and how many of `args` are its arguments.
  const BoundExpr* filter() const { return has_filter ? args.back().get() : nullptr; }
  size_t value_args() const { return args.size() - (has_filter ? 1 : 0); }

  std::unique_ptr<BoundExpr> Clone() const;
  // Structural equality, ignoring locations (used to match SELECT items with GROUP BY).
  bool SameAs(const BoundExpr& other) const;
};

struct BoundFrom {
  bool is_join = false;
  int table_index = -1;  // when !is_join
  JoinType join_type = JoinType::kInner;
  std::unique_ptr<BoundFrom> left;
  std::unique_ptr<BoundFrom> right;
  std::unique_ptr<BoundExpr> on;  // null for CROSS
  int location = -1;
};

struct BoundSelectItem {
  std::unique_ptr<BoundExpr> expr;
  std::string output_name;
  int location = -1;
  bool from_star = false;  // expanded from `*` or `t.*`
};

// A construct the query uses that some rules forbid outright: subqueries, CTEs, set
// operations, window functions, SELECT *, LIMIT, OFFSET, DISTINCT, outer and cross joins.
// Recorded for the top-level query only (nested queries are one construct each).
struct Construct {
  std::string what;  // "a subquery", "a CTE (WITH)", "LIMIT", ...
  std::string clause;
  int location = -1;
};

struct BoundCte {
  int id = 0;        // rendered as "c<id>"
  std::string name;  // as written
  std::shared_ptr<const BoundQuery> query;
  int location = -1;
};

// One SELECT block, or a set operation of two queries (then `select` holds the output columns
// with null expressions, named after the left side's).
struct BoundQuery {
  std::vector<BoundCte> ctes;  // WITH at this level, in order
  SetOperation set_operation = SetOperation::kNone;
  bool set_all = false;
  std::shared_ptr<const BoundQuery> set_left;
  std::shared_ptr<const BoundQuery> set_right;

  std::vector<BoundTable> tables;
  std::vector<std::unique_ptr<BoundFrom>> from;  // comma-separated roots (usually one)
  bool distinct = false;
  std::vector<BoundSelectItem> select;
  std::unique_ptr<BoundExpr> where;
  std::vector<std::unique_ptr<BoundExpr>> group_by;
  std::unique_ptr<BoundExpr> having;
  std::vector<BoundOrderItem> order_by;
  std::optional<int64_t> limit;
  std::optional<int64_t> offset;
  std::vector<Construct> constructs;

  // A single SELECT over base tables with no CTE, subquery or window function: the shape the
  // aggregation and list rules accept.
  bool IsFlat() const;
  // Every base-table occurrence in the statement: this query's, its CTEs', derived tables',
  // subqueries' and set branches' (each CTE body once, however often it is referenced).
  std::vector<const BoundTable*> BaseTables() const;
};

// Clause names used in violations and in Construct::clause.
inline constexpr char kClauseSelect[] = "SELECT";
inline constexpr char kClauseFrom[] = "FROM";
inline constexpr char kClauseJoinOn[] = "JOIN ON";
inline constexpr char kClauseWhere[] = "WHERE";
inline constexpr char kClauseFilter[] = "FILTER";  // an aggregate's FILTER (WHERE …)
inline constexpr char kClauseGroupBy[] = "GROUP BY";
inline constexpr char kClauseHaving[] = "HAVING";
inline constexpr char kClauseOrderBy[] = "ORDER BY";
inline constexpr char kClauseLimit[] = "LIMIT";

}  // namespace parley::sql
