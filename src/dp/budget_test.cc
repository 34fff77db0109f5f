#include "dp/budget.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dp/samplers.h"

namespace parley::dp {
namespace {

TEST(BudgetTest, ParsesAndFormatsExactly) {
  EXPECT_EQ(*ParseEpsilon("0.5"), 500000);
  EXPECT_EQ(*ParseEpsilon("2"), 2000000);
  EXPECT_EQ(*ParseEpsilon("1e-6"), 1);
  EXPECT_EQ(*ParseEpsilon("2.50"), 2500000);
  EXPECT_EQ(*ParseDelta("1e-6"), 1000000000);
  EXPECT_EQ(*ParseDelta("0.000001"), 1000000000);
  EXPECT_EQ(FormatEpsilon(500000), "0.5");
  EXPECT_EQ(FormatEpsilon(10000000), "10");
  EXPECT_EQ(FormatEpsilon(1), "0.000001");
  EXPECT_EQ(FormatDelta(1000000000), "0.000001");
  EXPECT_EQ(FormatDelta(0), "0");
}

TEST(BudgetTest, RefusesWhatItCannotHoldExactly) {
  EXPECT_EQ(ParseEpsilon("0.0000001").status().message(),
            "epsilon: '0.0000001' is not a decimal number from 0 to 1000 with at most 6 decimal "
            "places");
  EXPECT_FALSE(ParseEpsilon("-1").ok());
  EXPECT_FALSE(ParseEpsilon("1001").ok());
  EXPECT_FALSE(ParseEpsilon("abc").ok());
  EXPECT_FALSE(ParseEpsilon("").ok());
  EXPECT_FALSE(ParseDelta("2").ok());
  EXPECT_FALSE(ParseDelta("1e-16").ok());
}

TEST(BudgetTest, BasicCompositionAddsAndFitsExactly) {
  PrivacyLoss budget{*ParseEpsilon("1"), *ParseDelta("1e-5")};
  PrivacyLoss ask{*ParseEpsilon("0.1"), *ParseDelta("1e-6")};
  PrivacyLoss spent;
  int runs = 0;
  while (Fits(spent, ask, budget)) {
    spent = Compose(spent, ask);
    ++runs;
  }
  // Ten queries of 0.1 spend exactly 1: no rounding drift lets an eleventh through or stops the
  // tenth.
  EXPECT_EQ(runs, 10);
  EXPECT_EQ(spent, budget);
}

TEST(MechanismTest, LaplaceScaleIsSensitivityOverEpsilon) {
  Rational scale = LaplaceScale(3, *ParseEpsilon("0.5"));
  EXPECT_DOUBLE_EQ(scale.ToDouble(), 6.0);
}

TEST(MechanismTest, SelectionThresholdBoundsTheReleaseOfAOneUnitGroup) {
  Rational scale = LaplaceScale(1, *ParseEpsilon("1"));
  int64_t delta = *ParseDelta("1e-6");
  int64_t threshold = SelectionThreshold(scale, 1, delta);
  EXPECT_EQ(threshold, 1 + static_cast<int64_t>(std::ceil(std::log(1e6))) + 1);  // 16
  // The exact probability that a group of one unit passes is at most δ.
  double p = std::exp(-1 / scale.ToDouble());
  double released = std::pow(p, threshold - 1) / (1 + p);
  EXPECT_LE(released, 1e-6);
}

TEST(MechanismTest, HalfWidthCoversNinetyFivePercent) {
  for (Rational scale : {Rational{1, 1}, Rational{10, 1}, Rational{1000, 7}}) {
    int64_t m = LaplaceHalfWidth(scale);
    double b = scale.ToDouble();
    double inside = 0;
    for (int64_t y = -m; y <= m; ++y) inside += DiscreteLaplacePmf(b, y);
    double inside_smaller = inside - 2 * DiscreteLaplacePmf(b, m);
    EXPECT_GE(inside, 0.95) << b;
    EXPECT_LT(inside_smaller, 0.95) << b;  // and it is the smallest such m
  }
}

}  // namespace
}  // namespace parley::dp
