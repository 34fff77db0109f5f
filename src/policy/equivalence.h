// Protection that follows equality, not just data flow. A rule protects some columns (custom:
// disallowed_output_columns; aggregation: join columns; list: every column that is not a list
// column). Data flow alone would let a runner read a protected value without outputting it: a
// column of its own table, of a generated sequence (ROW_NUMBER, constants joined by UNION) or of
// another member's table, compared equal to the protected column, holds exactly the protected
// value in every row that survives the comparison — so `SELECT s.n FROM seq s JOIN t ON s.n =
// t.id` lists the ids of t. This module traces both, over the bound IR of a whole statement:
//
//   - data flow: which base columns an output is computed from, through aliases, expressions
//     (CASE conditions included), aggregates, window functions (PARTITION BY and ORDER BY too),
//     derived tables, CTEs, scalar subqueries, set operations and outer references of correlated
//     subqueries (as the custom rule has always traced it);
//   - equality: which values the statement compares equal to an expression of a protected
//     column. A value becomes protected by a predicate of JOIN ON, WHERE or HAVING, in any block
//     (subqueries, CTEs, derived tables, set operation branches included), that compares it with
//     a protected expression: `=`, IS NOT DISTINCT FROM, LIKE, NOT (… <> …), IN (list),
//     [NOT] IN (subquery), BETWEEN, a pair of range comparisons that bound it on both sides, a
//     comparison one side of which combines it with the protected column (ABS(x - t.id) < 1), a
//     matching function used as the predicate (starts_with, regexp_matches), or any of these
//     nested in CASE, COALESCE or another expression — or computed as a value in SELECT, GROUP BY
//     or ORDER BY, which an enclosing query can filter on. Correlated equalities of a subquery
//     (EXISTS, NOT EXISTS, scalar) protect the outer value they name. Protection then spreads
//     over chains (a = b AND b = c) and through derived tables and CTEs to every output that
//     carries a protected value.
//
// Deliberately conservative, because every relaxation is an evasion:
//   - an equality in one branch of an OR counts: the other branch can be made false for the rows
//     that matter (`… WHERE s.n = t.id OR 1 = 0`); only a NOT turns it into an inequality;
//   - both sides of an equality, and every column in them, are protected together: `s.n - t.id =
//     0` and `LOWER(t.e) = s.e` equate s.n and s.e with the protected column as surely as `=`;
//   - LEFT, RIGHT and FULL joins equate like inner joins: which rows found a match is visible in
//     the other columns of the output;
//   - a value merely in the same row as a protected one (a dimension of the matched row) is not
//     equal to it and is not protected.
//
//   ProtectionTracer tracer(statement, [&](const sql::TableSchema& t, const std::string& c) {
//     return IsDisallowed(t, c);
//   });
//   ValueSources sources = tracer.Output(i);  // output column i of the statement
//   for (const auto& [key, reason] : sources.equalities) ... reason.protected_column ...
//
// Thread safety: a tracer is used by one thread; it only reads the statement.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "sql/ir.h"

namespace parley::policy {

// A column of a base table.
using BaseColumn = std::pair<const sql::TableSchema*, std::string>;

// Why a value is protected although no protected column flows into it: `predicate`, in `clause`
// at `location`, compares it equal to an expression of `protected_column` (directly or through a
// chain of such predicates; the one named is the last link).
struct EqualityReason {
  BaseColumn protected_column;
  std::string predicate;  // "the equality", "the IN list", "IN (subquery)", "BETWEEN", ...
  std::string clause;     // sql::kClauseJoinOn, kClauseWhere or kClauseHaving
  int location = -1;      // byte offset of the predicate in the query text
};

// Where the value of an output comes from.
struct ValueSources {
  std::set<BaseColumn> columns;  // data flow
  // Protected columns the value is compared equal to, keyed by (table name, column name) so
  // that violations come out in a stable order.
  std::map<std::pair<std::string, std::string>, EqualityReason> equalities;
};

class ProtectionTracer {
 public:
  // Whether the rule of `table` protects `column`.
  using IsProtected = std::function<bool(const sql::TableSchema& table, const std::string& column)>;

  // `statement` must outlive the tracer. Computes the equalities once, here.
  ProtectionTracer(const sql::BoundQuery& statement, IsProtected is_protected);
  ~ProtectionTracer();
  ProtectionTracer(const ProtectionTracer&) = delete;
  ProtectionTracer& operator=(const ProtectionTracer&) = delete;

  // The sources of output column `position` of the statement.
  ValueSources Output(size_t position);

  // The equality that protects `column`, a column reference (kColumn, outer depth 0) of the
  // statement's own top-level block; nullopt when none does. For the rules that judge flat
  // queries column by column.
  std::optional<EqualityReason> EqualityOf(const sql::BoundExpr& column) const;

 private:
  class Engine;
  std::unique_ptr<Engine> engine_;
};

// The violation message for a value protected by equality, e.g. "output column 'n' is compared
// equal to column 'id' of table 't', which may not be output (by the equality in JOIN ON at line
// 1, column 40)". `subject` names the value ("output column 'n'", "column 'segment'").
std::string ProtectedByEqualityMessage(std::string_view subject, const EqualityReason& reason,
                                       std::string_view source_text);

// The hint that goes with it.
inline constexpr char kProtectedByEqualityHint[] =
    "a value compared equal to a protected column reveals it as the column itself would; use "
    "such comparisons to join and filter, but output other columns";

}  // namespace parley::policy
