// Noising a contribution-bounded aggregate result: what the service does to the engine's exact
// per-group aggregates of a query over a table with differential privacy, after the run and
// before anything is stored or delivered. The rewrite (rewrite/differential_privacy.h) builds the
// NoisePlan together with the bounded engine plan; this file knows nothing of SQL.
//
// Each measure (a count of units, a count of rows, a sum) is an integer on a grid — a count is
// its own grid, a sum of a column with `grid_exponent` d is counted in units of 10^-d — and gets
// discrete Laplace noise of scale sensitivity/ε_share, drawn exactly (samplers.h). A grouped
// result releases a group only if its noisy unit count reaches the selection threshold
// (budget.h: SelectionThreshold); a result without GROUP BY is one group, always released. Every
// released value is post-processing of the noisy measures.
//
//   PARLEY_ASSIGN_OR_RETURN(dp::NoisyResult noisy, dp::ApplyNoise(plan, exact_rows, random));
//
// Thread safety: plain values; ApplyNoise is as safe as the RandomSource given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "dp/random_source.h"
#include "dp/samplers.h"

namespace parley::dp {

struct Measure {
  enum class Kind { kUnits, kRows, kSum, kValueCount };
  Kind kind = Kind::kUnits;
  int engine_column = 0;  // where the exact value is in the engine's row
  int grid_exponent = 0;  // kSum: values are counted in units of 10^-grid_exponent
  // L1 sensitivity in grid units over all groups: how much adding or removing one privacy unit
  // can change the vector of this measure's (grid-rounded) values.
  uint64_t sensitivity = 1;
  // What one unit of a runner's accuracy target is in value units (dp/accuracy.h): 1 for a
  // count, max(|minimum|, |maximum|) of the column's bounds for a sum.
  long double target_unit = 1;
  Rational scale;              // discrete Laplace scale, in grid units (set by SetScales)
  int64_t half_width = 0;      // 95% interval half-width in grid units (set by SetScales)
  int64_t half_width_975 = 0;  // 97.5% half-width, for the two parts of an average
};

struct OutputColumn {
  enum class Kind { kKey, kCount, kSum, kAverage };
  Kind kind = Kind::kKey;
  std::string name;
  std::string engine_type;  // kKey: the engine's type of the key, passed through
  int engine_column = 0;    // kKey
  int measure = 0;          // kCount, kSum; kAverage: the sum
  int count_measure = 0;    // kAverage: the count it divides by
};

struct NoisePlan {
  std::vector<Measure> measures;  // measures[0] is the unit count that selects groups
  std::vector<OutputColumn> outputs;
  bool grouped = false;
  int64_t max_groups_per_unit = 1;
  int64_t minimum_units = 0;        // the table's own output constraint, applied to the noisy count
  int64_t epsilon = 0;              // millionths, the whole query's
  int64_t delta = 0;                // 10^-15; spent only by grouped queries (group selection)
  int64_t selection_threshold = 0;  // set by SetScales for grouped queries
  // When ε was computed from the runner's accuracy target (accuracy.h), the target ("±50 at 95%").
  std::string accuracy;
};

// Splits `plan.epsilon` equally between the measures (basic composition) and sets each measure's
// scale and interval half-widths, and the selection threshold. InvalidArgument when ε is zero, or
// a grouped plan has δ zero (groups cannot then be selected privately).
absl::Status SetScales(NoisePlan& plan);

// A printable scale in value units ("2", "0.5", "12.34"): for explain output and metadata.
std::string ScaleText(const Measure& measure);

struct NoisyResult {
  struct Column {
    std::string name;
    std::string type;
  };
  std::vector<Column> columns;  // the outputs, each aggregate followed by <name>_ci95_low/high
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Noises `rows` (the engine's exact values as text, one vector per group) under `plan`, whose
// scales are set. InvalidArgument when a measure's value does not read as a number (an engine
// result of another shape than the plan's).
absl::StatusOr<NoisyResult> ApplyNoise(
    const NoisePlan& plan, const std::vector<std::vector<std::optional<std::string>>>& rows,
    RandomSource& random);

// Reads an engine's exact decimal text ("1234.50", "-3", "1.5e+20") as an integer count of
// 10^-grid_exponent units, rounded half away from zero.
absl::StatusOr<__int128> ToGridUnits(const std::string& text, int grid_exponent);
// Writes grid units back as a decimal with exactly grid_exponent places ("1234.50").
std::string FromGridUnits(__int128 units, int grid_exponent);

}  // namespace parley::dp
