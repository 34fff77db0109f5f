// Rendering: bound IR → DuckDB SQL text. This is the only SQL the engine ever runs for a query:
// it is generated from the checked (and rewritten) IR alone, never copied from user text.
// Identifiers are always quoted; tables get positional aliases ("t0", "t1", …); string constants
// are re-quoted; output columns are named explicitly with PostgreSQL's naming.
#pragma once

#include <string>

#include "sql/ir.h"

namespace parley::rewrite {

std::string RenderDuckDb(const sql::BoundQuery& query);

}  // namespace parley::rewrite
