// The bound IR: the query after name resolution. Every column reference knows the table it
// comes from, that table's owner, the column's catalog name and type; functions are classified
// as aggregate or scalar; GROUP BY / ORDER BY ordinals and output aliases are replaced by the
// expressions they denote. Policy checks run on this, never on text, and the renderer generates
// engine SQL from it alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/ast.h"

namespace parley::sql {

// What the binder needs to know about a table: the columns a query may reference (its allowed
// columns), and who owns it.
struct ColumnInfo {
  std::string name;
  std::string type;  // DuckDB type name
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

// One table occurrence in FROM (the same table twice is two occurrences).
struct BoundTable {
  int index = 0;
  const TableSchema* schema = nullptr;
  std::string alias;  // as written, or the table name
  int location = -1;
  // Read only inside a subquery the binder did not bind (the query is rejected for that
  // construct); such tables are in no join and take part in no join requirement.
  bool in_subquery = false;
};

enum class BoundExprKind {
  kColumn,     // table_index, column (catalog spelling), type
  kConstant,   // constant
  kScalar,     // name (lower case), args
  kAggregate,  // name, distinct, star_argument, args
  kUnaryOp,    // name, args[0]
  kBinaryOp,   // name, args[0..1], negated (NOT LIKE)
  kIsNull,
  kBetween,
  kInList,
  kCase,
  kCast,       // type_name: the DuckDB type to cast to
  kOpaque,     // a construct the binder could not bind (subquery); see `what`
};

struct BoundExpr {
  BoundExprKind kind = BoundExprKind::kConstant;
  int location = -1;
  int table_index = -1;
  std::string column;
  std::string type;
  Constant constant;
  std::string name;
  std::string type_name;
  std::string what;
  bool distinct = false;
  bool star_argument = false;
  bool negated = false;
  bool case_has_operand = false;
  bool case_has_else = false;
  std::vector<std::unique_ptr<BoundExpr>> args;

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
};

struct BoundOrderItem {
  std::unique_ptr<BoundExpr> expr;
  bool descending = false;
  std::optional<bool> nulls_first;
  int location = -1;
};

// A construct the query uses that some rules forbid outright: subqueries, CTEs, set
// operations, window functions, SELECT *, LIMIT, OFFSET, DISTINCT, outer and cross joins.
struct Construct {
  std::string what;  // "a subquery", "a CTE (WITH)", "LIMIT", ...
  std::string clause;
  int location = -1;
};

struct BoundQuery {
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
};

// Clause names used in violations and in Construct::clause.
inline constexpr char kClauseSelect[] = "SELECT";
inline constexpr char kClauseFrom[] = "FROM";
inline constexpr char kClauseJoinOn[] = "JOIN ON";
inline constexpr char kClauseWhere[] = "WHERE";
inline constexpr char kClauseGroupBy[] = "GROUP BY";
inline constexpr char kClauseHaving[] = "HAVING";
inline constexpr char kClauseOrderBy[] = "ORDER BY";
inline constexpr char kClauseLimit[] = "LIMIT";

}  // namespace parley::sql
