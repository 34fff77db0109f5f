// PostgreSQL tables on a server (issue 10), end to end: the real binary serves a home on a free
// loopback port next to a real PostgreSQL; organisations work from elsewhere with their tokens
// through the CLI's remote mode. The server's operator sets up one pg_service.conf entry per
// organisation (`[supplier:warehouse]`, the password in the server's .pgpass); the supplier
// registers its table through the API naming only that entry, the retailer's queries run on the
// server against it and give exactly what PostgreSQL holds. Anything else a member working from
// elsewhere could make the server connect to — a host, another organisation's entry, a service
// with overriding settings, an inline password — is refused before any connection, and no
// answer of the API holds the connection's secrets.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/postgres_server.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;

constexpr char kPassword[] = "Served-Pa55-never-shown";

class ServerPostgresE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    postgres_ = started->release();
    ASSERT_OK(postgres_->Execute(absl::StrCat(R"sql(
      CREATE ROLE parley_reader LOGIN PASSWORD ')sql",
                                              kPassword, R"sql(';
      CREATE SCHEMA crm;
      CREATE TABLE crm.customers (email text, region text, joined date, lifetime numeric(10,2));
      INSERT INTO crm.customers
        SELECT 'u' || i || '@example.org',
               CASE i % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' ELSE 'east' END,
               DATE '2024-01-01' + i % 90, (i * 7 % 100) / 4.0
        FROM generate_series(1, 600) i;
      GRANT USAGE ON SCHEMA crm TO parley_reader;
      GRANT SELECT ON crm.customers TO parley_reader;
    )sql")));
    fs::path directory = postgres_->directory();
    fs::path pgpass = directory / "server_pgpass";
    std::ofstream(pgpass) << "127.0.0.1:" << postgres_->port() << ":*:parley_reader:" << kPassword
                          << "\n";
    fs::permissions(pgpass, fs::perms::owner_read | fs::perms::owner_write);
    // The operator's entries: one for the supplier, one for the retailer, and one of its own.
    fs::path services = directory / "server_pg_service.conf";
    std::string entry = absl::StrCat("host=127.0.0.1\nport=", postgres_->port(),
                                     "\nuser=parley_reader\ndbname=postgres\n");
    std::ofstream(services) << "[supplier:warehouse]\n"
                            << entry << "[retailer:warehouse]\n"
                            << entry << "[operator]\n"
                            << entry;
    // The server process (spawned below) inherits them: libpq reads them there.
    setenv("PGPASSFILE", pgpass.c_str(), 1);
    setenv("PGSERVICEFILE", services.c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete postgres_;
    postgres_ = nullptr;
    unsetenv("PGPASSFILE");
    unsetenv("PGSERVICEFILE");
  }

  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "parley_spg_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    scratch_ = dir_ / "scratch";
    fs::create_directories(scratch_);
    server_home_ = dir_ / "server_home";
    Outcome init = Spawn({"--home", server_home_.string(), "serve", "init", "--save-token",
                          (dir_ / "admin.token").string()},
                         scratch_);
    ASSERT_EQ(init.exit_code, 0) << init;
    server_pid_ = SpawnInBackground(
        {"--home", server_home_.string(), "serve", "--listen", "127.0.0.1:0"}, scratch_, "server");
    ASSERT_GT(server_pid_, 0);
    std::regex listening("listening on (http://127\\.0\\.0\\.1:[0-9]+)");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch match;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = ReadText(scratch_ / "server_stdout.txt");
      if (std::regex_search(out, match, listening)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::regex_search(out, match, listening))
        << "the server did not become ready: " << out << ReadText(scratch_ / "server_stderr.txt");
    url_ = match[1];
    for (const char* organisation : {"retailer", "supplier"}) {
      std::string token_file = (dir_ / (std::string(organisation) + ".token")).string();
      Outcome added = Remote("admin", {"org", "add", organisation, "--save-token", token_file});
      ASSERT_EQ(added.exit_code, 0) << added;
      token_files_[organisation] = token_file;
    }
  }

  void TearDown() override {
    if (server_pid_ > 0) {
      kill(server_pid_, SIGTERM);
      int status = 0;
      bool ended = false;
      for (int i = 0; i < 200 && !ended; ++i) {
        ended = waitpid(server_pid_, &status, WNOHANG) == server_pid_;
        if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!ended) {
        kill(server_pid_, SIGKILL);
        waitpid(server_pid_, &status, 0);
      }
    }
    fs::remove_all(dir_);
  }

  Outcome Remote(const std::string& organisation, std::vector<std::string> arguments) {
    std::string token_file =
        organisation == "admin" ? (dir_ / "admin.token").string() : token_files_[organisation];
    arguments.insert(arguments.begin(), {"--server", url_, "--token-file", token_file});
    return Spawn(arguments, scratch_);
  }
  Outcome Ok(const std::string& organisation, const std::vector<std::string>& arguments) {
    Outcome outcome = Remote(organisation, arguments);
    EXPECT_EQ(outcome.exit_code, 0) << organisation << ": " << outcome;
    return outcome;
  }

  // The retailer's room, with the supplier a member that may receive nothing but add tables.
  void MakeRoom() {
    Ok("retailer", {"collaboration", "create", "room"});
    Outcome invited = Ok("retailer", {"--json", "member", "invite", "-c", "room", "supplier",
                                      "--abilities", "receive"});
    nlohmann::json json = nlohmann::json::parse(invited.out, nullptr, false);
    ASSERT_TRUE(json.is_object() && json["code"].is_string()) << invited;
    Ok("supplier", {"join", json["code"].get<std::string>()});
  }

  Outcome AddCustomers(const std::string& conninfo) {
    return Remote("supplier", {"table", "add", "-c", "room", "customers", "--postgres", conninfo,
                               "--relation", "crm.customers"});
  }

  static PostgresServer* postgres_;
  fs::path dir_, scratch_, server_home_;
  std::string url_;
  pid_t server_pid_ = -1;
  std::map<std::string, std::string> token_files_;
};

PostgresServer* ServerPostgresE2eTest::postgres_ = nullptr;

TEST_F(ServerPostgresE2eTest, AMemberRegistersItsServiceEntryAndQueriesRunOnTheServer) {
  MakeRoom();
  Outcome added = AddCustomers("service=supplier:warehouse");
  ASSERT_EQ(added.exit_code, 0) << added;
  EXPECT_THAT(added.out, HasSubstr("added table customers (owner supplier, postgres)"));
  Ok("supplier", {"rule", "set", "-c", "room", "customers", "--json",
                  R"({"kind": "custom", "any_query": true,
                      "allowed_analysis_providers": ["retailer"]})"});
  const std::string sql =
      "SELECT region, count(*) AS n, sum(lifetime) AS total FROM customers "
      "WHERE joined >= '2024-02-01' GROUP BY region ORDER BY region";
  Outcome run = Ok("retailer", {"query", "run", "-c", "room", "--sql", sql, "--output", "-"});
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::vector<std::string>> expected,
      postgres_->Query("SELECT region, count(*), sum(lifetime) FROM crm.customers "
                       "WHERE joined >= '2024-02-01' GROUP BY region ORDER BY region"));
  std::string csv = "region,n,total\n";
  for (const auto& row : expected) absl::StrAppend(&csv, row[0], ",", row[1], ",", row[2], "\n");
  EXPECT_EQ(run.out, csv);
  // The query ran on the server, through the service entry, with its filter pushed down.
  EXPECT_THAT(postgres_->LoggedStatements("COPY (SELECT"),
              ::testing::Contains(HasSubstr(R"(FROM "crm"."customers" WHERE ("joined" >= )"
                                            R"('2024-02-01'::date)) TO STDOUT (FORMAT binary))")));

  // The owner sees its entry's name, the other member only the kind; no answer holds a secret.
  Outcome owner = Ok("supplier", {"--json", "table", "show", "-c", "room", "customers"});
  EXPECT_THAT(owner.out, HasSubstr("service=supplier:warehouse crm.customers"));
  Outcome other = Ok("retailer", {"--json", "table", "show", "-c", "room", "customers"});
  EXPECT_THAT(other.out, Not(HasSubstr("service=")));
  EXPECT_THAT(other.out, HasSubstr("\"kind\": \"postgres\""));
  for (const Outcome& outcome : {added, run, owner, other}) {
    EXPECT_THAT(outcome.out + outcome.err, Not(HasSubstr(kPassword)));
  }
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(server_home_)) {
    if (entry.is_regular_file()) {
      EXPECT_THAT(ReadText(entry.path()), Not(HasSubstr(kPassword))) << entry.path();
    }
  }
}

// Before any connection: only the organisation's own entries, and nothing that overrides them.
TEST_F(ServerPostgresE2eTest, AnythingButTheOrganisationsOwnServiceEntryIsRefused) {
  MakeRoom();
  size_t log_start = postgres_->Log().size();
  const std::string refusal =
      "over a server, a PostgreSQL table is read through a service entry the server's operator "
      "set up for your organisation: give only service=supplier:NAME (no host, user or other "
      "setting)";
  for (const std::string& conninfo : {
           postgres_->TcpConninfo("parley_reader"),    // a host of the member's choice
           std::string("service=retailer:warehouse"),  // another organisation's entry
           std::string("service=operator"),            // the operator's own
           std::string("service=supplier:warehouse host=192.0.2.1"),  // overriding the entry
           std::string("service=supplier:warehouse dbname=template1"),
           std::string("postgresql://127.0.0.1/postgres?service=supplier:warehouse"),
           std::string("service=supplier:"),
       }) {
    Outcome refused = AddCustomers(conninfo);
    EXPECT_EQ(refused.exit_code, kExitNotPermitted) << conninfo << ": " << refused;
    EXPECT_THAT(refused.err, HasSubstr(refusal)) << conninfo;
    EXPECT_THAT(refused.err, Not(HasSubstr("192.0.2.1")));
  }
  // An inline password is refused as everywhere, without echoing it.
  Outcome password = AddCustomers(absl::StrCat("service=supplier:warehouse password=", kPassword));
  EXPECT_EQ(password.exit_code, kExitError) << password;
  EXPECT_THAT(password.err, HasSubstr("a password may not be given inline"));
  EXPECT_THAT(password.err, Not(HasSubstr(kPassword)));
  // None of them reached PostgreSQL.
  EXPECT_THAT(postgres_->Log().substr(log_start), Not(HasSubstr("pg_class")));
  EXPECT_THAT(Ok("supplier", {"table", "list", "-c", "room"}).out, Not(HasSubstr("customers")));
}

}  // namespace
}  // namespace parley::cli_test
