#include "engine/duckdb/duckdb_engine.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::engine::duckdb {

absl::Status CheckPinnedColumns(Session& session, const std::vector<SourceView>& views) {
  for (const SourceView& view : views) {
    if (view.pinned_columns.empty()) continue;
    PARLEY_ASSIGN_OR_RETURN(std::vector<ResultColumn> live, session.Describe(view.name));
    std::string prefix =
        absl::StrCat("table '", view.name, "' no longer matches its pinned schema: ");
    for (const ResultColumn& pinned : view.pinned_columns) {
      const ResultColumn* now = nullptr;
      for (const ResultColumn& column : live) {
        if (absl::EqualsIgnoreCase(column.name, pinned.name)) now = &column;
      }
      if (now == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat(prefix, "column '", pinned.name, "' is missing"));
      }
      if (now->type != pinned.type) {
        return absl::FailedPreconditionError(absl::StrCat(prefix, "column '", pinned.name, "' was ",
                                                          pinned.type, ", is now ", now->type));
      }
    }
  }
  return absl::OkStatus();
}

namespace {

// Whether a session opened for `a` serves `b`: the same views over the same files. The pinned
// columns are not part of a session: they are checked on the session before every run that
// carries them (RunPlan), so a run that checks and one that does not share a session.
bool SameSessionViews(const std::vector<SourceView>& a, const std::vector<SourceView>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].select_sql != b[i].select_sql ||
        a[i].allowed_paths != b[i].allowed_paths ||
        a[i].allowed_directories != b[i].allowed_directories || a[i].scan != b[i].scan) {
      return false;
    }
  }
  return true;
}

}  // namespace

DuckDbEngine::DuckDbEngine(Options options) : options_(std::move(options)) {}
DuckDbEngine::~DuckDbEngine() = default;

std::unique_ptr<Session> DuckDbEngine::CheckOut(const std::vector<SourceView>& views,
                                                bool progress) {
  std::lock_guard lock(mutex_);
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if (it->progress != progress || !SameSessionViews(it->views, views)) continue;
    std::unique_ptr<Session> session = std::move(it->session);
    idle_.erase(it);
    return session;
  }
  return nullptr;
}

void DuckDbEngine::CheckIn(std::vector<SourceView> views, bool progress,
                           std::unique_ptr<Session> session) {
  // A session with a reader of Parley's own is bound to one query (engine::ScanProvider).
  for (const SourceView& view : views) {
    if (view.scan != nullptr) return;
  }
  std::unique_ptr<Session> evicted;  // closed after the lock is released
  std::lock_guard lock(mutex_);
  idle_.push_front(Idle{std::move(views), progress, std::move(session)});
  if (idle_.size() > options_.idle_sessions) {
    evicted = std::move(idle_.back().session);
    idle_.pop_back();
  }
}

absl::StatusOr<ResultTable> DuckDbEngine::RunPlan(const Plan& plan, Stage& stage) {
  // The files are read afresh by every query, so the pinned columns are checked every time. A
  // reused session's views were bound to the files as they were; if a file changed shape they
  // fail to bind, so the check is repeated once on a fresh session for a clear message.
  // Only a run whose control asks for it reports progress (a run of the server's run queue that
  // its runner follows by id); the others share sessions with the embedded runs.
  bool progress = plan.control != nullptr && plan.control->estimate_progress;
  std::unique_ptr<Session> session = CheckOut(plan.views, progress);
  bool reused = session != nullptr;
  for (;;) {
    if (session == nullptr) {
      PARLEY_ASSIGN_OR_RETURN(session, Session::Open(plan.views, options_.limits, progress));
      if (options_.on_session_opened) options_.on_session_opened();
    }
    absl::Status pinned = CheckPinnedColumns(*session, plan.views);
    if (pinned.ok()) break;
    session.reset();
    if (!reused) return pinned;
    reused = false;
  }
  stage = Stage::kQuery;
  absl::StatusOr<ResultTable> result = session->Run(plan.sql, plan.control);
  if (!result.ok()) return result;  // the session is closed, never reused
  CheckIn(plan.views, progress, std::move(session));
  return result;
}

}  // namespace parley::engine::duckdb
