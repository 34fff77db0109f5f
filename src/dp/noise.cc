#include "dp/noise.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dp/budget.h"

namespace parley::dp {
namespace {

std::string Int128Text(__int128 value) {
  if (value == 0) return "0";
  bool negative = value < 0;
  unsigned __int128 magnitude = negative ? static_cast<unsigned __int128>(-(value + 1)) + 1 : value;
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  return negative ? "-" + digits : digits;
}

long double Power10(int exponent) { return std::pow(10.0L, exponent); }

}  // namespace

absl::Status SetScales(NoisePlan& plan) {
  if (plan.epsilon <= 0) {
    return absl::InvalidArgumentError("differential privacy: epsilon must be positive");
  }
  if (plan.grouped && plan.delta <= 0) {
    return absl::InvalidArgumentError(
        "differential privacy: a query with GROUP BY needs a delta above 0 to select its groups "
        "privately, and this collaboration's budget has none");
  }
  // Basic composition: each of the m measures is ε/m-differentially private.
  const uint64_t shares = plan.measures.size();
  for (Measure& measure : plan.measures) {
    Rational scale = LaplaceScale(measure.sensitivity, plan.epsilon);
    scale.numerator *= shares;
    measure.scale = scale;
    measure.half_width = LaplaceHalfWidth(scale, 0.95);
    measure.half_width_975 = LaplaceHalfWidth(scale, 0.975);
  }
  if (plan.grouped) {
    plan.selection_threshold =
        SelectionThreshold(plan.measures[0].scale, plan.max_groups_per_unit, plan.delta);
  }
  return absl::OkStatus();
}

std::string ScaleText(const Measure& measure) {
  long double value = static_cast<long double>(measure.scale.numerator) /
                      measure.scale.denominator / Power10(measure.grid_exponent);
  std::string text = absl::StrFormat("%.6Lf", value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

absl::StatusOr<__int128> ToGridUnits(const std::string& text, int grid_exponent) {
  auto invalid = [&] {
    return absl::InvalidArgumentError("differential privacy: an aggregate is not a number");
  };
  std::string_view view = text;
  bool negative = !view.empty() && view[0] == '-';
  if (negative || (!view.empty() && view[0] == '+')) view.remove_prefix(1);
  if (view.empty()) return invalid();
  if (view.find_first_of("eE") != std::string_view::npos || view == "inf" || view == "nan") {
    // A floating-point rendering: read it as a long double (a deterministic rounding of the
    // exact value, before any noise; the +1 in the sensitivity covers it).
    char* end = nullptr;
    long double value = std::strtold(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) return invalid();
    long double scaled = std::round(value * Power10(grid_exponent));
    if (std::fabs(scaled) > 1e36L) return invalid();
    return static_cast<__int128>(scaled);
  }
  __int128 units = 0;
  int decimals = -1;
  int next_digit = -1;  // the first digit beyond the grid, for rounding
  for (char c : view) {
    if (c == '.') {
      if (decimals >= 0) return invalid();
      decimals = 0;
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return invalid();
    if (decimals >= 0 && decimals >= grid_exponent) {
      if (next_digit < 0) next_digit = c - '0';
      continue;
    }
    if (units > (static_cast<__int128>(1) << 120)) return invalid();
    units = units * 10 + (c - '0');
    if (decimals >= 0) ++decimals;
  }
  for (int i = decimals < 0 ? 0 : decimals; i < grid_exponent; ++i) units *= 10;
  if (next_digit >= 5) ++units;
  return negative ? -units : units;
}

std::string FromGridUnits(__int128 units, int grid_exponent) {
  if (grid_exponent == 0) return Int128Text(units);
  bool negative = units < 0;
  std::string digits = Int128Text(negative ? -units : units);
  if (static_cast<int>(digits.size()) <= grid_exponent) {
    digits.insert(0, grid_exponent + 1 - digits.size(), '0');
  }
  std::string text = absl::StrCat(digits.substr(0, digits.size() - grid_exponent), ".",
                                  digits.substr(digits.size() - grid_exponent));
  return negative ? "-" + text : text;
}

absl::StatusOr<NoisyResult> ApplyNoise(
    const NoisePlan& plan, const std::vector<std::vector<std::optional<std::string>>>& rows,
    RandomSource& random) {
  NoisyResult result;
  for (const OutputColumn& output : plan.outputs) {
    switch (output.kind) {
      case OutputColumn::Kind::kKey:
        result.columns.push_back({output.name, output.engine_type});
        continue;
      case OutputColumn::Kind::kCount:
        result.columns.push_back({output.name, "BIGINT"});
        break;
      case OutputColumn::Kind::kSum:
        result.columns.push_back(
            {output.name,
             absl::StrCat("DECIMAL(38,", plan.measures[output.measure].grid_exponent, ")")});
        break;
      case OutputColumn::Kind::kAverage:
        result.columns.push_back({output.name, "DOUBLE"});
        break;
    }
    std::string type = result.columns.back().type;
    result.columns.push_back({output.name + "_ci95_low", type});
    result.columns.push_back({output.name + "_ci95_high", type});
  }

  for (const auto& row : rows) {
    // Every measure is noised whether or not the group is released, so that the draws made do
    // not depend on the selection.
    std::vector<__int128> noisy(plan.measures.size());
    for (size_t m = 0; m < plan.measures.size(); ++m) {
      const Measure& measure = plan.measures[m];
      __int128 exact = 0;
      const std::optional<std::string>& text = row.at(measure.engine_column);
      if (text.has_value()) {
        PARLEY_ASSIGN_OR_RETURN(exact, ToGridUnits(*text, measure.grid_exponent));
      }
      PARLEY_ASSIGN_OR_RETURN(int64_t noise, SampleDiscreteLaplace(random, measure.scale));
      noisy[m] = exact + noise;
    }
    if (plan.grouped && (noisy[0] < plan.selection_threshold || noisy[0] < plan.minimum_units)) {
      continue;
    }
    std::vector<std::optional<std::string>> out;
    for (const OutputColumn& output : plan.outputs) {
      switch (output.kind) {
        case OutputColumn::Kind::kKey:
          out.push_back(row.at(output.engine_column));
          break;
        case OutputColumn::Kind::kCount:
        case OutputColumn::Kind::kSum: {
          const Measure& measure = plan.measures[output.measure];
          __int128 value = noisy[output.measure];
          out.push_back(FromGridUnits(value, measure.grid_exponent));
          out.push_back(FromGridUnits(value - measure.half_width, measure.grid_exponent));
          out.push_back(FromGridUnits(value + measure.half_width, measure.grid_exponent));
          break;
        }
        case OutputColumn::Kind::kAverage: {
          // Post-processing: the noisy sum over the noisy count. Its interval combines the two
          // 97.5% intervals (together at least 95%); unbounded (NULL) where the count's interval
          // reaches zero.
          const Measure& sum = plan.measures[output.measure];
          const Measure& count = plan.measures[output.count_measure];
          long double grid = Power10(-sum.grid_exponent);
          long double s = static_cast<long double>(noisy[output.measure]) * grid;
          long double c = static_cast<long double>(noisy[output.count_measure]);
          long double ds = sum.half_width_975 * grid;
          long double dc = count.half_width_975;
          auto text = [](long double v) { return absl::StrFormat("%.6Lf", v); };
          if (c <= 0) {
            out.push_back(std::nullopt);
            out.push_back(std::nullopt);
            out.push_back(std::nullopt);
            break;
          }
          out.push_back(text(s / c));
          if (c - dc <= 0) {
            out.push_back(std::nullopt);
            out.push_back(std::nullopt);
            break;
          }
          long double low = std::min((s - ds) / (c + dc), (s - ds) / (c - dc));
          long double high = std::max((s + ds) / (c - dc), (s + ds) / (c + dc));
          out.push_back(text(low));
          out.push_back(text(high));
          break;
        }
      }
    }
    result.rows.push_back(std::move(out));
  }
  return result;
}

}  // namespace parley::dp
