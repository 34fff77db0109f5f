#include "dp/samplers.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace parley::dp {
namespace {

constexpr uint64_t kMaxLaplacePart = uint64_t{1} << 62;
constexpr uint64_t kMaxGaussianPart = uint64_t{1} << 40;

uint64_t IntegerSquareRoot(uint64_t n) {
  uint64_t root = static_cast<uint64_t>(std::sqrt(static_cast<long double>(n)));
  while (root * root > n) --root;
  while ((root + 1) * (root + 1) <= n) ++root;
  return root;
}

}  // namespace

bool SampleBernoulli(RandomSource& random, uint128 numerator, uint128 denominator) {
  return UniformBelow128(random, denominator) < numerator;
}

bool SampleBernoulliExp(RandomSource& random, uint128 numerator, uint128 denominator) {
  // gamma > 1: exp(-gamma) = exp(-1)^floor(gamma) · exp(-(gamma - floor(gamma))), each factor an
  // independent trial; stop at the first failure.
  while (numerator > denominator) {
    if (!SampleBernoulliExp(random, 1, 1)) return false;
    numerator -= denominator;
  }
  // gamma in [0, 1]: draw A_k ~ Bernoulli(gamma/k) for k = 1, 2, ... until one fails; the first
  // failing k is odd with probability exactly exp(-gamma).
  uint128 k = 1;
  for (;;) {
    // gamma/k = numerator / (denominator · k); denominator · k cannot overflow in practice (the
    // loop passes k with probability 1/k!), and stopping early would bias the result, so a
    // product that would overflow counts as a failed trial only when k is astronomically large.
    uint128 scaled;
    if (__builtin_mul_overflow(denominator, k, &scaled)) return k % 2 == 1;
    if (!SampleBernoulli(random, numerator, scaled)) break;
    ++k;
  }
  return k % 2 == 1;
}

absl::StatusOr<int64_t> SampleDiscreteLaplace(RandomSource& random, Rational scale) {
  // Scale t/s in CKS's notation: t = numerator, s = denominator.
  if (scale.numerator == 0 || scale.denominator == 0) {
    return absl::InvalidArgumentError("discrete Laplace: the scale must be positive");
  }
  if (scale.numerator > kMaxLaplacePart || scale.denominator > kMaxLaplacePart) {
    return absl::InvalidArgumentError("discrete Laplace: the scale's parts must be below 2^62");
  }
  const uint128 t = scale.numerator;
  const uint128 s = scale.denominator;
  for (;;) {
    uint128 u = UniformBelow128(random, t);
    if (!SampleBernoulliExp(random, u, t)) continue;
    uint128 v = 0;
    while (SampleBernoulliExp(random, 1, 1)) ++v;
    uint128 x = u + t * v;
    uint128 y = x / s;
    bool negative = SampleBernoulli(random, 1, 2);
    if (negative && y == 0) continue;
    if (y > static_cast<uint128>(INT64_MAX)) continue;  // probability below exp(-2^62/scale)
    int64_t magnitude = static_cast<int64_t>(y);
    return negative ? -magnitude : magnitude;
  }
}

absl::StatusOr<int64_t> SampleDiscreteGaussian(RandomSource& random, Rational sigma_squared) {
  const uint64_t n = sigma_squared.numerator;
  const uint64_t d = sigma_squared.denominator;
  if (n == 0 || d == 0) {
    return absl::InvalidArgumentError("discrete Gaussian: the variance must be positive");
  }
  if (n > kMaxGaussianPart || d > kMaxGaussianPart) {
    return absl::InvalidArgumentError("discrete Gaussian: the variance's parts must be below 2^40");
  }
  // t = floor(σ) + 1 = floor(sqrt(floor(n/d))) + 1.
  const uint64_t t = IntegerSquareRoot(n / d) + 1;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(int64_t y, SampleDiscreteLaplace(random, Rational{t, 1}));
    // Accept with probability exp(-(|y| - σ²/t)² / (2σ²)) = exp(-(|y|·t·d - n)² / (2·n·d·t²)).
    uint128 magnitude = static_cast<uint128>(std::llabs(y));
    uint128 scaled;
    if (__builtin_mul_overflow(magnitude, static_cast<uint128>(t) * d, &scaled)) continue;
    uint128 difference = scaled > n ? scaled - n : n - scaled;
    uint128 numerator;
    if (__builtin_mul_overflow(difference, difference, &numerator)) continue;  // |y| ≫ σ: reject
    uint128 denominator = static_cast<uint128>(2) * n * d * t * t;
    if (SampleBernoulliExp(random, numerator, denominator)) return y;
  }
}

double DiscreteLaplacePmf(double scale, int64_t y) {
  double p = std::exp(-1.0 / scale);
  return (1 - p) / (1 + p) * std::pow(p, static_cast<double>(std::llabs(y)));
}

double DiscreteGaussianPmf(double sigma_squared, int64_t y) {
  double normaliser = 0;
  int64_t reach = static_cast<int64_t>(std::ceil(40 * std::sqrt(sigma_squared))) + 10;
  for (int64_t z = -reach; z <= reach; ++z) {
    normaliser += std::exp(-static_cast<double>(z) * z / (2 * sigma_squared));
  }
  return std::exp(-static_cast<double>(y) * y / (2 * sigma_squared)) / normaliser;
}

}  // namespace parley::dp
