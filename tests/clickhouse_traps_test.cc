// The ways ClickHouse 18.16 answers silently wrong, each with a query that would fall into it, run
// through query::Compile with the clickhouse dialect on a real 2-shard cluster and compared with
// DuckDB over the same rows: a join not on the sharding key (needs GLOBAL), a Distributed table in
// a subquery joined outside, ORDER BY an ordinal, guarded conversions that give wrong or zero
// dates, SUM/AVG of a group with no values, and the once-per-group weighting under fan-out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/status_testing.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "engine/duckdb/duckdb_engine.h"
#include "query/compile.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "support/clickhouse_cluster.h"

namespace parley {
namespace {

using testing::ClickHouseCluster;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

constexpr char kRetailRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT"]}, {"columns": ["annual_spend"], "functions": ["SUM", "AVG"]}], )"
    R"("join_columns": ["hashed_email"], "join_required": "query_runner", )"
    R"("allowed_join_operators": ["AND"], "dimension_columns": ["region", "household_size"], )"
    R"("scalar_functions": [], "output_constraints": [{"column": "household_id", "minimum": 10, )"
    R"("type": "count_distinct"}]})";
constexpr char kLoyaltyRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["brand_purchases"], )"
    R"("functions": ["SUM", "AVG", "COUNT"]}, {"columns": ["hashed_email"], "functions": )"
    R"(["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], "allowed_join_operators": )"
    R"(["AND"], "dimension_columns": ["loyalty_tier", "joined"], "scalar_functions": [], )"
    R"("output_constraints": [{"column": "hashed_email", "minimum": 5}]})";

// Free SQL over the same rows (custom rule): subqueries and conversions the aggregation rules
// forbid.
constexpr char kOpenRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"], )"
    R"("allowed_aggregate_expressions": "any_expression"})";

class ClickHouseTrapsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = ClickHouseCluster::Start(2);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    // retail is sharded by its join key, loyalty_by_email too (co-located with it), loyalty by
    // its row identity (not co-located).
    std::string retail_columns =
        "household_id Nullable(Int64), hashed_email String, region Nullable(String), "
        "household_size Nullable(Int32), annual_spend Nullable(Float64), __parley_row_id Int64";
    std::string loyalty_columns =
        "hashed_email String, loyalty_tier Nullable(String), joined Nullable(String), "
        "brand_purchases Nullable(Int32), __parley_row_id Int64";
    std::vector<std::string> ddl;
    for (const auto& [name, columns, key] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"retail", retail_columns, "hashed_email"},
             {"loyalty", loyalty_columns, "__parley_row_id"},
             {"loyalty_by_email", loyalty_columns, "hashed_email"}}) {
      ddl.push_back(absl::StrCat("CREATE TABLE rooms.", name, "_local (", columns,
                                 ") ENGINE = MergeTree ORDER BY __parley_row_id"));
      ddl.push_back(absl::StrCat("CREATE TABLE rooms.", name, " AS rooms.", name,
                                 "_local ENGINE = Distributed(parley, rooms, ", name,
                                 "_local, sipHash64(", key, "))"));
    }
    ASSERT_OK(cluster_->ExecuteOnEach(ddl));
    // 200 households over 4 regions; region 'quiet' has no spend at all. Loyalty: 3 rows per
    // email for 60 emails (fan-out 3), tiers by email.
    std::string retail, loyalty;
    for (int i = 0; i < 200; ++i) {
      const char* region = i % 4 == 0   ? "north"
                           : i % 4 == 1 ? "south"
                           : i % 4 == 2 ? "east"
                                        : "quiet";
      std::string spend = i % 4 == 3 ? "\\N" : absl::StrCat((i % 17) * 0.5);
      absl::StrAppend(&retail, i, "\te", i % 80, "\t", region, "\t", i % 3 + 1, "\t", spend, "\t",
                      i + 1, "\n");
    }
    for (int i = 0; i < 180; ++i) {
      absl::StrAppend(&loyalty, "e", i % 60, "\t", (i % 60) % 2 == 0 ? "gold" : "silver", "\t",
                      i % 2 == 0 ? "2024-02-30" : "2024-01-15", "\t", i % 7, "\t", i + 1, "\n");
    }
    ASSERT_OK(cluster_->Execute(0, "INSERT INTO rooms.retail FORMAT TabSeparated\n" + retail));
    ASSERT_OK(cluster_->Execute(0, "INSERT INTO rooms.loyalty FORMAT TabSeparated\n" + loyalty));
    ASSERT_OK(
        cluster_->Execute(0, "INSERT INTO rooms.loyalty_by_email FORMAT TabSeparated\n" + loyalty));
    std::string directory = cluster_->directory();
    std::ofstream(directory + "/retail.tsv") << retail;
    std::ofstream(directory + "/loyalty.tsv") << loyalty;
    auto view = [&](const std::string& name, const std::string& file, const std::string& columns) {
      return engine::SourceView{name,
                                absl::StrCat("SELECT * FROM read_csv('", directory, "/", file,
                                             "', delim='\\t', header=false, nullstr='\\N', "
                                             "auto_detect=false, columns={",
                                             columns, "})"),
                                {directory + "/" + file},
                                {},
                                {},
                                nullptr};
    };
    std::string retail_duck =
        "'household_id': 'BIGINT', 'hashed_email': 'VARCHAR', 'region': 'VARCHAR', "
        "'household_size': 'INTEGER', 'annual_spend': 'DOUBLE', '__parley_row_id': 'BIGINT'";
    std::string loyalty_duck =
        "'hashed_email': 'VARCHAR', 'loyalty_tier': 'VARCHAR', 'joined': 'VARCHAR', "
        "'brand_purchases': 'INTEGER', '__parley_row_id': 'BIGINT'";
    views_ = new std::vector<engine::SourceView>{
        view("retail", "retail.tsv", retail_duck), view("loyalty", "loyalty.tsv", loyalty_duck),
        view("loyalty_by_email", "loyalty.tsv", loyalty_duck),
        view("retail_open", "retail.tsv", retail_duck),
        view("loyalty_open", "loyalty.tsv", loyalty_duck)};
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
    delete views_;
    delete cluster_;
  }

  static std::shared_ptr<const query::Snapshot> Snapshot() {
    using sql::TypeKind;
    query::SnapshotSource source;
    source.collaboration = "traps";
    std::vector<sql::ColumnInfo> retail = {{"household_id", TypeKind::kBigint},
                                           {"hashed_email", TypeKind::kVarchar},
                                           {"region", TypeKind::kVarchar},
                                           {"household_size", TypeKind::kInteger},
                                           {"annual_spend", TypeKind::kDouble}};
    std::vector<sql::ColumnInfo> loyalty = {{"hashed_email", TypeKind::kVarchar},
                                            {"loyalty_tier", TypeKind::kVarchar},
                                            {"joined", TypeKind::kVarchar},
                                            {"brand_purchases", TypeKind::kInteger}};
    source.tables.push_back({"retail", "retailer", retail, kRetailRule});
    source.tables.push_back({"loyalty", "supplier", loyalty, kLoyaltyRule});
    source.tables.push_back({"loyalty_by_email", "supplier", loyalty, kLoyaltyRule});
    source.tables.push_back({"retail_open", "retailer", retail, kOpenRule});
    source.tables.push_back({"loyalty_open", "supplier", loyalty, kOpenRule});
    return query::Snapshot::Build(std::move(source));
  }

  static render::ClickHouseLayout Layout() {
    return {
        ClickHouseCluster::kDatabase,
        {{"retail", {"retail", "retail_local", "hashed_email", true}},
         {"loyalty", {"loyalty", "loyalty_local", "__parley_row_id", true}},
         {"loyalty_by_email", {"loyalty_by_email", "loyalty_by_email_local", "hashed_email", true}},
         {"retail_open", {"retail", "retail_local", "hashed_email", true}},
         {"loyalty_open", {"loyalty", "loyalty_local", "__parley_row_id", true}}}};
  }

  // The ClickHouse SQL of `sql` run by the supplier, or the dialect's refusal.
  static absl::StatusOr<std::string> Render(const std::string& sql) {
    render::ClickHouseDialect dialect(Layout());
    query::Request request{sql, {}, "supplier", "", {"supplier"}};
    request.dialect = &dialect;
    PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, query::Compile(*Snapshot(), request));
    if (!compiled.verdict.allowed()) return absl::InternalError("not allowed");
    return compiled.plan.rendered_sql;
  }

  static Rows DuckDb(const std::string& sql) {
    query::Request request{sql, {}, "supplier", "", {"supplier"}};
    absl::StatusOr<query::Compiled> compiled = query::Compile(*Snapshot(), request);
    EXPECT_TRUE(compiled.ok() && compiled->verdict.allowed());
    absl::StatusOr<engine::ResultTable> result =
        duckdb_->Run(engine::Plan{compiled->plan.rendered_sql, *views_});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->rows : Rows{};
  }

  static Rows ClickHouse(const std::string& rendered) {
    absl::StatusOr<engine::ResultTable> result = clickhouse_->Run(engine::Plan{rendered, {}});
    EXPECT_TRUE(result.ok()) << result.status() << "\n" << rendered;
    return result.ok() ? result->rows : Rows{};
  }

  static ClickHouseCluster* cluster_;
  static engine::clickhouse::ClickHouseEngine* clickhouse_;
  static engine::duckdb::DuckDbEngine* duckdb_;
  static std::vector<engine::SourceView>* views_;
};

ClickHouseCluster* ClickHouseTrapsTest::cluster_ = nullptr;
engine::clickhouse::ClickHouseEngine* ClickHouseTrapsTest::clickhouse_ = nullptr;
engine::duckdb::DuckDbEngine* ClickHouseTrapsTest::duckdb_ = nullptr;
std::vector<engine::SourceView>* ClickHouseTrapsTest::views_ = nullptr;

constexpr char kByTier[] =
    "SELECT l.loyalty_tier, COUNT(DISTINCT r.household_id) AS households FROM retail r JOIN "
    "TABLE l ON r.hashed_email = l.hashed_email GROUP BY l.loyalty_tier ORDER BY 1";

std::string ByTier(const std::string& table) {
  return absl::StrReplaceAll(kByTier, {{"TABLE", table}});
}

// loyalty is sharded by row, not by email: a plain JOIN would meet, on each shard, only the
// loyalty rows that happen to live there. The dialect ships it whole (GLOBAL); the same SQL with
// the shard-local table and no GLOBAL — the trap — undercounts.
TEST_F(ClickHouseTrapsTest, AJoinNotOnTheShardingKeysIsGlobal) {
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(ByTier("loyalty")));
  EXPECT_TRUE(absl::StrContains(sql, "GLOBAL ALL INNER JOIN")) << sql;
  Rows expected = DuckDb(ByTier("loyalty"));
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(ClickHouse(sql), expected);
  std::string trap = absl::StrReplaceAll(
      sql, {{"GLOBAL ALL INNER JOIN", "ALL INNER JOIN"}, {"\"loyalty\")", "\"loyalty_local\")"}});
  ASSERT_NE(trap, sql);
  EXPECT_NE(ClickHouse(trap), expected) << "the trap no longer undercounts: " << trap;
}

// Both sharded by email: each shard joins its own rows with its local table, no shipping.
TEST_F(ClickHouseTrapsTest, AJoinOnBothShardingKeysIsLocal) {
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(ByTier("loyalty_by_email")));
  EXPECT_FALSE(absl::StrContains(sql, "GLOBAL")) << sql;
  EXPECT_TRUE(absl::StrContains(sql, "\"rooms\".\"loyalty_by_email_local\"")) << sql;
  EXPECT_EQ(ClickHouse(sql), DuckDb(ByTier("loyalty_by_email")));
}

// A Distributed table inside a subquery that is joined outside it.
TEST_F(ClickHouseTrapsTest, ADistributedTableInASubqueryJoinedOutside) {
  std::string query =
      "SELECT l.loyalty_tier, COUNT(DISTINCT r.household_id) FROM retail_open r JOIN (SELECT "
      "hashed_email, loyalty_tier FROM loyalty_open WHERE brand_purchases > 1) l ON "
      "r.hashed_email = l.hashed_email GROUP BY l.loyalty_tier";
  absl::StatusOr<std::string> sql = Render(query);
  ASSERT_TRUE(sql.ok()) << sql.status();
  Rows expected = DuckDb(query);
  Rows actual = ClickHouse(*sql);
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected) << *sql;
}

// ORDER BY 1 in ClickHouse 18.16 sorts by the constant 1; the IR resolves the ordinal to its
// expression, so the rows come in DuckDB's order.
TEST_F(ClickHouseTrapsTest, OrderByAnOrdinalOrdersByTheColumn) {
  std::string query =
      "SELECT r.region, COUNT(DISTINCT r.household_id) AS n FROM retail r JOIN loyalty l ON "
      "r.hashed_email = l.hashed_email GROUP BY r.region ORDER BY 1 DESC";
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(query));
  EXPECT_FALSE(absl::StrContains(sql, "ORDER BY 1")) << sql;
  Rows expected = DuckDb(query);
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(expected[0][0], std::optional<std::string>("south"));
  EXPECT_EQ(ClickHouse(sql), expected);  // same order
  ASSERT_OK_AND_ASSIGN(std::string raw,
                       cluster_->Query(0,
                                       "SELECT region FROM (SELECT DISTINCT region FROM "
                                       "rooms.retail) ORDER BY 1 DESC"));
  EXPECT_NE(raw, "south\nquiet\nnorth\neast\n") << "18.16 now orders by ordinals";
}

// 18.16's guarded conversions answer wrongly instead of NULL: toDateOrNull('2024-02-30') is
// 2024-03-01 (so is a plain CAST), a bad DateTime is the zero date, toInt32OrNull wraps. The
// dialect refuses conversions of text to dates and numbers.
TEST_F(ClickHouseTrapsTest, GuardedConversionsOfTextAreRefusedNotRunWrong) {
  ASSERT_OK_AND_ASSIGN(std::string dates,
                       cluster_->Query(0,
                                       "SELECT toDateOrNull('2024-02-30'), "
                                       "toDateTimeOrNull('2024-13-01 00:00:00'), "
                                       "toInt32OrNull('99999999999')"));
  EXPECT_EQ(dates, "2024-03-01\t0000-00-00 00:00:00\t1215752191\n");
  ASSERT_OK_AND_ASSIGN(std::string cast, cluster_->Query(0, "SELECT CAST('2024-02-30' AS Date)"));
  EXPECT_EQ(cast, "2024-03-01\n");
  std::string query =
      "SELECT l.loyalty_tier, COUNT(DISTINCT l.hashed_email) FROM loyalty_open l WHERE "
      "CAST(l.joined AS DATE) > DATE '2024-01-01' GROUP BY l.loyalty_tier";
  absl::StatusOr<std::string> sql = Render(query);
  ASSERT_FALSE(sql.ok()) << *sql;
  EXPECT_TRUE(
      absl::StartsWith(sql.status().message(), "the clickhouse engine cannot run a ") &&
      absl::StrContains(sql.status().message(), "conversion of VARCHAR to DATE (at character"))
      << sql.status();
}

// 18.16 says NULL NOT IN (…) is 1 (SQL: NULL, so WHERE drops the row); the 'quiet' region's
// spend is all NULL, so it must not appear.
TEST_F(ClickHouseTrapsTest, NotInKeepsNoRowWhoseValueIsNull) {
  ASSERT_OK_AND_ASSIGN(std::string raw, cluster_->Query(0,
                                                        "SELECT CAST(NULL AS Nullable(Int64)) "
                                                        "NOT IN (1, 2)"));
  EXPECT_EQ(raw, "1\n") << "18.16 now gives SQL's NULL";
  for (const char* query :
       {"SELECT region, COUNT(*) AS n FROM retail_open WHERE annual_spend NOT IN (1, 2) "
        "GROUP BY region",
        "SELECT region, COUNT(*) AS n FROM retail_open WHERE NOT (annual_spend IN (1, 2)) "
        "GROUP BY region",
        "SELECT region, COUNT(*) AS n FROM retail_open WHERE NOT (annual_spend IN (SELECT "
        "annual_spend FROM retail_open WHERE household_size = 1)) GROUP BY region"}) {
    SCOPED_TRACE(query);
    ASSERT_OK_AND_ASSIGN(std::string sql, Render(query));
    Rows expected = DuckDb(query);
    Rows actual = ClickHouse(sql);
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected) << sql;
    for (const auto& row : actual) EXPECT_NE(row[0], std::optional<std::string>("quiet"));
  }
}

// SUM and AVG of a group without values are NULL, not 0 and nan.
TEST_F(ClickHouseTrapsTest, SumAndAverageOfAGroupWithoutValuesAreNull) {
  std::string query =
      "SELECT r.region, SUM(r.annual_spend) AS total, AVG(r.annual_spend) AS average FROM retail "
      "r JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.region";
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(query));
  Rows expected = DuckDb(query);
  Rows actual = ClickHouse(sql);
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  ASSERT_EQ(expected.size(), 4u);
  Rows quiet;
  for (const auto& row : actual) {
    if (row[0] == std::optional<std::string>("quiet")) quiet.push_back(row);
  }
  EXPECT_EQ(quiet, (Rows{{"quiet", std::nullopt, std::nullopt}}));
  EXPECT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    EXPECT_EQ(actual[i][0], expected[i][0]);
    EXPECT_EQ(actual[i][1].has_value(), expected[i][1].has_value());
    if (actual[i][1] && expected[i][1]) {
      EXPECT_DOUBLE_EQ(std::stod(*actual[i][1]), std::stod(*expected[i][1]));
      EXPECT_DOUBLE_EQ(std::stod(*actual[i][2]), std::stod(*expected[i][2]));
    }
  }
}

// Each retail row matches 3 loyalty rows: SUM counts it once per group, as on DuckDB, not three
// times as the plain sum over the joined rows would.
TEST_F(ClickHouseTrapsTest, FanOutIsWeighedOncePerGroupAsOnDuckDb) {
  std::string query =
      "SELECT l.loyalty_tier, SUM(r.annual_spend) AS total FROM retail r JOIN loyalty l ON "
      "r.hashed_email = l.hashed_email GROUP BY l.loyalty_tier";
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(query));
  Rows expected = DuckDb(query);
  Rows actual = ClickHouse(sql);
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected) << sql;
  ASSERT_OK_AND_ASSIGN(
      std::string naive,
      cluster_->Query(0,
                      "SELECT sum(annual_spend) FROM rooms.retail GLOBAL ALL INNER JOIN (SELECT "
                      "hashed_email FROM rooms.loyalty) USING (hashed_email) WHERE "
                      "hashed_email IN ('e0')"));
  ASSERT_OK_AND_ASSIGN(
      std::string once,
      cluster_->Query(0, "SELECT sum(annual_spend) FROM rooms.retail WHERE hashed_email = 'e0'"));
  EXPECT_DOUBLE_EQ(std::stod(naive), 3 * std::stod(once));
}

}  // namespace
}  // namespace parley
