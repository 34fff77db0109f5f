#include "connectors/connector.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/files/files_connector.h"
#include "connectors/postgres/postgres_connector.h"
#include "engine/duckdb/duckdb_engine.h"

namespace parley::connectors {

const Registry& Registry::BuiltIn() {
  static const Registry* registry = [] {
    auto* built = new Registry();
    // Cannot fail: the registry is empty and the kinds are distinct.
    built->Add(std::make_unique<files::FilesConnector>()).IgnoreError();
    built->Add(std::make_unique<postgres::PostgresConnector>()).IgnoreError();
    return built;
  }();
  return *registry;
}

std::unique_ptr<Registry> Registry::WithBuiltIns() {
  auto built = std::make_unique<Registry>();
  built->Add(std::make_unique<files::FilesConnector>()).IgnoreError();
  built->Add(std::make_unique<postgres::PostgresConnector>()).IgnoreError();
  return built;
}

absl::Status Registry::Add(std::unique_ptr<Connector> connector) {
  std::string kind(connector->kind());
  if (connectors_.contains(kind)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a connector for source kind '", kind, "' is already registered"));
  }
  connectors_.emplace(std::move(kind), std::move(connector));
  return absl::OkStatus();
}

absl::StatusOr<const Connector*> Registry::Find(std::string_view kind) const {
  auto found = connectors_.find(kind);
  if (found != connectors_.end()) return found->second.get();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown source kind '", absl::CHexEscape(std::string(kind)),
                   "': this parley reads ", absl::StrJoin(Kinds(), ", ")));
}

std::vector<std::string> Registry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [kind, connector] : connectors_) kinds.push_back(kind);
  return kinds;
}

std::set<FileId> FileIdentities(const std::vector<std::string>& paths) {
  std::set<FileId> ids;
  for (const std::string& path : paths) {
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) continue;  // follows symbolic links
    ids.insert({static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino)});
  }
  return ids;
}

absl::StatusOr<std::vector<engine::ResultColumn>> PinnedColumns(const catalog::Table& table) {
  std::vector<engine::ResultColumn> pinned_columns;
  for (const std::string& name : table.allowed_columns) {
    const catalog::Column* pinned = nullptr;
    for (const catalog::Column& column : table.source_schema) {
      if (absl::EqualsIgnoreCase(column.name, name)) pinned = &column;
    }
    if (pinned == nullptr) {
      return absl::InternalError(absl::StrCat("table '", table.name, "': allowed column '", name,
                                              "' is not in its pinned schema"));
    }
    pinned_columns.push_back({name, pinned->type});
  }
  return pinned_columns;
}

absl::Status CheckPinnedSchema(engine::duckdb::Session& session, const catalog::Table& table) {
  engine::SourceView view;
  view.name = table.name;
  PARLEY_ASSIGN_OR_RETURN(view.pinned_columns, PinnedColumns(table));
  // The same comparison the engine makes before every run.
  return engine::duckdb::CheckPinnedColumns(session, {view});
}

absl::StatusOr<catalog::TableSize> Connector::Measure(std::string_view description,
                                                      const std::vector<std::string>& files) const {
  (void)description;
  return catalog::TableSize{-1, FileBytes(files)};
}

absl::Status Connector::CheckServedFor(std::string_view description,
                                       const std::string& organisation) const {
  (void)description;
  (void)organisation;
  return absl::PermissionDeniedError(
      absl::StrCat("a source of kind '", std::string(kind()),
                   "' can be registered only by a member working on the Parley host"));
}

int64_t FileBytes(const std::vector<std::string>& files) {
  int64_t bytes = 0;
  for (const std::string& path : files) {
    std::error_code error;
    uintmax_t size = std::filesystem::file_size(path, error);
    if (!error) bytes += static_cast<int64_t>(size);
  }
  return bytes;
}

}  // namespace parley::connectors
