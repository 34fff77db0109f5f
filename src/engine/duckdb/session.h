// Locked-down execution on DuckDB. A Session is one in-memory DuckDB database whose only
// tables are views the engine created over registered sources; once the views exist, external
// access is disabled (apart from the registered source paths), configuration is locked, memory
// and threads are capped, and the spill directory (Limits::temp_directory) is fixed. Parley runs
// only SQL that its renderer generated, and runs it here; DuckDbEngine (duckdb_engine.h) keeps a
// pool of these.
//
//   std::vector<engine::SourceView> views = {{"retail", "SELECT ... FROM read_parquet('...')",
//                                            {"/data/retail.parquet"}, {}}};
//   PARLEY_ASSIGN_OR_RETURN(auto session, duckdb::Session::Open(views, engine::Limits{}));
//   PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result, session->Run(rendered_sql));
//
// Errors never carry data values: DuckDB's own messages for failures during execution (which can
// quote values, e.g. a failed conversion) are reduced to their error class.
// Thread safety: a Session is used by one thread at a time; Run may be interrupted by the
// timeout or the cancel flag from the session's watchdog thread (one per session, idle between
// runs).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/engine.h"

namespace parley::engine::duckdb {

class Session {
 public:
  // Creates the database, the views, then locks it down. Errors: InvalidArgument when a view
  // cannot be created (its message names the view), Internal for DuckDB failures.
  // `estimate_progress`: whether DuckDB estimates the progress of its runs (what a RunControl
  // reports). It is fixed when the session is locked, and not free: DuckDB then computes it after
  // every task of every run (~10% of a small query's time), so only sessions for runs that report
  // progress (the server's run queue) have it.
  static absl::StatusOr<std::unique_ptr<Session>> Open(const std::vector<SourceView>& views,
                                                       const Limits& limits,
                                                       bool estimate_progress = false);
  ~Session();

  // Runs `sql` (exactly one statement) and materialises the result. DeadlineExceeded when the
  // timeout interrupts it; ResourceExhausted when the memory limit is hit; PermissionDenied when
  // it touches anything outside the views (a file, COPY, ATTACH); Internal/InvalidArgument
  // otherwise, with a message that names the error class only ("query failed during execution:
  // conversion error"). The statement is checked to be one (parsed), then planned and run once
  // as text; values of a SELECT read exactly as DuckDB's CAST(... AS VARCHAR) renders them (from
  // the typed result, or — for a result with a column the C API cannot render, see
  // RenderedAsCast — through that cast, which runs the query again); TIMESTAMP WITH TIME ZONE is
  // rendered in UTC.
  // With `control`, the run also stops (Cancelled) once control->cancel is set, uses
  // control->timeout when it is not 0, and reports its progress there.
  absl::StatusOr<ResultTable> Run(const std::string& sql, RunControl* control = nullptr);

  // The column names and types of a view, as DuckDB sees them now (used to check a source
  // against its pinned schema).
  absl::StatusOr<std::vector<ResultColumn>> Describe(const std::string& view_name);

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::engine::duckdb
