#include "catalog/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "crypto/sha256.h"
#include "nlohmann/json.hpp"

namespace parley::catalog {
namespace {

using internal::Canonical;
using internal::DatabaseHandle;
using internal::Exec;
using internal::Json;
using internal::ParseObject;
using internal::Quote;
using internal::SqliteError;
using internal::Statement;
using internal::Transaction;
using internal::Write;

// Schema migrations, oldest first; migration i (0-based) takes the catalog from user_version i to
// i + 1. Never edit a released entry: catalogs in the field have already run it. Append instead.
//
// The audit log deliberately stores the collaboration by name with no foreign key: it is a
// record of what happened and must not depend on (or be cascaded by) the rows it describes.
// audit_head duplicates the last seq and hash so that truncating the log is detectable (since
// migration 3, audit_heads does so for each collaboration's chain).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE collaborations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  creator TEXT NOT NULL,
  query_logging INTEGER NOT NULL CHECK (query_logging IN (0, 1)),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  can_query INTEGER NOT NULL CHECK (can_query IN (0, 1)),
  can_receive INTEGER NOT NULL CHECK (can_receive IN (0, 1)),
  status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'left', 'removed')),
  UNIQUE (collaboration_id, name)
) STRICT;

CREATE TABLE tables (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('csv', 'parquet')),
  location TEXT NOT NULL,
  source_schema TEXT NOT NULL,
  allowed_columns TEXT NOT NULL,
  rule_json TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, name),
  FOREIGN KEY (collaboration_id, owner) REFERENCES members (collaboration_id, name)
) STRICT;

CREATE TABLE queries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  runner TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('rejected', 'succeeded', 'failed')),
  verdict_json TEXT NOT NULL,
  rendered_sql TEXT NOT NULL,
  receivers TEXT NOT NULL,
  table_names TEXT NOT NULL,
  result_path TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  FOREIGN KEY (collaboration_id, runner) REFERENCES members (collaboration_id, name)
) STRICT;
CREATE INDEX queries_by_collaboration ON queries (collaboration_id, id);

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  collaboration TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_collaboration ON audit (collaboration, seq);

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql",
    // 2: analysis templates, and which template a query ran.
    R"sql(
CREATE TABLE templates (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  template_id TEXT NOT NULL,
  name TEXT NOT NULL,
  author TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  parameters_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, template_id),
  FOREIGN KEY (collaboration_id, author) REFERENCES members (collaboration_id, name)
) STRICT;
ALTER TABLE queries ADD COLUMN template_id TEXT NOT NULL DEFAULT '';
)sql",
    // 3: one audit chain per collaboration, each entry numbered within its chain and recording
    // the collaboration's policy state. The SQL only adds the heads; after the last SQL step
    // ApplyMigrations runs internal::RechainByCollaboration, which rebuilds the audit table in its
    // new layout (row id = old catalog-wide number; seq, state_sha256, state_parts), re-chains the
    // existing entries and drops audit_head, then appends an "audit.migrated" entry to every
    // chain (see kAuditByCollaborationVersion). Later SQL migrations must leave the audit and
    // audit_head tables as versions 1 and 2 left them.
    R"sql(
CREATE TABLE audit_heads (
  collaboration TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
)sql",
    // 4: a query is recorded as 'running' before it executes and ends 'succeeded', 'failed',
    // 'cancelled' or 'killed' (its process died: nobody holds its run lock any more); and the
    // files each member registered, claimed once, so that two registrations of one file cannot
    // both succeed. SQLite cannot alter a CHECK constraint, so the queries table is rebuilt
    // (ids kept: AUTOINCREMENT continues after the largest copied id). Pure SQL on queries and
    // file_claims: it leaves the audit tables to version 3's C++ step, which runs after it when
    // an older catalog is upgraded.
    R"sql(
CREATE TABLE queries_v4 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  runner TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('rejected', 'running', 'succeeded', 'failed',
                                         'cancelled', 'killed')),
  verdict_json TEXT NOT NULL,
  rendered_sql TEXT NOT NULL,
  receivers TEXT NOT NULL,
  table_names TEXT NOT NULL,
  result_path TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  template_id TEXT NOT NULL DEFAULT '',
  run_lock TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (collaboration_id, runner) REFERENCES members (collaboration_id, name)
) STRICT;
INSERT INTO queries_v4 (id, collaboration_id, runner, sql_text, status, verdict_json,
                        rendered_sql, receivers, table_names, result_path, row_count, error,
                        created_at, template_id)
  SELECT id, collaboration_id, runner, sql_text, status, verdict_json, rendered_sql, receivers,
         table_names, result_path, row_count, error, created_at, template_id FROM queries;
DROP TABLE queries;
ALTER TABLE queries_v4 RENAME TO queries;
CREATE INDEX queries_by_collaboration ON queries (collaboration_id, id);
CREATE INDEX queries_running ON queries (status) WHERE status = 'running';

CREATE TABLE file_claims (
  device INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (device, inode)
) STRICT;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// The version whose migration re-chains the audit log (C++ work after its SQL).
constexpr int kAuditByCollaborationVersion = 3;

// ---------------------------------------------------------------------------------------------
// Names and JSON.

bool IsPartyName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !absl::ascii_isalnum(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsTableName(std::string_view name) {
  if (name.empty() || name.size() > 63 || absl::ascii_isdigit(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

absl::Status CheckPartyName(absl::string_view what, std::string_view name) {
  if (IsPartyName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", what, " name ", Quote(name),
                   ": use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or "
                   "digit"));
}

absl::Status CheckTableName(std::string_view name) {
  if (IsTableName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid table name ", Quote(name),
                   ": use 1 to 63 lower-case letters, digits or '_', not starting with a digit"));
}

// Actions are code-defined identifiers such as "query.submitted".
absl::Status CheckAction(std::string_view action) {
  bool valid = !action.empty() && action.size() <= 64 && absl::ascii_islower(action[0]);
  for (char c : action) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '.') valid = false;
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid audit action ", Quote(action)));
}

Json StringArray(const std::vector<std::string>& values) {
  Json array = Json::array();
  for (const std::string& value : values) array.push_back(value);
  return array;
}

absl::StatusOr<std::vector<std::string>> ReadStringArray(std::string_view text,
                                                         absl::string_view what) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  absl::Status corrupt = absl::InternalError(absl::StrCat("catalog: stored ", what, " is corrupt"));
  if (value.is_discarded() || !value.is_array()) return corrupt;
  std::vector<std::string> result;
  for (const Json& item : value) {
    if (!item.is_string()) return corrupt;
    result.push_back(item.get<std::string>());
  }
  return result;
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
    columns.push_back({item["name"].get<std::string>(), item["type"].get<std::string>()});
  }
  return columns;
}

// The abilities of a member as the audit log names them.
Json Abilities(const Member& member) {
  Json abilities = Json::array();
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  return abilities;
}

// ---------------------------------------------------------------------------------------------
// Lookups.

absl::Status CollaborationNotFound(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("collaboration ", Quote(name), " not found"));
}

absl::StatusOr<std::optional<int64_t>> FindCollaborationId(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db, "SELECT id FROM collaborations WHERE name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return statement.Int(0);
}

absl::StatusOr<int64_t> CollaborationId(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, FindCollaborationId(db, name));
  if (!id.has_value()) return CollaborationNotFound(name);
  return *id;
}

absl::StatusOr<Member> ReadMember(const Statement& statement, int first_column) {
  Member member;
  member.name = statement.Text(first_column);
  member.can_query = statement.Bool(first_column + 1);
  member.can_receive = statement.Bool(first_column + 2);
  PARLEY_ASSIGN_OR_RETURN(member.status, ParseMemberStatus(statement.Text(first_column + 3)));
  return member;
}

absl::StatusOr<std::optional<Member>> FindMember(sqlite3* db, int64_t collaboration_id,
                                                 std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT name, can_query, can_receive, status FROM "
                                             "members WHERE collaboration_id = ? AND name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return ReadMember(statement, 0);
}

absl::StatusOr<Member> GetMember(sqlite3* db, int64_t collaboration_id,
                                 std::string_view collaboration, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<Member> member, FindMember(db, collaboration_id, name));
  if (!member.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("member ", Quote(name), " not found in collaboration ", Quote(collaboration)));
  }
  return *member;
}

absl::StatusOr<std::vector<Member>> ListMembers(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT name, can_query, can_receive, status FROM "
                                             "members WHERE collaboration_id = ? ORDER BY id"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<Member> members;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(Member member, ReadMember(statement, 0));
    members.push_back(std::move(member));
  }
  return members;
}

absl::StatusOr<Collaboration> ReadCollaboration(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT id, name, description, creator, "
                                             "query_logging, created_at FROM collaborations "
                                             "WHERE name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return CollaborationNotFound(name);
  Collaboration collaboration;
  collaboration.name = statement.Text(1);
  collaboration.description = statement.Text(2);
  collaboration.creator = statement.Text(3);
  collaboration.query_logging = statement.Bool(4);
  collaboration.created_at = statement.Int(5);
  PARLEY_ASSIGN_OR_RETURN(collaboration.members, ListMembers(db, statement.Int(0)));
  return collaboration;
}

constexpr const char* kTableColumns =
    "SELECT c.name, t.name, t.owner, t.kind, t.location, t.source_schema, t.allowed_columns, "
    "t.rule_json, t.created_at FROM tables t JOIN collaborations c ON c.id = t.collaboration_id ";

absl::StatusOr<Table> ReadTable(const Statement& statement) {
  Table table;
  table.collaboration = statement.Text(0);
  table.name = statement.Text(1);
  table.owner = statement.Text(2);
  PARLEY_ASSIGN_OR_RETURN(table.kind, ParseSourceKind(statement.Text(3)));
  table.location = statement.Text(4);
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

constexpr const char* kQueryColumns =
    "SELECT q.id, c.name, q.runner, q.sql_text, q.status, q.verdict_json, q.rendered_sql, "
    "q.receivers, q.table_names, q.result_path, q.row_count, q.error, q.created_at, "
    "q.template_id, q.run_lock "
    "FROM queries q JOIN collaborations c ON c.id = q.collaboration_id ";

absl::StatusOr<QueryRecord> ReadQuery(const Statement& statement) {
  QueryRecord query;
  query.id = statement.Int(0);
  query.collaboration = statement.Text(1);
  query.runner = statement.Text(2);
  query.sql = statement.Text(3);
  PARLEY_ASSIGN_OR_RETURN(query.status, ParseQueryStatus(statement.Text(4)));
  query.verdict_json = statement.Text(5);
  query.rendered_sql = statement.Text(6);
  PARLEY_ASSIGN_OR_RETURN(query.receivers, ReadStringArray(statement.Text(7), "receivers"));
  PARLEY_ASSIGN_OR_RETURN(query.tables, ReadStringArray(statement.Text(8), "query tables"));
  query.result_path = statement.Text(9);
  query.row_count = statement.Int(10);
  query.error = statement.Text(11);
  query.created_at = statement.Int(12);
  query.template_id = statement.Text(13);
  query.run_lock = statement.Text(14);
  return query;
}

// The audit action recording a query: whether it was refused, started, killed or ended —
// never how it ended, which is for its receivers (the record keeps it).
std::string QueryAuditAction(QueryStatus status) {
  switch (status) {
    case QueryStatus::kRejected:
      return "query.rejected";
    case QueryStatus::kRunning:
      return "query.started";
    case QueryStatus::kKilled:
      return "query.killed";
    case QueryStatus::kSucceeded:
    case QueryStatus::kFailed:
    case QueryStatus::kCancelled:
      return "query.finished";
  }
  return "query.finished";
}

constexpr const char* kTemplateColumns =
    "SELECT t.template_id, c.name, t.name, t.author, t.sql_text, t.parameters_json, "
    "t.created_at FROM templates t JOIN collaborations c ON c.id = t.collaboration_id ";

AnalysisTemplate ReadTemplate(const Statement& statement) {
  AnalysisTemplate analysis;
  analysis.id = statement.Text(0);
  analysis.collaboration = statement.Text(1);
  analysis.name = statement.Text(2);
  analysis.author = statement.Text(3);
  analysis.sql = statement.Text(4);
  analysis.parameters_json = statement.Text(5);
  analysis.created_at = statement.Int(6);
  return analysis;
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

absl::StatusOr<std::vector<AnalysisTemplate>> ReadTemplates(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kTemplateColumns, "WHERE t.collaboration_id = ? ORDER BY t.id")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<AnalysisTemplate> templates;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    templates.push_back(ReadTemplate(statement));
  }
  return templates;
}

// ---------------------------------------------------------------------------------------------
// Policy state and the audit chains.

// The collaboration's records and their digest, read in the caller's transaction; nullopt when
// the collaboration has no record. `state` receives the state with its parts when given.
absl::StatusOr<std::optional<PolicySnapshot>> ReadPolicySnapshot(
    sqlite3* db, std::string_view name, internal::PolicyState* state = nullptr) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, FindCollaborationId(db, name));
  if (!id.has_value()) return std::nullopt;
  PolicySnapshot snapshot;
  PARLEY_ASSIGN_OR_RETURN(snapshot.collaboration, ReadCollaboration(db, name));
  PARLEY_ASSIGN_OR_RETURN(snapshot.tables, ReadTables(db, *id));
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates, ReadTemplates(db, *id));
  internal::PolicyState computed =
      internal::ComputePolicyState(snapshot.collaboration, snapshot.tables, templates);
  snapshot.digest = computed.digest;
  if (state != nullptr) *state = std::move(computed);
  return snapshot;
}

// The policy state an audit entry of `collaboration` records: empty for catalog-wide entries and
// for a collaboration without a record.
absl::StatusOr<internal::PolicyState> CurrentPolicyState(sqlite3* db,
                                                         std::string_view collaboration) {
  internal::PolicyState state;
  if (collaboration.empty()) return state;
  PARLEY_RETURN_IF_ERROR(ReadPolicySnapshot(db, collaboration, &state).status());
  return state;
}

// Every mutating call checks this first, inside its write transaction: the policy state must
// still be the one the collaboration's audit head records. Otherwise someone changed the catalog
// without Parley; acting now would run queries under rules nobody set through Parley, and the
// entry appended would record the edited state as if Parley had made it, hiding the edit.
// `current`, when given, receives the state (for calls that change no policy and append it as
// is, saving a second read).
absl::Status CheckStateMatchesAudit(sqlite3* db, std::string_view collaboration,
                                    internal::PolicyState* current = nullptr) {
  if (collaboration.empty()) return absl::OkStatus();
  absl::StatusOr<internal::PolicyState> state = CurrentPolicyState(db, collaboration);
  absl::StatusOr<std::optional<internal::PolicyState>> recorded =
      internal::HeadState(db, collaboration);
  if (state.ok() && recorded.ok() &&
      state->digest == recorded->value_or(internal::PolicyState()).digest) {
    if (current != nullptr) *current = *std::move(state);
    return absl::OkStatus();
  }
  if (!recorded.ok() && !absl::IsFailedPrecondition(recorded.status())) return recorded.status();
  std::string what;
  if (state.ok() && recorded.ok() && recorded->has_value() &&
      crypto::Sha256Hex((*recorded)->parts) == (*recorded)->digest) {
    what = internal::DescribeStateChange((*recorded)->parts, state->parts);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "collaboration ", Quote(collaboration), " was changed outside Parley",
      what.empty() ? "" : absl::StrCat(" (", what, ")"),
      ": its catalog records no longer match its audit log, so "
      "nothing can change or run in it until the catalog is restored"));
}

// Appends an entry recording the collaboration's policy state after the change. Must run inside
// the write transaction that made the change.
absl::Status AppendAuditEntry(sqlite3* db, int64_t time, std::string_view collaboration,
                              std::string_view actor, std::string_view action,
                              const Json& details) {
  PARLEY_ASSIGN_OR_RETURN(internal::PolicyState state, CurrentPolicyState(db, collaboration));
  return internal::AppendEntry(db, time, collaboration, actor, action, details, state);
}

// Schema version 3: re-chains the log by collaboration, then records in every chain that it was
// re-chained and what the old catalog-wide chain's verification found, with the state it now
// commits to. Entries before the upgrade carry no state (it was never recorded); from this entry
// on every state is checked.
absl::Status MigrateAuditToCollaborationChains(sqlite3* db, int64_t now) {
  PARLEY_ASSIGN_OR_RETURN(internal::LegacyChain legacy, internal::RechainByCollaboration(db));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  for (const std::string& chain : chains) {
    Json details = {{"schema_version", kAuditByCollaborationVersion},
                    {"legacy_chain", legacy.verdict},
                    {"legacy_head", legacy.head},
                    {"legacy_entries", legacy.entries}};
    PARLEY_RETURN_IF_ERROR(AppendAuditEntry(db, now, chain, "parley", "audit.migrated", details));
  }
  return absl::OkStatus();
}

absl::Status ApplyMigrations(sqlite3* db, int64_t now) {
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // Read the version inside the write lock so two processes opening a new catalog at once
  // cannot both run the same migration.
  int64_t version = 0;
  {
    // Scoped, so finalised before the migrations run: a statement still open on the connection
    // makes DROP TABLE fail with "database table is locked" (migrations 3 and 4 drop tables).
    PARLEY_ASSIGN_OR_RETURN(Statement version_statement,
                            Statement::Prepare(db, "PRAGMA user_version"));
    PARLEY_ASSIGN_OR_RETURN(bool has_row, version_statement.Step());
    if (has_row) version = version_statement.Int(0);
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the catalog has schema version %d but this parley knows only up to version %d; "
        "upgrade parley to open it",
        version, kSchemaVersion));
  }
  // Parleys built before the audit chains were merged applied the query life cycle (today's
  // version 4) as version 3: their catalogs have version 3 without audit_heads. They get the
  // audit SQL and its C++ step, not the life cycle a second time.
  bool life_cycle_as_3 = false;
  if (version == kAuditByCollaborationVersion) {
    // Scoped like the version statement: finished before the migration drops tables.
    PARLEY_ASSIGN_OR_RETURN(
        Statement heads,
        Statement::Prepare(db, "SELECT 1 FROM sqlite_master WHERE name = 'audit_heads'"));
    PARLEY_ASSIGN_OR_RETURN(bool has_heads, heads.Step());
    life_cycle_as_3 = !has_heads;
  }
  if (life_cycle_as_3) {
    PARLEY_RETURN_IF_ERROR(Exec(db, kMigrations[kAuditByCollaborationVersion - 1]));
    version = kAuditByCollaborationVersion - 1;
  } else {
    for (int64_t next = version; next < kSchemaVersion; ++next) {
      PARLEY_RETURN_IF_ERROR(Exec(db, kMigrations[next]));
    }
  }
  // After every SQL step, so that the policy states it records are read with the schema this
  // binary reads them with. (A new catalog has nothing to re-chain; the step costs nothing.)
  if (version < kAuditByCollaborationVersion) {
    PARLEY_RETURN_IF_ERROR(MigrateAuditToCollaborationChains(db, now));
  }
  if (version < kSchemaVersion) {
    PARLEY_RETURN_IF_ERROR(
        Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str()));
  }
  return transaction.Commit();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names of enums.

int64_t SystemClockSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int SchemaVersion() { return kSchemaVersion; }

std::string MemberStatusName(MemberStatus status) {
  switch (status) {
    case MemberStatus::kInvited:
      return "invited";
    case MemberStatus::kActive:
      return "active";
    case MemberStatus::kLeft:
      return "left";
    case MemberStatus::kRemoved:
      return "removed";
  }
  return "unknown";
}

absl::StatusOr<MemberStatus> ParseMemberStatus(std::string_view name) {
  for (MemberStatus status : {MemberStatus::kInvited, MemberStatus::kActive, MemberStatus::kLeft,
                              MemberStatus::kRemoved}) {
    if (name == MemberStatusName(status)) return status;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown member status ", Quote(name)));
}

std::string SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kCsv:
      return "csv";
    case SourceKind::kParquet:
      return "parquet";
  }
  return "unknown";
}

absl::StatusOr<SourceKind> ParseSourceKind(std::string_view name) {
  for (SourceKind kind : {SourceKind::kCsv, SourceKind::kParquet}) {
    if (name == SourceKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown source kind ", Quote(name)));
}

std::string QueryStatusName(QueryStatus status) {
  switch (status) {
    case QueryStatus::kRejected:
      return "rejected";
    case QueryStatus::kSucceeded:
      return "succeeded";
    case QueryStatus::kFailed:
      return "failed";
    case QueryStatus::kRunning:
      return "running";
    case QueryStatus::kCancelled:
      return "cancelled";
    case QueryStatus::kKilled:
      return "killed";
  }
  return "unknown";
}

absl::StatusOr<QueryStatus> ParseQueryStatus(std::string_view name) {
  for (QueryStatus status :
       {QueryStatus::kRejected, QueryStatus::kSucceeded, QueryStatus::kFailed,
        QueryStatus::kRunning, QueryStatus::kCancelled, QueryStatus::kKilled}) {
    if (name == QueryStatusName(status)) return status;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown query status ", Quote(name)));
}

// ---------------------------------------------------------------------------------------------
// Store.

struct Store::Impl {
  DatabaseHandle db;
  Clock clock;

  sqlite3* handle() const { return db.get(); }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, Clock clock) {
  sqlite3* raw = nullptr;
  int code =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; it carries the message and must be
  // closed either way.
  DatabaseHandle db(raw);
  if (code != SQLITE_OK) {
    if (db == nullptr) return absl::InternalError("catalog: out of memory opening the catalog");
    return SqliteError(db.get(), absl::StrCat("opening ", path));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  // A second process (CLI next to a server) waits for the lock instead of failing at once.
  if (sqlite3_busy_timeout(db.get(), 5000) != SQLITE_OK) {
    return SqliteError(db.get(), "setting the busy timeout");
  }
  PARLEY_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA foreign_keys = ON"));
  // WAL lets readers (list, verify) proceed while a writer holds the lock.
  {
    // Scoped: a statement left open on the connection would keep the migrations from dropping
    // a table ("database table is locked").
    PARLEY_ASSIGN_OR_RETURN(Statement wal,
                            Statement::Prepare(db.get(), "PRAGMA journal_mode = WAL"));
    PARLEY_ASSIGN_OR_RETURN(bool has_mode, wal.Step());
    if (!has_mode || wal.Text(0) != "wal") {
      return absl::InternalError(absl::StrCat("catalog: ", path, " cannot use WAL journaling"));
    }
  }
  Clock store_clock = clock ? std::move(clock) : Clock(SystemClockSeconds);
  PARLEY_RETURN_IF_ERROR(ApplyMigrations(db.get(), store_clock()));

  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  impl->clock = std::move(store_clock);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

absl::Status Store::CreateCollaboration(const Collaboration& collaboration) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("collaboration", collaboration.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", collaboration.creator));
  std::set<std::string_view> seen;
  for (const Member& member : collaboration.members) {
    PARLEY_RETURN_IF_ERROR(CheckPartyName("member", member.name));
    if (!seen.insert(member.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("member ", Quote(member.name),
                                                     " is listed twice in collaboration ",
                                                     Quote(collaboration.name)));
    }
  }
  if (!seen.contains(collaboration.creator)) {
    return absl::InvalidArgumentError(absl::StrCat("the creator ", Quote(collaboration.creator),
                                                   " must be listed as a member of collaboration ",
                                                   Quote(collaboration.name)));
  }

  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration.name));
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> existing,
                          FindCollaborationId(db, collaboration.name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("collaboration ", Quote(collaboration.name), " already exists"));
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO collaborations (name, description, creator, "
                               "query_logging, created_at) VALUES (?, ?, ?, ?, ?)",
                               collaboration.name, collaboration.description, collaboration.creator,
                               collaboration.query_logging, now));
  int64_t collaboration_id = sqlite3_last_insert_rowid(db);
  Json members = Json::array();
  for (const Member& member : collaboration.members) {
    // The creator starts active whatever the caller passed: it is already in the room.
    MemberStatus status =
        member.name == collaboration.creator ? MemberStatus::kActive : member.status;
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "INSERT INTO members (collaboration_id, name, can_query, "
                                 "can_receive, status) VALUES (?, ?, ?, ?, ?)",
                                 collaboration_id, member.name, member.can_query,
                                 member.can_receive, MemberStatusName(status)));
    members.push_back({{"name", member.name},
                       {"abilities", Abilities(member)},
                       {"status", MemberStatusName(status)}});
  }
  Json details = {{"creator", collaboration.creator},
                  {"members", members},
                  {"query_logging", collaboration.query_logging}};
  PARLEY_RETURN_IF_ERROR(AppendAuditEntry(db, now, collaboration.name, collaboration.creator,
                                          "collaboration.create", details));
  return transaction.Commit();
}

absl::StatusOr<Collaboration> Store::GetCollaboration(const std::string& name) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, ReadCollaboration(db, name));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return collaboration;
}

absl::StatusOr<std::vector<Collaboration>> Store::ListCollaborations() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  std::vector<std::string> names;
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(db, "SELECT name FROM collaborations ORDER BY name"));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      names.push_back(statement.Text(0));
    }
  }
  std::vector<Collaboration> collaborations;
  for (const std::string& name : names) {
    PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, ReadCollaboration(db, name));
    collaborations.push_back(std::move(collaboration));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return collaborations;
}

absl::StatusOr<PolicySnapshot> Store::GetPolicySnapshot(const std::string& name) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::optional<PolicySnapshot> snapshot, ReadPolicySnapshot(db, name));
  if (!snapshot.has_value()) return CollaborationNotFound(name);
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return *std::move(snapshot);
}

absl::Status Store::AddMember(const std::string& collaboration, const Member& member,
                              const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", member.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::optional<Member> existing,
                          FindMember(db, collaboration_id, member.name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "member ", Quote(member.name), " already exists in collaboration ", Quote(collaboration)));
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO members (collaboration_id, name, can_query, "
                               "can_receive, status) VALUES (?, ?, ?, ?, ?)",
                               collaboration_id, member.name, member.can_query, member.can_receive,
                               MemberStatusName(member.status)));
  Json details = {{"member", member.name},
                  {"abilities", Abilities(member)},
                  {"status", MemberStatusName(member.status)}};
  PARLEY_RETURN_IF_ERROR(AppendAuditEntry(db, now, collaboration, actor, "member.add", details));
  return transaction.Commit();
}

absl::Status Store::SetMemberStatus(const std::string& collaboration, const std::string& member,
                                    MemberStatus status, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(Member existing, GetMember(db, collaboration_id, collaboration, member));
  PARLEY_RETURN_IF_ERROR(
      Write(db, "UPDATE members SET status = ? WHERE collaboration_id = ? AND name = ?",
            MemberStatusName(status), collaboration_id, member));
  Json details = {{"member", member},
                  {"from", MemberStatusName(existing.status)},
                  {"to", MemberStatusName(status)}};
  PARLEY_RETURN_IF_ERROR(AppendAuditEntry(db, now, collaboration, actor, "member.status", details));
  return transaction.Commit();
}

absl::Status Store::AddTable(const Table& table, const std::string& actor,
                             const std::vector<FileIdentity>& files) {
  PARLEY_RETURN_IF_ERROR(CheckTableName(table.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", table.owner));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  if (table.location.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("table ", Quote(table.name), " has no location"));
  }
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
    source_schema.push_back({{"name", column.name}, {"type", column.type}});
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

  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, table.collaboration));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, table.collaboration));
  PARLEY_RETURN_IF_ERROR(
      GetMember(db, collaboration_id, table.collaboration, table.owner).status());
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> existing,
                          FindTable(db, collaboration_id, table.name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("table ", Quote(table.name),
                                                 " already exists in collaboration ",
                                                 Quote(table.collaboration)));
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO tables (collaboration_id, name, owner, kind, "
                               "location, source_schema, allowed_columns, rule_json, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               collaboration_id, table.name, table.owner,
                               SourceKindName(table.kind), table.location, source_schema_text,
                               allowed_text, rule, now));
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
  // The location stays out of the audit log: it is the owner's filesystem layout, which the
  // other members reading the log have no need to learn.
  Json details = {{"table", table.name},
                  {"owner", table.owner},
                  {"kind", SourceKindName(table.kind)},
                  {"allowed_columns", StringArray(table.allowed_columns)}};
  if (rule.has_value()) details["rule_sha256"] = crypto::Sha256Hex(*rule);
  PARLEY_RETURN_IF_ERROR(
      AppendAuditEntry(db, now, table.collaboration, actor, "table.add", details));
  return transaction.Commit();
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
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::optional<Table> table, FindTable(db, collaboration_id, name));
  if (!table.has_value()) return TableNotFound(name, collaboration);
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return *std::move(table);
}

absl::StatusOr<std::vector<Table>> Store::ListTables(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<Table> tables, ReadTables(db, collaboration_id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return tables;
}

absl::Status Store::SetRule(const std::string& collaboration, const std::string& table,
                            const std::string& rule_json, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(std::string rule, CanonicalRule(table, rule_json));
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
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
  PARLEY_RETURN_IF_ERROR(AppendAuditEntry(db, now, collaboration, actor, "rule.set", details));
  return transaction.Commit();
}

absl::StatusOr<int64_t> Store::RecordQuery(const QueryRecord& query) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", query.runner));
  PARLEY_ASSIGN_OR_RETURN(std::string receivers,
                          Canonical(StringArray(query.receivers), "the receivers"));
  PARLEY_ASSIGN_OR_RETURN(std::string tables, Canonical(StringArray(query.tables), "the tables"));
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // Recording a query changes no policy: the state checked here is the state the entry records.
  internal::PolicyState policy;
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, query.collaboration, &policy));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, query.collaboration));
  PARLEY_RETURN_IF_ERROR(
      GetMember(db, collaboration_id, query.collaboration, query.runner).status());
  PARLEY_RETURN_IF_ERROR(
      Write(db,
            "INSERT INTO queries (collaboration_id, runner, sql_text, status, "
            "verdict_json, rendered_sql, receivers, table_names, result_path, "
            "row_count, error, created_at, template_id, run_lock) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            collaboration_id, query.runner, query.sql, QueryStatusName(query.status),
            query.verdict_json, query.rendered_sql, receivers, tables, query.result_path,
            query.row_count, query.error, now, query.template_id, query.run_lock));
  int64_t id = sqlite3_last_insert_rowid(db);
  // Metadata only: the SQL text, the verdict and the error message can all quote data values
  // (literals, DuckDB conversion errors), so none of them enters the shared log; nor do the row
  // count or whether the run succeeded, which only the receivers may learn.
  Json details = {{"query_id", id},
                  {"tables", StringArray(query.tables)},
                  {"receivers", StringArray(query.receivers)}};
  if (!query.template_id.empty()) details["template_id"] = query.template_id;
  PARLEY_RETURN_IF_ERROR(internal::AppendEntry(db, now, query.collaboration, query.runner,
                                               QueryAuditAction(query.status), details, policy));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return id;
}

absl::StatusOr<Delivery> Store::FinishQuery(const std::string& collaboration, int64_t id,
                                            const QueryRecord& outcome,
                                            const std::string& checked_policy) {
  if (outcome.status != QueryStatus::kSucceeded && outcome.status != QueryStatus::kFailed &&
      outcome.status != QueryStatus::kCancelled) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a query finishes succeeded, failed or cancelled, not ", QueryStatusName(outcome.status)));
  }
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // Finishing a query changes no policy: the state checked here is the state the entry records,
  // and the state the delivery is compared with.
  internal::PolicyState policy;
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration, &policy));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Statement running,
      Statement::Prepare(
          db, "SELECT runner, status FROM queries WHERE collaboration_id = ? AND id = ?"));
  PARLEY_RETURN_IF_ERROR(running.Bind(collaboration_id, id));
  PARLEY_ASSIGN_OR_RETURN(bool found, running.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("query ", id, " not found in collaboration ", Quote(collaboration)));
  }
  std::string runner = running.Text(0);
  if (running.Text(1) != QueryStatusName(QueryStatus::kRunning)) {
    return absl::FailedPreconditionError(
        absl::StrCat("query ", id, " is ", running.Text(1), ", not running"));
  }
  QueryRecord finished = outcome;
  Delivery delivery;
  // Same transaction as the update below: no change can land between this comparison and the
  // record that releases the result.
  if (policy.digest != checked_policy) {
    delivery.policy_changed = true;
    finished.status = QueryStatus::kFailed;
    finished.error = kPolicyChangedError;
    finished.result_path.clear();
    finished.row_count = 0;
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "UPDATE queries SET status = ?, row_count = ?, error = ?, "
                               "result_path = ?, run_lock = '' WHERE id = ?",
                               QueryStatusName(finished.status), finished.row_count, finished.error,
                               finished.result_path, id));
  Json details = {{"query_id", id}};
  // The one outcome the log tells every member, since its cause is not data: the policy moved
  // under the run.
  if (delivery.policy_changed) details["policy_changed"] = true;
  PARLEY_RETURN_IF_ERROR(
      internal::AppendEntry(db, now, collaboration, runner, "query.finished", details, policy));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return delivery;
}

absl::StatusOr<std::vector<int64_t>> Store::MarkKilledQueries(
    const std::function<bool(const QueryRecord&)>& abandoned) {
  sqlite3* db = impl_->handle();
  std::vector<QueryRecord> candidates;
  {
    PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(
            db, absl::StrCat(kQueryColumns, "WHERE q.status = 'running' ORDER BY q.id")));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
      candidates.push_back(std::move(query));
    }
    PARLEY_RETURN_IF_ERROR(transaction.Commit());
  }
  std::vector<const QueryRecord*> dead;
  for (const QueryRecord& query : candidates) {
    if (abandoned(query)) dead.push_back(&query);
  }
  std::vector<int64_t> killed;
  if (dead.empty()) return killed;
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // Marking a query killed changes no policy: each collaboration's state is checked once and
  // recorded by its entries. A collaboration changed outside Parley is skipped, not an error:
  // this runs before listings and when the service opens, which must keep working for the other
  // collaborations (and for reading this one's log).
  std::map<std::string, std::optional<internal::PolicyState>> states;
  for (const QueryRecord* query : dead) {
    auto [state, inserted] = states.try_emplace(query->collaboration);
    if (inserted) {
      internal::PolicyState checked;
      absl::Status matches = CheckStateMatchesAudit(db, query->collaboration, &checked);
      if (matches.ok()) {
        state->second = std::move(checked);
      } else if (!absl::IsFailedPrecondition(matches)) {
        return matches;
      }
    }
    if (!state->second.has_value()) continue;
    // Still running under the same lock: another process may have marked it in the meantime.
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "UPDATE queries SET status = 'killed', run_lock = '' "
                                 "WHERE id = ? AND status = 'running' AND run_lock = ?",
                                 query->id, query->run_lock));
    if (sqlite3_changes(db) == 0) continue;
    Json details = {{"query_id", query->id}};
    PARLEY_RETURN_IF_ERROR(internal::AppendEntry(db, now, query->collaboration, query->runner,
                                                 "query.killed", details, *state->second));
    killed.push_back(query->id);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return killed;
}

absl::Status Store::CreateTemplate(const AnalysisTemplate& analysis, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  if (analysis.id.size() != 64 ||
      analysis.id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return absl::InvalidArgumentError("a template id is 64 lowercase hexadecimal characters");
  }
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, analysis.collaboration));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, analysis.collaboration));
  PARLEY_RETURN_IF_ERROR(GetMember(db, collaboration_id, analysis.collaboration, actor).status());
  PARLEY_ASSIGN_OR_RETURN(
      Statement existing,
      Statement::Prepare(db,
                         "SELECT 1 FROM templates WHERE collaboration_id = ? AND template_id = ?"));
  PARLEY_RETURN_IF_ERROR(existing.Bind(collaboration_id, analysis.id));
  PARLEY_ASSIGN_OR_RETURN(bool found, existing.Step());
  if (found) {
    return absl::AlreadyExistsError(absl::StrCat("template ", analysis.id.substr(0, 12),
                                                 " already exists in collaboration ",
                                                 Quote(analysis.collaboration)));
  }
  PARLEY_RETURN_IF_ERROR(
      Write(db,
            "INSERT INTO templates (collaboration_id, template_id, name, author, "
            "sql_text, parameters_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            collaboration_id, analysis.id, analysis.name, actor, analysis.sql,
            analysis.parameters_json, now));
  Json details = {{"template_id", analysis.id}, {"name", analysis.name}};
  PARLEY_RETURN_IF_ERROR(
      AppendAuditEntry(db, now, analysis.collaboration, actor, "template.create", details));
  return transaction.Commit();
}

absl::StatusOr<std::vector<AnalysisTemplate>> Store::ListTemplates(
    const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates,
                          ReadTemplates(db, collaboration_id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return templates;
}

absl::StatusOr<AnalysisTemplate> Store::GetTemplate(const std::string& collaboration,
                                                    const std::string& id_or_prefix) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates, ListTemplates(collaboration));
  std::vector<AnalysisTemplate> matches;
  for (AnalysisTemplate& analysis : templates) {
    if (!id_or_prefix.empty() && analysis.id.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
      matches.push_back(std::move(analysis));
    }
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("template ", Quote(id_or_prefix),
                                            " not found in collaboration ", Quote(collaboration)));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("template id prefix ", Quote(id_or_prefix),
                                                   " is ambiguous; give more characters"));
  }
  return std::move(matches.front());
}

absl::StatusOr<QueryRecord> Store::GetQuery(const std::string& collaboration, int64_t id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         absl::StrCat(kQueryColumns, "WHERE q.collaboration_id = ? AND q.id = ?")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("query ", id, " not found in collaboration ", Quote(collaboration)));
  }
  PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return query;
}

absl::StatusOr<std::vector<QueryRecord>> Store::ListQueries(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kQueryColumns, "WHERE q.collaboration_id = ? ORDER BY q.id")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<QueryRecord> queries;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
    queries.push_back(std::move(query));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return queries;
}

absl::Status Store::AppendAudit(const std::string& collaboration, const std::string& actor,
                                const std::string& action, const std::string& details_json) {
  if (!collaboration.empty())
    PARLEY_RETURN_IF_ERROR(CheckPartyName("collaboration", collaboration));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_RETURN_IF_ERROR(CheckAction(action));
  std::optional<Json> details = ParseObject(details_json.empty() ? "{}" : details_json);
  if (!details.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the details of audit action ", Quote(action), " are not a JSON object"));
  }
  sqlite3* db = impl_->handle();
  int64_t now = impl_->clock();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // An appended action changes no record, so the state checked is the state it records.
  internal::PolicyState state;
  PARLEY_RETURN_IF_ERROR(CheckStateMatchesAudit(db, collaboration, &state));
  if (!collaboration.empty()) {
    PARLEY_RETURN_IF_ERROR(CollaborationId(db, collaboration).status());
  }
  PARLEY_RETURN_IF_ERROR(
      internal::AppendEntry(db, now, collaboration, actor, action, *details, state));
  return transaction.Commit();
}

absl::StatusOr<std::vector<AuditEntry>> Store::ListAudit(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  std::string sql =
      "SELECT seq, time, collaboration, actor, action, details_json, prev_hash, hash, "
      "state_sha256 FROM audit ";
  if (!collaboration.empty()) {
    PARLEY_RETURN_IF_ERROR(CollaborationId(db, collaboration).status());
    sql += "WHERE collaboration = ? ";
  }
  sql += "ORDER BY id";
  PARLEY_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(db, sql));
  if (!collaboration.empty()) PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
  std::vector<AuditEntry> entries;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    entries.push_back({statement.Int(0), statement.Int(1), statement.Text(2), statement.Text(3),
                       statement.Text(4), statement.Text(5), statement.Text(6), statement.Text(7),
                       statement.Text(8)});
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return entries;
}

absl::StatusOr<AuditVerification> Store::VerifyAudit(const std::string& collaboration,
                                                     const std::string& expected_head) {
  sqlite3* db = impl_->handle();
  // One read transaction: the head, the rows and the policy state come from the same snapshot
  // even while another process appends.
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  if (collaboration.empty() ||
      std::find(chains.begin(), chains.end(), collaboration) == chains.end()) {
    return CollaborationNotFound(collaboration);
  }
  PARLEY_ASSIGN_OR_RETURN(
      AuditVerification verification,
      internal::VerifyChain(db, collaboration, CurrentPolicyState(db, collaboration),
                            expected_head));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return verification;
}

absl::StatusOr<AuditVerification> Store::VerifyAudit() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  AuditVerification all;
  for (const std::string& chain : chains) {
    PARLEY_ASSIGN_OR_RETURN(AuditVerification verification,
                            internal::VerifyChain(db, chain, CurrentPolicyState(db, chain)));
    all.entries += verification.entries;
    if (!verification.ok) {
      all.ok = false;
      all.heads.clear();
      all.problem = chain.empty()
                        ? absl::StrCat("catalog-wide actions: ", verification.problem)
                        : absl::StrCat("collaboration ", Quote(chain), ": ", verification.problem);
      return all;
    }
    all.heads.merge(verification.heads);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return all;
}

}  // namespace parley::catalog
