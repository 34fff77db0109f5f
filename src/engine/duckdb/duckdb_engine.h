// DuckDB as an Engine: each Plan runs on a locked-down Session (session.h) whose views are the
// plan's views, taken from a small pool of idle sessions. Opening a DuckDB instance, creating the
// views and locking it down costs milliseconds per query; a locked session is safe to reuse
// because its views are fixed, its configuration is locked and it only ever runs generated SELECT
// statements. The pool's key is the exact list of views (names, generated SQL, paths, pinned
// columns), so any change of table, location, file or allowed column opens a new session; a
// session whose run failed is closed, never reused.
//
//   duckdb::DuckDbEngine engine(limits);
//   PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result, engine.Run(plan));
//
// Thread safety: Run may be called from any number of threads at once. A session is checked out
// of the pool for the length of one run, so two runs never share a session (a second run over the
// same views opens its own); the pool itself is guarded by a mutex held only to check a session
// out or back in, never while a query runs.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "engine/duckdb/session.h"
#include "engine/engine.h"

namespace parley::engine::duckdb {

class DuckDbEngine : public Engine {
 public:
  struct Options {
    Limits limits;
    size_t idle_sessions = 4;  // idle sessions kept, least recently used dropped first
    // Called each time a new session is opened (tests count them). Called without the pool's
    // lock, from the thread that runs the plan.
    std::function<void()> on_session_opened;
  };

  explicit DuckDbEngine(Options options);
  ~DuckDbEngine() override;

  std::string_view dialect() const override { return "duckdb"; }

 protected:
  absl::StatusOr<ResultTable> RunPlan(const Plan& plan, Stage& stage) override;

 private:
  struct Idle {
    std::vector<SourceView> views;  // the key, compared whole: no encoding to collide
    bool progress = false;          // and whether it estimates progress (Session::Open)
    std::unique_ptr<Session> session;
  };
  // An idle session over exactly `views`, removed from the pool, or nullptr.
  std::unique_ptr<Session> CheckOut(const std::vector<SourceView>& views, bool progress);
  void CheckIn(std::vector<SourceView> views, bool progress, std::unique_ptr<Session> session);

  const Options options_;
  std::mutex mutex_;
  std::list<Idle> idle_;  // most recently used first; guarded by mutex_
};

// Compares what `session` shows for each view with the view's pinned columns. FailedPrecondition
// "table '<view>' no longer matches its pinned schema: column 'c' was T, is now U" (or "... is
// missing").
absl::Status CheckPinnedColumns(Session& session, const std::vector<SourceView>& views);

}  // namespace parley::engine::duckdb
