// Replays every input in tests/fuzz/oracle_regressions/ through the neighbouring-dataset oracle
// (tests/fuzz/neighbour_oracle.h): each is a query the fuzzer found showing its runner a different
// outcome on two datasets that differ in one suppressed row, minimised by hand. A file holds one
// query, or several separated by lines "----" that run in that order in the same fresh sessions
// (some findings need the session's history: DuckDB's TRY fallback misbehaves differently once a
// session has run other queries); the file differs when any of its queries does. Files named in
// oracle_regressions/KNOWN_FAILING are findings the code does not fix yet: the test asserts that
// they still differ, so that a fix shows up here (and the name must then leave the list); every
// other file must show the same outcome on both datasets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fuzz/neighbour_oracle.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

fs::path RegressionDirectory() {
  const char* source = std::getenv("PARLEY_SOURCE_DIR");
  return fs::path(source != nullptr ? source : PARLEY_SOURCE_DIR_DEFAULT) / "tests" / "fuzz" /
         "oracle_regressions";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> KnownFailing() {
  std::set<std::string> names;
  std::ifstream in(RegressionDirectory() / "KNOWN_FAILING");
  for (std::string line; std::getline(in, line);) {
    absl::string_view name = absl::StripAsciiWhitespace(line);
    if (!name.empty() && name[0] != '#') names.insert(std::string(name));
  }
  return names;
}

std::vector<std::string> Regressions() {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(RegressionDirectory())) {
    if (entry.path().extension() == ".sql") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class NeighbourOracleReplayTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new fs::path(fs::path(testing::TempDir()) /
                              absl::StrCat("parley_neighbour_oracle_", getpid()));
    fs::remove_all(*directory_);
    fs::create_directories(*directory_);
    auto oracle = fuzz::NeighbourOracle::Create(directory_->string());
    ASSERT_TRUE(oracle.ok()) << oracle.status();
    oracle_ = oracle->release();
  }
  static void TearDownTestSuite() {
    delete oracle_;
    oracle_ = nullptr;
    fs::remove_all(*directory_);
    delete directory_;
  }
  static fs::path* directory_;
  static fuzz::NeighbourOracle* oracle_;
};

fs::path* NeighbourOracleReplayTest::directory_ = nullptr;
fuzz::NeighbourOracle* NeighbourOracleReplayTest::oracle_ = nullptr;

// The fixture itself: the hostile row exists only in D', and a query the rules accept whose
// groups keep it out returns the same released rows on both.
TEST_F(NeighbourOracleReplayTest, DatasetsDifferInOneSuppressedRow) {
  ASSERT_NE(oracle_, nullptr);
  fuzz::OracleResult result = oracle_->Compare(
      "SELECT region, COUNT(DISTINCT household_id) AS households FROM retail GROUP BY region");
  ASSERT_EQ(result.kind, fuzz::OracleResult::kSame) << result.Describe();
  EXPECT_TRUE(result.rows_compared);
  EXPECT_EQ(result.on_d.rows,
            (std::vector<std::string>{"east|12", "north|12", "south|12", "west|12"}));
  // Without a threshold, the hostile row's group would be there on D' only.
  fuzz::OracleResult global =
      oracle_->Compare("SELECT COUNT(household_id) AS n, SUM(units) AS s FROM retail");
  ASSERT_EQ(global.kind, fuzz::OracleResult::kSame) << global.Describe();
  EXPECT_FALSE(global.rows_compared);
  EXPECT_EQ(global.on_d.rows, std::vector<std::string>{"48|1176"});
  EXPECT_EQ(global.on_d_prime.rows, std::vector<std::string>{"49|2147484823"});
}

TEST_F(NeighbourOracleReplayTest, RefusedQueriesAreNotCompared) {
  ASSERT_NE(oracle_, nullptr);
  EXPECT_EQ(oracle_->Compare("SELECT hashed_email FROM retail").kind,
            fuzz::OracleResult::kNotAccepted);
  EXPECT_EQ(oracle_->Compare("SELEC 1").kind, fuzz::OracleResult::kNotAccepted);
}

TEST_F(NeighbourOracleReplayTest, Regressions) {
  ASSERT_NE(oracle_, nullptr);
  std::set<std::string> known_failing = KnownFailing();
  std::vector<std::string> names = Regressions();
  for (const std::string& name : known_failing) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), name) != names.end())
        << "KNOWN_FAILING names " << name << ", which is not in the directory";
  }
  for (const std::string& name : names) {
    oracle_->ResetSessions();
    fuzz::OracleResult result;
    for (absl::string_view sql :
         absl::StrSplit(ReadFile(RegressionDirectory() / name), "\n----\n")) {
      result = oracle_->Compare(std::string(sql));
      if (result.kind == fuzz::OracleResult::kDiffers) break;
    }
    EXPECT_NE(result.kind, fuzz::OracleResult::kInconclusive) << name << "\n" << result.Describe();
    if (known_failing.contains(name)) {
      EXPECT_EQ(result.kind, fuzz::OracleResult::kDiffers)
          << name << " no longer differs: remove it from KNOWN_FAILING\n"
          << result.Describe();
    } else {
      EXPECT_NE(result.kind, fuzz::OracleResult::kDiffers) << name << "\n" << result.Describe();
    }
  }
}

}  // namespace
}  // namespace parley
