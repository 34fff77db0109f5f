// Loading a member's file into a 2-shard ClickHouse 18.16 cluster (connectors/clickhouse): the rows
// are streamed in pieces no larger than the load's buffer (plus one row), whatever the file's
// size, and a load that stops midway leaves nothing on the cluster — neither the relation nor the
// staging tables it was filling.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "connectors/clickhouse/clickhouse_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/clickhouse_cluster.h"

namespace parley::connectors::clickhouse {
namespace {

namespace fs = std::filesystem;
using testing::ClickHouseCluster;

constexpr int kRows = 20'000;
constexpr size_t kBuffer = 4096;

class ClickHouseLoadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = ClickHouseCluster::Start(2);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    // A file many times the buffer: ids, emails, and a band that is empty (NULL) on every 7th row.
    file_ = fs::path(cluster_->directory()) / "members.csv";
    std::ofstream out(file_);
    out << "member_id,email,band\n";
    for (int i = 0; i < kRows; ++i) {
      out << i << ",m" << i << "@example.com," << (i % 7 == 0 ? "" : absl::StrCat("b", i % 5))
          << "\n";
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static EngineLookup Lookup() {
    return [](const std::string& name) -> absl::StatusOr<EngineAccess> {
      EngineAccess access;
      access.name = name;
      access.cluster = ClickHouseCluster::kCluster;
      access.reader = {cluster_->HttpUrl(0), ClickHouseCluster::kDatabase,
                       ClickHouseCluster::kReader, Secret(cluster_->reader_password())};
      access.loader = engine::clickhouse::ConnectOptions{
          cluster_->HttpUrl(0), ClickHouseCluster::kDatabase, ClickHouseCluster::kLoader,
          Secret(cluster_->loader_password())};
      access.nodes = {cluster_->HttpUrl(0), cluster_->HttpUrl(1)};
      return access;
    };
  }

  static std::string Description(const std::string& relation) {
    return absl::StrCat(R"({"engine": "warehouse", "relation": ")", relation, R"(", "load": ")",
                        file_.string(), R"(", "sharding_key": "email"})");
  }

  // The tables of the database whose name starts with `prefix`, on `node`.
  static std::string TablesLike(int node, const std::string& prefix) {
    absl::StatusOr<std::string> tables = cluster_->Query(
        node, absl::StrCat("SELECT name FROM system.tables WHERE database = 'rooms' AND "
                           "startsWith(name, '",
                           prefix, "') ORDER BY name"));
    return tables.ok() ? *tables : tables.status().ToString();
  }

  static ClickHouseCluster* cluster_;
  static fs::path file_;
};

ClickHouseCluster* ClickHouseLoadTest::cluster_ = nullptr;
fs::path ClickHouseLoadTest::file_;

TEST_F(ClickHouseLoadTest, AFileLargerThanTheBufferIsStreamedInPiecesAndLoadedWhole) {
  std::vector<size_t> pieces;
  ClickHouseConnector connector(Lookup(), LoadOptions{kBuffer, [&](size_t size) {
                                                        pieces.push_back(size);
                                                        return true;
                                                      }});
  ASSERT_OK_AND_ASSIGN(std::string validated, connector.Validate(Description("streamed")));
  ASSERT_OK_AND_ASSIGN(std::string placed, connector.Pin(validated));
  EXPECT_THAT(placed, ::testing::HasSubstr(R"("local":"streamed_local")"));
  // The file is about 600 kB: well over a hundred pieces, none much larger than the buffer.
  EXPECT_GT(fs::file_size(file_), 100 * kBuffer);
  EXPECT_GT(pieces.size(), 100u);
  for (size_t size : pieces) EXPECT_LE(size, kBuffer + 64);
  // Every row, spread over both shards, NULLs where the file is empty, nothing left staged.
  ASSERT_OK_AND_ASSIGN(std::string counted,
                       cluster_->Query(0,
                                       "SELECT count(), countIf(band IS NULL), uniqExact(email), "
                                       "sum(member_id) FROM rooms.streamed"));
  EXPECT_EQ(counted, absl::StrCat(kRows, "\t", (kRows + 6) / 7, "\t", kRows, "\t",
                                  int64_t{kRows} * (kRows - 1) / 2, "\n"));
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(std::string local,
                         cluster_->Query(node, "SELECT count() FROM rooms.streamed_local"));
    EXPECT_GT(std::stoll(local), kRows / 4) << node;
    EXPECT_EQ(TablesLike(node, "streamed"), "streamed\nstreamed_local\n") << node;
  }
  ASSERT_OK_AND_ASSIGN(std::string types,
                       cluster_->Query(0,
                                       "SELECT name, type FROM system.columns WHERE database = "
                                       "'rooms' AND table = 'streamed'"));
  EXPECT_EQ(types,
            "member_id\tInt64\nemail\tString\nband\tNullable(String)\n__parley_row_id\tInt64\n");
  // The hidden row identity: the file's row number, unique over both shards, recorded in the
  // placement and never one of the columns members see.
  ASSERT_OK_AND_ASSIGN(std::string identity,
                       cluster_->Query(1,
                                       "SELECT uniqExact(__parley_row_id), min(__parley_row_id), "
                                       "max(__parley_row_id) FROM rooms.streamed"));
  EXPECT_EQ(identity, absl::StrCat(kRows, "\t1\t", kRows, "\n"));
  EXPECT_THAT(placed, ::testing::HasSubstr(R"("row_id":true)"));
  ASSERT_OK_AND_ASSIGN(std::vector<catalog::Column> shown, connector.InferSchema(placed));
  std::vector<std::string> names;
  for (const catalog::Column& column : shown) names.push_back(column.name);
  EXPECT_THAT(names, ::testing::ElementsAre("member_id", "email", "band"));
}

TEST_F(ClickHouseLoadTest, ALoadStoppedMidwayLeavesNoTableBehind) {
  int sent = 0;
  std::string during;
  ClickHouseConnector connector(Lookup(), LoadOptions{kBuffer, [&](size_t) {
                                                        // Rows went out before the cut.
                                                        if (++sent == 20)
                                                          during = TablesLike(0, "halfway");
                                                        return sent <= 20;
                                                      }});
  ASSERT_OK_AND_ASSIGN(std::string validated, connector.Validate(Description("halfway")));
  ExpectError(connector.Pin(validated).status(), absl::StatusCode::kUnavailable,
              "loading into 'rooms.halfway' on clickhouse engine 'warehouse': the load was "
              "stopped midway");
  EXPECT_EQ(sent, 21);
  // While rows were going in, only staging tables existed: a Parley process dying then would have
  // left no table under the relation's name, half-loaded.
  EXPECT_THAT(during, ::testing::MatchesRegex("halfway_loading_[0-9a-f]{16}\n"
                                              "halfway_loading_[0-9a-f]{16}_local\n"));
  for (int node = 0; node < 2; ++node) EXPECT_EQ(TablesLike(node, "halfway"), "") << node;
  // The name is free: the same file loads whole under it afterwards.
  ClickHouseConnector whole(Lookup());
  ASSERT_OK(whole.Pin(validated).status());
  ASSERT_OK_AND_ASSIGN(std::string counted,
                       cluster_->Query(1, "SELECT count() FROM rooms.halfway"));
  EXPECT_EQ(counted, absl::StrCat(kRows, "\n"));
}

}  // namespace
}  // namespace parley::connectors::clickhouse
