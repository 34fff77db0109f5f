// The console's server side (server/console.h) over real HTTP on a loopback port: the session
// cookie's flags, CSRF and Origin refusals, the session's expiry on a fake clock, that the cookie
// is never a token nor a way into another organisation's collaborations, that bearer clients are
// unaffected, and the static files with their security headers.
#include "server/console.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "identity/caller.h"
#include "server/server.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;

constexpr char kJson[] = "application/json";

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_console_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "web" / "sub");
    std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>console</title>";
    std::ofstream(dir_ / "web" / "app.js") << "console.log(1);";
    std::ofstream(dir_ / "web" / "sub" / "x.css") << "p{}";
    {
      std::ofstream big(dir_ / "web" / "big.js");
      for (int i = 0; i < 2000; ++i) big << "console.log('line " << i % 10 << "');\n";
    }
    std::ofstream(dir_ / "secret.txt") << "outside";
    api::LocalServiceOptions service_options;
    service_options.data_root = (dir_ / "data").string();
    service_ = std::make_unique<api::LocalService>((dir_ / "home").string(), service_options);
    ASSERT_TRUE(service_->InitServer("operator").ok());
    for (const char* name : {"retailer", "supplier"}) {
      auto issued = service_->AddOrganisation(identity::Caller::Embedded(""), {name});
      ASSERT_TRUE(issued.ok()) << issued.status();
      tokens_[name] = issued->token;
    }
    Options options;
    options.console_dir = (dir_ / "web").string();
    options.session_lifetime = std::chrono::seconds(600);
    options.clock = [this] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(now_.load()));
    };
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

  std::string Origin() const { return absl::StrCat("http://127.0.0.1:", port_); }

  httplib::Result Request(const std::string& method, const std::string& path,
                          httplib::Headers headers, const std::string& body = "") {
    httplib::Client client("127.0.0.1", port_);
    if (method == "GET") return client.Get(path, headers);
    if (method == "DELETE") return client.Delete(path, headers);
    if (method == "PUT") return client.Put(path, headers, body, kJson);
    return client.Post(path, headers, body, kJson);
  }

  struct Signed {
    std::string cookie;  // "parley_session=..."
    std::string set_cookie;
    std::string csrf;
  };
  Signed SignIn(const std::string& organisation, httplib::Headers headers = {}) {
    auto result = Request("POST", "/api/v1/session", headers,
                          nlohmann::json{{"token", tokens_[organisation]}}.dump());
    Signed signed_in;
    if (!result || result->status != 200) {
      ADD_FAILURE() << "sign-in failed: " << (result ? result->body : "no answer");
      return signed_in;
    }
    signed_in.set_cookie = result->get_header_value("Set-Cookie");
    signed_in.cookie = signed_in.set_cookie.substr(0, signed_in.set_cookie.find(';'));
    signed_in.csrf = nlohmann::json::parse(result->body)["csrf_token"];
    return signed_in;
  }

  fs::path dir_;
  std::unique_ptr<api::LocalService> service_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::string> tokens_;
  std::atomic<int64_t> now_{1'800'000'000};
};

TEST_F(ConsoleTest, SigningInSetsAStrictHttpOnlyCookieThatIsNotTheToken) {
  auto result =
      Request("POST", "/api/v1/session", {}, nlohmann::json{{"token", tokens_["retailer"]}}.dump());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  std::string cookie = result->get_header_value("Set-Cookie");
  EXPECT_TRUE(cookie.rfind("parley_session=", 0) == 0) << cookie;
  std::string id = cookie.substr(15, cookie.find(';') - 15);
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(cookie.substr(cookie.find(';')),
            "; Path=/; Max-Age=600; HttpOnly; SameSite=Strict");  // no Secure without TLS
  EXPECT_EQ(cookie.find(tokens_["retailer"]), std::string::npos);
  EXPECT_EQ(result->body.find(tokens_["retailer"]), std::string::npos);
  nlohmann::json body = nlohmann::json::parse(result->body);
  EXPECT_EQ(body["organisation"], "retailer");
  EXPECT_EQ(body["expires_at"], 1'800'000'000 + 600);
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 64u);
  EXPECT_NE(body["csrf_token"].get<std::string>(), id);
}

TEST_F(ConsoleTest, AWrongTokenOpensNoSession) {
  auto result = Request("POST", "/api/v1/session", {},
                        nlohmann::json{{"token", tokens_["retailer"] + "0"}}.dump());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_FALSE(result->has_header("Set-Cookie"));
  EXPECT_EQ(nlohmann::json::parse(result->body)["error"]["message"],
            "missing, invalid or revoked API token");
}

TEST_F(ConsoleTest, TheCookieAuthenticatesReadsAndCsrfCheckedChanges) {
  Signed s = SignIn("retailer");
  auto who = Request("GET", "/api/v1/whoami", {{"Cookie", s.cookie}});
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 200) << who->body;
  EXPECT_EQ(nlohmann::json::parse(who->body)["organisation"], "retailer");

  std::string create = R"({"name": "room"})";
  // Without the CSRF header: refused, nothing created.
  auto refused = Request("POST", "/api/v1/collaborations", {{"Cookie", s.cookie}}, create);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"]["message"],
            "request refused: a change made with the console's session must carry its CSRF "
            "token (X-Parley-CSRF)");
  // A wrong one (another session's): refused.
  Signed other = SignIn("retailer");
  auto wrong = Request("POST", "/api/v1/collaborations",
                       {{"Cookie", s.cookie}, {"X-Parley-CSRF", other.csrf}}, create);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  // From another origin, even with the right token: refused.
  auto cross = Request(
      "POST", "/api/v1/collaborations",
      {{"Cookie", s.cookie}, {"X-Parley-CSRF", s.csrf}, {"Origin", "http://evil.example"}}, create);
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  EXPECT_EQ(nlohmann::json::parse(cross->body)["error"]["message"],
            "cross-origin request refused: the console's session works only from its own pages");
  auto cross_site = Request(
      "POST", "/api/v1/collaborations",
      {{"Cookie", s.cookie}, {"X-Parley-CSRF", s.csrf}, {"Sec-Fetch-Site", "cross-site"}}, create);
  ASSERT_TRUE(cross_site);
  EXPECT_EQ(cross_site->status, 403);
  auto listed = Request("GET", "/api/v1/collaborations", {{"Cookie", s.cookie}});
  ASSERT_TRUE(listed);
  EXPECT_EQ(nlohmann::json::parse(listed->body)["collaborations"].size(), 0u);
  // Same origin, right token: done.
  auto made =
      Request("POST", "/api/v1/collaborations",
              {{"Cookie", s.cookie}, {"X-Parley-CSRF", s.csrf}, {"Origin", Origin()}}, create);
  ASSERT_TRUE(made);
  EXPECT_EQ(made->status, 200) << made->body;
}

TEST_F(ConsoleTest, SigningInFromAnotherOriginIsRefused) {
  auto result = Request("POST", "/api/v1/session", {{"Origin", "http://evil.example"}},
                        nlohmann::json{{"token", tokens_["retailer"]}}.dump());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 403);
  EXPECT_FALSE(result->has_header("Set-Cookie"));
  // A form post (not JSON) cannot sign in either.
  httplib::Client client("127.0.0.1", port_);
  auto form = client.Post("/api/v1/session", "token=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
}

TEST_F(ConsoleTest, TheSessionExpires) {
  Signed s = SignIn("retailer");
  now_ += 599;
  auto alive = Request("GET", "/api/v1/whoami", {{"Cookie", s.cookie}});
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
  now_ += 1;
  auto expired = Request("GET", "/api/v1/whoami", {{"Cookie", s.cookie}});
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_EQ(nlohmann::json::parse(expired->body)["error"]["message"],
            "no session, or it has expired: sign in again");
  auto session = Request("GET", "/api/v1/session", {{"Cookie", s.cookie}});
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 401);
}

TEST_F(ConsoleTest, SigningOutEndsTheSessionAndNeedsTheCsrfToken) {
  Signed s = SignIn("retailer");
  auto refused = Request("DELETE", "/api/v1/session", {{"Cookie", s.cookie}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  auto out =
      Request("DELETE", "/api/v1/session", {{"Cookie", s.cookie}, {"X-Parley-CSRF", s.csrf}});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(out->get_header_value("Set-Cookie"),
            "parley_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  auto after = Request("GET", "/api/v1/whoami", {{"Cookie", s.cookie}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
}

TEST_F(ConsoleTest, RevokingTheTokenEndsItsSessions) {
  Signed s = SignIn("retailer");
  auto rotated =
      Request("POST", "/api/v1/tokens", {{"Authorization", "Bearer " + tokens_["retailer"]}}, "{}");
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  auto after = Request("GET", "/api/v1/whoami", {{"Cookie", s.cookie}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
}

TEST_F(ConsoleTest, TheCookieIsNoTokenAndReachesNoOtherOrganisation) {
  Signed retailer = SignIn("retailer");
  std::string id = retailer.cookie.substr(std::string("parley_session=").size());
  // The session id is not a bearer token.
  auto as_bearer = Request("GET", "/api/v1/whoami", {{"Authorization", "Bearer " + id}});
  ASSERT_TRUE(as_bearer);
  EXPECT_EQ(as_bearer->status, 401);
  // The supplier's collaboration stays out of the retailer's session's reach, as for its token.
  auto made =
      Request("POST", "/api/v1/collaborations",
              {{"Authorization", "Bearer " + tokens_["supplier"]}}, R"({"name": "private"})");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 200) << made->body;
  auto shown = Request("GET", "/api/v1/collaborations/private", {{"Cookie", retailer.cookie}});
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->status, 404);
  EXPECT_EQ(nlohmann::json::parse(shown->body)["error"]["message"],
            "collaboration 'private' not found");
  // A bad Authorization header is judged by itself: a valid cookie beside it does not help.
  auto mixed = Request("GET", "/api/v1/whoami",
                       {{"Authorization", "Bearer pt_nonsense"}, {"Cookie", retailer.cookie}});
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->status, 401);
  // And a bearer client is not bothered by the console: no CSRF header needed.
  auto bearer = Request(
      "POST", "/api/v1/collaborations",
      {{"Authorization", "Bearer " + tokens_["retailer"]}, {"Origin", "http://elsewhere.example"}},
      R"({"name": "room2"})");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200) << bearer->body;
}

TEST_F(ConsoleTest, ServesItsFilesWithAStrictPolicyAndNothingElse) {
  auto index = Request("GET", "/", {});
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>console</title>");
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(
      index->get_header_value("Content-Security-Policy"),
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "frame-src blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'");
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index->get_header_value("X-Frame-Options"), "DENY");
  auto script = Request("GET", "/app.js", {});
  ASSERT_TRUE(script);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto nested = Request("GET", "/sub/x.css", {});
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 200);
  EXPECT_EQ(nested->get_header_value("Content-Type"), "text/css; charset=utf-8");
  for (std::string path :
       {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/nothing.js", "/sub"}) {
    auto missing = Request("GET", path, {});
    ASSERT_TRUE(missing) << path;
    EXPECT_EQ(missing->status, 404) << path;
    EXPECT_EQ(missing->body.find("outside"), std::string::npos) << path;
  }
  // API answers carry a policy that renders nothing, and are not cached.
  auto api = Request("GET", "/api/v1/whoami", {});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->get_header_value("Content-Security-Policy"),
            "default-src 'none'; frame-ancestors 'none'");
  EXPECT_EQ(api->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(api->get_header_value("X-Frame-Options"), "DENY");
}

// httplib would compress every answer with brotli at its slowest setting on every request
// (seconds for the console's script); files are gzip-compressed once instead, revalidated by
// ETag, and never sent as brotli.
TEST_F(ConsoleTest, FilesAreGzippedOnceAndRevalidatedByTheirETag) {
  httplib::Client client("127.0.0.1", port_);
  client.set_decompress(false);
  std::string original;
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&original, "console.log('line ", i % 10, "');\n");
  auto plain = client.Get("/big.js", {{"Accept-Encoding", ""}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, original);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  std::string etag = plain->get_header_value("ETag");
  EXPECT_THAT(etag, ::testing::MatchesRegex("\"[0-9a-f]{32}\""));
  EXPECT_EQ(plain->get_header_value("Vary"), "Accept-Encoding");
  for (const char* accepts : {"gzip, deflate, br, zstd", "br;q=1, gzip", "GZIP"}) {
    auto gzipped = client.Get("/big.js", {{"Accept-Encoding", accepts}});
    ASSERT_TRUE(gzipped);
    EXPECT_EQ(gzipped->status, 200);
    EXPECT_EQ(gzipped->get_header_value("Content-Encoding"), "gzip") << accepts;
    EXPECT_EQ(gzipped->body.substr(0, 2), "\x1f\x8b") << accepts;
    EXPECT_LT(gzipped->body.size(), original.size() / 10) << accepts;
    EXPECT_EQ(gzipped->get_header_value("ETag"), etag);
  }
  for (const char* accepts : {"br", "gzip;q=0, br", "identity"}) {
    auto identity = client.Get("/big.js", {{"Accept-Encoding", accepts}});
    ASSERT_TRUE(identity);
    EXPECT_FALSE(identity->has_header("Content-Encoding")) << accepts;
    EXPECT_EQ(identity->body, original) << accepts;
  }
  // The decompressed body is the file (httplib's client inflates it).
  httplib::Client inflating("127.0.0.1", port_);
  auto inflated = inflating.Get("/big.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(inflated);
  EXPECT_EQ(inflated->body, original);
  for (const std::string& match : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto revalidated = client.Get("/big.js", {{"If-None-Match", match}});
    ASSERT_TRUE(revalidated);
    EXPECT_EQ(revalidated->status, 304) << match;
    EXPECT_EQ(revalidated->body, "") << match;
  }
  auto changed = client.Get("/big.js", {{"If-None-Match", "\"0123\""}});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  // API answers are never brotli either (a small one is sent as it is).
  auto api = client.Get("/api/v1/nothing", {{"Accept-Encoding", "br"}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 404);
  EXPECT_FALSE(api->has_header("Content-Encoding"));
  EXPECT_EQ(nlohmann::json::parse(api->body)["error"]["message"],
            "no such route in the Parley API");
}

// The rule editor's validation: a dry run gives exactly the error a real "set rule" gives, and
// stores nothing when the rule is valid.
TEST_F(ConsoleTest, ADryRunOfSetRuleValidatesAndStoresNothing) {
  fs::create_directories(dir_ / "data");
  std::ofstream(dir_ / "data" / "t.csv") << "id,band\n1,a\n2,b\n";
  httplib::Headers bearer = {{"Authorization", "Bearer " + tokens_["retailer"]}};
  ASSERT_EQ(Request("POST", "/api/v1/collaborations", bearer, R"({"name": "room"})")->status, 200);
  // Embedded: a bearer caller may register files only under a data root.
  auto added = service_->AddTable(
      identity::Caller::Embedded("retailer"),
      {.collaboration = "room", .table = "t", .source = (dir_ / "data" / "t.csv").string()});
  ASSERT_TRUE(added.ok()) << added.status();
  std::string path = "/api/v1/collaborations/room/tables/t/rule";
  nlohmann::json wrong = {
      {"kind", "aggregation"},
      {"aggregate_columns", {{{"columns", {"nope"}}, {"functions", {"SUM"}}}}},
      {"output_constraints", {{{"column", "id"}, {"minimum", 2}, {"type", "count_distinct"}}}}};
  auto real = Request("PUT", path, bearer, nlohmann::json{{"rule", wrong}}.dump());
  auto dry =
      Request("PUT", path, bearer, nlohmann::json{{"rule", wrong}, {"dry_run", true}}.dump());
  ASSERT_TRUE(real && dry);
  EXPECT_EQ(real->status, 400);
  EXPECT_EQ(dry->status, 400);
  EXPECT_EQ(dry->body, real->body);
  nlohmann::json right = wrong;
  right["aggregate_columns"][0]["columns"] = {"id"};
  right["aggregate_columns"][0]["functions"] = {"COUNT_DISTINCT"};
  auto ok = Request("PUT", path, bearer, nlohmann::json{{"rule", right}, {"dry_run", true}}.dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(nlohmann::json::parse(ok->body)["table"]["rule"], right);
  auto shown = Request("GET", "/api/v1/collaborations/room/tables/t", bearer);
  ASSERT_TRUE(shown);
  EXPECT_FALSE(nlohmann::json::parse(shown->body)["table"].contains("rule")) << shown->body;
}

TEST_F(ConsoleTest, TheSessionUploadsOnlyWithItsCsrfTokenFromItsOwnOrigin) {
  Signed s = SignIn("retailer");
  const std::string content = "id,band\n1,a\n2,b\n";
  const std::string sha256 = "f088788bc38c52ba0300e637cb63d8b009d81f31a53778f50adadc502690067a";
  auto upload = [&](httplib::Headers headers) {
    headers.emplace("Cookie", s.cookie);
    headers.emplace("X-Parley-Sha256", sha256);
    httplib::Client client("127.0.0.1", port_);
    return client.Put("/api/v1/uploads/t.csv", headers, content, "application/octet-stream");
  };
  fs::path stored = dir_ / "data" / "retailer" / "t.csv";
  auto refused = upload({});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"]["message"],
            "request refused: a change made with the console's session must carry its CSRF "
            "token (X-Parley-CSRF)");
  EXPECT_FALSE(fs::exists(stored));
  auto cross = upload({{"X-Parley-CSRF", s.csrf}, {"Origin", "http://evil.example"}});
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  EXPECT_FALSE(fs::exists(stored));
  auto gone = [&] {
    httplib::Client client("127.0.0.1", port_);
    return client.Put("/api/v1/uploads/t.csv",
                      {{"Cookie", "parley_session=" + std::string(64, '0')},
                       {"X-Parley-CSRF", s.csrf},
                       {"X-Parley-Sha256", sha256}},
                      content, "application/octet-stream");
  }();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 401);
  auto made = upload({{"X-Parley-CSRF", s.csrf}, {"Origin", Origin()}});
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 200) << made->body;
  nlohmann::json answer = nlohmann::json::parse(made->body);
  EXPECT_EQ(answer["name"], "t.csv");
  EXPECT_EQ(answer["bytes"], content.size());
  EXPECT_EQ(answer["sha256"], sha256);
  EXPECT_EQ(answer["path"], stored.string());
  EXPECT_EQ(made->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(made->get_header_value("Content-Security-Policy"),
            "default-src 'none'; frame-ancestors 'none'");
  std::ifstream in(stored);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), content);
}

TEST(ConsoleCreateTest, ADirectoryWithoutIndexIsRefused) {
  fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("parley_console_empty_", getpid());
  fs::create_directories(dir);
  api::LocalService service((dir / "home").string(), api::LocalServiceOptions{});
  Options options;
  options.console_dir = (dir / "nothing").string();
  auto server = Server::Create(service, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().message(),
            absl::StrCat("the console's directory '", options.console_dir,
                         "' holds no index.html (build it with scripts/bootstrap.sh, or give "
                         "--console DIR)"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace parley::server
