// Custom-rule queries use what SELECT offers (CTEs, subqueries, set operations, window
// functions, outer joins). Each one here runs through the service — parse, bind, check, render
// from the IR, locked-down session — and its rows are compared with plain DuckDB running the
// user's own SQL on the same files: rendering must never change an answer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/session.h"
#include "service/service.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

constexpr const char* kQueries[] = {
    "WITH s AS (SELECT r.age_band, l.loyalty_tier FROM retail r JOIN loyalty l ON "
    "r.hashed_email = l.hashed_email) SELECT age_band, loyalty_tier, COUNT(*) AS n FROM s "
    "GROUP BY 1, 2",
    "SELECT age_band AS label FROM retail UNION SELECT loyalty_tier FROM loyalty ORDER BY 1",
    "SELECT region FROM retail UNION ALL SELECT loyalty_tier FROM loyalty",
    "SELECT region FROM retail EXCEPT SELECT loyalty_tier FROM loyalty ORDER BY region",
    "SELECT region FROM retail INTERSECT SELECT region FROM retail WHERE annual_spend > 50",
    "SELECT region, annual_spend, RANK() OVER (PARTITION BY region ORDER BY annual_spend DESC) "
    "AS rk FROM retail",
    "SELECT region, SUM(annual_spend) OVER (PARTITION BY region) AS total FROM retail",
    "SELECT r.region, COUNT(*) AS n FROM retail r WHERE EXISTS (SELECT 1 FROM loyalty l WHERE "
    "l.hashed_email = r.hashed_email) GROUP BY r.region",
    "SELECT r.region, COUNT(*) AS n FROM retail r WHERE NOT EXISTS (SELECT 1 FROM loyalty l "
    "WHERE l.hashed_email = r.hashed_email) GROUP BY r.region",
    "SELECT r.region, COALESCE(l.loyalty_tier, 'none') AS tier, COUNT(*) AS n FROM retail r "
    "LEFT JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY 1, 2",
    "SELECT l.loyalty_tier, COUNT(r.region) AS n FROM retail r RIGHT JOIN loyalty l ON "
    "r.hashed_email = l.hashed_email GROUP BY 1",
    "SELECT region, (SELECT COUNT(*) FROM loyalty) AS members FROM retail GROUP BY region",
    "SELECT s.region, COUNT(*) AS n FROM (SELECT region, hashed_email FROM retail WHERE "
    "annual_spend >= 20) s GROUP BY 1",
    "SELECT CASE WHEN annual_spend > 50 THEN 'high' ELSE 'low' END AS band, COUNT(*) AS n "
    "FROM retail GROUP BY 1",
    "SELECT region, COUNT(*) AS n FROM retail WHERE hashed_email IN (SELECT hashed_email FROM "
    "loyalty WHERE loyalty_tier = 'gold') GROUP BY region",
    "SELECT region, COUNT(*) AS n FROM retail WHERE hashed_email NOT IN (SELECT hashed_email "
    "FROM loyalty) GROUP BY region",
    "SELECT age_band, ROUND(AVG(annual_spend), 2) AS spend, MIN(annual_spend) AS low, "
    "MAX(annual_spend) AS high FROM retail GROUP BY age_band",
    "SELECT l.loyalty_tier, NTILE(2) OVER (ORDER BY COUNT(*), l.loyalty_tier) AS half FROM "
    "loyalty l GROUP BY l.loyalty_tier",
    "WITH a AS (SELECT region FROM retail), b AS (SELECT region, COUNT(*) AS n FROM a GROUP BY "
    "region) SELECT x.region, x.n FROM b x JOIN b y ON x.region = y.region",
    "SELECT region, LAG(region) OVER (ORDER BY region) AS previous FROM retail GROUP BY region",
    "SELECT UPPER(region) || '-' || LOWER(age_band) AS label, COUNT(DISTINCT age_band) AS n "
    "FROM retail GROUP BY 1",
    "SELECT region, COUNT(*) AS n FROM retail WHERE region LIKE 'n%' OR annual_spend BETWEEN 10 "
    "AND 30 GROUP BY region HAVING COUNT(*) > 1",
    "SELECT region FROM retail ORDER BY annual_spend DESC, region LIMIT 5 OFFSET 2",
    "SELECT DISTINCT age_band FROM retail",
};

class CustomExecutionTest : public testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(testing::TempDir()) /
                        absl::StrCat("parley_custom_execution_", getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const char* ages[] = {"18-34", "35-54", "55+"};
    const char* regions[] = {"north", "south", "east", "west"};
    const char* tiers[] = {"bronze", "silver", "gold"};
    std::string retail = "household_id,hashed_email,age_band,region,annual_spend\n";
    for (int i = 1; i <= 60; ++i) {
      absl::StrAppendFormat(&retail, "%d,e%03d,%s,%s,%d.5\n", i, i, ages[i % 3], regions[i % 4],
                            (i * 37) % 100);
    }
    std::ofstream(*dir_ / "retail.csv") << retail;
    std::string loyalty = "hashed_email,loyalty_tier\n";
    for (int i = 26; i <= 70; ++i) absl::StrAppendFormat(&loyalty, "e%03d,%s\n", i, tiers[i % 3]);
    std::ofstream(*dir_ / "loyalty.csv") << loyalty;

    service_ = service::Service::Open((*dir_ / "home").string(), {}).value().release();
    service::NewCollaboration room;
    room.name = "room";
    ASSERT_TRUE(service_->CreateCollaboration(identity::Caller::Embedded("retailer"), room).ok());
    ASSERT_TRUE(
        service_
            ->AddMember(identity::Caller::Embedded("retailer"), "room",
                        {"analyst", {identity::Ability::kQuery, identity::Ability::kReceive}})
            .ok());
    ASSERT_TRUE(service_
                    ->AddTable(identity::Caller::Embedded("retailer"),
                               {"room", "retail", Path("retail.csv"), {}})
                    .ok());
    ASSERT_TRUE(service_
                    ->AddTable(identity::Caller::Embedded("retailer"),
                               {"room", "loyalty", Path("loyalty.csv"), {}})
                    .ok());
    const char* rule =
        R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"]})";
    ASSERT_TRUE(
        service_->SetRule(identity::Caller::Embedded("retailer"), "room", "retail", rule).ok());
    ASSERT_TRUE(
        service_->SetRule(identity::Caller::Embedded("retailer"), "room", "loyalty", rule).ok());

    // The oracle: plain views over the same files, no Parley in between.
    auto view = [](const char* name) {
      return engine::SourceView{
          name,
          absl::StrCat("SELECT * FROM read_csv(",
                       engine::duckdb::QuoteString(Path(absl::StrCat(name, ".csv"))),
                       ", header=true)"),
          {Path(absl::StrCat(name, ".csv"))},
          {}};
    };
    oracle_ = engine::duckdb::Session::Open({view("retail"), view("loyalty")}, engine::Limits{})
                  .value()
                  .release();
  }

  static void TearDownTestSuite() {
    delete oracle_;
    delete service_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  // Rows as text, sorted unless the query orders them.
  static std::vector<std::string> Rows(const engine::ResultTable& result, bool ordered) {
    std::vector<std::string> rows;
    for (const auto& row : result.rows) {
      std::vector<std::string> cells;
      for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
      rows.push_back(absl::StrJoin(cells, "|"));
    }
    if (!ordered) std::sort(rows.begin(), rows.end());
    return rows;
  }

  static fs::path* dir_;
  static service::Service* service_;
  static engine::duckdb::Session* oracle_;
};

fs::path* CustomExecutionTest::dir_ = nullptr;
service::Service* CustomExecutionTest::service_ = nullptr;
engine::duckdb::Session* CustomExecutionTest::oracle_ = nullptr;

TEST_P(CustomExecutionTest, SameRowsAsDuckDb) {
  std::string sql = GetParam();
  auto outcome = service_->Run(identity::Caller::Embedded("analyst"), "room", sql, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->explanation.verdict.allowed())
      << policy::FormatViolations(outcome->explanation.verdict.violations);
  ASSERT_TRUE(outcome->result.has_value());
  auto expected = oracle_->Run(sql);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_FALSE(expected->rows.empty()) << "a query that returns nothing proves little";
  // LIMIT without a total order may pick different rows; the queries here order fully.
  bool ordered =
      sql.find("ORDER BY") != std::string::npos && sql.find("OVER (") == std::string::npos;
  EXPECT_EQ(Rows(*outcome->result, ordered), Rows(*expected, ordered))
      << "engine SQL: " << outcome->explanation.rendered_sql;
  ASSERT_EQ(outcome->result->columns.size(), expected->columns.size());
  for (size_t i = 0; i < expected->columns.size(); ++i) {
    EXPECT_EQ(outcome->result->columns[i].type, expected->columns[i].type) << "column " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Queries, CustomExecutionTest, testing::ValuesIn(kQueries));

}  // namespace
}  // namespace parley
