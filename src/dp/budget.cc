#include "dp/budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dp/accuracy.h"

namespace parley::dp {
absl::StatusOr<int64_t> ParseFixedPoint(std::string_view text, int scale, int64_t maximum,
                                        std::string_view what, std::string_view range) {
  auto invalid = [&]() {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": '", std::string(text),
                                                   "' is not a decimal number ", std::string(range),
                                                   " with at most ", scale, " decimal places"));
  };
  std::string_view mantissa = text;
  int exponent = 0;
  if (size_t e = text.find_first_of("eE"); e != std::string_view::npos) {
    mantissa = text.substr(0, e);
    if (!absl::SimpleAtoi(std::string(text.substr(e + 1)), &exponent) || exponent < -40 ||
        exponent > 40) {
      return invalid();
    }
  }
  if (mantissa.empty() || mantissa.size() > 40) return invalid();
  std::string digits;
  int decimals = 0;
  bool point = false;
  for (char c : mantissa) {
    if (c == '.' && !point) {
      point = true;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      if (point) ++decimals;
    } else {
      return invalid();
    }
  }
  if (digits.empty()) return invalid();
  // value = digits · 10^(exponent - decimals); in units: digits · 10^(exponent - decimals + scale)
  int shift = exponent - decimals + scale;
  while (shift < 0) {
    if (digits.size() <= 1 || digits.back() != '0') {
      if (digits.find_first_not_of('0') == std::string::npos) return int64_t{0};
      return invalid();  // more precision than the scale holds
    }
    digits.pop_back();
    ++shift;
  }
  __int128 value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > maximum) return invalid();
  }
  for (int i = 0; i < shift; ++i) {
    value *= 10;
    if (value > maximum) return invalid();
  }
  return static_cast<int64_t>(value);
}

namespace {

std::string FormatFixed(int64_t value, int scale) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) <= scale) {
    digits.insert(0, scale + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - scale);
  std::string fraction = digits.substr(digits.size() - scale);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return fraction.empty() ? whole : absl::StrCat(whole, ".", fraction);
}

}  // namespace

absl::StatusOr<int64_t> ParseEpsilon(std::string_view text, std::string_view what) {
  return ParseFixedPoint(text, 6, 1000 * kEpsilonUnitsPerOne, what, "from 0 to 1000");
}

absl::StatusOr<int64_t> ParseDelta(std::string_view text, std::string_view what) {
  return ParseFixedPoint(text, 15, kDeltaUnitsPerOne, what, "from 0 to 1");
}

std::string FormatEpsilon(int64_t epsilon) { return FormatFixed(epsilon, 6); }
std::string FormatDelta(int64_t delta) { return FormatFixed(delta, 15); }

PrivacyLoss Compose(PrivacyLoss a, PrivacyLoss b) {
  return PrivacyLoss{a.epsilon + b.epsilon, a.delta + b.delta};
}

bool Fits(PrivacyLoss spent, PrivacyLoss ask, PrivacyLoss budget) {
  PrivacyLoss total = Compose(spent, ask);
  return total.epsilon <= budget.epsilon && total.delta <= budget.delta;
}

Rational LaplaceScale(uint64_t sensitivity, int64_t epsilon) {
  // b = Δ / (epsilon / 10^6) = Δ · 10^6 / epsilon.
  return Rational{sensitivity * static_cast<uint64_t>(kEpsilonUnitsPerOne),
                  static_cast<uint64_t>(epsilon)};
}

int64_t SelectionThreshold(Rational scale, int64_t max_groups, int64_t delta) {
  long double b = static_cast<long double>(scale.numerator) / scale.denominator;
  long double d = static_cast<long double>(delta) / kDeltaUnitsPerOne;
  long double reach = b * std::log(static_cast<long double>(max_groups) / d);
  // One more than the ceiling: the margin absorbs any rounding of log and division.
  return 1 + static_cast<int64_t>(std::ceil(reach)) + 1;
}

int64_t LaplaceHalfWidth(Rational scale, double confidence) {
  long double b = static_cast<long double>(scale.numerator) / scale.denominator;
  long double p = std::exp(-1.0L / b);
  long double tail = 1.0L - confidence;
  // 2·p^(m+1)/(1+p) <= tail  ⇔  m + 1 >= ln(tail·(1+p)/2) / ln p.
  long double m = std::log(tail * (1 + p) / 2) / std::log(p) - 1;
  constexpr int64_t kWidest = int64_t{1} << 61;
  int64_t estimate = m <= 0 ? 0 : m >= kWidest ? kWidest : static_cast<int64_t>(std::ceil(m));
  // The estimate may be off where ln rounds; the exact tail (accuracy.h) settles it, erring only
  // towards the wider interval: the smallest m it accepts, by bisection around the estimate.
  int64_t low = estimate - 1, high = estimate;  // low == -1 or rejected; high accepted
  while (high < kWidest && !LaplaceWithin(scale, high, confidence)) {
    low = high;
    high = std::min(kWidest, 2 * high + 1);
  }
  while (low >= 0 && LaplaceWithin(scale, low, confidence)) {
    high = low;
    low = low / 2 - 1;
  }
  while (high - low > 1) {
    int64_t middle = low + (high - low) / 2;
    (LaplaceWithin(scale, middle, confidence) ? high : low) = middle;
  }
  return high;
}

}  // namespace parley::dp
