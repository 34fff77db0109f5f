// The parsed SQL tree: what the user wrote, in Parley's own types, before any name is resolved.
// The parser (parser.h) builds it from libpg_query's PostgreSQL 15 parse tree; the binder
// (binder.h) resolves it into the bound IR (ir.h). Nothing here knows tables or rules.
//
// Every node keeps the byte offset of where it starts in the source text (-1 when PostgreSQL
// does not record one), so violations can point at line:column.
//
// Constructs Parley does not model are not dropped: they become `kUnsupported` nodes (or flags
// on the statement) naming what they are, so the binder and checker can reject them with a
// reason instead of silently ignoring them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parley::sql {

struct SelectStatement;
struct Expr;

struct OrderItem {
  std::unique_ptr<Expr> expr;
  bool descending = false;
  std::optional<bool> nulls_first;
};

enum class ExprKind {
  kColumnRef,     // name_parts: [column] or [table, column]
  kStar,          // `*` or `t.*`; name_parts holds the qualifier, if any
  kConstant,      // constant
  kFunctionCall,  // name (lower case), args; aggregate flags below
  kUnaryOp,       // op ("-", "+", "NOT"), args[0]
  kBinaryOp,      // op ("+", "=", "AND", "OR", "LIKE", ...), args[0], args[1]
  kIsNull,        // args[0]; negated for IS NOT NULL
  kBetween,       // args: value, low, high; negated for NOT BETWEEN
  kInList,        // args[0] IN (args[1..]); negated for NOT IN
  kCase,          // args: [operand?] then when/then pairs then [else]; see case_* fields
  kCast,          // args[0], type_name
  kSubquery,      // subquery (scalar, EXISTS, IN, ANY)
  kParameter,     // $n (templates' :name parameters become $n before parsing); parameter_index
  kUnsupported,   // what: a human name for the construct ("window function", "array")
};

enum class ConstantKind { kNull, kInteger, kFloat, kString, kBoolean };

struct Constant {
  ConstantKind kind = ConstantKind::kNull;
  std::string text;  // integer/float digits as written (with sign), string contents, "true"
};

struct Expr {
  ExprKind kind = ExprKind::kUnsupported;
  int location = -1;

  std::vector<std::string> name_parts;  // kColumnRef, kStar
  Constant constant;                    // kConstant
  std::string name;                     // kFunctionCall (lower case), kUnaryOp/kBinaryOp op
  std::vector<std::unique_ptr<Expr>> args;
  bool negated = false;               // kIsNull, kBetween, kInList, LIKE
  bool distinct = false;              // kFunctionCall: f(DISTINCT x)
  bool star_argument = false;         // kFunctionCall: count(*)
  std::string unsupported_call_part;  // kFunctionCall: "WITHIN GROUP", ...
  std::unique_ptr<Expr> agg_filter;   // kFunctionCall: f(...) FILTER (WHERE agg_filter)
  bool has_over = false;              // kFunctionCall: a window function
  std::vector<std::unique_ptr<Expr>> window_partition;  // has_over: PARTITION BY
  std::vector<OrderItem> window_order;                  // has_over: ORDER BY
  int parameter_index = 0;                              // kParameter: n of $n
  bool case_has_operand = false;                        // kCase: CASE x WHEN ...
  bool case_has_else = false;                           // kCase
  std::string type_name;  // kCast: PostgreSQL type name, lower case, e.g. "int4"
  std::shared_ptr<SelectStatement> subquery;  // kSubquery
  std::string what;                           // kUnsupported, or the kind of kSubquery
};

struct TableRef;

enum class JoinType { kInner, kLeft, kRight, kFull, kCross };

enum class TableRefKind {
  kTable,        // name, alias
  kJoin,         // left, right, join_type, on (null for CROSS / NATURAL / USING, see flags)
  kSubquery,     // subquery, alias
  kUnsupported,  // what: "table function", "LATERAL", ...
};

struct TableRef {
  TableRefKind kind = TableRefKind::kUnsupported;
  int location = -1;
  std::string name;    // kTable: table name as written (identifiers already case-folded)
  std::string schema;  // kTable: schema qualifier, if any (Parley has none; rejected)
  std::string alias;   // may be empty
  JoinType join_type = JoinType::kInner;
  bool natural = false;
  bool has_using = false;
  std::unique_ptr<TableRef> left;
  std::unique_ptr<TableRef> right;
  std::unique_ptr<Expr> on;
  std::shared_ptr<SelectStatement> subquery;
  std::string what;
};

struct SelectItem {
  std::unique_ptr<Expr> expr;
  std::string alias;  // empty when none
  int location = -1;
};

enum class SetOperation { kNone, kUnion, kIntersect, kExcept };

struct SelectStatement {
  int location = 0;
  bool distinct = false;
  bool distinct_on = false;
  std::vector<SelectItem> select;
  std::vector<std::unique_ptr<TableRef>> from;  // comma-separated items
  std::unique_ptr<Expr> where;
  std::vector<std::unique_ptr<Expr>> group_by;
  std::unique_ptr<Expr> having;
  std::vector<OrderItem> order_by;
  std::unique_ptr<Expr> limit;
  std::unique_ptr<Expr> offset;

  bool has_with = false;  // a WITH clause (CTEs)
  int with_location = -1;
  std::vector<std::shared_ptr<SelectStatement>> ctes;  // the WITH bodies, in order
  std::vector<std::string> cte_names;                  // their names, as written
  std::vector<int> cte_locations;
  SetOperation set_operation = SetOperation::kNone;  // UNION / INTERSECT / EXCEPT
  bool set_all = false;
  std::shared_ptr<SelectStatement> set_left;
  std::shared_ptr<SelectStatement> set_right;
  std::vector<std::string> unsupported;  // clauses parsed but not modelled: "WINDOW", "INTO", ...
};

}  // namespace parley::sql
