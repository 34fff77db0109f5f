// The controls a custom rule may add to free SQL (issue 16; docs/rules.md "Thresholds on free
// SQL"): aggregation thresholds on identity columns, plain columns only inside aggregates, and
// allow-lists of columns that may be compared with a literal or with another column.
//
// Thresholds are enforced by the rewrite (rewrite/support.h), which carries each thresholded
// table's identities with the rows through the whole plan. This check decides the minimum each
// identity column must reach in this query (a rule's output_column_thresholds change it by what
// the query outputs) and refuses, naming the construct, every shape through which the rewrite
// could not tell which identities an output row comes from: a subquery expression, INTERSECT or
// EXCEPT, UNION without ALL below the top level, a window function that reads one row's value,
// a window over grouped rows, DISTINCT over aggregates. Never run without the threshold. It also
// refuses what the threshold alone would let through: an aggregate that weighs every row (SUM,
// AVG, COUNT(*), a window function) over rows a join repeats — the runner would choose each
// person's weight — and output names in Parley's reserved namespace, which could stand in for
// the rewrite's hidden columns.
//
// A column's identity is followed through the statement: a column renamed in a CTE or a derived
// table is still that column, so a comparison or aggregate argument is judged by the base columns
// it comes from; a side computed from no column at all is a literal however it is written, and a
// count compares no value. Internal to the checker.
#pragma once

#include <string_view>

#include "policy/checker.h"
#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

// Adds violations and, for thresholded tables, one `verdict.thresholds` entry per identity column
// with a minimum above 0 (table_index -1: the threshold holds for every occurrence of the table).
void CheckCustomControls(const sql::BoundQuery& query, const RuleProvider& rules,
                         std::string_view source_text, Verdict& verdict);

}  // namespace parley::policy
