// What the catalog promises without an fsync per query (docs/audit.md, "Durability"), and what
// its policy cache must not weaken: a query recorded and delivered survives a kill of the process
// right after the run returned, and an edit of the catalog from outside, made while a long-lived
// Service is open and has its policy cached, is still refused at the next query.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr char kRule[] = R"({"kind": "aggregation",
  "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
  "dimension_columns": ["age_band"],
  "output_constraints": [{"column": "household_id", "minimum": 5, "type": "count_distinct"}]})";

constexpr char kQuery[] =
    "SELECT age_band, COUNT(DISTINCT household_id) AS n FROM retail GROUP BY age_band "
    "ORDER BY age_band";

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_durability_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string retail = "household_id,age_band\n";
    for (int i = 1; i <= 40; ++i) {
      absl::StrAppendFormat(&retail, "%d,%s\n", i, i % 4 == 0 ? "65+" : "18-64");
    }
    std::ofstream(dir_ / "retail.csv") << retail;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Home() const { return (dir_ / "home").string(); }

  // A collaboration where the retailer owns `retail` under kRule and may query and receive.
  static absl::Status SetUpCampaign(Service& service, const std::string& csv) {
    identity::Caller retailer = identity::Caller::Embedded("retailer");
    PARLEY_RETURN_IF_ERROR(service.CreateCollaboration(
        retailer, {.name = "campaign",
                   .creator_abilities = {identity::Ability::kQuery, identity::Ability::kReceive}}));
    PARLEY_RETURN_IF_ERROR(service.AddTable(retailer, {"campaign", "retail", csv, {}}));
    return service.SetRule(retailer, "campaign", "retail", kRule);
  }

  fs::path dir_;
};

// The process dies by SIGKILL the moment Run has returned the rows (no destructor, no exit
// handler runs): the query's record, its audit entries and its result are all there for the next
// process, although nothing about the query was fsynced.
TEST_F(DurabilityTest, ARunAndItsResultSurviveAKillOfTheProcessRightAfterItReturned) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  // Nothing in this process has started a thread yet: the child may create its own.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto opened = Service::Open(Home(), {});
    if (!opened.ok() || !SetUpCampaign(**opened, (dir_ / "retail.csv").string()).ok()) _exit(2);
    auto outcome = (*opened)->Run(identity::Caller::Embedded("retailer"), "campaign", kQuery, {});
    if (!outcome.ok() || !outcome->result.has_value()) _exit(3);
    int64_t id = outcome->query_id;
    if (::write(pipe_fds[1], &id, sizeof(id)) != sizeof(id)) _exit(4);
    ::kill(::getpid(), SIGKILL);
    _exit(5);  // not reached
  }
  ::close(pipe_fds[1]);
  int64_t id = 0;
  ssize_t got = ::read(pipe_fds[0], &id, sizeof(id));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof(id)));

  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), {}));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK_AND_ASSIGN(std::vector<QueryView> queries, service->ListQueries(retailer, "campaign"));
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].id, id);
  EXPECT_EQ(queries[0].status, "succeeded");
  EXPECT_EQ(queries[0].row_count, 2);
  ASSERT_OK_AND_ASSIGN(engine::ResultTable result, service->Result(retailer, "campaign", id));
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_THAT(result.rows[0], ElementsAre("18-64", "30"));
  EXPECT_THAT(result.rows[1], ElementsAre("65+", "10"));
  std::vector<std::string> actions;
  ASSERT_OK_AND_ASSIGN(auto entries, service->ListAudit(retailer, "campaign"));
  for (const catalog::AuditEntry& entry : entries) actions.push_back(entry.action);
  EXPECT_THAT(actions, ElementsAre("collaboration.create", "table.add", "rule.set",
                                   "query.submitted", "query.started", "query.finished"));
  ASSERT_OK_AND_ASSIGN(catalog::AuditVerification verification,
                       service->VerifyAudit(retailer, "campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// The Service caches the policy it read (and its digest) between queries; a rule rewritten in the
// catalog file by another connection — the sqlite3 shell, say — between two queries of the same
// Service is still read, digested and refused.
TEST_F(DurabilityTest, AnOutsideEditBetweenTwoQueriesOfALongLivedServiceIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), {}));
  ASSERT_OK(SetUpCampaign(*service, (dir_ / "retail.csv").string()));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK(service->Run(retailer, "campaign", kQuery, {}).status());
  ASSERT_OK(service->Run(retailer, "campaign", kQuery, {}).status());  // from the cache

  sqlite3* outside = nullptr;
  ASSERT_EQ(sqlite3_open((fs::path(Home()) / "catalog.db").c_str(), &outside), SQLITE_OK);
  // The threshold lowered from 5 to 1, however the stored rule text is spaced.
  ASSERT_EQ(sqlite3_exec(outside,
                         "UPDATE tables SET rule_json = replace(replace(rule_json, "
                         "'\"minimum\": 5', '\"minimum\": 1'), '\"minimum\":5', "
                         "'\"minimum\":1') WHERE name = 'retail'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(
                outside,
                "SELECT 1 FROM tables WHERE name = 'retail' AND rule_json NOT LIKE "
                "'%\"minimum\":1,%' AND rule_json NOT LIKE '%\"minimum\": 1,%'",
                [](void*, int, char**, char**) { return 1; }, nullptr, nullptr),
            SQLITE_OK)
      << "the rule was not edited";
  sqlite3_close(outside);

  const std::string refused =
      "collaboration 'campaign' was changed outside Parley (table 'retail' changed): its catalog "
      "records no longer match its audit log, so nothing can change or run in it until the "
      "catalog is restored";
  absl::StatusOr<QueryOutcome> run = service->Run(retailer, "campaign", kQuery, {});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(run.status().message(), refused);
  absl::Status rule = service->SetRule(retailer, "campaign", "retail", kRule);
  EXPECT_EQ(rule.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(std::vector<QueryView> queries, service->ListQueries(retailer, "campaign"));
  EXPECT_EQ(queries.size(), 2u);  // the refused run was not recorded
}

// A rule changed through the same Service is a policy change the cache must not hide: the next
// query is checked against the new rule.
TEST_F(DurabilityTest, APolicyChangeThroughTheServiceReachesTheNextQuery) {
  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), {}));
  ASSERT_OK(SetUpCampaign(*service, (dir_ / "retail.csv").string()));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK_AND_ASSIGN(QueryOutcome first, service->Run(retailer, "campaign", kQuery, {}));
  ASSERT_TRUE(first.result.has_value());
  EXPECT_EQ(first.result->rows.size(), 2u);
  std::string stricter = kRule;
  stricter.replace(stricter.find("\"minimum\": 5"), 12, "\"minimum\": 20");
  ASSERT_OK(service->SetRule(retailer, "campaign", "retail", stricter));
  ASSERT_OK_AND_ASSIGN(QueryOutcome second, service->Run(retailer, "campaign", kQuery, {}));
  ASSERT_TRUE(second.result.has_value());
  ASSERT_EQ(second.result->rows.size(), 1u);  // the group of 10 is now below the threshold
  EXPECT_THAT(second.result->rows[0], ElementsAre("18-64", "30"));
}

// What a connection from outside reads: an integer (0 when the statement yields no row).
int64_t OutsideCount(const fs::path& catalog, const std::string& sql) {
  sqlite3* outside = nullptr;
  if (sqlite3_open(catalog.c_str(), &outside) != SQLITE_OK) return -1;
  sqlite3_stmt* statement = nullptr;
  int64_t count = -1;
  if (sqlite3_prepare_v2(outside, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK) {
    count = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
  }
  sqlite3_finalize(statement);
  sqlite3_close(outside);
  return count;
}

// The run journals under HOME/running, concatenated.
std::string Journals(const std::string& home) {
  std::string text;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(fs::path(home) / "running", error)) {
    std::ifstream in(entry.path());
    text += std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  return text;
}

// Issue 7: a synchronous run is recorded in one write, when it ends. Until then the catalog holds
// nothing of it (no record, no entry) and the Service's run journal lists it; afterwards the
// catalog holds the entries a run recorded running and then finished has.
TEST_F(DurabilityTest, ARunIsRecordedInOneWriteWhenItEnds) {
  fs::path catalog = fs::path(Home()) / "catalog.db";
  int64_t records_during = -1, entries_during = -1;
  std::string journal_during;
  Options options;
  options.promote_after = std::chrono::hours(1);  // however slow the machine: never promoted
  options.before_delivery = [&] {
    records_during = OutsideCount(catalog, "SELECT COUNT(*) FROM queries");
    entries_during =
        OutsideCount(catalog, "SELECT COUNT(*) FROM audit WHERE action LIKE 'query.%'");
    journal_during = Journals(Home());
  };
  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), options));
  ASSERT_OK(SetUpCampaign(*service, (dir_ / "retail.csv").string()));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK_AND_ASSIGN(QueryOutcome outcome, service->Run(retailer, "campaign", kQuery, {}));
  EXPECT_EQ(outcome.query_id, 1);
  EXPECT_EQ(records_during, 0);
  EXPECT_EQ(entries_during, 0);
  EXPECT_THAT(journal_during, ::testing::HasSubstr("\nS run-"));
  EXPECT_THAT(journal_during, ::testing::HasSubstr(R"("runner":"retailer")"));
  EXPECT_EQ(OutsideCount(catalog, "SELECT COUNT(*) FROM queries WHERE status = 'succeeded'"), 1);
  std::vector<std::string> actions;
  ASSERT_OK_AND_ASSIGN(auto entries, service->ListAudit(retailer, "campaign"));
  for (const catalog::AuditEntry& entry : entries) actions.push_back(entry.action);
  EXPECT_THAT(actions, ElementsAre("collaboration.create", "table.add", "rule.set",
                                   "query.submitted", "query.started", "query.finished"));
  // The three entries came in one commit: a second run adds three more, nothing in between.
  ASSERT_OK(service->Run(retailer, "campaign", kQuery, {}).status());
  EXPECT_EQ(OutsideCount(catalog, "SELECT COUNT(*) FROM audit WHERE action LIKE 'query.%'"), 6);
}

// The process dies while a deferred run is under way (here: after it ran, before it was
// recorded): the next process finds the run in the dead process's journal and records it as
// killed — the owners' logs show it as they show a run recorded running whose process died —
// and removes the journal.
TEST_F(DurabilityTest, ADeferredRunWhoseProcessDiesIsRecordedKilled) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    Options options;
    options.promote_after = std::chrono::hours(1);
    options.before_delivery = [&] {
      char ready = 1;
      if (::write(pipe_fds[1], &ready, 1) != 1) _exit(4);
      ::pause();  // killed here
    };
    auto opened = Service::Open(Home(), options);
    // Nothing in this process has started a thread yet: the child may create its own.
    if (!opened.ok() || !SetUpCampaign(**opened, (dir_ / "retail.csv").string()).ok()) _exit(2);
    (void)(*opened)->Run(identity::Caller::Embedded("retailer"), "campaign", kQuery, {});
    _exit(3);  // not reached
  }
  ::close(pipe_fds[1]);
  char ready = 0;
  ssize_t got = ::read(pipe_fds[0], &ready, 1);
  ::close(pipe_fds[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(got, 1) << "the child did not reach the delivery";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_THAT(Journals(Home()), ::testing::HasSubstr("\nS run-"));

  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), {}));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK_AND_ASSIGN(std::vector<QueryView> queries, service->ListQueries(retailer, "campaign"));
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].status, "killed");
  std::vector<std::string> actions;
  ASSERT_OK_AND_ASSIGN(auto entries, service->ListAudit(retailer, "campaign"));
  for (const catalog::AuditEntry& entry : entries) actions.push_back(entry.action);
  EXPECT_THAT(actions, ElementsAre("collaboration.create", "table.add", "rule.set",
                                   "query.submitted", "query.started", "query.killed"));
  EXPECT_TRUE(fs::is_empty(fs::path(Home()) / "running")) << "the dead journal is removed";
  // Recorded once: another look finds nothing more.
  ASSERT_OK_AND_ASSIGN(queries, service->ListQueries(retailer, "campaign"));
  EXPECT_EQ(queries.size(), 1u);
  ASSERT_OK_AND_ASSIGN(catalog::AuditVerification verification,
                       service->VerifyAudit(retailer, "campaign"));
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// A deferred run still going after Options::promote_after is recorded running meanwhile (so a
// listing shows it), and finished when it ends: the same entries, one record.
TEST_F(DurabilityTest, ALongRunShowsAsRunningWhileItRuns) {
  fs::path catalog = fs::path(Home()) / "catalog.db";
  int64_t running_during = -1;
  Options options;
  options.promote_after = std::chrono::milliseconds(1);
  options.before_delivery = [&] {
    for (int waited = 0; waited < 500; ++waited) {
      running_during =
          OutsideCount(catalog, "SELECT COUNT(*) FROM queries WHERE status = 'running'");
      if (running_during == 1) return;
      ::usleep(10'000);
    }
  };
  ASSERT_OK_AND_ASSIGN(auto service, Service::Open(Home(), options));
  ASSERT_OK(SetUpCampaign(*service, (dir_ / "retail.csv").string()));
  identity::Caller retailer = identity::Caller::Embedded("retailer");
  ASSERT_OK_AND_ASSIGN(QueryOutcome outcome, service->Run(retailer, "campaign", kQuery, {}));
  EXPECT_EQ(running_during, 1);
  EXPECT_EQ(outcome.query_id, 1);
  ASSERT_TRUE(outcome.result.has_value());
  EXPECT_EQ(outcome.result->rows.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<QueryView> queries, service->ListQueries(retailer, "campaign"));
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].status, "succeeded");
  std::vector<std::string> actions;
  ASSERT_OK_AND_ASSIGN(auto entries, service->ListAudit(retailer, "campaign"));
  for (const catalog::AuditEntry& entry : entries) actions.push_back(entry.action);
  EXPECT_THAT(actions, ElementsAre("collaboration.create", "table.add", "rule.set",
                                   "query.submitted", "query.started", "query.finished"));
}

}  // namespace
}  // namespace parley::service
