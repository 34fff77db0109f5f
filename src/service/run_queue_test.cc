// The run queue over a real Service: a submission answers at once, its run is executed by a
// worker and recorded once; only its runner sees, waits for or cancels it; the queue and each
// member are bounded; a time limit and a drain stop runs, and every one of them ends recorded.
#include "service/run_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "identity/caller.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;
using ::testing::HasSubstr;

// Six copies of a 100-row table joined: far longer than any test waits.
constexpr char kSlow[] =
    "SELECT COUNT(*) AS n FROM sales a, sales b, sales c, sales d, sales e, sales f "
    "WHERE a.amount + b.amount + c.amount + d.amount + e.amount + f.amount > 0";
constexpr char kQuick[] = "SELECT region, amount FROM sales ORDER BY amount";

class RunQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("parley_run_queue_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = Service::Open((dir_ / "home").string(), {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    service_ = *std::move(opened);
    Ok(service_->CreateCollaboration(As("owner"),
                                     {.name = "room", .auto_approve = {"add_member"}}));
    Ok(service_->AddMember(As("owner"), "room", {"analyst", {Ability::kQuery, Ability::kReceive}})
           .status());
    Ok(service_->AddMember(As("owner"), "room", {"other", {Ability::kQuery, Ability::kReceive}})
           .status());
    std::string path = (dir_ / "sales.csv").string();
    std::ofstream csv(path);
    csv << "region,amount\n";
    for (int i = 1; i <= 100; ++i) csv << (i % 2 ? "east" : "west") << "," << i << "\n";
    csv.close();
    Ok(service_->AddTable(As("owner"), {"room", "sales", path, {}}));
    Ok(service_->SetRule(
        As("owner"), "room", "sales",
        R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst", "other"]})"));
  }
  void TearDown() override {
    queue_.reset();
    service_.reset();
    fs::remove_all(dir_);
  }

  static Caller As(const char* name) { return Caller::Embedded(name); }
  static void Ok(const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; }

  // The service opened again on the same home with `options` (test hooks).
  void Reopen(Options options) {
    queue_.reset();
    service_.reset();
    auto opened = Service::Open((dir_ / "home").string(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    service_ = *std::move(opened);
  }
  RunQueue& Queue(RunQueue::Options options = {}) {
    queue_ = std::make_unique<RunQueue>(*service_, std::move(options));
    return *queue_;
  }
  absl::StatusOr<RunView> Submit(RunQueue& queue, const char* runner, const std::string& sql) {
    return queue.Submit(As(runner),
                        [&] { return service_->SubmitQuery(As(runner), "room", sql, {}); });
  }
  absl::StatusOr<QueryOutcome> Awaited(RunQueue& queue, const char* runner,
                                       const std::string& sql) {
    return queue.RunAwaited(
        As(runner), [&] { return service_->SubmitAwaitedQuery(As(runner), "room", sql, {}); });
  }
  // Waits (bounded) until `holds` is true of the queue.
  static void AwaitQueue(const std::function<bool()>& holds, const char* what) {
    for (int i = 0; i < 1000; ++i) {
      if (holds()) return;
      usleep(10'000);
    }
    FAIL() << "the queue never had " << what;
  }
  // Waits until the run is running (the worker has it).
  void AwaitRunning(RunQueue& queue, const char* runner, int64_t id) {
    for (int i = 0; i < 200; ++i) {
      auto view = queue.Show(As(runner), "room", id);
      ASSERT_TRUE(view.ok()) << view.status();
      if (view->status == "running") return;
      usleep(20'000);
    }
    FAIL() << "query " << id << " never ran";
  }
  std::string Listed(const char* member, int64_t id) {
    auto queries = service_->ListQueries(As(member), "room");
    if (!queries.ok()) return queries.status().ToString();
    for (const QueryView& query : *queries) {
      if (query.id == id) return absl::StrCat(query.status, query.error ? " " + *query.error : "");
    }
    return "absent";
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<RunQueue> queue_;
};

TEST_F(RunQueueTest, ASubmissionAnswersAtOnceAndItsRunAnswersWhatRunWould) {
  std::vector<RunEvent> events;
  std::mutex events_mutex;
  RunQueue& queue = Queue({.on_transition = [&](const RunEvent& event) {
    std::lock_guard lock(events_mutex);
    events.push_back(event);
  }});
  absl::StatusOr<RunView> submitted = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_GT(submitted->query_id, 0);
  EXPECT_TRUE(submitted->status == "queued" || submitted->status == "running");
  absl::StatusOr<RunView> done =
      queue.Wait(As("analyst"), "room", submitted->query_id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "succeeded");
  ASSERT_TRUE(done->outcome.has_value());
  absl::StatusOr<QueryOutcome> direct = service_->Run(As("analyst"), "room", kQuick, {});
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_TRUE(done->outcome->result.has_value());
  EXPECT_EQ(done->outcome->result->rows, direct->result->rows);
  EXPECT_EQ(done->outcome->row_count, 100);
  EXPECT_EQ(Listed("analyst", submitted->query_id), "succeeded");
  // The worker tells its transition outside the queue's lock, so a waiter may wake before the last
  // event is told: wait for it (bounded) rather than race it.
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(events_mutex);
      if (events.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard lock(events_mutex);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].status, "queued");
  EXPECT_EQ(events[1].status, "running");
  EXPECT_EQ(events[2].status, "succeeded");
  EXPECT_EQ(events[2].runner, "analyst");
  EXPECT_EQ(events[2].query_id, submitted->query_id);

  // Forgotten from memory, the run is answered from the catalog.
  queue.Forget(submitted->query_id);
  absl::StatusOr<RunView> later = queue.Show(As("analyst"), "room", submitted->query_id);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->status, "succeeded");
  EXPECT_FALSE(later->outcome.has_value());
}

TEST_F(RunQueueTest, ARejectedOrInvalidQueryIsAnsweredAtSubmission) {
  RunQueue& queue = Queue();
  Ok(service_->SetRule(
      As("owner"), "room", "sales",
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"], "disallowed_output_columns": ["amount"]})"));
  absl::StatusOr<RunView> rejected = Submit(queue, "analyst", "SELECT amount FROM sales");
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->status, "rejected");
  ASSERT_TRUE(rejected->outcome.has_value());
  EXPECT_FALSE(rejected->outcome->explanation.verdict.allowed());
  EXPECT_EQ(Listed("analyst", rejected->query_id), "rejected");
  absl::StatusOr<RunView> invalid = Submit(queue, "analyst", "SELECT nope FROM sales");
  EXPECT_TRUE(absl::IsInvalidArgument(invalid.status())) << invalid.status();
  EXPECT_EQ(queue.queued() + queue.running(), 0);
}

TEST_F(RunQueueTest, OnlyItsRunnerSeesWaitsForOrCancelsARun) {
  RunQueue& queue = Queue();
  absl::StatusOr<RunView> submitted = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  int64_t id = submitted->query_id;
  absl::Status missing =
      absl::NotFoundError(absl::StrCat("query ", id + 100, " not found in collaboration 'room'"));
  absl::Status theirs =
      absl::NotFoundError(absl::StrCat("query ", id, " not found in collaboration 'room'"));
  EXPECT_EQ(queue.Show(As("analyst"), "room", id + 100).status(), missing);
  EXPECT_EQ(queue.Show(As("other"), "room", id).status(), theirs);
  EXPECT_EQ(queue.Cancel(As("other"), "room", id).status(), theirs);
  EXPECT_EQ(queue.Wait(As("other"), "room", id, std::chrono::milliseconds(10)).status(), theirs);
  // An outsider is told what the service tells it for the room's queries.
  EXPECT_EQ(queue.Show(As("stranger"), "room", id).status(),
            service_->ListQueries(As("stranger"), "room").status());
  auto done = queue.Wait(As("analyst"), "room", id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "succeeded");
}

TEST_F(RunQueueTest, TheRunnerCancelsAQueuedOrARunningRun) {
  RunQueue& queue = Queue({.workers = 1});
  absl::StatusOr<RunView> slow = Submit(queue, "analyst", kSlow);
  ASSERT_TRUE(slow.ok()) << slow.status();
  AwaitRunning(queue, "analyst", slow->query_id);
  absl::StatusOr<RunView> waiting = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_EQ(waiting->status, "queued");
  EXPECT_EQ(waiting->queue_position, 1);

  absl::StatusOr<RunView> cancelled = queue.Cancel(As("analyst"), "room", waiting->query_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->status, "cancelled");
  EXPECT_EQ(cancelled->error, absl::CancelledError("cancelled by its runner before it ran"));
  EXPECT_EQ(Listed("analyst", waiting->query_id),
            "cancelled cancelled by its runner before it ran");

  ASSERT_TRUE(queue.Cancel(As("analyst"), "room", slow->query_id).ok());
  absl::StatusOr<RunView> stopped =
      queue.Wait(As("analyst"), "room", slow->query_id, std::chrono::seconds(30));
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->status, "cancelled");
  EXPECT_EQ(stopped->error, absl::CancelledError("query interrupted"));
  EXPECT_EQ(Listed("analyst", slow->query_id), "cancelled query interrupted");
}

TEST_F(RunQueueTest, TheQueueAndEachMemberAreBounded) {
  RunQueue& queue = Queue({.workers = 1, .max_queued = 1, .per_member = 2});
  absl::StatusOr<RunView> slow = Submit(queue, "analyst", kSlow);
  ASSERT_TRUE(slow.ok()) << slow.status();
  AwaitRunning(queue, "analyst", slow->query_id);
  absl::StatusOr<RunView> second = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<RunView> third = Submit(queue, "analyst", kQuick);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "member 'analyst' already has 2 queries queued or running, the most one member may "
            "have at once; wait for one to finish or cancel one");
  EXPECT_EQ(third.status().GetPayload(kRetryAfterPayload), absl::Cord("1"));
  absl::StatusOr<RunView> full = Submit(queue, "other", kQuick);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.status().message(),
            "the server's query queue is full (1 queries waiting); try again in a moment");
  // Refused before anything was checked or recorded: the catalog holds the two accepted runs.
  auto queries = service_->ListQueries(As("analyst"), "room");
  ASSERT_TRUE(queries.ok());
  EXPECT_EQ(queries->size(), 2u);
  ASSERT_TRUE(queue.Cancel(As("analyst"), "room", slow->query_id).ok());
  auto done = queue.Wait(As("analyst"), "room", second->query_id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, "succeeded");
  // Room again once they ended.
  absl::StatusOr<RunView> again = Submit(queue, "analyst", kQuick);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(RunQueueTest, TheTimeLimitCancelsARun) {
  RunQueue& queue = Queue({.timeout = std::chrono::milliseconds(300)});
  absl::StatusOr<RunView> slow = Submit(queue, "analyst", kSlow);
  ASSERT_TRUE(slow.ok()) << slow.status();
  auto done = queue.Wait(As("analyst"), "room", slow->query_id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "cancelled");
  EXPECT_EQ(done->error, absl::DeadlineExceededError("query exceeded the time limit of 0.3 s"));
  EXPECT_EQ(Listed("analyst", slow->query_id), "cancelled query exceeded the time limit of 0.3 s");
}

TEST_F(RunQueueTest, DrainingCancelsWhatCannotFinishAndRefusesNewRuns) {
  RunQueue& queue = Queue({.workers = 2});
  absl::StatusOr<RunView> quick = Submit(queue, "other", kQuick);
  absl::StatusOr<RunView> slow = Submit(queue, "analyst", kSlow);
  absl::StatusOr<RunView> slow2 = Submit(queue, "analyst", kSlow);
  absl::StatusOr<RunView> queued = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(quick.ok() && slow.ok() && slow2.ok() && queued.ok());
  AwaitRunning(queue, "analyst", slow->query_id);
  AwaitRunning(queue, "analyst", slow2->query_id);
  auto start = std::chrono::steady_clock::now();
  queue.Drain(std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(Listed("other", quick->query_id), "succeeded");
  EXPECT_EQ(Listed("analyst", slow->query_id), "cancelled query interrupted");
  EXPECT_EQ(Listed("analyst", slow2->query_id), "cancelled query interrupted");
  EXPECT_EQ(Listed("analyst", queued->query_id),
            "cancelled cancelled: the server is shutting down");
  EXPECT_EQ(Submit(queue, "analyst", kQuick).status(),
            absl::UnavailableError("the server is shutting down and accepts no new queries; try "
                                   "again once it is back"));
  // Every run is recorded: the Service's run journal (one file, held while it lives) lists no
  // open run, so it goes with the Service.
  queue_.reset();
  service_.reset();
  EXPECT_TRUE(fs::is_empty(dir_ / "home" / "running")) << "every run lock is released";
}

// --- Awaited runs: the server's synchronous RunQuery and RunTemplate -----------------------------

// Issue 8: a synchronous run is recorded once, when it ends, as Service::Run records it: while it
// runs the catalog holds nothing of it; afterwards it holds the three entries of a run recorded
// running and then finished. It answers what Run answers, and the queue keeps nothing of it.
TEST_F(RunQueueTest, AnAwaitedRunIsRecordedOnceWhenItEnds) {
  int64_t records_during = -1, entries_during = -1;
  auto query_entries = [this] {
    auto entries = service_->ListAudit(As("analyst"), "room");
    if (!entries.ok()) return int64_t{-100};
    return static_cast<int64_t>(std::count_if(
        entries->begin(), entries->end(),
        [](const catalog::AuditEntry& entry) { return entry.action.rfind("query.", 0) == 0; }));
  };
  Options options;
  options.promote_after = std::chrono::hours(1);  // however slow the machine: never promoted
  options.before_delivery = [&] {
    auto queries = service_->ListQueries(As("analyst"), "room");
    records_during = queries.ok() ? static_cast<int64_t>(queries->size()) : -100;
    entries_during = query_entries();
  };
  Reopen(std::move(options));
  RunQueue& queue = Queue();
  absl::StatusOr<QueryOutcome> outcome = Awaited(queue, "analyst", kQuick);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->query_id, 1);
  EXPECT_EQ(outcome->row_count, 100);
  EXPECT_EQ(records_during, 0);
  EXPECT_EQ(entries_during, 0);
  EXPECT_EQ(Listed("analyst", 1), "succeeded");
  auto entries = service_->ListAudit(As("analyst"), "room");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_GE(entries->size(), 3u);
  EXPECT_EQ((*entries)[entries->size() - 3].action, "query.submitted");
  EXPECT_EQ((*entries)[entries->size() - 2].action, "query.started");
  EXPECT_EQ(entries->back().action, "query.finished");
  EXPECT_EQ(query_entries(), 3);
  // Not held by the queue: its status is the catalog's, for its runner only.
  EXPECT_EQ(queue.queued() + queue.running(), 0);
  absl::StatusOr<RunView> shown = queue.Show(As("analyst"), "room", 1);
  ASSERT_TRUE(shown.ok()) << shown.status();
  EXPECT_EQ(shown->status, "succeeded");
  EXPECT_FALSE(shown->outcome.has_value());
  // A rejected query is answered with its verdict, recorded as Run records it.
  Ok(service_->SetRule(
      As("owner"), "room", "sales",
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"], "disallowed_output_columns": ["amount"]})"));
  absl::StatusOr<QueryOutcome> rejected = Awaited(queue, "analyst", "SELECT amount FROM sales");
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_FALSE(rejected->explanation.verdict.allowed());
  EXPECT_EQ(Listed("analyst", rejected->query_id), "rejected");
  EXPECT_TRUE(
      absl::IsInvalidArgument(Awaited(queue, "analyst", "SELECT nope FROM sales").status()));
  EXPECT_EQ(queue.queued() + queue.running(), 0);
}

// Nobody can follow an awaited run, so the engine estimates no progress for it: it runs on the
// same pooled sessions as an embedded run (one session opened for both), while a run followed by
// id estimates progress and so needs a session of its own.
TEST_F(RunQueueTest, AnAwaitedRunEstimatesNoProgress) {
  std::atomic<int> opened = 0;
  Options options;
  options.on_session_opened = [&opened] { ++opened; };
  Reopen(std::move(options));
  RunQueue& queue = Queue();
  ASSERT_TRUE(Awaited(queue, "analyst", kQuick).ok());
  EXPECT_EQ(opened.load(), 1);
  ASSERT_TRUE(Awaited(queue, "other", kQuick).ok());
  ASSERT_TRUE(service_->Run(As("analyst"), "room", kQuick, {}).ok());
  EXPECT_EQ(opened.load(), 1) << "the awaited and embedded runs share one session";
  absl::StatusOr<RunView> followed = Submit(queue, "analyst", kQuick);
  ASSERT_TRUE(followed.ok()) << followed.status();
  auto done = queue.Wait(As("analyst"), "room", followed->query_id, std::chrono::seconds(30));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "succeeded");
  EXPECT_EQ(opened.load(), 2) << "a followed run estimates progress: a session of its own";
}

// An awaited run takes a place in the same bounded queue: it waits its turn behind the running
// ones, and a full queue or a member at its limit is refused at once (ResourceExhausted with a
// Retry-After: the server's 429), before anything is checked or recorded.
TEST_F(RunQueueTest, AnAwaitedRunIsBoundedLikeASubmission) {
  RunQueue& queue = Queue({.workers = 1, .max_queued = 1, .per_member = 2});
  absl::StatusOr<RunView> slow = Submit(queue, "analyst", kSlow);
  ASSERT_TRUE(slow.ok()) << slow.status();
  AwaitRunning(queue, "analyst", slow->query_id);
  absl::StatusOr<QueryOutcome> waited = absl::UnknownError("not run");
  std::thread waiting([&] { waited = Awaited(queue, "analyst", kQuick); });
  AwaitQueue([&] { return queue.queued() == 1; }, "one run waiting");
  absl::StatusOr<QueryOutcome> third = Awaited(queue, "analyst", kQuick);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "member 'analyst' already has 2 queries queued or running, the most one member may "
            "have at once; wait for one to finish or cancel one");
  EXPECT_EQ(third.status().GetPayload(kRetryAfterPayload), absl::Cord("1"));
  absl::StatusOr<QueryOutcome> full = Awaited(queue, "other", kQuick);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.status().message(),
            "the server's query queue is full (1 queries waiting); try again in a moment");
  EXPECT_EQ(full.status().GetPayload(kRetryAfterPayload), absl::Cord("1"));
  ASSERT_TRUE(queue.Cancel(As("analyst"), "room", slow->query_id).ok());
  waiting.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->row_count, 100);
  // The slow run and the one that waited; the refused ones left nothing.
  auto queries = service_->ListQueries(As("analyst"), "room");
  ASSERT_TRUE(queries.ok());
  EXPECT_EQ(queries->size(), 2u);
  EXPECT_EQ(Listed("analyst", waited->query_id), "succeeded");
  EXPECT_TRUE(Awaited(queue, "other", kQuick).ok()) << "room again once they ended";
}

// A drain abandons the awaited runs still waiting and interrupts the running ones: each caller is
// answered Cancelled, each run is recorded cancelled with its reason, and none is left in the
// run journal.
TEST_F(RunQueueTest, DrainingCancelsAwaitedRunsAndRecordsThem) {
  RunQueue& queue = Queue({.workers = 1});
  absl::StatusOr<QueryOutcome> running = absl::UnknownError("not run");
  absl::StatusOr<QueryOutcome> queued = absl::UnknownError("not run");
  std::thread first([&] { running = Awaited(queue, "analyst", kSlow); });
  AwaitQueue([&] { return queue.running() == 1; }, "one run running");
  std::thread second([&] { queued = Awaited(queue, "other", kQuick); });
  AwaitQueue([&] { return queue.queued() == 1; }, "one run waiting");
  queue.Drain(std::chrono::milliseconds(200));
  first.join();
  second.join();
  EXPECT_EQ(running.status(), absl::CancelledError("query interrupted"));
  EXPECT_EQ(queued.status(), absl::CancelledError("cancelled: the server is shutting down"));
  auto mine = service_->ListQueries(As("analyst"), "room");
  auto theirs = service_->ListQueries(As("other"), "room");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_EQ(mine->size(), 1u);
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ(Listed("analyst", (*mine)[0].id), "cancelled query interrupted");
  EXPECT_EQ(Listed("other", (*theirs)[0].id), "cancelled cancelled: the server is shutting down");
  EXPECT_EQ(Awaited(queue, "analyst", kQuick).status(),
            absl::UnavailableError("the server is shutting down and accepts no new queries; try "
                                   "again once it is back"));
  queue_.reset();
  service_.reset();
  EXPECT_TRUE(fs::is_empty(dir_ / "home" / "running")) << "every awaited run is recorded";
}

}  // namespace
}  // namespace parley::service
