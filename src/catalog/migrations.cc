// The catalog's schema and its migrations, oldest first, and the one transaction that applies
// the pending ones when a catalog is opened (with the C++ steps some versions need after their
// SQL: re-chaining the audit log by collaboration).
#include <sqlite3.h>

#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace {

using internal::Canonical;
using internal::Exec;
using internal::Json;
using internal::ParseObject;
using internal::Quote;
using internal::Statement;
using internal::Transaction;
using internal::Write;

using internal::Transaction;
using internal::Write;

// Schema migrations, oldest first; migration i (0-based) takes the catalog from user_version i to
// i + 1. Never edit a released entry: catalogs in the field have already run it. Append instead.
//
// The audit log deliberately stores the collaboration by name with no foreign key: it is a
// record of what happened and must not depend on (or be cascaded by) the rows it describes.
// audit_head duplicates the last seq and hash so that truncating the log is detectable (since
// migration 3, audit_heads does so for each collaboration's chain).
// Members' `run_jobs` ability (issue 12), in the jobs migration below. Also created before an old
// catalog's states are checked (ApplyMigrations), since reading members reads this table.
#define PARLEY_MEMBER_JOB_RUNNERS_SQL                                     \
  "CREATE TABLE IF NOT EXISTS member_job_runners (\n"                     \
  "  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),\n" \
  "  name TEXT NOT NULL,\n"                                               \
  "  PRIMARY KEY (collaboration_id, name)\n"                              \
  ") STRICT;\n"

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
    // 5: a table's source is a kind of source (the connector that reads it, src/connectors) and
    // that connector's description, instead of a fixed file kind and a location: the files of
    // version 4 become kind 'files' with {"format", "path"}. SQLite cannot drop a CHECK, so the
    // tables table is rebuilt (ids kept). Its C++ steps (SourcesByConnector below) check each
    // collaboration's state before the SQL, as version 4 digested it, and record the state after.
    R"sql(
CREATE TABLE tables_v5 (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  source_kind TEXT NOT NULL,
  source TEXT NOT NULL,
  source_schema TEXT NOT NULL,
  allowed_columns TEXT NOT NULL,
  rule_json TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, name),
  FOREIGN KEY (collaboration_id, owner) REFERENCES members (collaboration_id, name)
) STRICT;
INSERT INTO tables_v5 (id, collaboration_id, name, owner, source_kind, source, source_schema,
                       allowed_columns, rule_json, created_at)
  SELECT id, collaboration_id, name, owner, 'files', json_object('format', kind, 'path', location),
         source_schema, allowed_columns, rule_json, created_at FROM tables;
DROP TABLE tables;
ALTER TABLE tables_v5 RENAME TO tables;
)sql",
    // 6: the organisations of a Parley server and their API tokens (stored as salted hashes of
    // their secrets; a token is looked up by its id). Organisations are not members of anything
    // by themselves: an organisation acts in collaborations as the member of its name.
    R"sql(
CREATE TABLE organisations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  organisation_id INTEGER NOT NULL REFERENCES organisations (id),
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_organisation ON api_tokens (organisation_id);
)sql",
    // 7: differential privacy (issue 14): a collaboration's budget per month, and the ledger of
    // what each query spent, written in the transaction that records the query as running, so that
    // concurrent queries cannot overspend and a query refused before it runs spends nothing.
    // IF NOT EXISTS: new tables only, so a catalog that has them already (a test that rewinds a
    // current catalog's version) migrates the same.
    R"sql(
CREATE TABLE IF NOT EXISTS privacy_budgets (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  epsilon_per_period INTEGER NOT NULL CHECK (epsilon_per_period > 0),
  delta_per_period INTEGER NOT NULL CHECK (delta_per_period >= 0),
  default_epsilon INTEGER NOT NULL CHECK (default_epsilon > 0),
  max_epsilon INTEGER NOT NULL CHECK (max_epsilon >= default_epsilon)
) STRICT;
CREATE TABLE IF NOT EXISTS privacy_spends (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  query_id INTEGER NOT NULL REFERENCES queries (id),
  period TEXT NOT NULL,
  epsilon INTEGER NOT NULL CHECK (epsilon > 0),
  delta INTEGER NOT NULL CHECK (delta >= 0),
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS privacy_spends_by_period ON privacy_spends (collaboration_id, period);
)sql",
    // 8: consent (issue 8): a collaboration's terms (who pays for queries, which kinds of change
    // commit without approvals), change requests with their votes, and invitations (one-time
    // codes stored as salted hashes, like API tokens). New tables only (IF NOT EXISTS, as 7).
    R"sql(
CREATE TABLE IF NOT EXISTS collaboration_terms (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  payer TEXT NOT NULL,
  auto_approve TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS change_requests (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  kind TEXT NOT NULL,
  change_json TEXT NOT NULL,
  proposer TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'committed',
                                         'cancelled')),
  auto_approved INTEGER NOT NULL CHECK (auto_approved IN (0, 1)),
  created_at INTEGER NOT NULL,
  decided_at INTEGER NOT NULL,
  decided_by TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS change_requests_by_collaboration
  ON change_requests (collaboration_id, status);
CREATE TABLE IF NOT EXISTS change_votes (
  change_id INTEGER NOT NULL REFERENCES change_requests (id),
  member TEXT NOT NULL,
  approve INTEGER NOT NULL CHECK (approve IN (0, 1)),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (change_id, member)
) STRICT;
CREATE TABLE IF NOT EXISTS invitations (
  id TEXT PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  organisation TEXT NOT NULL,
  change_id INTEGER NOT NULL UNIQUE REFERENCES change_requests (id),
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  redeemed_at INTEGER
) STRICT;
)sql",
    // 9: a collaboration can be closed by its creator (issue 9): a row here says when; none while
    // it is open. A closed collaboration keeps its records; the catalog refuses every policy
    // change and every new query in it (CollaborationWrite). A table of its own, IF NOT EXISTS,
    // so that (as for version 7) a catalog that has it already migrates the same.
    R"sql(
CREATE TABLE IF NOT EXISTS collaboration_closures (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  closed_at INTEGER NOT NULL
) STRICT;
)sql",
    // 10 (server data, issue 8 §2-§4): the public key each member (organisation) registered to
    // have its results sealed to (X25519, 64 hex digits; docs/formats/sealed-results.md), a
    // collaboration's result retention in days (no row: kept until deleted, or the home's
    // retention), and the webhooks members subscribed to a collaboration's events (the HMAC
    // secret is kept to sign deliveries; removed ones keep their row). New tables only, IF NOT
    // EXISTS, as 7.
    R"sql(
CREATE TABLE IF NOT EXISTS member_keys (
  member TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS result_retention (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  days INTEGER NOT NULL CHECK (days >= 1)
) STRICT;
CREATE TABLE IF NOT EXISTS webhooks (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  member TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  removed_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS webhooks_by_collaboration ON webhooks (collaboration_id, removed_at);
)sql",
    // 11: metering (issue 8): one row per metered query — who paid for it (the payer in force
    // when it was recorded as running), its month, its estimate, and, once finished, what it
    // measured — with its scans by table; the members' limits on what the queries they pay for
    // may scan; and the tables' sizes as measured when added (what estimates use). New tables
    // only (IF NOT EXISTS, as 7).
    R"sql(
CREATE TABLE IF NOT EXISTS query_usage (
  query_id INTEGER PRIMARY KEY REFERENCES queries (id),
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  runner TEXT NOT NULL,
  payer TEXT NOT NULL,
  period TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished INTEGER NOT NULL CHECK (finished IN (0, 1)),
  estimated_bytes INTEGER NOT NULL CHECK (estimated_bytes >= 0),
  rows_scanned INTEGER NOT NULL CHECK (rows_scanned >= 0),
  bytes_scanned INTEGER NOT NULL CHECK (bytes_scanned >= 0),
  duration_micros INTEGER NOT NULL CHECK (duration_micros >= 0),
  result_rows INTEGER NOT NULL CHECK (result_rows >= 0),
  result_bytes INTEGER NOT NULL CHECK (result_bytes >= 0)
) STRICT;
CREATE INDEX IF NOT EXISTS query_usage_by_payer ON query_usage (collaboration_id, payer, period);
CREATE TABLE IF NOT EXISTS query_scans (
  query_id INTEGER NOT NULL REFERENCES queries (id),
  table_name TEXT NOT NULL,
  rows_scanned INTEGER NOT NULL CHECK (rows_scanned >= 0),
  bytes_scanned INTEGER NOT NULL CHECK (bytes_scanned >= 0),
  PRIMARY KEY (query_id, table_name)
) STRICT;
CREATE TABLE IF NOT EXISTS usage_limits (
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  member TEXT NOT NULL,
  per_query_bytes INTEGER CHECK (per_query_bytes >= 0),
  monthly_bytes INTEGER CHECK (monthly_bytes >= 0),
  PRIMARY KEY (collaboration_id, member)
) STRICT;
CREATE TABLE IF NOT EXISTS table_sizes (
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  table_name TEXT NOT NULL,
  rows INTEGER NOT NULL,
  bytes INTEGER NOT NULL CHECK (bytes >= 0),
  measured_at INTEGER NOT NULL,
  PRIMARY KEY (collaboration_id, table_name)
) STRICT;
)sql",
    // 12: client-side column encryption (issue 11): a collaboration's encryption settings, fixed at
    // creation. No row: the defaults (catalog::EncryptionSettings), which is what every
    // collaboration created before this version has. Column kinds live in tables.source_schema.
    R"sql(
CREATE TABLE IF NOT EXISTS collaboration_encryption (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  allow_cleartext INTEGER NOT NULL CHECK (allow_cleartext IN (0, 1)),
  allow_duplicates INTEGER NOT NULL CHECK (allow_duplicates IN (0, 1)),
  allow_joins_on_columns_with_different_names INTEGER NOT NULL
    CHECK (allow_joins_on_columns_with_different_names IN (0, 1)),
  preserve_nulls INTEGER NOT NULL CHECK (preserve_nulls IN (0, 1))
) STRICT;
)sql",
    // 13: jobs (issue 12): the `run_jobs` ability of members (a row per member that has it: a table
    // of its own, IF NOT EXISTS like every table here, so that the migration runs the same on a
    // catalog that has it already); jobs (immutable code bundles, by the
    // SHA-256 of their content); assets (a member's private files: metadata here, bytes in the
    // home's assets folder), with the jobs their owner approved; and each run of a job.
    PARLEY_MEMBER_JOB_RUNNERS_SQL R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  job_id TEXT NOT NULL,
  name TEXT NOT NULL,
  author TEXT NOT NULL,
  bundle_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, job_id)
) STRICT;
CREATE TABLE IF NOT EXISTS assets (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  kind TEXT NOT NULL,
  description TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  stored_path TEXT NOT NULL,
  allowed_jobs_json TEXT NOT NULL,
  allow_job_logs INTEGER NOT NULL CHECK (allow_job_logs IN (0, 1)),
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, name)
) STRICT;
CREATE TABLE IF NOT EXISTS job_runs (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  job_id TEXT NOT NULL,
  runner TEXT NOT NULL,
  receivers_json TEXT NOT NULL,
  parameters_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'withheld')),
  reason TEXT NOT NULL,
  logs_json TEXT NOT NULL,
  outputs_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
) STRICT;
)sql",
    // A collaboration's time limit for its queries (issue 8): set at creation, then by change
    // request ("time_limit"); no row: only the server's limit.
    R"sql(
CREATE TABLE IF NOT EXISTS collaboration_time_limits (
  collaboration_id INTEGER PRIMARY KEY REFERENCES collaborations (id),
  seconds INTEGER NOT NULL CHECK (seconds > 0)
) STRICT;
)sql",
    // Small results in the catalog (docs/audit.md, "Durability"): the bytes of a result up to
    // the service's inline limit live in its query's row, written by the transaction that ends
    // the query, instead of in a file of their own (a new inode per query is most of a small
    // query's cost on a busy server). Columns of the row, not a table of their own: the row's
    // page is written by that transaction anyway, so a small result adds no page to it.
    // result_sealed: the stored bytes (file or inline) are a sealed box (results/sealed.h).
    // Also one page less per metered query: a query's scans are kept by their primary key
    // (WITHOUT ROWID) instead of in a rowid table plus an index on that key, both written by
    // every query's commit.
    R"sql(
ALTER TABLE queries ADD COLUMN result_data BLOB;
ALTER TABLE queries ADD COLUMN result_sealed INTEGER NOT NULL DEFAULT 0
  CHECK (result_sealed IN (0, 1));
CREATE TABLE query_scans_v15 (
  query_id INTEGER NOT NULL REFERENCES queries (id),
  table_name TEXT NOT NULL,
  rows_scanned INTEGER NOT NULL CHECK (rows_scanned >= 0),
  bytes_scanned INTEGER NOT NULL CHECK (bytes_scanned >= 0),
  PRIMARY KEY (query_id, table_name)
) STRICT, WITHOUT ROWID;
INSERT INTO query_scans_v15 SELECT query_id, table_name, rows_scanned, bytes_scanned
  FROM query_scans;
DROP TABLE query_scans;
ALTER TABLE query_scans_v15 RENAME TO query_scans;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));
// The version whose migration re-chains the audit log (C++ work after its SQL).
constexpr int kAuditByCollaborationVersion = 3;
// The version that stores sources by connector (C++ work before and after its SQL).
constexpr int kSourcesByConnectorVersion = 5;

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
    PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, internal::FindCollaborationId(db, chain));
    PARLEY_ASSIGN_OR_RETURN(internal::PolicyState state,
                            internal::CurrentPolicyState(db, chain, id));
    PARLEY_RETURN_IF_ERROR(
        internal::AppendEntry(db, now, chain, "parley", "audit.migrated", details, state));
  }
  return absl::OkStatus();
}

// Schema version 5, before its SQL: which collaborations' policy states, digested as version 4
// did (file kind and location), still match their audit heads. Each gets an entry after the
// conversion recording its state in the new form; the others keep a head whose state matches
// nothing, so a catalog edited behind Parley's back before the upgrade stays refused after it.
absl::StatusOr<std::map<std::string, bool>> CheckVersion4States(sqlite3* db) {
  std::map<std::string, bool> intact;
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> chains, internal::ChainNames(db));
  for (const std::string& chain : chains) {
    if (chain.empty()) continue;
    PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, internal::FindCollaborationId(db, chain));
    internal::PolicyState state;
    if (id.has_value()) {
      PARLEY_ASSIGN_OR_RETURN(Collaboration collaboration, internal::ReadCollaboration(db, *id));
      PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates,
                              internal::ReadTemplates(db, *id));
      std::vector<Table> tables;
      PARLEY_ASSIGN_OR_RETURN(Statement rows,
                              Statement::Prepare(db,
                                                 "SELECT name, owner, kind, location, "
                                                 "source_schema, allowed_columns, rule_json FROM "
                                                 "tables WHERE collaboration_id = ?"));
      PARLEY_RETURN_IF_ERROR(rows.Bind(*id));
      bool readable = true;
      while (true) {
        PARLEY_ASSIGN_OR_RETURN(bool row, rows.Step());
        if (!row) break;
        Table table;
        table.name = rows.Text(0);
        table.owner = rows.Text(1);
        table.source_kind = "files";
        table.source_json = Json{{"format", rows.Text(2)}, {"path", rows.Text(3)}}.dump(
            -1, ' ', false, Json::error_handler_t::replace);
        absl::StatusOr<std::vector<Column>> schema = internal::ReadColumns(rows.Text(4));
        absl::StatusOr<std::vector<std::string>> allowed =
            internal::ReadStringArray(rows.Text(5), "allowed columns");
        // A record that no longer reads is a change made outside Parley, not a failed upgrade.
        if (!schema.ok() || !allowed.ok()) readable = false;
        if (!readable) break;
        table.source_schema = *std::move(schema);
        table.allowed_columns = *std::move(allowed);
        if (!rows.IsNull(6)) table.rule_json = rows.Text(6);
        tables.push_back(std::move(table));
      }
      if (!readable) {
        intact[chain] = false;
        continue;
      }
      state = internal::ComputePolicyState(collaboration, tables, templates,
                                           internal::TableDocument::kVersion4);
    }
    absl::StatusOr<std::optional<internal::PolicyState>> recorded = internal::HeadState(db, chain);
    intact[chain] =
        recorded.ok() && recorded->value_or(internal::PolicyState()).digest == state.digest;
  }
  return intact;
}

// Schema version 5, after its SQL: stores every description canonical (SQLite's json_object
// escapes some characters differently from the catalog's canonical JSON), before any state is
// digested from them.
absl::Status CanonicalizeSources(sqlite3* db) {
  std::vector<std::pair<int64_t, std::string>> sources;
  {
    PARLEY_ASSIGN_OR_RETURN(Statement rows,
                            Statement::Prepare(db, "SELECT id, source FROM tables"));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, rows.Step());
      if (!row) break;
      sources.emplace_back(rows.Int(0), rows.Text(1));
    }
  }
  for (const auto& [id, source] : sources) {
    std::optional<Json> description = ParseObject(source);
    if (!description.has_value()) continue;  // left as is: the state check reports it
    std::string canonical = description->dump(-1, ' ', false, Json::error_handler_t::replace);
    if (canonical != source) {
      PARLEY_RETURN_IF_ERROR(Write(db, "UPDATE tables SET source = ? WHERE id = ?", canonical, id));
    }
  }
  return absl::OkStatus();
}

// Schema version 5, last: appends to each collaboration's chain an entry recording the
// conversion — with the state in the new form when the state was intact before it, else with the
// state the head recorded, which still matches nothing (and the details say so).
absl::Status RecordSourcesByConnector(sqlite3* db, int64_t now,
                                      const std::map<std::string, bool>& intact) {
  for (const auto& [chain, was_intact] : intact) {
    Json details = {{"schema_version", kSourcesByConnectorVersion},
                    {"change", "table sources stored as a kind of source and its description"},
                    {"policy_state_before", was_intact ? "intact" : "changed outside Parley"}};
    internal::PolicyState state;
    if (was_intact) {
      PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id, internal::FindCollaborationId(db, chain));
      PARLEY_ASSIGN_OR_RETURN(state, internal::CurrentPolicyState(db, chain, id));
    } else {
      absl::StatusOr<std::optional<internal::PolicyState>> recorded =
          internal::HeadState(db, chain);
      // A chain whose head is broken is left alone: verification reports the head.
      if (!recorded.ok() || !recorded->has_value()) continue;
      state = **recorded;
    }
    PARLEY_RETURN_IF_ERROR(
        internal::AppendEntry(db, now, chain, "parley", "catalog.migrated", details, state));
  }
  return absl::OkStatus();
}

}  // namespace

int SchemaVersion() { return kSchemaVersion; }

namespace internal {

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
  // Catalogs whose entries already record states (version 3 with the audit chains, or 4) have
  // them checked before version 5 changes how tables are digested.
  if (version < kSchemaVersion) {
    PARLEY_RETURN_IF_ERROR(Exec(db, PARLEY_MEMBER_JOB_RUNNERS_SQL));
  }
  std::optional<std::map<std::string, bool>> version4_states;
  if (version >= kAuditByCollaborationVersion && !life_cycle_as_3 &&
      version < kSourcesByConnectorVersion) {
    PARLEY_ASSIGN_OR_RETURN(version4_states, CheckVersion4States(db));
  }
  if (life_cycle_as_3) {
    // The audit chains, then every version after the life cycle.
    PARLEY_RETURN_IF_ERROR(Exec(db, kMigrations[kAuditByCollaborationVersion - 1]));
    for (int64_t next = kAuditByCollaborationVersion + 1; next < kSchemaVersion; ++next) {
      PARLEY_RETURN_IF_ERROR(Exec(db, kMigrations[next]));
    }
    version = kAuditByCollaborationVersion - 1;
  } else {
    for (int64_t next = version; next < kSchemaVersion; ++next) {
      PARLEY_RETURN_IF_ERROR(Exec(db, kMigrations[next]));
    }
  }
  // After every SQL step, so that the policy states it records are read with the schema this
  // binary reads them with. (A new catalog has nothing to re-chain; the step costs nothing.)
  if (version < kSourcesByConnectorVersion) PARLEY_RETURN_IF_ERROR(CanonicalizeSources(db));
  if (version < kAuditByCollaborationVersion) {
    PARLEY_RETURN_IF_ERROR(MigrateAuditToCollaborationChains(db, now));
  }
  if (version4_states.has_value()) {
    PARLEY_RETURN_IF_ERROR(RecordSourcesByConnector(db, now, *version4_states));
  }
  if (version < kSchemaVersion) {
    PARLEY_RETURN_IF_ERROR(
        Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion).c_str()));
  }
  return transaction.Commit();
}

}  // namespace internal
}  // namespace parley::catalog
