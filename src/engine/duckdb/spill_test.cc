// Spilling: a run larger than the memory cap finishes, as plain DuckDB does, when the session
// has a spill folder (Limits::temp_directory, HOME/tmp under the service), and fails without one.
// The data is generated inside DuckDB (views over range()), so no files are written but spill.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine::duckdb {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

// Two sides of 1M rows each, with a text payload that makes the join's hash table larger than
// the cap.
constexpr int64_t kRows = 1'000'000;
const char* const kCap = "80MB";

std::vector<SourceView> Views() {
  auto side = [](const char* name, int salt) {
    return SourceView{name,
                      absl::StrCat("SELECT range AS k, (range * ", salt,
                                   ") % 1000 AS v, repeat(CAST(range AS VARCHAR), 6) AS payload "
                                   "FROM range(",
                                   kRows, ")"),
                      {},
                      {}};
  };
  return {side("a", 7), side("b", 13)};
}

// Every row of a meets one row of b; the payloads are kept until the join's end.
constexpr const char* kJoin =
    "SELECT count(*) AS n, sum(a.v * b.v) AS s, max(length(a.payload) + length(b.payload)) AS w "
    "FROM a JOIN b ON a.k = b.k";

class SpillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_spill_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Limits Capped(std::string temp_directory) {
    Limits limits;
    limits.memory_limit = kCap;
    limits.threads = 2;
    limits.temp_directory = std::move(temp_directory);
    return limits;
  }

  std::filesystem::path dir_;
};

// The same query on plain DuckDB, uncapped: the oracle.
std::vector<std::optional<std::string>> PlainDuckDb() {
  absl::StatusOr<InMemoryDatabase> db = OpenInMemoryDatabase({});
  EXPECT_TRUE(db.ok()) << db.status();
  for (const SourceView& view : Views()) {
    EXPECT_TRUE(ExecuteStatement(db->connection.get(),
                                 absl::StrCat("CREATE VIEW ", view.name, " AS ", view.select_sql),
                                 "view")
                    .ok());
  }
  DuckResult result;
  std::string sql = absl::StrCat("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (", kJoin, ")");
  EXPECT_NE(duckdb_query(db->connection.get(), sql.c_str(), result.out()), DuckDBError);
  std::vector<std::optional<std::string>> row;
  for (idx_t column = 0; column < duckdb_column_count(&result.get()); ++column) {
    DuckString text(duckdb_value_varchar(&result.get(), column, 0));
    row.emplace_back(std::string(text.get()));
  }
  return row;
}

TEST_F(SpillTest, JoinLargerThanTheMemoryCapSpillsAndMatchesPlainDuckDb) {
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Open(Views(), Capped(dir_));
  ASSERT_TRUE(session.ok()) << session.status();
  // The session's own spill folder, private to Parley's user.
  std::vector<std::filesystem::path> folders(std::filesystem::directory_iterator(dir_), {});
  ASSERT_THAT(folders, SizeIs(1));
  struct stat info;
  ASSERT_EQ(stat(folders[0].c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);

  absl::StatusOr<ResultTable> result = (*session)->Run(kJoin);
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<std::optional<std::string>> expected = PlainDuckDb();
  ASSERT_THAT(result->rows, ElementsAre(expected));
  EXPECT_EQ(expected[0], std::to_string(kRows));
  // Closing the session removes its spill folder.
  session->reset();
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

// Without a spill folder the same run fails: the test above would fail if spilling broke.
TEST_F(SpillTest, WithoutATempDirectoryTheSameJoinFails) {
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Open(Views(), Capped(""));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ((*session)->Run(kJoin).status(), absl::ResourceExhaustedError(absl::StrCat(
                                                 "query exceeded the memory limit of ", kCap)));
}

}  // namespace
}  // namespace parley::engine::duckdb
