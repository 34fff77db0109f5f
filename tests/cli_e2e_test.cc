// End-to-end tests of the `parley` binary: each test makes a temporary home and data files of its
// own, runs the real executable as a child process and asserts what a user sees — stdout, stderr,
// the exit code and the files written. Query results are compared with plain DuckDB running the
// equivalent SQL (thresholds written by hand as HAVING clauses) over the same files.
#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>
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
using cli_test::Csv;
using cli_test::kExitError;
using cli_test::kExitPending;
using cli_test::kExitRejected;
using cli_test::kExitUsage;
using cli_test::Outcome;
using cli_test::ParseCsv;
using cli_test::ReadText;
using cli_test::Rows;
using cli_test::Sorted;
using cli_test::Spawn;
using cli_test::WriteText;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The retailer's households: 300 rows; e-mails e0001..e0300. Every 40th household is 65+ and
// every 50th (from the 7th) has 6 people, so those segments stay below the threshold of 10.
// `region` and `full_name` are kept out of the collaboration with --columns.
std::string RetailCsv() {
  const char* ages[] = {"25-34", "35-44", "45-54"};
  std::string csv =
      "household_id,hashed_email,age_band,income_bracket,household_size,region,annual_spend,"
      "full_name\n";
  for (int i = 1; i <= 300; ++i) {
    std::string age = i % 40 == 0 ? "65+" : ages[i % 3];
    std::string income = (i / 3) % 2 == 0 ? "<50k" : "50k+";
    int size = i % 50 == 7 ? 6 : 1 + (i / 6) % 3;
    absl::StrAppendFormat(&csv, "%d,e%04d,%s,%s,%d,%s,%d,Person %d\n", i, i, age, income, size,
                          i % 2 == 0 ? "north" : "south", (i * 37) % 1000, i);
  }
  return csv;
}

// The supplier's loyalty members: 250 rows, the first 200 share an e-mail with a household.
constexpr char kLoyaltySql[] =
    "SELECT CASE WHEN j <= 200 THEN printf('e%04d', j) ELSE printf('s%04d', j) END AS "
    "hashed_email, ['gold', 'silver', 'bronze'][1 + j % 3] AS loyalty_tier, j % 17 AS "
    "brand_purchases FROM range(1, 251) AS t(j)";

constexpr char kRetailColumns[] =
    "household_id,hashed_email,age_band,income_bracket,household_size,annual_spend";

constexpr char kRetailRule[] = R"json({
  "kind": "aggregation",
  "aggregate_columns": [
    {"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]},
    {"columns": ["annual_spend"], "functions": ["SUM", "AVG"]}],
  "join_columns": ["hashed_email"],
  "join_required": "query_runner",
  "allowed_join_operators": ["AND"],
  "dimension_columns": ["age_band", "income_bracket", "household_size"],
  "scalar_functions": ["ROUND", "CAST"],
  "output_constraints": [{"column": "household_id", "minimum": 10, "type": "count_distinct"}]
})json";

constexpr char kLoyaltyRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["hashed_email"], )"
    R"("functions": ["COUNT_DISTINCT"]}, {"columns": ["brand_purchases"], "functions": ["SUM", )"
    R"("AVG"]}], "join_columns": ["hashed_email"], "dimension_columns": ["loyalty_tier"], )"
    R"("scalar_functions": ["CAST"], "output_constraints": [{"column": "hashed_email", )"
    R"("minimum": 2, "type": "count_distinct"}]})";

constexpr char kJoin[] = "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email";
constexpr char kThresholds[] =
    "HAVING count(DISTINCT r.household_id) >= 10 AND count(DISTINCT l.hashed_email) >= 2";

class CliE2eTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (HasFatalFailure()) return;
    retail_csv_ = (dir_ / "retail.csv").string();
    loyalty_parquet_ = (dir_ / "loyalty.parquet").string();
    WriteText(retail_csv_, RetailCsv());
    Exec(absl::StrCat("COPY (", kLoyaltySql, ") TO ", engine::duckdb::QuoteString(loyalty_parquet_),
                      " (FORMAT parquet)"));
  }

  // The campaign: the retailer (no abilities) creates it and adds the supplier (query, receive)
  // and an agency (receive only); both tables get their rules.
  void SetUpCampaign() {
    Ok("retailer", {"collaboration", "create", "campaign", "--abilities", "none"});
    Ok("retailer", {"member", "add", "-c", "campaign", "supplier", "--abilities", "query,receive"});
    // A second member waits for the first one's approval (change request 2).
    EXPECT_EQ(
        As("retailer", {"member", "add", "-c", "campaign", "agency", "--abilities", "receive"})
            .exit_code,
        kExitPending);
    Ok("supplier", {"change", "approve", "-c", "campaign", "2"});
    Ok("retailer", {"table", "add", "-c", "campaign", "retail", "--source", retail_csv_,
                    "--columns", kRetailColumns});
    WriteText(dir_ / "retail_rule.json", kRetailRule);
    Ok("retailer",
       {"rule", "set", "-c", "campaign", "retail", "--file", (dir_ / "retail_rule.json").string()});
    Ok("supplier", {"table", "add", "-c", "campaign", "loyalty", "--source", loyalty_parquet_});
    Ok("supplier", {"rule", "set", "-c", "campaign", "loyalty", "--json", kLoyaltyRule});
  }

  // Plain DuckDB over the same files: the rows of `sql` (see OracleRows).
  Rows Oracle(const std::string& sql) {
    for (const std::string& view :
         {absl::StrCat("CREATE OR REPLACE VIEW retail AS SELECT * FROM read_csv(",
                       engine::duckdb::QuoteString(retail_csv_), ", header=true)"),
          absl::StrCat("CREATE OR REPLACE VIEW loyalty AS SELECT * FROM read_parquet(",
                       engine::duckdb::QuoteString(loyalty_parquet_), ")")}) {
      Exec(view);
    }
    return OracleRows(sql);
  }

  // Runs `sql` as the supplier into a CSV file and returns what Parley wrote.
  Csv RunToCsv(const std::string& sql, const std::string& name = "result.csv") {
    std::string output = (dir_ / name).string();
    Outcome outcome =
        Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql, "--output", output});
    return ParseCsv(ReadText(output));
  }

  // Runs SQL on the catalog file with the SQLite C API, as someone with write access to it could
  // with the sqlite3 shell; it must change at least one row.
  void EditCatalog(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    EXPECT_GT(sqlite3_total_changes(db), 0) << sql;
    sqlite3_close(db);
  }

  // The hash at the head of the campaign's chain, read from the catalog file.
  std::string CampaignHead() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    std::string hash;
    if (sqlite3_prepare_v2(db, "SELECT hash FROM audit_heads WHERE collaboration = 'campaign'", -1,
                           &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      hash = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return hash;
  }

  std::string retail_csv_;
  std::string loyalty_parquet_;
};

// --- the happy path ------------------------------------------------------------------------

TEST_F(CliE2eTest, SetUpCommandsPrintWhatTheyDid) {
  Outcome created = As("retailer", {"collaboration", "create", "campaign", "--abilities", "none"});
  EXPECT_EQ(created.exit_code, 0) << created;
  EXPECT_EQ(created.out, "created collaboration campaign (creator retailer)\n");

  Outcome added = As(
      "retailer", {"member", "add", "-c", "campaign", "supplier", "--abilities", "query,receive"});
  EXPECT_EQ(added.exit_code, 0) << added;
  EXPECT_EQ(added.out, "added member supplier (abilities query,receive) to campaign\n");

  Outcome retail = As("retailer", {"table", "add", "-c", "campaign", "retail", "--source",
                                   retail_csv_, "--columns", kRetailColumns});
  EXPECT_EQ(retail.exit_code, 0) << retail;
  EXPECT_EQ(retail.out, absl::StrCat("added table retail (owner retailer, csv)\n"
                                     "  source: ",
                                     retail_csv_,
                                     "\n"
                                     "  columns:\n"
                                     "    household_id    BIGINT\n"
                                     "    hashed_email    VARCHAR\n"
                                     "    age_band        VARCHAR\n"
                                     "    income_bracket  VARCHAR\n"
                                     "    household_size  BIGINT\n"
                                     "    annual_spend    BIGINT\n"
                                     "  rule: none (the table cannot be queried until its owner "
                                     "sets one)\n"));

  Outcome loyalty =
      As("supplier", {"table", "add", "-c", "campaign", "loyalty", "--source", loyalty_parquet_});
  EXPECT_EQ(loyalty.exit_code, 0) << loyalty;
  EXPECT_EQ(loyalty.out, absl::StrCat("added table loyalty (owner supplier, parquet)\n"
                                      "  source: ",
                                      loyalty_parquet_,
                                      "\n"
                                      "  columns:\n"
                                      "    hashed_email     VARCHAR\n"
                                      "    loyalty_tier     VARCHAR\n"
                                      "    brand_purchases  BIGINT\n"
                                      "  rule: none (the table cannot be queried until its owner "
                                      "sets one)\n"));

  WriteText(dir_ / "rule.json", kRetailRule);
  Outcome from_file = As("retailer", {"rule", "set", "-c", "campaign", "retail", "--file",
                                      (dir_ / "rule.json").string()});
  EXPECT_EQ(from_file.exit_code, 0) << from_file;
  EXPECT_EQ(from_file.out, "rule set on table retail\n");
  Outcome inline_json =
      As("supplier", {"rule", "set", "-c", "campaign", "loyalty", "--json", kLoyaltyRule});
  EXPECT_EQ(inline_json.exit_code, 0) << inline_json;
  EXPECT_EQ(inline_json.out, "rule set on table loyalty\n");

  Outcome listed = As("supplier", {"collaboration", "list"});
  EXPECT_EQ(listed.out, "campaign  (creator retailer, 2 members)\n");
  Outcome shown = As("supplier", {"collaboration", "show", "campaign"});
  EXPECT_EQ(shown.out,
            "collaboration campaign\n"
            "  creator: retailer\n"
            "  query logging: off\n"
            "  state: open\n"
            "  members:\n"
            "    retailer  abilities: none  status: active\n"
            "    supplier  abilities: query,receive  status: active\n");
}

TEST_F(CliE2eTest, TableShowToAnotherMemberHasMetadataAndRuleButNoSource) {
  SetUpCampaign();
  Outcome shown = As("supplier", {"table", "show", "-c", "campaign", "retail"});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  const std::string header =
      "table retail (owner retailer, csv)\n"
      "  columns:\n"
      "    household_id    BIGINT\n"
      "    hashed_email    VARCHAR\n"
      "    age_band        VARCHAR\n"
      "    income_bracket  VARCHAR\n"
      "    household_size  BIGINT\n"
      "    annual_spend    BIGINT\n"
      "  rule:\n";
  ASSERT_TRUE(absl::StartsWith(shown.out, header)) << shown;
  // The rule is printed as indented JSON; it is the canonical form of the document set.
  // After the rule, where its history is.
  std::string rest = shown.out.substr(header.size());
  const std::string history = "  history: parley rule show -c campaign retail\n";
  ASSERT_TRUE(absl::EndsWith(rest, history)) << shown;
  nlohmann::json rule = nlohmann::json::parse(rest.substr(0, rest.size() - history.size()));
  EXPECT_EQ(rule["kind"], "aggregation");
  EXPECT_EQ(rule["output_constraints"],
            nlohmann::json::parse(
                R"([{"column": "household_id", "minimum": 10, "type": "count_distinct"}])"));
  EXPECT_EQ(rule["dimension_columns"],
            nlohmann::json::parse(R"(["age_band", "household_size", "income_bracket"])"));
  EXPECT_THAT(shown.out, Not(HasSubstr("source")));
  EXPECT_THAT(shown.out, Not(HasSubstr(retail_csv_)));
  EXPECT_THAT(shown.out, Not(HasSubstr("full_name")));
  EXPECT_THAT(shown.out, Not(HasSubstr("region")));

  Outcome listed = As("supplier", {"table", "list", "-c", "campaign"});
  EXPECT_EQ(listed.exit_code, 0) << listed;
  EXPECT_EQ(listed.out,
            "loyalty  owner supplier  3 columns  aggregation rule\n"
            "retail  owner retailer  6 columns  aggregation rule\n");
}

TEST_F(CliE2eTest, ExplainShowsEngineSqlWithThresholds) {
  SetUpCampaign();
  Outcome explained =
      Ok("supplier", {"query", "explain", "-c", "campaign", "--sql",
                      absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ", kJoin,
                                   " GROUP BY r.age_band")});
  EXPECT_TRUE(absl::StartsWith(
      explained.out,
      "verdict: allowed\n"
      "tables: retail, loyalty\n"
      "thresholds (groups below them are dropped):\n"
      "  at least 10 distinct retail.household_id per row\n"
      "  at least 2 distinct loyalty.hashed_email per row\n"
      "engine SQL:\n"
      "  SELECT \"t2\".\"g0\" AS \"age_band\", \"t2\".\"a0\" AS \"n\" FROM (SELECT "
      "\"t0\".\"age_band\" AS \"g0\", count(DISTINCT \"t0\".\"household_id\") AS \"a0\" FROM "
      "\"retail\" AS \"t0\" INNER JOIN \"loyalty\" AS \"t1\" ON (\"t0\".\"hashed_email\" = "
      "\"t1\".\"hashed_email\") GROUP BY \"t0\".\"age_band\" HAVING ((count(DISTINCT "
      "\"t0\".\"household_id\") >= 10) AND (count(DISTINCT \"t1\".\"hashed_email\") >= 2)) "
      "OFFSET 0) AS \"t2\"\n"
      "front end: "))
      << explained;
}

TEST_F(CliE2eTest, RunPrintsATableAndWritesCsvJsonAndParquet) {
  SetUpCampaign();
  const std::string sql = absl::StrCat(
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households, "
      "SUM(l.brand_purchases) AS purchases ",
      kJoin, " GROUP BY r.age_band ORDER BY r.age_band");
  Outcome printed = Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql});
  EXPECT_EQ(printed.err, "query 1: 3 rows for supplier\n");
  EXPECT_EQ(printed.out,
            "age_band | households | purchases\n"
            "---------+------------+----------\n"
            "25-34    |         65 |       529\n"
            "35-44    |         65 |       516\n"
            "45-54    |         65 |       503\n"
            "(3 rows)\n");

  std::string csv = (dir_ / "out.csv").string();
  Outcome to_csv =
      Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql, "--output", csv});
  EXPECT_EQ(to_csv.out, "");
  EXPECT_EQ(to_csv.err, absl::StrCat("query 2: 3 rows for supplier\nwrote 3 rows to ", csv, "\n"));
  EXPECT_EQ(ReadText(csv),
            "age_band,households,purchases\n"
            "25-34,65,529\n"
            "35-44,65,516\n"
            "45-54,65,503\n");

  std::string json = (dir_ / "out.json").string();
  Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql, "--output", json});
  EXPECT_EQ(ReadText(json),
            "[\n"
            "  {\"age_band\": \"25-34\", \"households\": 65, \"purchases\": 529},\n"
            "  {\"age_band\": \"35-44\", \"households\": 65, \"purchases\": 516},\n"
            "  {\"age_band\": \"45-54\", \"households\": 65, \"purchases\": 503}\n"
            "]\n");

  std::string parquet = (dir_ / "out.parquet").string();
  Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql, "--output", parquet});
  // SUM of a BIGINT is a HUGEINT, which DuckDB's Parquet writer stores as DOUBLE (reported: it
  // loses digits beyond 2^53); the values here are small enough to survive.
  EXPECT_EQ(Oracle(absl::StrCat("SELECT age_band, households, CAST(purchases AS HUGEINT) FROM "
                                "read_parquet(",
                                engine::duckdb::QuoteString(parquet), ")")),
            ParseCsv(ReadText(csv)).rows);
  EXPECT_EQ(Oracle(absl::StrCat("SELECT string_agg(column_type, ',') FROM (DESCRIBE SELECT "
                                "age_band, households FROM read_parquet(",
                                engine::duckdb::QuoteString(parquet), "))")),
            Rows({{"VARCHAR,BIGINT"}}));
}

TEST_F(CliE2eTest, ReceiverFetchesResultOthersCannot) {
  SetUpCampaign();
  const std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                       kJoin, " GROUP BY r.age_band ORDER BY r.age_band");
  std::string unused = (dir_ / "unused.csv").string();
  Outcome run =
      Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql, "--receiver", "agency"});
  EXPECT_EQ(run.out, "");
  // The runner does not receive the result: it learns that the query ran, not its size.
  EXPECT_EQ(run.err, "query 1: accepted and finished; results go to agency\n");

  Outcome fetched = Ok("agency", {"query", "result", "-c", "campaign", "1"});
  EXPECT_EQ(fetched.out,
            "age_band | n\n"
            "---------+---\n"
            "25-34    | 65\n"
            "35-44    | 65\n"
            "45-54    | 65\n"
            "(3 rows)\n");
  std::string csv = (dir_ / "fetched.csv").string();
  Outcome to_csv = Ok("agency", {"query", "result", "-c", "campaign", "1", "--output", csv});
  EXPECT_EQ(to_csv.err, absl::StrCat("wrote 3 rows to ", csv, "\n"));
  EXPECT_EQ(ReadText(csv), "age_band,n\n25-34,65\n35-44,65\n45-54,65\n");

  Outcome runner = As("supplier", {"query", "result", "-c", "campaign", "1"});
  EXPECT_EQ(runner.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(runner.out, "");
  EXPECT_EQ(runner.err, "error: member 'supplier' is not a receiver of query 1\n");
  Outcome owner = As("retailer", {"query", "result", "-c", "campaign", "1"});
  EXPECT_EQ(owner.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(owner.err, "error: member 'retailer' is not a receiver of query 1\n");
  Outcome unknown = As("agency", {"query", "result", "-c", "campaign", "7"});
  EXPECT_EQ(unknown.exit_code, kExitError);
  EXPECT_EQ(unknown.err, "error: query 7 not found in collaboration 'campaign'\n");

  // The runner and the receiver both list the query (the row count and how it ended only for
  // the receiver); the retailer, neither, sees nothing.
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out,
            "1  finished  runner supplier  receivers agency\n");
  EXPECT_EQ(Ok("agency", {"query", "list", "-c", "campaign"}).out,
            "1  succeeded  runner supplier  rows 3  receivers agency\n");
  EXPECT_EQ(Ok("retailer", {"query", "list", "-c", "campaign"}).out, "");
}

// The audit list: "seq  time  actor  action  details" per line; times vary, the rest does not.
std::vector<std::string> AuditActions(const std::string& listing) {
  std::vector<std::string> actions;
  for (absl::string_view line : absl::StrSplit(listing, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, "  ");
    actions.push_back(fields.size() >= 4 ? absl::StrCat(fields[2], " ", fields[3]) : "?");
  }
  return actions;
}

TEST_F(CliE2eTest, AuditListsEveryActionAndVerifies) {
  SetUpCampaign();
  const std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                       kJoin, " GROUP BY r.age_band");
  Ok("supplier", {"query", "explain", "-c", "campaign", "--sql", sql});
  Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql});
  Outcome audit = Ok("agency", {"audit", "list", "-c", "campaign"});
  EXPECT_THAT(
      AuditActions(audit.out),
      // Adding the supplier (the retailer alone: committed at once), then the agency (committed
      // by the supplier's approval): every step of both change requests.
      ElementsAre("retailer collaboration.create", "retailer change.propose",
                  "retailer change.approved", "retailer member.add", "retailer change.commit",
                  "retailer change.propose", "supplier change.approve", "supplier change.approved",
                  "supplier member.add", "supplier change.commit", "retailer table.add",
                  "retailer rule.set", "supplier table.add", "supplier rule.set",
                  "supplier query.explained", "supplier query.submitted", "supplier query.started",
                  "supplier query.finished"));
  // Nor how a run ended or how many rows it gave: those are for its receivers.
  EXPECT_THAT(audit.out, Not(HasSubstr("row_count")));
  // Details are metadata: the SQL appears as a hash, never as text.
  EXPECT_THAT(audit.out, Not(HasSubstr("SELECT")));
  EXPECT_THAT(audit.out, Not(HasSubstr("DISTINCT")));
  EXPECT_THAT(audit.out, HasSubstr("\"sql_sha256\":"));

  // The operator verifies every chain of the home and sees each head.
  Outcome verified = Parley({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified;
  EXPECT_EQ(verified.out,
            "audit log intact: 18 entries verified\n"
            "head campaign " +
                CampaignHead() + "\n");

  // A mistyped home is not an intact, empty log.
  std::string typo = (dir_ / "hmoe").string();
  Outcome elsewhere = Spawn({"--home", typo, "audit", "verify"}, scratch_);
  EXPECT_EQ(elsewhere.exit_code, kExitError);
  EXPECT_EQ(elsewhere.out, "");
  EXPECT_EQ(elsewhere.err,
            absl::StrCat("error: '", typo, "' is not a Parley home (it has no catalog.db)\n"));
  EXPECT_FALSE(fs::exists(typo));
}

TEST_F(CliE2eTest, AuditVerifyDetectsAnEditedEntry) {
  SetUpCampaign();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db,
                          "UPDATE audit SET details_json = '{\"abilities\":\"query\"}' "
                          "WHERE seq = 2",
                          nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
  }
  Outcome verified = Parley({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, kExitError);
  EXPECT_EQ(verified.out,
            "audit log TAMPERED: collaboration 'campaign': audit entry 2 was edited: its hash does "
            "not match its contents\n");
  Outcome member = As("agency", {"audit", "verify", "-c", "campaign"});
  EXPECT_EQ(member.exit_code, kExitError);
  EXPECT_EQ(member.out,
            "audit log of campaign TAMPERED: audit entry 2 was edited: its hash does not match its "
            "contents\n");
}

// A member verifies its own collaboration and notes the head it prints; comparing heads out of
// band catches a log cut back so carefully (entries and head both rewritten) that the chain
// itself is consistent again.
TEST_F(CliE2eTest, AuditVerifyPrintsTheHeadAndCatchesATruncatedTailWithIt) {
  SetUpCampaign();
  const std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                       kJoin, " GROUP BY r.age_band");
  Outcome verified = Ok("agency", {"audit", "verify", "-c", "campaign"});
  const std::string noted = CampaignHead();
  EXPECT_EQ(verified.out, absl::StrCat("audit log of campaign intact: 14 entries verified\n"
                                       "head ",
                                       noted, "\n"));
  EXPECT_EQ(Ok("agency", {"audit", "verify", "-c", "campaign", "--expect-head", noted}).out,
            absl::StrCat("audit log of campaign intact: 14 entries verified\nhead ", noted,
                         "\nexpected head: the current head\n"));

  Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql});
  const std::string after_query = CampaignHead();
  EXPECT_EQ(Ok("agency", {"audit", "verify", "-c", "campaign", "--expect-head", noted}).out,
            absl::StrCat("audit log of campaign intact: 17 entries verified\nhead ", after_query,
                         "\nexpected head: entry 14, followed by 3 newer entries\n"));

  // Someone with the catalog file removes the query's three entries (query.submitted,
  // query.started, query.finished) and moves the head back.
  EditCatalog(
      absl::StrCat("DELETE FROM audit WHERE seq > 14; UPDATE audit_heads SET seq = 14, hash = '",
                   noted, "' WHERE collaboration = 'campaign'"));
  // The chain alone cannot tell (no policy changed), ...
  EXPECT_EQ(Ok("agency", {"audit", "verify", "-c", "campaign"}).out,
            absl::StrCat("audit log of campaign intact: 14 entries verified\nhead ", noted, "\n"));
  // ... but the head the supplier noted after its query is gone.
  Outcome truncated =
      As("supplier", {"audit", "verify", "-c", "campaign", "--expect-head", after_query});
  EXPECT_EQ(truncated.exit_code, kExitError);
  EXPECT_EQ(truncated.out,
            absl::StrCat("audit log of campaign TAMPERED: the expected head ", after_query,
                         " is not in the chain: entries were removed or rewritten "
                         "since it was noted\n"));
}

TEST_F(CliE2eTest, AuditVerifyUsage) {
  SetUpCampaign();
  Outcome no_room = Parley({"audit", "verify", "--expect-head", std::string(64, 'a')});
  EXPECT_EQ(no_room.exit_code, kExitUsage);
  EXPECT_EQ(no_room.err, "error: --expect-head needs -c COLLABORATION\n");
  Outcome no_member = Parley({"audit", "verify", "-c", "campaign"});
  EXPECT_EQ(no_member.exit_code, kExitUsage);
  EXPECT_EQ(no_member.err, "error: say which member acts with --as MEMBER (or PARLEY_AS)\n");
  Outcome stranger = As("stranger", {"audit", "verify", "-c", "campaign"});
  EXPECT_EQ(stranger.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(stranger.err, "error: 'stranger' is not a member of collaboration 'campaign'\n");
  Outcome malformed = As("agency", {"audit", "verify", "-c", "campaign", "--expect-head", "xyz"});
  EXPECT_EQ(malformed.exit_code, kExitError);
  EXPECT_EQ(malformed.err,
            "error: an expected head is a hash of 64 hexadecimal characters, as 'audit verify' "
            "prints it\n");
}

// The policy edited in the catalog file with SQL, not through Parley: every member's verification
// reports it, and nothing runs in the collaboration any more (the query would otherwise run under
// a rule its owner never set).
TEST_F(CliE2eTest, APolicyEditedWithSqlIsDetectedAndNothingRuns) {
  SetUpCampaign();
  const std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                       kJoin, " GROUP BY r.age_band");
  struct Edit {
    std::string what;  // as the messages name it
    std::string sql;
    std::string undo;
  };
  for (const Edit& edit : std::vector<Edit>{
           {"table 'loyalty' changed",
            "UPDATE tables SET rule_json = replace(rule_json, '\"minimum\":2', "
            "'\"minimum\":1') WHERE name = 'loyalty'",
            "UPDATE tables SET rule_json = replace(rule_json, '\"minimum\":1', "
            "'\"minimum\":2') WHERE name = 'loyalty'"},
           {"table 'retail' changed",
            // The source description (schema version 5): its path moved.
            "UPDATE tables SET source = replace(source, '\"path\":\"', '\"path\":\"/bak') "
            "WHERE name = 'retail'",
            "UPDATE tables SET source = replace(source, '\"path\":\"/bak', '\"path\":\"') "
            "WHERE name = 'retail'"},
           {"member 'agency' changed", "UPDATE members SET can_query = 1 WHERE name = 'agency'",
            "UPDATE members SET can_query = 0 WHERE name = 'agency'"},
       }) {
    SCOPED_TRACE(edit.what);
    EditCatalog(edit.sql);
    Outcome verified = As("agency", {"audit", "verify", "-c", "campaign"});
    EXPECT_EQ(verified.exit_code, kExitError);
    EXPECT_EQ(verified.out, absl::StrCat("audit log of campaign TAMPERED: the policy state "
                                         "(members, tables, rules, templates) was changed "
                                         "outside Parley after audit entry 14: ",
                                         edit.what, "\n"));
    Outcome operator_view = Parley({"audit", "verify"});
    EXPECT_EQ(operator_view.exit_code, kExitError);
    Outcome run = As("supplier", {"query", "run", "-c", "campaign", "--sql", sql});
    EXPECT_EQ(run.exit_code, kExitError);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, absl::StrCat("error: collaboration 'campaign' was changed outside Parley (",
                                    edit.what,
                                    "): its catalog records no longer match its audit log, so "
                                    "nothing can change or run in it until the catalog is "
                                    "restored (see 'parley audit verify -c campaign')\n"));
    // Restored, the room verifies and works again.
    EditCatalog(edit.undo);
    Outcome restored = As("agency", {"audit", "verify", "-c", "campaign"});
    EXPECT_EQ(restored.exit_code, 0) << restored;
  }
  Ok("supplier", {"query", "run", "-c", "campaign", "--sql", sql});
}

// --- results against plain DuckDB ------------------------------------------------------------

TEST_F(CliE2eTest, ResultsMatchPlainDuckDbWithHandWrittenThresholds) {
  SetUpCampaign();
  struct Case {
    std::string parley;
    std::string oracle;
  };
  const std::vector<Case> cases = {
      // The campaign shape.
      {absl::StrCat("SELECT r.age_band, r.income_bracket, r.household_size, "
                    "COUNT(DISTINCT r.household_id) AS households ",
                    kJoin, " GROUP BY r.age_band, r.income_bracket, r.household_size"),
       absl::StrCat("SELECT r.age_band, r.income_bracket, r.household_size, "
                    "count(DISTINCT r.household_id) AS households ",
                    kJoin, " GROUP BY r.age_band, r.income_bracket, r.household_size ",
                    kThresholds)},
      // SUM and AVG over both tables.
      {absl::StrCat("SELECT r.household_size, SUM(r.annual_spend) AS spend, "
                    "AVG(r.annual_spend) AS average_spend, AVG(l.brand_purchases) AS purchases ",
                    kJoin, " GROUP BY r.household_size"),
       absl::StrCat("SELECT r.household_size, sum(r.annual_spend), avg(r.annual_spend), "
                    "avg(l.brand_purchases) ",
                    kJoin, " GROUP BY r.household_size ", kThresholds)},
      // A WHERE filter on dimensions of both tables.
      {absl::StrCat("SELECT r.age_band, l.loyalty_tier, COUNT(DISTINCT r.household_id) AS n ",
                    kJoin,
                    " WHERE r.income_bracket = '<50k' AND l.loyalty_tier <> 'bronze' "
                    "GROUP BY r.age_band, l.loyalty_tier"),
       absl::StrCat("SELECT r.age_band, l.loyalty_tier, count(DISTINCT r.household_id) ", kJoin,
                    " WHERE r.income_bracket = '<50k' AND l.loyalty_tier <> 'bronze' "
                    "GROUP BY r.age_band, l.loyalty_tier ",
                    kThresholds)},
      // No grouping: one row over the whole overlap.
      {absl::StrCat("SELECT COUNT(DISTINCT r.household_id) AS households, "
                    "SUM(l.brand_purchases) AS purchases ",
                    kJoin),
       absl::StrCat("SELECT count(DISTINCT r.household_id), sum(l.brand_purchases) ", kJoin, " ",
                    kThresholds)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].parley);
    Csv parley = RunToCsv(cases[i].parley, absl::StrCat("case", i, ".csv"));
    Rows expected = Oracle(cases[i].oracle);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(Sorted(parley.rows), Sorted(expected));
  }
}

TEST_F(CliE2eTest, OrderByIsKeptAndMatchesPlainDuckDb) {
  SetUpCampaign();
  Csv parley = RunToCsv(absl::StrCat(
      "SELECT r.age_band, r.household_size, COUNT(DISTINCT r.household_id) AS n ", kJoin,
      " GROUP BY r.age_band, r.household_size ORDER BY r.household_size DESC, r.age_band"));
  EXPECT_THAT(parley.header, ElementsAre("age_band", "household_size", "n"));
  Rows expected =
      Oracle(absl::StrCat("SELECT r.age_band, r.household_size, count(DISTINCT r.household_id) ",
                          kJoin, " GROUP BY r.age_band, r.household_size ", kThresholds,
                          " ORDER BY r.household_size DESC, r.age_band"));
  ASSERT_EQ(expected.size(), 9u);
  EXPECT_EQ(parley.rows, expected);
}

TEST_F(CliE2eTest, GroupsBelowTheThresholdDoNotAppear) {
  SetUpCampaign();
  const std::string by_age = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                          kJoin, " GROUP BY r.age_band");
  // Plain DuckDB sees five shared 65+ households and four of six people.
  EXPECT_EQ(Sorted(Oracle(absl::StrCat(by_age, " "))),
            Rows({{"25-34", "65"}, {"35-44", "65"}, {"45-54", "65"}, {"65+", "5"}}));
  EXPECT_EQ(Sorted(RunToCsv(by_age, "age.csv").rows),
            Rows({{"25-34", "65"}, {"35-44", "65"}, {"45-54", "65"}}));

  const std::string by_size =
      absl::StrCat("SELECT r.household_size, COUNT(DISTINCT r.household_id) AS n ", kJoin,
                   " GROUP BY r.household_size");
  Rows all_sizes = Sorted(Oracle(by_size));
  ASSERT_EQ(all_sizes.size(), 4u);
  EXPECT_EQ(all_sizes[3], std::vector<std::string>({"6", "4"}));
  Rows shown = Sorted(RunToCsv(by_size, "size.csv").rows);
  all_sizes.pop_back();
  EXPECT_EQ(shown, all_sizes);
}

TEST_F(CliE2eTest, DuplicatedJoinKeysInTheRunnersTableDoNotRevealASuppressedGroup) {
  SetUpCampaign();
  // The supplier's second table: 60 households once, and the five shared 65+ households three
  // times each — 15 joined rows for a group of 5 distinct households.
  std::string csv = "hashed_email,loyalty_tier,brand_purchases\n";
  for (int i = 1; i <= 60; ++i) absl::StrAppendFormat(&csv, "e%04d,gold,1\n", i);
  for (int copy = 0; copy < 3; ++copy) {
    for (int i : {40, 80, 120, 160, 200}) absl::StrAppendFormat(&csv, "e%04d,gold,1\n", i);
  }
  std::string path = (dir_ / "padded.csv").string();
  WriteText(path, csv);
  Ok("supplier", {"table", "add", "-c", "campaign", "padded", "--source", path});
  Ok("supplier", {"rule", "set", "-c", "campaign", "padded", "--json", kLoyaltyRule});

  const std::string join = "FROM retail r JOIN padded p ON r.hashed_email = p.hashed_email";
  Exec(absl::StrCat("CREATE OR REPLACE VIEW padded AS SELECT * FROM read_csv(",
                    engine::duckdb::QuoteString(path), ", header=true)"));
  // Counting rows instead of distinct households would lift the 65+ group over 10.
  EXPECT_EQ(Oracle(absl::StrCat("SELECT count(*), count(DISTINCT r.household_id) ", join,
                                " WHERE r.age_band = '65+'")),
            Rows({{"16", "5"}}));

  Csv parley =
      RunToCsv(absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n, "
                            "SUM(p.brand_purchases) AS purchases ",
                            join, " GROUP BY r.age_band"));
  Rows expected = Oracle(absl::StrCat(
      "SELECT r.age_band, count(DISTINCT r.household_id), sum(p.brand_purchases) ", join,
      " GROUP BY r.age_band HAVING count(DISTINCT r.household_id) >= 10 AND "
      "count(DISTINCT p.hashed_email) >= 2"));
  EXPECT_EQ(Sorted(parley.rows), Sorted(expected));
  for (const auto& row : parley.rows) EXPECT_NE(row[0], "65+");
}

// --- errors --------------------------------------------------------------------------------

TEST_F(CliE2eTest, MalformedCsvIsRejectedAtTableAdd) {
  Ok("retailer", {"collaboration", "create", "campaign"});
  // Each named by its line.
  struct Case {
    std::string file;
    std::string text;
    std::string problem;
  };
  for (const Case& c : std::vector<Case>{
           {"ragged.csv", "a,b,c\n1,2,3\n4,5\n", "line 3: it has 2 columns where the header has 3"},
           {"unterminated.csv", "a,b,c\n1,\"2,3\n4,5,6\n", "line 2: a quote is not closed"},
           {"wide.csv", "a,b,c\n1,2,3\n4,5,6,7\n",
            "line 3: it has 4 columns where the header has 3"},
       }) {
    SCOPED_TRACE(c.file);
    std::string path = (dir_ / c.file).string();
    WriteText(path, c.text);
    Outcome added = As("retailer", {"table", "add", "-c", "campaign", "t", "--source", path});
    EXPECT_EQ(added.exit_code, kExitError);
    EXPECT_EQ(added.out, "");
    EXPECT_EQ(added.err, absl::StrCat("error: cannot read '", path, "' as CSV: ", c.problem, "\n"));
  }
  EXPECT_EQ(Ok("retailer", {"table", "list", "-c", "campaign"}).out, "");
}

TEST_F(CliE2eTest, MissingFilesAndEmptyGlobsAreReported) {
  Ok("retailer", {"collaboration", "create", "campaign"});
  std::string missing = (dir_ / "missing.csv").string();
  Outcome file = As("retailer", {"table", "add", "-c", "campaign", "t", "--source", missing});
  EXPECT_EQ(file.exit_code, kExitError);
  EXPECT_EQ(file.err, absl::StrCat("error: file '", missing, "' not found\n"));

  std::string glob = (dir_ / "parts-*.parquet").string();
  Outcome none = As("retailer", {"table", "add", "-c", "campaign", "t", "--source", glob});
  EXPECT_EQ(none.exit_code, kExitError);
  EXPECT_EQ(none.err, absl::StrCat("error: no file matches '", glob, "'\n"));
}

TEST_F(CliE2eTest, PermissionErrors) {
  SetUpCampaign();
  const std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n ",
                                       kJoin, " GROUP BY r.age_band");
  struct Case {
    std::string member;
    std::vector<std::string> arguments;
    std::string error;
    // 4: the member may not do this; 1: a receiver that cannot be named, an unknown collaboration.
    int exit_code = cli_test::kExitNotPermitted;
  };
  const std::vector<Case> cases = {
      {"nobody",
       {"table", "list", "-c", "campaign"},
       "'nobody' is not a member of collaboration 'campaign'"},
      {"nobody",
       {"query", "run", "-c", "campaign", "--sql", sql},
       "'nobody' is not a member of collaboration 'campaign'"},
      {"retailer",
       {"query", "run", "-c", "campaign", "--sql", sql},
       "member 'retailer' does not have the 'query' ability in collaboration 'campaign' "
       "(abilities: none)"},
      {"agency",
       {"query", "explain", "-c", "campaign", "--sql", sql},
       "member 'agency' does not have the 'query' ability in collaboration 'campaign' "
       "(abilities: receive)"},
      {"supplier",
       {"rule", "set", "-c", "campaign", "retail", "--json", kRetailRule},
       "only the owner of table 'retail' ('retailer') can set its rule"},
      {"supplier",
       {"member", "add", "-c", "campaign", "broker", "--abilities", "query"},
       "only the creator of collaboration 'campaign' ('retailer') can add members"},
      {"supplier",
       {"query", "run", "-c", "campaign", "--sql", sql, "--receiver", "retailer"},
       "receiver 'retailer' may not receive results (it needs the 'receive' ability and an "
       "active membership)",
       kExitError},
      {"supplier",
       {"query", "run", "-c", "campaign", "--sql", sql, "--receiver", "nobody"},
       "receiver 'nobody' is not a member of collaboration 'campaign'",
       kExitError},
      {"supplier",
       {"query", "run", "-c", "elsewhere", "--sql", sql},
       "collaboration 'elsewhere' not found",
       kExitError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.member, " ", absl::StrJoin(c.arguments, " ")));
    Outcome outcome = As(c.member, c.arguments);
    EXPECT_EQ(outcome.exit_code, c.exit_code);
    EXPECT_EQ(outcome.out, "");
    EXPECT_EQ(outcome.err, absl::StrCat("error: ", c.error, "\n"));
  }
  // None of them ran a query.
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out, "");
}

TEST_F(CliE2eTest, QueryMemberWithoutReceiveMustNameAReceiver) {
  SetUpCampaign();
  EXPECT_EQ(As("retailer", {"member", "add", "-c", "campaign", "analyst", "--abilities", "query"})
                .exit_code,
            kExitPending);
  EXPECT_EQ(As("supplier", {"change", "approve", "-c", "campaign", "3"}).exit_code, kExitPending);
  Ok("agency", {"change", "approve", "-c", "campaign", "3"});
  // The analyst's own copy of the loyalty data: a member registers only its own files.
  std::string loyalty2 = (dir_ / "loyalty2.parquet").string();
  fs::copy_file(loyalty_parquet_, loyalty2);
  Ok("analyst", {"table", "add", "-c", "campaign", "loyalty2", "--source", loyalty2});
  Ok("analyst", {"rule", "set", "-c", "campaign", "loyalty2", "--json", kLoyaltyRule});
  const std::string sql = absl::StrCat(
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n FROM retail r JOIN loyalty2 l ON "
      "r.hashed_email = l.hashed_email GROUP BY r.age_band");
  Outcome alone = As("analyst", {"query", "run", "-c", "campaign", "--sql", sql});
  EXPECT_EQ(alone.exit_code, kExitError);
  EXPECT_EQ(alone.err,
            "error: member 'analyst' cannot receive results; name a receiver with the 'receive' "
            "ability (--receiver)\n");
  Outcome for_agency =
      Ok("analyst", {"query", "run", "-c", "campaign", "--sql", sql, "--receiver", "agency"});
  EXPECT_EQ(for_agency.err, "query 1: accepted and finished; results go to agency\n");
}

TEST_F(CliE2eTest, BadRuleDocumentsAreRejectedWithTheirPath) {
  SetUpCampaign();
  struct Case {
    std::string json;
    std::string error;
  };
  const std::vector<Case> cases = {
      {R"({"kind": "aggregation", "bogus": 1})",
       "rule: (document): unknown key 'bogus' (expected one of kind, aggregate_columns, "
       "join_columns, join_required, allowed_join_operators, dimension_columns, "
       "scalar_functions, output_constraints, allow_fan_out, differential_privacy)"},
      {R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["region"], )"
       R"("functions": ["SUM"]}]})",
       "rule: aggregate_columns[0].columns[0]: 'region' is not an allowed column of the table"},
      {R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], )"
       R"("functions": ["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], )"
       R"("dimension_columns": ["age_band"], "output_constraints": [{"column": )"
       R"("household_id", "minimum": 1, "type": "count_distinct"}]})",
       "rule: output_constraints[0].minimum: 1 is outside the allowed range 2 to 100000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    Outcome outcome = As("retailer", {"rule", "set", "-c", "campaign", "retail", "--json", c.json});
    EXPECT_EQ(outcome.exit_code, kExitError);
    EXPECT_EQ(outcome.err, absl::StrCat("error: ", c.error, "\n"));
  }
  Outcome neither = As("retailer", {"rule", "set", "-c", "campaign", "retail"});
  EXPECT_EQ(neither.exit_code, kExitUsage);
  EXPECT_EQ(neither.err, "error: give the rule with --file or --json\n");
  std::string missing = (dir_ / "no-rule.json").string();
  Outcome no_file = As("retailer", {"rule", "set", "-c", "campaign", "retail", "--file", missing});
  EXPECT_EQ(no_file.exit_code, kExitError);
  EXPECT_EQ(no_file.err, absl::StrCat("error: cannot read rule file '", missing, "'\n"));
}

TEST_F(CliE2eTest, RejectedQueryExitsThreeAndWritesNothing) {
  SetUpCampaign();
  std::string output = (dir_ / "leak.csv").string();
  Outcome rejected = As(
      "supplier", {"query", "run", "-c", "campaign", "--output", output, "--sql",
                   "SELECT r.hashed_email, COUNT(DISTINCT r.household_id) AS n FROM retail r JOIN "
                   "loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.hashed_email"});
  EXPECT_EQ(rejected.exit_code, kExitRejected);
  EXPECT_EQ(rejected.out, "");
  EXPECT_EQ(rejected.err,
            "query rejected: 2 violations\n"
            "  1. join column 'hashed_email' may only be used in JOIN … ON equalities (in SELECT, "
            "at line 1, column 8)\n"
            "     rule: aggregation rule of table retail (owner retailer), column hashed_email\n"
            "     hint: join columns match rows across tables; they are never returned, grouped "
            "or filtered on\n"
            "  2. join column 'hashed_email' may only be used in JOIN … ON equalities (in GROUP "
            "BY, at line 1, column 133)\n"
            "     rule: aggregation rule of table retail (owner retailer), column hashed_email\n"
            "     hint: join columns match rows across tables; they are never returned, grouped "
            "or filtered on\n");
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out,
            "1  rejected  runner supplier  receivers supplier\n");

  Outcome explained = As("supplier", {"query", "explain", "-c", "campaign", "--sql",
                                      "SELECT COUNT(DISTINCT r.household_id) AS n FROM retail r"});
  EXPECT_EQ(explained.exit_code, kExitRejected);
  EXPECT_THAT(explained.out, HasSubstr("query rejected: 1 violation\n"));
}

TEST_F(CliE2eTest, UnknownOutputFormatIsRefusedBeforeTheQueryRuns) {
  SetUpCampaign();
  Outcome outcome =
      As("supplier", {"query", "run", "-c", "campaign", "--output", (dir_ / "out.txt").string(),
                      "--sql", absl::StrCat("SELECT COUNT(DISTINCT r.household_id) AS n ", kJoin)});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            absl::StrCat("error: cannot tell the output format of '", (dir_ / "out.txt").string(),
                         "': use a .csv, .json or .parquet extension, or give --format\n"));
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out, "");
}

// --temp-dir moves the sessions' spill folders; each session removes its own when it closes.
TEST_F(CliE2eTest, TempDirFlagMovesTheSpillFolder) {
  SetUpCampaign();
  std::filesystem::path spill = dir_ / "spill";
  ASSERT_FALSE(std::filesystem::exists(spill));
  Outcome outcome =
      Parley({"--as", "supplier", "--temp-dir", spill.string(), "query", "run", "-c", "campaign",
              "--sql", absl::StrCat("SELECT COUNT(DISTINCT r.household_id) AS n ", kJoin)});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  ASSERT_TRUE(std::filesystem::is_directory(spill));
  EXPECT_TRUE(std::filesystem::is_empty(spill));
  EXPECT_TRUE(std::filesystem::is_empty(std::filesystem::path(home_) / "tmp"));
}

TEST_F(CliE2eTest, SourceWhoseSchemaChangedFailsNamingTableAndColumn) {
  SetUpCampaign();
  std::string changed = RetailCsv();
  // household_size becomes text.
  size_t at = 0;
  std::string replaced;
  for (absl::string_view line : absl::StrSplit(changed, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (at++ > 0 && fields[4] == "2") fields[4] = "two";
    absl::StrAppend(&replaced, absl::StrJoin(fields, ","), "\n");
  }
  WriteText(retail_csv_, replaced);
  Outcome outcome =
      As("supplier", {"query", "run", "-c", "campaign", "--sql",
                      absl::StrCat("SELECT COUNT(DISTINCT r.household_id) AS n ", kJoin)});
  // A query that does not read the changed column is not affected: the pinned read converts only
  // the columns a query reads.
  EXPECT_EQ(outcome.exit_code, 0) << outcome;
  outcome = As("supplier", {"query", "run", "-c", "campaign", "--sql",
                            absl::StrCat("SELECT r.household_size, COUNT(DISTINCT r.household_id) "
                                         "AS n ",
                                         kJoin, " GROUP BY r.household_size")});
  EXPECT_EQ(outcome.exit_code, kExitError);
  EXPECT_EQ(outcome.out, "");
  // The types pinned at registration are not detected again: the value that no longer fits fails
  // the read, and under an aggregation rule a runner that does not own the table is not told
  // where (docs/sources.md).
  EXPECT_EQ(outcome.err,
            "error: the query failed while it ran; for aggregation and list rules the cause is "
            "not shown, because it could depend on rows that no one may see\n");
  EXPECT_THAT(Ok("supplier", {"query", "list", "-c", "campaign"}).out,
              HasSubstr("2  failed  runner supplier  receivers supplier\n"));
}

TEST_F(CliE2eTest, UsageErrors) {
  SetUpCampaign();
  Outcome no_actor = Parley({"table", "list", "-c", "campaign"});
  EXPECT_EQ(no_actor.exit_code, kExitUsage);
  EXPECT_EQ(no_actor.err, "error: say which member acts with --as MEMBER (or PARLEY_AS)\n");

  Outcome no_sql = As("supplier", {"query", "run", "-c", "campaign"});
  EXPECT_EQ(no_sql.exit_code, kExitUsage);
  EXPECT_EQ(no_sql.err, "error: give the query with --sql or --file\n");

  Outcome no_collaboration = As("supplier", {"table", "list"});
  EXPECT_EQ(no_collaboration.exit_code, kExitUsage);
  EXPECT_THAT(no_collaboration.err, HasSubstr("--collaboration is required"));

  Outcome elsewhere =
      As("supplier", {"query", "run", "-c", "campaign", "--receiver", "agency", "--output",
                      (dir_ / "mine.csv").string(), "--sql",
                      absl::StrCat("SELECT COUNT(DISTINCT r.household_id) AS n ", kJoin)});
  EXPECT_EQ(elsewhere.exit_code, kExitUsage);
  EXPECT_EQ(elsewhere.err,
            "error: --output writes the result for supplier, who is not among the receivers; add "
            "--receiver supplier or drop --output\n");
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out, "");

  Outcome no_command = As("supplier", {});
  EXPECT_EQ(no_command.exit_code, kExitUsage);
  EXPECT_THAT(no_command.err, HasSubstr("A subcommand is required"));
}

TEST_F(CliE2eTest, SyntaxErrorsNameLineAndColumn) {
  SetUpCampaign();
  Outcome outcome = As("supplier", {"query", "run", "-c", "campaign", "--sql",
                                    "SELECT r.age_band,\n  COUNT(DISTINCT r.household_id)\n"
                                    "FROM retail r JOINN loyalty l"});
  EXPECT_EQ(outcome.exit_code, kExitError);
  EXPECT_EQ(outcome.err, "error: syntax error at or near \"JOINN\" (line 3, column 15)\n");

  std::string file = (dir_ / "query.sql").string();
  WriteText(file, "SELECT COUNT(DISTINCT r.household_id)\nFROM retail r\nGROUP BY");
  Outcome from_file = As("supplier", {"query", "explain", "-c", "campaign", "--file", file});
  EXPECT_EQ(from_file.exit_code, kExitError);
  EXPECT_EQ(from_file.err, "error: syntax error at end of input (line 3, column 9)\n");
}

// --- no data values in messages ------------------------------------------------------------

TEST_F(CliE2eTest, MalformedCsvMessagesNeverQuoteTheFile) {
  Ok("retailer", {"collaboration", "create", "campaign"});
  for (const std::string& text : {
           std::string("id,name\n1,alice\n2,TOPSECRET-4711\n3\n"),
           std::string("id,name\n1,alice\n2,\"TOPSECRET-4711\n3,bob\n"),
           std::string("id,name\n1,alice\n2,TOPSECRET-4711,extra\n"),
           std::string("id,name\n1,alice\n2,TOPSECRET-4711\xff\xfe\n"),
       }) {
    SCOPED_TRACE(text);
    std::string path = (dir_ / "secret.csv").string();
    WriteText(path, text);
    Outcome added = As("retailer", {"table", "add", "-c", "campaign", "people", "--source", path});
    EXPECT_EQ(added.exit_code, kExitError);
    EXPECT_THAT(added.err, HasSubstr(absl::StrCat("error: cannot read '", path, "' as CSV: ")));
    EXPECT_THAT(added.err, Not(HasSubstr("TOPSECRET")));
    EXPECT_THAT(added.out, Not(HasSubstr("TOPSECRET")));
  }
}

// A cast that fails on every value does not fail the query: aggregation queries evaluate such
// expressions under TRY (an error could reveal a row of a suppressed group), so the values land
// in one NULL group, and no value is quoted anywhere.
TEST_F(CliE2eTest, FailingExpressionsBecomeNullGroupsNotErrors) {
  SetUpCampaign();
  Outcome outcome = As("supplier", {"query", "run", "-c", "campaign", "--sql",
                                    absl::StrCat("SELECT CAST(r.age_band AS INTEGER) AS a, "
                                                 "COUNT(DISTINCT r.household_id) AS n ",
                                                 kJoin, " GROUP BY CAST(r.age_band AS INTEGER)")});
  EXPECT_EQ(outcome.exit_code, 0) << outcome;
  EXPECT_THAT(outcome.out, HasSubstr("NULL |"));
  for (const char* value : {"25-34", "35-44", "45-54", "65+"}) {
    EXPECT_THAT(outcome.out + outcome.err, Not(HasSubstr(value)));
  }
  EXPECT_EQ(Ok("supplier", {"query", "list", "-c", "campaign"}).out,
            "1  succeeded  runner supplier  rows 1  receivers supplier\n");
}

// --- the demo ------------------------------------------------------------------------------

TEST_F(CliE2eTest, DemoRunsAndFreshRefusesToDeleteAForeignDirectory) {
  Outcome demo = Parley({"demo", "--households", "3000", "--supplier-members", "2500", "--shared",
                         "2000", "--fresh"});
  EXPECT_EQ(demo.exit_code, 0) << demo;
  EXPECT_THAT(demo.out, HasSubstr("\n2,000 households can be targeted\n"));
  EXPECT_THAT(demo.out, HasSubstr("audit log: intact, "));
  // The notebook step: the supplier received a chart and a segment table whose counts add up to
  // the SQL query's total.
  EXPECT_THAT(demo.out, HasSubstr("▶ supplier: inspects the notebook's cells, approves it and "
                                  "runs it\n"));
  EXPECT_THAT(demo.out, HasSubstr(" 2,000 households (equal to the SQL campaign query's total)\n"));
  fs::path results = fs::path(home_) / "demo-results";
  EXPECT_THAT(demo.out, HasSubstr("chart: " + (results / "segments.png").string() + "\n"));
  std::string png = ReadText(results / "segments.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
  // 800 × 450 pixels (8 × 4.5 inches at 100 dpi), big-endian in IHDR.
  EXPECT_EQ(png.substr(16, 8), std::string("\0\0\x03\x20\0\0\x01\xc2", 8));
  Csv segments = ParseCsv(ReadText(results / "segments.csv"));
  ASSERT_EQ(segments.header, (std::vector<std::string>{"segment", "households", "mean_age",
                                                       "mean_income_k", "mean_household_size"}));
  ASSERT_GE(segments.rows.size(), 2u);
  int64_t total = 0;
  for (const auto& row : segments.rows) {
    EXPECT_THAT(demo.out, HasSubstr(row[0] + " ")) << "each segment is a bar";
    total += std::stoll(row[1]);
  }
  EXPECT_EQ(total, 2000);
  EXPECT_THAT(ReadText(results / "segments.html"), HasSubstr("shared households"));
  // Again with --fresh: the home is recognisably Parley's, so it starts over.
  Outcome again = Parley({"demo", "--households", "3000", "--supplier-members", "2500", "--shared",
                          "2000", "--fresh"});
  EXPECT_EQ(again.exit_code, 0) << again;

  fs::path foreign = dir_ / "photos";
  fs::create_directories(foreign);
  WriteText(foreign / "holiday.jpg", "not a catalog");
  Outcome refused = Spawn({"--home", foreign.string(), "demo", "--fresh"}, scratch_);
  EXPECT_EQ(refused.exit_code, kExitError);
  EXPECT_EQ(refused.err, absl::StrCat("error: --fresh would delete '", foreign.string(),
                                      "', which is not a Parley home directory\n"));
  EXPECT_TRUE(fs::exists(foreign / "holiday.jpg"));
}

}  // namespace
}  // namespace parley
