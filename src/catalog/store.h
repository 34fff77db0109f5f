// The catalog: everything Parley remembers about collaborations, members, tables, analysis
// rules, queries and the audit log, in one SQLite file (WAL mode) under the home directory.
//
// The store is a plain record keeper: it checks integrity (unique names, foreign keys) but not
// permissions — the service layer decides who may do what. Every mutating call appends an audit
// entry in the same SQLite transaction, so a change and its audit record land together or not
// at all. Each entry also records the digest of its collaboration's policy state after the
// change, and every mutating call first checks that the state still matches the one its
// collaboration's audit head records: a catalog whose members, tables, rules or templates were
// edited behind Parley's back (with the sqlite3 shell, say) is refused with FailedPrecondition
// until it is restored, instead of the next action laundering the edit into the log.
//
//   PARLEY_ASSIGN_OR_RETURN(auto store,
//                           catalog::Store::Open("/home/me/.parley/catalog.db", clock));
//   PARLEY_RETURN_IF_ERROR(store->CreateCollaboration(
//       {.name = "campaign", .creator = "retailer", .members = {{.name = "retailer"}}}));
//
// Thread safety: a Store is used by one thread at a time (the CLI is single-threaded; the
// server will hold one Store per request or serialise access).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace parley::catalog {

// Seconds since the Unix epoch, injectable so tests are deterministic.
using Clock = std::function<int64_t()>;
int64_t SystemClockSeconds();

// The catalog schema version this binary creates and understands (PRAGMA user_version).
int SchemaVersion();

// Names. Collaboration and member names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. Table names are SQL
// identifiers in lower case: [a-z_][a-z0-9_]{0,62}. The store rejects anything else with
// InvalidArgument naming the bad name.

enum class MemberStatus { kInvited, kActive, kLeft, kRemoved };
std::string MemberStatusName(MemberStatus status);  // "invited" | "active" | "left" | "removed"
// The inverse of MemberStatusName; InvalidArgument for any other text.
absl::StatusOr<MemberStatus> ParseMemberStatus(std::string_view name);

struct Member {
  std::string name;
  bool can_query = false;
  bool can_receive = false;
  MemberStatus status = MemberStatus::kActive;
};

struct Collaboration {
  std::string name;  // unique; [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
  std::string description;
  std::string creator;  // a member name
  bool query_logging = false;
  int64_t created_at = 0;  // assigned from the clock by CreateCollaboration
  std::vector<Member> members;
};

// One column of a table's pinned schema. `type` is a DuckDB type name (BIGINT, VARCHAR, ...).
struct Column {
  std::string name;
  std::string type;
};

enum class SourceKind { kCsv, kParquet };
std::string SourceKindName(SourceKind kind);  // "csv" | "parquet"
absl::StatusOr<SourceKind> ParseSourceKind(std::string_view name);

struct Table {
  std::string collaboration;
  std::string name;   // unique within the collaboration
  std::string owner;  // member name
  SourceKind kind = SourceKind::kCsv;
  std::string location;                      // absolute path or glob
  std::vector<Column> source_schema;         // every column of the source, pinned when added
  std::vector<std::string> allowed_columns;  // subset of source_schema names, in that order
  std::optional<std::string> rule_json;      // the analysis rule document, canonical JSON
  int64_t created_at = 0;                    // assigned from the clock by AddTable
};

// A query's life: rejected when checked (nothing runs); otherwise running from just before it
// executes until it ends succeeded, failed (an error, including a memory limit), cancelled (its
// time limit interrupted it) or killed (its process died while it ran: see MarkKilledQueries).
enum class QueryStatus { kRejected, kSucceeded, kFailed, kRunning, kCancelled, kKilled };
// "rejected" | "succeeded" | "failed" | "running" | "cancelled" | "killed"
std::string QueryStatusName(QueryStatus status);
absl::StatusOr<QueryStatus> ParseQueryStatus(std::string_view name);

struct QueryRecord {
  int64_t id = 0;  // assigned by RecordQuery
  std::string collaboration;
  std::string runner;
  std::string sql;  // the text the runner submitted
  QueryStatus status = QueryStatus::kRejected;
  std::string verdict_json;  // violations, or empty for an allowed query
  std::string rendered_sql;  // what the engine ran (empty when rejected)
  std::vector<std::string> receivers;
  std::vector<std::string> tables;  // names of the tables the query touched
  std::string result_path;          // where the result was stored (empty if none)
  int64_t row_count = 0;
  std::string error;        // execution error, for kFailed
  std::string template_id;  // the analysis template run, empty for a free-form query
  int64_t created_at = 0;   // assigned from the clock by RecordQuery
  // While running: the name of the lock its process holds (see the service's RunLock); how
  // another process tells a live run from one whose process died.
  std::string run_lock;
};

// A file as the operating system identifies it, whatever path, link or glob names it:
// (device, inode).
using FileIdentity = std::pair<uint64_t, uint64_t>;

// An analysis template as stored: its id is the SHA-256 of its canonical content, computed and
// checked by the service (which also defines the parameters' JSON form). Templates are immutable:
// there is no update, so a changed template is a new id that owners have not approved.
struct AnalysisTemplate {
  std::string id;  // 64 lowercase hex characters
  std::string collaboration;
  std::string name;
  std::string author;           // member name; set from the actor by CreateTemplate
  std::string sql;              // with :name parameters
  std::string parameters_json;  // canonical JSON array of {name, type, default}
  int64_t created_at = 0;       // assigned from the clock by CreateTemplate
};

// One entry of a collaboration's audit chain. Each collaboration has its own chain (and the
// catalog-wide actions, collaboration "", another): an entry links to the previous entry of the
// same collaboration, so a member verifies its room without reading any other room's entries.
struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3, ... within its chain
  int64_t time = 0;
  std::string collaboration;  // may be empty for catalog-wide actions
  std::string actor;          // member name ("parley" for entries the catalog writes itself)
  std::string action;         // e.g. "collaboration.create", "query.run"
  std::string details_json;   // canonical JSON object, metadata only, never data values
  std::string prev_hash;      // hex SHA-256 of the chain's previous entry, 64 zeros for its first
  std::string hash;           // hex SHA-256 over prev_hash and this entry's fields
  // The collaboration's policy state just after the action (PolicyStateDigest): "" for
  // catalog-wide entries and for entries written before schema version 3, whose state was not
  // recorded (see docs/audit.md).
  std::string state_sha256;
};

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;  // entries that verified (all of them when ok, those before the problem
                        // otherwise)
  std::string problem;  // when !ok: which entry (seq) fails and how (edited, reordered, missing),
                        // or that the policy state was changed outside Parley
  // When ok: the hash of the last entry of each chain verified, by collaboration ("" names the
  // catalog-wide chain); 64 zeros for a collaboration whose chain is empty. Members compare a
  // head out of band to detect a log truncated or rewritten behind their back.
  std::map<std::string, std::string> heads;
  // Set by the service for --expect-head: the entry whose hash is the expected head, and how many
  // entries the chain has after it (0 when the expected head is the current head).
  int64_t expected_head_seq = 0;
  int64_t entries_after_expected_head = 0;
};

// What decides the queries of a collaboration, read in one transaction: the collaboration with
// its members, its tables (sources, pinned schemas, allowed columns, rules with their template
// approvals) and the digest of that state together with its templates. A query checked against
// a snapshot is released only if the digest is unchanged when its result is recorded.
struct PolicySnapshot {
  Collaboration collaboration;
  std::vector<Table> tables;  // ordered by name
  std::string digest;         // PolicyStateDigest
};

// The outcome of finishing a query whose result is about to be released (FinishQuery).
struct Delivery {
  // The collaboration's policy state differed from the one the query was checked against: the
  // query was recorded as failed with kPolicyChangedError and no result.
  bool policy_changed = false;
};

// The error recorded for a query whose policy changed while it ran.
inline constexpr const char* kPolicyChangedError = "policy changed during the run";

// The digest of a collaboration's policy state: its settings, its members with abilities and
// status, its tables (owner, kind, location, pinned schema, allowed columns, rule text) and its
// templates (id, name, author, text, parameters). Each member, table and template is digested on
// its own, keyed by name (id), and the digest is the SHA-256 (hex) of the canonical JSON of those
// digests — so it depends on the records, not on the order they were read in, and a mismatch can
// be traced to a part. docs/audit.md gives the exact documents.
std::string PolicyStateDigest(const Collaboration& collaboration, const std::vector<Table>& tables,
                              const std::vector<AnalysisTemplate>& templates);

class Store {
 public:
  // Opens (creating if absent) the catalog at `path`, applies pending schema migrations.
  // Errors: Internal for SQLite failures; FailedPrecondition when the file's schema version is
  // newer than this binary knows. An empty `clock` means SystemClockSeconds.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, Clock clock);
  ~Store();

  // Collaborations. Create fails with AlreadyExists for a taken name; the creator becomes an
  // active member with the abilities given in `collaboration.members` (it must be listed there,
  // once, else InvalidArgument) and is the actor of the "collaboration.create" audit entry.
  // ListCollaborations orders by name; members come in the order they were added.
  absl::Status CreateCollaboration(const Collaboration& collaboration);
  absl::StatusOr<Collaboration> GetCollaboration(const std::string& name);  // NotFound
  absl::StatusOr<std::vector<Collaboration>> ListCollaborations();
  // The collaboration, its tables and its policy digest from one read transaction (NotFound).
  absl::StatusOr<PolicySnapshot> GetPolicySnapshot(const std::string& name);

  // Members: AlreadyExists / NotFound.
  absl::Status AddMember(const std::string& collaboration, const Member& member,
                         const std::string& actor);
  absl::Status SetMemberStatus(const std::string& collaboration, const std::string& member,
                               MemberStatus status, const std::string& actor);

  // Tables: AlreadyExists / NotFound (collaboration, owner or table). InvalidArgument for a bad
  // name, an allowed column missing from `source_schema`, a duplicate column, or a rule that is
  // not a JSON object. Rules are stored canonicalised (keys sorted, no whitespace); the store
  // does not judge their content. `SetRule` replaces the rule (audit records old and new rule
  // hashes). ListTables orders by name.
  //
  // `files` are the files the table reads now. Each is claimed for the table's owner in the same
  // write transaction as the insert: a file already claimed by another member (under the same
  // member name in any collaboration counts as the same member) is PermissionDenied and nothing
  // is written. Two registrations of one file by different members, even from two processes at
  // the same moment, therefore cannot both succeed.
  absl::Status AddTable(const Table& table, const std::string& actor,
                        const std::vector<FileIdentity>& files = {});
  // Every claimed file with the member who claimed it.
  absl::StatusOr<std::map<FileIdentity, std::string>> ListFileClaims();
  absl::StatusOr<Table> GetTable(const std::string& collaboration, const std::string& name);
  absl::StatusOr<std::vector<Table>> ListTables(const std::string& collaboration);
  absl::Status SetRule(const std::string& collaboration, const std::string& table,
                       const std::string& rule_json, const std::string& actor);

  // Queries. RecordQuery assigns and returns the id (unique over the catalog) and appends an
  // audit entry: "query.rejected", "query.started" (kRunning), "query.killed", or
  // "query.finished" for the other statuses; the runner must be a member (NotFound). The audit
  // details name the query, its tables, receivers and template — never its status beyond that
  // action, its row count or its error: the log is read by every member, and whether a run
  // succeeded (and how many rows it gave) is for its receivers only. The query record keeps
  // them; the service shows them to whom it may. GetQuery answers NotFound for an id that
  // belongs to another collaboration. ListQueries orders by id. The service records rejected
  // and running queries this way; an outcome it releases goes through FinishQuery, which checks
  // the policy.
  //
  // `submitted_details`, when given, is a JSON object appended first as the runner's
  // "query.submitted" entry in the same write transaction: the service records a submission and
  // its verdict (rejected, or running before it executes) with one durable write instead of two.
  // InvalidArgument when it is not a JSON object.
  absl::StatusOr<int64_t> RecordQuery(
      const QueryRecord& query, const std::optional<std::string>& submitted_details = std::nullopt);
  // Ends a running query with `outcome`'s status (succeeded, failed or cancelled), row count,
  // error and result path, audited as "query.finished" with its id — but only as given if the
  // collaboration's policy digest is still `checked_policy` (PolicySnapshot::digest when the
  // query was checked). Otherwise, in the same transaction, the query ends failed with
  // kPolicyChangedError, no result and row count 0, and its audit entry adds
  // "policy_changed": true (Delivery::policy_changed). FailedPrecondition when the query is not
  // running (for instance it was already marked killed).
  absl::StatusOr<Delivery> FinishQuery(const std::string& collaboration, int64_t id,
                                       const QueryRecord& outcome,
                                       const std::string& checked_policy);
  // Marks killed every running query for which `abandoned` answers true (its process is gone),
  // each audited as "query.killed"; returns their ids. Reads first and takes the write lock only
  // when there is something to mark. A query of a collaboration changed outside Parley (see
  // above) is left running: nothing is appended to its chain until the catalog is restored.
  absl::StatusOr<std::vector<int64_t>> MarkKilledQueries(
      const std::function<bool(const QueryRecord&)>& abandoned);
  absl::StatusOr<QueryRecord> GetQuery(const std::string& collaboration, int64_t id);
  absl::StatusOr<std::vector<QueryRecord>> ListQueries(const std::string& collaboration);

  // Analysis templates. CreateTemplate: AlreadyExists for the same id in the collaboration,
  // NotFound when the author is not a member; audited as "template.create". GetTemplate takes a
  // full id or a unique prefix (InvalidArgument when ambiguous, NotFound when none matches).
  absl::Status CreateTemplate(const AnalysisTemplate& analysis, const std::string& actor);
  absl::StatusOr<AnalysisTemplate> GetTemplate(const std::string& collaboration,
                                               const std::string& id_or_prefix);
  absl::StatusOr<std::vector<AnalysisTemplate>> ListTemplates(const std::string& collaboration);

  // Audit log: append-only, one hash chain per collaboration (and one for catalog-wide
  // actions); ListAudit returns entries in the order they were written. Append is used by the
  // service for actions that do not change other records (e.g. "query.submitted"); `collaboration`
  // may be empty for catalog-wide actions, `details_json` must be a JSON object (empty means {})
  // and is stored canonicalised. ListAudit("") lists every entry; otherwise the entries of one
  // collaboration (NotFound if it does not exist). An entry's hash is
  //   Sha256Hex(prev_hash + "\n" + canonical JSON of
  //             {"action","actor","collaboration","details","seq","state","time"})
  // with `details` embedded as a JSON object and `state` the entry's state_sha256, so any member
  // can recompute its collaboration's chain.
  absl::Status AppendAudit(const std::string& collaboration, const std::string& actor,
                           const std::string& action, const std::string& details_json);
  absl::StatusOr<std::vector<AuditEntry>> ListAudit(const std::string& collaboration);
  // Recomputes one collaboration's chain (NotFound if it has neither a record nor a log) and
  // reports the first edited, reordered or deleted entry (a deleted tail is detected against the
  // head recorded separately), or a policy state that no longer matches the head's digest. With
  // `expected_head` (lowercase hex), the verified chain must also contain that hash — as its
  // head or followed by newer entries (expected_head_seq, entries_after_expected_head) — else
  // the log was cut back or rewritten since the head was noted.
  absl::StatusOr<AuditVerification> VerifyAudit(const std::string& collaboration,
                                                const std::string& expected_head = "");
  // Every chain of the catalog; a problem names its collaboration.
  absl::StatusOr<AuditVerification> VerifyAudit();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::catalog
