// The catalog's typed records: what the store reads and writes for collaborations and members,
// tables and rules, templates, queries and the audit log. Plain values with no behaviour beyond
// the one name table of each enum; the store (catalog/store.h) checks names and integrity when
// it writes them. Split from the store so that code which only passes records around (the
// service's views, the query snapshot) does not read the store's whole interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace parley::catalog {

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
  bool can_run_jobs = false;  // the `run_jobs` ability (jobs: approved code in the sandbox)
};

// A collaboration's differential-privacy budget, per calendar month (UTC), in fixed point: ε in
// millionths, δ in units of 10^-15 (src/dp/budget.h). Set when the collaboration is created;
// nothing changes it afterwards.
struct PrivacyBudget {
  int64_t epsilon_per_period = 0;
  int64_t delta_per_period = 0;
  int64_t default_epsilon = 0;  // what a query spends unless its runner asks for another ε
  int64_t max_epsilon = 0;      // the most one query may spend
  bool operator==(const PrivacyBudget&) const = default;
};

// What was spent in one period ("2026-11"): the queries that ran against the budget.
struct PrivacySpend {
  std::string period;
  int64_t epsilon = 0;
  int64_t delta = 0;
  int64_t queries = 0;
};

// The kinds of change that, once a collaboration exists, take effect only when every active member
// has approved them (a change request): adding a member (directly, or by invitation), changing a
// member's abilities, who pays for queries, query logging, the privacy budget, and the time limit
// of its queries.
inline constexpr const char* kChangeKinds[] = {"add_member",    "abilities",      "payer",
                                               "query_logging", "privacy_budget", "time_limit"};
bool IsChangeKind(std::string_view kind);
// The longest time limit a collaboration may set for its queries, in seconds (a week).
inline constexpr int64_t kMaxTimeLimitSeconds = 7 * 24 * 3600;

// Who pays for a collaboration's queries: the member that runs each query, or one named member.
inline constexpr char kRunnerPays[] = "runner";

// Client-side column encryption (docs/formats/encrypted-columns.md): settings fixed when the
// collaboration is created. The defaults are those of a collaboration created before they existed:
// cleartext columns allowed, everything about encrypted columns at its strictest.
struct EncryptionSettings {
  bool allow_cleartext = true;
  bool allow_duplicates = false;  // repeated values in a fingerprint column
  bool allow_joins_on_columns_with_different_names = false;
  bool preserve_nulls = false;
  bool operator==(const EncryptionSettings&) const = default;
};

struct Collaboration {
  std::string name;  // unique; [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
  std::string description;
  std::string creator;  // a member name
  bool query_logging = false;
  int64_t created_at = 0;  // assigned from the clock by CreateCollaboration
  // When its creator closed it (Store::CloseCollaboration); 0 while it is open.
  int64_t closed_at = 0;
  std::vector<Member> members;
  std::optional<PrivacyBudget> privacy_budget;  // none: no table may use differential privacy
  // kRunnerPays or a member's name; changed only by change request.
  std::string payer = kRunnerPays;
  // The kinds of change (kChangeKinds) that commit as soon as they are proposed, declared by the
  // creator at creation and fixed afterwards.
  std::vector<std::string> auto_approve;
  EncryptionSettings encryption;
  // How long one of its queries may run, in seconds (the server's own limit still applies when
  // it is shorter); nullopt: only the server's. Set at creation, then by change request.
  std::optional<int64_t> time_limit_seconds;
};

// A change request's life: pending until every active member has approved it (the proposer's
// approval is implied) or one denies it, or its proposer cancels it. An approved change commits
// in the same transaction — except an invitation, which stays approved until the invitee redeems
// its code (then committed) or the proposer cancels it.
enum class ChangeStatus { kPending, kApproved, kDenied, kCommitted, kCancelled };
// "pending" | "approved" | "denied" | "committed" | "cancelled"
std::string ChangeStatusName(ChangeStatus status);
absl::StatusOr<ChangeStatus> ParseChangeStatus(std::string_view name);

// What a change request changes; only the fields of its kind are set.
struct Change {
  std::string kind;  // one of kChangeKinds
  // add_member: the member with its abilities (status kActive, or kInvited for an invitation);
  // abilities: the member's name and its new abilities.
  std::optional<Member> member;
  std::optional<std::string> payer;             // payer
  std::optional<bool> query_logging;            // query_logging
  std::optional<PrivacyBudget> privacy_budget;  // privacy_budget
  std::optional<int64_t> time_limit_seconds;    // time_limit: seconds, 0 for none
};

struct ChangeRequest {
  int64_t id = 0;  // assigned by ProposeChange, unique in the catalog
  std::string collaboration;
  Change change;
  std::string proposer;
  ChangeStatus status = ChangeStatus::kPending;
  bool auto_approved = false;  // committed at once: its kind is auto-approved
  int64_t created_at = 0;
  int64_t decided_at = 0;              // when it left pending; 0 while pending
  std::vector<std::string> approvals;  // members, in the order they approved (proposer first)
  std::vector<std::string> denials;
  std::string decided_by;  // who denied or cancelled it
};

// A URL a member subscribed to a collaboration's events, with the HMAC secret deliveries are
// signed with.
struct Webhook {
  int64_t id = 0;  // assigned by AddWebhook
  std::string collaboration;
  std::string member;
  std::string url;
  std::string secret;  // hex
  int64_t created_at = 0;
};

// A one-time code inviting an organisation into a collaboration, tied to the add_member change
// request it is redeemed for. Stored like an API token: its id and a salted hash of its secret.
struct Invitation {
  std::string id;  // 16 lowercase hex digits
  std::string collaboration;
  std::string organisation;  // the only one that may redeem it
  int64_t change_id = 0;
  std::string salt_hex;
  std::string hash_hex;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> redeemed_at;
};

// One column of a table's pinned schema. `type` is a DuckDB type name (BIGINT, VARCHAR, ...).
struct Column {
  std::string name;
  std::string type;
  // Client-side encryption, found in the cells when the table was added: "" (cleartext),
  // "fingerprint" or "sealed"; for encrypted columns the "<secret id>.<key id>" of their cells.
  std::string kind;
  std::string key_id;
};

struct Table {
  std::string collaboration;
  std::string name;   // unique within the collaboration
  std::string owner;  // member name
  // Where the rows come from: the kind of source names the connector that reads it ("files";
  // [a-z][a-z0-9_]{0,31}), and the description is that connector's JSON object (for files:
  // {"format", "path"}), validated by the connector before it is stored and stored canonical.
  // The catalog does not interpret either: it only checks their form.
  std::string source_kind;
  std::string source_json;
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

// Metering (catalog/usage.cc). What one run read of one table: rows and bytes scanned, as the
// service measured them (docs/usage.md says what "bytes" means for each kind of source).
struct TableScan {
  std::string table;
  int64_t rows = 0;
  int64_t bytes = 0;
  bool operator==(const TableScan&) const = default;
};

// A metered run: its estimate (when recorded as running) and then what it measured.
struct QueryUsage {
  int64_t estimated_bytes = 0;
  std::vector<TableScan> scans;  // by table, when finished
  int64_t duration_micros = 0;
  int64_t result_rows = 0;
  int64_t result_bytes = 0;
};

// What a member allows the queries it pays for to scan, in a collaboration; unset: no limit.
struct UsageLimits {
  std::optional<int64_t> per_query_bytes;
  std::optional<int64_t> monthly_bytes;
  bool operator==(const UsageLimits&) const = default;
};

// One metered query as the usage report reads it: who ran it, who paid, in which month (UTC),
// and what it scanned (its estimate while it runs, and for a run whose process died).
struct UsageRecord {
  int64_t query_id = 0;
  std::string runner;
  std::string payer;
  std::string period;  // "2026-11"
  int64_t created_at = 0;
  bool finished = false;
  int64_t estimated_bytes = 0;
  int64_t rows_scanned = 0;
  int64_t bytes_scanned = 0;  // the estimate until finished
  int64_t duration_micros = 0;
  int64_t result_rows = 0;
  int64_t result_bytes = 0;
};

// A table's size as its source was measured when it was added or repointed: what estimates use,
// and what members see of it in its metadata. rows < 0: not known.
struct TableSize {
  int64_t rows = -1;
  int64_t bytes = 0;
  bool operator==(const TableSize&) const = default;
};

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
  std::string result_path;          // where the result was stored as a file (empty if none)
  // A small result is kept in the catalog instead, in its query's record, written in the
  // transaction that ends the query (docs/audit.md, "Durability"). Given to FinishQuery or
  // RecordRun: `inline_result` holds the bytes (result_path is then empty). Read back by GetQuery
  // and ListQueries: `result_inline` and `inline_result_bytes` (its size) are set and
  // `inline_result` is not; GetInlineResult reads the bytes.
  std::optional<std::string> inline_result;
  bool result_inline = false;
  int64_t inline_result_bytes = 0;
  // The stored result (file or inline) is sealed to its receivers' keys (results/sealed.h).
  bool result_sealed = false;
  int64_t row_count = 0;
  std::string error;        // execution error, for kFailed
  std::string template_id;  // the analysis template run, empty for a free-form query
  int64_t created_at = 0;   // assigned from the clock by RecordQuery
  // While running: the name of the lock its process holds (see the service's RunLock); how
  // another process tells a live run from one whose process died.
  std::string run_lock;
  // A query over a table with differential privacy spends this much of the collaboration's
  // budget when it is recorded as running (ε millionths, δ 10^-15); zero for other queries.
  int64_t privacy_epsilon = 0;
  int64_t privacy_delta = 0;
  // Metering (usage.cc). Set on a query recorded as running: it is metered — its estimate is
  // checked against its payer's limits and reserved — and on the outcome given to FinishQuery:
  // what it measured. Unset on a rejected query (it spends nothing).
  std::optional<QueryUsage> usage;

  // Whether the query has a stored result, in a file or in the catalog.
  bool HasResult() const { return !result_path.empty() || result_inline; }
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

// One page of a collaboration's chain (Store::ListAuditPage). Entries are named by seq, which
// never changes once written, so a cursor stays valid while the chain grows: `after` pages
// forward (oldest first, entries with a greater seq: following it sees each new entry exactly
// once), `before` pages back (newest first, entries with a smaller seq), neither gives the newest
// `limit` entries, newest first.
struct AuditPageQuery {
  std::optional<int64_t> after;
  std::optional<int64_t> before;
  int64_t limit = 100;
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  int64_t head_seq = 0;  // the chain's newest seq when the page was read (0: empty chain)
  bool more = false;     // entries remain beyond this page, in its direction
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

// An organisation of a Parley server: it acts in collaborations as the member of its name, and
// authenticates with its API tokens. `admin`: the operator's organisation (created by the
// server's bootstrap), which may add organisations.
struct Organisation {
  std::string name;  // unique; a member name
  bool admin = false;
  int64_t created_at = 0;  // assigned from the clock
};

// An API token as the catalog stores it: never the token itself, only its id (how a presented
// token is found) and the salted hash of its secret (identity/token.h).
struct ApiToken {
  std::string id;  // 16 lowercase hex digits
  std::string organisation;
  std::string salt_hex;
  std::string hash_hex;
  int64_t created_at = 0;             // assigned from the clock
  std::optional<int64_t> revoked_at;  // set by RevokeToken / RotateToken
  bool organisation_admin = false;    // read only: the organisation's admin flag
};

// The digest of a collaboration's policy state: its settings, its members with abilities and
// status, its tables (owner, kind, location, pinned schema, allowed columns, rule text) and its
// templates (id, name, author, text, parameters). Each member, table and template is digested on
// its own, keyed by name (id), and the digest is the SHA-256 (hex) of the canonical JSON of those
// digests — so it depends on the records, not on the order they were read in, and a mismatch can
// be traced to a part. docs/audit.md gives the exact documents.
std::string PolicyStateDigest(const Collaboration& collaboration, const std::vector<Table>& tables,
                              const std::vector<AnalysisTemplate>& templates);

}  // namespace parley::catalog
