// docs/openapi.json against the code and the running server: the file is the document generated
// from the endpoint list and the request and response types, and its routes and methods are
// exactly those a server answers — each documented route is answered (not 404/405) over HTTP,
// each route of the server is documented, and a method a path does not document gets 405.
#include "api/openapi.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/codec.h"
#include "gtest/gtest.h"
#include "identity/caller.h"
#include "server/server.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* dir = std::getenv("PARLEY_SOURCE_DIR");
  return dir != nullptr ? dir : PARLEY_SOURCE_DIR_DEFAULT;
}

nlohmann::json ReadDocument() {
  std::ifstream in(SourceDir() / "docs" / "openapi.json");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = api::ParseJson(text.str());
  EXPECT_TRUE(parsed.ok()) << "docs/openapi.json: " << parsed.status();
  return parsed.ok() ? *parsed : nlohmann::json();
}

TEST(OpenApiTest, TheDocumentInTheRepositoryIsTheOneTheCodeDescribes) {
  nlohmann::json generated = api::OpenApiDocument();
  if (std::getenv("PARLEY_WRITE_OPENAPI") != nullptr) {
    std::ofstream(SourceDir() / "docs" / "openapi.json") << api::Dump(generated, 2) << "\n";
  }
  EXPECT_EQ(ReadDocument(), generated)
      << "docs/openapi.json is out of date: regenerate it with PARLEY_WRITE_OPENAPI=1 "
         "build/debug/src/server/parley_openapi_test";
}

TEST(OpenApiTest, TheDocumentedRoutesAreExactlyThoseTheServerAnswers) {
  fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("parley_openapi_", getpid());
  fs::remove_all(dir);
  auto service =
      std::make_unique<api::LocalService>((dir / "home").string(), api::LocalServiceOptions{});
  auto admin = service->InitServer("operator");
  ASSERT_TRUE(admin.ok());
  auto server = Server::Create(*service, {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto port = (*server)->Bind();
  ASSERT_TRUE(port.ok());
  std::thread serving([&] { (void)(*server)->Serve(); });

  std::set<std::pair<std::string, std::string>> documented, served;
  nlohmann::json document = ReadDocument();
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      documented.insert({path, absl::AsciiStrToUpper(method)});
    }
  }
  for (const api::Route& route : (*server)->routes()) served.insert({route.path, route.method});
  for (const auto& route : served) {
    EXPECT_TRUE(documented.contains(route))
        << "not documented: " << route.second << " " << route.first;
  }
  for (const auto& route : documented) {
    EXPECT_TRUE(served.contains(route))
        << "documented, not served: " << route.second << " " << route.first;
  }

  // Over HTTP: every documented route is a route (its answer is the service's, whatever it is),
  // and every other method on a documented path is 405.
  httplib::Client client("127.0.0.1", *port);
  // A fresh token of the operator for each request: one of the routes revokes the token it is
  // called with (a rotation), and every other request must still get past authentication.
  auto send = [&](const std::string& method, const std::string& path) {
    auto fresh = service->RotateToken(identity::Caller::Embedded("operator"), {});
    EXPECT_TRUE(fresh.ok()) << fresh.status();
    client.set_bearer_token_auth(fresh->token);
    return method == "GET"      ? client.Get(path)
           : method == "DELETE" ? client.Delete(path)
           : method == "PUT"    ? client.Put(path, "{}", "application/json")
                                : client.Post(path, "{}", "application/json");
  };
  std::set<std::string> paths;
  for (const auto& [path, method] : documented) {
    paths.insert(path);
    std::string concrete = absl::StrReplaceAll(path, {{"{collaboration}", "room"},
                                                      {"{table}", "sales"},
                                                      {"{member}", "m"},
                                                      {"{query_id}", "1"},
                                                      {"{template_id}", "abc"},
                                                      {"{token_id}", "0123456789abcdef"}});
    auto result = send(method, concrete);
    ASSERT_TRUE(result) << method << " " << concrete;
    EXPECT_NE(result->status, 405) << method << " " << concrete << ": " << result->body;
    // The console's session routes answer to its cookie, never to a bearer token (GET and
    // DELETE /api/v1/session: 401 here, by design; server/console_test.cc covers them).
    if (path != api::kShowSession.route.path) {
      EXPECT_NE(result->status, 401) << method << " " << concrete << ": " << result->body;
    }
    EXPECT_EQ(result->body.find("no such route"), std::string::npos)
        << method << " " << concrete << ": " << result->body;
  }
  for (const std::string& path : paths) {
    std::string concrete = absl::StrReplaceAll(path, {{"{collaboration}", "room"},
                                                      {"{table}", "sales"},
                                                      {"{member}", "m"},
                                                      {"{query_id}", "1"},
                                                      {"{template_id}", "abc"},
                                                      {"{token_id}", "0123456789abcdef"}});
    for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
      if (documented.contains({path, method})) continue;
      auto result = send(method, concrete);
      ASSERT_TRUE(result);
      EXPECT_EQ(result->status, 405) << method << " " << concrete << ": " << result->body;
    }
  }
  (*server)->Stop();
  serving.join();
  server->reset();
  service.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace parley::server
