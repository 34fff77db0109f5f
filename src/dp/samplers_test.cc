// Statistical tests of the exact samplers against their exact pmfs. Every test uses a fixed seed,
// so it is deterministic; the thresholds are the chi-square critical values at significance 0.001
// (Wilson–Hilferty approximation), so a correct sampler fails one of them for fewer than 1 in 1000
// seeds, and a sampler off by a visible amount (a wrong scale, a biased sign, a missing tail)
// fails all of them.
#include "dp/samplers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "dp/seeded_random_source.h"

namespace parley::dp {
namespace {

// Chi-square critical value at significance 0.001 for `k` degrees of freedom.
double ChiSquareCritical(int k) {
  const double z = 3.090232;  // upper 0.001 quantile of the standard normal
  double h = 2.0 / (9.0 * k);
  return k * std::pow(1 - h + z * std::sqrt(h), 3);
}

struct Fit {
  double statistic = 0;
  int degrees_of_freedom = 0;
};

// Bins draws by value; values whose expected count is below 5 are pooled into two tail bins.
Fit ChiSquare(const std::map<int64_t, int64_t>& observed, int draws,
              const std::function<double(int64_t)>& pmf, int64_t reach) {
  Fit fit;
  double low_expected = 0, high_expected = 0;
  int64_t low_observed = 0, high_observed = 0;
  int bins = 0;
  for (auto [value, count] : observed) {
    if (value < -reach) low_observed += count;
    if (value > reach) high_observed += count;
  }
  for (int64_t y = -reach; y <= reach; ++y) {
    double expected = pmf(y) * draws;
    auto found = observed.find(y);
    int64_t count = found == observed.end() ? 0 : found->second;
    if (expected < 5) {
      if (y < 0) {
        low_expected += expected;
        low_observed += count;
      } else {
        high_expected += expected;
        high_observed += count;
      }
      continue;
    }
    fit.statistic += (count - expected) * (count - expected) / expected;
    ++bins;
  }
  // The tails beyond `reach`.
  double inside = 0;
  for (int64_t y = -reach; y <= reach; ++y) inside += pmf(y);
  low_expected += (1 - inside) / 2 * draws;
  high_expected += (1 - inside) / 2 * draws;
  for (auto [expected, count] :
       {std::pair{low_expected, low_observed}, std::pair{high_expected, high_observed}}) {
    if (expected <= 0) continue;
    fit.statistic += (count - expected) * (count - expected) / expected;
    ++bins;
  }
  fit.degrees_of_freedom = bins - 1;
  return fit;
}

TEST(BernoulliExpTest, FrequencyMatchesExpMinusGamma) {
  SeededRandomSource random(1);
  for (auto [numerator, denominator] :
       {std::pair{1, 3}, std::pair{0, 1}, std::pair{1, 1}, std::pair{5, 2}, std::pair{7, 7}}) {
    const int draws = 200000;
    int successes = 0;
    for (int i = 0; i < draws; ++i) successes += SampleBernoulliExp(random, numerator, denominator);
    double p = std::exp(-static_cast<double>(numerator) / denominator);
    double standard_error = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(static_cast<double>(successes) / draws, p, 4 * standard_error + 1e-12)
        << numerator << "/" << denominator;
  }
}

TEST(DiscreteLaplaceTest, MatchesExactPmf) {
  for (Rational scale : {Rational{5, 2}, Rational{1, 1}, Rational{1, 3}, Rational{20, 1}}) {
    SeededRandomSource random(7);
    const int draws = 200000;
    std::map<int64_t, int64_t> observed;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < draws; ++i) {
      absl::StatusOr<int64_t> y = SampleDiscreteLaplace(random, scale);
      ASSERT_TRUE(y.ok());
      ++observed[*y];
      sum += *y;
      sum_squares += static_cast<double>(*y) * *y;
    }
    double b = scale.ToDouble();
    Fit fit = ChiSquare(
        observed, draws, [&](int64_t y) { return DiscreteLaplacePmf(b, y); },
        static_cast<int64_t>(20 * b) + 5);
    EXPECT_LT(fit.statistic, ChiSquareCritical(fit.degrees_of_freedom))
        << "scale " << b << ", " << fit.degrees_of_freedom << " degrees of freedom";
    // Mean 0 and variance 2p/(1-p)².
    double p = std::exp(-1 / b);
    double variance = 2 * p / ((1 - p) * (1 - p));
    EXPECT_NEAR(sum / draws, 0, 5 * std::sqrt(variance / draws)) << "scale " << b;
    EXPECT_NEAR(sum_squares / draws / variance, 1, 0.03) << "scale " << b;
  }
}

TEST(DiscreteLaplaceTest, WrongScaleFailsTheTest) {
  // The test can fail: draws of scale 2.5 judged against the pmf of scale 2.3.
  SeededRandomSource random(7);
  const int draws = 200000;
  std::map<int64_t, int64_t> observed;
  for (int i = 0; i < draws; ++i) ++observed[*SampleDiscreteLaplace(random, {5, 2})];
  Fit fit = ChiSquare(
      observed, draws, [&](int64_t y) { return DiscreteLaplacePmf(2.3, y); }, 55);
  EXPECT_GT(fit.statistic, ChiSquareCritical(fit.degrees_of_freedom));
}

TEST(DiscreteLaplaceTest, LargeScaleHasTheRightSpread) {
  // A scale of a sum over an integer grid: 10^6/3.
  SeededRandomSource random(11);
  const int draws = 50000;
  double sum_squares = 0, sum = 0;
  for (int i = 0; i < draws; ++i) {
    double y = static_cast<double>(*SampleDiscreteLaplace(random, {1000000, 3}));
    sum += y;
    sum_squares += y * y;
  }
  double b = 1000000.0 / 3;
  double variance = 2 * b * b;  // the continuous limit, exact to 1e-11 at this scale
  EXPECT_NEAR(sum / draws, 0, 5 * std::sqrt(variance / draws));
  EXPECT_NEAR(sum_squares / draws / variance, 1, 0.05);
}

TEST(DiscreteLaplaceTest, RejectsAZeroScale) {
  SeededRandomSource random(1);
  EXPECT_EQ(SampleDiscreteLaplace(random, {0, 1}).status().message(),
            "discrete Laplace: the scale must be positive");
}

TEST(DiscreteGaussianTest, MatchesExactPmf) {
  for (Rational sigma_squared : {Rational{4, 1}, Rational{1, 2}, Rational{100, 3}}) {
    SeededRandomSource random(3);
    const int draws = 100000;
    std::map<int64_t, int64_t> observed;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < draws; ++i) {
      absl::StatusOr<int64_t> y = SampleDiscreteGaussian(random, sigma_squared);
      ASSERT_TRUE(y.ok());
      ++observed[*y];
      sum += *y;
      sum_squares += static_cast<double>(*y) * *y;
    }
    double s2 = sigma_squared.ToDouble();
    Fit fit = ChiSquare(
        observed, draws, [&](int64_t y) { return DiscreteGaussianPmf(s2, y); },
        static_cast<int64_t>(8 * std::sqrt(s2)) + 3);
    EXPECT_LT(fit.statistic, ChiSquareCritical(fit.degrees_of_freedom)) << "sigma^2 " << s2;
    double variance = 0;
    for (int64_t y = -200; y <= 200; ++y) variance += y * y * DiscreteGaussianPmf(s2, y);
    EXPECT_NEAR(sum / draws, 0, 5 * std::sqrt(variance / draws)) << "sigma^2 " << s2;
    EXPECT_NEAR(sum_squares / draws / variance, 1, 0.04) << "sigma^2 " << s2;
  }
}

TEST(SeededRandomSourceTest, SameSeedSameDraws) {
  SeededRandomSource a(42), b(42), c(43);
  uint64_t first = a.Next64();
  EXPECT_EQ(first, b.Next64());
  EXPECT_NE(first, c.Next64());
}

TEST(SystemRandomSourceTest, DrawsDiffer) {
  SystemRandomSource random;
  EXPECT_NE(random.Next64(), random.Next64());
  for (int i = 0; i < 1000; ++i) EXPECT_LT(UniformBelow(random, 6), 6u);
}

}  // namespace
}  // namespace parley::dp
