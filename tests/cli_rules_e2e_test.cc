// End-to-end tests of list and custom rules, analysis templates, result receivers, query logs and
// `parley policy`, through the real binary with three members: a retailer (its `audience` table,
// CSV), a publisher (its `impressions` table, Parquet) and an agency that runs the analyses (its
// own `conversions` table, CSV). Query results are compared with plain DuckDB over the same files.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli_test_support.h"
#include "engine/duckdb/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::kExitPending;
using cli_test::kExitRejected;
using cli_test::kExitUsage;
using cli_test::Outcome;
using cli_test::ParseCsv;
using cli_test::ReadText;
using cli_test::Rows;
using cli_test::Sorted;
using cli_test::WriteText;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The retailer's audience: u01..u40, three segments, odd users in the north.
std::string AudienceCsv() {
  const char* segments[] = {"sports", "travel", "food"};
  std::string csv = "user_id,segment,region,age\n";
  for (int i = 1; i <= 40; ++i) {
    absl::StrAppendFormat(&csv, "u%02d,%s,%s,%d\n", i, segments[i % 3],
                          i % 2 == 1 ? "north" : "south", 20 + i);
  }
  return csv;
}

// The publisher's impressions: u11..u50 (30 shared with the audience), two campaigns.
constexpr char kImpressionsSql[] =
    "SELECT printf('u%02d', j) AS user_id, CASE WHEN j % 2 = 0 THEN 'spring' ELSE 'summer' END "
    "AS campaign, j % 5 + 1 AS impressions FROM range(11, 51) AS t(j)";

// The agency's conversions: every other user from u05 to u35.
std::string ConversionsCsv() {
  std::string csv = "user_id,converted\n";
  for (int i = 5; i <= 35; i += 2) absl::StrAppendFormat(&csv, "u%02d,%d\n", i, i % 3);
  return csv;
}

// Custom rules under which only the owner queries free-form: the tables wait for templates to be
// approved.
constexpr char kAudienceTemplatesOnly[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["retailer"], )"
    R"("disallowed_output_columns": ["user_id"]})";
constexpr char kImpressionsTemplatesOnly[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["publisher"], )"
    R"("disallowed_output_columns": ["user_id"]})";
// Free-form queries by the agency, results for the agency and the retailer only.
constexpr char kAudienceForAgency[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["agency"], )"
    R"("disallowed_output_columns": ["user_id"], )"
    R"("allowed_result_receivers": ["agency", "retailer"]})";
constexpr char kConversionsForAgency[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["agency"]})";

constexpr char kReachSql[] =
    "SELECT a.segment, COUNT(*) AS users, SUM(i.impressions) AS impressions\n"
    "FROM audience a JOIN impressions i ON a.user_id = i.user_id\n"
    "WHERE i.campaign = :campaign AND i.impressions >= :min_impressions\n"
    "GROUP BY a.segment ORDER BY a.segment";

constexpr char kConvertedBySegment[] =
    "SELECT a.segment, COUNT(*) AS converted FROM audience a JOIN conversions c ON a.user_id = "
    "c.user_id WHERE c.converted > 0 GROUP BY a.segment ORDER BY a.segment";

constexpr char kDisallowedInCte[] =
    "WITH x AS (SELECT user_id AS uid, segment FROM audience) SELECT uid, segment FROM x";
constexpr char kDisallowedInCteRejection[] =
    "query rejected: 1 violation\n"
    "  1. output column 'uid' is derived from column 'user_id' of table 'audience', which may "
    "not be output (in SELECT, at line 1, column 65)\n"
    "     rule: custom rule of table audience (owner retailer), column user_id\n"
    "     hint: disallowed columns may be used in joins, filters, GROUP BY and the final ORDER "
    "BY, but nothing derived from them may be returned — including window functions "
    "partitioned or ordered by them\n";

std::string NotApproved(const std::string& table, const std::string& owner,
                        const std::string& short_id) {
  return absl::StrCat("table '", table, "' has not approved analysis template ", short_id,
                      "\n     rule: custom rule of table ", table, " (owner ", owner,
                      ")\n     hint: its owner '", owner,
                      "' can approve it with 'parley template approve'\n");
}

class CliRulesE2eTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (HasFatalFailure()) return;
    audience_csv_ = (dir_ / "audience.csv").string();
    impressions_parquet_ = (dir_ / "impressions.parquet").string();
    conversions_csv_ = (dir_ / "conversions.csv").string();
    WriteText(audience_csv_, AudienceCsv());
    WriteText(conversions_csv_, ConversionsCsv());
    Exec(absl::StrCat("COPY (", kImpressionsSql, ") TO ",
                      engine::duckdb::QuoteString(impressions_parquet_), " (FORMAT parquet)"));
    Exec(absl::StrCat("CREATE VIEW audience AS SELECT * FROM read_csv(",
                      engine::duckdb::QuoteString(audience_csv_), ", header=true)"));
    Exec(absl::StrCat("CREATE VIEW impressions AS SELECT * FROM read_parquet(",
                      engine::duckdb::QuoteString(impressions_parquet_), ")"));
    Exec(absl::StrCat("CREATE VIEW conversions AS SELECT * FROM read_csv(",
                      engine::duckdb::QuoteString(conversions_csv_), ", header=true)"));
  }

  // The room: the retailer creates it with `retailer_abilities`, adds the publisher and the
  // agency (query, receive), and each adds its table; rules are left to each test.
  void SetUpRoom(const std::string& retailer_abilities, const std::string& publisher_abilities,
                 bool query_logging = false) {
    std::vector<std::string> create = {"collaboration", "create", "room", "--abilities",
                                       retailer_abilities};
    if (query_logging) create.push_back("--query-logging");
    Ok("retailer", create);
    Ok("retailer",
       {"member", "add", "-c", "room", "publisher", "--abilities", publisher_abilities});
    EXPECT_EQ(
        As("retailer", {"member", "add", "-c", "room", "agency", "--abilities", "query,receive"})
            .exit_code,
        kExitPending);
    Ok("publisher", {"change", "approve", "-c", "room", "2"});
    Ok("retailer", {"table", "add", "-c", "room", "audience", "--source", audience_csv_});
    Ok("publisher",
       {"table", "add", "-c", "room", "impressions", "--source", impressions_parquet_});
    Ok("agency", {"table", "add", "-c", "room", "conversions", "--source", conversions_csv_});
  }

  void SetRule(const std::string& owner, const std::string& table, const std::string& json) {
    Ok(owner, {"rule", "set", "-c", "room", table, "--json", json});
  }

  // Scenario 1: both owners accept only reviewed templates; the agency authors the reach
  // template. Returns its id.
  std::string SetUpReachTemplate() {
    SetUpRoom("none", "none");
    SetRule("retailer", "audience", kAudienceTemplatesOnly);
    SetRule("publisher", "impressions", kImpressionsTemplatesOnly);
    Outcome created =
        Ok("agency", {"template", "create", "-c", "room", "reach", "--sql", kReachSql, "--param",
                      "campaign:text", "--param", "min_impressions:integer=1"});
    std::vector<std::string> lines = absl::StrSplit(created.out, '\n', absl::SkipEmpty());
    return lines.empty() ? "" : lines[0];
  }

  Outcome RunReach(const std::vector<std::string>& parameters, const std::string& output = "") {
    std::vector<std::string> arguments = {"template", "run", "-c", "room", template_id_};
    for (const std::string& parameter : parameters) {
      arguments.push_back("--param");
      arguments.push_back(parameter);
    }
    if (!output.empty()) {
      arguments.push_back("--output");
      arguments.push_back(output);
    }
    return As("agency", arguments);
  }

  // The reach template in plain DuckDB, the parameters spelled out.
  Rows ReachOracle(const std::string& campaign_literal, int min_impressions) {
    return OracleRows(absl::StrCat(
        "SELECT a.segment, count(*), sum(i.impressions) FROM audience a JOIN impressions i ON "
        "a.user_id = i.user_id WHERE i.campaign = ",
        campaign_literal, " AND i.impressions >= ", min_impressions,
        " GROUP BY a.segment ORDER BY a.segment"));
  }

  std::string audience_csv_;
  std::string impressions_parquet_;
  std::string conversions_csv_;
  std::string template_id_;
};

// --- templates -------------------------------------------------------------------------------

TEST_F(CliRulesE2eTest, TemplateRunsOnlyOnceEveryOwnerApprovedAndMatchesDuckDb) {
  SetUpRoom("none", "none");
  SetRule("retailer", "audience", kAudienceTemplatesOnly);
  SetRule("publisher", "impressions", kImpressionsTemplatesOnly);
  Outcome created =
      Ok("agency", {"template", "create", "-c", "room", "reach", "--sql", kReachSql, "--param",
                    "campaign:text", "--param", "min_impressions:integer=1"});
  std::vector<std::string> lines = absl::StrSplit(created.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << created;
  template_id_ = lines[0];
  EXPECT_THAT(template_id_, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(lines[1],
            "template reach by agency: 2 parameters, reads audience, impressions; runnable: no");
  const std::string short_id = template_id_.substr(0, 12);

  // Review: the owners see the SQL, the parameters and which tables approve it.
  Outcome shown = Ok("publisher", {"template", "show", "-c", "room", short_id});
  std::vector<std::string> shown_lines = absl::StrSplit(shown.out, '\n');
  ASSERT_GE(shown_lines.size(), 4u) << shown;
  EXPECT_THAT(shown_lines[3], MatchesRegex("  created: [0-9]{4}-[0-9]{2}-[0-9]{2} "
                                           "[0-9]{2}:[0-9]{2}:[0-9]{2} UTC"));
  shown_lines.erase(shown_lines.begin() + 3);
  EXPECT_EQ(absl::StrJoin(shown_lines, "\n"),
            absl::StrCat("template ", template_id_,
                         "\n"
                         "  name: reach\n"
                         "  author: agency\n"
                         "  sql:\n"
                         "    SELECT a.segment, COUNT(*) AS users, SUM(i.impressions) AS "
                         "impressions\n"
                         "    FROM audience a JOIN impressions i ON a.user_id = i.user_id\n"
                         "    WHERE i.campaign = :campaign AND i.impressions >= :min_impressions\n"
                         "    GROUP BY a.segment ORDER BY a.segment\n"
                         "  parameters:\n"
                         "    campaign         text     no default\n"
                         "    min_impressions  integer  default 1\n"
                         "  tables:\n"
                         "    audience     owner retailer   approved: no\n"
                         "    impressions  owner publisher  approved: no\n"
                         "  runnable: no (not approved by retailer for audience, publisher for "
                         "impressions)\n"));
  EXPECT_EQ(Ok("retailer", {"template", "list", "-c", "room"}).out,
            absl::StrCat(short_id, "  reach  author agency  runnable no\n"));

  // Not approved: the run is refused naming each owner who has not approved it.
  Outcome refused = RunReach({"campaign=spring"});
  EXPECT_EQ(refused.exit_code, kExitRejected) << refused;
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err, absl::StrCat("query rejected: 2 violations\n  1. ",
                                      NotApproved("audience", "retailer", short_id), "  2. ",
                                      NotApproved("impressions", "publisher", short_id)));

  Outcome approved =
      Ok("retailer", {"template", "approve", "-c", "room", short_id, "--table", "audience"});
  EXPECT_EQ(approved.out,
            absl::StrCat("approved template ", short_id,
                         " for table audience\n"
                         "template reach by agency: 2 parameters, reads audience, impressions; "
                         "runnable: no\n"));
  Outcome half = RunReach({"campaign=spring"});
  EXPECT_EQ(half.exit_code, kExitRejected) << half;
  EXPECT_EQ(half.err, absl::StrCat("query rejected: 1 violation\n  1. ",
                                   NotApproved("impressions", "publisher", short_id)));

  // Only a table's owner approves for it, and only tables the template reads.
  Outcome not_owner =
      As("retailer", {"template", "approve", "-c", "room", short_id, "--table", "impressions"});
  EXPECT_EQ(not_owner.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(not_owner.err,
            "error: only the owner of table 'impressions' ('publisher') can approve analyses for "
            "it\n");
  Outcome unread =
      As("agency", {"template", "approve", "-c", "room", short_id, "--table", "conversions"});
  EXPECT_EQ(unread.exit_code, kExitError);
  EXPECT_EQ(unread.err,
            absl::StrCat("error: template ", short_id, " does not read table 'conversions'\n"));

  Ok("publisher", {"template", "approve", "-c", "room", short_id, "--table", "impressions"});
  EXPECT_EQ(Ok("agency", {"template", "list", "-c", "room"}).out,
            absl::StrCat(short_id, "  reach  author agency  runnable yes\n"));
  EXPECT_THAT(Ok("agency", {"template", "show", "-c", "room", template_id_}).out,
              HasSubstr("    audience     owner retailer   approved: yes\n"
                        "    impressions  owner publisher  approved: yes\n"
                        "  runnable: yes\n"));

  Outcome printed =
      Ok("agency", {"template", "run", "-c", "room", template_id_, "--param", "campaign=spring"});
  // Queries 1 and 2 were the rejected runs: rejections are recorded too.
  EXPECT_EQ(printed.err, "query 3: 3 rows for agency\n");
  EXPECT_EQ(printed.out,
            "segment | users | impressions\n"
            "--------+-------+------------\n"
            "food    |     5 |          15\n"
            "sports  |     5 |          15\n"
            "travel  |     5 |          15\n"
            "(3 rows)\n");
  for (int least : {1, 3, 5}) {
    SCOPED_TRACE(least);
    std::string output = (dir_ / absl::StrCat("reach", least, ".csv")).string();
    Outcome run = RunReach({"campaign=summer", absl::StrCat("min_impressions=", least)}, output);
    EXPECT_EQ(run.exit_code, 0) << run;
    Rows expected = ReachOracle("'summer'", least);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(ParseCsv(ReadText(output)).rows, expected);
  }
}

TEST_F(CliRulesE2eTest, TemplateParametersAreTypedValuesNeverSql) {
  template_id_ = SetUpReachTemplate();
  Ok("retailer", {"template", "approve", "-c", "room", template_id_, "--table", "audience"});
  Ok("publisher", {"template", "approve", "-c", "room", template_id_, "--table", "impressions"});

  struct Case {
    std::vector<std::string> parameters;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"campaign=spring", "min_impressions=abc"},
            "parameter 'min_impressions' expects an integer"},
           {{"campaign=spring", "min_impressions=1.5"},
            "parameter 'min_impressions' expects an integer"},
           {{}, "parameter 'campaign' (text) needs a value"},
           {{"campaign=spring", "budget=1"}, "the template has no parameter 'budget'"},
       }) {
    SCOPED_TRACE(absl::StrJoin(c.parameters, " "));
    Outcome outcome = RunReach(c.parameters);
    EXPECT_EQ(outcome.exit_code, kExitError);
    EXPECT_EQ(outcome.out, "");
    EXPECT_EQ(outcome.err, absl::StrCat("error: ", c.error, "\n"));
  }
  Outcome no_equals = RunReach({"campaign"});
  EXPECT_EQ(no_equals.exit_code, kExitUsage);
  EXPECT_EQ(no_equals.err,
            "error: --param takes name=value when running a template (e.g. --param "
            "min_spend=1000)\n");
  Outcome twice = RunReach({"campaign=spring", "campaign=summer"});
  EXPECT_EQ(twice.exit_code, kExitUsage);
  EXPECT_EQ(twice.err, "error: parameter 'campaign' is given more than once\n");

  // A text value holding SQL is compared as a string: no campaign has that name.
  const std::string injection = "x' OR '1'='1";
  std::string output = (dir_ / "injection.csv").string();
  Outcome injected = RunReach({absl::StrCat("campaign=", injection)}, output);
  EXPECT_EQ(injected.exit_code, 0) << injected;
  EXPECT_EQ(ReadText(output), "segment,users,impressions\n");
  EXPECT_EQ(ReachOracle("'x'' OR ''1''=''1'", 1), Rows());
  // The same value with the quote closed early: still one string, still no match.
  Outcome closed = RunReach({"campaign=spring' --"});
  EXPECT_EQ(closed.exit_code, 0) << closed;
  EXPECT_THAT(closed.out, HasSubstr("(0 rows)"));
  // Only successful runs above: the four bad values were refused before anything ran.
  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "room"}).out,
            "1  succeeded  runner agency  rows 0  receivers agency\n"
            "2  succeeded  runner agency  rows 0  receivers agency\n");
}

TEST_F(CliRulesE2eTest, TemplateAlteredAfterApprovalFails) {
  template_id_ = SetUpReachTemplate();
  Ok("retailer", {"template", "approve", "-c", "room", template_id_, "--table", "audience"});
  Ok("publisher", {"template", "approve", "-c", "room", template_id_, "--table", "impressions"});
  ASSERT_EQ(RunReach({"campaign=spring"}).exit_code, 0);
  {
    // Someone with write access to the catalog makes the approved template count the users.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    std::string update = absl::StrCat(
        "UPDATE templates SET sql_text = replace(sql_text, 'SELECT a.segment,', "
        "'SELECT a.user_id, a.segment,') WHERE template_id = '",
        template_id_, "'");
    char* message = nullptr;
    int rc = sqlite3_exec(db, update.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
  }
  Outcome altered = RunReach({"campaign=spring"});
  EXPECT_EQ(altered.exit_code, kExitError);
  EXPECT_EQ(altered.out, "");
  EXPECT_EQ(altered.err, absl::StrCat("error: template ", template_id_.substr(0, 12),
                                      " was altered after it was created: its content no longer "
                                      "matches its id\n"));
  // Nothing ran, and nothing was recorded as a query.
  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "room"}).out,
            "1  succeeded  runner agency  rows 3  receivers agency\n");
}

TEST_F(CliRulesE2eTest, RevokingAnApprovalRejectsTheRunAgain) {
  template_id_ = SetUpReachTemplate();
  const std::string short_id = template_id_.substr(0, 12);
  Ok("retailer", {"template", "approve", "-c", "room", short_id, "--table", "audience"});
  Ok("publisher", {"template", "approve", "-c", "room", short_id, "--table", "impressions"});
  EXPECT_EQ(RunReach({"campaign=spring"}).exit_code, 0);

  Outcome revoked =
      Ok("publisher", {"template", "revoke", "-c", "room", short_id, "--table", "impressions"});
  EXPECT_EQ(revoked.out,
            absl::StrCat("revoked template ", short_id,
                         " for table impressions\n"
                         "template reach by agency: 2 parameters, reads audience, impressions; "
                         "runnable: no\n"));
  Outcome refused = RunReach({"campaign=spring"});
  EXPECT_EQ(refused.exit_code, kExitRejected);
  EXPECT_EQ(refused.err, absl::StrCat("query rejected: 1 violation\n  1. ",
                                      NotApproved("impressions", "publisher", short_id)));
}

// --- receivers -------------------------------------------------------------------------------

TEST_F(CliRulesE2eTest, RunnerWhoIsNotAReceiverGetsNoRows) {
  SetUpRoom("receive", "receive");
  SetRule("retailer", "audience", kAudienceForAgency);
  SetRule("agency", "conversions", kConversionsForAgency);

  Outcome run = Ok("agency", {"query", "run", "-c", "room", "--sql", kConvertedBySegment,
                              "--receiver", "retailer"});
  EXPECT_EQ(run.out, "");
  // Not even how many rows the result has (issue 6): that it was accepted and finished.
  EXPECT_EQ(run.err, "query 1: accepted and finished; results go to retailer\n");

  std::string csv = (dir_ / "fetched.csv").string();
  Outcome fetched = Ok("retailer", {"query", "result", "-c", "room", "1", "--output", csv});
  EXPECT_EQ(fetched.err, absl::StrCat("wrote 2 rows to ", csv, "\n"));
  Rows expected = OracleRows(
      "SELECT a.segment, count(*) FROM audience a JOIN conversions c ON a.user_id = c.user_id "
      "WHERE c.converted > 0 GROUP BY a.segment ORDER BY a.segment");
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(ParseCsv(ReadText(csv)).rows, expected);

  for (const char* member : {"publisher", "agency"}) {
    SCOPED_TRACE(member);
    Outcome denied = As(member, {"query", "result", "-c", "room", "1"});
    EXPECT_EQ(denied.exit_code, cli_test::kExitNotPermitted);
    EXPECT_EQ(denied.out, "");
    EXPECT_EQ(denied.err,
              absl::StrCat("error: member '", member, "' is not a receiver of query 1\n"));
  }

  // The publisher may receive results in general, but not results computed from the audience.
  const std::string outside =
      "query rejected: 1 violation\n"
      "  1. member 'publisher' may not receive results computed from table 'audience'\n"
      "     rule: custom rule of table audience (owner retailer)\n"
      "     hint: allowed receivers: agency, retailer\n";
  Outcome refused = As("agency", {"query", "run", "-c", "room", "--sql", kConvertedBySegment,
                                  "--receiver", "publisher"});
  EXPECT_EQ(refused.exit_code, kExitRejected);
  EXPECT_EQ(refused.err, outside);
  Outcome explained = As("agency", {"query", "explain", "-c", "room", "--sql", kConvertedBySegment,
                                    "--receiver", "publisher"});
  EXPECT_EQ(explained.exit_code, kExitRejected);
  EXPECT_EQ(explained.out, outside);
  Outcome explained_for_retailer = Ok("agency", {"query", "explain", "-c", "room", "--sql",
                                                 kConvertedBySegment, "--receiver", "retailer"});
  EXPECT_THAT(explained_for_retailer.out, HasSubstr("verdict: allowed\n"));

  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "room"}).out,
            "1  finished  runner agency  receivers retailer\n"
            "2  rejected  runner agency  receivers publisher\n");
  EXPECT_EQ(Ok("retailer", {"query", "list", "-c", "room"}).out,
            "1  succeeded  runner agency  rows 2  receivers retailer\n");
}

// --- list rule -------------------------------------------------------------------------------

TEST_F(CliRulesE2eTest, ListRuleReturnsExactlyTheOverlap) {
  SetUpRoom("none", "none");
  SetRule("retailer", "audience",
          R"({"kind": "list", "join_columns": ["user_id"], "list_columns": ["segment", "age"]})");
  SetRule("agency", "conversions",
          R"({"kind": "list", "join_columns": ["user_id"], "list_columns": ["converted"]})");

  std::string output = (dir_ / "overlap.csv").string();
  Outcome listed =
      Ok("agency", {"query", "run", "-c", "room", "--output", output, "--sql",
                    "SELECT DISTINCT a.segment, a.age FROM audience a JOIN conversions c ON "
                    "a.user_id = c.user_id WHERE c.converted > 0 AND a.age < 50 LIMIT 100"});
  Rows expected = OracleRows(
      "SELECT DISTINCT a.segment, a.age FROM audience a JOIN conversions c ON a.user_id = "
      "c.user_id WHERE c.converted > 0 AND a.age < 50");
  ASSERT_GE(expected.size(), 5u);
  EXPECT_EQ(Sorted(ParseCsv(ReadText(output)).rows), Sorted(expected));

  // LIMIT caps the list.
  Outcome capped = Ok("agency", {"query", "run", "-c", "room", "--sql",
                                 "SELECT DISTINCT a.segment FROM audience a JOIN conversions c "
                                 "ON a.user_id = c.user_id LIMIT 2"});
  EXPECT_EQ(capped.err, "query 2: 2 rows for agency\n");

  // Without the agency's own table, it would be a dump of the retailer's.
  Outcome alone = As("agency", {"query", "run", "-c", "room", "--sql",
                                "SELECT DISTINCT a.segment, a.age FROM audience a LIMIT 100"});
  EXPECT_EQ(alone.exit_code, kExitRejected);
  EXPECT_EQ(alone.out, "");
  EXPECT_EQ(alone.err,
            "query rejected: 1 violation\n"
            "  1. table 'audience' may only be listed where it overlaps a table of the query "
            "runner 'agency', and the query reads none (in FROM, at line 1, column 39)\n"
            "     rule: list rule of table audience (owner retailer)\n"
            "     hint: add INNER JOIN <a table of agency> ON <join column equality>\n");

  // A filter on a column that is not a list column would let the agency probe it.
  Outcome probe = As("agency", {"query", "run", "-c", "room", "--sql",
                                "SELECT DISTINCT a.segment FROM audience a JOIN conversions c ON "
                                "a.user_id = c.user_id WHERE a.region = 'north'"});
  EXPECT_EQ(probe.exit_code, kExitRejected);
  EXPECT_EQ(probe.err,
            "query rejected: 1 violation\n"
            "  1. column 'region' is not a list column of table 'audience' (in WHERE, at line 1, "
            "column 93)\n"
            "     rule: list rule of table audience (owner retailer), column region\n"
            "     hint: list columns of 'audience': age, segment\n");
}

// --- runtime errors as an oracle -----------------------------------------------------------

// A runner's own rows can make a query fail only when they join a row of another member's: two
// DECIMAL(38,0) values near the maximum overflow SUM when both join the target user, and a
// BIGINT join column converts every user id to a number. Success or failure would then reveal
// the target's segment, or that a group of one exists, below any threshold.
TEST_F(CliRulesE2eTest, RuntimeErrorsDoNotRevealRowsBelowTheThreshold) {
  SetUpRoom("none", "none");
  SetRule("retailer", "audience",
          R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["user_id"], )"
          R"("functions": ["COUNT_DISTINCT"]}], "join_columns": ["user_id"], )"
          R"("join_required": "query_runner", "dimension_columns": ["segment", "region", "age"], )"
          R"("output_constraints": [{"column": "user_id", "minimum": 5}]})");
  std::string probe = (dir_ / "probe.parquet").string();
  Exec(absl::StrCat(
      "COPY (SELECT * FROM (VALUES ('u01', 1, "
      "99999999999999999999999999999999999999::DECIMAL(38,0)), "
      "('u01', 2, 99999999999999999999999999999999999999::DECIMAL(38,0))) AS t(user_id, "
      "user_number, big)) TO ",
      engine::duckdb::QuoteString(probe), " (FORMAT parquet)"));
  Ok("agency", {"table", "add", "-c", "room", "probe", "--source", probe});
  SetRule("agency", "probe",
          R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["big"], "functions": )"
          R"(["SUM", "AVG"]}], "join_columns": ["user_id", "user_number"], )"
          R"("output_constraints": [{"column": "user_id", "minimum": 2}]})");

  // u01 is in segment travel: the sums meet only there, and both queries succeed with no group.
  for (const char* segment : {"travel", "food"}) {
    Outcome summed =
        As("agency",
           {"query", "run", "-c", "room", "--sql",
            absl::StrCat("SELECT SUM(p.big) AS s, AVG(p.big) AS a FROM audience a JOIN probe p "
                         "ON a.user_id = p.user_id WHERE a.segment = '",
                         segment, "'")});
    EXPECT_EQ(summed.exit_code, 0) << segment << ": " << summed;
    EXPECT_EQ(summed.out, "s | a\n--+--\n(0 rows)\n") << segment;
  }

  // Comparing the VARCHAR user ids with a BIGINT would fail on any row passing WHERE.
  Outcome converted = As("agency", {"query", "run", "-c", "room", "--sql",
                                    "SELECT SUM(p.big) FROM audience a JOIN probe p ON a.user_id "
                                    "= p.user_number WHERE a.age = 21"});
  EXPECT_EQ(converted.exit_code, kExitRejected) << converted;
  EXPECT_THAT(converted.err, HasSubstr("JOIN … ON compares join columns of different types "
                                       "(VARCHAR and INTEGER)"));
}

// --- custom rule -----------------------------------------------------------------------------

TEST_F(CliRulesE2eTest, DisallowedOutputColumnRenamedInACteIsRejected) {
  SetUpRoom("none", "none");
  SetRule("retailer", "audience", kAudienceForAgency);
  std::string output = (dir_ / "leak.csv").string();
  Outcome leaked =
      As("agency", {"query", "run", "-c", "room", "--sql", kDisallowedInCte, "--output", output});
  EXPECT_EQ(leaked.exit_code, kExitRejected);
  EXPECT_EQ(leaked.out, "");
  EXPECT_EQ(leaked.err, kDisallowedInCteRejection);
  EXPECT_FALSE(fs::exists(output));

  // Used inside the query but not output, the column is fine.
  Outcome counted = Ok("agency", {"query", "run", "-c", "room", "--sql",
                                  "WITH x AS (SELECT user_id AS uid, segment FROM audience WHERE "
                                  "user_id <> 'u01') SELECT segment, COUNT(*) AS n FROM x GROUP BY "
                                  "segment ORDER BY segment"});
  EXPECT_EQ(counted.out,
            "segment | n\n"
            "--------+---\n"
            "food    | 13\n"
            "sports  | 13\n"
            "travel  | 13\n"
            "(3 rows)\n");

  // Custom queries are not guarded against runtime errors (no threshold to protect): an error
  // is reported by its class, never with the value that caused it.
  Outcome failed = As("agency", {"query", "run", "-c", "room", "--sql",
                                 "SELECT CAST(segment AS INTEGER) AS s FROM audience"});
  EXPECT_EQ(failed.exit_code, kExitError);
  EXPECT_EQ(failed.err, "error: query failed during execution: conversion error\n");
  for (const char* value : {"food", "sports", "travel"}) {
    EXPECT_THAT(failed.err, Not(HasSubstr(value)));
  }
}

// A value compared equal to a disallowed column is that column's value: the agency numbers its
// own rows, turns the numbers into guessed user ids and joins them to the audience. Against the
// real files the guesses that come back are exactly the audience's ids from u31 up — its size.
TEST_F(CliRulesE2eTest, ValueComparedEqualToADisallowedColumnIsRejected) {
  SetUpRoom("none", "none");
  SetRule("retailer", "audience", kAudienceForAgency);
  SetRule("agency", "conversions", kConversionsForAgency);
  const std::string guesses =
      "(SELECT 'u' || LPAD(CAST(ROW_NUMBER() OVER (ORDER BY c.user_id) + 30 AS VARCHAR), 2, '0') "
      "AS guess FROM conversions c)";
  const std::string attack =
      absl::StrCat("SELECT g.guess FROM ", guesses, " g JOIN audience a ON g.guess = a.user_id");
  // What the attack would reveal: plain DuckDB runs it over the same files.
  Rows revealed = OracleRows(attack);
  ASSERT_EQ(Sorted(revealed), (Rows{{"u31"},
                                    {"u32"},
                                    {"u33"},
                                    {"u34"},
                                    {"u35"},
                                    {"u36"},
                                    {"u37"},
                                    {"u38"},
                                    {"u39"},
                                    {"u40"}}));

  std::string output = (dir_ / "guesses.csv").string();
  Outcome refused =
      As("agency", {"query", "run", "-c", "room", "--sql", attack, "--output", output});
  EXPECT_EQ(refused.exit_code, kExitRejected);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "query rejected: 1 violation\n"
            "  1. output column 'guess' is compared equal to column 'user_id' of table 'audience', "
            "which may not be output (by the equality in JOIN ON at line 1, column 169) (in "
            "SELECT, at line 1, column 8)\n"
            "     rule: custom rule of table audience (owner retailer), column user_id\n"
            "     hint: a value compared equal to a protected column reveals it as the column "
            "itself would; use such comparisons to join and filter, but output other columns\n");
  EXPECT_FALSE(fs::exists(output));

  // The same through IN (subquery), a CTE and a chain of equalities.
  Outcome chained =
      As("agency",
         {"query", "run", "-c", "room", "--sql",
          absl::StrCat("WITH g AS ", guesses,
                       " SELECT x.guess FROM g x JOIN g y ON x.guess = y.guess WHERE y.guess IN "
                       "(SELECT user_id FROM audience)")});
  EXPECT_EQ(chained.exit_code, kExitRejected);
  EXPECT_THAT(chained.err, HasSubstr("1. output column 'guess' is compared equal to column "
                                     "'user_id' of table 'audience', which may not be output (by "
                                     "the equality in JOIN ON at line 1, column"));

  // Counting the matches outputs no value of them, and is what DuckDB counts.
  Outcome counted = Ok("agency", {"query", "run", "-c", "room", "--sql",
                                  absl::StrCat("SELECT COUNT(*) AS n FROM ", guesses,
                                               " g JOIN audience a ON g.guess = a.user_id")});
  EXPECT_EQ(counted.out,
            "n\n"
            "--\n"
            "10\n"
            "(1 row)\n");
}

// --- query logs ------------------------------------------------------------------------------

// A query log listing with its times replaced by "TIME" (they come from the system clock).
std::string WithoutTimes(const std::string& listing) {
  std::vector<std::string> lines = absl::StrSplit(listing, '\n');
  for (std::string& line : lines) {
    if (!absl::StartsWith(line, "query ")) continue;
    std::vector<std::string> fields = absl::StrSplit(line, "  ");
    if (fields.size() >= 2) fields[1] = "TIME";
    line = absl::StrJoin(fields, "  ");
  }
  return absl::StrJoin(lines, "\n");
}

TEST_F(CliRulesE2eTest, QueryLogShowsOwnersTheQueriesOnTheirTables) {
  SetUpRoom("receive", "none", /*query_logging=*/true);
  SetRule("retailer", "audience", kAudienceForAgency);
  SetRule("agency", "conversions", kConversionsForAgency);
  Ok("agency", {"query", "run", "-c", "room", "--sql", kConvertedBySegment});
  EXPECT_EQ(As("agency", {"query", "run", "-c", "room", "--sql", kDisallowedInCte}).exit_code,
            kExitRejected);
  Ok("agency", {"query", "run", "-c", "room", "--sql",
                "SELECT converted, COUNT(*) AS n FROM conversions GROUP BY converted"});

  Outcome log = Ok("retailer", {"query", "log", "-c", "room"});
  EXPECT_THAT(log.out, MatchesRegex("query 1  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC  (.|\n)*"));
  EXPECT_EQ(WithoutTimes(log.out),
            absl::StrCat("query 1  TIME  runner agency  finished\n"
                         "  receivers: agency\n"
                         "  tables: audience, conversions\n"
                         "  sql:\n"
                         "    ",
                         kConvertedBySegment,
                         "\n"
                         "\n"
                         "query 2  TIME  runner agency  rejected\n"
                         "  receivers: agency\n"
                         "  tables: audience\n"
                         "  sql:\n"
                         "    ",
                         kDisallowedInCte,
                         "\n"
                         "  violations:\n"
                         "    1. output column 'uid' is derived from column 'user_id' of table "
                         "'audience', which may not be output (in SELECT, at line 1, column 65)\n"
                         "       rule: custom rule of table audience (owner retailer), column "
                         "user_id\n"
                         "       hint: disallowed columns may be used in joins, filters, GROUP BY "
                         "and the final ORDER BY, but nothing derived from them may be returned — "
                         "including window functions partitioned or ordered by them\n"));

  // A template run names its template.
  Outcome created = Ok("agency", {"template", "create", "-c", "room", "by_segment", "--sql",
                                  "SELECT a.segment, COUNT(*) AS n FROM audience a JOIN "
                                  "conversions c ON a.user_id = c.user_id WHERE c.converted >= "
                                  ":least GROUP BY a.segment",
                                  "--param", "least:integer"});
  std::string short_id = created.out.substr(0, 12);
  Ok("retailer", {"template", "approve", "-c", "room", short_id, "--table", "audience"});
  Ok("agency", {"template", "approve", "-c", "room", short_id, "--table", "conversions"});
  Ok("agency", {"template", "run", "-c", "room", short_id, "--param", "least=1"});
  Outcome with_template = Ok("retailer", {"query", "log", "-c", "room"});
  EXPECT_THAT(WithoutTimes(with_template.out),
              HasSubstr(absl::StrCat("\n\nquery 4  TIME  runner agency  finished\n"
                                     "  template: ",
                                     short_id,
                                     "\n"
                                     "  receivers: agency\n"
                                     "  tables: audience, conversions\n"
                                     "  sql:\n"
                                     "    SELECT a.segment, COUNT(*) AS n FROM audience a JOIN ")));

  // The agency's log has the queries on its conversions table; the publisher's is empty.
  // The retailer does not receive those results, so it sees that they finished, not how; the
  // agency receives them and sees how many rows each gave.
  Outcome agency_log = Ok("agency", {"query", "log", "-c", "room"});
  EXPECT_THAT(WithoutTimes(agency_log.out),
              HasSubstr(absl::StrCat("query 1  TIME  runner agency  succeeded\n"
                                     "  receivers: agency\n"
                                     "  tables: audience, conversions\n"
                                     "  sql:\n"
                                     "    ",
                                     kConvertedBySegment, "\n  rows: 2\n")));
  EXPECT_THAT(agency_log.out, Not(HasSubstr("query 2  ")));
  EXPECT_THAT(agency_log.out, HasSubstr("query 3  "));
  EXPECT_EQ(Ok("publisher", {"query", "log", "-c", "room"}).out,
            "no logged query touched a table of publisher\n");
}

TEST_F(CliRulesE2eTest, QueryLogNeedsLoggingOnTheCollaboration) {
  SetUpRoom("receive", "none");
  SetRule("retailer", "audience", kAudienceForAgency);
  SetRule("agency", "conversions", kConversionsForAgency);
  Ok("agency", {"query", "run", "-c", "room", "--sql", kConvertedBySegment});
  Outcome log = As("retailer", {"query", "log", "-c", "room"});
  EXPECT_EQ(log.exit_code, kExitError);
  EXPECT_EQ(log.out, "");
  EXPECT_EQ(log.err,
            "error: collaboration 'room' does not log queries; query logging is chosen when the "
            "collaboration is created\n");
}

// --- the consolidated policy -----------------------------------------------------------------

TEST_F(CliRulesE2eTest, PolicyShowsEveryTableAndTheMergedView) {
  SetUpRoom("none", "none");
  Ok("retailer", {"table", "add", "-c", "room", "stores", "--source", audience_csv_});
  Ok("publisher", {"table", "add", "-c", "room", "placements", "--source", impressions_parquet_});
  SetRule(
      "retailer", "audience",
      R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["user_id"], )"
      R"("functions": ["COUNT_DISTINCT"]}, {"columns": ["age"], "functions": ["AVG", "SUM"]}], )"
      R"("join_columns": ["user_id"], "join_required": "query_runner", )"
      R"("allowed_join_operators": ["AND", "OR"], "dimension_columns": ["segment", "region"], )"
      R"("scalar_functions": ["ROUND", "UPPER"], )"
      R"("output_constraints": [{"column": "user_id", "minimum": 5, "type": "count_distinct"}]})");
  SetRule(
      "publisher", "placements",
      R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["impressions"], )"
      R"("functions": ["SUM"]}], "join_columns": ["user_id"], )"
      R"("dimension_columns": ["campaign"], "scalar_functions": ["ROUND"], )"
      R"("output_constraints": [{"column": "user_id", "minimum": 20, "type": "count_distinct"}]})");
  SetRule("publisher", "impressions",
          R"({"kind": "list", "join_columns": ["user_id"], "list_columns": ["campaign"]})");
  SetRule("agency", "conversions",
          R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["agency"], )"
          R"("disallowed_output_columns": ["user_id"], "allowed_result_receivers": ["agency"]})");
  // The text from a file this time.
  WriteText(dir_ / "converted.sql",
            "SELECT converted, COUNT(*) AS n FROM conversions WHERE converted >= :least GROUP BY "
            "converted\n");
  Outcome created = Ok("agency", {"template", "create", "-c", "room", "converted", "--file",
                                  (dir_ / "converted.sql").string(), "--param", "least:integer=0"});
  EXPECT_THAT(created.out,
              HasSubstr("\ntemplate converted by agency: 1 parameter, reads conversions; "
                        "runnable: no\n"));
  std::string short_id = created.out.substr(0, 12);
  Ok("agency", {"template", "approve", "-c", "room", short_id, "--table", "conversions"});

  Outcome policy = Ok("agency", {"policy", "-c", "room"});
  EXPECT_EQ(
      policy.out,
      absl::StrCat("policy for agency in collaboration room\n"
                   "  abilities: query,receive\n"
                   "  tables:\n"
                   "    audience (owner retailer): aggregation rule\n"
                   "      dimension columns: region, segment\n"
                   "      join columns: user_id\n"
                   "      aggregate columns: age (AVG, SUM); user_id (COUNT_DISTINCT)\n"
                   "      scalar functions: ROUND, UPPER\n"
                   "      join operators: AND, OR\n"
                   "      join required: yes, with a table of the query runner\n"
                   "      thresholds: at least 5 distinct user_id per row\n"
                   "    conversions (owner agency): custom rule\n"
                   "      free-form queries: by agency\n"
                   "      disallowed output columns: user_id\n"
                   "      result receivers: agency\n"
                   "      approved templates: ",
                   short_id,
                   " converted\n"
                   "    impressions (owner publisher): list rule\n"
                   "      join columns: user_id\n"
                   "      list columns: campaign\n"
                   "      join operators: AND\n"
                   "    placements (owner publisher): aggregation rule\n"
                   "      dimension columns: campaign\n"
                   "      join columns: user_id\n"
                   "      aggregate columns: impressions (SUM)\n"
                   "      scalar functions: ROUND\n"
                   "      join operators: AND\n"
                   "      join required: no\n"
                   "      thresholds: at least 20 distinct user_id per row\n"
                   "    stores (owner retailer): no rule (cannot be queried until its owner sets "
                   "one)\n"
                   "  across tables (a query must satisfy every table it reads):\n"
                   "    aggregation queries: scalar functions ROUND; join operators AND\n"
                   "    list queries: join operators AND\n"
                   "    custom tables you may query free-form: conversions\n"
                   "    templates you may run:\n"
                   "      ",
                   short_id, "  converted\n"));

  // The retailer, who may not query, sees the same rules and nothing it may run.
  Outcome retailer = Ok("retailer", {"policy", "-c", "room"});
  EXPECT_THAT(retailer.out,
              HasSubstr("  abilities: none\n"
                        "  (without the query ability you may not run queries or templates "
                        "yourself)\n"));
  EXPECT_THAT(retailer.out, HasSubstr("    custom tables you may query free-form: none\n"
                                      "    templates you may run: none\n"));
  Outcome stranger = As("nobody", {"policy", "-c", "room"});
  EXPECT_EQ(stranger.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(stranger.err, "error: 'nobody' is not a member of collaboration 'room'\n");
}

// --- what a run reveals (issue 6) -----------------------------------------------------------

// An audit listing ("seq  time  actor  action  details" per line) with its times replaced.
std::string AuditWithoutTimes(const std::string& listing) {
  std::vector<std::string> lines = absl::StrSplit(listing, '\n');
  for (std::string& line : lines) {
    std::vector<std::string> fields = absl::StrSplit(line, "  ");
    if (fields.size() >= 2) fields[1] = "TIME";
    line = absl::StrJoin(fields, "  ");
  }
  return absl::StrJoin(lines, "\n");
}

// The cast is reached only for rows in the 'east' region, where it fails on the data.
constexpr char kCastInTheEast[] =
    "SELECT segment, CASE WHEN region = 'east' THEN CAST(segment AS INTEGER) ELSE 0 END AS v "
    "FROM audience";

// A runner who does not receive the result of a custom query learns that it was accepted and
// finished: byte for byte the same output, exit code, listing and audit log whether the run
// succeeded or failed on the data. Two rooms set up alike, whose audiences differ in one row.
TEST_F(CliRulesE2eTest, ACustomRunnerWhoDoesNotReceiveCannotTellFailureFromSuccess) {
  std::string neighbour = AudienceCsv();
  size_t row = neighbour.find("\nu07,");
  ASSERT_NE(row, std::string::npos);
  size_t region = neighbour.find(",north,", row);
  ASSERT_NE(region, std::string::npos);
  neighbour.replace(region, 7, ",east,");
  std::string east_csv = (dir_ / "audience_east.csv").string();
  WriteText(east_csv, neighbour);

  struct Seen {
    Outcome run, runner_list, runner_audit, receiver_list, receiver_log;
  };
  auto seen_in = [&](const std::string& home, const std::string& audience) {
    home_ = home;
    audience_csv_ = audience;
    SetUpRoom("receive", "none", /*query_logging=*/true);
    SetRule("retailer", "audience", kAudienceForAgency);
    Seen seen;
    seen.run = As("agency", {"query", "run", "-c", "room", "--sql", kCastInTheEast, "--receiver",
                             "retailer"});
    seen.runner_list = Ok("agency", {"query", "list", "-c", "room"});
    seen.runner_audit = Ok("agency", {"audit", "list", "-c", "room"});
    seen.receiver_list = Ok("retailer", {"query", "list", "-c", "room"});
    seen.receiver_log = Ok("retailer", {"query", "log", "-c", "room"});
    return seen;
  };
  Seen succeeded = seen_in((dir_ / "home_north").string(), audience_csv_);
  Seen failed = seen_in((dir_ / "home_east").string(), east_csv);

  EXPECT_EQ(succeeded.run.exit_code, 0) << succeeded.run;
  EXPECT_EQ(succeeded.run.out, "");
  EXPECT_EQ(succeeded.run.err, "query 1: accepted and finished; results go to retailer\n");
  EXPECT_EQ(failed.run.exit_code, succeeded.run.exit_code) << failed.run;
  EXPECT_EQ(failed.run.out, succeeded.run.out);
  EXPECT_EQ(failed.run.err, succeeded.run.err);
  EXPECT_EQ(succeeded.runner_list.out, "1  finished  runner agency  receivers retailer\n");
  EXPECT_EQ(failed.runner_list.out, succeeded.runner_list.out);
  EXPECT_THAT(succeeded.runner_audit.out,
              HasSubstr("  agency  query.finished  {\"query_id\":1}\n"));
  EXPECT_EQ(AuditWithoutTimes(failed.runner_audit.out),
            AuditWithoutTimes(succeeded.runner_audit.out));

  // The receiver sees the difference, and the error.
  EXPECT_EQ(succeeded.receiver_list.out,
            "1  succeeded  runner agency  rows 40  receivers retailer\n");
  EXPECT_EQ(failed.receiver_list.out, "1  failed  runner agency  receivers retailer\n");
  EXPECT_THAT(succeeded.receiver_log.out, HasSubstr("\n  rows: 40\n"));
  EXPECT_THAT(failed.receiver_log.out,
              HasSubstr("\n  error: query failed during execution: conversion error\n"));
  Outcome no_result = As("retailer", {"query", "result", "-c", "room", "1"});
  EXPECT_EQ(no_result.err, "error: query 1 has no result (failed)\n");
}

// The status of query `id` in the catalog, read behind Parley's back ("" when absent).
std::string StoredStatus(const std::string& home, int64_t id) {
  sqlite3* db = nullptr;
  std::string status;
  if (sqlite3_open_v2((fs::path(home) / "catalog.db").c_str(), &db, SQLITE_OPEN_READONLY,
                      nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt* statement = nullptr;
    std::string sql = absl::StrCat("SELECT status FROM queries WHERE id = ", id);
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      status = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return status;
}

// The owner's query log shows every query on its tables: a run stopped by the time limit is
// cancelled, one whose process was killed is killed — each shown as such to the receivers, and
// as finished (cancelled) to members who do not receive it.
TEST_F(CliRulesE2eTest, TheOwnersLogShowsCancelledAndKilledRuns) {
  SetUpRoom("receive", "none", /*query_logging=*/true);
  SetRule("retailer", "audience", kAudienceForAgency);
  // 40^6 rows to count, each evaluated (DuckDB counts a bare cross product without reading it).
  const std::string slow =
      "SELECT COUNT(*) AS n FROM audience a, audience b, audience c, audience d, audience e, "
      "audience f WHERE a.age + b.age + c.age + d.age + e.age + f.age > 0";
  Outcome own = As("agency", {"--timeout", "1", "query", "run", "-c", "room", "--sql", slow});
  EXPECT_EQ(own.exit_code, kExitError) << own;
  EXPECT_EQ(own.err, "error: query exceeded the time limit of 1 s\n");
  // For the retailer: the agency, who does not receive, learns only that it finished.
  Outcome for_retailer = As("agency", {"--timeout", "1", "query", "run", "-c", "room", "--sql",
                                       slow, "--receiver", "retailer"});
  EXPECT_EQ(for_retailer.exit_code, 0) << for_retailer;
  EXPECT_EQ(for_retailer.err, "query 2: accepted and finished; results go to retailer\n");

  pid_t pid = cli_test::SpawnInBackground({"--home", home_, "--as", "agency", "query", "run", "-c",
                                           "room", "--sql", slow, "--receiver", "retailer"},
                                          scratch_);
  ASSERT_GT(pid, 0);
  for (int waited = 0; waited < 200 && StoredStatus(home_, 3) != "running"; ++waited) {
    usleep(50'000);
  }
  EXPECT_EQ(StoredStatus(home_, 3), "running");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));

  Outcome log = Ok("retailer", {"query", "log", "-c", "room"});
  std::string sql = absl::StrCat("  sql:\n    ", slow, "\n");
  EXPECT_EQ(WithoutTimes(log.out), absl::StrCat("query 1  TIME  runner agency  finished\n"
                                                "  receivers: agency\n"
                                                "  tables: audience\n",
                                                sql,
                                                "\n"
                                                "query 2  TIME  runner agency  cancelled\n"
                                                "  receivers: retailer\n"
                                                "  tables: audience\n",
                                                sql,
                                                "  error: query exceeded the time limit of 1 s\n"
                                                "\n"
                                                "query 3  TIME  runner agency  killed\n"
                                                "  receivers: retailer\n"
                                                "  tables: audience\n",
                                                sql));
  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "room"}).out,
            "1  cancelled  runner agency  receivers agency\n"
            "2  finished  runner agency  receivers retailer\n"
            "3  killed  runner agency  receivers retailer\n");
  Outcome audit = Ok("publisher", {"audit", "list", "-c", "room"});
  EXPECT_THAT(audit.out, HasSubstr("  agency  query.killed  {\"query_id\":3}\n"));
  EXPECT_EQ(Parley({"audit", "verify"}).exit_code, 0);
  EXPECT_TRUE(fs::is_empty(fs::path(home_) / "running")) << "the dead run's lock file is removed";
}

// Ctrl-C (SIGINT) during a run cancels the query rather than killing the process: the run is
// recorded as cancelled, and the runner, who receives, is told why.
TEST_F(CliRulesE2eTest, AnInterruptedRunIsCancelled) {
  SetUpRoom("receive", "none", /*query_logging=*/true);
  SetRule("retailer", "audience", kAudienceForAgency);
  const std::string slow =
      "SELECT COUNT(*) AS n FROM audience a, audience b, audience c, audience d, audience e, "
      "audience f WHERE a.age + b.age + c.age + d.age + e.age + f.age > 0";
  pid_t pid = cli_test::SpawnInBackground(
      {"--home", home_, "--as", "agency", "query", "run", "-c", "room", "--sql", slow}, scratch_);
  ASSERT_GT(pid, 0);
  for (int waited = 0; waited < 200 && StoredStatus(home_, 1) != "running"; ++waited) {
    usleep(50'000);
  }
  ASSERT_EQ(StoredStatus(home_, 1), "running");
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitError);
  EXPECT_EQ(ReadText(scratch_ / "background_stderr.txt"), "error: query interrupted\n");
  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "room"}).out,
            "1  cancelled  runner agency  receivers agency\n");
  Outcome log = Ok("retailer", {"query", "log", "-c", "room"});
  EXPECT_THAT(log.out, HasSubstr("  runner agency  finished\n"));
}

// Two members register the same file at the same moment, from two processes: exactly one wins,
// the other gets the ownership refusal, and the winner's table stays queryable by its owner.
TEST_F(CliRulesE2eTest, TwoProcessesRegisteringOneFileAtOnceExactlyOneWins) {
  SetUpRoom("query,receive", "none");
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(round);
    std::string path = (dir_ / absl::StrCat("shared", round, ".csv")).string();
    WriteText(path, "user_id,v\nu1,1\nu2,2\nu3,3\n");
    std::vector<std::string> members = {"retailer", "agency"};
    std::vector<pid_t> pids;
    for (const std::string& member : members) {
      pids.push_back(
          cli_test::SpawnInBackground({"--home", home_, "--as", member, "table", "add", "-c",
                                       "room", absl::StrCat(member, "_", round), "--source", path},
                                      scratch_, member));
    }
    std::vector<int> exits;
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      exits.push_back(WEXITSTATUS(status));
    }
    ASSERT_TRUE((exits[0] == 0) != (exits[1] == 0)) << exits[0] << " " << exits[1];
    size_t winner = exits[0] == 0 ? 0 : 1;
    EXPECT_EQ(exits[1 - winner], cli_test::kExitNotPermitted);
    EXPECT_EQ(ReadText(scratch_ / (members[1 - winner] + "_stderr.txt")),
              absl::StrCat("error: the source '", path,
                           "' reads a file that another member registered; a member may only "
                           "register its own data\n"));
    std::string table = absl::StrCat(members[winner], "_", round);
    SetRule(
        members[winner], table,
        absl::StrCat(R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": [")",
                     members[winner], R"("]})"));
    Outcome counted = Ok(members[winner], {"query", "run", "-c", "room", "--sql",
                                           absl::StrCat("SELECT COUNT(*) AS n FROM ", table)});
    EXPECT_EQ(counted.out, "n\n-\n3\n(1 row)\n");
  }
}

}  // namespace
}  // namespace parley
