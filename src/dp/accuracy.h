// Accuracy first: the ε a query must spend for its runner's accuracy target ("each noisy count
// within ±50 with probability 95%"), computed from the exact distribution of the noise Parley
// adds — discrete Laplace (noise.h; no query uses another mechanism) — not from a bound.
//
// For discrete Laplace noise Z of scale b (p = exp(-1/b)), P[|Z| > m] = 2·p^(m+1)/(1+p) exactly
// for every integer m >= 0. A query's ε is split equally between its measures (SetScales), so a
// measure of sensitivity Δ among k gets scale b = k·Δ/ε; the target holds for it when
// P[|Z| > ⌊target⌋] <= 1 - confidence. The ε returned is the smallest number of millionths for
// which every measure meets its target: rounding up to the ledger's grid only narrows the noise.
// The tail is evaluated in long double in logarithms; a ε passes only if it meets the target
// with a relative margin of 10^-9 on the tail probability, far above the evaluation's error, so
// floating point can only make the ε (slightly) larger, never the coverage smaller.
//
// What a target means per value (docs/rules.md, "Accuracy first"):
//   - a count (COUNT(*), COUNT(DISTINCT unit), the count inside an AVG): within ±A of the bounded
//     count;
//   - a SUM (and the sum inside an AVG) of a column with bounds [minimum, maximum]: within
//     ±A·max(|minimum|, |maximum|) of the bounded sum — as accurate as A values at the bound;
//     one target then serves every value whatever the column's unit.
// An AVG is the noisy sum over the noisy count: its own interval follows from the two.
//
//   PARLEY_ASSIGN_OR_RETURN(dp::AccuracyTarget target, dp::ParseAccuracyTarget("50", "0.95"));
//   PARLEY_ASSIGN_OR_RETURN(int64_t epsilon, dp::EpsilonForAccuracy(plan, target));
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "dp/noise.h"
#include "dp/samplers.h"

namespace parley::dp {

struct AccuracyTarget {
  // ±accuracy in a count's units; a sum's is accuracy × its column's bound (Measure::target_unit).
  // In millionths, so that "0.5" or "12.25" are exact.
  int64_t accuracy = 0;
  // The probability with which each value lies within its target, in millionths (950000 = 95%).
  int64_t confidence = 0;
};

// "--accuracy 50", "--confidence 0.95" (or "95%"): accuracy a positive decimal with at most 6
// decimals (at most 10^12), confidence strictly between 0 and 1 with at most 6 decimals (empty:
// 0.95). InvalidArgument naming the flag otherwise.
absl::StatusOr<AccuracyTarget> ParseAccuracyTarget(std::string_view accuracy,
                                                   std::string_view confidence);
// "±50 at 95%".
std::string DescribeAccuracyTarget(const AccuracyTarget& target);

// The exact P[|Z| > m] of discrete Laplace noise of `scale`, in long double (m >= 0).
long double LaplaceTailProbability(Rational scale, int64_t m);
// Whether P[|Z| > m] <= 1 - confidence holds with the margin above.
bool LaplaceWithin(Rational scale, int64_t m, long double confidence);

// A measure's target in its grid units: ⌊accuracy × target_unit × 10^grid_exponent⌋.
int64_t TargetGridUnits(const Measure& measure, const AccuracyTarget& target);

// The smallest ε (millionths) that meets `target` for every measure of `plan` (whose measures,
// sensitivities and target units are set; its epsilon and scales are ignored). OutOfRange when
// even ε 1000 (the most a budget can hold) does not, or a target is below one grid unit.
absl::StatusOr<int64_t> EpsilonForAccuracy(const NoisePlan& plan, const AccuracyTarget& target);

}  // namespace parley::dp
