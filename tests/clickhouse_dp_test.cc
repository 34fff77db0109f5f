// Differential privacy on the 2-shard ClickHouse cluster: contribution bounding holds across
// shards. A privacy unit whose rows are split over both shards (placed by hand in each node's
// shard-local table) reaches three groups, with more rows and a larger sum than its bounds allow;
// with max_groups_per_unit 1 and max_rows_per_unit 2 it must count in its first group only, with
// 2 rows and a sum clamped to 2 × the column's maximum — on ClickHouse exactly as on DuckDB over
// the same rows. Bounding per shard would count it in one group per shard (its first on each), and
// no bounding would count all its rows: both give other numbers. The noisy answers from the same
// seeded draws are equal too, and the noise plan (what the budget is charged) is the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/secret.h"
#include "base/status_testing.h"
#include "dp/noise.h"
#include "dp/seeded_random_source.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "engine/duckdb/duckdb_engine.h"
#include "query/compile.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "support/clickhouse_cluster.h"

namespace parley {
namespace {

using testing::ClickHouseCluster;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

constexpr char kSpendRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT", "COUNT"]}, {"columns": ["amount"], "functions": ["SUM"]}], )"
    R"("dimension_columns": ["band"], "output_constraints": [{"column": "household_id", )"
    R"("minimum": 5}], "differential_privacy": {"privacy_unit": "household_id", )"
    R"("max_groups_per_unit": 1, "max_rows_per_unit": 2, "bounds": [{"column": "amount", )"
    R"("minimum": 0, "maximum": 250}]}})";

constexpr int64_t kEpsilon = 1'000'000;     // ε 1
constexpr int64_t kDelta = 10'000'000'000;  // δ 10^-5

// Rows as text, "NULL" for NULL, one line per row, in order.
std::vector<std::string> Lines(const Rows& rows) {
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::vector<std::string> values;
    for (const auto& value : row) values.push_back(value.value_or("NULL"));
    lines.push_back(absl::StrJoin(values, " | "));
  }
  return lines;
}

class ClickHouseDpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = ClickHouseCluster::Start(2);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    ASSERT_OK(cluster_->ExecuteOnEach(
        {"CREATE TABLE rooms.spend_local (household_id Nullable(Int64), band Nullable(String), "
         "amount Nullable(Decimal(10, 2)), __parley_row_id Int64) ENGINE = MergeTree ORDER BY "
         "__parley_row_id",
         "CREATE TABLE rooms.spend AS rooms.spend_local ENGINE = Distributed(parley, rooms, "
         "spend_local, sipHash64(__parley_row_id))"}));
    // 40 households of one row each, in bands a and b, on the shard of their parity; household 7
    // has 3 rows in band b on node 0, and 3 in band a and 2 in band c on node 1.
    std::string on[2], all;
    int row_id = 0;
    auto add = [&](int node, int household, const char* band, const char* amount) {
      std::string line = absl::StrCat(household, "\t", band, "\t", amount, "\t", ++row_id, "\n");
      on[node] += line;
      all += line;
    };
    for (int household = 100; household < 140; ++household) {
      add(household % 2, household, household % 2 == 0 ? "a" : "b", "10.00");
    }
    for (int i = 0; i < 3; ++i) add(0, 7, "b", "400.00");
    for (int i = 0; i < 3; ++i) add(1, 7, "a", "300.00");
    for (int i = 0; i < 2; ++i) add(1, 7, "c", "100.00");
    for (int node = 0; node < 2; ++node) {
      ASSERT_OK(cluster_->Execute(
          node, "INSERT INTO rooms.spend_local FORMAT TabSeparated\n" + on[node]));
    }
    path_ = cluster_->directory() + "/spend.tsv";
    std::ofstream(path_) << all;
    auto connected = engine::clickhouse::ClickHouseEngine::Connect(
        {cluster_->HttpUrl(0), ClickHouseCluster::kDatabase, ClickHouseCluster::kReader,
         Secret(cluster_->reader_password())});
    ASSERT_TRUE(connected.ok()) << connected.status();
    clickhouse_ = connected->release();
    duckdb_ = new engine::duckdb::DuckDbEngine(engine::duckdb::DuckDbEngine::Options{});
  }
  static void TearDownTestSuite() {
    delete clickhouse_;
    delete duckdb_;
    delete cluster_;
  }

  static std::shared_ptr<const query::Snapshot> Snapshot() {
    query::SnapshotSource source;
    source.collaboration = "dp";
    query::SnapshotTable spend{"spend",
                               "retailer",
                               {{"household_id", sql::TypeKind::kBigint},
                                {"band", sql::TypeKind::kVarchar},
                                {"amount", sql::Type::Decimal(10, 2)}},
                               std::nullopt};
    spend.rule_json = kSpendRule;
    source.tables.push_back(std::move(spend));
    return query::Snapshot::Build(std::move(source));
  }

  struct Both {
    query::Compiled duckdb, clickhouse;
    Rows duckdb_rows, clickhouse_rows;
  };

  // Compiles `sql` for each engine (as the supplier, with a budget) and runs it there.
  static Both Run(const std::string& sql) {
    Both both;
    std::shared_ptr<const query::Snapshot> snapshot = Snapshot();
    query::Request request{sql, {}, "supplier", "", {}};
    request.privacy_epsilon = kEpsilon;
    request.privacy_delta = kDelta;
    absl::StatusOr<query::Compiled> duck = query::Compile(*snapshot, request);
    EXPECT_TRUE(duck.ok()) << duck.status();
    render::ClickHouseLayout layout;
    layout.database = ClickHouseCluster::kDatabase;
    layout.tables["spend"] = {"spend", "spend_local", "__parley_row_id", true};
    render::ClickHouseDialect dialect(layout);
    request.dialect = &dialect;
    absl::StatusOr<query::Compiled> clickhouse = query::Compile(*snapshot, request);
    EXPECT_TRUE(clickhouse.ok()) << clickhouse.status();
    if (!duck.ok() || !clickhouse.ok()) return both;
    EXPECT_TRUE(duck->verdict.allowed() && clickhouse->verdict.allowed());
    both.duckdb = *std::move(duck);
    both.clickhouse = *std::move(clickhouse);
    engine::SourceView view{
        "spend",
        absl::StrCat("SELECT * FROM read_csv('", path_,
                     "', delim='\\t', header=false, nullstr='\\N', auto_detect=false, columns={"
                     "'household_id': 'BIGINT', 'band': 'VARCHAR', 'amount': 'DECIMAL(10,2)', "
                     "'__parley_row_id': 'BIGINT'})"),
        {path_},
        {},
        {},
        nullptr};
    absl::StatusOr<engine::ResultTable> on_duckdb =
        duckdb_->Run(engine::Plan{both.duckdb.plan.rendered_sql, {view}});
    absl::StatusOr<engine::ResultTable> on_clickhouse =
        clickhouse_->Run(engine::Plan{both.clickhouse.plan.rendered_sql, {}});
    EXPECT_TRUE(on_duckdb.ok()) << on_duckdb.status();
    EXPECT_TRUE(on_clickhouse.ok()) << on_clickhouse.status() << "\n"
                                    << both.clickhouse.plan.rendered_sql;
    if (on_duckdb.ok()) both.duckdb_rows = on_duckdb->rows;
    if (on_clickhouse.ok()) both.clickhouse_rows = on_clickhouse->rows;
    return both;
  }

  // The same seeded draws give the same noisy answer from each engine's exact rows, and the
  // noise plans (scales, ε and δ charged) are the same.
  static void ExpectSameNoise(const Both& both) {
    ASSERT_TRUE(both.duckdb.plan.noise.has_value());
    ASSERT_TRUE(both.clickhouse.plan.noise.has_value());
    const dp::NoisePlan& duck = *both.duckdb.plan.noise;
    const dp::NoisePlan& clickhouse = *both.clickhouse.plan.noise;
    EXPECT_EQ(duck.epsilon, clickhouse.epsilon);
    EXPECT_EQ(duck.delta, clickhouse.delta);
    EXPECT_EQ(duck.selection_threshold, clickhouse.selection_threshold);
    ASSERT_EQ(duck.measures.size(), clickhouse.measures.size());
    for (size_t m = 0; m < duck.measures.size(); ++m) {
      EXPECT_EQ(duck.measures[m].sensitivity, clickhouse.measures[m].sensitivity);
      EXPECT_EQ(dp::ScaleText(duck.measures[m]), dp::ScaleText(clickhouse.measures[m]));
    }
    for (uint64_t seed : {1u, 2u, 3u}) {
      dp::SeededRandomSource a(seed), b(seed);
      absl::StatusOr<dp::NoisyResult> from_duckdb = dp::ApplyNoise(duck, both.duckdb_rows, a);
      absl::StatusOr<dp::NoisyResult> from_clickhouse =
          dp::ApplyNoise(clickhouse, both.clickhouse_rows, b);
      ASSERT_TRUE(from_duckdb.ok() && from_clickhouse.ok());
      EXPECT_EQ(Lines(from_clickhouse->rows), Lines(from_duckdb->rows)) << "seed " << seed;
    }
  }

  static ClickHouseCluster* cluster_;
  static engine::clickhouse::ClickHouseEngine* clickhouse_;
  static engine::duckdb::DuckDbEngine* duckdb_;
  static std::string path_;
};

ClickHouseCluster* ClickHouseDpTest::cluster_ = nullptr;
engine::clickhouse::ClickHouseEngine* ClickHouseDpTest::clickhouse_ = nullptr;
engine::duckdb::DuckDbEngine* ClickHouseDpTest::duckdb_ = nullptr;
std::string ClickHouseDpTest::path_;

TEST_F(ClickHouseDpTest, TheUnitSplitOverBothShardsIsBoundedAsOne) {
  // The split: household 7 has rows on both nodes' local tables.
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(std::string rows,
                         cluster_->Query(node,
                                         "SELECT count() FROM rooms.spend_local WHERE "
                                         "household_id = 7"));
    EXPECT_EQ(rows, node == 0 ? "3\n" : "5\n") << node;
  }
  Both both =
      Run("SELECT band, COUNT(DISTINCT household_id) AS households, COUNT(*) AS n, SUM(amount) AS "
          "total FROM spend GROUP BY band");
  // Columns: band, units, rows (least(n, 2) per unit), the clamped sum (≤ 2 × 250 per unit).
  // Household 7 counts in band a only (its first): 20 + 1 units, 20 + 2 rows, 200 + 500.
  // Band c is only household 7's, which it does not keep: no units, no rows.
  std::vector<std::string> expected = {"a | 21 | 22 | 700.00", "b | 20 | 20 | 200.00",
                                       "c | 0 | NULL | NULL"};
  EXPECT_EQ(Lines(both.clickhouse_rows), expected) << both.clickhouse.plan.rendered_sql;
  EXPECT_EQ(Lines(both.duckdb_rows), expected);
  ExpectSameNoise(both);
}

TEST_F(ClickHouseDpTest, UnitCountsKeepTheSplitUnitsFirstGroupOnly) {
  // On DuckDB the unit-count plan chooses each unit's group with a join on the keys; on
  // ClickHouse it takes the per-unit plan: the same counts.
  Both both =
      Run("SELECT band, COUNT(DISTINCT household_id) AS households FROM spend GROUP BY "
          "band");
  std::vector<std::string> expected = {"a | 21", "b | 20", "c | 0"};
  EXPECT_EQ(Lines(both.clickhouse_rows), expected) << both.clickhouse.plan.rendered_sql;
  EXPECT_EQ(Lines(both.duckdb_rows), expected);
  ExpectSameNoise(both);
  // Without GROUP BY, every unit once: 41 households; rows clamped to 2 for household 7.
  Both total = Run("SELECT COUNT(DISTINCT household_id) AS households, COUNT(*) AS n FROM spend");
  EXPECT_EQ(Lines(total.clickhouse_rows), std::vector<std::string>{"41 | 42"});
  EXPECT_EQ(Lines(total.duckdb_rows), std::vector<std::string>{"41 | 42"});
  ExpectSameNoise(total);
}

TEST_F(ClickHouseDpTest, GroupsByARealNumberAreRefusedNotOrderedDifferently) {
  // Each unit keeps its first group in the order of the keys; ClickHouse and DuckDB order NaN
  // and -0 differently, so a real-number key is refused on the cluster (DuckDB runs it).
  query::SnapshotSource source;
  source.collaboration = "dp";
  std::string rule = kSpendRule;
  rule.replace(rule.find(R"("dimension_columns": ["band"])"), 29,
               R"("dimension_columns": ["band", "score"])");
  query::SnapshotTable spend{"spend",
                             "retailer",
                             {{"household_id", sql::TypeKind::kBigint},
                              {"band", sql::TypeKind::kVarchar},
                              {"score", sql::TypeKind::kDouble},
                              {"amount", sql::Type::Decimal(10, 2)}},
                             std::nullopt};
  spend.rule_json = rule;
  source.tables.push_back(std::move(spend));
  auto snapshot = query::Snapshot::Build(std::move(source));
  query::Request request{
      "SELECT score, COUNT(DISTINCT household_id) AS households FROM spend GROUP BY score",
      {},
      "supplier",
      "",
      {}};
  request.privacy_epsilon = kEpsilon;
  request.privacy_delta = kDelta;
  absl::StatusOr<query::Compiled> duck = query::Compile(*snapshot, request);
  ASSERT_TRUE(duck.ok()) << duck.status();
  EXPECT_TRUE(duck->verdict.allowed());
  render::ClickHouseLayout layout;
  layout.database = ClickHouseCluster::kDatabase;
  layout.tables["spend"] = {"spend", "spend_local", "__parley_row_id", true};
  render::ClickHouseDialect dialect(layout);
  request.dialect = &dialect;
  absl::StatusOr<query::Compiled> clickhouse = query::Compile(*snapshot, request);
  ASSERT_FALSE(clickhouse.ok());
  EXPECT_EQ(
      clickhouse.status().message(),
      "the clickhouse engine cannot run ranking rows by a DOUBLE (NaN and -0 sort differently "
      "there)");
}

TEST_F(ClickHouseDpTest, TheUsersOwnWindowsStayRefused) {
  // Only the rewrite's windows are written in stages; a window of the query itself is refused
  // with the dialect's reason (here on a table without privacy, under a custom rule).
  query::SnapshotSource source;
  source.collaboration = "dp";
  query::SnapshotTable open{"spend",
                            "retailer",
                            {{"household_id", sql::TypeKind::kBigint},
                             {"band", sql::TypeKind::kVarchar},
                             {"amount", sql::Type::Decimal(10, 2)}},
                            std::nullopt};
  open.rule_json =
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})";
  source.tables.push_back(std::move(open));
  auto snapshot = query::Snapshot::Build(std::move(source));
  render::ClickHouseLayout layout;
  layout.database = ClickHouseCluster::kDatabase;
  layout.tables["spend"] = {"spend", "spend_local", "__parley_row_id", true};
  render::ClickHouseDialect dialect(layout);
  query::Request request{
      "SELECT band, row_number() OVER (PARTITION BY band ORDER BY household_id) AS n FROM spend",
      {},
      "supplier",
      "",
      {}};
  request.dialect = &dialect;
  absl::StatusOr<query::Compiled> compiled = query::Compile(*snapshot, request);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().message(),
            "the clickhouse engine cannot run window functions (at character 14)");
}

}  // namespace
}  // namespace parley
