// Parsing: SQL text → the parsed tree of ast.h, through libpg_query (PostgreSQL 15 grammar).
// This is the only place that sees libpg_query's tree; it accepts exactly one SELECT statement.
//
//   PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<sql::SelectStatement> statement,
//                           sql::ParseSelect("SELECT count(*) FROM t"));
//
// Errors (InvalidArgument, with the position as "(line L, column C)", columns in characters): a
// syntax error; an empty request; a NUL byte; more than one statement; a statement other than
// SELECT (named: "INSERT", "SET", ...).
// Thread safety: safe to call from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "sql/ast.h"

namespace parley::sql {

absl::StatusOr<std::unique_ptr<SelectStatement>> ParseSelect(std::string_view sql);

// A 1-based line and column (in characters) for a 0-based byte offset into `text`.
struct SourcePosition {
  int line = 0;
  int column = 0;
};
SourcePosition PositionOf(std::string_view text, int byte_offset);
// "line 2, column 7", or "" when the offset is unknown (negative).
std::string DescribePosition(std::string_view text, int byte_offset);

}  // namespace parley::sql
