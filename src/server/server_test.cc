// The HTTP server in this process, on a free loopback port, spoken to with an HTTP client: who
// gets in, what a malformed request is told, that a slow client is cut off while others are
// served, and that nothing tells an outsider which collaborations exist.
#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/codec.h"
#include "gtest/gtest.h"
#include "identity/caller.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_server_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    service_ =
        std::make_unique<api::LocalService>((dir_ / "home").string(), api::LocalServiceOptions{});
    auto admin = service_->InitServer("operator");
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = admin->token;
    for (const char* name : {"retailer", "supplier"}) {
      auto issued = service_->AddOrganisation(identity::Caller::Embedded(""), {name});
      ASSERT_TRUE(issued.ok()) << issued.status();
      tokens_[name] = issued->token;
    }
    Options options;
    options.read_timeout = std::chrono::seconds(1);
    options.max_body_bytes = 4096;
    auto server = Server::Create(*service_, options);
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

  httplib::Client Client(const std::string& token = "") {
    httplib::Client client("127.0.0.1", port_);
    if (!token.empty()) client.set_bearer_token_auth(token);
    return client;
  }

  // Status and parsed body of one request.
  struct Answer {
    int status = 0;
    nlohmann::json body;
    std::string text;
  };
  Answer Send(const std::string& token, const std::string& method, const std::string& path,
              const std::string& body = "", const std::string& type = "application/json") {
    httplib::Client client = Client(token);
    httplib::Result result = method == "GET"      ? client.Get(path)
                             : method == "DELETE" ? client.Delete(path)
                             : method == "PUT"    ? client.Put(path, body, type)
                                                  : client.Post(path, body, type);
    Answer answer;
    if (!result) {
      ADD_FAILURE() << "no answer to " << method << " " << path;
      return answer;
    }
    answer.status = result->status;
    answer.text = result->body;
    auto parsed = api::ParseJson(result->body);
    if (parsed.ok()) answer.body = *parsed;
    return answer;
  }

  std::string ErrorMessage(const Answer& answer) {
    return answer.body.value("/error/message"_json_pointer, std::string("<no error message>"));
  }

  fs::path dir_;
  std::unique_ptr<api::LocalService> service_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::string admin_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ServerTest, ATokenActsAsItsOrganisationAndNothingElseGetsIn) {
  Answer me = Send(tokens_["retailer"], "GET", "/api/v1/whoami");
  ASSERT_EQ(me.status, 200) << me.text;
  EXPECT_EQ(me.body["organisation"], "retailer");
  EXPECT_EQ(me.body["admin"], false);

  std::string retailer = tokens_["retailer"];
  std::string wrong_secret = retailer;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  std::string unknown_id = retailer;
  unknown_id[3] = unknown_id[3] == '0' ? '1' : '0';
  auto revoked = service_->AddOrganisation(identity::Caller::Embedded(""), {"gone"});
  ASSERT_TRUE(revoked.ok());
  auto gone = service_->Authenticate(revoked->token);
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(service_->RevokeToken(*gone, {revoked->token_id}).ok());

  std::string first_body;
  for (const std::string& token :
       {std::string(""), std::string("garbage"), wrong_secret, unknown_id, revoked->token}) {
    Answer answer = Send(token, "GET", "/api/v1/collaborations");
    EXPECT_EQ(answer.status, 401) << token;
    EXPECT_EQ(answer.body["error"]["code"], "UNAUTHENTICATED");
    // One answer, whatever was wrong.
    if (first_body.empty()) first_body = answer.text;
    EXPECT_EQ(answer.text, first_body) << token;
  }
  EXPECT_EQ(
      first_body,
      R"({"error":{"code":"UNAUTHENTICATED","message":"missing, invalid or revoked API token"}})");
  // A scheme other than Bearer is no token either.
  httplib::Client basic = Client();
  basic.set_basic_auth("retailer", retailer);
  auto result = basic.Get("/api/v1/whoami");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
}

TEST_F(ServerTest, RotatingATokenRevokesTheOneUsedAndOnlyTheOperatorAddsOrganisations) {
  Answer rotated = Send(tokens_["retailer"], "POST", "/api/v1/tokens");
  ASSERT_EQ(rotated.status, 200) << rotated.text;
  std::string fresh = rotated.body["token"];
  EXPECT_NE(fresh, tokens_["retailer"]);
  EXPECT_EQ(Send(tokens_["retailer"], "GET", "/api/v1/whoami").status, 401);
  EXPECT_EQ(Send(fresh, "GET", "/api/v1/whoami").body["organisation"], "retailer");

  Answer denied = Send(tokens_["supplier"], "POST", "/api/v1/organisations", R"({"name": "x"})");
  EXPECT_EQ(denied.status, 403) << denied.text;
  Answer added = Send(admin_, "POST", "/api/v1/organisations", R"({"name": "broker"})");
  ASSERT_EQ(added.status, 200) << added.text;
  EXPECT_EQ(Send(added.body["token"], "GET", "/api/v1/whoami").body["organisation"], "broker");
  EXPECT_EQ(Send(admin_, "POST", "/api/v1/organisations", R"({"name": "broker"})").status, 409);
}

// An organisation that may not see a collaboration gets the same answer for one that exists and
// one that does not — on every route that names a collaboration.
TEST_F(ServerTest, AnOutsiderCannotTellAnExistingCollaborationFromAMissingOne) {
  ASSERT_EQ(
      Send(tokens_["retailer"], "POST", "/api/v1/collaborations", R"({"name": "room"})").status,
      200);
  for (const api::Route& route : server_->routes()) {
    std::string pattern = route.path;
    if (pattern.find("{collaboration}") == std::string::npos) continue;
    auto path_for = [&](const std::string& collaboration) {
      return absl::StrReplaceAll(pattern, {{"{collaboration}", collaboration},
                                           {"{table}", "sales"},
                                           {"{member}", "retailer"},
                                           {"{query_id}", "1"},
                                           {"{template_id}", "abc"}});
    };
    std::string body = route.HasBody() ? R"({})" : "";
    Answer existing = Send(tokens_["supplier"], route.method, path_for("room"), body);
    Answer missing = Send(tokens_["supplier"], route.method, path_for("moor"), body);
    SCOPED_TRACE(absl::StrCat(route.method, " ", route.path));
    EXPECT_EQ(existing.status, missing.status);
    EXPECT_EQ(absl::StrReplaceAll(existing.text, {{"room", "moor"}}), missing.text);
    EXPECT_NE(existing.status, 200);
  }
}

TEST_F(ServerTest, MalformedRequestsAreToldWhatIsWrongByField) {
  const std::string& token = tokens_["retailer"];
  struct Case {
    std::string method, path, body, type;
    int status;
    std::string message;
  };
  std::vector<Case> cases = {
      {"POST", "/api/v1/collaborations", R"({"name": "r", "bogus": 1})", "application/json", 400,
       "$.bogus: unknown field"},
      {"POST", "/api/v1/collaborations", R"({"name": 5})", "application/json", 400,
       "$.name: expected a string, got integer"},
      {"POST", "/api/v1/collaborations", R"({"name": "r", "creator_abilities": "query"})",
       "application/json", 400, "$.creator_abilities: expected an array, got string"},
      {"POST", "/api/v1/collaborations", R"({})", "application/json", 400, "$.name: missing"},
      {"POST", "/api/v1/collaborations", R"({"name": )", "application/json", 400,
       "$: not valid JSON (at byte 10)"},
      {"POST", "/api/v1/collaborations", R"(["name"])", "application/json", 400,
       "$: expected an object, got array"},
      {"POST", "/api/v1/collaborations", R"({"name": "r"})", "text/plain", 415,
       "the request body must be JSON (Content-Type: application/json)"},
      {"POST", "/api/v1/collaborations/room/members",
       R"({"collaboration": "other", "member": "m", "abilities": []})", "application/json", 400,
       "$.collaboration: given in the path; leave it out of the body"},
      // A table's source: a path (with file options), or a kind with its description; file
      // options with a kind are refused rather than ignored.
      {"POST", "/api/v1/collaborations/room/tables", R"({"table": "t"})", "application/json", 400,
       "$.source: missing (or give \"kind\" and \"description\")"},
      {"POST", "/api/v1/collaborations/room/tables",
       R"({"table": "t", "kind": "postgres", "description": {"conninfo": "host=127.0.0.1",)"
       R"( "relation": "public.t"}, "options": {"delimiter": ";"}})",
       "application/json", 400,
       "options: only for a file given by \"source\" (with \"kind\", the description says how "
       "its source is read)"},
      {"POST", "/api/v1/collaborations/room/tables",
       R"({"table": "t", "source": "/tmp/t.csv", "options": [";"]})", "application/json", 400,
       "$.options: expected an object, got array"},
      {"GET", "/api/v1/collaborations/room/queries/abc/result", "", "", 400,
       "$.query_id: expected an integer"},
      {"GET", "/api/v1/nothing", "", "", 404, "no such route in the Parley API"},
      {"PUT", "/api/v1/collaborations", "{}", "application/json", 405,
       "PUT is not allowed here (allowed: POST, GET)"},
      {"POST", "/api/v1/collaborations", std::string(5000, ' '), "application/json", 413,
       "the request body is too large"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.method, " ", c.path, " ", c.body.substr(0, 60)));
    Answer answer = Send(token, c.method, c.path, c.body, c.type);
    EXPECT_EQ(answer.status, c.status) << answer.text;
    EXPECT_EQ(ErrorMessage(answer), c.message) << answer.text;
  }
  // Nothing was created by any of them.
  EXPECT_EQ(Send(token, "GET", "/api/v1/collaborations").body["collaborations"].size(), 0u);
}

// A client that sends part of a request and then nothing is answered 400 after the read timeout
// (1 s here) and let go after the keep-alive timeout; the others are served meanwhile.
TEST_F(ServerTest, ASlowClientIsCutOffWhileOthersAreServed) {
  int slow = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(slow, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(slow, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  std::string partial =
      "POST /api/v1/collaborations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"na";
  ASSERT_EQ(send(slow, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Send(tokens_["supplier"], "GET", "/api/v1/whoami").status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  timeval wait{5, 0};
  setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  char buffer[4096];
  ssize_t got;
  std::string received;
  while ((got = recv(slow, buffer, sizeof(buffer), 0)) > 0) {
    received.append(buffer, got);
  }
  EXPECT_EQ(got, 0) << "the server did not close the connection";
  // Told after the read timeout, let go after the keep-alive timeout (2 s) at the latest.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3800));
  EXPECT_NE(received.find("HTTP/1.1 400"), std::string::npos) << received;
  EXPECT_NE(received.find("the request could not be read (malformed, or sent too slowly)"),
            std::string::npos)
      << received;
  close(slow);
  EXPECT_EQ(
      Send(tokens_["supplier"], "GET", "/api/v1/collaborations").body["collaborations"].size(), 0u);
}

// Many clients at once: every request is answered, each as its own organisation, and what they
// created is all there afterwards (the service behind the server is shared by its workers).
TEST_F(ServerTest, ConcurrentClientsAreEachServedAsThemselves) {
  std::vector<std::thread> clients;
  std::atomic<int> failures = 0;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([this, i, &failures] {
      std::string organisation = i % 2 == 0 ? "retailer" : "supplier";
      for (int j = 0; j < 10; ++j) {
        Answer me = Send(tokens_[organisation], "GET", "/api/v1/whoami");
        if (me.status != 200 || me.body["organisation"] != organisation) ++failures;
        if (j == 0) {
          Answer created = Send(tokens_[organisation], "POST", "/api/v1/collaborations",
                                absl::StrCat(R"({"name": "room)", i, R"("})"));
          if (created.status != 200) ++failures;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(
      Send(tokens_["retailer"], "GET", "/api/v1/collaborations").body["collaborations"].size(), 4u);
  EXPECT_EQ(
      Send(tokens_["supplier"], "GET", "/api/v1/collaborations").body["collaborations"].size(), 4u);
}

// Requests one after another on one keep-alive connection are answered at the speed of the
// server, not of TCP's timers: an answer written in two pieces (headers, then body) must not
// wait for the client's delayed acknowledgement of the first (40 ms on Linux) — with Nagle's
// algorithm on, every answer after the first few took 40 ms or more. The client here is a plain
// one (Nagle on at its end, as any client may have it); only the server's side is ours.
// An answer is written in two parts (headers, body); without TCP_NODELAY on the server's side of
// a kept-open connection, the body waits for the client's delayed acknowledgement (40 ms on
// Linux) on every request. The server runs in this process, so its accepted sockets are among
// this process's descriptors: every one whose local port is the server's must have the option.
TEST_F(ServerTest, KeepAliveAnswersDoNotWaitForDelayedAcknowledgements) {
  httplib::Client client = Client(tokens_["retailer"]);
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    httplib::Result result = client.Get("/api/v1/whoami");
    ASSERT_TRUE(result) << "no answer to request " << i;
    ASSERT_EQ(result->status, 200);
  }
  int accepted = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_in local{}, peer{};
    socklen_t length = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != port_) {
      continue;
    }
    length = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) continue;  // listener
    int nodelay = 0;
    socklen_t size = sizeof(nodelay);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size), 0);
    EXPECT_EQ(nodelay, 1) << "an accepted connection without TCP_NODELAY (descriptor " << fd << ")";
    ++accepted;
  }
  EXPECT_GE(accepted, 1) << "the kept-open connection was not found among the descriptors";
}

TEST(ServerOptionsTest, ANonLoopbackAddressNeedsTls) {
  api::LocalService service(
      (fs::path(::testing::TempDir()) / absl::StrCat("parley_server_options_", getpid())).string(),
      {});
  Options options;
  options.host = "0.0.0.0";
  auto refused = Server::Create(service, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "refusing to listen on '0.0.0.0' without TLS: tokens would cross the network in the "
            "clear; listen on a loopback address (127.0.0.1) or give --tls-cert and --tls-key");
  options.tls_cert_file = "/nonexistent.pem";
  EXPECT_EQ(Server::Create(service, options).status().code(),
            absl::StatusCode::kInvalidArgument);  // no key
  options.tls_key_file = "/nonexistent.key";
  EXPECT_EQ(Server::Create(service, options).status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1"}) {
    EXPECT_TRUE(IsLoopback(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "10.0.0.1", "128.0.0.1", "example.com", "::"}) {
    EXPECT_FALSE(IsLoopback(host)) << host;
  }
  std::string host;
  int port = -1;
  EXPECT_TRUE(ParseListen("127.0.0.1:8443", host, port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8443);
  EXPECT_TRUE(ParseListen("[::1]:0", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(ParseListen("127.0.0.1", host, port).ok());
  EXPECT_FALSE(ParseListen("127.0.0.1:http", host, port).ok());
  EXPECT_FALSE(ParseListen("127.0.0.1:70000", host, port).ok());
}

}  // namespace
}  // namespace parley::server
