#include <sys/stat.h>

#include <chrono>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
#include "service/run_failure.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

bool ProtectsRows(const Explanation& explanation) {
  // Custom rules with aggregation_thresholds protect rows as well (issue 16).
  return explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
         explanation.verdict.rule_kind == policy::RuleKind::kList ||
         (explanation.verdict.rule_kind == policy::RuleKind::kCustom &&
          !explanation.verdict.thresholds.empty());
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

// For the table's owner: where its source no longer fits the pinned schema. The column is named
// only when it is one of the table's pinned columns.
absl::Status SourceReadFailure(const catalog::Table& table, const engine::SourceReadError& read) {
  std::string where = absl::StrCat("file '", read.file, "'");
  if (read.line > 0) absl::StrAppend(&where, " line ", read.line);
  std::string fits = "row does not fit the schema pinned when the table was added";
  for (const catalog::Column& column : table.source_schema) {
    if (column.name == read.column) {
      absl::StrAppend(&where, ", column '", column.name, "'");
      fits = absl::StrCat("value is not a ", column.type, " as pinned when the table was added");
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "table '", table.name, "': ", where, ": the ", fits,
      "; correct the file, or point the table at a corrected copy with 'parley table update'"));
}

}  // namespace

absl::StatusOr<catalog::TableScan> Service::Impl::MeasureFiles(
    const std::string& collaboration, const catalog::Table& table,
    const connectors::Connector& connector, const std::vector<std::string>& files) {
  catalog::TableScan scan{table.name, 0, 0};
  if (files.empty()) return scan;  // a remote table: its scan counts
  // By the files' identities, sizes and times as they are now (no racy-time rule: a file
  // rewritten within one clock tick at the same size would be counted as before, a metering
  // inaccuracy, never a release of data).
  std::vector<FileVersion> versions;
  for (const std::string& path : files) {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) continue;
    versions.push_back(
        {path, static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino),
         static_cast<int64_t>(info.st_size),
         static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec});
    scan.bytes += static_cast<int64_t>(info.st_size);
  }
  std::string key = absl::StrCat(collaboration, "\n", table.name);
  {
    std::lock_guard<std::mutex> lock(measured_mutex);
    auto found = measured_files.find(key);
    if (found != measured_files.end() && found->second.first == versions) {
      scan.rows = found->second.second;
      return scan;
    }
  }
  PARLEY_ASSIGN_OR_RETURN(catalog::TableSize size, connector.Measure(table.source_json, files));
  scan.rows = std::max<int64_t>(size.rows, 0);
  std::lock_guard<std::mutex> lock(measured_mutex);
  measured_files[key] = {std::move(versions), scan.rows};
  return scan;
}

absl::StatusOr<engine::ResultTable> Service::Impl::Execute(const QueryContext& context,
                                                           const Explanation& explanation,
                                                           engine::RunControl* control,
                                                           std::vector<catalog::TableScan>* scans) {
  if (!explanation.engine.empty()) return ExecuteOnEngine(context, explanation, control, scans);
  std::vector<engine::SourceView> views;
  // Metering, parallel to `views`: what each table's files hold (files), or the provider that
  // counts what it streams (a remote table).
  std::vector<catalog::TableScan> measured;
  std::vector<std::shared_ptr<const engine::ScanProvider>> providers;
  // Parallel to `views`: the version the view's pinned schema is checked for now, if it is.
  std::vector<std::optional<CheckedSource>> checking;
  std::vector<std::string> keys;                               // parallel to `views`
  std::map<std::string, const catalog::Table*> table_of_file;  // for a failed read's file
  PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
  for (const std::string& name : explanation.tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name) continue;
      // The exact files are resolved now and checked now; DuckDB gets those paths and no
      // other, so a link re-pointed or a file added since the table was registered cannot
      // bring another member's rows in.
      PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
      PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                              connector->ResolveFiles(table.source_json));
      PARLEY_RETURN_IF_ERROR(CheckOwnFiles(table.owner, files, registered, table.name));
      auto pushed = explanation.postgres_filters.find(table.name);
      PARLEY_ASSIGN_OR_RETURN(
          engine::SourceView view,
          connector->ViewForQuery(
              table, files, pushed == explanation.postgres_filters.end() ? "" : pushed->second));
      for (const std::string& file : files) table_of_file[file] = &table;
      // The pinned schema is checked once per version of the files (FileVersion), not on every
      // query: a view whose files are in the version last checked goes with no pinned columns,
      // which the engine skips.
      std::optional<CheckedSource> source;
      if (std::optional<std::vector<FileVersion>> versions = VersionsOf(files)) {
        source = CheckedSource{table.allowed_columns, {}, *std::move(versions)};
        for (const catalog::Column& column : table.source_schema) {
          source->source_schema.emplace_back(column.name, column.type);
        }
      }
      // By collaboration and table: another collaboration's table may have the same name.
      std::string key = absl::StrCat(context.collaboration.name, "\n", table.name);
      bool known = false;
      if (source.has_value()) {
        std::lock_guard<std::mutex> lock(checked_mutex);
        auto found = checked_sources.find(key);
        known = found != checked_sources.end() && found->second == *source;
      }
      if (!known) {
        PARLEY_ASSIGN_OR_RETURN(view.pinned_columns, connectors::PinnedColumns(table));
        if (options.on_schema_checked) options.on_schema_checked(table.name);
      }
      if (scans != nullptr) {
        PARLEY_ASSIGN_OR_RETURN(catalog::TableScan scan,
                                MeasureFiles(context.collaboration.name, table, *connector, files));
        measured.push_back(std::move(scan));
        providers.push_back(view.scan);
      }
      checking.push_back(known ? std::nullopt : std::move(source));
      keys.push_back(std::move(key));
      views.push_back(std::move(view));
    }
  }
  // The engine checks the views' pinned columns before it runs the SQL; only a failure while the
  // SQL ran can depend on the rows.
  engine::Engine::Stage failed_at = engine::Engine::Stage::kSources;
  absl::StatusOr<engine::ResultTable> result =
      engine->Run(engine::Plan{explanation.rendered_sql, std::move(views), control}, &failed_at);
  if (scans != nullptr && (result.ok() || failed_at == engine::Engine::Stage::kQuery)) {
    // Files: what the engine was given to read. A remote table: what its scan streamed.
    for (size_t i = 0; i < measured.size(); ++i) {
      if (providers[i] != nullptr) {
        std::optional<engine::ScanCount> count = providers[i]->Scanned();
        measured[i].rows = count ? count->rows : 0;
        measured[i].bytes = count ? count->bytes : 0;
      }
      scans->push_back(std::move(measured[i]));
    }
  }
  {
    std::lock_guard<std::mutex> lock(checked_mutex);
    for (size_t i = 0; i < checking.size(); ++i) {
      // Passed when the run got past the sources; forgotten when it failed there.
      if (result.ok() || failed_at == engine::Engine::Stage::kQuery) {
        if (checking[i].has_value()) checked_sources[keys[i]] = *checking[i];
      } else {
        checked_sources.erase(keys[i]);
      }
    }
  }
  if (!result.ok() && failed_at == engine::Engine::Stage::kQuery) {
    // A row of a source that no longer fits what was pinned when its table was added. Its owner
    // is told where (the file, the line, the column: its own data, never a value); another runner
    // only which table, and under a rule that protects rows not even that (the fixed failure
    // below): whether the scan reached the row depends on the query (a LIMIT, a join that ends
    // early), so even the fact could count rows.
    std::optional<engine::SourceReadError> read = engine::GetSourceReadError(result.status());
    auto found = read ? table_of_file.find(read->file) : table_of_file.end();
    if (found != table_of_file.end()) {
      const catalog::Table& table = *found->second;
      if (table.owner == context.member.name) return SourceReadFailure(table, *read);
      if (!ProtectsRows(explanation)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "table '", table.name, "' of member '", table.owner,
            "' no longer reads as it did when it was added (a row of its source does not fit "
            "the schema pinned then); its owner sees where when it queries the table"));
      }
    }
  }
  if (!result.ok() && failed_at == engine::Engine::Stage::kQuery && ProtectsRows(explanation)) {
    return RunFailure();
  }
  return result;
}

}  // namespace parley::service
