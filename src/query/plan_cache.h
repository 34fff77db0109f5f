// A bounded cache of compiled plans: Compile is a pure function of (Snapshot, Request) — it reads
// nothing else (privacy budgets are spent at run time, noise is drawn at run time; the compiler
// keeps no state between calls) — so a repeated query on an unchanged policy state gets the
// verdict and plan of its first compilation instead of parsing, binding, checking, rewriting and
// rendering again.
//
// Why it cannot serve an old verdict: an entry is keyed by the identity of the Snapshot it was
// compiled against (Snapshot::generation(), unique in the process and never reused) and by every
// field of the Request. Any change to a collaboration's policy state (a rule, a template or its
// approval, a member or its abilities, a table) makes the service build a new Snapshot, whose
// generation no entry carries; entries of old snapshots are never looked up again and age out of
// the LRU order. A request with an explicit dialect (a query routed to another engine, whose
// dialect carries that engine's table layout) or a long text is compiled and not cached.
//
// Example:
//   query::PlanCache cache({.capacity = 256});
//   PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, cache.Compile(*snapshot, request));
//
// Thread safety: any number of threads may call Compile at once; the cache locks itself, and
// compiles outside its lock (two threads missing on the same key both compile; the later insert
// wins, with the same result).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/status.h"
#include "query/compile.h"
#include "query/snapshot.h"

namespace parley::query {

class PlanCache {
 public:
  struct Options {
    // How many compiled requests are kept (least recently used first out); 0 turns the cache off:
    // every call compiles.
    size_t capacity = 256;
    // Requests whose text is longer are compiled and not cached, so that what the cache holds
    // stays bounded (about capacity × this, twice: the key and the rendered SQL) whatever callers
    // send; the fixed cost it saves matters for small queries.
    size_t max_sql_bytes = 16 * 1024;
    // Called on every hit, outside the cache's lock: for tests and metrics.
    std::function<void()> on_hit;
  };

  explicit PlanCache(Options options) : options_(std::move(options)) {}

  // query::Compile(snapshot, request), or a copy of what it returned for the same snapshot and
  // request before (errors included: a text that does not parse fails the same way again). On a
  // hit, front_end_micros is the time the lookup took.
  absl::StatusOr<Compiled> Compile(const Snapshot& snapshot, const Request& request);

  struct Stats {
    int64_t hits = 0;
    int64_t misses = 0;  // compiled (including requests that are never cached)
    size_t entries = 0;
  };
  Stats stats() const;

 private:
  using Result = std::shared_ptr<const absl::StatusOr<Compiled>>;
  struct Entry {
    std::string key;
    Result result;
  };

  // Every field of `request` and the snapshot's generation, unambiguously (length-prefixed).
  static std::string KeyOf(const Snapshot& snapshot, const Request& request);

  const Options options_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first; guarded by mutex_
  std::unordered_map<std::string, std::list<Entry>::iterator> entries_;  // guarded by mutex_
  int64_t hits_ = 0;                                                     // guarded by mutex_
  int64_t misses_ = 0;                                                   // guarded by mutex_
};

}  // namespace parley::query
