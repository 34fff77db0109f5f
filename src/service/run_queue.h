// The server's queries, run asynchronously: a submission is checked and recorded at once
// (Service::SubmitQuery: a rejected query is answered then, with its violations) and its run
// waits in a bounded queue for one of a fixed number of workers. Its runner follows it by id —
// queued (with its place), running (with progress), then succeeded, finished (a runner who does
// not receive the result: how it ended is not told, as in query lists), failed, cancelled or
// rejected — waits for it, or cancels it. A run's status survives a restart through the catalog:
// a run this process no longer holds is shown as its record says (Service::ShowRun), and one
// in flight when the process died is "failed" with the reason.
//
//   service::RunQueue queue(*service, {.workers = 4});
//   PARLEY_ASSIGN_OR_RETURN(RunView view, queue.Submit(caller, [&] {
//     return service->SubmitQuery(caller, "room", sql, {});
//   }));
//   PARLEY_ASSIGN_OR_RETURN(view, queue.Wait(caller, "room", view.query_id,
//   std::chrono::hours(1)));
//
// Limits: at most Options::max_queued runs wait (then ResourceExhausted, carrying
// parley::kRetryAfterPayload, base/retry.h), and one member has at most Options::per_member runs
// queued or running at once (ResourceExhausted, saying so). Only a run's runner sees or cancels it:
// to anyone else it is answered word for word as a run that does not exist (NotFound). Thread
// safety: every method may be called from any thread at once. Observers (Options::on_transition)
// are called from the thread that moved the run, without the queue's lock held.
//
// RunAwaited is the synchronous form: the same pool, queue, limits and drain, for a run whose
// runner waits for it in one call — recorded once when it ends, as Service::Run records it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/retry.h"
#include "base/status.h"
#include "engine/engine.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {

// A run as its runner sees it.
struct RunView {
  int64_t query_id = 0;
  std::string collaboration;
  // "queued" | "running" | "succeeded" | "finished" | "failed" | "cancelled" | "rejected"
  std::string status;
  std::optional<int64_t> queue_position;  // queued: 1 for the next to run
  std::optional<double> progress;         // running: 0..100, once the engine estimates it
  // failed or cancelled: why (what Run would have returned). Absent for a runner who does not
  // receive the result of a custom query or template, whose outcome is "finished" either way.
  std::optional<absl::Status> error;
  // What Run would have answered, while this process still holds it: a rejected query's
  // verdict; for a finished run its explanation, and for a receiver the result.
  std::optional<QueryOutcome> outcome;
};

// What observers learn of each move of a run: never its SQL, result or error.
struct RunEvent {
  int64_t query_id = 0;
  std::string collaboration;
  std::string runner;
  std::string status;  // the RunView status it moved to ("succeeded" for receivers and not)
};

class RunQueue {
 public:
  struct Options {
    int workers = 4;      // runs executing at once
    int max_queued = 64;  // runs waiting for a worker
    int per_member = 8;   // runs one member has queued or running
    // Each run's time limit; 0: the engine's. A run that exceeds it is cancelled.
    std::chrono::milliseconds timeout{0};
    // How long a finished run's outcome (with its result) is kept in memory for its runner;
    // after that its status comes from the catalog and its result from Service::Result.
    std::chrono::seconds keep_finished{600};
    std::function<void(const RunEvent&)> on_transition;
  };

  // `service` must outlive the queue. Starts the workers.
  RunQueue(Service& service, Options options);
  // Drains with no grace: queued runs are cancelled, running ones interrupted.
  ~RunQueue();

  // Reserves a place, then calls `submit` (Service::SubmitQuery or SubmitTemplate as the
  // caller); a rejected query is answered at once (status "rejected", its outcome), an accepted
  // one is queued. Errors: `submit`'s own; ResourceExhausted when the queue is full or the
  // caller's member has Options::per_member runs already (then `submit` is not called);
  // Unavailable while draining.
  absl::StatusOr<RunView> Submit(const identity::Caller& caller,
                                 const std::function<absl::StatusOr<Submission>()>& submit);
  // A run its runner waits for in this call (the server's synchronous RunQuery and RunTemplate):
  // the same places, limits and errors as Submit — `submit` is Service::SubmitAwaitedQuery or
  // SubmitAwaitedTemplate, recorded once when the run ends — then waits its turn for a worker
  // and answers what Service::Run would have: a rejected query's outcome, the run's outcome or
  // its error (Cancelled when a drain or the time limit stopped it). Its id is told to nobody
  // before it ends, so it is not followed: Show, Wait and Cancel do not find it, observers hear
  // only its end, and the engine estimates no progress for it.
  absl::StatusOr<QueryOutcome> RunAwaited(
      const identity::Caller& caller, const std::function<absl::StatusOr<Submission>()>& submit);
  // The run now.
  absl::StatusOr<RunView> Show(const identity::Caller& caller, const std::string& collaboration,
                               int64_t query_id);
  // The run once it has ended, or as it is after `timeout`.
  absl::StatusOr<RunView> Wait(const identity::Caller& caller, const std::string& collaboration,
                               int64_t query_id, std::chrono::milliseconds timeout);
  // Cancels the run: a queued run is recorded as cancelled at once, a running one is interrupted
  // (its worker records it). A run that has ended is left as it is. Answers the run as it is
  // after the cancellation was asked for.
  absl::StatusOr<RunView> Cancel(const identity::Caller& caller, const std::string& collaboration,
                                 int64_t query_id);

  // Drops a finished run from memory (its runner got its outcome): its status then comes from the
  // catalog. Nothing for a run not finished.
  void Forget(int64_t query_id);

  // Stops accepting runs (Submit answers Unavailable), cancels the queued ones, lets the running
  // ones finish for up to `grace`, interrupts those still running, and returns once every worker
  // has stopped. Idempotent.
  void Drain(std::chrono::milliseconds grace);

  // Runs queued and running now (for tests and the load benchmark).
  int queued() const;
  int running() const;

 private:
  struct Run;
  // Submit's and RunAwaited's first half: Unavailable or ResourceExhausted, or a place reserved
  // for `member` (Release gives it back when the submission is not queued).
  absl::Status Reserve(const std::string& member);
  std::shared_ptr<Run> Find(const identity::Caller& caller, const std::string& collaboration,
                            int64_t query_id);
  absl::StatusOr<RunView> FromCatalog(const identity::Caller& caller,
                                      const std::string& collaboration, int64_t query_id);
  RunView ViewLocked(const Run& run) const;
  void Work();
  void Finish(const std::shared_ptr<Run>& run, absl::StatusOr<QueryOutcome> outcome,
              std::unique_lock<std::mutex>& lock);
  void Notify(const Run& run, std::unique_lock<std::mutex>& lock);
  void ForgetOldLocked();

  Service& service_;
  const Options options_;
  std::mutex drain_mutex_;  // one Drain at a time
  mutable std::mutex mutex_;
  std::condition_variable work_;     // a run was queued, or draining began
  std::condition_variable drained_;  // a run finished while draining (each run has its own too)
  bool draining_ = false;
  bool stopped_ = false;
  int reserved_ = 0;                              // submissions being checked
  std::map<std::string, int> active_by_member_;   // queued, running and reserved
  std::deque<std::shared_ptr<Run>> queue_;        // waiting, oldest first
  std::map<int64_t, std::shared_ptr<Run>> runs_;  // by query id, queued to forgotten
  std::set<std::shared_ptr<Run>> awaited_;        // RunAwaited's, queued or running
  std::deque<int64_t> finished_;                  // finished runs, oldest first
  std::vector<std::thread> workers_;
};

}  // namespace parley::service
