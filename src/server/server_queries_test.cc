// Synchronous queries over HTTP (POST /api/v1/collaborations/{c}/queries) on a server with a run
// queue, in this process so that the service's test hooks can look inside: such a query is
// recorded in one catalog write when it ends (as an embedded one is), runs on a session without
// DuckDB's progress estimate (nobody can follow a run whose id it has not been told), and still
// takes a place in the bounded queue (429 with Retry-After when it is full).
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/local_service.h"
#include "gtest/gtest.h"
#include "identity/caller.h"
#include "server/server.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;

constexpr char kQuick[] = "SELECT region, amount FROM sales ORDER BY amount";
// Six copies of a 100-row table joined: far longer than any test waits.
constexpr char kSlow[] =
    "SELECT COUNT(*) AS n FROM sales a, sales b, sales c, sales d, sales e, sales f "
    "WHERE a.amount + b.amount + c.amount + d.amount + e.amount + f.amount > 0";

class ServerQueriesTest : public ::testing::Test {
 protected:
  // Starts a server whose service has `options` (run workers, limits, hooks) over a room where
  // "analyst" may query the retailer's table "sales".
  void Start(api::LocalServiceOptions options) {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_server_queries_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string csv = (dir_ / "sales.csv").string();
    {
      std::ofstream out(csv);
      out << "region,amount\n";
      for (int i = 1; i <= 100; ++i) out << (i % 2 ? "east" : "west") << "," << i << "\n";
    }
    service_ = std::make_unique<api::LocalService>((dir_ / "home").string(), std::move(options));
    ASSERT_TRUE(service_->InitServer("operator").ok());
    for (const char* name : {"retailer", "analyst"}) {
      auto issued = service_->AddOrganisation(identity::Caller::Embedded(""), {name});
      ASSERT_TRUE(issued.ok()) << issued.status();
      tokens_[name] = issued->token;
    }
    identity::Caller retailer = identity::Caller::Embedded("retailer");
    api::CreateCollaborationRequest room;
    room.name = "room";
    room.auto_approve = {"add_member"};
    ASSERT_TRUE(service_->CreateCollaboration(retailer, room).ok());
    ASSERT_TRUE(service_->AddMember(retailer, {"room", "analyst", {"query", "receive"}}).ok());
    api::AddTableRequest table;
    table.collaboration = "room";
    table.table = "sales";
    table.source = csv;
    auto added = service_->AddTable(retailer, table);
    ASSERT_TRUE(added.ok()) << added.status();
    auto rule = service_->SetRule(
        retailer, {"room", "sales", nlohmann::json::parse(R"({"kind": "custom", "any_query": true,
                                             "allowed_analysis_providers": ["analyst"]})"),
                   std::nullopt});
    ASSERT_TRUE(rule.ok()) << rule.status();
    auto server = Server::Create(*service_, Options{});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    thread_ = std::thread([this] { (void)server_->Serve(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    service_.reset();
    fs::remove_all(dir_);
  }

  struct Answer {
    int status = 0;
    nlohmann::json body;
    std::string text;
    std::string retry_after;
  };
  Answer Post(const std::string& path, const std::string& body, const char* as = "analyst") {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(tokens_[as]);
    client.set_read_timeout(60, 0);
    httplib::Result result = client.Post(path, body, "application/json");
    Answer answer;
    if (!result) {
      ADD_FAILURE() << "no answer to POST " << path;
      return answer;
    }
    answer.status = result->status;
    answer.text = result->body;
    answer.retry_after = result->get_header_value("Retry-After");
    auto parsed = api::ParseJson(result->body);
    if (parsed.ok()) answer.body = *parsed;
    return answer;
  }
  Answer Query(const std::string& sql) {
    return Post("/api/v1/collaborations/room/queries", nlohmann::json{{"sql", sql}}.dump());
  }
  Answer SubmitRun(const std::string& sql) {
    return Post("/api/v1/collaborations/room/runs", nlohmann::json{{"sql", sql}}.dump());
  }
  std::string RunStatus(int64_t id) {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(tokens_["analyst"]);
    httplib::Result result = client.Get(absl::StrCat("/api/v1/collaborations/room/runs/", id));
    if (!result) return "no answer";
    auto parsed = api::ParseJson(result->body);
    return parsed.ok() ? parsed->value("status", result->body) : result->body;
  }
  // The queries the analyst ran, as the service lists them.
  std::vector<api::Query> Queries() {
    auto listed = service_->ListQueries(identity::Caller::Embedded("analyst"), {"room"});
    return listed.ok() ? listed->queries : std::vector<api::Query>{};
  }
  std::vector<std::string> QueryEntries() {
    std::vector<std::string> actions;
    auto audit = service_->ListAudit(identity::Caller::Embedded("analyst"), {"room"});
    if (!audit.ok()) return {audit.status().ToString()};
    for (const api::AuditEntry& entry : audit->entries) {
      if (entry.action.rfind("query.", 0) == 0) actions.push_back(entry.action);
    }
    return actions;
  }

  fs::path dir_;
  std::unique_ptr<api::LocalService> service_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::string> tokens_;
};

// Issue 8: one catalog write per synchronous query. While the query runs the catalog holds
// nothing of it — no record, no entry (it is in the server's run journal) — and once answered it
// holds the three entries of a run, written together. Its session estimates no progress: a second
// synchronous query reuses it, and only a run followed by id (/runs) opens one that does.
TEST_F(ServerQueriesTest, ASynchronousQueryIsRecordedOnceOnASessionWithoutProgress) {
  std::atomic<int> opened = 0;
  size_t records_during = 99;
  std::vector<std::string> entries_during = {"not delivered"};
  api::LocalServiceOptions options;
  options.run_workers = 2;
  options.promote_after = std::chrono::hours(1);  // however slow the machine: never promoted
  options.on_session_opened = [&opened] { ++opened; };
  options.before_delivery = [&] {
    if (records_during != 99) return;  // the first query only
    records_during = Queries().size();
    entries_during = QueryEntries();
  };
  Start(std::move(options));
  if (HasFatalFailure()) return;

  Answer first = Query(kQuick);
  ASSERT_EQ(first.status, 200) << first.text;
  EXPECT_EQ(first.body["query_id"], 1);
  EXPECT_EQ(first.body["row_count"], 100);
  EXPECT_EQ(records_during, 0u);
  EXPECT_EQ(entries_during, std::vector<std::string>{});
  EXPECT_EQ(QueryEntries(),
            (std::vector<std::string>{"query.submitted", "query.started", "query.finished"}));
  std::vector<api::Query> queries = Queries();
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0].status, "succeeded");
  EXPECT_EQ(opened.load(), 1);

  Answer second = Query(kQuick);
  ASSERT_EQ(second.status, 200) << second.text;
  EXPECT_EQ(second.body["query_id"], 2);
  EXPECT_EQ(opened.load(), 1) << "the second synchronous query reuses the first one's session";

  Answer submitted = SubmitRun(kQuick);
  ASSERT_EQ(submitted.status, 200) << submitted.text;
  int64_t id = submitted.body["query_id"];
  Answer waited = Post(absl::StrCat("/api/v1/collaborations/room/runs/", id, "/wait"), "{}");
  ASSERT_EQ(waited.status, 200) << waited.text;
  EXPECT_EQ(waited.body["status"], "succeeded") << waited.text;
  EXPECT_EQ(opened.load(), 2) << "a run followed by id estimates progress: a session of its own";
}

// A synchronous query takes a place in the same bounded queue as the runs followed by id: with
// the one worker busy and the one place taken, it is answered 429 with Retry-After at once, and
// nothing of it is recorded.
TEST_F(ServerQueriesTest, ASynchronousQueryOnAFullQueueIsAnswered429) {
  api::LocalServiceOptions options;
  options.run_workers = 1;
  options.max_queued_runs = 1;
  Start(std::move(options));
  if (HasFatalFailure()) return;
  Answer slow = SubmitRun(kSlow);
  ASSERT_EQ(slow.status, 200) << slow.text;
  int64_t slow_id = slow.body["query_id"];
  for (int i = 0; i < 500 && RunStatus(slow_id) != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(RunStatus(slow_id), "running");
  Answer waiting = SubmitRun(kQuick);
  ASSERT_EQ(waiting.status, 200) << waiting.text;
  EXPECT_EQ(waiting.body["status"], "queued");

  Answer refused = Query(kQuick);
  EXPECT_EQ(refused.status, 429) << refused.text;
  EXPECT_EQ(refused.retry_after, "1");
  EXPECT_EQ(refused.text,
            R"({"error":{"code":"RESOURCE_EXHAUSTED","message":"the server's query queue is full )"
            R"((1 queries waiting); try again in a moment"}})");
  EXPECT_EQ(Queries().size(), 2u) << "the refused query left no record";

  Answer cancelled =
      Post(absl::StrCat("/api/v1/collaborations/room/runs/", slow_id, "/cancel"), "{}");
  ASSERT_EQ(cancelled.status, 200) << cancelled.text;
  int64_t waiting_id = waiting.body["query_id"];
  Answer waited =
      Post(absl::StrCat("/api/v1/collaborations/room/runs/", waiting_id, "/wait"), "{}");
  EXPECT_EQ(waited.body["status"], "succeeded") << waited.text;
  Answer ran = Query(kQuick);  // room again
  ASSERT_EQ(ran.status, 200) << ran.text;
  EXPECT_EQ(ran.body["row_count"], 100);
}

}  // namespace
}  // namespace parley::server
