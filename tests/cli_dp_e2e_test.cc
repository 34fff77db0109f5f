// Differential privacy through the real binary: a collaboration created with a budget, a table
// whose rule turns it on, noisy results with intervals (CSV), `parley budget` as the month's
// queries spend it, and the query after the last one refused.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

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

// Accuracy first: `--accuracy 5` (each count within ±5 at 95%) spends the least ε that meets it
// under the exact discrete Laplace tail (0.538175 here: a grouped count of sensitivity 1, checked
// in dp/accuracy_test.cc against the pmf and the sampler), shown by explain before it runs, spent
// exactly by run, and refused with the reason when the per-query maximum or what is left of the
// month cannot cover it. A SUM's target is in units of its column's bound (5000 here).
TEST_F(CliDpTest, AnAccuracyTargetSpendsTheEpsilonItCosts) {
  Outcome explain =
      Ok("supplier", {"query", "explain", "-c", "room", "--sql", kQuery, "--accuracy", "5"});
  EXPECT_TRUE(absl::StrContains(
      explain.out,
      "differential privacy: spends epsilon 0.538175, delta 0.000001793916666 (the least that "
      "meets the accuracy ±5 at 95%)\n"))
      << explain.out;
  EXPECT_TRUE(absl::StrContains(explain.out,
                                "  households: noise scale 1.858132, 95% within ±5\n"
                                "  this month's budget has epsilon 3 left\n"))
      << explain.out;

  Outcome json = Ok("supplier", {"query", "explain", "-c", "room", "--sql", kQuery, "--accuracy",
                                 "5", "--confidence", "95%", "--json"});
  nlohmann::json document = nlohmann::json::parse(json.out);
  const nlohmann::json& privacy = document["explanation"]["privacy"];
  EXPECT_EQ(privacy["epsilon"], "0.538175") << json.out;
  EXPECT_EQ(privacy["accuracy"], "±5 at 95%") << json.out;
  EXPECT_EQ(privacy["epsilon_left"], "3") << json.out;
  EXPECT_EQ(privacy["noise"][0]["ci95_half_width"], "5") << json.out;

  std::string csv = (dir_ / "accurate.csv").string();
  Outcome run = Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--accuracy", "5",
                                "--output", csv});
  EXPECT_TRUE(absl::StrContains(run.err,
                                "spends epsilon 0.538175, delta 0.000001793916666 (the "
                                "least that meets the accuracy ±5 at 95%)"))
      << run.err;
  Csv result = ParseCsv(ReadText(csv));
  ASSERT_EQ(result.rows.size(), 2u);
  for (const auto& row : result.rows) {
    int64_t value = std::stoll(row[1]);
    EXPECT_LE(std::abs(value - 1500), 60);  // scale 1.86: beyond 60 has probability < 1e-13
    EXPECT_EQ(std::stoll(row[2]), value - 5);
    EXPECT_EQ(std::stoll(row[3]), value + 5);
  }
  Outcome budget = Ok("retailer", {"budget", "-c", "room"});
  EXPECT_TRUE(absl::StrContains(budget.out, ": 1 queries, epsilon 0.538175 spent, 2.461825 left"))
      << budget.out;

  // Above the per-query maximum (2): refused before anything runs, with what it would cost.
  const std::string sum_query =
      "SELECT r.age_band, SUM(r.spend) AS spend FROM retail r JOIN loyalty l "
      "ON r.hashed_email = l.hashed_email GROUP BY r.age_band";
  Outcome strict =
      As("supplier", {"query", "explain", "-c", "room", "--sql", sum_query, "--accuracy", "2"});
  EXPECT_EQ(strict.exit_code, kExitError);
  EXPECT_EQ(strict.err,
            "error: --accuracy: ±2 at 95% needs epsilon 2.996182 for this query, above the most "
            "one query may spend in collaboration 'room' (2); ask for a wider interval or a lower "
            "confidence\n");
  Outcome strict_run =
      As("supplier", {"query", "run", "-c", "room", "--sql", sum_query, "--accuracy", "2"});
  EXPECT_EQ(strict_run.err, strict.err);
  Outcome both = As("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--accuracy", "5",
                                 "--epsilon", "1"});
  EXPECT_EQ(both.err,
            "error: --accuracy and --epsilon: give one of them (the epsilon an accuracy costs is "
            "computed from it)\n");
  Outcome bad = As("supplier", {"query", "explain", "-c", "room", "--sql", kQuery, "--accuracy",
                                "5", "--confidence", "1.2"});
  EXPECT_EQ(bad.err,
            "error: --confidence: '1.2' is not a decimal number strictly between 0 and 1 (or 0% "
            "and 100%) with at most 6 decimal places\n");

  // More than is left of the month: explain says so, run is refused and spends nothing.
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--epsilon", "2"});
  explain = Ok("supplier", {"query", "explain", "-c", "room", "--sql", kQuery, "--accuracy", "5"});
  EXPECT_TRUE(absl::StrContains(explain.out,
                                "  this month's budget has epsilon 0.461825 left: not enough, a "
                                "run would be refused\n"))
      << explain.out;
  Outcome refused =
      As("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--accuracy", "5"});
  EXPECT_EQ(refused.exit_code, kExitError);
  EXPECT_TRUE(absl::StrContains(refused.err,
                                " is exhausted: this query would spend more than is left (see "
                                "'parley budget'); the accuracy target ±5 at 95% needs epsilon "
                                "0.538175\n"))
      << refused.err;
  // A wider target fits; a sum's target is in units of its bound (±20 × 5000).
  Ok("supplier", {"query", "run", "-c", "room", "--sql", kQuery, "--accuracy", "20"});
  Outcome sum = Ok("supplier", {"query", "run", "-c", "room", "--sql", sum_query, "--accuracy",
                                "20", "--output", (dir_ / "sum.csv").string()});
  EXPECT_TRUE(absl::StrContains(sum.err, "spends epsilon 0.299632,")) << sum.err;
  budget = Ok("retailer", {"budget", "-c", "room"});
  EXPECT_TRUE(absl::StrContains(budget.out, ": 4 queries, epsilon 2.983811 spent, 0.016189 left"))
      << budget.out;
}

}  // namespace
}  // namespace parley::cli_test
