// Accuracy first: the ε computed for a target is the smallest on the ledger's grid that meets it
// under the exact noise distribution (checked against the pmf summed term by term, and against
// the real sampler's draws with fixed seeds), and one millionth less does not.
#include "dp/accuracy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dp/budget.h"
#include "dp/seeded_random_source.h"

namespace parley::dp {
namespace {

Measure MakeMeasure(Measure::Kind kind, uint64_t sensitivity, long double target_unit = 1,
                    int grid_exponent = 0) {
  Measure measure;
  measure.kind = kind;
  measure.sensitivity = sensitivity;
  measure.target_unit = target_unit;
  measure.grid_exponent = grid_exponent;
  return measure;
}

NoisePlan PlanOf(std::vector<Measure> measures, int64_t epsilon) {
  NoisePlan plan;
  plan.measures = std::move(measures);
  plan.epsilon = epsilon;
  EXPECT_TRUE(SetScales(plan).ok());
  return plan;
}

// P[|Z| > m] summed from the pmf, independently of the closed form.
double TailBySum(double scale, int64_t m) {
  double inside = 0;
  for (int64_t y = -m; y <= m; ++y) inside += DiscreteLaplacePmf(scale, y);
  return 1 - inside;
}

TEST(AccuracyTest, ParsesTargets) {
  absl::StatusOr<AccuracyTarget> target = ParseAccuracyTarget("50", "0.95");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->accuracy, 50'000'000);
  EXPECT_EQ(target->confidence, 950'000);
  EXPECT_EQ(DescribeAccuracyTarget(*target), "±50 at 95%");
  target = ParseAccuracyTarget("12.5", "99.9%");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->confidence, 999'000);
  EXPECT_EQ(DescribeAccuracyTarget(*target), "±12.5 at 99.9%");
  target = ParseAccuracyTarget("3", "");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->confidence, 950'000);

  EXPECT_EQ(ParseAccuracyTarget("0", "0.95").status().message(),
            "--accuracy: '0' must be above 0 (the ± each noisy count may be off by)");
  EXPECT_EQ(ParseAccuracyTarget("-5", "0.95").status().message(),
            "--accuracy: '-5' is not a decimal number above 0 and at most 10^12 with at most 6 "
            "decimal places");
  EXPECT_EQ(ParseAccuracyTarget("50", "1").status().message(),
            "--confidence: '1' must be strictly between 0 and 1 (or 0% and 100%), e.g. 0.95");
  EXPECT_EQ(ParseAccuracyTarget("50", "0").status().message(),
            "--confidence: '0' must be strictly between 0 and 1 (or 0% and 100%), e.g. 0.95");
  EXPECT_FALSE(ParseAccuracyTarget("50", "1.5").ok());
  EXPECT_FALSE(ParseAccuracyTarget("50", "high").ok());
}

TEST(AccuracyTest, TheTailIsTheExactOneOfThePmf) {
  for (double scale : {0.7, 1.0, 3.5, 17.25, 140.0}) {
    for (int64_t m : {0, 1, 5, 20, 100}) {
      double closed = static_cast<double>(
          LaplaceTailProbability(Rational{static_cast<uint64_t>(scale * 100), 100}, m));
      double summed = TailBySum(scale, m);
      EXPECT_NEAR(closed, summed, 1e-12 + 1e-9 * summed) << "scale " << scale << " m " << m;
    }
  }
}

TEST(AccuracyTest, TheEpsilonIsTheSmallestThatMeetsTheTarget) {
  // One count of sensitivity 1 (an ungrouped COUNT(DISTINCT unit)), ±50 at 95%: the smallest
  // real ε solves 2·p^51/(1+p) = 0.05, p = exp(-ε); here by bisection on the pmf's tail.
  std::vector<Measure> measures = {MakeMeasure(Measure::Kind::kUnits, 1)};
  absl::StatusOr<int64_t> epsilon =
      EpsilonForAccuracy(PlanOf(measures, 1), *ParseAccuracyTarget("50", "0.95"));
  ASSERT_TRUE(epsilon.ok()) << epsilon.status();
  double low = 0.001, high = 10;
  for (int i = 0; i < 200; ++i) {
    double middle = (low + high) / 2;
    (TailBySum(1 / middle, 50) <= 0.05 ? high : low) = middle;
  }
  EXPECT_EQ(*epsilon, static_cast<int64_t>(std::ceil(high * 1e6)));  // rounded up, never down

  // At that ε the shown 95% interval is within the target; one millionth less misses it.
  NoisePlan plan = PlanOf(measures, *epsilon);
  EXPECT_LE(plan.measures[0].half_width, 50);
  EXPECT_LE(LaplaceTailProbability(plan.measures[0].scale, 50), 0.05L);
  NoisePlan less = PlanOf(measures, *epsilon - 1);
  EXPECT_GT(LaplaceTailProbability(less.measures[0].scale, 50), 0.05L);
  EXPECT_EQ(less.measures[0].half_width, 51);
}

TEST(AccuracyTest, EveryMeasureMeetsItsTargetWithTheEpsilonSplitBetweenThem) {
  // GROUP BY with two groups per unit, at most 3 rows per unit: the unit count (Δ 2), COUNT(*)
  // (Δ 6) and a SUM of a column bounded to [-200, 5000] on a grid of cents (Δ 2·(3·500000+1)).
  std::vector<Measure> measures = {
      MakeMeasure(Measure::Kind::kUnits, 2), MakeMeasure(Measure::Kind::kRows, 6),
      MakeMeasure(Measure::Kind::kSum, 2 * (3 * 500'000 + 1), 5000, 2)};
  AccuracyTarget target = *ParseAccuracyTarget("40", "0.9");
  absl::StatusOr<int64_t> epsilon = EpsilonForAccuracy(PlanOf(measures, 1), target);
  ASSERT_TRUE(epsilon.ok()) << epsilon.status();
  NoisePlan plan = PlanOf(measures, *epsilon);
  EXPECT_EQ(TargetGridUnits(plan.measures[2], target), 40 * 5000 * 100);
  bool binding = false;
  for (const Measure& measure : plan.measures) {
    int64_t m = TargetGridUnits(measure, target);
    EXPECT_LE(LaplaceTailProbability(measure.scale, m), 0.1L);
    EXPECT_LE(LaplaceHalfWidth(measure.scale, 0.9), m);
  }
  // The binding measure is the one that misses its target one millionth lower.
  NoisePlan less = PlanOf(measures, *epsilon - 1);
  for (const Measure& measure : less.measures) {
    if (LaplaceTailProbability(measure.scale, TargetGridUnits(measure, target)) > 0.1L) {
      binding = true;
    }
  }
  EXPECT_TRUE(binding);
}

TEST(AccuracyTest, TheSamplerAchievesTheCoverageWithFixedSeeds) {
  std::vector<Measure> measures = {MakeMeasure(Measure::Kind::kUnits, 1),
                                   MakeMeasure(Measure::Kind::kRows, 1)};
  for (auto [accuracy, confidence, seed] :
       {std::tuple{"50", "0.95", 11}, std::tuple{"10", "0.8", 12}, std::tuple{"3", "0.99", 13}}) {
    AccuracyTarget target = *ParseAccuracyTarget(accuracy, confidence);
    const double c = target.confidence / 1e6;
    int64_t epsilon = *EpsilonForAccuracy(PlanOf(measures, 1), target);
    for (int64_t used : {epsilon, epsilon * 8 / 10}) {
      NoisePlan plan = PlanOf(measures, used);
      const int64_t m = TargetGridUnits(plan.measures[1], target);
      const double exact =
          1 - static_cast<double>(LaplaceTailProbability(plan.measures[1].scale, m));
      SeededRandomSource random(seed);
      const int draws = 100'000;
      int within = 0;
      for (int i = 0; i < draws; ++i) {
        int64_t noise = *SampleDiscreteLaplace(random, plan.measures[1].scale);
        if (std::llabs(noise) <= m) ++within;
      }
      double observed = static_cast<double>(within) / draws;
      double sigma = std::sqrt(c * (1 - c) / draws);
      EXPECT_NEAR(observed, exact, 4 * sigma) << accuracy << " at " << confidence;
      if (used == epsilon) {
        EXPECT_GE(exact, c);
        EXPECT_GT(observed, c - 4 * sigma) << accuracy << " at " << confidence;
      } else {
        // 20% less ε visibly misses the target: the computed ε is not a loose bound.
        EXPECT_LT(observed, c - 4 * sigma) << accuracy << " at " << confidence;
      }
    }
  }
}

TEST(AccuracyTest, AnUnreachableTargetIsRefused) {
  std::vector<Measure> measures = {MakeMeasure(Measure::Kind::kUnits, 1'000'000)};
  absl::StatusOr<int64_t> epsilon =
      EpsilonForAccuracy(PlanOf(measures, 1), *ParseAccuracyTarget("0.5", "0.999999"));
  EXPECT_EQ(epsilon.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(epsilon.status().message(),
            "the accuracy target ±0.5 at 99.9999% cannot be met with any epsilon up to 1000: ask "
            "for a wider interval or a lower confidence");
}

}  // namespace
}  // namespace parley::dp
