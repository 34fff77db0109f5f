// Tables and their rules: registering a table (with the claim on the files it reads), reading
// tables, and replacing a table's rule (template approvals live in the rule text).
#include <sqlite3.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"
#include "crypto/sha256.h"

namespace parley::catalog {
namespace internal {
namespace {

constexpr const char* kTableColumns =
    "SELECT c.name, t.name, t.owner, t.source_kind, t.source, t.source_schema, t.allowed_columns, "
    "t.rule_json, t.created_at FROM tables t JOIN collaborations c ON c.id = t.collaboration_id ";

absl::StatusOr<Table> ReadTable(const Statement& statement) {
  Table table;
  table.collaboration = statement.Text(0);
  table.name = statement.Text(1);
  table.owner = statement.Text(2);
  table.source_kind = statement.Text(3);
  table.source_json = statement.Text(4);
  PARLEY_ASSIGN_OR_RETURN(table.source_schema, ReadColumns(statement.Text(5)));
  PARLEY_ASSIGN_OR_RETURN(table.allowed_columns,
                          ReadStringArray(statement.Text(6), "allowed columns"));
  if (!statement.IsNull(7)) table.rule_json = statement.Text(7);
  table.created_at = statement.Int(8);
  return table;
}

absl::StatusOr<std::optional<Table>> FindTable(sqlite3* db, int64_t collaboration_id,
                                               std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kTableColumns, "WHERE t.collaboration_id = ? AND t.name = ?")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return ReadTable(statement);
}

absl::Status TableNotFound(std::string_view table, std::string_view collaboration) {
  return absl::NotFoundError(
      absl::StrCat("table ", Quote(table), " not found in collaboration ", Quote(collaboration)));
}

// Parses a rule document and returns its canonical text; the store does not judge its content
// (the policy module does), only that it is a JSON object.
absl::StatusOr<std::string> CanonicalRule(std::string_view table, std::string_view rule_json) {
  std::optional<Json> rule = ParseObject(rule_json);
  if (!rule.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the rule for table ", Quote(table), " is not a JSON object"));
  }
  return Canonical(*rule, "rule");
}
// Kinds of source are code-defined names, like rule kinds: the registry of connectors decides
// which exist; the catalog only keeps the name well-formed.
absl::Status CheckSourceKind(std::string_view table, std::string_view kind) {
  bool valid = !kind.empty() && kind.size() <= 32 && absl::ascii_islower(kind[0]);
  for (char c : kind) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') valid = false;
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid source kind ", Quote(kind), " for table ", Quote(table)));
}

// The connector validated the description's content; the catalog stores it canonical, so that
// the digest of the policy state does not depend on how it was spelled.
absl::StatusOr<std::string> CanonicalSource(std::string_view table, std::string_view source) {
  std::optional<Json> description = ParseObject(source);
  if (!description.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the source description of table ", Quote(table), " is not a JSON object"));
  }
  return Canonical(*description, "the source description");
}

}  // namespace

Json ColumnJson(const Column& column) {
  Json json = {{"name", column.name}, {"type", column.type}};
  // Only encrypted columns carry a kind, so the stored schema of every other table (and the
  // policy digest over it) is what it was before column encryption existed.
  if (!column.kind.empty()) {
    json["kind"] = column.kind;
    json["key_id"] = column.key_id;
  }
  return json;
}

absl::StatusOr<std::vector<Column>> ReadColumns(std::string_view text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  absl::Status corrupt = absl::InternalError("catalog: stored source schema is corrupt");
  if (value.is_discarded() || !value.is_array()) return corrupt;
  std::vector<Column> columns;
  for (const Json& item : value) {
    if (!item.is_object() || !item.contains("name") || !item.contains("type") ||
        !item["name"].is_string() || !item["type"].is_string()) {
      return corrupt;
    }
    Column column{item["name"].get<std::string>(), item["type"].get<std::string>(), "", ""};
    if (item.contains("kind")) {
      if (!item["kind"].is_string() || !item.contains("key_id") || !item["key_id"].is_string()) {
        return corrupt;
      }
      column.kind = item["kind"].get<std::string>();
      column.key_id = item["key_id"].get<std::string>();
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

absl::StatusOr<std::vector<Table>> ReadTables(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kTableColumns, "WHERE t.collaboration_id = ? ORDER BY t.name")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<Table> tables;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(Table table, ReadTable(statement));
    tables.push_back(std::move(table));
  }
  return tables;
}

}  // namespace internal

using internal::Canonical;
using internal::CanonicalRule;
using internal::CanonicalSource;
using internal::CheckPartyName;
using internal::CheckSourceKind;
using internal::CheckTableName;
using internal::CollaborationWrite;
using internal::FindTable;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::ReadTables;
using internal::Statement;
using internal::StringArray;
using internal::TableNotFound;
using internal::Transaction;
using internal::Write;

absl::Status Store::AddTable(const Table& table, const std::string& actor,
                             const std::vector<FileIdentity>& files) {
  PARLEY_RETURN_IF_ERROR(CheckTableName(table.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", table.owner));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_RETURN_IF_ERROR(CheckSourceKind(table.name, table.source_kind));
  PARLEY_ASSIGN_OR_RETURN(std::string source, CanonicalSource(table.name, table.source_json));
  // Column names are compared case-insensitively because DuckDB resolves identifiers that way:
  // "Email" and "email" would be the same column to the engine.
  std::set<std::string> source_names;
  Json source_schema = Json::array();
  for (const Column& column : table.source_schema) {
    if (column.name.empty() || column.type.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("the schema of table ", Quote(table.name),
                                                     " has a column without a name or type"));
    }
    if (!source_names.insert(absl::AsciiStrToLower(column.name)).second) {
      return absl::InvalidArgumentError(absl::StrCat("the schema of table ", Quote(table.name),
                                                     " lists column ", Quote(column.name),
                                                     " twice"));
    }
    source_schema.push_back(internal::ColumnJson(column));
  }
  std::set<std::string> allowed_names;
  for (const std::string& column : table.allowed_columns) {
    if (!source_names.contains(absl::AsciiStrToLower(column))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed column ", Quote(column), " is not in the schema of table ", Quote(table.name)));
    }
    if (!allowed_names.insert(absl::AsciiStrToLower(column)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed column ", Quote(column), " is listed twice for table ", Quote(table.name)));
    }
  }
  std::optional<std::string> rule;
  if (table.rule_json.has_value()) {
    PARLEY_ASSIGN_OR_RETURN(rule, CanonicalRule(table.name, *table.rule_json));
  }
  PARLEY_ASSIGN_OR_RETURN(std::string source_schema_text,
                          Canonical(source_schema, "the source schema"));
  PARLEY_ASSIGN_OR_RETURN(std::string allowed_text,
                          Canonical(StringArray(table.allowed_columns), "the allowed columns"));

  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, table.collaboration));
  sqlite3* db = write.db();
  int64_t now = write.now();
  int64_t collaboration_id = write.id();
  PARLEY_RETURN_IF_ERROR(
      internal::GetMember(db, collaboration_id, table.collaboration, table.owner).status());
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> existing,
                          FindTable(db, collaboration_id, table.name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("table ", Quote(table.name),
                                                 " already exists in collaboration ",
                                                 Quote(table.collaboration)));
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO tables (collaboration_id, name, owner, source_kind, "
                               "source, source_schema, allowed_columns, rule_json, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               collaboration_id, table.name, table.owner, table.source_kind, source,
                               source_schema_text, allowed_text, rule, now));
  // Inside the write lock, so the check and the claim are one step for every process: of two
  // members registering one file at once, the second to get here finds the first one's claim.
  for (const FileIdentity& file : files) {
    PARLEY_ASSIGN_OR_RETURN(
        Statement claimed,
        Statement::Prepare(db, "SELECT owner FROM file_claims WHERE device = ? AND inode = ?"));
    PARLEY_RETURN_IF_ERROR(
        claimed.Bind(static_cast<int64_t>(file.first), static_cast<int64_t>(file.second)));
    PARLEY_ASSIGN_OR_RETURN(bool found, claimed.Step());
    if (found && claimed.Text(0) != table.owner) {
      return absl::PermissionDeniedError(
          absl::StrCat("table ", Quote(table.name), " reads a file another member registered"));
    }
    if (!found) {
      PARLEY_RETURN_IF_ERROR(
          Write(db, "INSERT INTO file_claims (device, inode, owner) VALUES (?, ?, ?)",
                static_cast<int64_t>(file.first), static_cast<int64_t>(file.second), table.owner));
    }
  }
  // The source description stays out of the audit log: it is the owner's filesystem layout
  // (or database address), which the
  // other members reading the log have no need to learn.
  Json details = {{"table", table.name},
                  {"owner", table.owner},
                  {"source_kind", table.source_kind},
                  {"allowed_columns", StringArray(table.allowed_columns)}};
  if (rule.has_value()) details["rule_sha256"] = crypto::Sha256Hex(*rule);
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "table.add", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

absl::StatusOr<std::map<FileIdentity, std::string>> Store::ListFileClaims() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db, "SELECT device, inode, owner FROM file_claims"));
  std::map<FileIdentity, std::string> claims;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    claims[{static_cast<uint64_t>(statement.Int(0)), static_cast<uint64_t>(statement.Int(1))}] =
        statement.Text(2);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return claims;
}

absl::StatusOr<Table> Store::GetTable(const std::string& collaboration, const std::string& name) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> table, FindTable(db, collaboration_id, name));
  if (!table.has_value()) return TableNotFound(name, collaboration);
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return *std::move(table);
}

absl::StatusOr<std::vector<Table>> Store::ListTables(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<Table> tables, ReadTables(db, collaboration_id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return tables;
}

absl::Status Store::SetRule(const std::string& collaboration, const std::string& table,
                            const std::string& rule_json, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(std::string rule, CanonicalRule(table, rule_json));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  sqlite3* db = write.db();
  int64_t collaboration_id = write.id();
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> existing, FindTable(db, collaboration_id, table));
  if (!existing.has_value()) return TableNotFound(table, collaboration);
  PARLEY_RETURN_IF_ERROR(
      Write(db, "UPDATE tables SET rule_json = ? WHERE collaboration_id = ? AND name = ?", rule,
            collaboration_id, table));
  // Hashes, not the documents: they identify exactly which rule was in force without bloating
  // the log, and the documents themselves stay readable in the tables record.
  Json details = {{"table", table}, {"rule_sha256", crypto::Sha256Hex(rule)}};
  if (existing->rule_json.has_value()) {
    details["previous_rule_sha256"] = crypto::Sha256Hex(*existing->rule_json);
  }
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "rule.set", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

namespace {

// Claims `files` for `owner` in the write transaction `db` holds (see AddTable).
absl::Status ClaimFiles(sqlite3* db, const std::string& table, const std::string& owner,
                        const std::vector<FileIdentity>& files) {
  for (const FileIdentity& file : files) {
    PARLEY_ASSIGN_OR_RETURN(
        Statement claimed,
        Statement::Prepare(db, "SELECT owner FROM file_claims WHERE device = ? AND inode = ?"));
    PARLEY_RETURN_IF_ERROR(
        claimed.Bind(static_cast<int64_t>(file.first), static_cast<int64_t>(file.second)));
    PARLEY_ASSIGN_OR_RETURN(bool found, claimed.Step());
    if (found && claimed.Text(0) != owner) {
      return absl::PermissionDeniedError(
          absl::StrCat("table ", Quote(table), " reads a file another member registered"));
    }
    if (!found) {
      PARLEY_RETURN_IF_ERROR(
          Write(db, "INSERT INTO file_claims (device, inode, owner) VALUES (?, ?, ?)",
                static_cast<int64_t>(file.first), static_cast<int64_t>(file.second), owner));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::UpdateTableSource(const std::string& collaboration, const std::string& table,
                                      const std::string& source_json,
                                      const std::vector<Column>& source_schema,
                                      const std::string& actor,
                                      const std::vector<FileIdentity>& files) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(std::string source, CanonicalSource(table, source_json));
  Json schema = Json::array();
  std::set<std::string> names;
  for (const Column& column : source_schema) {
    if (column.name.empty() || column.type.empty() ||
        !names.insert(absl::AsciiStrToLower(column.name)).second) {
      return absl::InvalidArgumentError(absl::StrCat("the new schema of table ", Quote(table),
                                                     " has a column without a name or type, or "
                                                     "one listed twice"));
    }
    schema.push_back(internal::ColumnJson(column));
  }
  PARLEY_ASSIGN_OR_RETURN(std::string schema_text, Canonical(schema, "the source schema"));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  sqlite3* db = write.db();
  int64_t collaboration_id = write.id();
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> existing, FindTable(db, collaboration_id, table));
  if (!existing.has_value()) return TableNotFound(table, collaboration);
  for (const std::string& column : existing->allowed_columns) {
    if (!names.contains(absl::AsciiStrToLower(column))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed column ", Quote(column), " is not in the new schema of table ", Quote(table)));
    }
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "UPDATE tables SET source = ?, source_schema = ? "
                               "WHERE collaboration_id = ? AND name = ?",
                               source, schema_text, collaboration_id, table));
  PARLEY_RETURN_IF_ERROR(ClaimFiles(db, table, existing->owner, files));
  Json details = {
      {"table", table}, {"owner", existing->owner}, {"source_kind", existing->source_kind}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "table.update_source", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

absl::Status Store::RemoveTable(const std::string& collaboration, const std::string& table,
                                const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  sqlite3* db = write.db();
  int64_t collaboration_id = write.id();
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> existing, FindTable(db, collaboration_id, table));
  if (!existing.has_value()) return TableNotFound(table, collaboration);
  PARLEY_RETURN_IF_ERROR(Write(db, "DELETE FROM tables WHERE collaboration_id = ? AND name = ?",
                               collaboration_id, table));
  Json details = {{"table", table}, {"owner", existing->owner}};
  if (existing->rule_json.has_value()) {
    details["rule_sha256"] = crypto::Sha256Hex(*existing->rule_json);
  }
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "table.remove", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

}  // namespace parley::catalog
