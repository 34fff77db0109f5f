// Metering through the real binary (embedded mode): what each run scanned per table, who pays for
// it (the payer in force when it ran), `parley usage` by member, payer and month with its cost,
// and members' scan limits refusing a query before it runs — including the attempts around them:
// two queries each under the per-query limit but together over the month, and several processes
// racing for the last of a month's budget.
#include <sqlite3.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// 1234 → "1.2 kB": as metering's messages write sizes (decimal units, one decimal).
std::string Human(int64_t bytes) {
  const char* units[] = {"kB", "MB", "GB"};
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1000 && unit < 2) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

class CliUsageTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    retail_ = dir_ / "retail.csv";
    loyalty_ = dir_ / "loyalty.csv";
    Exec(absl::StrCat(
        "COPY (SELECT range + 1 AS household_id, 'e' || (range + 1) AS hashed_email, "
        "CASE WHEN range % 2 = 0 THEN 'young' ELSE 'old' END AS age_band FROM range(3000)) TO '",
        retail_.string(), "' (HEADER)"));
    Exec(absl::StrCat("COPY (SELECT 'e' || (range + 1) AS hashed_email FROM range(2000)) TO '",
                      loyalty_.string(), "' (HEADER)"));
    Ok("retailer", {"collaboration", "create", "room"});
    Ok("retailer", {"member", "add", "-c", "room", "supplier", "--abilities", "query,receive"});
    Ok("retailer", {"table", "add", "-c", "room", "retail", "--source", retail_.string()});
    Ok("supplier", {"table", "add", "-c", "room", "loyalty", "--source", loyalty_.string()});
    Ok("retailer", {"rule", "set", "-c", "room", "retail", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"], "dimension_columns": ["age_band"],
            "output_constraints": [{"column": "household_id", "minimum": 10}]})"});
    Ok("supplier", {"rule", "set", "-c", "room", "loyalty", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"],
            "output_constraints": [{"column": "hashed_email", "minimum": 10}]})"});
    retail_bytes_ = static_cast<int64_t>(fs::file_size(retail_));
    loyalty_bytes_ = static_cast<int64_t>(fs::file_size(loyalty_));
  }

  Outcome Run(const std::string& member) {
    return As(member, {"query", "run", "-c", "room", "--sql", kQuery});
  }

  nlohmann::json UsageJson(const std::string& member, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"--json", "usage", "-c", "room"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    Outcome usage = Ok(member, arguments);
    return nlohmann::json::parse(usage.out);
  }

  // The estimate of kQuery as refusals print it: the sizes measured when the tables were added.
  std::string Estimate() const {
    int64_t total = retail_bytes_ + loyalty_bytes_;
    return absl::StrCat("it would scan an estimated ", Human(total), " (", total, " bytes) (",
                        "loyalty ", Human(loyalty_bytes_), ", retail ", Human(retail_bytes_), ")");
  }

  // What the catalog recorded for each table a query scanned: table → {rows, bytes}.
  std::map<std::string, std::pair<int64_t, int64_t>> Scans(int64_t query_id) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((fs::path(home_) / "catalog.db").c_str(), &db, SQLITE_OPEN_READONLY,
                              nullptr),
              SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT table_name, rows_scanned, bytes_scanned FROM query_scans "
                                 "WHERE query_id = ?",
                                 -1, &statement, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(statement, 1, query_id);
    std::map<std::string, std::pair<int64_t, int64_t>> scans;
    while (sqlite3_step(statement) == SQLITE_ROW) {
      scans[reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))] = {
          sqlite3_column_int64(statement, 1), sqlite3_column_int64(statement, 2)};
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return scans;
  }

  static constexpr char kQuery[] =
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households FROM retail r "
      "JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band";

  fs::path retail_, loyalty_;
  int64_t retail_bytes_ = 0, loyalty_bytes_ = 0;
};

TEST_F(CliUsageTest, EachRunRecordsWhatItScannedPerTableAndTheReportAddsItUp) {
  Outcome run = Ok("supplier", {"--json", "query", "run", "-c", "room", "--sql", kQuery});
  int64_t query_id = nlohmann::json::parse(run.out)["query_id"];
  // Every row of both tables' files was given to the engine; bytes are the files' sizes.
  EXPECT_EQ(Scans(query_id),
            (std::map<std::string, std::pair<int64_t, int64_t>>{
                {"loyalty", {2000, loyalty_bytes_}}, {"retail", {3000, retail_bytes_}}}));

  // At 1000000 per TB a byte costs one millionth: the cost is the bytes, in millionths.
  nlohmann::json usage = UsageJson("retailer", {"--price-per-tb", "1000000"});
  int64_t bytes = retail_bytes_ + loyalty_bytes_;
  EXPECT_EQ(usage["by"], "member");
  EXPECT_EQ(usage["price_per_tb"], "1000000.00");
  ASSERT_EQ(usage["lines"].size(), 1u) << usage.dump();
  const nlohmann::json& line = usage["lines"][0];
  EXPECT_EQ(line["key"], "supplier");
  EXPECT_EQ(line["queries"], 1);
  EXPECT_EQ(line["rows_scanned"], 5000);
  EXPECT_EQ(line["bytes_scanned"], bytes);
  EXPECT_EQ(line["result_rows"], 2);
  EXPECT_EQ(line["result_bytes"], std::string("young1000old1000").size());
  EXPECT_GT(line["duration_micros"].get<int64_t>(), 0);
  EXPECT_EQ(line["cost"],
            absl::StrCat("0.", std::string(6 - std::to_string(bytes).size(), '0'), bytes));
  EXPECT_EQ(usage["total"]["bytes_scanned"], bytes);
  EXPECT_EQ(usage["total"]["key"], "total");
  // The tables' sizes are the room's metadata, the same for every member.
  EXPECT_EQ(usage["tables"],
            nlohmann::json::parse(absl::StrCat(
                R"([{"table": "loyalty", "owner": "supplier", "rows": 2000, )", R"("bytes": )",
                loyalty_bytes_, R"(}, {"table": "retail", )",
                R"("owner": "retailer", "rows": 3000, "bytes": )", retail_bytes_, "}]")));
  EXPECT_EQ(UsageJson("supplier")["tables"], usage["tables"]);

  // By payer (the runner pays by default) and by month: the same totals.
  nlohmann::json by_payer = UsageJson("retailer", {"--by", "payer"});
  ASSERT_EQ(by_payer["lines"].size(), 1u);
  EXPECT_EQ(by_payer["lines"][0]["key"], "supplier");
  nlohmann::json by_month = UsageJson("retailer", {"--by", "month"});
  ASSERT_EQ(by_month["lines"].size(), 1u);
  EXPECT_EQ(by_month["lines"][0]["key"], by_month["current_month"]);
  EXPECT_EQ(UsageJson("retailer", {"--month", "2001-01"})["lines"], nlohmann::json::array());

  // Another member sees the totals, never the SQL.
  Outcome human = Ok("retailer", {"usage", "-c", "room"});
  EXPECT_THAT(human.out, Not(HasSubstr("SELECT")));
  EXPECT_THAT(human.out, HasSubstr("usage of collaboration 'room' by member, all months (price "
                                   "5.00 per TB)\n"));
  EXPECT_THAT(human.out, HasSubstr("your limits: per query none, per month none;"));
}

TEST_F(CliUsageTest, ARunIsChargedToThePayerInForceWhenItRan) {
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery});
  // The retailer proposes to pay; the change waits for the supplier's approval.
  Outcome proposed =
      As("retailer", {"--json", "collaboration", "set", "-c", "room", "--payer", "retailer"});
  ASSERT_EQ(proposed.exit_code, kExitPending) << proposed;
  int64_t change = nlohmann::json::parse(proposed.out)["change"]["id"];
  // Still pending: the supplier's next run is the supplier's.
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery});
  Ok("supplier", {"change", "approve", "-c", "room", std::to_string(change)});
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery});

  nlohmann::json by_payer = UsageJson("supplier", {"--by", "payer"});
  ASSERT_EQ(by_payer["lines"].size(), 2u) << by_payer.dump();
  EXPECT_EQ(by_payer["lines"][0]["key"], "retailer");
  EXPECT_EQ(by_payer["lines"][0]["queries"], 1);
  EXPECT_EQ(by_payer["lines"][1]["key"], "supplier");
  EXPECT_EQ(by_payer["lines"][1]["queries"], 2);
  nlohmann::json by_member = UsageJson("supplier", {"--by", "member"});
  ASSERT_EQ(by_member["lines"].size(), 1u);
  EXPECT_EQ(by_member["lines"][0]["queries"], 3);
}

TEST_F(CliUsageTest, APerQueryLimitRefusesTheQueryBeforeItRunsWithTheEstimate) {
  Ok("supplier", {"usage", "limit", "-c", "room", "--per-query", "1kB"});
  Outcome refused = Run("supplier");
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_THAT(refused.err, HasSubstr(absl::StrCat(
                               "query refused before it ran: ", Estimate(),
                               ", over the per-query scan limit of 1.0 kB (1000 bytes) set by "
                               "'supplier' (you pay for it)")));
  // Nothing was scanned or charged; the refusal is in the query list as a rejection.
  nlohmann::json usage = UsageJson("supplier");
  EXPECT_EQ(usage["lines"], nlohmann::json::array());
  EXPECT_EQ(usage["limits"], nlohmann::json::parse(R"({"per_query_bytes": 1000})"));
  Outcome list = Ok("supplier", {"query", "list", "-c", "room"});
  EXPECT_THAT(list.out, HasSubstr("rejected"));

  // The payer's limits are what count: once the retailer pays, the supplier's do not apply.
  Ok("retailer", {"usage", "limit", "-c", "room", "--monthly", "1TB"});
  Outcome proposed =
      As("retailer", {"--json", "collaboration", "set", "-c", "room", "--payer", "retailer"});
  int64_t change = nlohmann::json::parse(proposed.out)["change"]["id"];
  Ok("supplier", {"change", "approve", "-c", "room", std::to_string(change)});
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery});
  // Lifting the limit (none) lets the supplier's own queries run again.
  Ok("supplier", {"usage", "limit", "-c", "room", "--per-query", "none"});
  EXPECT_EQ(UsageJson("supplier")["limits"], nlohmann::json::object());

  Outcome audit = Ok("retailer", {"--json", "audit", "list", "-c", "room"});
  nlohmann::json entries = nlohmann::json::parse(audit.out)["entries"];
  std::vector<std::string> limits;
  for (const nlohmann::json& entry : entries) {
    if (entry["action"] == "usage.limits") limits.push_back(entry["actor"]);
  }
  EXPECT_EQ(limits, (std::vector<std::string>{"supplier", "retailer", "supplier"}));
}

TEST_F(CliUsageTest, TwoQueriesUnderThePerQueryLimitButOverTheMonthAreRefused) {
  int64_t estimate = retail_bytes_ + loyalty_bytes_;
  Ok("supplier", {"usage", "limit", "-c", "room", "--per-query", std::to_string(estimate),
                  "--monthly", std::to_string(estimate * 3 / 2)});
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery});
  Outcome second = Run("supplier");
  EXPECT_EQ(second.exit_code, kExitError) << second;
  EXPECT_THAT(second.err,
              HasSubstr(absl::StrCat("query refused before it ran: ", Estimate(),
                                     ", and 'supplier' (you pay for it) has used ", Human(estimate),
                                     " (", estimate, " bytes) of its monthly scan budget of ",
                                     Human(estimate * 3 / 2), " (", estimate * 3 / 2, " bytes)")));
  EXPECT_EQ(UsageJson("supplier")["total"]["queries"], 1);
}

TEST_F(CliUsageTest, ConcurrentQueriesCannotOverspendTheMonth) {
  int64_t estimate = retail_bytes_ + loyalty_bytes_;
  Ok("supplier", {"usage", "limit", "-c", "room", "--monthly", std::to_string(estimate * 3 / 2)});
  // Four processes start at once; the month has room for one.
  std::vector<pid_t> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(SpawnInBackground(
        {"--home", home_, "--as", "supplier", "query", "run", "-c", "room", "--sql", kQuery},
        scratch_, absl::StrCat("run", i)));
  }
  int succeeded = 0, refused = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    int status = 0;
    ASSERT_EQ(waitpid(runs[i], &status, 0), runs[i]);
    ASSERT_TRUE(WIFEXITED(status));
    std::string err = ReadText(scratch_ / absl::StrCat("run", i, "_stderr.txt"));
    if (WEXITSTATUS(status) == 0) {
      ++succeeded;
    } else {
      EXPECT_EQ(WEXITSTATUS(status), kExitError) << err;
      EXPECT_THAT(err, HasSubstr("of its monthly scan budget of"));
      ++refused;
    }
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(refused, 3);
  nlohmann::json usage = UsageJson("supplier");
  EXPECT_EQ(usage["total"]["queries"], 1);
  EXPECT_EQ(usage["used_this_month"], estimate);
}

TEST_F(CliUsageTest, BadSizesMonthsAndGroupingsAreRefusedClearly) {
  Outcome size = As("supplier", {"usage", "limit", "-c", "room", "--per-query", "ten"});
  EXPECT_EQ(size.exit_code, kExitUsage);
  EXPECT_THAT(size.err, HasSubstr("--per-query: a size is bytes with an optional unit"));
  Outcome month = As("supplier", {"usage", "-c", "room", "--month", "2026-13"});
  EXPECT_EQ(month.exit_code, kExitError);
  EXPECT_THAT(month.err, HasSubstr("a month is written YYYY-MM, like 2026-11"));
  Outcome by = As("supplier", {"usage", "-c", "room", "--by", "table"});
  EXPECT_EQ(by.exit_code, kExitUsage);
  Outcome price = As("supplier", {"usage", "-c", "room", "--price-per-tb", "-1"});
  EXPECT_NE(price.exit_code, 0);
  Outcome outsider = As("agency", {"usage", "-c", "room"});
  EXPECT_EQ(outsider.exit_code, kExitNotPermitted) << outsider;
}

}  // namespace
}  // namespace parley::cli_test
