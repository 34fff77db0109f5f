#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/file_source.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

internal::CatalogSchemas::CatalogSchemas(const std::vector<catalog::Table>& tables) {
  for (const catalog::Table& table : tables) {
    sql::TableSchema schema{table.name, table.owner, {}};
    for (const std::string& column : table.allowed_columns) {
      for (const catalog::Column& pinned : table.source_schema) {
        if (pinned.name == column) schema.columns.push_back({pinned.name, pinned.type});
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

TableView internal::ViewOfTable(const catalog::Table& table, const std::string& actor) {
  TableView view;
  view.name = table.name;
  view.owner = table.owner;
  view.kind = catalog::SourceKindName(table.kind);
  if (table.owner == actor) view.location = table.location;
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
  std::vector<catalog::Table> active;
  for (catalog::Table& table : tables) {
    for (const catalog::Member& member : collaboration.members) {
      if (member.name == table.owner && member.status == catalog::MemberStatus::kActive) {
        active.push_back(std::move(table));
        break;
      }
    }
  }
  return active;
}

absl::StatusOr<std::vector<catalog::Table>> Service::Impl::ActiveTables(
    const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found, store->GetCollaboration(collaboration));
  return ActiveTables(found);
}

absl::StatusOr<Service::Impl::RegisteredFiles> Service::Impl::AllRegisteredFiles() {
  RegisteredFiles registered;
  PARLEY_ASSIGN_OR_RETURN(registered.claims, store->ListFileClaims());
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Collaboration> collaborations,
                          store->ListCollaborations());
  for (const catalog::Collaboration& collaboration : collaborations) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                            store->ListTables(collaboration.name));
    for (const catalog::Table& table : tables) {
      for (const connectors::FileId& file : connectors::SourceFiles(table.location)) {
        registered.readers[file].insert(table.owner);
      }
    }
  }
  return registered;
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
                                          const std::string& table,
                                          const std::string& location) {
  for (const std::string& path : files) {
    for (const connectors::FileId& file : connectors::SourceFiles(path)) {
      bool others = false;
      if (auto claim = registered.claims.find(file); claim != registered.claims.end()) {
        others = claim->second != owner;
      } else if (auto it = registered.readers.find(file); it != registered.readers.end()) {
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

absl::Status Service::Impl::AddTable(const std::string& actor, const NewTable& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  catalog::Table table;
  table.collaboration = request.collaboration;
  table.name = request.name;
  table.owner = actor;
  PARLEY_ASSIGN_OR_RETURN(table.location, connectors::ResolveLocation(request.location));
  PARLEY_ASSIGN_OR_RETURN(table.kind, connectors::KindFromLocation(table.location));
  // A member registers its own data: not a file another member registered, whether named by
  // its path, a glob that matches it, or a link to it.
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, connectors::SourcePaths(table.location));
  PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
  PARLEY_RETURN_IF_ERROR(Impl::CheckOwnFiles(actor, files, registered, "", request.location));
  PARLEY_ASSIGN_OR_RETURN(table.source_schema, connectors::InferSchema(table.kind, table.location));
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
            absl::StrCat("column '", wanted, "' is not in the source '", request.location, "'"));
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
  // The check above is a courtesy (a clear refusal before the schema is read); the claim below is
  // the guarantee: made in the catalog's write transaction, it lets exactly one of two members
  // registering one file at the same moment win.
  std::vector<catalog::FileIdentity> claimed;
  for (const std::string& path : files) {
    for (const connectors::FileId& file : connectors::SourceFiles(path)) claimed.push_back(file);
  }
  absl::Status added = store->AddTable(table, actor, claimed);
  if (absl::IsPermissionDenied(added)) return OwnershipRefusal(request.location);
  return added;
}

absl::StatusOr<std::vector<TableView>> Service::Impl::ListTables(const std::string& actor,
                                                                 const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(found));
  std::vector<TableView> views;
  for (const catalog::Table& table : tables) views.push_back(ViewOfTable(table, actor));
  return views;
}

absl::StatusOr<TableView> Service::Impl::ShowTable(const std::string& actor,
                                                   const std::string& collaboration,
                                                   const std::string& table) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(found));
  for (const catalog::Table& record : tables) {
    if (record.name == table) return ViewOfTable(record, actor);
  }
  return absl::NotFoundError(
      absl::StrCat("table '", table, "' not found in collaboration '", collaboration, "'"));
}

}  // namespace parley::service
