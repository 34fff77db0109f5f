#include "absl/strings/str_cat.h"
#include "connectors/file_source.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

bool ProtectsRows(const Explanation& explanation) {
  return explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
         explanation.verdict.rule_kind == policy::RuleKind::kList;
}

// For rules that protect rows, whatever still fails while the engine runs (an error the guards
// did not foresee, a limit, a cancellation) is reported, returned and recorded with one fixed
// message: the engine's own message, or even its class, could depend on rows the runner may
// not see (issue 6). The code is the same too.
absl::Status RunFailure() {
  return absl::AbortedError(
      "the query failed while it ran; for aggregation and list rules the cause is not shown, "
      "because it could depend on rows that no one may see");
}

}  // namespace

absl::StatusOr<std::unique_ptr<exec::Session>> Service::Impl::AcquireSession(
    const std::vector<exec::SourceView>& views, bool* reused) {
  *reused = false;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    for (auto it = sessions.begin(); it != sessions.end(); ++it) {
      if (it->views != views) continue;
      std::unique_ptr<exec::Session> session = std::move(it->session);
      sessions.erase(it);
      *reused = true;
      return session;
    }
  }
  // Opened outside the lock: opening takes ~20 ms and other threads' queries need not wait.
  PARLEY_ASSIGN_OR_RETURN(auto session, exec::Session::Open(views, options.limits));
  if (options.on_session_opened) options.on_session_opened();
  return session;
}

void Service::Impl::ReleaseSession(std::vector<exec::SourceView> views,
                                   std::unique_ptr<exec::Session> session) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  sessions.push_front(CachedSession{std::move(views), std::move(session)});
  if (sessions.size() > kCachedSessions) sessions.pop_back();
}

absl::StatusOr<exec::ResultTable> Service::Impl::Execute(const QueryContext& context,
                                                         const Explanation& explanation) {
  std::vector<const catalog::Table*> touched;
  std::vector<exec::SourceView> views;
  PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
  for (const std::string& name : explanation.tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name) continue;
      touched.push_back(&table);
      // The exact files are resolved now and checked now; DuckDB gets those paths and no
      // other, so a link re-pointed or a file added since the table was registered cannot
      // bring another member's rows in.
      PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                              connectors::SourcePaths(table.location));
      PARLEY_RETURN_IF_ERROR(CheckOwnFiles(table.owner, files, registered, table.name));
      views.push_back(connectors::ViewFor(table, files));
    }
  }
  // The files are read afresh by every query, so the pinned schemas are checked every time. A
  // reused session's views were bound to the files as they were; if a file changed shape they
  // fail to bind, so the check is repeated once on a fresh session for a clear message.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<exec::Session> session, AcquireSession(views, &reused));
    absl::Status pinned = absl::OkStatus();
    for (const catalog::Table* table : touched) {
      pinned = connectors::CheckPinnedSchema(*session, *table);
      if (!pinned.ok()) break;
    }
    if (!pinned.ok()) {
      // Dropped (not given back): its views no longer match the files.
      if (reused && attempt == 0) continue;
      return pinned;
    }
    absl::StatusOr<exec::ResultTable> result = session->Run(explanation.rendered_sql);
    if (!result.ok()) {
      // A session that failed is dropped.
      if (ProtectsRows(explanation)) return RunFailure();
      return result;
    }
    ReleaseSession(std::move(views), std::move(session));
    return result;
  }
}

}  // namespace parley::service
