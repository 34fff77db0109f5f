// Thresholds on free SQL (custom rules with aggregation_thresholds; issue 16). A custom query can
// be any SELECT, so the threshold cannot be one HAVING clause: the identities of a thresholded
// table travel with the rows through the plan, and the output rows are released only when the
// rows they were computed from carry enough distinct identities.
//
// Every block that reads a thresholded table gets hidden trailing output columns
// "__parley_s<i>", one per *support*. A base table occurrence brings, per row and per identity
// column of its rule, the identity itself. A join keeps every side's supports as separate
// columns: a joined row must be supported on every side, so a self-join (each side its own
// column) cannot lend one person's row the identities of another. A grouping block (GROUP BY,
// aggregates, or DISTINCT, which becomes a GROUP BY) merges each support over its group into the
// list of its distinct identities — count(DISTINCT identity) in the judged block, which only
// compares it with the minimum; a window function adds, per support, the distinct identities of
// its window (the rows its value is computed from). UNION ALL keeps each branch's supports in
// columns of their own, NULL in the other branch's rows, so a later aggregate needs enough
// identities from every branch. Lists are cut to the minimum they must reach: |cut(A ∪ B)| =
// min(k, |A ∪ B|) as long as A and B are cut to k, so the lists stay small.
//
// The statement's top-level block becomes the inner block of
//
//   SELECT <outputs> FROM (<the query with its supports and order keys>) AS released
//   WHERE <identities of __parley_s0> >= k0 AND …
//   ORDER BY <order keys> LIMIT … OFFSET …
//
// so that rows are suppressed before ORDER BY and LIMIT choose among them; a top-level UNION
// applies this to each branch (each output row comes from one branch, or is one row of the
// released branches' union). A support that is NULL (the other side of an outer join, the other
// branch of a UNION ALL, an empty group) counts zero identities. Nothing here can fail on the
// data: list functions of lists; the user's own expressions are guarded separately
// (error_guard.h), and the checker refused every construct this pass cannot follow
// (policy/custom_controls.h).
#pragma once

#include <functional>
#include <vector>

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::rewrite {

// `thresholds` are the verdict's custom-rule thresholds (table name, identity column, minimum).
void ApplyIdentityThresholds(sql::BoundQuery& statement,
                             const std::vector<policy::Threshold>& thresholds);

// Every block of the statement (CTE bodies, set operation branches, derived tables, subqueries),
// for passes that rewrite each one in place. Blocks are visited before the blocks that contain
// them.
void ForEachBlock(sql::BoundQuery& statement, const std::function<void(sql::BoundQuery&)>& visit);

}  // namespace parley::rewrite
