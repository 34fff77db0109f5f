#include "dp/accuracy.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "dp/budget.h"

namespace parley::dp {
namespace {

constexpr int64_t kMillionths = 1'000'000;
// The relative margin a tail probability must clear (see the header): the long double
// evaluation of a logarithm, an exponential and a product errs by ~10^-18 relative.
constexpr long double kTailMargin = 1e-9L;

// ln P[|Z| > m] for discrete Laplace noise with 1/b = `inverse_scale`:
// ln 2 + (m+1)·ln p − ln(1+p) with ln p = −1/b.
long double LogTail(long double inverse_scale, int64_t m) {
  return std::log(2.0L) - (static_cast<long double>(m) + 1) * inverse_scale -
         std::log1p(std::exp(-inverse_scale));
}

bool Within(long double inverse_scale, int64_t m, long double confidence) {
  long double allowed = 1.0L - confidence;
  if (allowed <= 0) return false;
  return LogTail(inverse_scale, m) <= std::log(allowed) + std::log1p(-kTailMargin);
}

long double InverseScale(Rational scale) {
  return static_cast<long double>(scale.denominator) / static_cast<long double>(scale.numerator);
}

}  // namespace

absl::StatusOr<AccuracyTarget> ParseAccuracyTarget(std::string_view accuracy,
                                                   std::string_view confidence) {
  AccuracyTarget target;
  PARLEY_ASSIGN_OR_RETURN(
      target.accuracy, ParseFixedPoint(accuracy, 6, 1'000'000'000'000 * kMillionths, "--accuracy",
                                       "above 0 and at most 10^12"));
  if (target.accuracy <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--accuracy: '", std::string(accuracy),
                     "' must be above 0 (the ± each noisy count may be off by)"));
  }
  std::string_view text = confidence.empty() ? std::string_view("0.95") : confidence;
  bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  absl::StatusOr<int64_t> parsed =
      ParseFixedPoint(text, percent ? 4 : 6, percent ? 100 * 10'000 : kMillionths, "--confidence",
                      "strictly between 0 and 1 (or 0% and 100%)");
  if (!parsed.ok()) return parsed.status();
  target.confidence = *parsed;
  if (target.confidence <= 0 || target.confidence >= kMillionths) {
    return absl::InvalidArgumentError(
        absl::StrCat("--confidence: '", std::string(confidence),
                     "' must be strictly between 0 and 1 (or 0% and 100%), e.g. 0.95"));
  }
  return target;
}

std::string DescribeAccuracyTarget(const AccuracyTarget& target) {
  std::string percent = FormatEpsilon(target.confidence * 100);
  return absl::StrCat("±", FormatEpsilon(target.accuracy), " at ", percent, "%");
}

long double LaplaceTailProbability(Rational scale, int64_t m) {
  return std::exp(LogTail(InverseScale(scale), m));
}

bool LaplaceWithin(Rational scale, int64_t m, long double confidence) {
  return Within(InverseScale(scale), m, confidence);
}

int64_t TargetGridUnits(const Measure& measure, const AccuracyTarget& target) {
  long double units = static_cast<long double>(target.accuracy) / kMillionths *
                      measure.target_unit * std::pow(10.0L, measure.grid_exponent);
  if (units >= 9e18L) return INT64_MAX;
  // |Z| <= units ⇔ |Z| <= ⌊units⌋ for integer noise; rounding down asks for more, never less.
  return static_cast<int64_t>(std::floor(units));
}

absl::StatusOr<int64_t> EpsilonForAccuracy(const NoisePlan& plan, const AccuracyTarget& target) {
  const long double confidence = static_cast<long double>(target.confidence) / kMillionths;
  const long double shares = static_cast<long double>(plan.measures.size());
  // Each measure's scale at ε (millionths) e is shares·Δ·10^6/e (SetScales), so 1/b = e/(k·Δ·10^6).
  auto meets = [&](int64_t epsilon) {
    for (const Measure& measure : plan.measures) {
      long double inverse_scale = static_cast<long double>(epsilon) /
                                  (shares * static_cast<long double>(measure.sensitivity) *
                                   static_cast<long double>(kEpsilonUnitsPerOne));
      if (!Within(inverse_scale, TargetGridUnits(measure, target), confidence)) return false;
    }
    return true;
  };
  const int64_t most = 1000 * kEpsilonUnitsPerOne;
  if (plan.measures.empty() || !meets(most)) {
    return absl::OutOfRangeError(absl::StrCat(
        "the accuracy target ", DescribeAccuracyTarget(target),
        " cannot be met with any epsilon up to 1000: ask for a wider interval or a lower "
        "confidence"));
  }
  // The tail shrinks as ε grows: the smallest ε that meets the target, by bisection.
  int64_t low = 0, high = most;  // meets(high); !meets(low) or low == 0
  while (high - low > 1) {
    int64_t middle = low + (high - low) / 2;
    if (meets(middle)) {
      high = middle;
    } else {
      low = middle;
    }
  }
  return high;
}

}  // namespace parley::dp
