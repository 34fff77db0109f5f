// The demo's campaign query (README's tour) on the demo's data loaded into a 2-shard ClickHouse
// cluster, compiled under the demo's rules for the clickhouse dialect, equals DuckDB's answer —
// for both layouts of the supplier's table: sharded by the join key (co-located) and by row
// (GLOBAL join).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_testing.h"
#include "cli/demo.h"
#include "duckdb.h"
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

absl::Status ExportTsv(const std::string& parquet, const std::string& tsv) {
  duckdb_database db;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &db) != DuckDBSuccess) return absl::InternalError("duckdb_open");
  duckdb_connect(db, &connection);
  duckdb_result result;
  std::string sql = absl::StrCat("COPY (SELECT * FROM read_parquet('", parquet, "')) TO '", tsv,
                                 "' (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '')");
  bool ok = duckdb_query(connection, sql.c_str(), &result) == DuckDBSuccess;
  duckdb_destroy_result(&result);
  duckdb_disconnect(&connection);
  duckdb_close(&db);
  return ok ? absl::OkStatus() : absl::InternalError("export failed");
}

std::shared_ptr<const query::Snapshot> DemoSnapshot() {
  using sql::TypeKind;
  query::SnapshotSource source;
  source.collaboration = "demo";
  source.tables.push_back({"retail",
                           "retailer",
                           {{"household_id", TypeKind::kBigint},
                            {"hashed_email", TypeKind::kVarchar},
                            {"age_band", TypeKind::kVarchar},
                            {"income_bracket", TypeKind::kVarchar},
                            {"household_size", TypeKind::kInteger},
                            {"region", TypeKind::kVarchar},
                            {"annual_spend", TypeKind::kDouble},
                            {"online_spend", TypeKind::kDouble}},
                           cli::kDemoRetailRule});
  source.tables.push_back({"loyalty",
                           "supplier",
                           {{"hashed_email", TypeKind::kVarchar},
                            {"loyalty_tier", TypeKind::kVarchar},
                            {"brand_purchases", TypeKind::kInteger}},
                           cli::kDemoLoyaltyRule});
  return query::Snapshot::Build(std::move(source));
}

TEST(ClickHouseCampaignTest, TheDemoCampaignQueryEqualsDuckDbOnBothLayouts) {
  ASSERT_OK_AND_ASSIGN(auto cluster, ClickHouseCluster::Start(2));
  std::string data = cluster->directory() + "/demo";
  cli::DemoOptions options;
  options.households = 60'000;
  options.supplier_members = 40'000;
  options.shared = 30'000;
  ASSERT_OK(cli::GenerateDemoData(options, data));
  std::string retail_columns =
      "household_id Int64, hashed_email String, age_band String, income_bracket String, "
      "household_size Int32, region String, annual_spend Float64, online_spend Float64";
  std::string loyalty_columns = "hashed_email String, loyalty_tier String, brand_purchases Int32";
  std::vector<std::string> ddl;
  for (const auto& [name, columns, key] : std::vector<std::array<std::string, 3>>{
           {"retail", retail_columns, "sipHash64(hashed_email)"},
           {"loyalty", loyalty_columns, "sipHash64(hashed_email)"},
           {"loyalty_by_row", loyalty_columns, "rand()"}}) {
    ddl.push_back(absl::StrCat("CREATE TABLE rooms.", name, "_local (", columns,
                               ") ENGINE = MergeTree ORDER BY tuple()"));
    ddl.push_back(absl::StrCat("CREATE TABLE rooms.", name, " AS rooms.", name,
                               "_local ENGINE = Distributed(parley, rooms, ", name, "_local, ", key,
                               ")"));
  }
  ASSERT_OK(cluster->ExecuteOnEach(ddl));
  for (const auto& [table, file] : std::vector<std::pair<std::string, std::string>>{
           {"retail", "retail"}, {"loyalty", "loyalty"}, {"loyalty_by_row", "loyalty"}}) {
    std::string tsv = absl::StrCat(data, "/", file, ".tsv");
    ASSERT_OK(ExportTsv(absl::StrCat(data, "/", file, ".parquet"), tsv));
    std::string command = absl::StrCat("clickhouse-client --port ", cluster->tcp_port(0),
                                       " --insert_distributed_sync=1 --query 'INSERT INTO rooms.",
                                       table, " FORMAT TabSeparated' < ", tsv);
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  query::Request request;
  request.sql = kCampaign;
  request.runner = "supplier";
  ASSERT_OK_AND_ASSIGN(query::Compiled duck, query::Compile(*DemoSnapshot(), request));
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
                            ClickHouseCluster::kReader, cluster->reader_password()}));
  for (const std::string& loyalty : {"loyalty", "loyalty_by_row"}) {
    SCOPED_TRACE(loyalty);
    render::ClickHouseDialect dialect(
        {ClickHouseCluster::kDatabase,
         {{"retail", {"retail", "retail_local", "hashed_email"}},
          {"loyalty", {loyalty, loyalty + "_local", loyalty == "loyalty" ? "hashed_email" : ""}}}});
    request.dialect = &dialect;
    ASSERT_OK_AND_ASSIGN(query::Compiled compiled, query::Compile(*DemoSnapshot(), request));
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
