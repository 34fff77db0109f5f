// The store's core: opening a catalog, the name tables of its enums, the checks of names, and
// the policy-state check every write begins with (CollaborationWrite). The calls on each concept
// live in their own file: collaborations.cc (collaborations and members), tables.cc (tables,
// rules and file claims), templates.cc, queries.cc (queries and their results), audit_log.cc,
// and migrations.cc.
#include "catalog/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store_impl.h"
#include "crypto/sha256.h"

namespace parley::catalog {
namespace internal {
namespace {

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
}  // namespace

absl::Status CheckPartyName(std::string_view what, std::string_view name) {
  if (IsPartyName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid ", std::string(what), " name ", Quote(name),
                   ": use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or "
                   "digit"));
}

absl::Status CheckTableName(std::string_view name) {
  if (IsTableName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid table name ", Quote(name),
                   ": use 1 to 63 lower-case letters, digits or '_', not starting with a digit"));
}

absl::Status CollaborationNotFound(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("collaboration ", Quote(name), " not found"));
}

Json StringArray(const std::vector<std::string>& values) {
  Json array = Json::array();
  for (const std::string& value : values) array.push_back(value);
  return array;
}

absl::StatusOr<std::vector<std::string>> ReadStringArray(std::string_view text,
                                                         std::string_view what) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  absl::Status corrupt =
      absl::InternalError(absl::StrCat("catalog: stored ", std::string(what), " is corrupt"));
  if (value.is_discarded() || !value.is_array()) return corrupt;
  std::vector<std::string> result;
  for (const Json& item : value) {
    if (!item.is_string()) return corrupt;
    result.push_back(item.get<std::string>());
  }
  return result;
}

// --- Prepared statements ----------------------------------------------------------------------

namespace {

struct StatementRegistry {
  std::mutex mutex;
  // By connection, then by SQL text. Node-based maps: an Entry's address is stable while cached.
  std::unordered_map<sqlite3*, std::unordered_map<std::string, StatementCache::Entry>> caches;
};

StatementRegistry& Registry() {
  static auto* registry = new StatementRegistry();
  return *registry;
}

}  // namespace

absl::StatusOr<StatementCache::Entry*> StatementCache::Take(sqlite3* db, std::string_view sql) {
  StatementRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto& cache = registry.caches[db];
  auto found = cache.find(std::string(sql));
  if (found != cache.end()) {
    if (found->second.in_use) return nullptr;
    found->second.in_use = true;
    return &found->second;
  }
  if (cache.size() >= kMaxCachedStatements) return nullptr;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteError(db, "preparing a statement");
  }
  // Text without a statement (a comment) prepares to nothing; nothing to cache.
  if (raw == nullptr) return nullptr;
  Entry& entry = cache[std::string(sql)];
  entry.statement = raw;
  entry.in_use = true;
  return &entry;
}

void StatementCache::Release(Entry* entry) {
  // Outside the registry's lock: only the thread holding the connection touches its statements.
  sqlite3_reset(entry->statement);
  sqlite3_clear_bindings(entry->statement);
  StatementRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  entry->in_use = false;
}

void StatementCache::Forget(sqlite3* db) {
  StatementRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto found = registry.caches.find(db);
  if (found == registry.caches.end()) return;
  for (auto& [sql, entry] : found->second) sqlite3_finalize(entry.statement);
  registry.caches.erase(found);
}

size_t StatementCache::CachedCount(sqlite3* db) {
  StatementRegistry& registry = Registry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto found = registry.caches.find(db);
  return found == registry.caches.end() ? 0 : found->second.size();
}

// --- Policy state -----------------------------------------------------------------------------

absl::StatusOr<PolicySnapshot> ReadPolicySnapshot(sqlite3* db, int64_t collaboration_id,
                                                  PolicyState* state) {
  PolicySnapshot snapshot;
  PARLEY_ASSIGN_OR_RETURN(snapshot.collaboration, ReadCollaboration(db, collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(snapshot.tables, ReadTables(db, collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates,
                          ReadTemplates(db, collaboration_id));
  PolicyState computed = ComputePolicyState(snapshot.collaboration, snapshot.tables, templates);
  snapshot.digest = computed.digest;
  if (state != nullptr) *state = std::move(computed);
  return snapshot;
}

absl::StatusOr<PolicyState> CurrentPolicyState(sqlite3* db, std::string_view collaboration,
                                               std::optional<int64_t> id) {
  PolicyState state;
  if (collaboration.empty() || !id.has_value()) return state;
  PARLEY_RETURN_IF_ERROR(ReadPolicySnapshot(db, *id, &state).status());
  return state;
}

absl::Status CheckStateMatchesAudit(sqlite3* db, std::string_view collaboration,
                                    std::optional<int64_t> id, PolicyState* current) {
  if (collaboration.empty()) return absl::OkStatus();
  return CheckStateAgainstHead(db, collaboration, CurrentPolicyState(db, collaboration, id),
                               current);
}

absl::Status CheckStateAgainstHead(sqlite3* db, std::string_view collaboration,
                                   const absl::StatusOr<PolicyState>& state, PolicyState* current) {
  if (collaboration.empty()) return absl::OkStatus();
  absl::StatusOr<std::optional<PolicyState>> recorded = HeadState(db, collaboration);
  if (state.ok() && recorded.ok() && state->digest == recorded->value_or(PolicyState()).digest) {
    if (current != nullptr) *current = *state;
    return absl::OkStatus();
  }
  if (!recorded.ok() && !absl::IsFailedPrecondition(recorded.status())) return recorded.status();
  std::string what;
  if (state.ok() && recorded.ok() && recorded->has_value() &&
      crypto::Sha256Hex((*recorded)->parts) == (*recorded)->digest) {
    what = DescribeStateChange((*recorded)->parts, state->parts);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("collaboration ", Quote(collaboration), " was changed outside Parley",
                   what.empty() ? "" : absl::StrCat(" (", what, ")"),
                   ": its catalog records no longer match its audit log, so "
                   "nothing can change or run in it until the catalog is restored"));
}

// --- Policy cache and durability --------------------------------------------------------------

absl::Status SetDurability(Store::Impl& impl, Durability durability) {
  if (impl.durability == durability) return absl::OkStatus();
  PARLEY_RETURN_IF_ERROR(Exec(impl.handle(), durability == Durability::kSynced
                                                 ? "PRAGMA synchronous = FULL"
                                                 : "PRAGMA synchronous = NORMAL"));
  impl.durability = durability;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> DataVersion(sqlite3* db) {
  PARLEY_ASSIGN_OR_RETURN(Statement version, Statement::Prepare(db, "PRAGMA data_version"));
  PARLEY_ASSIGN_OR_RETURN(bool has_row, version.Step());
  if (!has_row) return absl::InternalError("catalog: PRAGMA data_version returned nothing");
  return version.Int(0);
}

absl::Status RefreshPolicyCache(Store::Impl& impl) {
  PARLEY_ASSIGN_OR_RETURN(int64_t now, DataVersion(impl.handle()));
  if (now != impl.policy_cache.data_version) {
    impl.policy_cache.entries.clear();
    impl.policy_cache.data_version = now;
  }
  return absl::OkStatus();
}

absl::Status RefreshQueryReadCache(Store::Impl& impl) {
  PARLEY_ASSIGN_OR_RETURN(int64_t now, DataVersion(impl.handle()));
  if (now != impl.read_cache.data_version) {
    impl.read_cache.webhooks.clear();
    impl.read_cache.member_keys.clear();
    impl.read_cache.limited_payers.clear();
    impl.read_cache.intact.clear();
    impl.read_cache.data_version = now;
  }
  return absl::OkStatus();
}

absl::Status SyncWriteAheadLog(const Store::Impl& impl) {
  std::string log = impl.path + "-wal";
  int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // No log: every commit is in the database file, which checkpoints fsync.
    if (errno == ENOENT) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("catalog: cannot open ", log));
  }
  bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return absl::InternalError(absl::StrCat("catalog: cannot sync ", log));
  return absl::OkStatus();
}

const CachedPolicy* FindCachedPolicy(Store::Impl& impl, std::string_view collaboration) {
  auto found = impl.policy_cache.entries.find(collaboration);
  return found == impl.policy_cache.entries.end() ? nullptr : &found->second;
}

absl::StatusOr<const CachedPolicy*> LoadPolicy(Store::Impl& impl, std::string_view collaboration,
                                               int64_t id) {
  CachedPolicy policy;
  policy.id = id;
  PARLEY_ASSIGN_OR_RETURN(PolicySnapshot snapshot,
                          ReadPolicySnapshot(impl.handle(), id, &policy.state));
  policy.snapshot = std::make_shared<const PolicySnapshot>(std::move(snapshot));
  auto [entry, inserted] =
      impl.policy_cache.entries.insert_or_assign(std::string(collaboration), std::move(policy));
  return &entry->second;
}

// --- One write call ---------------------------------------------------------------------------

absl::StatusOr<CollaborationWrite> CollaborationWrite::Begin(Store::Impl& impl,
                                                             std::string_view collaboration,
                                                             bool must_exist,
                                                             Durability durability) {
  sqlite3* db = impl.handle();
  PARLEY_RETURN_IF_ERROR(SetDurability(impl, durability));
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  CollaborationWrite write(&impl, impl.clock(), std::string(collaboration), std::move(transaction));
  absl::StatusOr<PolicyState> state = PolicyState();
  if (!collaboration.empty()) {
    PARLEY_RETURN_IF_ERROR(RefreshPolicyCache(impl));
    if (const CachedPolicy* cached = FindCachedPolicy(impl, collaboration)) {
      write.id_ = cached->id;
      state = cached->state;
      write.closed_at_ = cached->snapshot->collaboration.closed_at;
    } else {
      PARLEY_ASSIGN_OR_RETURN(write.id_, FindCollaborationId(db, collaboration));
      if (write.id_.has_value()) {
        absl::StatusOr<const CachedPolicy*> loaded = LoadPolicy(impl, collaboration, *write.id_);
        if (loaded.ok()) {
          state = (*loaded)->state;
          write.closed_at_ = (*loaded)->snapshot->collaboration.closed_at;
        } else {
          state = loaded.status();
        }
      }
    }
  }
  PARLEY_RETURN_IF_ERROR(CheckStateAgainstHead(db, collaboration, state, &write.checked_));
  if (must_exist && !collaboration.empty() && !write.id_.has_value()) {
    return CollaborationNotFound(collaboration);
  }
  return write;
}

absl::Status CollaborationClosed(std::string_view collaboration) {
  return absl::FailedPreconditionError(absl::StrCat(
      "collaboration ", Quote(collaboration),
      " is closed: it takes no more queries and no changes to its members, tables, rules or "
      "templates; its results and audit log stay readable"));
}

absl::Status CollaborationWrite::RequireOpen() const {
  if (closed_at_ == 0) return absl::OkStatus();
  return CollaborationClosed(name_);
}

absl::Status CollaborationWrite::Append(std::string_view actor, std::string_view action,
                                        const Json& details, PolicyEffect effect) {
  if (effect == PolicyEffect::kChangesPolicy) PARLEY_RETURN_IF_ERROR(RequireOpen());
  if (effect == PolicyEffect::kKeepsPolicy) {
    return AppendEntry(db_, now_, name_, actor, action, details, checked_);
  }
  // The cache no longer holds the policy (and must not until this transaction has ended).
  changes_policy_ = true;
  impl_->policy_cache.entries.clear();
  PARLEY_ASSIGN_OR_RETURN(PolicyState after, CurrentPolicyState(db_, name_, id_));
  return AppendEntry(db_, now_, name_, actor, action, details, after);
}

absl::Status CollaborationWrite::Commit() {
  // Records of queries are the only writes that are not synced, and they change nothing the
  // query read cache holds; any other write may (a webhook, a key, a payer, a limit).
  if (impl_->durability == Durability::kSynced) {
    impl_->read_cache = QueryReadCache();
  }
  if (changes_policy_) {
    impl_->policy_cache.entries.clear();
    ++impl_->policy_cache.own_policy_commits;
  }
  return transaction_.Commit();
}

}  // namespace internal

using internal::DatabaseHandle;
using internal::Durability;
using internal::Exec;
using internal::Quote;
using internal::SqliteError;
using internal::Statement;

// ---------------------------------------------------------------------------------------------
// Names of enums.

int64_t SystemClockSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

absl::StatusOr<std::string> Store::PolicyVersion() {
  // Before the commit counter is read: a policy change committed in between makes the token
  // newer than what the caller reads next, never older.
  PARLEY_ASSIGN_OR_RETURN(int64_t data_version, internal::DataVersion(impl_->handle()));
  return absl::StrCat(data_version, ":", impl_->policy_cache.own_policy_commits);
}

// ---------------------------------------------------------------------------------------------
// Opening.

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
  // Small results live in the catalog (QueryRecord::inline_result): a deleted or expired one is
  // overwritten with zeros, not left readable in a free page of the file.
  PARLEY_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA secure_delete = ON"));
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
  // Write transactions set their own level (internal::Durability); FULL until one does.
  PARLEY_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA synchronous = FULL"));
  Clock store_clock = clock ? std::move(clock) : Clock(SystemClockSeconds);
  PARLEY_RETURN_IF_ERROR(internal::ApplyMigrations(db.get(), store_clock()));

  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  impl->clock = std::move(store_clock);
  impl->path = path;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

}  // namespace parley::catalog
