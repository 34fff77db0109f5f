// Mironov's floating-point attack ("On Significance of the Least Significant Bits for
// Differential Privacy", 2012) run against what the real query path releases: Service::Run of a
// query over a table with differential privacy, on two neighbouring datasets (with and without
// one household), many times each.
//
// The attack: a textbook Laplace sampler computes x + b·ln(u) in doubles, with u on the 2^-53
// grid, and the doubles it can produce around x are a sparse, irregular set that depends on x. So
// given an output y and two candidate true values, an attacker recomputes which of them could
// have produced y at all; whenever only one could, the dataset is known with certainty. Run
// against such a sampler (the positive control below, with the same true values and scales as
// Parley's), the attack identifies the dataset in over a quarter of outputs and is never wrong.
// Run against Parley's outputs — exact discrete Laplace on an integer grid (dp/samplers.h) — its
// verdicts are right no more often than wrong, every value and interval bound lies on the
// declared grid (no digits beyond it, even where the exact sum has some), and the low-order
// digits of the outputs are distributed alike on both datasets.
//
// Noise comes from a seeded source (Options::noise_random_for_tests) and the control from a
// seeded generator, so every run of this test sees the same draws.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "dp/seeded_random_source.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;

constexpr int kRuns = 150;  // per dataset

// The textbook floating-point Laplace sampler Mironov attacked: u uniform on the 2^-53 grid in
// (0, 1], a sign bit, x ± b·(-ln u) in doubles.
double TextbookLaplace(double x, double b, uint64_t bits) {
  double u = static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
  double noise = -b * std::log(u);
  return (bits & 1) ? x + noise : x - noise;
}

// Could TextbookLaplace(x, b, ·) have produced y? Tries every u on the grid whose noise lands
// within one unit in the last place of y.
bool TextbookCouldProduce(double y, double x, double b) {
  double u0 = std::exp(-std::fabs(y - x) / b);
  int64_t k0 = std::llround(u0 * 0x1.0p53);
  double ulp = std::nextafter(std::fabs(y), INFINITY) - std::fabs(y);
  int64_t window = static_cast<int64_t>(std::ceil(ulp * 0x1.0p53 / b)) + 16;
  for (int64_t k = k0 - window; k <= k0 + window; ++k) {
    if (k < 1 || k > (int64_t{1} << 53)) continue;
    double noise = -b * std::log(static_cast<double>(k) * 0x1.0p-53);
    if (x + noise == y || x - noise == y) return true;
  }
  return false;
}

// The attack's score over outputs of both datasets: how often it says "only the dataset that
// was used" minus how often it says "only the other one", over all outputs (1: always right, 0:
// no better than guessing), and how often it decides at all.
struct AttackScore {
  int right = 0;
  int wrong = 0;
  int outputs = 0;
  double Advantage() const { return static_cast<double>(right - wrong) / outputs; }
  double Decided() const { return static_cast<double>(right + wrong) / outputs; }
};

void Judge(AttackScore& score, double y, double used, double other, double b) {
  bool from_used = TextbookCouldProduce(y, used, b);
  bool from_other = TextbookCouldProduce(y, other, b);
  ++score.outputs;
  if (from_used && !from_other) ++score.right;
  if (from_other && !from_used) ++score.wrong;
}

// Pearson's chi-square of the two datasets' histograms of the outputs' last digit (in grid
// units) against their pooled distribution.
double LastDigitChiSquare(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  double counts[2][10] = {};
  for (int64_t v : a) counts[0][((v % 10) + 10) % 10] += 1;
  for (int64_t v : b) counts[1][((v % 10) + 10) % 10] += 1;
  double total = static_cast<double>(a.size() + b.size());
  double chi = 0;
  for (int digit = 0; digit < 10; ++digit) {
    double column = counts[0][digit] + counts[1][digit];
    for (int side = 0; side < 2; ++side) {
      double expected = column * (side == 0 ? a.size() : b.size()) / total;
      if (expected > 0) chi += std::pow(counts[side][digit] - expected, 2) / expected;
    }
  }
  return chi;
}

// Grid units of a released decimal text with exactly `decimals` places ("-12.30" → -1230).
int64_t GridUnits(const std::string& text, int decimals) {
  std::string digits = text;
  if (decimals > 0) digits.erase(digits.size() - decimals - 1, 1);
  return std::stoll(digits);
}

class FloatingPointAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("parley_dp_fp_", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Four households, and the same four plus the victim, whose spend has a digit beyond the
    // cent (the exact sum of D' does too: 272.705).
    const char* rows = "1,north,12.34\n2,south,56.78\n3,north,90.12\n4,south,34.56\n";
    std::ofstream(dir_ / "without_victim.csv") << "household_id,region,spend\n" << rows;
    std::ofstream(dir_ / "with_victim.csv") << "household_id,region,spend\n"
                                            << rows << "5,north,78.905\n";
    Options options;
    options.noise_random_for_tests = &random_;
    auto opened = Service::Open((dir_ / "home").string(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    service_ = *std::move(opened);
    NewCollaboration room{.name = "room"};
    // ε 1000 a month, 0.2 per query.
    room.privacy_budget = catalog::PrivacyBudget{1000'000'000, 10'000'000'000, 200'000, 200'000};
    Ok(service_->CreateCollaboration(As("retailer"), room));
    Ok(service_
           ->AddMember(As("retailer"), "room", {"supplier", {Ability::kQuery, Ability::kReceive}})
           .status());
    for (const char* table : {"without_victim", "with_victim"}) {
      Ok(service_->AddTable(As("retailer"),
                            {"room", table, (dir_ / absl::StrCat(table, ".csv")).string(), {}}));
      Ok(service_->SetRule(As("retailer"), "room", table,
                           R"({"kind": "aggregation",
              "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]},
                                    {"columns": ["spend"], "functions": ["SUM"]}],
              "dimension_columns": ["region"],
              "output_constraints": [{"column": "household_id", "minimum": 2}],
              "differential_privacy": {"privacy_unit": "household_id",
                  "bounds": [{"column": "spend", "minimum": 0, "maximum": 100}]}})"));
    }
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  static Caller As(const char* name) { return Caller::Embedded(name); }
  static void Ok(const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; }

  fs::path dir_;
  dp::SeededRandomSource random_{1012};
  std::unique_ptr<Service> service_;
};

TEST_F(FloatingPointAttackTest, FindsNothingInWhatTheQueryPathReleases) {
  // The true values on each dataset: 4 or 5 households; a spend of 193.80 or 272.705.
  const double households[2] = {4, 5};
  const double spend[2] = {193.80, 272.705};
  const std::regex integer("-?[0-9]+");
  const std::regex cents("-?[0-9]+\\.[0-9]{2}");

  // Released counts and sums in grid units, per dataset.
  std::vector<int64_t> counts[2], sums[2];
  AttackScore on_counts, on_sums;
  double count_scale = 0, sum_scale = 0;
  for (int run = 0; run < kRuns; ++run) {
    for (int dataset = 0; dataset < 2; ++dataset) {
      absl::StatusOr<QueryOutcome> outcome = service_->Run(
          As("supplier"), "room",
          absl::StrCat("SELECT COUNT(DISTINCT household_id) AS households, SUM(spend) AS spend "
                       "FROM ",
                       dataset == 0 ? "without_victim" : "with_victim"),
          {"supplier"});
      ASSERT_TRUE(outcome.ok()) << outcome.status();
      ASSERT_TRUE(outcome->explanation.verdict.allowed());
      ASSERT_TRUE(outcome->explanation.noise.has_value());
      ASSERT_TRUE(outcome->result.has_value());
      ASSERT_EQ(outcome->result->rows.size(), 1u);
      const dp::NoisePlan& plan = *outcome->explanation.noise;
      // The scales the runner is shown, in value units: the attacker knows them too.
      const dp::Measure& units = plan.measures[0];
      const dp::Measure& sum = plan.measures[1];
      count_scale = static_cast<double>(units.scale.numerator) / units.scale.denominator;
      sum_scale = static_cast<double>(sum.scale.numerator) / sum.scale.denominator / 100;
      ASSERT_EQ(sum.grid_exponent, 2);
      // households, its interval, spend, its interval: every value on its grid, nothing beyond.
      const auto& row = outcome->result->rows[0];
      ASSERT_EQ(row.size(), 6u);
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(row[i].has_value() && std::regex_match(*row[i], integer)) << *row[i];
        ASSERT_TRUE(row[3 + i].has_value() && std::regex_match(*row[3 + i], cents)) << *row[3 + i];
      }
      int64_t count = std::stoll(*row[0]);
      int64_t cents_value = GridUnits(*row[3], 2);
      // The intervals are the value ± the published half-width, exactly.
      EXPECT_EQ(std::stoll(*row[1]), count - units.half_width);
      EXPECT_EQ(std::stoll(*row[2]), count + units.half_width);
      EXPECT_EQ(GridUnits(*row[4], 2), cents_value - sum.half_width);
      EXPECT_EQ(GridUnits(*row[5], 2), cents_value + sum.half_width);
      counts[dataset].push_back(count);
      sums[dataset].push_back(cents_value);
      Judge(on_counts, static_cast<double>(count), households[dataset], households[1 - dataset],
            count_scale);
      Judge(on_sums, std::stod(*row[3]), spend[dataset], spend[1 - dataset], sum_scale);
    }
  }
  ASSERT_EQ(count_scale, 10);            // 2 measures sharing ε = 0.2, sensitivity 1
  ASSERT_EQ(sum_scale, 100010 / 100.0);  // sensitivity 100·100 + 1 cents

  // The control: the same attack against the textbook sampler at the same true values and
  // scales identifies the dataset in over a quarter of outputs, and is never wrong.
  std::mt19937_64 bits(7);
  AttackScore control_counts, control_sums;
  for (int run = 0; run < kRuns; ++run) {
    for (int dataset = 0; dataset < 2; ++dataset) {
      Judge(control_counts, TextbookLaplace(households[dataset], count_scale, bits()),
            households[dataset], households[1 - dataset], count_scale);
      Judge(control_sums, TextbookLaplace(spend[dataset], sum_scale, bits()), spend[dataset],
            spend[1 - dataset], sum_scale);
    }
  }
  EXPECT_EQ(control_counts.wrong, 0);
  EXPECT_EQ(control_sums.wrong, 0);
  EXPECT_GT(control_counts.Advantage(), 0.25) << control_counts.right;
  EXPECT_GT(control_sums.Advantage(), 0.25) << control_sums.right;
  std::cout << "attack on the textbook sampler: counts " << control_counts.right << " right, "
            << control_counts.wrong << " wrong; sums " << control_sums.right << " right, "
            << control_sums.wrong << " wrong, of " << control_counts.outputs << " outputs each\n"
            << "attack on Parley's outputs: counts " << on_counts.right << " right, "
            << on_counts.wrong << " wrong; sums " << on_sums.right << " right, " << on_sums.wrong
            << " wrong\n";

  // Against Parley's outputs its verdicts carry no such information: right about as often as
  // wrong. (ε = 0.2 bounds any test's advantage at e^0.2 - 1 ≈ 0.22 times its decision rate; the
  // margin below is that plus three standard errors of 300 outputs.)
  EXPECT_LT(std::fabs(on_counts.Advantage()), 0.15)
      << on_counts.right << " right, " << on_counts.wrong << " wrong";
  EXPECT_LT(std::fabs(on_sums.Advantage()), 0.15)
      << on_sums.right << " right, " << on_sums.wrong << " wrong";

  // Low-order digits: the last digit of the released counts and sums (in cents) has the same
  // distribution on both datasets (chi-square with 9 degrees of freedom below its 0.999 quantile,
  // 27.88).
  EXPECT_LT(LastDigitChiSquare(counts[0], counts[1]), 27.88);
  EXPECT_LT(LastDigitChiSquare(sums[0], sums[1]), 27.88);
}

}  // namespace
}  // namespace parley::service
