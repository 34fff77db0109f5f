// The clickhouse engine against a real 2-shard ClickHouse 18.16 cluster on loopback: exact typed
// results over a Distributed table, the account's lock-down, pinned columns, and errors that name
// the engine but never a value.
#include "engine/clickhouse/clickhouse_engine.h"

#include "base/status_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "support/clickhouse_cluster.h"

namespace parley::engine::clickhouse {
namespace {

using testing::ClickHouseCluster;
using ::testing::HasSubstr;
using ::testing::Not;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

class ClickHouseEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A result cap small enough to reach with a small table.
    auto started = ClickHouseCluster::Start(2, 2'000'000'000, 100'000);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    ASSERT_OK(cluster_->ExecuteOnEach(
        {"CREATE TABLE rooms.retail_local (household_id Int64, region String, spend "
         "Nullable(Decimal(18, 2))) ENGINE = MergeTree ORDER BY household_id",
         "CREATE TABLE rooms.retail AS rooms.retail_local ENGINE = Distributed(parley, rooms, "
         "retail_local, sipHash64(household_id))",
         "CREATE DATABASE IF NOT EXISTS other",
         "CREATE TABLE other.secrets (v String) ENGINE = Memory"}));
    ASSERT_OK(cluster_->Execute(
        0,
        "INSERT INTO rooms.retail VALUES (1,'north',1.50),(2,'south',NULL),(3,'north',2.25),"
        "(4,'east',3),(5,'a\\tb',0.10),(6,'north',4)"));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  ConnectOptions Reader() const {
    return {cluster_->HttpUrl(0), ClickHouseCluster::kDatabase, ClickHouseCluster::kReader,
            Secret(cluster_->reader_password())};
  }

  static ClickHouseCluster* cluster_;
};

ClickHouseCluster* ClickHouseEngineTest::cluster_ = nullptr;

TEST_F(ClickHouseEngineTest, BothShardsHoldRowsOfTheDistributedTable) {
  ASSERT_OK_AND_ASSIGN(std::string first,
                       cluster_->Query(0, "SELECT count() FROM rooms.retail_local"));
  ASSERT_OK_AND_ASSIGN(std::string second,
                       cluster_->Query(1, "SELECT count() FROM rooms.retail_local"));
  EXPECT_NE(first, "0\n");
  EXPECT_NE(second, "0\n");
  EXPECT_EQ(std::stoi(first) + std::stoi(second), 6);
}

TEST_F(ClickHouseEngineTest, ConnectReadsTheServerAndTheProfile) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  EXPECT_EQ(engine->dialect(), "clickhouse");
  EXPECT_EQ(engine->facts().version.substr(0, 6), "18.16.");
  EXPECT_THAT(engine->facts().timezone, HasSubstr("UTC"));
  EXPECT_EQ(engine->facts().max_result_rows, 100000);
}

TEST_F(ClickHouseEngineTest, RunsOverBothShardsWithExactTypesAndNulls) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  Plan plan{
      "SELECT region, count() AS n, sum(spend) AS total FROM rooms.retail GROUP BY region "
      "ORDER BY region",
      {}};
  ASSERT_OK_AND_ASSIGN(ResultTable result, engine->Run(plan));
  EXPECT_EQ(result.columns,
            (std::vector<ResultColumn>{
                {"region", "VARCHAR"}, {"n", "UBIGINT"}, {"total", "DECIMAL(38,2)"}}));
  EXPECT_EQ(result.rows, (Rows{{"a\tb", "1", "0.10"},
                               {"east", "1", "3.00"},
                               {"north", "3", "7.75"},
                               {"south", "1", std::nullopt}}));
}

// Metering: the rows and bytes the query read on both shards, from ClickHouse's own answer.
TEST_F(ClickHouseEngineTest, ARunReportsWhatItReadOnEveryShard) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  ScanCount read{-1, -1};
  Plan plan{"SELECT count() AS n FROM rooms.retail WHERE region = 'north'", {}};
  plan.read = &read;
  ASSERT_OK_AND_ASSIGN(ResultTable result, engine->Run(plan));
  EXPECT_EQ(result.rows, (Rows{{"3"}}));
  EXPECT_EQ(read.rows, 6);  // every row of both shards' local tables
  // The region column's bytes as ClickHouse holds them in memory: an 8-byte offset per row, and
  // each value's text with a terminating zero byte ("north" 3 times, "south", "east", "a\tb").
  EXPECT_EQ(read.bytes, 6 * 8 + 3 * 6 + 6 + 5 + 4);
  // NaN arrives as NaN, not as NULL (the profile quotes it: output_format_json_quote_denormals).
  plan = Plan{"SELECT toFloat64(0) / 0 AS x, CAST(NULL AS Nullable(Float64)) AS y", {}};
  ASSERT_OK_AND_ASSIGN(result, engine->Run(plan));
  EXPECT_EQ(result.rows, (Rows{{"nan", std::nullopt}}));
}

TEST_F(ClickHouseEngineTest, TheAccountCannotWriteSetOrLeaveItsDatabase) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  for (const char* sql : {"SELECT * FROM other.secrets", "SELECT * FROM numbers(3)",
                          "SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')",
                          "SELECT 1 SETTINGS max_result_rows = 100000000"}) {
    EXPECT_EQ(engine->Run(Plan{sql, {}}).status().code(), absl::StatusCode::kPermissionDenied)
        << sql;
  }
  // Writes, DDL and SET, sent as the account over plain HTTP (the engine itself only sends
  // SELECT): the server refuses each with READONLY (code 164).
  httplib::Client client("127.0.0.1", cluster_->http_port(0));
  client.set_basic_auth(ClickHouseCluster::kReader, cluster_->reader_password().c_str());
  for (const char* sql :
       {"INSERT INTO rooms.retail_local VALUES (9, 'x', 1)", "DROP TABLE rooms.retail_local",
        "SET max_memory_usage = 0", "CREATE TABLE rooms.x (a Int64) ENGINE = Memory"}) {
    auto response = client.Post("/", sql, "text/plain");
    ASSERT_TRUE(response) << sql;
    EXPECT_THAT(response->body, HasSubstr("Code: 164")) << sql;
  }
  ASSERT_OK_AND_ASSIGN(std::string rows, cluster_->Query(0, "SELECT count() FROM rooms.retail"));
  EXPECT_EQ(rows, "6\n");
}

TEST_F(ClickHouseEngineTest, AConversionErrorNamesTheEngineNotTheValue) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  Engine::Stage stage = Engine::Stage::kSources;
  absl::StatusOr<ResultTable> result =
      engine->Run(Plan{"SELECT toInt64(region) FROM rooms.retail", {}}, &stage);
  ExpectError(result, absl::StatusCode::kInvalidArgument,
              "query failed during execution on the clickhouse engine: conversion error");
  EXPECT_EQ(stage, Engine::Stage::kQuery);
  EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr("north")));
}

TEST_F(ClickHouseEngineTest, PinnedColumnsAreCheckedBeforeTheQueryRuns) {
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  SourceView same{"retail", "", {}, {}, {{"household_id", "BIGINT"}, {"spend", "DECIMAL(18,2)"}}};
  ASSERT_OK(engine->Run(Plan{"SELECT count() FROM rooms.retail", {same}}));
  SourceView drifted{"retail", "", {}, {}, {{"spend", "DOUBLE"}}};
  Engine::Stage stage = Engine::Stage::kQuery;
  ExpectError(engine->Run(Plan{"SELECT count() FROM rooms.retail", {drifted}}, &stage),
              absl::StatusCode::kFailedPrecondition,
              "table 'retail' no longer matches its pinned schema: column 'spend' was DOUBLE, "
              "is now DECIMAL(18,2)");
  EXPECT_EQ(stage, Engine::Stage::kSources);
  SourceView missing{"retail", "", {}, {}, {{"email", "VARCHAR"}}};
  ExpectError(engine->Run(Plan{"SELECT 1", {missing}}), absl::StatusCode::kFailedPrecondition,
              "table 'retail' no longer matches its pinned schema: column 'email' is missing");
}

// The profile's max_result_rows (100,000 for this suite) stops a larger result; the error names
// the limit. 18.16 checks it per block of rows, so it is a coarse cap, not an exact one.
TEST_F(ClickHouseEngineTest, AResultLargerThanMaxResultRowsIsResourceExhausted) {
  ASSERT_OK(cluster_->ExecuteOnEach(
      {"CREATE TABLE rooms.many (x UInt64) ENGINE = MergeTree ORDER BY x"}));
  ASSERT_OK(cluster_->Execute(0,
                              "INSERT INTO rooms.many SELECT number FROM system.numbers LIMIT "
                              "300001"));
  ASSERT_OK_AND_ASSIGN(auto engine, ClickHouseEngine::Connect(Reader()));
  ExpectError(engine->Run(Plan{"SELECT x FROM rooms.many", {}}),
              absl::StatusCode::kResourceExhausted,
              "the clickhouse engine stopped the query: its result has more rows than "
              "max_result_rows");
  ASSERT_OK_AND_ASSIGN(ResultTable counted,
                       engine->Run(Plan{"SELECT count() FROM rooms.many", {}}));
  EXPECT_EQ(counted.rows, (Rows{{"300001"}}));
}

TEST_F(ClickHouseEngineTest, AnAccountThatIsNotReadOnlyIsRefused) {
  ConnectOptions admin = Reader();
  admin.user = "default";
  admin.password = Secret();
  ExpectError(ClickHouseEngine::Connect(admin), absl::StatusCode::kFailedPrecondition,
              "the clickhouse engine's account is not read-only: its profile must set readonly=1 "
              "(docs/scale-out.md)");
}

TEST_F(ClickHouseEngineTest, WrongCredentialsAndADeadServerAreClearErrors) {
  ConnectOptions wrong = Reader();
  wrong.password = Secret("not-the-password");
  ExpectError(ClickHouseEngine::Connect(wrong), absl::StatusCode::kPermissionDenied,
              "the clickhouse engine refused Parley's credentials (user, password or network)");
  ConnectOptions nowhere = Reader();
  nowhere.url = "http://127.0.0.1:1";
  EXPECT_EQ(ClickHouseEngine::Connect(nowhere).status().code(), absl::StatusCode::kUnavailable);
  nowhere.url = "https://127.0.0.1:1";
  EXPECT_EQ(ClickHouseEngine::Connect(nowhere).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::engine::clickhouse
