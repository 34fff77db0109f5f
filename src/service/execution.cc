#include <sys/stat.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
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

// How recent a modification time must be for a file's version not to be trusted: file times
// advance in clock ticks (a few milliseconds), so a file rewritten twice within one tick at the
// same size would look unchanged. As git does for "racily clean" files, a file modified this
// recently is checked on every query until it is older.
constexpr int64_t kRacyFileNanos = 2'000'000'000;

// The versions of `files`; nullopt when one cannot be examined or was modified too recently to
// be trusted (then the schema is checked).
std::optional<std::vector<FileVersion>> VersionsOf(const std::vector<std::string>& files) {
  std::vector<FileVersion> versions;
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const std::string& path : files) {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) return std::nullopt;
    int64_t modified_ns =
        static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    if (modified_ns > now_ns - kRacyFileNanos) return std::nullopt;
    versions.push_back({path, static_cast<uint64_t>(info.st_dev),
                        static_cast<uint64_t>(info.st_ino), static_cast<int64_t>(info.st_size),
                        modified_ns});
  }
  return versions;
}

}  // namespace

absl::StatusOr<Service::Impl::CachedSession*> Service::Impl::SessionFor(
    const std::vector<exec::SourceView>& views, bool* reused) {
  *reused = false;
  for (auto it = sessions.begin(); it != sessions.end(); ++it) {
    if (it->views != views) continue;
    sessions.splice(sessions.begin(), sessions, it);
    *reused = true;
    return &sessions.front();
  }
  PARLEY_ASSIGN_OR_RETURN(auto session, exec::Session::Open(views, options.limits));
  if (options.on_session_opened) options.on_session_opened();
  sessions.push_front(CachedSession{views, std::move(session), {}});
  if (sessions.size() > kCachedSessions) sessions.pop_back();
  return &sessions.front();
}

void Service::Impl::DropSession(const exec::Session* session) {
  sessions.remove_if([&](const CachedSession& cached) { return cached.session.get() == session; });
}

absl::StatusOr<exec::ResultTable> Service::Impl::Execute(const QueryContext& context,
                                                         const Explanation& explanation) {
  std::vector<const catalog::Table*> touched;
  std::vector<std::optional<CheckedSource>> sources;  // parallel to `touched`
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
      std::optional<std::vector<FileVersion>> versions = VersionsOf(files);
      if (versions.has_value()) {
        CheckedSource source{table.allowed_columns, {}, *std::move(versions)};
        for (const catalog::Column& column : table.source_schema) {
          source.source_schema.emplace_back(column.name, column.type);
        }
        sources.push_back(std::move(source));
      } else {
        sources.push_back(std::nullopt);
      }
      PARLEY_ASSIGN_OR_RETURN(exec::SourceView view, connector->ViewFor(table, files));
      views.push_back(std::move(view));
    }
  }
  // The files are read afresh by every query, so the pinned schemas are checked for every
  // version of the files a session reads (FileVersion). A reused session's views were bound to
  // the files as they were; if a file changed shape they fail to bind, so the check is repeated
  // once on a fresh session for a clear message.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    PARLEY_ASSIGN_OR_RETURN(CachedSession * cached, SessionFor(views, &reused));
    exec::Session* session = cached->session.get();
    absl::Status pinned = absl::OkStatus();
    for (size_t i = 0; i < touched.size(); ++i) {
      const catalog::Table& table = *touched[i];
      auto checked = cached->checked.find(table.name);
      if (sources[i].has_value() && checked != cached->checked.end() &&
          checked->second == *sources[i]) {
        continue;
      }
      cached->checked.erase(table.name);
      pinned = connectors::CheckPinnedSchema(*session, table);
      if (options.on_schema_checked) options.on_schema_checked(table.name);
      if (!pinned.ok()) break;
      if (sources[i].has_value()) cached->checked[table.name] = *sources[i];
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
