// What the store's concept files (collaborations.cc, tables.cc, templates.cc, queries.cc,
// audit_log.cc, migrations.cc) share: the store's private state, the checks of names, the
// readers of records that the policy state is computed from, and `CollaborationWrite`, the one
// way a write call begins. Internal to src/catalog.
//
// Why `CollaborationWrite`: every mutating call needs the same four steps in the same order — take
// the write lock, resolve the collaboration's row id, check that its policy state still matches
// its audit head, and after the change append an entry recording the new state — and earlier
// versions spelled them out per call, looking the collaboration up by name three or four times in
// one transaction. Here the id is resolved once and passed down to every read.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store.h"

namespace parley::catalog {

namespace internal {

// The policy records of one collaboration as last read, with their digest: what every query
// reads (Store::GetPolicySnapshot) and what every write checks against the audit head
// (CollaborationWrite::Begin). Reading and digesting them costs more than a small query's own
// catalog work, and they change rarely.
struct CachedPolicy {
  int64_t id = 0;
  std::shared_ptr<const PolicySnapshot> snapshot;  // never null
  PolicyState state;
};

// The cache is valid while no other connection has committed to the catalog — SQLite's
// `PRAGMA data_version` changes exactly then (another process, the sqlite3 shell, a second Store)
// — and this connection has committed no policy change (CollaborationWrite clears it when an
// action changes the policy). So an edit of the catalog from outside is read, digested and
// compared with the audit head by the next action, as without a cache.
struct PolicyCache {
  int64_t data_version = -1;
  // Policy changes this connection committed (Store::PolicyVersion).
  int64_t own_policy_commits = 0;
  std::map<std::string, CachedPolicy, std::less<>> entries;
};

// Small records every query reads and that change rarely: the live webhooks of each collaboration
// (two lookups a query, one when it is submitted and one when it ends) and the members' public
// keys (one lookup a query, to decide whether its result is sealed). Valid while no other
// connection has committed (`PRAGMA data_version`, as for PolicyCache); this connection's own
// writes of those records (AddWebhook, RemoveWebhook, SetMemberKey) empty the part they change
// before they write, and every synced commit (policy changes, limits, terms) empties it all.
struct QueryReadCache {
  int64_t data_version = -1;
  std::map<std::string, std::vector<Webhook>, std::less<>> webhooks;  // by collaboration
  // By member; nullopt for a member known to have no key.
  std::map<std::string, std::optional<std::string>, std::less<>> member_keys;
  // By "collaboration\nrunner": whether the payer of the runner's queries has a scan limit.
  std::map<std::string, bool, std::less<>> limited_payers;
  // Collaborations whose policy state was found to match their audit head at this version.
  std::set<std::string, std::less<>> intact;
};

// How far a write transaction's commit must reach before it returns (the catalog is in WAL
// mode; docs/audit.md, "Durability").
enum class Durability {
  // synchronous=FULL: the WAL is fsynced at commit; the change survives a power loss.
  kSynced,
  // synchronous=NORMAL: the commit is written to the WAL (atomic, in the operating system's
  // cache) without an fsync; it survives a crash or kill of the process, and a power loss or
  // operating system crash may undo it together with the commits after it (never a part of a
  // commit). The next kSynced commit or checkpoint makes it durable.
  kWritten,
};

}  // namespace internal

struct Store::Impl {
  internal::DatabaseHandle db;
  Clock clock;
  std::string path;
  internal::PolicyCache policy_cache;
  internal::QueryReadCache read_cache;
  // The connection's `PRAGMA synchronous` now (set per write transaction).
  internal::Durability durability = internal::Durability::kSynced;

  sqlite3* handle() const { return db.get(); }
};

namespace internal {

// Sets `PRAGMA synchronous` for the next write transaction (outside any transaction).
absl::Status SetDurability(Store::Impl& impl, Durability durability);

// PRAGMA data_version: changes when another connection has committed.
absl::StatusOr<int64_t> DataVersion(sqlite3* db);

// Empties the policy cache when another connection has committed since it was filled. Must run
// inside a transaction, before the cache is read.
absl::Status RefreshPolicyCache(Store::Impl& impl);

// Empties the query read cache when another connection has committed since it was filled.
absl::Status RefreshQueryReadCache(Store::Impl& impl);

// The cached policy of `collaboration` (after RefreshPolicyCache), nullptr when not cached.
const CachedPolicy* FindCachedPolicy(Store::Impl& impl, std::string_view collaboration);

// fsyncs the catalog's write-ahead log: every commit so far, kWritten ones included, then
// survives a power loss. Verification calls it before it reports a head, so that a head a member
// notes is never undone by a power loss.
absl::Status SyncWriteAheadLog(const Store::Impl& impl);

// Reads the policy of the collaboration with row id `id` and caches it.
absl::StatusOr<const CachedPolicy*> LoadPolicy(Store::Impl& impl, std::string_view collaboration,
                                               int64_t id);

// --- Names ------------------------------------------------------------------------------------

// Collaboration and member names; InvalidArgument naming `what` and the bad name.
absl::Status CheckPartyName(std::string_view what, std::string_view name);
// Table names: lower-case SQL identifiers.
absl::Status CheckTableName(std::string_view name);

absl::Status CollaborationNotFound(std::string_view name);

// --- JSON columns -----------------------------------------------------------------------------

Json StringArray(const std::vector<std::string>& values);
// Internal ("stored ... is corrupt") for text that is not an array of strings.
absl::StatusOr<std::vector<std::string>> ReadStringArray(std::string_view text,
                                                         std::string_view what);

// --- Readers (each in its concept's file), all inside the caller's transaction ----------------

absl::StatusOr<std::optional<int64_t>> FindCollaborationId(sqlite3* db, std::string_view name);
// NotFound when the collaboration has no record.
absl::StatusOr<int64_t> CollaborationId(sqlite3* db, std::string_view name);
// Gives or takes the `run_jobs` ability (the member_job_runners table, collaborations.cc).
absl::Status SetRunJobs(sqlite3* db, int64_t collaboration_id, const std::string& member,
                        bool can_run_jobs);
absl::StatusOr<Collaboration> ReadCollaboration(sqlite3* db, int64_t collaboration_id);
// NotFound naming the member and the collaboration.
absl::StatusOr<Member> GetMember(sqlite3* db, int64_t collaboration_id,
                                 std::string_view collaboration, std::string_view name);
// A pinned schema as stored: [{"name", "type"}, ...]; Internal when corrupt.
absl::StatusOr<std::vector<Column>> ReadColumns(std::string_view text);
// A column of a stored source schema: name and type, and kind and key id for encrypted columns.
Json ColumnJson(const Column& column);
absl::StatusOr<std::vector<Table>> ReadTables(sqlite3* db, int64_t collaboration_id);
absl::StatusOr<std::vector<AnalysisTemplate>> ReadTemplates(sqlite3* db, int64_t collaboration_id);

// The collaboration's privacy budget, if it has one (privacy_budget.cc).
absl::StatusOr<std::optional<PrivacyBudget>> ReadPrivacyBudget(sqlite3* db,
                                                               int64_t collaboration_id);
absl::Status WritePrivacyBudget(sqlite3* db, int64_t collaboration_id, const PrivacyBudget& budget);
// Spends `query`'s privacy loss against its collaboration's budget for the month of `now`, as
// Store::RecordQuery documents, inside the caller's write transaction.
absl::Status SpendPrivacy(sqlite3* db, int64_t collaboration_id, std::string_view collaboration,
                          int64_t query_id, const QueryRecord& query, int64_t now);

// The period budgets and usage count against: the calendar month (UTC) of `now`, "2026-11"
// (privacy_budget.cc).
std::string PeriodOf(int64_t now);
// Metering (usage.cc), inside the caller's write transaction. MeterQuery: a query recorded as
// running (`query_id`) is charged to the collaboration's payer now in force (its runner when the
// runner pays): its estimate — the sizes recorded for the tables it reads — is checked against
// the payer's limits (ResourceExhausted, with the estimate, when over either; nothing is written)
// and reserved for the month. FinishUsage records what the run measured.
// With `enforce_limits` false the limits are not checked (a run already made: recorded in one
// write after it ran, or found killed), only the payer charged.
absl::Status MeterQuery(sqlite3* db, int64_t collaboration_id, int64_t query_id,
                        const QueryRecord& query, int64_t now, bool enforce_limits = true);
// Whether the payer of `runner`'s queries in the collaboration (ReadTerms) has a scan limit.
absl::StatusOr<bool> PayerHasLimits(sqlite3* db, int64_t collaboration_id, std::string_view runner);
absl::Status FinishUsage(sqlite3* db, int64_t query_id, const QueryUsage& usage);

// A collaboration's terms (payer, auto-approved kinds) into `collaboration`; the defaults when
// it has no row (or, during the migrations of older catalogs, no table yet). WriteTerms checks
// them: InvalidArgument for an unknown kind or a payer that is not "runner" or a listed member
// (changes.cc).
absl::Status ReadTerms(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration);
absl::Status WriteTerms(sqlite3* db, int64_t collaboration_id, const Collaboration& collaboration);
// A collaboration's time limit into `collaboration` (none when it has no row or the catalog no
// table yet); WriteTimeLimit sets it (seconds > 0) or, with nullopt, clears it (time_limits.cc).
absl::Status ReadTimeLimit(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration);
absl::Status WriteTimeLimit(sqlite3* db, int64_t collaboration_id, std::optional<int64_t> seconds);
// A collaboration's encryption settings into `collaboration` (the defaults when it has no row or
// the catalog no table yet); written once, at creation (encryption.cc).
absl::Status ReadEncryption(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration);
absl::Status WriteEncryption(sqlite3* db, int64_t collaboration_id,
                             const Collaboration& collaboration);

// --- Policy state -----------------------------------------------------------------------------

// The collaboration's records and their digest (with the parts in `state` when given).
absl::StatusOr<PolicySnapshot> ReadPolicySnapshot(sqlite3* db, int64_t collaboration_id,
                                                  PolicyState* state = nullptr);

// The policy state an audit entry of `collaboration` records: empty for catalog-wide entries
// ("") and for a collaboration without a record (`id` nullopt).
absl::StatusOr<PolicyState> CurrentPolicyState(sqlite3* db, std::string_view collaboration,
                                               std::optional<int64_t> id);

// Every mutating call checks this first, inside its write transaction: the policy state must
// still be the one the collaboration's audit head records. Otherwise someone changed the catalog
// without Parley; acting now would run queries under rules nobody set through Parley, and the
// entry appended would record the edited state as if Parley had made it, hiding the edit.
// FailedPrecondition naming what changed. `current`, when given, receives the state.
absl::Status CheckStateMatchesAudit(sqlite3* db, std::string_view collaboration,
                                    std::optional<int64_t> id, PolicyState* current = nullptr);
// The same check for a state already read (or the error met reading it).
absl::Status CheckStateAgainstHead(sqlite3* db, std::string_view collaboration,
                                   const absl::StatusOr<PolicyState>& state,
                                   PolicyState* current = nullptr);

// --- Schema ---------------------------------------------------------------------------------

// Applies the pending schema migrations in one write transaction (migrations.cc).
// FailedPrecondition for a catalog newer than this binary.
absl::Status ApplyMigrations(sqlite3* db, int64_t now);

// --- One write call ---------------------------------------------------------------------------

// Whether the action of a write changes the policy state (so the entry must record a state read
// after the change) or not (the state checked at Begin is the state it records, saving a read).
enum class PolicyEffect { kChangesPolicy, kKeepsPolicy };

// One write call on one collaboration (or on the catalog-wide chain, name ""): a write
// transaction (BEGIN IMMEDIATE, see Transaction), the collaboration's id resolved once, its state
// checked against its audit head, then the change, one audit entry and the commit. Destroying it
// without Commit rolls everything back. The state checked comes from the policy cache when no
// other connection has written since it was read (PolicyCache); the head is read every time.
class CollaborationWrite {
 public:
  // Begins the transaction and checks the state (FailedPrecondition when changed outside
  // Parley). With `must_exist`, NotFound for a collaboration without a record — after the state
  // check, so a collaboration whose record was deleted behind Parley's back reads as tampered.
  // Policy changes are kSynced; only records of queries may be kWritten.
  static absl::StatusOr<CollaborationWrite> Begin(Store::Impl& impl, std::string_view collaboration,
                                                  bool must_exist = true,
                                                  Durability durability = Durability::kSynced);

  sqlite3* db() const { return db_; }
  int64_t now() const { return now_; }
  const std::string& name() const { return name_; }
  // The collaboration's row id; only valid when it exists (or after SetId).
  int64_t id() const { return id_.value_or(0); }
  bool exists() const { return id_.has_value(); }
  // For CreateCollaboration, once the row is inserted.
  void SetId(int64_t id) { id_ = id; }
  // The state checked at Begin (the state before the change).
  const PolicyState& checked_state() const { return checked_; }
  // When the collaboration was closed, as read at Begin (0: open, or no collaboration).
  int64_t closed_at() const { return closed_at_; }
  // FailedPrecondition naming the collaboration when it is closed: a closed collaboration takes
  // no policy change (Append refuses those by itself) and no new query (RecordQuery asks).
  absl::Status RequireOpen() const;

  // Appends the entry recording this action, with the state after it. A policy change in a
  // closed collaboration is refused (RequireOpen) and rolled back with the transaction.
  absl::Status Append(std::string_view actor, std::string_view action, const Json& details,
                      PolicyEffect effect);
  absl::Status Commit();

 private:
  CollaborationWrite(Store::Impl* impl, int64_t now, std::string name, Transaction transaction)
      : impl_(impl),
        db_(impl->handle()),
        now_(now),
        name_(std::move(name)),
        transaction_(std::move(transaction)) {}

  Store::Impl* impl_;
  bool changes_policy_ = false;
  sqlite3* db_;
  int64_t now_;
  std::string name_;
  Transaction transaction_;
  std::optional<int64_t> id_;
  PolicyState checked_;
  int64_t closed_at_ = 0;
};

// The message every refusal in a closed collaboration carries (the service says the same).
absl::Status CollaborationClosed(std::string_view collaboration);
// Store::AddMember inside `write` (the commit of an add_member change request); `extra` joins the
// "member.add" entry's details (collaborations.cc).
absl::Status AddMemberIn(CollaborationWrite& write, const Member& member, const std::string& actor,
                         const Json& extra);

}  // namespace internal
}  // namespace parley::catalog
