#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
#include "service/run_failure.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

bool ProtectsRows(const Explanation& explanation) {
  return explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
         explanation.verdict.rule_kind == policy::RuleKind::kList;
}

}  // namespace

absl::StatusOr<exec::Session*> Service::Impl::SessionFor(const std::vector<exec::SourceView>& views,
                                                         bool* reused) {
  *reused = false;
  for (auto it = sessions.begin(); it != sessions.end(); ++it) {
    if (it->views != views) continue;
    sessions.splice(sessions.begin(), sessions, it);
    *reused = true;
    return sessions.front().session.get();
  }
  PARLEY_ASSIGN_OR_RETURN(auto session, exec::Session::Open(views, options.limits));
  if (options.on_session_opened) options.on_session_opened();
  sessions.push_front(CachedSession{views, std::move(session)});
  if (sessions.size() > kCachedSessions) sessions.pop_back();
  return sessions.front().session.get();
}

void Service::Impl::DropSession(const exec::Session* session) {
  sessions.remove_if([&](const CachedSession& cached) { return cached.session.get() == session; });
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
      PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
      PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                              connector->ResolveFiles(table.source_json));
      PARLEY_RETURN_IF_ERROR(CheckOwnFiles(table.owner, files, registered, table.name));
      PARLEY_ASSIGN_OR_RETURN(exec::SourceView view, connector->ViewFor(table, files));
      views.push_back(std::move(view));
    }
  }
  // The files are read afresh by every query, so the pinned schemas are checked every time. A
  // reused session's views were bound to the files as they were; if a file changed shape they
  // fail to bind, so the check is repeated once on a fresh session for a clear message.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    PARLEY_ASSIGN_OR_RETURN(exec::Session * session, SessionFor(views, &reused));
    absl::Status pinned = absl::OkStatus();
    for (const catalog::Table* table : touched) {
      pinned = connectors::CheckPinnedSchema(*session, *table);
      if (!pinned.ok()) break;
    }
    if (!pinned.ok()) {
      DropSession(session);
      if (reused && attempt == 0) continue;
      return pinned;
    }
    absl::StatusOr<exec::ResultTable> result = session->Run(explanation.rendered_sql);
    if (!result.ok()) {
      DropSession(session);
      if (ProtectsRows(explanation)) return RunFailure();
    }
    return result;
  }
}

}  // namespace parley::service
