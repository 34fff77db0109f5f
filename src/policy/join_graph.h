// Join conditions, shared by the rules that match rows across tables on join columns
// (aggregation and list): JOIN … ON may hold only equalities between join columns of two
// different tables, combined with AND or OR as every table's rule allows. The equalities connect
// table occurrences into a graph, which answers whether a table is joined, directly or through
// other tables, with a table of the member who runs the query. Internal to the checker.
//
//   JoinGraph graph(query.tables.size());
//   CheckJoinConditions(query, host, graph);     // host: the rule kind's checker
//   CheckJoinedWithRunner(query, graph, runner, host, [&](int table) { return ...; });
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "sql/ir.h"

namespace parley::policy {

// Which table occurrences of one query the join equalities connect (a union-find).
class JoinGraph {
 public:
  explicit JoinGraph(size_t tables);
  void Connect(int a, int b);
  bool Connected(int a, int b) const;
  // The connections both graphs have (of conditions ORed together: either may hold alone).
  static JoinGraph Common(const JoinGraph& a, const JoinGraph& b);

 private:
  int Find(int i) const;
  mutable std::vector<int> parent_;  // path compression is not a visible change
};

// What the join checks need from the checker of one rule kind. The query must be flat and every
// table occurrence must have a rule of that kind.
class JoinCheckHost {
 public:
  virtual ~JoinCheckHost() = default;
  virtual const std::set<std::string>& JoinColumnsOf(int table_index) const = 0;
  virtual const std::set<std::string>& JoinOperatorsOf(int table_index) const = 0;
  // Records a violation; table_index -1 names every table of the query.
  virtual void Report(std::string code, int table_index, std::string column, std::string clause,
                      int location, std::string message, std::string hint) = 0;
  // Judges one side of a join equality before its columns are: false, after reporting why, when
  // the operand is not worth judging further.
  virtual bool AcceptJoinOperand(const sql::BoundExpr& operand) = 0;
  // Judges the functions and operators around the join column of an operand that is not a plain
  // column (its columns are judged already).
  virtual void CheckJoinOperandExpression(const sql::BoundExpr& operand) = 0;
};

// Checks every JOIN … ON condition of `query.from`, reporting to `host`, and connects in `graph`
// the tables each condition joins: every valid equality of an AND, and of an OR only the tables
// that both of its sides join, since a row may satisfy one side alone.
void CheckJoinConditions(const sql::BoundQuery& query, JoinCheckHost& host, JoinGraph& graph);

// Reports join_required for every table occurrence for which `required(index)` holds, whose
// owner is not `runner`, and that `graph` does not connect with a table owned by `runner`.
void CheckJoinedWithRunner(const sql::BoundQuery& query, JoinGraph& graph,
                           const std::string& runner, JoinCheckHost& host,
                           const std::function<bool(int)>& required);

// "join columns of 'retail': hashed_email", or that the table's rule has none.
std::string JoinColumnsHint(const std::string& table, const std::set<std::string>& join_columns);

}  // namespace parley::policy
