// Exact samplers for differential privacy, after Canonne, Kamath and Steinke, "The Discrete
// Gaussian for Differential Privacy" (NeurIPS 2020), Algorithms 1–3. Parameters are rationals and
// every step is integer arithmetic on uniform integers from a RandomSource: no floating point is
// sampled or rounded, so the output distribution is exactly the one the privacy proof assumes
// (Mironov's attack on floating-point Laplace noise, "On Significance of the Least Significant
// Bits for Differential Privacy", CCS 2012, finds nothing to exploit: the noise is an integer).
//
//   dp::SystemRandomSource random;
//   PARLEY_ASSIGN_OR_RETURN(int64_t noise, dp::SampleDiscreteLaplace(random, {10, 1}));
//
// Thread safety: as the RandomSource given.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "dp/random_source.h"

namespace parley::dp {

// A non-negative rational numerator/denominator (denominator > 0).
struct Rational {
  uint64_t numerator = 0;
  uint64_t denominator = 1;
  double ToDouble() const { return static_cast<double>(numerator) / denominator; }
};

// Bernoulli(numerator/denominator); requires numerator <= denominator, denominator > 0.
bool SampleBernoulli(RandomSource& random, uint128 numerator, uint128 denominator);

// Bernoulli(exp(-gamma)) for gamma = numerator/denominator >= 0 (CKS Algorithm 1).
bool SampleBernoulliExp(RandomSource& random, uint128 numerator, uint128 denominator);

// The discrete Laplace distribution with scale b > 0: P[Y = y] = (1-p)/(1+p) · p^|y| with
// p = exp(-1/b) (CKS Algorithm 2). Adding it to an integer query of L1 sensitivity Δ gives
// ε-differential privacy when b = Δ/ε. InvalidArgument when b is zero or its parts exceed 2^62.
absl::StatusOr<int64_t> SampleDiscreteLaplace(RandomSource& random, Rational scale);

// The discrete Gaussian with variance parameter σ² > 0: P[Y = y] ∝ exp(-y²/(2σ²)) (CKS
// Algorithm 3: discrete Laplace proposals with scale floor(σ)+1, accepted with probability
// exp(-(|y| - σ²/t)²/(2σ²))). InvalidArgument when σ² is zero or its parts exceed 2^40.
absl::StatusOr<int64_t> SampleDiscreteGaussian(RandomSource& random, Rational sigma_squared);

// The exact probability mass functions, in floating point, for tests and confidence intervals
// (never for sampling).
double DiscreteLaplacePmf(double scale, int64_t y);
double DiscreteGaussianPmf(double sigma_squared, int64_t y);

}  // namespace parley::dp
