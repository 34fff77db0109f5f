// One catalog write per synchronous query (issue 7). A query that is run and awaited in one call
// (Service::Run, RunTemplate) needs no id before it ends, so it is recorded once, when it ends
// (Store::RecordRun: "query.submitted", "query.started" and "query.finished" in one
// transaction), instead of once as running and once as finished. What the running record gave
// is kept another way:
// - a run whose process dies is still recorded (as killed): until the catalog holds it, its record
//   is in this Service's run journal (RunJournal), which the next process to look records;
// - a run that takes long still shows as running in listings: the promoter records it running
//   after Options::promote_after (200 ms: long enough that a small query never pays the second
//   write, short enough that a listing made while a slow query runs shows it), and it then ends
//   as before (FinishQuery);
// - a result is still released only after the commit that records it, with the policy compared
//   in that commit.
// Not deferred: queries that spend privacy budget (the spend is synced before they run) and
// queries whose payer has a scan limit (their estimate is reserved before they run), and
// asynchronous submissions (their id is answered at once).
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
using internal::DeferredRecord;

namespace {

// The journal's line for a run: what RecordKilledRun needs.
std::string JournalLine(const catalog::QueryRecord& record, const std::string& submitted) {
  Json line = {{"collaboration", record.collaboration},
               {"runner", record.runner},
               {"sql", record.sql},
               {"template_id", record.template_id},
               {"rendered_sql", record.rendered_sql},
               {"receivers", record.receivers},
               {"tables", record.tables},
               {"submitted", submitted}};
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<catalog::QueryRecord> RecordOfLine(const std::string& token, const std::string& text,
                                                  std::string* submitted) {
  Json line = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!line.is_object()) return absl::DataLossError("a run journal line is not a JSON object");
  catalog::QueryRecord record;
  try {
    record.collaboration = line.at("collaboration").get<std::string>();
    record.runner = line.at("runner").get<std::string>();
    record.sql = line.at("sql").get<std::string>();
    record.template_id = line.at("template_id").get<std::string>();
    record.rendered_sql = line.at("rendered_sql").get<std::string>();
    record.receivers = line.at("receivers").get<std::vector<std::string>>();
    record.tables = line.at("tables").get<std::vector<std::string>>();
    *submitted = line.at("submitted").get<std::string>();
  } catch (const Json::exception&) {
    return absl::DataLossError("a run journal line lacks a field");
  }
  record.status = catalog::QueryStatus::kRunning;
  record.run_lock = token;
  record.usage = catalog::QueryUsage{};
  return record;
}

}  // namespace

internal::RunPromoter::RunPromoter(std::chrono::milliseconds delay,
                                   std::function<void(DeferredRecord&)> promote)
    : delay_(delay), promote_(std::move(promote)), thread_([this] { Loop(); }) {}

internal::RunPromoter::~RunPromoter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void internal::RunPromoter::Add(const std::shared_ptr<DeferredRecord>& deferred) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = waiting_.empty();
    waiting_.emplace_back(std::chrono::steady_clock::now() + delay_, deferred);
  }
  // Woken only when it was idle: otherwise it already waits for an earlier deadline.
  if (first) wake_.notify_one();
}

void internal::RunPromoter::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    if (waiting_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto [deadline, weak] = waiting_.front();
    if (std::chrono::steady_clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    waiting_.pop_front();
    std::shared_ptr<DeferredRecord> deferred = weak.lock();
    if (deferred == nullptr) continue;  // ended and gone
    lock.unlock();
    promote_(*deferred);
    lock.lock();
  }
}

absl::StatusOr<RunJournal*> Service::Impl::Journal() {
  std::lock_guard<std::mutex> lock(journal_mutex);
  if (journal == nullptr) {
    PARLEY_ASSIGN_OR_RETURN(journal, RunJournal::Open(RunLockDirectory()));
    promoter = std::make_unique<internal::RunPromoter>(
        options.promote_after, [this](DeferredRecord& deferred) { Promote(deferred); });
  }
  return journal.get();
}

absl::StatusOr<std::shared_ptr<DeferredRecord>> Service::Impl::Defer(catalog::QueryRecord record,
                                                                     std::string submitted) {
  PARLEY_ASSIGN_OR_RETURN(RunJournal * runs, Journal());
  auto deferred = std::make_shared<DeferredRecord>();
  deferred->record = std::move(record);
  deferred->submitted = std::move(submitted);
  PARLEY_RETURN_IF_ERROR(
      runs->Started(deferred->record.run_lock, JournalLine(deferred->record, deferred->submitted)));
  promoter->Add(deferred);
  return deferred;
}

void Service::Impl::Promote(DeferredRecord& deferred) {
  std::lock_guard<std::mutex> lock(deferred.mutex);
  if (deferred.ended || deferred.promoted.has_value()) return;
  // As PrepareRun records a run that is not deferred. A failure (the collaboration closed
  // meanwhile, a limit set since) leaves it deferred: it is recorded when it ends.
  absl::StatusOr<int64_t> id = store->RecordQuery(deferred.record, deferred.submitted);
  if (!id.ok()) return;
  deferred.promoted = *id;
  journal->Ended(deferred.record.run_lock);
}

absl::StatusOr<std::pair<int64_t, catalog::Delivery>> Service::Impl::RecordDeferred(
    DeferredRecord& deferred, const catalog::QueryRecord& finished,
    const std::string& checked_policy) {
  std::lock_guard<std::mutex> lock(deferred.mutex);
  deferred.ended = true;
  if (deferred.promoted.has_value()) {
    PARLEY_ASSIGN_OR_RETURN(catalog::Delivery delivery,
                            store->FinishQuery(deferred.record.collaboration, *deferred.promoted,
                                               finished, checked_policy));
    return std::make_pair(*deferred.promoted, delivery);
  }
  // When this fails the journal keeps the run open: once this process has gone, it is recorded
  // as killed, as a running record whose FinishQuery failed is.
  PARLEY_ASSIGN_OR_RETURN(auto recorded, store->RecordRun(deferred.record, deferred.submitted,
                                                          finished, checked_policy));
  journal->Ended(deferred.record.run_lock);
  return recorded;
}

void Service::Impl::RecordAbandonedJournals() {
  RunJournal::RecordAbandoned(
      RunLockDirectory(), [&](const std::string& token, const std::string& text) -> absl::Status {
        std::string submitted;
        absl::StatusOr<catalog::QueryRecord> record = RecordOfLine(token, text, &submitted);
        // A line that does not read back cannot be recorded, ever: not retried.
        if (!record.ok()) return absl::OkStatus();
        return store->RecordKilledRun(*record, submitted);
      });
}

}  // namespace parley::service
