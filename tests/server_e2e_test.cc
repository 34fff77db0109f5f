// `parley serve` end to end: the real binary serves a home on a free loopback port, and three
// organisations — each with its own config directory holding its token file — work together
// through the CLI's remote mode: create a collaboration, invite and join, approve change
// requests, register tables, set a rule, author and approve a template, run it for a receiver,
// fetch the result, verify the audit.
// Every step is also run in embedded mode (--as) on a home of its own, and both modes must print
// the same thing: the same commands give the same output, with or without --json. Differential
// privacy's budget likewise (`parley budget`, before and after a noised query spends it).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
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

class ServerE2eTest : public ServedHomeTest {
 protected:
  void SetUp() override {
    ServedHomeTest::SetUp();
    if (HasFatalFailure()) return;
    local_home_ = (dir_ / "local_home").string();
    data_root_ = dir_ / "data";
    for (const char* organisation : {"retailer", "supplier", "agency"}) {
      fs::create_directories(data_root_ / organisation);
    }
    StartServer({"--data-root", data_root_.string()});
    if (HasFatalFailure()) return;
    AddOrganisations({"retailer", "supplier", "agency"});
  }

  // The same command in embedded mode on a home of its own.
  Outcome Local(const std::string& member, std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--home", local_home_, "--as", member});
    return Spawn(arguments, scratch_);
  }
  // Runs a step both ways; both must succeed (or fail) alike and print the same.
  Outcome Both(const std::string& organisation, const std::vector<std::string>& arguments,
               int exit_code = 0) {
    Outcome local = Local(organisation, arguments);
    Outcome remote = Remote(organisation, arguments);
    std::string step = absl::StrCat(organisation, ": ", arguments[0], " ", arguments[1]);
    EXPECT_EQ(remote.exit_code, exit_code) << step << "\n" << remote;
    EXPECT_EQ(local.exit_code, exit_code) << step << "\n" << local;
    // The two homes were written a moment apart: creation times may differ by a second.
    std::regex time("\"created_at\": [0-9]+");
    EXPECT_EQ(std::regex_replace(remote.out, time, "\"created_at\": T"),
              std::regex_replace(local.out, time, "\"created_at\": T"))
        << step;
    EXPECT_EQ(remote.err, local.err) << step;
    return remote;
  }

  // The creator (retailer) invites `organisation` into "room" both ways; the two codes differ,
  // everything else in the two responses is the same. Returns {local code, remote code}.
  std::pair<std::string, std::string> InviteBoth(const std::string& organisation,
                                                 const std::string& abilities, int exit_code = 0) {
    std::vector<std::string> arguments = {"--json", "member",     "invite",      "-c",
                                          "room",   organisation, "--abilities", abilities};
    Outcome local = Local("retailer", arguments);
    Outcome remote = Remote("retailer", arguments);
    EXPECT_EQ(local.exit_code, exit_code) << local;
    EXPECT_EQ(remote.exit_code, exit_code) << remote;
    nlohmann::json local_json = nlohmann::json::parse(local.out, nullptr, false);
    nlohmann::json remote_json = nlohmann::json::parse(remote.out, nullptr, false);
    if (!local_json.is_object() || !remote_json.is_object()) {
      ADD_FAILURE() << local << remote;
      return {};
    }
    std::pair<std::string, std::string> codes = {local_json["code"], remote_json["code"]};
    EXPECT_THAT(codes.second, ::testing::StartsWith("pi_"));
    for (nlohmann::json* json : {&local_json, &remote_json}) {
      json->erase("code");
      json->erase("expires_at");
      (*json)["change"].erase("created_at");
      (*json)["change"].erase("decided_at");
    }
    EXPECT_EQ(local_json, remote_json);
    // The code is shown once, in the response; the server's log never has it.
    EXPECT_EQ(ServerLog().find(codes.second), std::string::npos);
    return codes;
  }
  // `organisation` redeems its codes both ways; both print the same.
  void JoinBoth(const std::string& organisation, const std::pair<std::string, std::string>& codes) {
    Outcome local = Local(organisation, {"join", codes.first});
    Outcome remote = Remote(organisation, {"join", codes.second});
    EXPECT_EQ(local.exit_code, 0) << local;
    EXPECT_EQ(remote.exit_code, 0) << remote;
    EXPECT_EQ(local.out, remote.out);
  }

  fs::path data_root_;
  std::string local_home_;
};

TEST_F(ServerE2eTest, ThreeOrganisationsWorkTogetherThroughRemoteModeAsTheyWouldLocally) {
  // Each organisation's files under its own folder of the server's data root.
  std::string sales = (data_root_ / "supplier" / "sales.csv").string();
  WriteText(sales, "region,amount\neast,10\nwest,20\nnorth,5\neast,7\n");
  std::string audience = (data_root_ / "retailer" / "audience.csv").string();
  WriteText(audience, "region,households\neast,3\nwest,4\n");

  EXPECT_EQ(Remote("supplier", {"whoami"}).out, "supplier\n");
  Both("retailer", {"collaboration", "create", "room"});
  // The retailer, alone in the room, invites the supplier: approved at once. Another
  // organisation cannot redeem the supplier's code (one answer, as for a code that does not
  // exist) and does not use it up; the supplier joins with it, once.
  auto supplier_codes = InviteBoth("supplier", "query,receive");
  Outcome stolen = Remote("agency", {"join", supplier_codes.second});
  EXPECT_EQ(stolen.exit_code, kExitError) << stolen;
  EXPECT_EQ(stolen.err, "error: no such invitation (the code is not valid)\n");
  Outcome bogus = Remote("agency", {"join", "pi_0123456789abcdef_" + std::string(64, 'a')});
  EXPECT_EQ(bogus.err, stolen.err);
  JoinBoth("supplier", supplier_codes);
  Outcome again = Remote("supplier", {"join", supplier_codes.second});
  EXPECT_EQ(again.err, "error: this invitation has already been used\n");
  // Over a server no organisation is put in a room without its consent.
  Outcome forced =
      Remote("retailer", {"member", "add", "-c", "room", "agency", "--abilities", "query"});
  EXPECT_EQ(forced.exit_code, kExitNotPermitted) << forced;
  // Now the supplier must approve the agency's invitation before its code works.
  auto agency_codes = InviteBoth("agency", "query", kExitPending);
  Outcome early = Remote("agency", {"join", agency_codes.second});
  EXPECT_EQ(early.err,
            "error: this invitation waits for change request 2 to be approved by every member of "
            "collaboration 'room'\n");
  Outcome approved = Both("supplier", {"change", "approve", "-c", "room", "2"});
  EXPECT_EQ(approved.out,
            "change request 2 approved: add member agency (abilities query) by invitation\n");
  JoinBoth("agency", agency_codes);

  // A change that affects everyone waits for every active member: proposed by the agency,
  // approved by the retailer (still pending, exit 5), committed by the supplier's approval.
  Outcome proposed =
      Both("agency", {"collaboration", "set", "-c", "room", "--payer", "supplier"}, kExitPending);
  EXPECT_EQ(proposed.out, "change request 3 pending, waiting for: retailer, supplier\n");
  Outcome half = Both("retailer", {"change", "approve", "-c", "room", "3"}, kExitPending);
  EXPECT_EQ(half.out,
            "approved change request 3\nchange request 3 pending, waiting for: supplier\n");
  Outcome committed = Both("supplier", {"change", "approve", "-c", "room", "3"});
  EXPECT_EQ(committed.out, "change request 3 committed: payer: supplier\n");
  Outcome changes = Both("agency", {"change", "list", "-c", "room"});
  EXPECT_EQ(changes.out,
            "1  committed  add member supplier (abilities query, receive) by invitation  "
            "(proposed by retailer)\n"
            "2  committed  add member agency (abilities query) by invitation  (proposed by "
            "retailer)\n"
            "3  committed  payer: supplier  (proposed by agency)\n");
  Outcome shown = Both("retailer", {"collaboration", "show", "room"});
  EXPECT_THAT(shown.out, HasSubstr("  payer: supplier\n"));
  // A denied change never takes effect.
  Both("supplier", {"collaboration", "set", "-c", "room", "--query-logging", "on"}, kExitPending);
  Outcome denied = Both("agency", {"change", "deny", "-c", "room", "4"});
  EXPECT_EQ(denied.out, "change request 4 denied: query logging: on\n");
  Both("supplier", {"table", "add", "-c", "room", "sales", "--source", sales});
  Both("retailer", {"table", "add", "-c", "room", "audience", "--source", audience});
  Both("supplier", {"rule", "set", "-c", "room", "sales", "--json", R"({"kind": "custom"})"});
  // The owner sees where its table is read from; another member sees no location.
  Outcome owner_view = Both("supplier", {"table", "show", "-c", "room", "sales"});
  EXPECT_THAT(owner_view.out, HasSubstr(sales));
  Outcome agency_view = Both("agency", {"table", "show", "-c", "room", "sales"});
  EXPECT_EQ(agency_view.out.find(sales), std::string::npos) << agency_view.out;

  Outcome created = Both("agency", {"template", "create", "-c", "room", "by_region", "--sql",
                                    "SELECT region, SUM(amount) AS total FROM sales WHERE amount "
                                    "> :min GROUP BY region ORDER BY region",
                                    "--param", "min:integer=0"});
  std::string template_id = created.out.substr(0, 12);
  // Not approved yet: the rules reject the run (query 1) the same way in both modes.
  Outcome rejected = Both(
      "agency",
      {"template", "run", "-c", "room", template_id, "--param", "min=6", "--receiver", "retailer"},
      kExitRejected);
  EXPECT_THAT(rejected.err, HasSubstr("table 'sales' has not approved analysis template"));
  Both("supplier", {"template", "approve", "-c", "room", template_id, "--table", "sales"});
  Both("supplier", {"policy", "-c", "room"});
  Outcome run = Both("agency", {"template", "run", "-c", "room", template_id, "--param", "min=6",
                                "--receiver", "retailer"});
  EXPECT_THAT(run.err, HasSubstr("query 2: accepted and finished; results go to retailer"));
  // The receiver gets the rows; the runner and the table owner do not.
  Outcome result = Both("retailer", {"query", "result", "-c", "room", "2"});
  EXPECT_THAT(result.out, HasSubstr("east   |    17"));
  EXPECT_THAT(result.out, HasSubstr("west   |    20"));
  Both("agency", {"query", "result", "-c", "room", "2"}, kExitNotPermitted);
  Both("supplier", {"query", "result", "-c", "room", "2"}, kExitNotPermitted);
  Both("retailer", {"query", "list", "-c", "room"});

  // --json prints the API's response, the same both ways.
  Both("retailer", {"--json", "collaboration", "show", "room"});
  Both("retailer", {"--json", "query", "result", "-c", "room", "2"});
  Both("agency", {"--json", "table", "list", "-c", "room"});

  // Every member verifies the log through the server and sees one head.
  std::string head;
  for (const char* member : {"retailer", "supplier", "agency"}) {
    Outcome verified = Remote(member, {"audit", "verify", "-c", "room"});
    ASSERT_EQ(verified.exit_code, 0) << verified;
    EXPECT_THAT(verified.out, HasSubstr("audit log of room intact"));
    std::string this_head = verified.out.substr(verified.out.find("head "));
    if (head.empty()) head = this_head;
    EXPECT_EQ(this_head, head) << member;
  }
  Outcome audit = Remote("agency", {"audit", "list", "-c", "room"});
  ASSERT_EQ(audit.exit_code, 0) << audit;
  for (const char* action :
       {"collaboration.create", "change.propose", "change.approve", "change.approved", "member.add",
        "member.join", "change.commit", "collaboration.payer", "change.deny", "table.add",
        "rule.set", "template.create", "query.submitted", "query.finished"}) {
    EXPECT_THAT(audit.out, HasSubstr(action));
  }

  // Kept results: listed for their receiver only; deleting one you do not receive is answered
  // as deleting one that does not exist; the receiver deletes it. The same both ways.
  Outcome kept = Both("retailer", {"--json", "result", "list", "-c", "room"});
  EXPECT_THAT(kept.out, HasSubstr("\"query_id\": 2"));
  Outcome none = Both("agency", {"--json", "result", "list", "-c", "room"});
  EXPECT_EQ(none.out, "{\n  \"results\": []\n}\n");
  Outcome not_yours = Both("agency", {"result", "delete", "-c", "room", "2"}, kExitError);
  Outcome absent = Both("agency", {"result", "delete", "-c", "room", "9"}, kExitError);
  EXPECT_EQ(not_yours.err, "error: no stored result of query 2 in collaboration 'room'\n");
  EXPECT_EQ(absent.err, "error: no stored result of query 9 in collaboration 'room'\n");
  Both("retailer", {"result", "delete", "-c", "room", "2"});
  Both("retailer", {"result", "get", "-c", "room", "2"}, kExitError);

  // The home is a local concern: not read or changed through a server.
  for (std::vector<std::string> home :
       {std::vector<std::string>{"home", "info"},
        std::vector<std::string>{"home", "set", "--result-retention", "7"}}) {
    Outcome refused = Remote("retailer", home);
    EXPECT_EQ(refused.exit_code, kExitUsage) << refused;
    EXPECT_THAT(refused.err,
                HasSubstr(home[0] + " " + home[1] + " is not available with --server"));
  }
}

// Differential privacy through the server: a collaboration created with a budget, a private
// table, a noised query, and `parley budget` (before and after it spends) printing the same
// remotely as in embedded mode; an outsider cannot tell the budget's room from a missing one.
TEST_F(ServerE2eTest, BudgetThroughTheServerIsTheSameAsEmbedded) {
  std::string retail = (data_root_ / "retailer" / "retail.csv").string();
  std::string loyalty = (data_root_ / "supplier" / "loyalty.csv").string();
  std::string retail_rows = "household_id,hashed_email,age_band\n";
  std::string loyalty_rows = "hashed_email\n";
  for (int i = 1; i <= 400; ++i) {
    absl::StrAppend(&retail_rows, i, ",e", i, ",", i % 2 == 0 ? "young" : "old", "\n");
    absl::StrAppend(&loyalty_rows, "e", i, "\n");
  }
  WriteText(retail, retail_rows);
  WriteText(loyalty, loyalty_rows);

  Both("retailer", {"collaboration", "create", "room", "--dp-epsilon", "3", "--dp-default-epsilon",
                    "1", "--dp-max-epsilon", "2"});
  JoinBoth("supplier", InviteBoth("supplier", "query,receive"));
  Both("retailer", {"table", "add", "-c", "room", "retail", "--source", retail});
  Both("supplier", {"table", "add", "-c", "room", "loyalty", "--source", loyalty});
  Both("retailer", {"rule", "set", "-c", "room", "retail", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"], "dimension_columns": ["age_band"],
            "output_constraints": [{"column": "household_id", "minimum": 10}],
            "differential_privacy": {"privacy_unit": "household_id"}})"});
  Both("supplier", {"rule", "set", "-c", "room", "loyalty", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"],
            "output_constraints": [{"column": "hashed_email", "minimum": 10}]})"});

  Outcome fresh = Both("supplier", {"budget", "-c", "room"});
  EXPECT_THAT(fresh.out, HasSubstr("privacy budget of room: epsilon 3 and delta 0.00001 per "
                                   "month; a query spends 1 by default, at most 2\n"));
  EXPECT_THAT(fresh.out, HasSubstr(": 0 queries, epsilon 0 spent, 3 left;"));

  // The noised values differ between runs; what the run spends and prints about it does not.
  const std::string query =
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households FROM retail r "
      "JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band";
  // Explain alike, but for the front end's time.
  std::regex micros("front end: [0-9]+ µs");
  Outcome local_explain =
      Local("supplier", {"query", "explain", "-c", "room", "--sql", query, "--epsilon", "2"});
  Outcome remote_explain =
      Remote("supplier", {"query", "explain", "-c", "room", "--sql", query, "--epsilon", "2"});
  ASSERT_EQ(remote_explain.exit_code, 0) << remote_explain;
  EXPECT_THAT(remote_explain.out, HasSubstr("differential privacy: spends epsilon 2,"));
  EXPECT_EQ(std::regex_replace(remote_explain.out, micros, "T"),
            std::regex_replace(local_explain.out, micros, "T"));
  Outcome local_run = Local("supplier", {"query", "run", "-c", "room", "--sql", query, "--epsilon",
                                         "2", "--output", (dir_ / "local.csv").string()});
  Outcome remote_run =
      Remote("supplier", {"query", "run", "-c", "room", "--sql", query, "--epsilon", "2",
                          "--output", (dir_ / "remote.csv").string()});
  ASSERT_EQ(local_run.exit_code, 0) << local_run;
  ASSERT_EQ(remote_run.exit_code, 0) << remote_run;
  EXPECT_THAT(remote_run.err, HasSubstr("differential privacy: spends epsilon 2,"));
  EXPECT_EQ(std::regex_replace(remote_run.err, std::regex("remote\\.csv"), "X"),
            std::regex_replace(local_run.err, std::regex("local\\.csv"), "X"));

  Outcome spent = Both("retailer", {"budget", "-c", "room"});
  EXPECT_THAT(spent.out, HasSubstr(": 1 queries, epsilon 2 spent, 1 left;"));
  Both("supplier", {"--json", "budget", "-c", "room"});

  // An organisation that is not a member gets the answer a missing collaboration gets.
  Outcome outsider = Remote("agency", {"budget", "-c", "room"});
  Outcome missing = Remote("agency", {"budget", "-c", "moor"});
  EXPECT_EQ(outsider.exit_code, 1);
  EXPECT_EQ(outsider.err, "error: collaboration 'room' not found\n");
  EXPECT_EQ(missing.err, "error: collaboration 'moor' not found\n");
  EXPECT_EQ(outsider.out, missing.out);
}

// Metering through the server: the same usage report, limits and refusals as in embedded mode
// (durations aside); an outsider cannot tell the room exists.
TEST_F(ServerE2eTest, UsageThroughTheServerIsTheSameAsEmbedded) {
  std::string retail = (data_root_ / "retailer" / "retail.csv").string();
  std::string loyalty = (data_root_ / "supplier" / "loyalty.csv").string();
  std::string retail_rows = "household_id,hashed_email,age_band\n";
  std::string loyalty_rows = "hashed_email\n";
  for (int i = 1; i <= 400; ++i) {
    absl::StrAppend(&retail_rows, i, ",e", i, ",", i % 2 == 0 ? "young" : "old", "\n");
    absl::StrAppend(&loyalty_rows, "e", i, "\n");
  }
  WriteText(retail, retail_rows);
  WriteText(loyalty, loyalty_rows);
  Both("retailer", {"collaboration", "create", "room"});
  JoinBoth("supplier", InviteBoth("supplier", "query,receive"));
  Both("retailer", {"table", "add", "-c", "room", "retail", "--source", retail});
  Both("supplier", {"table", "add", "-c", "room", "loyalty", "--source", loyalty});
  Both("retailer", {"rule", "set", "-c", "room", "retail", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"], "dimension_columns": ["age_band"],
            "output_constraints": [{"column": "household_id", "minimum": 10}]})"});
  Both("supplier", {"rule", "set", "-c", "room", "loyalty", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"],
            "output_constraints": [{"column": "hashed_email", "minimum": 10}]})"});
  const std::string query =
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households FROM retail r "
      "JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band ORDER BY r.age_band";
  Both("supplier", {"usage", "limit", "-c", "room", "--per-query", "1MB"});
  Both("supplier", {"query", "run", "-c", "room", "--sql", query});

  // The reports agree but for the runs' durations.
  std::regex duration("\"duration_micros\": [0-9]+");
  for (const char* by : {"member", "payer", "month"}) {
    std::vector<std::string> arguments = {"--json", "usage", "-c", "room", "--by", by};
    Outcome local = Local("retailer", arguments);
    Outcome remote = Remote("retailer", arguments);
    ASSERT_EQ(remote.exit_code, 0) << remote;
    EXPECT_EQ(std::regex_replace(remote.out, duration, "D"),
              std::regex_replace(local.out, duration, "D"))
        << by;
  }
  nlohmann::json report = nlohmann::json::parse(
      Remote("retailer", {"--json", "usage", "-c", "room", "--by", "payer"}).out);
  EXPECT_EQ(report["price_per_tb"], "5.00");
  ASSERT_EQ(report["lines"].size(), 1u);
  EXPECT_EQ(report["lines"][0]["key"], "supplier");
  EXPECT_EQ(report["lines"][0]["rows_scanned"], 800);
  EXPECT_EQ(report["lines"][0]["bytes_scanned"],
            static_cast<int64_t>(fs::file_size(retail) + fs::file_size(loyalty)));
  // The retailer sees its own limits (none), not the supplier's.
  EXPECT_EQ(report["limits"], nlohmann::json::object());

  // Over the limit: refused before it runs, alike.
  Both("supplier", {"usage", "limit", "-c", "room", "--per-query", "1kB"});
  Outcome refused = Both("supplier", {"query", "run", "-c", "room", "--sql", query}, 1);
  EXPECT_THAT(refused.err, HasSubstr("error: query refused before it ran: it would scan an "
                                     "estimated"));
  Outcome price = Remote("supplier", {"usage", "-c", "room", "--price-per-tb", "7"});
  EXPECT_EQ(price.exit_code, 2) << price;
  EXPECT_EQ(price.err, "error: --price-per-tb: with --server the server's price applies\n");

  Outcome outsider = Remote("agency", {"usage", "-c", "room"});
  Outcome missing = Remote("agency", {"usage", "-c", "moor"});
  EXPECT_EQ(outsider.err, "error: collaboration 'room' not found\n");
  EXPECT_EQ(missing.err, "error: collaboration 'moor' not found\n");
  Outcome limit = Remote("agency", {"usage", "limit", "-c", "room", "--monthly", "1GB"});
  EXPECT_EQ(limit.err, "error: collaboration 'room' not found\n");
}

// Closing a room through the server prints and refuses as in embedded mode; an organisation that
// is not a member cannot tell the closed room from one that does not exist.
TEST_F(ServerE2eTest, ClosingARoomThroughTheServerIsTheSameAsEmbedded) {
  Both("retailer", {"collaboration", "create", "room"});
  JoinBoth("supplier", InviteBoth("supplier", "query,receive"));
  Both("supplier", {"collaboration", "close", "-c", "room"}, kExitNotPermitted);
  Outcome closed = Both("retailer", {"collaboration", "close", "-c", "room"});
  EXPECT_THAT(closed.out, HasSubstr("closed collaboration room:"));
  Outcome twice = Both("retailer", {"collaboration", "close", "-c", "room"}, 1);
  EXPECT_EQ(twice.err, "error: collaboration 'room' is already closed\n");
  Outcome refused = Both("supplier", {"query", "run", "-c", "room", "--sql", "SELECT 1 AS x"}, 1);
  EXPECT_THAT(refused.err, HasSubstr("error: collaboration 'room' is closed: "));
  EXPECT_THAT(Both("supplier", {"collaboration", "list"}).out, HasSubstr("[closed]"));
  Outcome outsider = Remote("agency", {"collaboration", "close", "-c", "room"});
  EXPECT_EQ(outsider.exit_code, 1);
  EXPECT_EQ(outsider.err, "error: collaboration 'room' not found\n");
}

TEST_F(ServerE2eTest, OutsidersAndTokensAreRefusedAsTheyShouldBe) {
  Remote("retailer", {"collaboration", "create", "room"});
  // An organisation that is not a member cannot tell the room from one that does not exist.
  Outcome existing = Remote("agency", {"collaboration", "show", "room"});
  Outcome missing = Remote("agency", {"collaboration", "show", "moor"});
  EXPECT_EQ(existing.exit_code, 1);
  EXPECT_EQ(existing.err, "error: collaboration 'room' not found\n");
  EXPECT_EQ(missing.err, "error: collaboration 'moor' not found\n");
  // A file outside one's own folder of the data root is refused, however it is named: another
  // organisation's file, a path that climbs out, a link that leads out, a file outside the root.
  std::string retailers = (data_root_ / "retailer" / "private.csv").string();
  WriteText(retailers, "x\n1\n");
  WriteText((dir_ / "outside.csv").string(), "x\n1\n");
  fs::create_symlink(retailers, data_root_ / "agency" / "link.csv");
  Outcome invited = Remote(
      "retailer", {"--json", "member", "invite", "-c", "room", "agency", "--abilities", "query"});
  ASSERT_EQ(invited.exit_code, 0) << invited;
  std::string code = nlohmann::json::parse(invited.out)["code"];
  ASSERT_EQ(Remote("agency", {"join", code}).exit_code, 0);
  for (const std::string& source :
       {retailers, (data_root_ / "agency" / ".." / "retailer" / "private.csv").string(),
        (data_root_ / "agency" / "link.csv").string(), (dir_ / "outside.csv").string(),
        (data_root_ / "*" / "private.csv").string()}) {
    Outcome refused =
        Remote("agency", {"table", "add", "-c", "room", "stolen", "--source", source});
    EXPECT_EQ(refused.exit_code, kExitNotPermitted) << source << "\n" << refused;
    EXPECT_EQ(refused.err, absl::StrCat("error: source '", source,
                                        "' is not under your folder of the server's data root "
                                        "(agency/)\n"))
        << source;
  }
  WriteText((data_root_ / "agency" / "own.csv").string(), "x\n1\n");
  Outcome own = Remote("agency", {"table", "add", "-c", "room", "own", "--source",
                                  (data_root_ / "agency" / "own.csv").string()});
  EXPECT_EQ(own.exit_code, 0) << own;
  Remote("retailer", {"member", "remove", "-c", "room", "agency"});
  // --as is refused: the token is the identity.
  Outcome as = Remote("agency", {"--as", "retailer", "collaboration", "show", "room"});
  EXPECT_EQ(as.exit_code, kExitUsage);
  EXPECT_THAT(as.err, HasSubstr("--as cannot be used with --server"));
  // Only the operator adds organisations.
  Outcome not_admin = Remote("agency", {"org", "add", "intruder"});
  EXPECT_EQ(not_admin.exit_code, kExitNotPermitted);
  EXPECT_EQ(not_admin.err,
            "error: only the server's operator organisation can add organisations\n");
  // A token file others can read is refused before anything is sent.
  chmod(TokenFile("agency").c_str(), 0640);
  Outcome readable = Remote("agency", {"whoami"});
  EXPECT_EQ(readable.exit_code, 1);
  EXPECT_THAT(readable.err, HasSubstr("is readable or writable by others (mode 0640)"));
  chmod(TokenFile("agency").c_str(), 0600);
  // Rotation: the token file now holds the new token; the old one no longer works.
  std::string old_token = ReadText(TokenFile("agency"));
  Outcome rotated = Remote("agency", {"token", "rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated;
  EXPECT_THAT(rotated.out, HasSubstr("saved to " + TokenFile("agency")));
  EXPECT_NE(ReadText(TokenFile("agency")), old_token);
  EXPECT_EQ(Remote("agency", {"whoami"}).out, "agency\n");
  std::string stale = (dir_ / "stale.token").string();
  WriteText(stale, old_token);
  chmod(stale.c_str(), 0600);
  Outcome refused = Spawn({"--server", url_, "--token-file", stale, "whoami"}, scratch_);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "error: missing, invalid or revoked API token\n");
  // A server that is not there is named in the error.
  Outcome unreachable = Spawn(
      {"--server", "http://127.0.0.1:1", "--token-file", TokenFile("agency"), "whoami"}, scratch_);
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err, HasSubstr("cannot reach the Parley server at http://127.0.0.1:1"));
  // Plain HTTP to a host that is not loopback would send the token in the clear.
  Outcome clear = Spawn(
      {"--server", "http://parley.example.com", "--token-file", TokenFile("agency"), "whoami"},
      scratch_);
  EXPECT_EQ(clear.exit_code, kExitUsage);
  EXPECT_THAT(clear.err, HasSubstr("refusing to send a token over plain HTTP"));
}

// TLS: a server with a certificate serves https://, a client verifies it (with PARLEY_CA_CERT for
// a certificate authority of one's own) and refuses one it cannot verify; without TLS, a listen
// address that is not loopback is refused.
TEST(ServerTlsE2eTest, HttpsIsVerifiedAndANonLoopbackAddressNeedsTls) {
  std::string pattern = (fs::path(::testing::TempDir()) / "parley_tls_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  fs::path dir = pattern;
  fs::path scratch = dir / "scratch";
  fs::create_directories(scratch);
  std::string home = (dir / "home").string();
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  std::string command = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout ",
      key, " -out ", cert, " 2>/dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl could not make a test certificate";

  Outcome clear = Spawn({"--home", home, "serve", "--listen", "0.0.0.0:0"}, scratch);
  EXPECT_EQ(clear.exit_code, kExitUsage);
  EXPECT_EQ(clear.err,
            "error: refusing to listen on '0.0.0.0' without TLS: tokens would cross the network "
            "in the clear; listen on a loopback address (127.0.0.1) or give --tls-cert and "
            "--tls-key\n");

  std::string token = (dir / "admin.token").string();
  ASSERT_EQ(Spawn({"--home", home, "serve", "init", "--save-token", token}, scratch).exit_code, 0);
  pid_t server = SpawnInBackground(
      {"--home", home, "serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key},
      scratch, "tls");
  ASSERT_GT(server, 0);
  std::regex listening("listening on (https://127\\.0\\.0\\.1:[0-9]+)");
  std::smatch match;
  std::string out;
  for (int i = 0; i < 600 && !std::regex_search(out, match, listening); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out = ReadText(scratch / "tls_stdout.txt");
  }
  std::string url = std::regex_search(out, match, listening) ? std::string(match[1]) : "";
  EXPECT_FALSE(url.empty()) << out << ReadText(scratch / "tls_stderr.txt");
  if (!url.empty()) {
    unsetenv("PARLEY_CA_CERT");
    Outcome unverified = Spawn({"--server", url, "--token-file", token, "whoami"}, scratch);
    EXPECT_EQ(unverified.exit_code, 1);
    EXPECT_THAT(unverified.err, HasSubstr("cannot verify the certificate of the Parley server"));
    setenv("PARLEY_CA_CERT", cert.c_str(), 1);
    Outcome verified = Spawn({"--server", url, "--token-file", token, "whoami"}, scratch);
    unsetenv("PARLEY_CA_CERT");
    EXPECT_EQ(verified.exit_code, 0) << verified;
    EXPECT_EQ(verified.out, "operator (operator)\n");
  }
  kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace parley::cli_test
