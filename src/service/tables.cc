#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
#include "nlohmann/json.hpp"
#include "service/service_impl.h"
#include "sql/duckdb_types.h"

namespace parley::service {

using namespace internal;
namespace fs = std::filesystem;

internal::CatalogSchemas::CatalogSchemas(const std::vector<catalog::Table>& tables) {
  for (const catalog::Table& table : tables) {
    sql::TableSchema schema{table.name, table.owner, {}};
    for (const std::string& column : table.allowed_columns) {
      for (const catalog::Column& pinned : table.source_schema) {
        // The catalog pins DuckDB's names for the column types (what DESCRIBE printed): this is
        // where they become Parley's own types.
        if (pinned.name == column) {
          schema.columns.push_back({pinned.name, sql::TypeFromDuckDbName(pinned.type)});
        }
      }
    }
    schemas_.push_back(std::move(schema));
  }
}

const sql::TableSchema* internal::CatalogSchemas::FindTable(std::string_view name) const {
  absl::string_view wanted(name.data(), name.size());
  for (const sql::TableSchema& schema : schemas_) {
    if (absl::EqualsIgnoreCase(schema.name, wanted)) return &schema;
  }
  return nullptr;
}

TableView internal::ViewOfTable(const connectors::Registry& registry, const catalog::Table& table,
                                const identity::Caller& caller) {
  TableView view;
  view.name = table.name;
  view.owner = table.owner;
  // A kind this build has no connector for is shown by its name, with no location.
  view.kind = table.source_kind;
  if (absl::StatusOr<const connectors::Connector*> connector = registry.Find(table.source_kind);
      connector.ok()) {
    connectors::SourceSummary summary = (*connector)->Summarize(table.source_json);
    if (!summary.format.empty()) view.kind = summary.format;
    if (identity::SeesLocation(caller, table.owner) && !summary.location.empty())
      view.location = summary.location;
  }
  for (const std::string& column : table.allowed_columns) {
    for (const catalog::Column& pinned : table.source_schema) {
      if (pinned.name == column) view.columns.push_back(pinned);
    }
  }
  view.rule_json = table.rule_json;
  return view;
}

absl::StatusOr<std::vector<catalog::Table>> Service::Impl::ActiveTables(
    const catalog::Collaboration& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                          store->ListTables(collaboration.name));
  return TablesOfActiveMembers(collaboration, std::move(tables));
}

std::vector<catalog::Table> Service::Impl::TablesOfActiveMembers(
    const catalog::Collaboration& collaboration, std::vector<catalog::Table> tables) {
  auto is_active = [&](const std::string& name) {
    for (const catalog::Member& member : collaboration.members) {
      if (member.name == name && member.status == catalog::MemberStatus::kActive) return true;
    }
    return false;
  };
  std::vector<catalog::Table> active;
  for (catalog::Table& table : tables) {
    if (!is_active(table.owner)) continue;
    // A saved result (docs/rules.md "Derived tables") holds its co-owners' data: it leaves the
    // room with any of them.
    bool co_owners_active = true;
    if (table.rule_json && table.rule_json->find("\"derived_from\"") != std::string::npos) {
      nlohmann::json rule = nlohmann::json::parse(*table.rule_json, nullptr, false);
      if (rule.is_object() && rule.contains("derived_from") && rule["derived_from"].is_object()) {
        for (const auto& name : rule["derived_from"].value("co_owners", nlohmann::json::array())) {
          if (name.is_string()) co_owners_active &= is_active(name.get<std::string>());
        }
      }
    }
    if (co_owners_active) active.push_back(std::move(table));
  }
  return active;
}

absl::StatusOr<std::vector<catalog::Table>> Service::Impl::ActiveTables(
    const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found, store->GetCollaboration(collaboration));
  return ActiveTables(found);
}

absl::StatusOr<Service::Impl::RegisteredFiles> Service::Impl::AllRegisteredFiles() {
  // The catalog's part (claims, and every table's source) is read again only when a policy record
  // may have changed (Store::PolicyVersion); the files are resolved and examined only when a file
  // without a claim is checked (RegisteredFiles::readers).
  PARLEY_ASSIGN_OR_RETURN(std::string version, store->PolicyVersion());
  std::shared_ptr<const RegisteredSources> sources;
  {
    std::lock_guard<std::mutex> lock(registered_mutex);
    if (registered_sources != nullptr && registered_version == version) {
      sources = registered_sources;
    }
  }
  if (sources == nullptr) {
    auto read = std::make_shared<RegisteredSources>();
    PARLEY_ASSIGN_OR_RETURN(read->claims, store->ListFileClaims());
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Collaboration> collaborations,
                            store->ListCollaborations());
    for (const catalog::Collaboration& collaboration : collaborations) {
      PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                              store->ListTables(collaboration.name));
      for (catalog::Table& table : tables) {
        read->tables.push_back(
            {std::move(table.owner), std::move(table.source_kind), std::move(table.source_json)});
      }
    }
    std::lock_guard<std::mutex> lock(registered_mutex);
    registered_sources = read;
    registered_version = version;
    sources = std::move(read);
  }
  return RegisteredFiles(std::move(sources), connectors);
}

const std::map<connectors::FileId, std::set<std::string>>& Service::Impl::RegisteredFiles::readers()
    const {
  if (readers_.has_value()) return *readers_;
  readers_.emplace();
  for (const RegisteredSources::Source& table : sources_->tables) {
    // A source whose kind this build cannot read, or that reads nothing now, reads no file.
    absl::StatusOr<const connectors::Connector*> connector = connectors_->Find(table.source_kind);
    if (!connector.ok()) continue;
    absl::StatusOr<std::vector<std::string>> files = (*connector)->ResolveFiles(table.source_json);
    if (!files.ok()) continue;
    for (const connectors::FileId& file : connectors::FileIdentities(*files)) {
      (*readers_)[file].insert(table.owner);
    }
  }
  return *readers_;
}

absl::Status Service::Impl::OwnershipRefusal(const std::string& location) {
  return absl::PermissionDeniedError(
      absl::StrCat("the source '", location,
                   "' reads a file that another member registered; a member may only "
                   "register its own data"));
}

absl::Status Service::Impl::CheckOwnFiles(const std::string& owner,
                                          const std::vector<std::string>& files,
                                          const RegisteredFiles& registered,
                                          const std::string& table, const std::string& location) {
  for (const std::string& path : files) {
    for (const connectors::FileId& file : connectors::FileIdentities({path})) {
      bool others = false;
      if (auto claim = registered.claims().find(file); claim != registered.claims().end()) {
        others = claim->second != owner;
      } else if (auto it = registered.readers().find(file); it != registered.readers().end()) {
        others = std::any_of(it->second.begin(), it->second.end(),
                             [&](const std::string& name) { return name != owner; });
      }
      if (!others) continue;
      if (table.empty()) return OwnershipRefusal(location);
      return absl::FailedPreconditionError(
          absl::StrCat("table '", table, "' of member '", owner,
                       "' now reads a file of a table of another member; it cannot be "
                       "queried until its owner points it at its own data"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Server mode: every file a remote organisation's source resolves to, links followed, lies under
// its own folder of the data root. Messages name the source as given, not the resolved paths.
absl::Status CheckUnderDataRoot(const std::string& data_root, const std::string& member,
                                const std::vector<std::string>& files, const std::string& named) {
  if (data_root.empty()) {
    return absl::PermissionDeniedError(
        "this server has no data root: organisations cannot register files on it");
  }
  std::error_code error;
  fs::path own = fs::weakly_canonical(fs::path(data_root) / member, error);
  std::string prefix = own.string() + "/";
  if (error || files.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("source '", named, "' is not under your folder of the server's data root"));
  }
  for (const std::string& file : files) {
    fs::path resolved = fs::canonical(file, error);
    if (error || resolved.string().rfind(prefix, 0) != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("source '", named, "' is not under your folder of the server's data root (",
                       member, "/)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Service::Impl::AddTable(const identity::Caller& caller, const NewTable& request,
                                     bool saved_result) {
  PARLEY_ASSIGN_OR_RETURN(PreparedTable prepared, PrepareTable(caller, request, saved_result));
  catalog::Table& table = prepared.table;
  // Encrypted columns are found in the cells (docs/formats/encrypted-columns.md), of files and of
  // remote relations alike: a PostgreSQL table of pf1./ps1. cells is classified and enforced
  // exactly as a file of them, so moving the data into a database does not drop its protection.
  // A file loaded into a cluster is read there, never by a local view.
  if ((!prepared.files.empty() || !prepared.remote.empty()) &&
      table.source_kind != connectors::clickhouse::kClickHouseKind) {
    PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
    PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, connector->ViewFor(table, prepared.files));
    PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                            store->GetCollaboration(table.collaboration));
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> others,
                            store->ListTables(table.collaboration));
    PARLEY_RETURN_IF_ERROR(internal::ClassifyColumns(view, collaboration, others, table));
  }
  // The check in PrepareTable is a courtesy (a clear refusal before the schema is read); the claim
  // below is the guarantee: made in the catalog's write transaction, it lets exactly one of two
  // members registering one file at the same moment win.
  std::vector<catalog::FileIdentity> claimed;
  for (const connectors::FileId& file : connectors::FileIdentities(prepared.files)) {
    claimed.push_back(file);
  }
  claimed.insert(claimed.end(), prepared.remote.begin(), prepared.remote.end());
  // Metering: the size estimates use, measured before the table exists so that a source that
  // cannot be measured adds nothing.
  PARLEY_ASSIGN_OR_RETURN(catalog::TableSize size, MeasureTable(table, prepared.files));
  absl::Status added = store->AddTable(table, caller.member(), claimed);
  if (absl::IsPermissionDenied(added) && !prepared.remote.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the source of '", table.name,
                     "' is a remote table another member registered; a member may only register "
                     "its own data"));
  }
  if (absl::IsPermissionDenied(added)) return OwnershipRefusal(prepared.named);
  PARLEY_RETURN_IF_ERROR(added);
  return store->SetTableSize(table.collaboration, table.name, size);
}

absl::StatusOr<TablePreview> Service::Impl::PreviewTable(const identity::Caller& caller,
                                                         const NewTable& request, int limit) {
  // Every check of AddTable runs (the source is the caller's own data, readable by the connector,
  // well-formed), then the first rows are read and nothing is stored.
  PARLEY_ASSIGN_OR_RETURN(PreparedTable prepared, PrepareTable(caller, request, false));
  PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(prepared.table));
  PARLEY_ASSIGN_OR_RETURN(connectors::SourcePreview sample,
                          connector->Preview(prepared.table.source_json, limit));
  return TablePreview{ViewOfTable(*connectors, prepared.table, caller), std::move(sample)};
}

absl::StatusOr<Service::Impl::PreparedTable> Service::Impl::PrepareTable(
    const identity::Caller& caller, const NewTable& request, bool saved_result) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kAddTable));
  catalog::Table table;
  table.collaboration = request.collaboration;
  table.name = request.name;
  table.owner = actor;
  // The connector of the source's kind validates its description (unknown kinds are refused),
  // then resolves what it reads and infers the schema to pin.
  table.source_kind = request.source_kind;
  PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
  std::string given = request.source_json.empty()
                          ? nlohmann::json{{"path", request.location}}.dump(
                                -1, ' ', false, nlohmann::json::error_handler_t::replace)
                          : request.source_json;
  // A member working from elsewhere has the server read only what that kind of source confines
  // it to (its folder of the data root; its organisation's PostgreSQL service entries; cluster
  // tables named for it): checked
  // before Validate, which already reads or connects.
  if (caller.authentication() == identity::Authentication::kToken) {
    PARLEY_RETURN_IF_ERROR(connector->CheckServedFor(given, actor));
  }
  PARLEY_ASSIGN_OR_RETURN(table.source_json, connector->Validate(given));
  // How the refusals below name the source: as the member gave it.
  std::string named = request.location.empty() ? table.name : request.location;
  // A member registers its own data: not a file another member registered, whether named by
  // its path, a glob that matches it, or a link to it.
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                          connector->ResolveFiles(table.source_json));
  std::vector<connectors::FileId> remote = connector->Claims(table.source_json);
  // Local files must be under the organisation's folder; a source that reads no local file (a
  // remote relation) was confined by CheckServedFor above. A saved result's file is the service's
  // own (HOME/saved, written by RunAndSave), not a file the member names: the data root does not
  // apply to it.
  if (caller.authentication() == identity::Authentication::kToken && !saved_result &&
      (!files.empty() || remote.empty())) {
    PARLEY_RETURN_IF_ERROR(CheckUnderDataRoot(DataRoot().string(), actor, files, named));
  }
  PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
  PARLEY_RETURN_IF_ERROR(Impl::CheckOwnFiles(actor, files, registered, "", named));
  if (!saved_result) PARLEY_RETURN_IF_ERROR(CheckNotSaved(files, named));
  // Read once now (a CSV's dialect, formats and types) and pinned in the description, so that no
  // query sniffs the source again.
  PARLEY_ASSIGN_OR_RETURN(table.source_json, connector->Pin(table.source_json));
  PARLEY_ASSIGN_OR_RETURN(table.source_schema, connector->InferSchema(table.source_json));
  if (request.columns.empty()) {
    for (const catalog::Column& column : table.source_schema) {
      table.allowed_columns.push_back(column.name);
    }
  } else {
    std::set<std::string> chosen;
    for (const std::string& wanted : request.columns) {
      const catalog::Column* match = nullptr;
      for (const catalog::Column& column : table.source_schema) {
        if (absl::EqualsIgnoreCase(column.name, wanted)) match = &column;
      }
      if (match == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", wanted, "' is not in the source '", named, "'"));
      }
      if (!chosen.insert(match->name).second) {
        return absl::InvalidArgumentError(absl::StrCat("column '", wanted, "' is listed twice"));
      }
    }
    // Keep the source's column order.
    for (const catalog::Column& column : table.source_schema) {
      if (chosen.contains(column.name)) table.allowed_columns.push_back(column.name);
    }
  }
  return PreparedTable{std::move(table), std::move(files), std::move(remote), std::move(named)};
}

absl::StatusOr<std::vector<TableView>> Service::Impl::ListTables(const identity::Caller& caller,
                                                                 const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(found));
  std::vector<TableView> views;
  for (const catalog::Table& table : tables)
    views.push_back(ViewOfTable(*connectors, table, caller));
  return views;
}

absl::StatusOr<TableView> Service::Impl::ShowTable(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const std::string& table) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(found));
  for (const catalog::Table& record : tables) {
    if (record.name == table) return ViewOfTable(*connectors, record, caller);
  }
  return absl::NotFoundError(
      absl::StrCat("table '", table, "' not found in collaboration '", collaboration, "'"));
}

}  // namespace parley::service
