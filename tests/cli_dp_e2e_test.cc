// Differential privacy through the real binary: a collaboration created with a budget, a table
// whose rule turns it on, noisy results with intervals (CSV), `parley budget` as the month's
// queries spend it, and the query after the last one refused.
#include <gtest/gtest.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli_test_support.h"

namespace parley::cli_test {
namespace {

class CliDpTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    Exec(
        absl::StrCat("COPY (SELECT range + 1 AS household_id, 'e' || (range + 1) AS hashed_email, "
                     "CASE WHEN range % 2 = 0 THEN 'young' ELSE 'old' END AS age_band, "
                     "(range * 37) % 5001 AS spend FROM range(3000)) TO '",
                     (dir_ / "retail.csv").string(), "' (HEADER)"));
    Exec(absl::StrCat("COPY (SELECT 'e' || (range + 1) AS hashed_email FROM range(3000)) TO '",
                      (dir_ / "loyalty.csv").string(), "' (HEADER)"));
    Ok("retailer", {"collaboration", "create", "room", "--dp-epsilon", "3", "--dp-default-epsilon",
                    "1", "--dp-max-epsilon", "2"});
    Ok("retailer", {"member", "add", "-c", "room", "supplier", "--abilities", "query,receive"});
    Ok("retailer",
       {"table", "add", "-c", "room", "retail", "--source", (dir_ / "retail.csv").string()});
    Ok("supplier",
       {"table", "add", "-c", "room", "loyalty", "--source", (dir_ / "loyalty.csv").string()});
    Ok("retailer", {"rule", "set", "-c", "room", "retail", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]},
                                  {"columns": ["spend"], "functions": ["SUM"]}],
            "join_columns": ["hashed_email"], "dimension_columns": ["age_band"],
            "output_constraints": [{"column": "household_id", "minimum": 10}],
            "differential_privacy": {"privacy_unit": "household_id",
                                     "bounds": [{"column": "spend", "minimum": 0,
                                                 "maximum": 5000}]}})"});
    Ok("supplier", {"rule", "set", "-c", "room", "loyalty", "--json",
                    R"({"kind": "aggregation",
            "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
            "join_columns": ["hashed_email"],
            "output_constraints": [{"column": "hashed_email", "minimum": 10}]})"});
  }

  static constexpr char kQuery[] =
      "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households FROM retail r "
      "JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band";
};

TEST_F(CliDpTest, NoisyResultsWithIntervalsUntilTheBudgetRunsOut) {
  Outcome explain = Ok("supplier", {"query", "explain", "-c", "room", "--sql", kQuery});
  EXPECT_TRUE(absl::StrContains(explain.out,
                                "differential privacy: spends epsilon 1, delta 0.000003333333333\n"
                                "  groups appear only with a noisy count of at least 15 privacy "
                                "units\n"
                                "  households: noise scale 1, 95% within ±3\n"))
      << explain.out;

  // The private table's minimum applies to the noisy count, not as an exact threshold.
  EXPECT_FALSE(absl::StrContains(explain.out, "distinct retail.household_id")) << explain.out;
  EXPECT_TRUE(absl::StrContains(explain.out, "at least 10 distinct loyalty.hashed_email per row"))
      << explain.out;
  std::string csv = (dir_ / "out.csv").string();
  Outcome run = Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--output", csv});
  EXPECT_TRUE(absl::StrContains(run.err, "households: noise scale 1, 95% within ±3")) << run.err;
  Csv result = ParseCsv(ReadText(csv));
  EXPECT_EQ(result.header,
            (std::vector<std::string>{"age_band", "households", "households_ci95_low",
                                      "households_ci95_high"}));
  ASSERT_EQ(result.rows.size(), 2u);
  for (const auto& row : result.rows) {
    int64_t value = std::stoll(row[1]);
    EXPECT_LE(std::abs(value - 1500), 40);  // scale 1: beyond 40 has probability < 1e-17
    EXPECT_EQ(std::stoll(row[2]), value - 3);
    EXPECT_EQ(std::stoll(row[3]), value + 3);
  }

  // A larger ε (within the maximum) spends more; the month's 3 is then gone.
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--epsilon", "2"});
  Outcome budget = Ok("retailer", {"budget", "-c", "room"});
  EXPECT_TRUE(absl::StrContains(budget.out,
                                "privacy budget of room: epsilon 3 and delta 0.00001 per month; a "
                                "query spends 1 by default, at most 2\n"))
      << budget.out;
  EXPECT_TRUE(absl::StrContains(budget.out,
                                ": 2 queries, epsilon 3 spent, 0 left; delta 0.000009999999999 "
                                "spent, 0.000000000000001 left\n"))
      << budget.out;
  Outcome refused = As("supplier", {"query", "run", "-c", "room", "--sql", kQuery});
  EXPECT_EQ(refused.exit_code, kExitError);
  EXPECT_TRUE(
      absl::StrContains(refused.err, "error: the privacy budget of collaboration 'room' for "))
      << refused.err;
  Outcome too_much =
      As("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--epsilon", "2.5"});
  EXPECT_EQ(too_much.err,
            "error: --epsilon: 2.5 is outside what one query may spend in collaboration 'room' "
            "(above 0, at most 2)\n");
}

}  // namespace
}  // namespace parley::cli_test
