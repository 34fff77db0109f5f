// Privacy-budget arithmetic. ε and δ are kept in fixed point — ε in millionths, δ in units of
// 10^-15 — so that a ledger adds them exactly and "what is left" never drifts by rounding.
// Composition is basic (sequential) composition: running mechanisms that are (ε₁, δ₁)- and
// (ε₂, δ₂)-differentially private on the same data is (ε₁+ε₂, δ₁+δ₂)-differentially private
// (Dwork and Roth, "The Algorithmic Foundations of Differential Privacy", Theorem 3.16). It is
// looser than advanced composition but holds for any mix of mechanisms and needs no slack δ.
//
//   PARLEY_ASSIGN_OR_RETURN(dp::PrivacyLoss ask, dp::ParsePrivacyLoss("0.5", "1e-7"));
//   if (!dp::Fits(spent, ask, budget)) ...  // refused: it would overspend
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "dp/samplers.h"

namespace parley::dp {

inline constexpr int64_t kEpsilonUnitsPerOne = 1'000'000;            // ε in millionths
inline constexpr int64_t kDeltaUnitsPerOne = 1'000'000'000'000'000;  // δ in 10^-15

struct PrivacyLoss {
  int64_t epsilon = 0;  // millionths
  int64_t delta = 0;    // 10^-15
  bool operator==(const PrivacyLoss&) const = default;
};

// "0.5", "2", "1e-6": a non-negative decimal with at most 6 decimals for ε (up to 1000) and 15
// for δ (up to 1). InvalidArgument naming `what` and the accepted form otherwise.
absl::StatusOr<int64_t> ParseEpsilon(std::string_view text, std::string_view what = "epsilon");
absl::StatusOr<int64_t> ParseDelta(std::string_view text, std::string_view what = "delta");
// Any such decimal ("0.25", "3", "2.5E-3") as an integer count of 10^-scale units; InvalidArgument
// naming `what` and `range` when it has more precision than the scale, is negative, or exceeds
// `maximum` units.
absl::StatusOr<int64_t> ParseFixedPoint(std::string_view text, int scale, int64_t maximum,
                                        std::string_view what, std::string_view range);
// The shortest exact decimal ("0.5", "2", "0.000001").
std::string FormatEpsilon(int64_t epsilon);
std::string FormatDelta(int64_t delta);

// Basic composition: the sum of the losses.
PrivacyLoss Compose(PrivacyLoss a, PrivacyLoss b);
// Whether spending `ask` on top of `spent` stays within `budget` in both ε and δ.
bool Fits(PrivacyLoss spent, PrivacyLoss ask, PrivacyLoss budget);

// ε as the rational the samplers take.
inline Rational EpsilonRational(int64_t epsilon) {
  return Rational{static_cast<uint64_t>(epsilon), static_cast<uint64_t>(kEpsilonUnitsPerOne)};
}

// --- Mechanism parameters (public values computed from ε, δ and sensitivities) ---

// The discrete Laplace scale b = Δ/ε for an integer query of L1 sensitivity `sensitivity` (in
// grid units) at `epsilon` (millionths), as an exact rational.
Rational LaplaceScale(uint64_t sensitivity, int64_t epsilon);

// The smallest noisy count a group needs to be released when each privacy unit reaches at most
// `max_groups` groups and counts are noised with discrete Laplace of `scale`: a group that exists
// only because of one unit has true count 1, and P[1 + Z >= τ] = p^(τ-1)/(1+p) <= p^(τ-1) with
// p = exp(-1/b), so τ = 1 + ceil(b·ln(max_groups/δ)) keeps the chance that any of its groups
// appears below δ. Floating point computes a public threshold here, never noise; the result is
// rounded up. `delta` in 10^-15 units, > 0.
int64_t SelectionThreshold(Rational scale, int64_t max_groups, int64_t delta);

// The half-width m of the central 95% interval of discrete Laplace noise of `scale`: the smallest
// m with P[|Z| > m] = 2·p^(m+1)/(1+p) <= 0.05. A released value v lies within v ± m of the exact
// (bounded) value with probability at least 95%. With `confidence` for other levels.
int64_t LaplaceHalfWidth(Rational scale, double confidence = 0.95);

}  // namespace parley::dp
