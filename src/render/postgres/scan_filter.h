// Filter pushdown for sources read from PostgreSQL (connectors/postgres): for each base table of
// a checked and rewritten statement, a condition in PostgreSQL's SQL that every row the statement
// can use satisfies, so the connector may ask the server for those rows only. DuckDB still
// applies the statement's own conditions to what comes back: a pushed filter only has to keep
// every row the statement needs, and it is rendered here, from the IR, never from user text.
//
// What is pushed, per occurrence of a table: the conjuncts of its own SELECT's WHERE that name
// only that occurrence's columns, each of one simple shape — a column compared (=, <>, <, <=, >,
// >=) with a literal, [NOT] IN a list of literals, BETWEEN two literals, IS [NOT] NULL, a boolean
// column, and AND/OR of these. A table on the nullable side of an outer join gets nothing (WHERE
// t.x IS NULL keeps rows the join invented), nor does a table that also appears where this walk
// does not look (a subquery in an expression). Several occurrences of one table: the OR of their
// filters, or nothing if one has none.
//
// Literals are rendered only where both engines read them identically: exact numbers already
// fitted to the column's type by the binder, integers of up to 15 digits against double precision,
// ISO dates and timestamps, canonical UUIDs, text (quotes doubled; ordering comparisons in the "C"
// collation, which orders bytes as DuckDB does), booleans. Anything else stays in DuckDB only.
//
// Thread safety: a pure function.
#pragma once

#include <map>
#include <string>

#include "sql/ir.h"

namespace parley::render {

// Catalog table name -> the PostgreSQL condition to push (absent: none). Column names are
// rendered bare (quoted), for `SELECT ... FROM relation WHERE <condition>`.
std::map<std::string, std::string> PostgresScanFilters(const sql::BoundQuery& statement);

}  // namespace parley::render
