// Asynchronous queries and the server's reliability, through the real binary: `query run
// --detach`, `query status|wait|cancel`; SIGTERM drains (running queries finish or are cancelled
// within the grace, nothing is left "running"); SIGKILL at random moments under load loses
// nothing acknowledged — collaboration, members, rules, templates, delivered results — and
// in-flight runs come back failed with a reason; slow, stalled and endless clients are cut off
// (raw sockets) while others are served.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

class ServerRunsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "parley_runs_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    scratch_ = dir_ / "scratch";
    fs::create_directories(scratch_);
    home_ = (dir_ / "home").string();
    std::string csv = "user_id,segment,age\n";
    for (int i = 0; i < 200; ++i) {
      absl::StrAppend(&csv, "u", i, ",", i % 3 == 0 ? "a" : "b", ",", 20 + i % 50, "\n");
    }
    WriteText(dir_ / "audience.csv", csv);
    // Set up in embedded mode on the server's home, before it serves.
    Home({"serve", "init", "--save-token", Token("admin")});
    Home({"org", "add", "retailer", "--save-token", Token("retailer")});
    Home({"org", "add", "agency", "--save-token", Token("agency")});
    Home({"--as", "retailer", "collaboration", "create", "room"});
    Home({"--as", "retailer", "member", "add", "-c", "room", "agency", "--abilities",
          "query,receive"});
    Home({"--as", "retailer", "table", "add", "-c", "room", "audience", "--source",
          (dir_ / "audience.csv").string()});
    Home({"--as", "retailer", "rule", "set", "-c", "room", "audience", "--json", kRule});
  }

  void TearDown() override {
    StopServer();
    fs::remove_all(dir_);
  }

  std::string Token(const std::string& organisation) {
    return (dir_ / (organisation + ".token")).string();
  }
  void Home(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--home", home_});
    Outcome outcome = Spawn(arguments, scratch_);
    ASSERT_EQ(outcome.exit_code, 0) << outcome;
  }

  void StartServer(std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"--home", home_, "serve", "--listen", "127.0.0.1:0"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    ++server_starts_;
    std::string name = absl::StrCat("server", server_starts_);
    server_pid_ = SpawnInBackground(arguments, scratch_, name);
    ASSERT_GT(server_pid_, 0);
    std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch match;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = ReadText(scratch_ / (name + "_stdout.txt"));
      if (std::regex_search(out, match, listening)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    ASSERT_TRUE(std::regex_search(out, match, listening))
        << "the server did not become ready: " << out
        << ReadText(scratch_ / (name + "_stderr.txt"));
    port_ = std::stoi(match[1]);
    url_ = absl::StrCat("http://127.0.0.1:", port_);
  }
  // SIGTERM; returns the exit status, or -1 (after SIGKILL) when it did not end within `wait`.
  int StopServer(std::chrono::seconds wait = std::chrono::seconds(20)) {
    if (server_pid_ <= 0) return 0;
    kill(server_pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
        server_pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(server_pid_, SIGKILL);
    waitpid(server_pid_, &status, 0);
    server_pid_ = -1;
    return -1;
  }
  void KillServer() {
    ASSERT_EQ(kill(server_pid_, SIGKILL), 0);
    int status = 0;
    waitpid(server_pid_, &status, 0);
    server_pid_ = -1;
  }

  Outcome Remote(const std::string& organisation, std::vector<std::string> arguments,
                 const std::string& name = "") {
    arguments.insert(arguments.begin(), {"--server", url_, "--token-file", Token(organisation)});
    if (name.empty()) return Spawn(arguments, scratch_);
    fs::create_directories(scratch_ / name);
    return Spawn(arguments, scratch_ / name);
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

  fs::path dir_, scratch_;
  std::string home_, url_;
  int port_ = 0;
  pid_t server_pid_ = -1;
  int server_starts_ = 0;
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
      std::vector<std::string> arguments = {"--server", url_, "--token-file", Token("agency")};
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

// A raw connection to the server.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{15, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}
bool Send(int fd, const std::string& text) {
  return send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}
// Everything the server sends until it closes the connection (or 15 s pass).
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

// The server's first answer on a connection (what one recv returns, up to 15 s).
std::string FirstReply(int fd) {
  char buffer[4096];
  ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
  return got > 0 ? std::string(buffer, static_cast<size_t>(got)) : "";
}

TEST_F(ServerRunsE2eTest, SlowStalledAndEndlessClientsAreCutOffWhileOthersAreServed) {
  StartServer({"--threads", "8", "--read-timeout", "1"});
  // Clients that open a connection and send half a request line, then nothing.
  std::vector<int> stalled;
  for (int i = 0; i < 6; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(Send(fd, "GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n"));
    stalled.push_back(fd);
  }
  // A client whose body never ends: chunks, as fast as it can (cpp-httplib alone would read them
  // all, without limit).
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
  // One that announces a body larger than the limit is answered at once, not after reading it.
  int huge = Connect(port_);
  ASSERT_TRUE(Send(huge,
                   "POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   "application/json\r\nContent-Length: 10000000000\r\n\r\n{"));
  auto asked = std::chrono::steady_clock::now();
  answer = FirstReply(huge);
  close(huge);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(900));
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413")) << answer.substr(0, 200);
  EXPECT_THAT(answer, HasSubstr("the request body is too large"));

  // Meanwhile others are served, promptly.
  auto start = std::chrono::steady_clock::now();
  Outcome whoami = Remote("agency", {"whoami"});
  EXPECT_EQ(whoami.exit_code, 0) << whoami;
  EXPECT_EQ(whoami.out, "agency\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  // The stalled connections are cut after the read timeout (1 s), with a 400 or nothing.
  for (int fd : stalled) {
    auto waited = std::chrono::steady_clock::now();
    std::string rest = ReadAll(fd);
    close(fd);
    EXPECT_LT(std::chrono::steady_clock::now() - waited, std::chrono::seconds(5));
    EXPECT_TRUE(rest.empty() || rest.rfind("HTTP/1.1 400", 0) == 0) << rest.substr(0, 200);
  }
  // A client that vanishes mid-request (connects, sends half, closes) leaves the server serving.
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(port_);
    Send(fd, "POST /api/v1/collaborations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na");
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
  std::string token = ReadText(Token("agency"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
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

}  // namespace
}  // namespace parley::cli_test
