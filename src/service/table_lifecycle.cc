// A table's lifecycle after it is added: its owner repoints it to a new source of the same schema
// (`table update --source`) or removes it (`table remove`). Both are policy changes (the catalog's
// policy digest covers a table's source and existence): a query checked before one of them is not
// delivered (catalog::Store::FinishQuery), and both are audited.
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/connector.h"
#include "nlohmann/json.hpp"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

// Only a table's owner changes it; any other member (who may see the table) is refused.
absl::Status RequireTableOwner(const identity::Caller& caller, const catalog::Table& table,
                               const char* what) {
  if (caller.member() == table.owner) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("only the owner of table '", table.name, "' (", table.owner, ") may ", what));
}

bool IsSavedResult(const catalog::Table& table) {
  return table.rule_json && absl::StrContains(*table.rule_json, "\"derived_from\"");
}

// How `now` differs from `pinned`, column by column: missing, retyped, new.
std::vector<std::string> SchemaDifferences(const std::vector<catalog::Column>& pinned,
                                           const std::vector<catalog::Column>& now) {
  std::vector<std::string> differences;
  for (const catalog::Column& column : pinned) {
    const catalog::Column* found = nullptr;
    for (const catalog::Column& candidate : now) {
      if (candidate.name == column.name) found = &candidate;
    }
    if (found == nullptr) {
      differences.push_back(absl::StrCat("column '", column.name, "' is missing"));
    } else if (found->type != column.type) {
      differences.push_back(
          absl::StrCat("column '", column.name, "' was ", column.type, ", is ", found->type));
    }
  }
  for (const catalog::Column& column : now) {
    bool known = false;
    for (const catalog::Column& candidate : pinned) known |= candidate.name == column.name;
    if (!known) differences.push_back(absl::StrCat("column '", column.name, "' is new"));
  }
  return differences;
}

}  // namespace

absl::Status Service::Impl::UpdateTableSource(const identity::Caller& caller,
                                              const NewTable& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::Table record,
                          store->GetTable(request.collaboration, request.name));
  PARLEY_RETURN_IF_ERROR(RequireTableOwner(caller, record, "change its source"));
  if (IsSavedResult(record)) {
    return absl::FailedPreconditionError(
        absl::StrCat("table '", record.name,
                     "' is a saved result: its source is Parley's own file and cannot change"));
  }
  NewTable repointed = request;
  repointed.source_kind = record.source_kind;
  repointed.columns.clear();  // the schema is compared whole below
  if (repointed.source_json.empty() && record.source_kind == "files") {
    // The files source read as before (its pinned options and types), from the new path.
    nlohmann::json description = nlohmann::json::parse(record.source_json, nullptr, false);
    if (!description.is_object()) description = nlohmann::json::object();
    description["path"] = request.location;
    description.erase("format");  // from the new path's extension
    repointed.source_json =
        description.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else if (repointed.source_json.empty()) {
    // A path means a file; a table of another kind (a PostgreSQL relation) is repointed by adding
    // it again.
    return absl::FailedPreconditionError(
        absl::StrCat("table '", record.name, "' reads a source of kind '", record.source_kind,
                     "', not a file: remove it and add it again to read another relation"));
  }
  // Every check of AddTable: the new source is the owner's own data, readable, well-formed.
  PARLEY_ASSIGN_OR_RETURN(PreparedTable prepared, PrepareTable(caller, repointed, false));
  std::vector<std::string> differences =
      SchemaDifferences(record.source_schema, prepared.table.source_schema);
  if (!differences.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the new source of table '", record.name, "' does not have the table's schema: ",
        absl::StrJoin(differences, "; "), " (add it as a new table instead)"));
  }
  // Encrypted columns stay what they were: the new file's cells are read as at `table add`, and a
  // column whose kind changed is refused (a fingerprint column must not turn cleartext, and so
  // lose its protection, because its owner pointed the table at another file).
  prepared.table.allowed_columns = record.allowed_columns;
  if (!prepared.files.empty()) {
    PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(prepared.table));
    PARLEY_ASSIGN_OR_RETURN(engine::SourceView view,
                            connector->ViewFor(prepared.table, prepared.files));
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> others,
                            store->ListTables(request.collaboration));
    std::erase_if(others, [&](const catalog::Table& other) { return other.name == record.name; });
    PARLEY_RETURN_IF_ERROR(internal::ClassifyColumns(view, found, others, prepared.table));
  }
  for (const catalog::Column& column : prepared.table.source_schema) {
    for (const catalog::Column& before : record.source_schema) {
      if (before.name != column.name || before.kind == column.kind) continue;
      auto kind = [](const std::string& name) { return name.empty() ? "cleartext" : name.c_str(); };
      return absl::FailedPreconditionError(absl::StrCat(
          "column '", column.name, "' of table '", record.name, "' is ", kind(before.kind), " but ",
          kind(column.kind), " in the new source (add it as a new table instead)"));
    }
  }
  std::vector<catalog::FileIdentity> claimed;
  for (const connectors::FileId& file : connectors::FileIdentities(prepared.files)) {
    claimed.push_back(file);
  }
  claimed.insert(claimed.end(), prepared.remote.begin(), prepared.remote.end());
  PARLEY_ASSIGN_OR_RETURN(catalog::TableSize size, MeasureTable(prepared.table, prepared.files));
  absl::Status updated =
      store->UpdateTableSource(request.collaboration, record.name, prepared.table.source_json,
                               prepared.table.source_schema, caller.member(), claimed);
  if (absl::IsPermissionDenied(updated)) return OwnershipRefusal(prepared.named);
  PARLEY_RETURN_IF_ERROR(updated);
  return store->SetTableSize(request.collaboration, record.name, size);
}

absl::Status Service::Impl::RemoveTable(const identity::Caller& caller,
                                        const std::string& collaboration,
                                        const std::string& table) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::Table record, store->GetTable(collaboration, table));
  PARLEY_RETURN_IF_ERROR(RequireTableOwner(caller, record, "remove it"));
  // What depends on the table is defined, not refused (docs/rules.md "Removing a table"): the
  // approvals of templates live in its rule and go with it, so templates reading it stop being
  // runnable; saved results derived from it are copies under their own derived rules and stay.
  return store->RemoveTable(collaboration, table, caller.member());
}

}  // namespace parley::service
