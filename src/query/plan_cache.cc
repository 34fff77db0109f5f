#include "query/plan_cache.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace parley::query {
namespace {

// Appends `field` so that no two sequences of fields give the same text.
void Put(std::string& key, std::string_view field) {
  absl::StrAppend(&key, field.size(), ":", absl::string_view(field.data(), field.size()), ";");
}

void Put(std::string& key, int64_t number) { absl::StrAppend(&key, number, ";"); }

}  // namespace

std::string PlanCache::KeyOf(const Snapshot& snapshot, const Request& request) {
  std::string key;
  key.reserve(request.sql.size() + 128);
  Put(key, static_cast<int64_t>(snapshot.generation()));
  Put(key, request.sql);
  Put(key, static_cast<int64_t>(request.bind.parameters.size()));
  for (const sql::ParameterValue& parameter : request.bind.parameters) {
    Put(key, static_cast<int64_t>(parameter.constant.kind));
    Put(key, parameter.constant.text);
    const sql::Type& type = parameter.cast_type;
    Put(key, static_cast<int64_t>(type.kind()));
    Put(key, type.width());
    Put(key, type.scale());
    Put(key, type.description());
  }
  Put(key, request.runner);
  Put(key, request.template_id);
  Put(key, static_cast<int64_t>(request.receivers.size()));
  for (const std::string& receiver : request.receivers) Put(key, receiver);
  Put(key, request.privacy_epsilon);
  Put(key, request.privacy_delta);
  if (request.strict_conversion.has_value()) {
    Put(key, "strict");
    Put(key, *request.strict_conversion);
  } else {
    Put(key, "try");
  }
  return key;
}

absl::StatusOr<Compiled> PlanCache::Compile(const Snapshot& snapshot, const Request& request) {
  auto start = std::chrono::steady_clock::now();
  if (options_.capacity == 0 || request.dialect != nullptr ||
      request.sql.size() > options_.max_sql_bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++misses_;
    }
    return query::Compile(snapshot, request);
  }
  std::string key = KeyOf(snapshot, request);
  Result found;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      found = it->second->result;
      ++hits_;
    } else {
      ++misses_;
    }
  }
  if (found != nullptr) {
    if (options_.on_hit) options_.on_hit();
    absl::StatusOr<Compiled> copy = *found;
    if (copy.ok()) {
      copy->front_end_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count();
    }
    return copy;
  }
  auto compiled =
      std::make_shared<const absl::StatusOr<Compiled>>(query::Compile(snapshot, request));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second->result = compiled;
      order_.splice(order_.begin(), order_, it->second);
    } else {
      order_.push_front(Entry{key, compiled});
      entries_.emplace(std::move(key), order_.begin());
      while (order_.size() > options_.capacity) {
        entries_.erase(order_.back().key);
        order_.pop_back();
      }
    }
  }
  return *compiled;
}

PlanCache::Stats PlanCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Stats{hits_, misses_, order_.size()};
}

}  // namespace parley::query
