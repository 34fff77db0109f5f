// Asynchronous queries and the server's reliability, through the real binary: `query run
// --detach`, `query status|wait|cancel`; SIGTERM drains (running queries finish or are cancelled
// within the grace, nothing is left "running"); SIGKILL at random moments under load loses
// nothing acknowledged — collaboration, members, rules, templates, delivered results — and
// in-flight runs come back failed with a reason; slow, stalled and endless clients are cut off
// (raw sockets) while others are served.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <random>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_support.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["agency"], )"
    R"("allowed_result_receivers": ["agency", "retailer"]})";
constexpr char kQuick[] = "SELECT segment, COUNT(*) AS n FROM audience GROUP BY segment ORDER BY 1";
// Six copies of a 200-row table joined: far longer than any test waits.
constexpr char kSlow[] =
    "SELECT COUNT(*) AS n FROM audience a, audience b, audience c, audience d, audience e, "
    "audience f WHERE a.age + b.age + c.age + d.age + e.age + f.age > 0";

class ServerRunsE2eTest : public ServedHomeTest {
 protected:
  void SetUp() override {
    ServedHomeTest::SetUp();
    if (HasFatalFailure()) return;
    std::string csv = "user_id,segment,age\n";
    for (int i = 0; i < 200; ++i) {
      absl::StrAppend(&csv, "u", i, ",", i % 3 == 0 ? "a" : "b", ",", 20 + i % 50, "\n");
    }
    WriteText(dir_ / "audience.csv", csv);
    // Set up in embedded mode on the server's home, before it serves.
    Home({"org", "add", "retailer", "--save-token", TokenFile("retailer")});
    Home({"org", "add", "agency", "--save-token", TokenFile("agency")});
    Home({"--as", "retailer", "collaboration", "create", "room"});
    Home({"--as", "retailer", "member", "add", "-c", "room", "agency", "--abilities",
          "query,receive"});
    Home({"--as", "retailer", "table", "add", "-c", "room", "audience", "--source",
          (dir_ / "audience.csv").string()});
    Home({"--as", "retailer", "rule", "set", "-c", "room", "audience", "--json", kRule});
    home_ = server_home_.string();
  }

  void Home(std::vector<std::string> arguments) {
    Outcome outcome = Embedded(std::move(arguments));
    ASSERT_EQ(outcome.exit_code, 0) << outcome;
  }

  int64_t Detach(const std::string& sql) {
    Outcome submitted = Remote("agency", {"query", "run", "-c", "room", "--sql", sql, "--detach"});
    EXPECT_EQ(submitted.exit_code, 0) << submitted;
    return std::atoll(submitted.out.c_str());
  }
  std::string Status(int64_t id, const std::string& organisation = "agency") {
    Outcome status = Remote(organisation, {"query", "status", "-c", "room", std::to_string(id)});
    return status.exit_code == 0 ? status.out : status.err;
  }
  void AwaitStatus(int64_t id, const std::string& prefix) {
    std::string last;
    for (int i = 0; i < 300; ++i) {
      last = Status(id);
      if (last.rfind(prefix, 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "query " << id << " never reached '" << prefix << "': " << last;
  }

  std::string home_;  // the server's
};

TEST_F(ServerRunsE2eTest, ARunIsSubmittedFollowedWaitedForAndCancelledByItsRunnerOnly) {
  StartServer();
  Outcome sync = Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick});
  ASSERT_EQ(sync.exit_code, 0) << sync;
  EXPECT_EQ(sync.out, "segment | n\n--------+----\na       |  67\nb       | 133\n(2 rows)\n");
  EXPECT_EQ(sync.err, "query 1: 2 rows for agency\n");

  Outcome detached = Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick, "--detach"});
  ASSERT_EQ(detached.exit_code, 0) << detached;
  EXPECT_EQ(detached.out, "2\n");
  EXPECT_EQ(detached.err,
            "query 2 queued; follow it with: parley query status|wait|cancel -c room 2\n");
  Outcome waited = Remote("agency", {"query", "wait", "-c", "room", "2"});
  EXPECT_EQ(waited.exit_code, 0) << waited;
  EXPECT_EQ(waited.out, sync.out);
  EXPECT_EQ(waited.err, "query 2: 2 rows for agency\n");
  EXPECT_EQ(Status(2), "query 2  succeeded\n");

  int64_t slow = Detach(kSlow);
  AwaitStatus(slow, absl::StrCat("query ", slow, "  running"));
  // Another member is answered as for a run that does not exist.
  EXPECT_EQ(Status(slow, "retailer"),
            absl::StrCat("error: query ", slow, " not found in collaboration 'room'\n"));
  EXPECT_EQ(Status(99, "agency"), "error: query 99 not found in collaboration 'room'\n");
  Outcome refused = Remote("retailer", {"query", "cancel", "-c", "room", std::to_string(slow)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            absl::StrCat("error: query ", slow, " not found in collaboration 'room'\n"));

  Outcome cancel = Remote("agency", {"query", "cancel", "-c", "room", std::to_string(slow)});
  EXPECT_EQ(cancel.exit_code, 0) << cancel;
  Outcome ended = Remote("agency", {"query", "wait", "-c", "room", std::to_string(slow)});
  EXPECT_EQ(ended.exit_code, kExitError) << ended;
  EXPECT_EQ(ended.err, "error: query interrupted\n");
  EXPECT_EQ(Status(slow), absl::StrCat("query ", slow, "  cancelled: query interrupted\n"));

  // --json: the run's status object; a rejected query is answered at submission as before.
  Outcome json = Remote("agency", {"--json", "query", "status", "-c", "room", "2"});
  nlohmann::json status = nlohmann::json::parse(json.out, nullptr, false);
  EXPECT_EQ(status["status"], "succeeded") << json;
  Outcome rejected = Remote("agency", {"query", "run", "-c", "room", "--sql",
                                       "SELECT user_id FROM audience", "--detach"});
  Outcome rejected_sync =
      Remote("agency", {"query", "run", "-c", "room", "--sql", "SELECT user_id FROM audience"});
  EXPECT_EQ(rejected.exit_code, rejected_sync.exit_code);

  // Embedded mode runs while it waits: --detach is refused, status needs a server.
  Outcome local = Spawn({"--home", home_, "--as", "agency", "query", "run", "-c", "room", "--sql",
                         kQuick, "--detach"},
                        scratch_);
  EXPECT_EQ(local.exit_code, kExitUsage);
  EXPECT_EQ(local.err,
            "error: --detach needs a server (--server): here a query runs while the command "
            "waits\n");
}

TEST_F(ServerRunsE2eTest, SigtermLetsRunningQueriesFinishWithinTheGraceThenCancelsThem) {
  StartServer({"--drain-seconds", "1", "--query-workers", "2"});
  int64_t slow = Detach(kSlow);
  AwaitStatus(slow, absl::StrCat("query ", slow, "  running"));
  int64_t second = Detach(kSlow);
  AwaitStatus(second, absl::StrCat("query ", second, "  running"));
  int64_t queued = Detach(kQuick);
  EXPECT_THAT(Status(queued), StartsWith(absl::StrCat("query ", queued, "  queued")));
  auto start = std::chrono::steady_clock::now();
  int status = StopServer();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_THAT(ReadText(scratch_ / "server1_stdout.txt"), HasSubstr("parley serve: stopped"));

  StartServer();
  EXPECT_EQ(Status(slow), absl::StrCat("query ", slow, "  cancelled: query interrupted\n"));
  EXPECT_EQ(Status(second), absl::StrCat("query ", second, "  cancelled: query interrupted\n"));
  EXPECT_EQ(Status(queued), absl::StrCat("query ", queued,
                                         "  cancelled: cancelled: the server is shutting down\n"));
  Outcome verify = Spawn({"--home", home_, "audit", "verify"}, scratch_);
  EXPECT_EQ(verify.exit_code, 0) << verify;
}

// SIGKILL at a random moment while clients run queries and write metadata: after a restart,
// everything a client was told succeeded is there, no run is left "running", in-flight runs are
// failed with a reason, and the audit chain verifies. Repeated.
TEST_F(ServerRunsE2eTest, SigkillAtRandomMomentsUnderLoadLosesNothingAcknowledged) {
  std::mt19937 random(20261129);
  std::map<int64_t, std::string> delivered;  // query id → its result as printed
  std::vector<std::string> templates;        // templates whose creation was acknowledged
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    StartServer();
    std::vector<pid_t> clients;
    std::vector<std::string> names;
    for (int client = 0; client < 4; ++client) {
      std::string name = absl::StrCat("r", round, "c", client);
      fs::create_directories(scratch_ / name);
      std::vector<std::string> arguments = {"--server", url_, "--token-file", TokenFile("agency")};
      if (client == 3) {
        arguments.insert(arguments.end(), {"template", "create", "-c", "room", name, "--sql",
                                           "SELECT COUNT(*) AS n FROM audience"});
      } else {
        arguments.insert(arguments.end(), {"--json", "query", "run", "-c", "room", "--sql",
                                           client == 0 ? kSlow : kQuick});
      }
      clients.push_back(SpawnInBackground(arguments, scratch_ / name, "client"));
      names.push_back(name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(600 + random() % 1800));
    KillServer();
    for (size_t i = 0; i < clients.size(); ++i) {
      int status = 0;
      waitpid(clients[i], &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) continue;
      std::string out = ReadText(scratch_ / names[i] / "client_stdout.txt");
      if (i == 3) {
        templates.push_back(names[i]);
        continue;
      }
      nlohmann::json response = nlohmann::json::parse(out, nullptr, false);
      ASSERT_TRUE(response.is_object()) << out;
      delivered[response["query_id"].get<int64_t>()] = response["result"].dump();
    }
    StartServer();
    Outcome list = Remote("agency", {"--json", "query", "list", "-c", "room"});
    ASSERT_EQ(list.exit_code, 0) << list;
    nlohmann::json queries = nlohmann::json::parse(list.out)["queries"];
    for (const nlohmann::json& query : queries) {
      std::string status = query["status"];
      EXPECT_NE(status, "running") << query.dump();
      if (status == "killed") {
        int64_t id = query["id"];
        EXPECT_EQ(Status(id),
                  absl::StrCat("query ", id,
                               "  failed: the query stopped before it finished: the process "
                               "running it ended (the server was stopped or killed); nothing "
                               "was released; run it again\n"));
      }
    }
    for (const auto& [id, result] : delivered) {
      Outcome stored =
          Remote("agency", {"--json", "query", "result", "-c", "room", std::to_string(id)});
      ASSERT_EQ(stored.exit_code, 0) << "delivered result " << id << " lost\n" << stored;
      EXPECT_EQ(nlohmann::json::parse(stored.out)["result"].dump(), result);
    }
    Outcome listed = Remote("agency", {"template", "list", "-c", "room"});
    for (const std::string& name : templates) {
      EXPECT_THAT(listed.out, HasSubstr(name)) << "acknowledged template " << name << " lost";
    }
    Outcome room = Remote("retailer", {"--json", "collaboration", "show", "room"});
    EXPECT_EQ(room.exit_code, 0) << room;
    EXPECT_THAT(room.out, HasSubstr("\"agency\""));
    Outcome rule = Remote("retailer", {"--json", "table", "show", "-c", "room", "audience"});
    EXPECT_THAT(rule.out, HasSubstr("allowed_analysis_providers"));
    ASSERT_EQ(StopServer(), 0);
    Outcome verify = Spawn({"--home", home_, "audit", "verify"}, scratch_);
    EXPECT_EQ(verify.exit_code, 0) << verify;
  }
  EXPECT_FALSE(delivered.empty()) << "no run finished before a kill: the test proved nothing";
}

// A raw connection to the server; a recv waits at most `wait` (then fails with EAGAIN).
int Connect(int port, std::chrono::seconds wait = std::chrono::seconds(60)) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{static_cast<time_t>(wait.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}
bool Send(int fd, const std::string& text) {
  return send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}
// Everything the server sends until it closes the connection (or Connect's wait passes).
std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  return text;
}

// The server's first answer on a connection: its head and, when it says its Content-Length, that
// many bytes of body. One recv may return only part of it (a loaded machine splits the writes),
// so this reads on until the answer is whole, the connection ends, or Connect's wait passes.
std::string FirstReply(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    size_t head_end = text.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::smatch length;
      std::string head = text.substr(0, head_end);
      if (!std::regex_search(head, length,
                             std::regex("\r\nContent-Length: *([0-9]+)", std::regex::icase))) {
        return text;
      }
      if (text.size() >= head_end + 4 + std::stoul(length[1].str())) return text;
    }
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) return text;
    text.append(buffer, static_cast<size_t>(got));
  }
}

// Whether the server has closed (or reset) the connection: reads what is left until the end;
// false when Connect's wait passed with the connection still open.
bool ClosedByServer(int fd) {
  char buffer[4096];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got == 0) return true;
    if (got < 0) return errno == ECONNRESET || errno == EPIPE;
  }
}

// Whether the connection is still open now, without waiting: nothing to read and no end seen.
bool StillOpen(int fd) {
  pollfd poll_fd{fd, POLLIN, 0};
  return poll(&poll_fd, 1, 0) == 0;
}

// Each bound below waits on something the test observes (a reply, the connection's end), with
// room for a loaded machine; none races the server's own timeout.
TEST_F(ServerRunsE2eTest, SlowStalledAndEndlessClientsAreCutOffWhileOthersAreServed) {
  constexpr int kReadTimeout = 10;
  StartServer({"--threads", "8", "--read-timeout", std::to_string(kReadTimeout)});
  // Clients that open a connection and send half a request line, then nothing: each holds one of
  // the 8 workers until the read timeout.
  std::vector<int> stalled;
  auto stalled_since = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(Send(fd, "GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n"));
    stalled.push_back(fd);
  }
  // Meanwhile others are served: the answer comes while every stalled connection is still held
  // (the server cannot cut them before its read timeout).
  Outcome whoami = Remote("agency", {"whoami"});
  EXPECT_EQ(whoami.exit_code, 0) << whoami;
  EXPECT_EQ(whoami.out, "agency\n");
  bool before_timeout =
      std::chrono::steady_clock::now() - stalled_since < std::chrono::seconds(kReadTimeout);
  for (int fd : stalled) {
    // (Only meaningful when the answer came before the timeout; the server cannot have cut them
    // sooner, so this holds unless the machine took longer than the timeout to run `whoami`.)
    if (before_timeout) EXPECT_TRUE(StillOpen(fd)) << "a stalled client was cut too early";
  }

  // A client whose body never ends: chunks, as fast as it can (cpp-httplib alone would read them
  // all, without limit). It is answered 411 at once.
  int endless = Connect(port_);
  ASSERT_GE(endless, 0);
  ASSERT_TRUE(Send(endless,
                   "POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   "x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, ' '), "\r\n");
  std::thread flood([&] {
    for (int sent = 0; sent < 256 && Send(endless, chunk); ++sent) {
    }
    shutdown(endless, SHUT_WR);
  });
  std::string answer = FirstReply(endless);
  flood.join();
  close(endless);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 411")) << answer.substr(0, 200);
  EXPECT_THAT(answer, HasSubstr("send the request body with a Content-Length, not chunked"));
  // One that announces a body larger than the limit is answered before any of it is read (had
  // the server waited for the body, the read timeout would have ended it with a 400 or nothing).
  int huge = Connect(port_);
  ASSERT_TRUE(Send(huge,
                   "POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   "application/json\r\nContent-Length: 10000000000\r\n\r\n{"));
  answer = FirstReply(huge);
  close(huge);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413")) << answer.substr(0, 200);
  EXPECT_THAT(answer, HasSubstr("the request body is too large"));

  // The stalled connections are cut once the read timeout has passed, with a 400 or nothing.
  for (int fd : stalled) {
    std::string rest = ReadAll(fd);
    EXPECT_GE(std::chrono::steady_clock::now() - stalled_since,
              std::chrono::seconds(kReadTimeout) - std::chrono::milliseconds(100));
    close(fd);
    EXPECT_TRUE(rest.empty() || rest.rfind("HTTP/1.1 400", 0) == 0) << rest.substr(0, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - stalled_since, std::chrono::seconds(55))
      << "the stalled clients were not cut";
  // A client that vanishes mid-request (connects, sends half, closes) leaves the server serving.
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(port_);
    Send(fd, "POST /api/v1/collaborations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na");
    close(fd);
  }
  EXPECT_EQ(Remote("agency", {"whoami"}).out, "agency\n");
}

// A client that goes on sending after it was answered 411 (chunked) or 413 (too large) is
// disconnected: the server does not read on, nor parse what follows as further requests.
TEST_F(ServerRunsE2eTest, AClientFloodingAfterA411Or413IsDisconnected) {
  StartServer({"--threads", "4"});
  std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, ' '), "\r\n");
  struct Case {
    std::string head, status;
  };
  std::vector<Case> cases = {
      {"POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 411"},
      {"POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 100000000000\r\n\r\n",
       "HTTP/1.1 413"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.status);
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(Send(fd, test.head));
    // 4 GiB would take the server a while to swallow; a disconnected client fails long before.
    constexpr int kChunks = 65536;
    std::atomic<int> sent{0};
    std::thread flood([&] {
      while (sent < kChunks && Send(fd, chunk)) ++sent;
    });
    std::string answer = FirstReply(fd);
    EXPECT_THAT(answer, StartsWith(test.status)) << answer.substr(0, 200);
    EXPECT_THAT(answer, HasSubstr("Connection: close"));
    EXPECT_TRUE(ClosedByServer(fd)) << "the connection was left open";
    flood.join();
    EXPECT_LT(sent.load(), kChunks) << "the server read the whole flood";
    close(fd);
  }
  EXPECT_EQ(Remote("agency", {"whoami"}).out, "agency\n");
}

// The bounds of the run queue over HTTP: a member at its limit gets 429 with Retry-After and a
// message saying so, which the CLI prints (a full queue: run_queue_test).
TEST_F(ServerRunsE2eTest, AMemberAtItsLimitIsAnswered429WithRetryAfter) {
  StartServer({"--query-workers", "1", "--queries-per-member", "1", "--query-queue", "1"});
  int64_t slow = Detach(kSlow);
  AwaitStatus(slow, absl::StrCat("query ", slow, "  running"));
  Outcome second = Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick, "--detach"});
  EXPECT_EQ(second.exit_code, kExitError);
  EXPECT_EQ(second.err,
            "error: member 'agency' already has 1 queries queued or running, the most one member "
            "may have at once; wait for one to finish or cancel one\n");
  std::string token = Token("agency");
  std::string body = absl::StrCat("{\"sql\": \"", kQuick, "\"}");
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(Send(fd, absl::StrCat("POST /api/v1/collaborations/room/runs HTTP/1.1\r\nHost: x\r\n"
                                    "Authorization: Bearer ",
                                    token, "\r\nContent-Type: application/json\r\nContent-Length: ",
                                    body.size(), "\r\nConnection: close\r\n\r\n", body)));
  std::string answer = ReadAll(fd);
  close(fd);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 429")) << answer;
  EXPECT_THAT(answer, HasSubstr("Retry-After: 1\r\n"));
  EXPECT_THAT(answer, HasSubstr("\"code\":\"RESOURCE_EXHAUSTED\""));
  ASSERT_EQ(Remote("agency", {"query", "cancel", "-c", "room", std::to_string(slow)}).exit_code, 0);
}

// Issue 8: a synchronous query (POST .../queries: the answer carries the result, no id before
// it) is recorded once, when it ends, and only the server's run journal holds it while it runs. A
// server killed then comes back with it recorded as killed — failed with the reason, as every run
// in flight — its journal recorded and removed, and the audit chain whole.
TEST_F(ServerRunsE2eTest, ASynchronousQueryInFlightWhenTheServerIsKilledIsRecordedKilled) {
  StartServer();
  std::string body = nlohmann::json{{"sql", kSlow}}.dump();
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(Send(
      fd, absl::StrCat("POST /api/v1/collaborations/room/queries HTTP/1.1\r\nHost: "
                       "x\r\nAuthorization: Bearer ",
                       Token("agency"), "\r\nContent-Type: application/json\r\nContent-Length: ",
                       body.size(), "\r\nConnection: close\r\n\r\n", body)));
  // Checked and about to run: its record is in the journal (and, after 200 ms, in the catalog as
  // running too; either way it must come back killed).
  fs::path running = fs::path(home_) / "running";
  bool journaled = false;
  for (int i = 0; i < 2000 && !journaled; ++i) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(running, error)) {
      if (ReadText(entry.path()).find("\nS run-") != std::string::npos) journaled = true;
    }
    if (!journaled) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(journaled) << "the query never reached the run journal";
  KillServer();
  close(fd);

  StartServer();
  Outcome list = Remote("agency", {"--json", "query", "list", "-c", "room"});
  ASSERT_EQ(list.exit_code, 0) << list;
  nlohmann::json queries = nlohmann::json::parse(list.out, nullptr, false)["queries"];
  ASSERT_TRUE(queries.is_array()) << list.out;
  ASSERT_EQ(queries.size(), 1u) << list.out;
  EXPECT_EQ(queries[0]["status"], "killed") << list.out;
  int64_t id = queries[0]["id"];
  EXPECT_EQ(Status(id), absl::StrCat("query ", id,
                                     "  failed: the query stopped before it finished: the process "
                                     "running it ended (the server was stopped or killed); "
                                     "nothing was released; run it again\n"));
  EXPECT_TRUE(fs::is_empty(running)) << "the dead server's journal is recorded and removed";
  ASSERT_EQ(StopServer(), 0);
  Outcome verify = Spawn({"--home", home_, "audit", "verify"}, scratch_);
  EXPECT_EQ(verify.exit_code, 0) << verify;
}

// `query run --save-as` goes through the same bounded queue as every other run: a member at its
// limit is answered 429 (before the fix it ran at once, beside the queue); once a worker is free it
// runs there, and the saved table is registered.
TEST_F(ServerRunsE2eTest, ASaveAsRunGoesThroughTheBoundedRunQueue) {
  StartServer({"--query-workers", "1", "--queries-per-member", "1", "--query-queue", "1"});
  int64_t slow = Detach(kSlow);
  AwaitStatus(slow, absl::StrCat("query ", slow, "  running"));
  Outcome refused =
      Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick, "--save-as", "segments"});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_EQ(refused.err,
            "error: member 'agency' already has 1 queries queued or running, the most one member "
            "may have at once; wait for one to finish or cancel one\n");
  EXPECT_THAT(Remote("agency", {"table", "list", "-c", "room"}).out,
              ::testing::Not(HasSubstr("segments")));
  ASSERT_EQ(Remote("agency", {"query", "cancel", "-c", "room", std::to_string(slow)}).exit_code, 0);
  AwaitStatus(slow, absl::StrCat("query ", slow, "  cancelled"));
  Outcome saved = Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick, "--save-as",
                                    "segments", "--output", "-"});
  ASSERT_EQ(saved.exit_code, 0) << saved;
  EXPECT_EQ(saved.out, "segment,n\na,67\nb,133\n");
  EXPECT_THAT(Remote("agency", {"table", "list", "-c", "room"}).out, HasSubstr("segments"));
  // It was a run of the queue: its status is the queue's.
  Outcome listed = Remote("agency", {"--json", "query", "list", "-c", "room"});
  nlohmann::json queries = nlohmann::json::parse(listed.out, nullptr, false)["queries"];
  ASSERT_TRUE(queries.is_array()) << listed;
  EXPECT_EQ(queries.back()["status"], "succeeded") << listed.out;
}

// Runs that end without finishing — cancelled by their runner while queued or running, stopped by
// the time limit, abandoned or interrupted by the server's drain — are told to their receivers'
// webhooks as "query.cancelled" (before, a queued or drained run sent nothing and a cancelled
// running one "query.failed").
TEST_F(ServerRunsE2eTest, RunsCancelledTimedOutOrDrainedAreCancelledEventsForTheirReceivers) {
  WebhookReceiver receiver;
  StartServer({"--query-workers", "1", "--drain-seconds", "0", "--timeout", "3"});
  Outcome hook = Remote("agency", {"webhook", "add", "-c", "room", receiver.Url("/hook")});
  ASSERT_EQ(hook.exit_code, 0) << hook;
  // Cancelled while queued (behind a running one), then the running one.
  int64_t running = Detach(kSlow);
  AwaitStatus(running, absl::StrCat("query ", running, "  running"));
  int64_t queued = Detach(kQuick);
  EXPECT_THAT(Status(queued), StartsWith(absl::StrCat("query ", queued, "  queued")));
  for (int64_t id : {queued, running}) {
    ASSERT_EQ(Remote("agency", {"query", "cancel", "-c", "room", std::to_string(id)}).exit_code, 0);
    AwaitStatus(id, absl::StrCat("query ", id, "  cancelled"));
  }
  // Stopped by the time limit (3 s).
  int64_t timed_out = Detach(kSlow);
  Outcome waited = Remote("agency", {"query", "wait", "-c", "room", std::to_string(timed_out)});
  EXPECT_EQ(waited.err, "error: query exceeded the time limit of 3 s\n") << waited;
  AwaitStatus(timed_out, absl::StrCat("query ", timed_out, "  cancelled"));
  // The drain: one running (interrupted at once: no grace) and one queued (abandoned).
  int64_t drained_running = Detach(kSlow);
  AwaitStatus(drained_running, absl::StrCat("query ", drained_running, "  running"));
  int64_t drained_queued = Detach(kQuick);
  ASSERT_EQ(StopServer(), 0);

  std::vector<int64_t> ids = {queued, running, timed_out, drained_running, drained_queued};
  // Each: submitted, then how it ended.
  std::vector<WebhookReceiver::Delivery> got = receiver.Await(2 * ids.size());
  std::map<int64_t, std::vector<std::string>> events;
  for (const WebhookReceiver::Delivery& delivery : got) {
    nlohmann::json body = nlohmann::json::parse(delivery.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << delivery.body;
    EXPECT_EQ(body["event"], delivery.event);
    events[body["query_id"].get<int64_t>()].push_back(delivery.event);
  }
  for (int64_t id : ids) {
    EXPECT_EQ(events[id], (std::vector<std::string>{"query.submitted", "query.cancelled"}))
        << "query " << id;
  }
  EXPECT_EQ(got.size(), 2 * ids.size());
}

// A collaboration's own time limit: set at creation or by change request (every member approves),
// never above the server's; a run over it is cancelled with an error that says which limit.
TEST_F(ServerRunsE2eTest, ACollaborationsTimeLimitCancelsLongerRunsWithinTheServersLimit) {
  StartServer({"--timeout", "30"});
  Outcome too_long = Remote("retailer", {"collaboration", "create", "timed", "--time-limit", "31"});
  EXPECT_EQ(too_long.exit_code, kExitError) << too_long;
  EXPECT_EQ(too_long.err,
            "error: a collaboration's time limit is a number of seconds from 1 to the server's own "
            "limit (30 s); 31 is not\n");
  ASSERT_EQ(
      Remote("retailer", {"collaboration", "create", "timed", "--time-limit", "30"}).exit_code, 0);
  EXPECT_THAT(Remote("retailer", {"collaboration", "show", "timed"}).out,
              HasSubstr("  time limit: 30 s per query\n"));

  // In "room" the agency must approve too.
  Outcome proposed =
      Remote("retailer", {"--json", "collaboration", "set", "-c", "room", "--time-limit", "2"});
  ASSERT_EQ(proposed.exit_code, kExitPending) << proposed;
  nlohmann::json change = nlohmann::json::parse(proposed.out, nullptr, false);
  ASSERT_TRUE(change.is_object()) << proposed;
  EXPECT_EQ(change["change"]["kind"], "time_limit");
  EXPECT_EQ(change["change"]["time_limit_seconds"], 2);
  std::string id = std::to_string(change["change"]["id"].get<int64_t>());
  // Before it commits, the server's limit alone applies: nothing in the room's settings.
  EXPECT_THAT(Remote("agency", {"collaboration", "show", "room"}).out,
              ::testing::Not(HasSubstr("time limit")));
  Outcome approved = Remote("agency", {"change", "approve", "-c", "room", id});
  ASSERT_EQ(approved.exit_code, 0) << approved;
  EXPECT_THAT(Remote("agency", {"collaboration", "show", "room"}).out,
              HasSubstr("  time limit: 2 s per query\n"));

  Outcome slow = Remote("agency", {"query", "run", "-c", "room", "--sql", kSlow});
  EXPECT_EQ(slow.exit_code, kExitError) << slow;
  EXPECT_EQ(slow.err,
            "error: the query ran longer than the time limit of collaboration 'room' (2 s) and was "
            "cancelled\n");
  Outcome quick =
      Remote("agency", {"query", "run", "-c", "room", "--sql", kQuick, "--output", "-"});
  EXPECT_EQ(quick.exit_code, 0) << quick;
  EXPECT_EQ(quick.out, "segment,n\na,67\nb,133\n");
  Outcome listed = Remote("agency", {"--json", "query", "list", "-c", "room"});
  nlohmann::json queries = nlohmann::json::parse(listed.out, nullptr, false)["queries"];
  ASSERT_TRUE(queries.is_array() && queries.size() >= 2) << listed;
  EXPECT_EQ(queries[queries.size() - 2]["status"], "cancelled") << listed.out;

  // Off again, by another change request; a limit above the server's is refused as a change too.
  Outcome above = Remote("retailer", {"collaboration", "set", "-c", "room", "--time-limit", "60"});
  EXPECT_EQ(above.exit_code, kExitError) << above;
  EXPECT_THAT(above.err, HasSubstr("the server's own limit (30 s); 60 is not"));
  Outcome off =
      Remote("retailer", {"--json", "collaboration", "set", "-c", "room", "--time-limit", "off"});
  ASSERT_EQ(off.exit_code, kExitPending) << off;
  std::string off_id =
      std::to_string(nlohmann::json::parse(off.out, nullptr, false)["change"]["id"].get<int64_t>());
  ASSERT_EQ(Remote("agency", {"change", "approve", "-c", "room", off_id}).exit_code, 0);
  EXPECT_THAT(Remote("agency", {"collaboration", "show", "room"}).out,
              ::testing::Not(HasSubstr("time limit")));
  // The audit log records both changes.
  EXPECT_THAT(Remote("agency", {"audit", "list", "-c", "room"}).out,
              HasSubstr("collaboration.time_limit"));
}

}  // namespace
}  // namespace parley::cli_test
