// What the DuckDB engine accepts as an engine::ScanProvider: a table function of Parley's own,
// registered through DuckDB's C API in the session's database before the view that calls it is
// created (and before the session is locked down: registration is not SQL, so the lock-down does
// not stop the function from running afterwards). A connector reading a remote database
// (connectors/postgres) implements it; the view's SQL calls it by the name it registers.
//
// Thread safety: Register is called once per session, from the thread opening it; the function it
// registers must be safe to call from DuckDB's threads.
#pragma once

#include <duckdb.h>

#include "base/status.h"
#include "engine/engine.h"

namespace parley::engine::duckdb {

class ScanFunction : public ScanProvider {
 public:
  // Registers the table function(s) the view's SQL calls on `connection`. Internal on failure.
  virtual absl::Status Register(duckdb_connection connection) const = 0;
};

}  // namespace parley::engine::duckdb
