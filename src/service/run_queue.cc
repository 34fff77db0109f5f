#include "service/run_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace parley::service {

namespace {

// At most this many finished runs are kept in memory, whatever Options::keep_finished says.
constexpr size_t kMaxFinishedKept = 10000;

bool Receives(const std::vector<std::string>& receivers, const std::string& member) {
  return std::find(receivers.begin(), receivers.end(), member) != receivers.end();
}

absl::Status Busy(std::string message) {
  absl::Status status = absl::ResourceExhaustedError(std::move(message));
  status.SetPayload(kRetryAfterPayload, absl::Cord("1"));
  return status;
}

}  // namespace

struct RunQueue::Run {
  enum class Phase { kQueued, kRunning, kDone };
  int64_t query_id = 0;  // an awaited run's: 0 until it has ended
  bool awaited = false;  // RunAwaited's: not in runs_, not followed
  std::string collaboration;
  std::string runner;
  std::vector<std::string> receivers;
  Phase phase = Phase::kQueued;
  std::unique_ptr<PreparedRun> prepared;  // until executed or abandoned
  engine::RunControl control;
  std::optional<absl::StatusOr<QueryOutcome>> outcome;  // kDone
  std::chrono::steady_clock::time_point finished_at;
  // Notified once, when the run is done: only the threads waiting for this run wake (a queue-wide
  // broadcast woke every waiting request at each move of any run).
  std::condition_variable done;
};

RunQueue::RunQueue(Service& service, Options options)
    : service_(service), options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

RunQueue::~RunQueue() { Drain(std::chrono::milliseconds(0)); }

int RunQueue::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

int RunQueue::running() const {
  std::lock_guard lock(mutex_);
  int count = 0;
  for (const auto& [id, run] : runs_) count += run->phase == Run::Phase::kRunning ? 1 : 0;
  for (const auto& run : awaited_) count += run->phase == Run::Phase::kRunning ? 1 : 0;
  return count;
}

absl::Status RunQueue::Reserve(const std::string& member) {
  std::lock_guard lock(mutex_);
  if (draining_) {
    return absl::UnavailableError(
        "the server is shutting down and accepts no new queries; try again once it is back");
  }
  int& active = active_by_member_[member];
  if (active >= options_.per_member) {
    return Busy(absl::StrCat("member '", member, "' already has ", active,
                             " queries queued or running, the most one member may have at "
                             "once; wait for one to finish or cancel one"));
  }
  if (static_cast<int>(queue_.size()) + reserved_ >= options_.max_queued) {
    return Busy(absl::StrCat("the server's query queue is full (", options_.max_queued,
                             " queries waiting); try again in a moment"));
  }
  ++active;
  ++reserved_;
  return absl::OkStatus();
}

absl::StatusOr<RunView> RunQueue::Submit(
    const identity::Caller& caller, const std::function<absl::StatusOr<Submission>()>& submit) {
  const std::string member = caller.member();
  PARLEY_RETURN_IF_ERROR(Reserve(member));
  absl::StatusOr<Submission> submission = submit();
  std::unique_lock lock(mutex_);
  --reserved_;
  if (!submission.ok() || submission->finished) {
    --active_by_member_[member];
    if (!submission.ok()) return submission.status();
    RunView view;
    view.query_id = submission->finished->query_id;
    view.status = "rejected";
    view.outcome = *std::move(submission->finished);
    return view;
  }
  auto run = std::make_shared<Run>();
  run->query_id = submission->run->query_id();
  run->collaboration = submission->run->collaboration();
  run->runner = submission->run->runner();
  run->prepared = std::move(submission->run);
  if (options_.timeout.count() > 0) run->control.timeout = options_.timeout;
  runs_[run->query_id] = run;
  if (draining_) {
    // Drained while it was being checked: it never runs.
    lock.unlock();
    absl::StatusOr<QueryOutcome> outcome = service_.AbandonRun(
        *run->prepared, absl::CancelledError("cancelled: the server is shutting down"));
    lock.lock();
    Finish(run, std::move(outcome), lock);
    return ViewLocked(*run);
  }
  // Observers hear "queued" before any worker can take the run.
  Notify(*run, lock);
  queue_.push_back(run);
  work_.notify_one();
  return ViewLocked(*run);
}

absl::StatusOr<QueryOutcome> RunQueue::RunAwaited(
    const identity::Caller& caller, const std::function<absl::StatusOr<Submission>()>& submit) {
  const std::string member = caller.member();
  PARLEY_RETURN_IF_ERROR(Reserve(member));
  absl::StatusOr<Submission> submission = submit();
  std::unique_lock lock(mutex_);
  --reserved_;
  if (!submission.ok() || submission->finished) {
    --active_by_member_[member];
    if (!submission.ok()) return submission.status();
    return *std::move(submission->finished);
  }
  auto run = std::make_shared<Run>();
  run->awaited = true;
  run->collaboration = submission->run->collaboration();
  run->runner = submission->run->runner();
  run->prepared = std::move(submission->run);
  run->control.estimate_progress = false;  // nobody can follow it
  if (options_.timeout.count() > 0) run->control.timeout = options_.timeout;
  awaited_.insert(run);
  if (draining_) {
    // Drained while it was being checked: it never runs.
    lock.unlock();
    absl::StatusOr<QueryOutcome> outcome = service_.AbandonRun(
        *run->prepared, absl::CancelledError("cancelled: the server is shutting down"));
    lock.lock();
    Finish(run, std::move(outcome), lock);
  } else {
    queue_.push_back(run);
    work_.notify_one();
    run->done.wait(lock, [&] { return run->phase == Run::Phase::kDone; });
  }
  return std::move(*run->outcome);
}

std::shared_ptr<RunQueue::Run> RunQueue::Find(const identity::Caller& caller,
                                              const std::string& collaboration, int64_t query_id) {
  auto found = runs_.find(query_id);
  if (found == runs_.end() || found->second->runner != caller.member() ||
      found->second->collaboration != collaboration) {
    return nullptr;
  }
  return found->second;
}

absl::StatusOr<RunView> RunQueue::FromCatalog(const identity::Caller& caller,
                                              const std::string& collaboration, int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(QueryView query, service_.ShowRun(caller, collaboration, query_id));
  RunView view;
  view.query_id = query.id;
  view.collaboration = collaboration;
  view.status = query.status;
  if (query.status == "killed") {
    view.status = "failed";
    view.error = absl::AbortedError(
        "the query stopped before it finished: the process running it ended (the server was "
        "stopped or killed); nothing was released; run it again");
  } else if (query.error) {
    view.error = absl::Status(
        query.status == "cancelled" ? absl::StatusCode::kCancelled : absl::StatusCode::kAborted,
        *query.error);
  }
  return view;
}

RunView RunQueue::ViewLocked(const Run& run) const {
  RunView view;
  view.query_id = run.query_id;
  view.collaboration = run.collaboration;
  switch (run.phase) {
    case Run::Phase::kQueued: {
      view.status = "queued";
      auto at = std::find_if(queue_.begin(), queue_.end(),
                             [&](const auto& queued) { return queued.get() == &run; });
      if (at != queue_.end()) view.queue_position = (at - queue_.begin()) + 1;
      break;
    }
    case Run::Phase::kRunning: {
      view.status = "running";
      double progress = run.control.progress.load();
      if (progress >= 0) view.progress = std::min(progress, 100.0);
      break;
    }
    case Run::Phase::kDone: {
      const absl::StatusOr<QueryOutcome>& outcome = *run.outcome;
      if (outcome.ok()) {
        view.status = Receives(outcome->receivers, run.runner) ? "succeeded" : "finished";
        view.outcome = *outcome;
      } else {
        bool cancelled =
            absl::IsCancelled(outcome.status()) || absl::IsDeadlineExceeded(outcome.status());
        view.status = cancelled ? "cancelled" : "failed";
        view.error = outcome.status();
      }
      break;
    }
  }
  return view;
}

absl::StatusOr<RunView> RunQueue::Show(const identity::Caller& caller,
                                       const std::string& collaboration, int64_t query_id) {
  {
    std::lock_guard lock(mutex_);
    if (std::shared_ptr<Run> run = Find(caller, collaboration, query_id)) return ViewLocked(*run);
  }
  return FromCatalog(caller, collaboration, query_id);
}

absl::StatusOr<RunView> RunQueue::Wait(const identity::Caller& caller,
                                       const std::string& collaboration, int64_t query_id,
                                       std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mutex_);
    if (std::shared_ptr<Run> run = Find(caller, collaboration, query_id)) {
      run->done.wait_for(lock, timeout, [&] { return run->phase == Run::Phase::kDone; });
      return ViewLocked(*run);
    }
  }
  return FromCatalog(caller, collaboration, query_id);
}

absl::StatusOr<RunView> RunQueue::Cancel(const identity::Caller& caller,
                                         const std::string& collaboration, int64_t query_id) {
  std::unique_lock lock(mutex_);
  std::shared_ptr<Run> run = Find(caller, collaboration, query_id);
  if (run == nullptr) {
    lock.unlock();
    // Not held here: ended long ago, or never this caller's (NotFound either way, from ShowRun).
    return FromCatalog(caller, collaboration, query_id);
  }
  if (run->phase == Run::Phase::kQueued &&
      std::find(queue_.begin(), queue_.end(), run) != queue_.end()) {
    auto at = std::find(queue_.begin(), queue_.end(), run);
    {
      queue_.erase(at);
      lock.unlock();
      absl::StatusOr<QueryOutcome> outcome = service_.AbandonRun(
          *run->prepared, absl::CancelledError("cancelled by its runner before it ran"));
      lock.lock();
      Finish(run, std::move(outcome), lock);
    }
  } else if (run->phase != Run::Phase::kDone) {
    // Running, or about to be queued: the engine stops it as soon as it runs, and the worker
    // records it.
    run->control.cancel = true;
  }
  return ViewLocked(*run);
}

void RunQueue::Forget(int64_t query_id) {
  std::lock_guard lock(mutex_);
  auto found = runs_.find(query_id);
  if (found != runs_.end() && found->second->phase == Run::Phase::kDone) runs_.erase(found);
}

void RunQueue::Work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopped
    std::shared_ptr<Run> run = queue_.front();
    queue_.pop_front();
    run->phase = Run::Phase::kRunning;
    if (!run->awaited) Notify(*run, lock);
    lock.unlock();
    absl::StatusOr<QueryOutcome> outcome = service_.ExecuteRun(*run->prepared, &run->control);
    lock.lock();
    Finish(run, std::move(outcome), lock);
  }
}

void RunQueue::Finish(const std::shared_ptr<Run>& run, absl::StatusOr<QueryOutcome> outcome,
                      std::unique_lock<std::mutex>& lock) {
  if (run->awaited && outcome.ok()) run->query_id = outcome->query_id;
  run->outcome = std::move(outcome);
  run->phase = Run::Phase::kDone;
  run->finished_at = std::chrono::steady_clock::now();
  // The record is final: releasing the run lock now cannot make it look killed.
  run->prepared.reset();
  auto active = active_by_member_.find(run->runner);
  if (active != active_by_member_.end() && --active->second <= 0) active_by_member_.erase(active);
  if (run->awaited) {
    awaited_.erase(run);  // its runner, woken below, holds it
  } else {
    finished_.push_back(run->query_id);
    ForgetOldLocked();
  }
  run->done.notify_all();
  if (draining_) drained_.notify_all();
  // An awaited run that ended before it had an id (a drain, a failure) is no one's to hear of.
  if (!run->awaited || run->query_id != 0) Notify(*run, lock);
}

void RunQueue::ForgetOldLocked() {
  auto now = std::chrono::steady_clock::now();
  while (!finished_.empty()) {
    auto found = runs_.find(finished_.front());
    bool gone = found == runs_.end();
    bool old = !gone && (finished_.size() > kMaxFinishedKept ||
                         now - found->second->finished_at > options_.keep_finished);
    if (!gone && !old) break;
    if (old) runs_.erase(found);
    finished_.pop_front();
  }
}

void RunQueue::Notify(const Run& run, std::unique_lock<std::mutex>& lock) {
  if (!options_.on_transition) return;
  RunEvent event{run.query_id, run.collaboration, run.runner, ViewLocked(run).status};
  if (event.status == "finished") event.status = "succeeded";
  lock.unlock();
  options_.on_transition(event);
  lock.lock();
}

void RunQueue::Drain(std::chrono::milliseconds grace) {
  std::lock_guard drain(drain_mutex_);
  std::unique_lock lock(mutex_);
  if (stopped_) return;
  draining_ = true;
  std::deque<std::shared_ptr<Run>> waiting;
  waiting.swap(queue_);
  for (const std::shared_ptr<Run>& run : waiting) {
    lock.unlock();
    absl::StatusOr<QueryOutcome> outcome = service_.AbandonRun(
        *run->prepared, absl::CancelledError("cancelled: the server is shutting down"));
    lock.lock();
    Finish(run, std::move(outcome), lock);
  }
  auto still_running = [&] {
    for (const auto& [id, run] : runs_) {
      if (run->phase == Run::Phase::kRunning) return true;
    }
    return !awaited_.empty();  // queued ones were abandoned above: the rest are running
  };
  drained_.wait_for(lock, grace, [&] { return !still_running(); });
  for (const auto& [id, run] : runs_) {
    if (run->phase == Run::Phase::kRunning) run->control.cancel = true;
  }
  for (const auto& run : awaited_) run->control.cancel = true;
  stopped_ = true;
  work_.notify_all();
  lock.unlock();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

}  // namespace parley::service
