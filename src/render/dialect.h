// Rendering: bound IR → SQL text for one engine. Rendering is the only way SQL reaches an engine:
// it is generated from the checked (and rewritten) IR alone, never copied from user text. Each
// engine has its own Dialect (render/duckdb/ today; the distributed engine's next), because
// engines differ in structure, not only in spelling.
//
// A Dialect receives the whole statement, so it may restructure it before writing it: the
// distributed engine's dialect will nest joins so that each SELECT has at most one JOIN, inline
// table CTEs as subqueries, turn joins into GLOBAL joins unless the tables are co-sharded,
// qualify names with their database, and spell COUNT(DISTINCT …) as uniqExact. Such
// restructuring is a fact of the engine, not of the policy, so it belongs here and not in
// rewrite/. What a dialect cannot express at all it refuses with a reason (Refusal), naming the
// construct and its position in the user's SQL — a refusal, never a silently different query.
//
// Dialects that only need to change some spellings or refuse some constructs derive a writer from
// SqlWriter (sql_writer.h), which writes the standard SQL shape and exposes each step as a
// virtual hook.
//
//   render::DuckDbDialect dialect;
//   PARLEY_ASSIGN_OR_RETURN(std::string sql, dialect.Render(rewritten));
//
// Thread safety: dialects are immutable; Render may be called from several threads at once.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "sql/capabilities.h"
#include "sql/ir.h"

namespace parley::render {

// The engine's facts the rewrite passes need (sql/capabilities.h, where the type lives so that
// rewrite/ can take it without depending on render/).
using Capabilities = sql::Capabilities;

class Dialect {
 public:
  virtual ~Dialect() = default;

  // The engine this dialect writes for ("duckdb"); an engine runs only its own dialect's SQL.
  virtual std::string_view name() const = 0;

  // The engine's facts the rewrite passes need (see Capabilities).
  virtual const Capabilities& capabilities() const = 0;

  // One statement in this dialect, equivalent to `query`. InvalidArgument (Refusal) when the
  // query uses a construct the engine cannot run, naming the construct and its position.
  virtual absl::StatusOr<std::string> Render(const sql::BoundQuery& query) const = 0;
};

// The refusal of `construct` ("window functions", "a table CTE") by `dialect`, at a byte offset
// of the user's SQL (-1 when the construct has no position):
// InvalidArgument "the duckdb engine cannot run window functions (at position 17)".
absl::Status Refusal(std::string_view dialect, std::string_view construct, int location);

}  // namespace parley::render
