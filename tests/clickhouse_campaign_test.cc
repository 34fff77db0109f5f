// The demo's campaign query (README's tour) on the demo's data loaded into a 2-shard ClickHouse
// cluster, compiled under the demo's rules for the clickhouse dialect, equals DuckDB's answer —
// for both layouts of the supplier's table: sharded by the join key (co-located) and by row
// (GLOBAL join).
#include "support/clickhouse_campaign.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_testing.h"
#include "cli/demo.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "engine/duckdb/duckdb_engine.h"
#include "query/compile.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "support/clickhouse_cluster.h"

namespace parley {
namespace {

using testing::ClickHouseCluster;

constexpr char kCampaign[] =
    "SELECT r.age_band, r.income_bracket, r.household_size, "
    "COUNT(DISTINCT r.household_id) AS households "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.income_bracket, r.household_size ORDER BY households DESC";

TEST(ClickHouseCampaignTest, TheDemoCampaignQueryEqualsDuckDbOnBothLayouts) {
  ASSERT_OK_AND_ASSIGN(auto cluster, ClickHouseCluster::Start(2));
  std::string data = cluster->directory() + "/demo";
  cli::DemoOptions options;
  options.households = 60'000;
  options.supplier_members = 40'000;
  options.shared = 30'000;
  ASSERT_OK(cli::GenerateDemoData(options, data));
  ASSERT_OK(testing::LoadCampaign(*cluster, data,
                                  {{"retail", "retail", "sipHash64(hashed_email)"},
                                   {"loyalty", "loyalty", "sipHash64(hashed_email)"},
                                   {"loyalty_by_row", "loyalty", "rand()"}}));

  query::Request request;
  request.sql = kCampaign;
  request.runner = "supplier";
  ASSERT_OK_AND_ASSIGN(query::Compiled duck,
                       query::Compile(*testing::CampaignSnapshot("demo"), request));
  ASSERT_TRUE(duck.verdict.allowed());
  std::vector<engine::SourceView> views;
  for (const char* table : {"retail", "loyalty"}) {
    std::string path = absl::StrCat(data, "/", table, ".parquet");
    views.push_back(
        {table, absl::StrCat("SELECT * FROM read_parquet('", path, "')"), {path}, {}, {}, nullptr});
  }
  engine::duckdb::DuckDbEngine duckdb(engine::duckdb::DuckDbEngine::Options{});
  ASSERT_OK_AND_ASSIGN(engine::ResultTable expected,
                       duckdb.Run(engine::Plan{duck.plan.rendered_sql, views}));
  ASSERT_GT(expected.rows.size(), 10u);  // groups above both thresholds
  ASSERT_OK_AND_ASSIGN(auto clickhouse,
                       engine::clickhouse::ClickHouseEngine::Connect(
                           {cluster->HttpUrl(0), ClickHouseCluster::kDatabase,
                            ClickHouseCluster::kReader, Secret(cluster->reader_password())}));
  for (const std::string& loyalty : {"loyalty", "loyalty_by_row"}) {
    SCOPED_TRACE(loyalty);
    render::ClickHouseDialect dialect(
        {ClickHouseCluster::kDatabase,
         {{"retail", {"retail", "retail_local", "hashed_email"}},
          {"loyalty", {loyalty, loyalty + "_local", loyalty == "loyalty" ? "hashed_email" : ""}}}});
    request.dialect = &dialect;
    ASSERT_OK_AND_ASSIGN(query::Compiled compiled,
                         query::Compile(*testing::CampaignSnapshot("demo"), request));
    ASSERT_OK_AND_ASSIGN(engine::ResultTable actual,
                         clickhouse->Run(engine::Plan{compiled.plan.rendered_sql, {}}));
    std::vector<std::string> names;
    for (const auto& column : actual.columns) names.push_back(column.name);
    EXPECT_EQ(absl::StrJoin(names, ","), "age_band,income_bracket,household_size,households");
    // ORDER BY households DESC: equal counts may come in any order, so compare as sets and
    // check the order of the counts.
    auto sorted = [](std::vector<std::vector<std::optional<std::string>>> rows) {
      std::sort(rows.begin(), rows.end());
      return rows;
    };
    EXPECT_EQ(sorted(actual.rows), sorted(expected.rows));
    for (size_t i = 1; i < actual.rows.size(); ++i) {
      EXPECT_GE(std::stoll(*actual.rows[i - 1][3]), std::stoll(*actual.rows[i][3]));
    }
  }
}

}  // namespace
}  // namespace parley
