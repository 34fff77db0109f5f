// The parts the service's private half is built from (split from service_impl.h): the catalog's
// tables and rules as the binder and checker see them, the checks a query's sources pass, the
// record of a run recorded when it ends, and the catalog store behind one mutex. Only the
// service's own sources include this header.
// Thread safety: as each class says; SerializedStore locks itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catalog/store.h"
#include "connectors/clickhouse/clickhouse_connector.h"
#include "connectors/connector.h"
#include "dp/noise.h"
#include "dp/random_source.h"
#include "engine/engine.h"
#include "identity/access.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "query/snapshot.h"
#include "service/run_lock.h"
#include "service/service.h"
#include "sql/binder.h"

namespace parley::service {
namespace internal {

int64_t MicrosSince(std::chrono::steady_clock::time_point start);
// A result's size as metering counts it: the bytes of its values as text (NULLs count 0).
int64_t ResultBytes(const engine::ResultTable& result);

// The tables of a collaboration as the binder sees them: allowed columns with pinned types.
class CatalogSchemas : public sql::SchemaProvider {
 public:
  explicit CatalogSchemas(const std::vector<catalog::Table>& tables);
  const sql::TableSchema* FindTable(std::string_view name) const override;

 private:
  std::vector<sql::TableSchema> schemas_;
};

class CatalogRules : public policy::RuleProvider {
 public:
  const policy::Rule* RuleFor(const std::string& table) const override {
    auto it = rules_.find(table);
    return it == rules_.end() ? nullptr : &it->second;
  }
  std::map<std::string, policy::Rule> rules_;
};

bool Receives(const std::vector<std::string>& receivers, const std::string& member);
// A query record as `member` may see it (query_log.cc): how a run ended, its row count and its
// error only for the query's receivers.
QueryView ViewOfQuery(const catalog::QueryRecord& record, const std::string& member);

// What `caller` sees of a table: metadata, and its location only if it owns the table.
// `registry` summarises the source (its format, and its location for its owner only).
TableView ViewOfTable(const connectors::Registry& registry, const catalog::Table& table,
                      const identity::Caller& caller);

// A collaboration as the access rules see it (collaborations.cc).
identity::Room RoomOf(const catalog::Collaboration& collaboration);

// Stored results (results.cc): one Parquet file per result, zstd-compressed, with the result's
// column names and types, readable by its owner only (0600, in 0700 folders). Written to an
// unnamed temporary and named when complete, so a kill never leaves a partial file; an existing
// file is never replaced. Not fsynced: the file is in the operating system's cache when this
// returns, so it survives a kill of the process; a power loss may lose it or leave it empty, and
// reading it then fails with DataLoss (docs/audit.md, "Durability"). Results stored as JSON by
// earlier versions are still read. DataLoss when a stored result is unreadable.
absl::Status WriteStoredResult(const std::filesystem::path& path,
                               const engine::ResultTable& result);
absl::StatusOr<engine::ResultTable> ReadStoredResult(const std::filesystem::path& path);
// Whether a query's stored result is a sealed box: recorded so, or (a file stored before the
// catalog kept the flag) named ".sealed".
bool IsSealedResult(const catalog::QueryRecord& record);

// The records of one policy state as the query compiler's snapshot source: the tables given (the
// caller passes those of active members only) with their allowed columns typed as pinned
// (queries.cc).
query::SnapshotSource SnapshotSourceOf(const catalog::Collaboration& collaboration,
                                       const std::vector<catalog::Table>& tables,
                                       const std::string& digest);

// Client-side encryption at registration (docs/formats/encrypted-columns.md, "Registration"):
// reads every cell of `table`'s allowed text columns through `view`, records each column's kind
// and key id in table.source_schema, and refuses (InvalidArgument naming the table and column) a
// column that mixes kinds or keys, a cleartext column without allow_cleartext, a repeated
// fingerprint without allow_duplicates, a NULL in an encrypted column without preserve_nulls,
// and keys that differ from those of `others` (the collaboration's tables already registered)
// (encrypted_columns.cc).
absl::Status ClassifyColumns(const engine::SourceView& view,
                             const catalog::Collaboration& collaboration,
                             const std::vector<catalog::Table>& others, catalog::Table& table);

// A source file as it is now. A table's pinned schema is checked once per version of its files
// on a session (not once per query): DESCRIBE reads every file's header or metadata, and a file
// that keeps its identity (device, inode), size and modification time (nanoseconds) has not
// been rewritten — a replaced file (rename) has a new inode, an edited one a new time
// (execution.cc).
struct FileVersion {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t modified_ns = 0;
  bool operator==(const FileVersion&) const = default;
};

// What a pinned-schema check passed for: the table's pinned columns and the versions of its files.
struct CheckedSource {
  std::vector<std::string> allowed_columns;
  std::vector<std::pair<std::string, std::string>> source_schema;
  std::vector<FileVersion> files;
  bool operator==(const CheckedSource&) const = default;
};

// A synchronous run that is not in the catalog yet (deferred_runs.cc): its run's thread records
// it when it ends (one write), unless it ran so long that the promoter recorded it running.
// Whoever holds `mutex` first decides.
struct DeferredRecord {
  std::mutex mutex;
  catalog::QueryRecord record;      // as it would be recorded running (run_lock: its token)
  std::string submitted;            // the details of its "query.submitted" entry
  bool ended = false;               // its run has ended: the promoter leaves it alone
  std::optional<int64_t> promoted;  // recorded running by the promoter, with this id
};

// One thread that records running, after a delay, the deferred runs that have not ended by then
// (so that a long query shows in listings while it runs, as it always has). Thread safety: Add
// from any thread; the destructor stops and joins the thread.
class RunPromoter {
 public:
  RunPromoter(std::chrono::milliseconds delay, std::function<void(DeferredRecord&)> promote);
  ~RunPromoter();
  void Add(const std::shared_ptr<DeferredRecord>& deferred);

 private:
  void Loop();
  std::chrono::milliseconds delay_;
  std::function<void(DeferredRecord&)> promote_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  // In the order they were added, so by deadline. Guarded by mutex_.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::weak_ptr<DeferredRecord>>>
      waiting_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace internal

// The catalog store behind one mutex: `store->Method(...)` locks for exactly that call (the
// temporary returned by operator-> holds the lock until the end of the full expression). The
// SQLite connection is opened without SQLite's own mutex, so no two threads may use it at once;
// each Store method is one transaction, so serializing the calls serializes the transactions.
// A use case that reads, decides and writes (an approval edits a rule it has just read) holds
// Lock() across the whole sequence so that no write of another thread lands in between. The
// mutex is recursive for exactly that case.
class SerializedStore {
 public:
  class Locked {
   public:
    Locked(std::recursive_mutex& mutex, catalog::Store* store) : lock_(mutex), store_(store) {}
    catalog::Store* operator->() const { return store_; }

   private:
    std::unique_lock<std::recursive_mutex> lock_;
    catalog::Store* store_;
  };

  SerializedStore& operator=(std::unique_ptr<catalog::Store> store) {
    store_ = std::move(store);
    return *this;
  }
  Locked operator->() { return Locked(mutex_, store_.get()); }
  [[nodiscard]] std::unique_lock<std::recursive_mutex> Lock() {
    return std::unique_lock<std::recursive_mutex>(mutex_);
  }

 private:
  std::recursive_mutex mutex_;
  std::unique_ptr<catalog::Store> store_;
};

}  // namespace parley::service
