#include "dp/noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "dp/budget.h"
#include "dp/seeded_random_source.h"

namespace parley::dp {
namespace {

TEST(GridTest, ReadsAndWritesExactDecimals) {
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("1234.50", 2)), 123450);
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("-3", 2)), -300);
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("2.345", 2)), 235);  // half away from zero
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("-2.345", 2)), -235);
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("1.5e+3", 0)), 1500);
  EXPECT_EQ(static_cast<int64_t>(*ToGridUnits("42", 0)), 42);
  EXPECT_FALSE(ToGridUnits("abc", 0).ok());
  EXPECT_FALSE(ToGridUnits("", 0).ok());
  EXPECT_EQ(FromGridUnits(123450, 2), "1234.50");
  EXPECT_EQ(FromGridUnits(-5, 2), "-0.05");
  EXPECT_EQ(FromGridUnits(-7, 0), "-7");
}

NoisePlan CountPlan(bool grouped) {
  NoisePlan plan;
  plan.grouped = grouped;
  plan.epsilon = *ParseEpsilon("1");
  plan.delta = *ParseDelta("1e-6");
  plan.measures = {Measure{Measure::Kind::kUnits, 1}};
  plan.outputs = {OutputColumn{OutputColumn::Kind::kKey, "band", "VARCHAR", 0},
                  OutputColumn{OutputColumn::Kind::kCount, "households", "", 0, 0}};
  return plan;
}

TEST(ApplyNoiseTest, SmallGroupsAreNotSelectedAndLargeOnesCarryIntervals) {
  NoisePlan plan = CountPlan(true);
  ASSERT_TRUE(SetScales(plan).ok());
  EXPECT_EQ(plan.selection_threshold, 16);  // 1 + ceil(ln(10^6)) + 1
  SeededRandomSource random(5);
  absl::StatusOr<NoisyResult> noisy = ApplyNoise(plan, {{"rare", "1"}, {"common", "5000"}}, random);
  ASSERT_TRUE(noisy.ok()) << noisy.status();
  ASSERT_EQ(noisy->columns.size(), 4u);
  EXPECT_EQ(noisy->columns[2].name, "households_ci95_low");
  ASSERT_EQ(noisy->rows.size(), 1u);
  EXPECT_EQ(noisy->rows[0][0], "common");
  int64_t value = std::stoll(*noisy->rows[0][1]);
  EXPECT_NE(value, 5000);  // noised (with this seed)
  EXPECT_NEAR(value, 5000, 15);
  // The interval is value ± the 95% half-width of scale 1: ceil(ln(0.05·(1+p)/2)/ln p − 1) = 3.
  EXPECT_EQ(std::stoll(*noisy->rows[0][2]), value - 3);
  EXPECT_EQ(std::stoll(*noisy->rows[0][3]), value + 3);
}

TEST(ApplyNoiseTest, NoiseMatchesItsScaleAndIntervalsCoverNinetyFivePercent) {
  NoisePlan plan = CountPlan(false);
  plan.measures[0].sensitivity = 4;  // scale 4
  ASSERT_TRUE(SetScales(plan).ok());
  SeededRandomSource random(9);
  const int runs = 20000;
  int covered = 0;
  double sum_squares = 0;
  for (int i = 0; i < runs; ++i) {
    NoisyResult noisy = *ApplyNoise(plan, {{"", "100"}}, random);
    int64_t value = std::stoll(*noisy.rows[0][1]);
    sum_squares += (value - 100.0) * (value - 100.0);
    covered += std::stoll(*noisy.rows[0][2]) <= 100 && 100 <= std::stoll(*noisy.rows[0][3]);
  }
  double p = std::exp(-1 / 4.0);
  EXPECT_NEAR(sum_squares / runs / (2 * p / ((1 - p) * (1 - p))), 1, 0.05);
  EXPECT_GE(covered, runs * 0.95 - 3 * std::sqrt(runs * 0.05 * 0.95));
}

TEST(ApplyNoiseTest, GroupedWithoutDeltaIsRefused) {
  NoisePlan plan = CountPlan(true);
  plan.delta = 0;
  EXPECT_EQ(SetScales(plan).message(),
            "differential privacy: a query with GROUP BY needs a delta above 0 to select its "
            "groups privately, and this collaboration's budget has none");
}

TEST(ApplyNoiseTest, OutputsAreGridValuesWhoseSupportDoesNotDependOnTheInput) {
  // Mironov's attack reads which exact value was noised from floating-point outputs that only one
  // of two neighbouring inputs can produce. Here every output is an exact grid value, and two
  // inputs one grid step apart produce exactly the same set of outputs near them.
  NoisePlan plan = CountPlan(false);
  plan.measures = {Measure{Measure::Kind::kSum, 1, 2, 5}};  // cents, sensitivity 5 grid units
  plan.outputs = {OutputColumn{OutputColumn::Kind::kSum, "spend", "", 0, 0}};
  ASSERT_TRUE(SetScales(plan).ok());
  SeededRandomSource random(13);
  std::set<std::string> seen_low, seen_high;
  for (int i = 0; i < 20000; ++i) {
    for (auto [input, seen] : {std::pair{"1000.00", &seen_low}, std::pair{"1000.01", &seen_high}}) {
      std::string value = *ApplyNoise(plan, {{"", input}}, random)->rows[0][0];
      ASSERT_TRUE(value.size() > 3 && value[value.size() - 3] == '.') << value;  // two decimals
      double parsed = std::stod(value);
      if (parsed >= 999.90 && parsed <= 1000.10) seen->insert(value);
    }
  }
  EXPECT_EQ(seen_low.size(), 21u);  // every cent from 999.90 to 1000.10
  EXPECT_EQ(seen_low, seen_high);
}

}  // namespace
}  // namespace parley::dp
