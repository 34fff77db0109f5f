// Differential privacy through the service with real data (CSV files read by DuckDB): the
// bounded, noised plan; what it refuses; the budget (sequential and under 50 threads); and the
// attacks that beat thresholds — differencing, a tracker, subtracting visible groups from a
// total, padding and double weighting — reproduced with DP on: the recovered value's error has
// the noise's spread, so nothing about the victim is learnt. Noise is drawn from a seeded source
// (Options::noise_random_for_tests), so every run of this test sees the same draws.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dp/seeded_random_source.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;

constexpr int kHouseholds = 2000;
constexpr int kVictim = kHouseholds;  // the one household of size 6, spend 9000
constexpr int64_t kVictimSpend = 9000;

std::string RetailRule(const std::string& privacy) {
  return absl::StrCat(
      R"({"kind": "aggregation",
          "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]},
                                {"columns": ["annual_spend"], "functions": ["SUM", "AVG"]},
                                {"columns": ["visits"], "functions": ["SUM", "COUNT", "AVG"]}],
          "join_columns": ["hashed_email"],
          "dimension_columns": ["age_band", "region", "household_size"],
          "output_constraints": [{"column": "household_id", "minimum": 20}])",
      privacy.empty() ? "" : R"(, "differential_privacy": )" + privacy, "}");
}

constexpr char kPrivacy[] =
    R"({"privacy_unit": "household_id",
        "bounds": [{"column": "annual_spend", "minimum": 0, "maximum": 10000}]})";

constexpr char kLoyaltyRule[] =
    R"({"kind": "aggregation",
        "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
        "join_columns": ["hashed_email"], "dimension_columns": ["tier"],
        "output_constraints": [{"column": "hashed_email", "minimum": 20}]})";

class DifferentialPrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("parley_dp_", ::getpid(), "_", ++counter_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream retail(dir_ / "retail.csv");
    retail << "household_id,hashed_email,age_band,region,household_size,annual_spend,visits\n";
    for (int id = 1; id <= kHouseholds; ++id) {
      int size = id == kVictim ? 6 : 1 + id % 5;
      int64_t spend = id == kVictim ? kVictimSpend : (id * 37) % 10001;
      retail << id << ",e" << id << "," << (id % 2 == 0 ? "18-34" : "35-54") << ","
             << (id % 4 == 0 ? "north" : "south") << "," << size << "," << spend << "," << id % 7
             << "\n";
    }
    retail.close();
    WriteLoyalty(1);
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  // The supplier's table: every household's e-mail once, the victim's `victim_copies` times.
  void WriteLoyalty(int victim_copies) {
    std::ofstream loyalty(dir_ / "loyalty.csv");
    loyalty << "hashed_email,tier\n";
    for (int id = 1; id <= kHouseholds; ++id) {
      for (int copy = 0; copy < (id == kVictim ? victim_copies : 1); ++copy) {
        loyalty << "e" << id << "," << (id % 3 == 0 ? "gold" : "silver") << "\n";
      }
    }
  }

  // A room with the two tables; `budget` empty: no privacy budget.
  void Open(const std::string& privacy, std::optional<catalog::PrivacyBudget> budget) {
    Options options;
    options.noise_random_for_tests = &random_;
    auto opened = Service::Open((dir_ / "home").string(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    service_ = *std::move(opened);
    NewCollaboration room{.name = "room"};
    room.privacy_budget = budget;
    Ok(service_->CreateCollaboration(As("retailer"), room));
    Ok(service_
           ->AddMember(As("retailer"), "room", {"supplier", {Ability::kQuery, Ability::kReceive}})
           .status());
    Ok(service_->AddTable(As("retailer"), {"room", "retail", (dir_ / "retail.csv").string(), {}}));
    Ok(service_->SetRule(As("retailer"), "room", "retail", RetailRule(privacy)));
    Ok(service_->AddTable(As("supplier"),
                          {"room", "loyalty", (dir_ / "loyalty.csv").string(), {}}));
    Ok(service_->SetRule(As("supplier"), "room", "loyalty", kLoyaltyRule));
  }

  static catalog::PrivacyBudget Budget(int64_t epsilon_per_month, int64_t default_epsilon) {
    // ε in millionths, δ in 10^-15: δ 10^-5 a month.
    return catalog::PrivacyBudget{epsilon_per_month * 1'000'000, 10'000'000'000,
                                  default_epsilon * 1'000'000, default_epsilon * 1'000'000};
  }

  static Caller As(const char* name) { return Caller::Embedded(name); }
  static void Ok(const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; }

  absl::StatusOr<QueryOutcome> Run(const std::string& sql, const std::string& epsilon = "") {
    return service_->Run(As("supplier"), "room", sql, {"supplier"}, epsilon);
  }

  // The single value of a one-row, aggregate-first result.
  double Single(const std::string& sql) {
    absl::StatusOr<QueryOutcome> outcome = Run(sql);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok()) return NAN;
    EXPECT_TRUE(outcome->explanation.verdict.allowed())
        << policy::FormatViolations(outcome->explanation.verdict.violations);
    if (!outcome->result.has_value() || outcome->result->rows.size() != 1) {
      ADD_FAILURE() << "expected one row";
      return NAN;
    }
    return std::stod(*outcome->result->rows[0][0]);
  }

  // Repeats an attack that recovers the victim's spend `runs` times; checks that its error has
  // mean 0 and the spread of the difference of `terms` independent noisy sums.
  void ExpectErrorMatchesNoise(const std::function<double()>& attack, int terms, int runs) {
    // One SUM next to the unit count: two measures share ε = 1, so each sum's scale is
    // 2 · (10000 + 1) grid units = 20002, variance ≈ 2 · 20002².
    const double scale = 2 * 10001.0;
    const double expected_sd = std::sqrt(terms * 2 * scale * scale);
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < runs; ++i) {
      double error = attack() - kVictimSpend;
      sum += error;
      sum_squares += error * error;
    }
    double mean = sum / runs;
    double sd = std::sqrt(sum_squares / runs);
    EXPECT_LT(std::fabs(mean), 4 * expected_sd / std::sqrt(runs)) << "mean error " << mean;
    EXPECT_GT(sd, 0.6 * expected_sd) << "error spread " << sd << " vs " << expected_sd;
    EXPECT_LT(sd, 1.5 * expected_sd) << "error spread " << sd << " vs " << expected_sd;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  dp::SeededRandomSource random_{20261129};
  std::unique_ptr<Service> service_;
};

constexpr char kJoin[] = " FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email ";

TEST_F(DifferentialPrivacyTest, GroupedCountsAreNoisedWithIntervalsAndTheBudgetIsSpent) {
  Open(kPrivacy, Budget(10, 1));
  absl::StatusOr<QueryOutcome> outcome =
      Run(absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households", kJoin,
                       "GROUP BY r.age_band"));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->explanation.verdict.allowed())
      << policy::FormatViolations(outcome->explanation.verdict.violations);
  ASSERT_TRUE(outcome->result.has_value());
  const engine::ResultTable& result = *outcome->result;
  ASSERT_EQ(result.columns.size(), 4u);
  EXPECT_EQ(result.columns[1].name, "households");
  EXPECT_EQ(result.columns[2].name, "households_ci95_low");
  EXPECT_EQ(result.columns[3].name, "households_ci95_high");
  ASSERT_EQ(result.rows.size(), 2u);
  for (const auto& row : result.rows) {
    int64_t value = std::stoll(*row[1]);
    EXPECT_NEAR(value, kHouseholds / 2, 30);  // scale 1: within ±30 with overwhelming odds
    EXPECT_EQ(std::stoll(*row[3]) - value, value - std::stoll(*row[2]));
  }
  absl::StatusOr<BudgetView> budget = service_->Budget(As("supplier"), "room");
  ASSERT_TRUE(budget.ok()) << budget.status();
  ASSERT_EQ(budget->spent.size(), 1u);
  EXPECT_EQ(budget->spent[0].epsilon, 1'000'000);
  EXPECT_EQ(budget->spent[0].delta, 1'000'000'000);  // δ in proportion: 10^-5 / 10
  EXPECT_EQ(budget->spent[0].queries, 1);
}

TEST_F(DifferentialPrivacyTest, UnsupportedShapesAreRefusedWithReasons) {
  Open(kPrivacy, Budget(10, 1));
  auto reasons = [&](const std::string& sql) {
    absl::StatusOr<Explanation> explanation = service_->Explain(As("supplier"), "room", sql);
    EXPECT_TRUE(explanation.ok()) << explanation.status();
    std::string text = policy::FormatViolations(explanation->verdict.violations);
    return text;
  };
  EXPECT_EQ(reasons(absl::StrCat("SELECT r.region, SUM(r.visits)", kJoin, "GROUP BY r.region")),
            "  1. with differential privacy on table 'retail', SUM of column 'visits' needs "
            "bounds, and its differential_privacy declares none for it (in SELECT, at line 1, "
            "column 18)\n     rule: aggregation rule of table retail (owner retailer), column "
            "visits\n     hint: its owner 'retailer' can add {\"column\": \"visits\", "
            "\"minimum\": …, \"maximum\": …} to differential_privacy.bounds\n");
  EXPECT_THAT(reasons(absl::StrCat("SELECT r.region, COUNT(r.visits)", kJoin, "GROUP BY r.region")),
              testing::HasSubstr("with differential privacy on table 'retail', COUNT(…) is not "
                                 "supported"));
  EXPECT_THAT(reasons(absl::StrCat("SELECT r.region, SUM(r.annual_spend)", kJoin,
                                   "GROUP BY r.region HAVING SUM(r.annual_spend) > 10")),
              testing::HasSubstr("HAVING is not supported: groups are selected privately"));
  EXPECT_THAT(reasons(absl::StrCat("SELECT r.region, SUM(r.annual_spend) AS s", kJoin,
                                   "GROUP BY r.region ORDER BY 2")),
              testing::HasSubstr("ORDER BY is not supported"));
  EXPECT_THAT(
      reasons(absl::StrCat("SELECT r.region, SUM(r.annual_spend) / 2", kJoin, "GROUP BY r.region")),
      testing::HasSubstr("each aggregate must be selected on its own"));
  // A runner cannot ask for more than one query may spend.
  absl::StatusOr<QueryOutcome> greedy =
      Run(absl::StrCat("SELECT COUNT(DISTINCT r.household_id)", kJoin), "5");
  EXPECT_EQ(greedy.status().message(),
            "--epsilon: 5 is outside what one query may spend in collaboration 'room' (above 0, "
            "at most 1)");
}

TEST_F(DifferentialPrivacyTest, WithoutABudgetAPrivateTableCannotBeQueried) {
  Open(kPrivacy, std::nullopt);
  absl::StatusOr<QueryOutcome> outcome =
      Run(absl::StrCat("SELECT COUNT(DISTINCT r.household_id)", kJoin));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_FALSE(outcome->explanation.verdict.allowed());
  EXPECT_EQ(outcome->explanation.verdict.violations[0].code, "dp_no_budget");
  EXPECT_FALSE(outcome->result.has_value());
}

TEST_F(DifferentialPrivacyTest, TheBudgetRunsOutAfterTheDocumentedNumberOfQueries) {
  // 10 a month at 1 per query: exactly ten queries run; the eleventh spends nothing.
  Open(kPrivacy, Budget(10, 1));
  std::string sql = absl::StrCat("SELECT SUM(r.annual_spend)", kJoin);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Run(sql).ok()) << i;
  absl::StatusOr<QueryOutcome> eleventh = Run(sql);
  EXPECT_EQ(eleventh.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(eleventh.status().message()),
              testing::HasSubstr("the privacy budget of collaboration 'room' for"));
  absl::StatusOr<BudgetView> budget = service_->Budget(As("retailer"), "room");
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->spent[0].epsilon, 10'000'000);
  EXPECT_EQ(budget->spent[0].queries, 10);
  // The refusal is recorded as a rejected query.
  absl::StatusOr<std::vector<QueryView>> queries = service_->ListQueries(As("supplier"), "room");
  ASSERT_TRUE(queries.ok());
  EXPECT_EQ(queries->back().status, "rejected");
}

TEST_F(DifferentialPrivacyTest, FiftyParallelQueriesAgainstABudgetForTenRunExactlyTen) {
  Open(kPrivacy, Budget(10, 1));
  std::string sql = absl::StrCat("SELECT COUNT(DISTINCT r.household_id)", kJoin);
  std::atomic<int> succeeded{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&] {
      absl::StatusOr<QueryOutcome> outcome = Run(sql);
      if (outcome.ok() && outcome->result.has_value()) {
        ++succeeded;
      } else if (absl::IsResourceExhausted(outcome.status())) {
        ++exhausted;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), 10);
  EXPECT_EQ(exhausted.load(), 40);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(service_->Budget(As("retailer"), "room")->spent[0].epsilon, 10'000'000);
}

// Rules compose, the strictest wins: the private table's own minimum (400 households) applies to
// the noisy unit count, above the selection threshold; the threshold-only table's (600 distinct
// e-mails) to its exact count. Of region × tier (north/gold ~167 households, north/silver ~333,
// south/gold ~500, south/silver ~1000, one e-mail each), only south/silver satisfies both.
TEST_F(DifferentialPrivacyTest, AQueryOverAPrivateAndAThresholdOnlyTableSatisfiesBoth) {
  Open(kPrivacy, Budget(10, 1));
  std::string retail_rule = RetailRule(kPrivacy);
  retail_rule.replace(retail_rule.find("\"minimum\": 20"), 13, "\"minimum\": 400");
  Ok(service_->SetRule(As("retailer"), "room", "retail", retail_rule));
  std::string loyalty_rule = kLoyaltyRule;
  loyalty_rule.replace(loyalty_rule.find("\"minimum\": 20"), 13, "\"minimum\": 600");
  Ok(service_->SetRule(As("supplier"), "room", "loyalty", loyalty_rule));
  std::string sql =
      absl::StrCat("SELECT r.region, l.tier, COUNT(DISTINCT r.household_id) AS households", kJoin,
                   "GROUP BY r.region, l.tier");
  absl::StatusOr<Explanation> explanation = service_->Explain(As("supplier"), "room", sql);
  ASSERT_TRUE(explanation.ok()) << explanation.status();
  ASSERT_TRUE(explanation->noise.has_value());
  EXPECT_EQ(explanation->noise->minimum_units, 400);
  EXPECT_LT(explanation->noise->selection_threshold, 400);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<QueryOutcome> outcome = Run(sql);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_TRUE(outcome->result.has_value());
    ASSERT_EQ(outcome->result->rows.size(), 1u) << i;
    EXPECT_EQ(*outcome->result->rows[0][0], "south");
    EXPECT_EQ(*outcome->result->rows[0][1], "silver");
    EXPECT_NEAR(std::stoll(*outcome->result->rows[0][2]), 1000, 30);
  }
  // Without the loyalty table's threshold being stricter, south/gold (~500 ≥ 400) appears too.
  Ok(service_->SetRule(As("supplier"), "room", "loyalty", kLoyaltyRule));
  absl::StatusOr<QueryOutcome> outcome = Run(sql);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->result.has_value());
  EXPECT_EQ(outcome->result->rows.size(), 2u);
}

// Templates may be differentially private: a template over a table with differential privacy
// runs as the same query typed freely would — bounded, noised, spending the runner's ε or what
// its accuracy target costs — and nothing un-noised leaves.
TEST_F(DifferentialPrivacyTest, ATemplateOverAPrivateTableIsNoisedAndSpends) {
  Open(kPrivacy, Budget(10, 2));
  absl::StatusOr<std::string> id = service_->CreateTemplate(
      As("supplier"), {"room",
                       "spend by band",
                       absl::StrCat("SELECT r.age_band, SUM(r.annual_spend) AS spend", kJoin,
                                    "WHERE r.household_size >= :min_size GROUP BY r.age_band"),
                       {"min_size:integer=1"}});
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<QueryOutcome> outcome =
      service_->RunTemplate(As("supplier"), "room", *id, {{"min_size", "2"}}, {}, "0.5");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->explanation.verdict.allowed())
      << policy::FormatViolations(outcome->explanation.verdict.violations);
  ASSERT_TRUE(outcome->explanation.noise.has_value());
  EXPECT_EQ(outcome->explanation.noise->epsilon, 500'000);
  ASSERT_TRUE(outcome->result.has_value());
  ASSERT_EQ(outcome->result->columns.size(), 4u);
  EXPECT_EQ(outcome->result->columns[2].name, "spend_ci95_low");
  EXPECT_EQ(outcome->result->rows.size(), 2u);
  // With an accuracy target instead: ±5 households' worth (±50000) at 90%.
  outcome = service_->RunTemplate(As("supplier"), "room", *id, {}, {}, "", {"5", "0.9"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->explanation.noise.has_value());
  EXPECT_EQ(outcome->explanation.noise->accuracy, "±5 at 90%");
  const int64_t spent = outcome->explanation.noise->epsilon;
  absl::StatusOr<BudgetView> budget = service_->Budget(As("supplier"), "room");
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->spent[0].epsilon, 500'000 + spent);
  EXPECT_EQ(budget->spent[0].queries, 2);
}

// Accuracy first through the service: the ε spent is the one explain computed, and the released
// intervals are no wider than the target.
TEST_F(DifferentialPrivacyTest, AnAccuracyTargetSpendsWhatExplainShowed) {
  Open(kPrivacy, Budget(10, 1));
  std::string sql = absl::StrCat("SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households",
                                 kJoin, "GROUP BY r.age_band");
  absl::StatusOr<Explanation> explanation =
      service_->Explain(As("supplier"), "room", sql, {}, "", {"10", "0.95"});
  ASSERT_TRUE(explanation.ok()) << explanation.status();
  ASSERT_TRUE(explanation->noise.has_value());
  const int64_t epsilon = explanation->noise->epsilon;
  EXPECT_EQ(epsilon, 284'349);  // the least ε with P[|Z| > 10] <= 5% for a count of Δ 1
  EXPECT_EQ(explanation->noise->measures[0].half_width, 10);
  EXPECT_EQ(explanation->epsilon_left, 10'000'000);
  absl::StatusOr<QueryOutcome> outcome =
      service_->Run(As("supplier"), "room", sql, {"supplier"}, "", {"10", "0.95"});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_TRUE(outcome->result.has_value());
  for (const auto& row : outcome->result->rows) {
    EXPECT_EQ(std::stoll(*row[3]) - std::stoll(*row[1]), 10);
  }
  EXPECT_EQ(service_->Budget(As("supplier"), "room")->spent[0].epsilon, epsilon);
  // A query that reads no private table has no accuracy to ask for.
  absl::StatusOr<Explanation> plain = service_->Explain(
      As("supplier"), "room",
      "SELECT tier, COUNT(DISTINCT hashed_email) FROM loyalty GROUP BY tier", {}, "", {"10", ""});
  EXPECT_EQ(plain.status().message(),
            "--accuracy: this query reads no table with differential privacy, so it adds no noise "
            "and has no accuracy to ask for");
}

// --- Contribution bounding, checked exactly: at ε = 1000 the noise of a count has scale 0.003
// (it is 0 but with probability below e^-300), so the bounded aggregates show through. ---

TEST_F(DifferentialPrivacyTest, ContributionBoundingHoldsOnCraftedFanOutData) {
  // Users 1–10 have a row in each of the categories a, b and c (amount 100 each); users 11–15 two
  // rows in b (amount 5000 each). The supplier's table repeats user 1's e-mail five times.
  std::ofstream events(dir_ / "events.csv");
  events << "user_id,email,category,amount\n";
  for (int user = 1; user <= 10; ++user) {
    for (const char* category : {"a", "b", "c"}) {
      events << user << ",u" << user << "," << category << ",100\n";
    }
  }
  for (int user = 11; user <= 15; ++user) {
    for (int row = 0; row < 2; ++row) events << user << ",u" << user << ",b,5000\n";
  }
  for (int user = 16; user <= 18; ++user) events << user << ",u" << user << ",d,100\n";
  events.close();
  std::ofstream tags(dir_ / "tags.csv");
  tags << "email,tag\n";
  for (int user = 1; user <= 18; ++user) {
    for (int copy = 0; copy < (user == 1 ? 5 : 1); ++copy) tags << "u" << user << ",t\n";
  }
  tags.close();
  Options options;
  options.noise_random_for_tests = &random_;
  auto opened = Service::Open((dir_ / "home").string(), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status();
  service_ = *std::move(opened);
  NewCollaboration room{.name = "room"};
  room.privacy_budget =
      catalog::PrivacyBudget{10000'000'000, 10'000'000'000, 1000'000'000, 1000'000'000};
  Ok(service_->CreateCollaboration(As("retailer"), room));
  Ok(service_->AddMember(As("retailer"), "room", {"supplier", {Ability::kQuery, Ability::kReceive}})
         .status());
  Ok(service_->AddTable(As("retailer"), {"room", "events", (dir_ / "events.csv").string(), {}}));
  Ok(service_->SetRule(As("retailer"), "room", "events",
                       R"({"kind": "aggregation",
          "aggregate_columns": [{"columns": ["user_id"], "functions": ["COUNT_DISTINCT", "COUNT"]},
                                {"columns": ["amount"], "functions": ["SUM"]}],
          "join_columns": ["email"], "dimension_columns": ["category"],
          "output_constraints": [{"column": "user_id", "minimum": 2}],
          "differential_privacy": {"privacy_unit": "user_id",
                                   "bounds": [{"column": "amount", "minimum": 0,
                                               "maximum": 1000}]}})"));
  Ok(service_->AddTable(As("supplier"), {"room", "tags", (dir_ / "tags.csv").string(), {}}));
  Ok(service_->SetRule(As("supplier"), "room", "tags",
                       R"({"kind": "aggregation",
                           "aggregate_columns": [{"columns": ["email"],
                                                  "functions": ["COUNT_DISTINCT"]}],
                           "join_columns": ["email"], "dimension_columns": ["tag"],
                           "output_constraints": [{"column": "email", "minimum": 4}]})"));

  auto by_category = [&](const std::string& sql) {
    std::map<std::string, std::vector<double>> rows;
    absl::StatusOr<QueryOutcome> outcome = Run(sql);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok() || !outcome->result) return rows;
    EXPECT_TRUE(outcome->explanation.verdict.allowed())
        << policy::FormatViolations(outcome->explanation.verdict.violations);
    for (const auto& row : outcome->result->rows) {
      std::vector<double>& values = rows[*row[0]];
      for (size_t i = 1; i < row.size(); i += 3) values.push_back(std::stod(*row[i]));
    }
    return rows;
  };
  // One table: each user reaches one group (its first, a), counts one row there, and its sum in a
  // group is clamped to 1000. Category c has no unit left and is not released; d has 3 units,
  // enough for the selection threshold (3 at this ε) and the table's own minimum (2).
  auto single = by_category(
      "SELECT category, COUNT(DISTINCT user_id), COUNT(*), SUM(amount) FROM events GROUP BY "
      "category");
  ASSERT_EQ(single.size(), 3u);
  EXPECT_EQ(single["d"][0], 3);
  EXPECT_EQ(single["a"][0], 10);
  EXPECT_EQ(single["a"][1], 10);
  EXPECT_NEAR(single["a"][2], 1000, 40);  // sum scale 3·1001/1000: ±40 has odds below e^-13
  EXPECT_EQ(single["b"][0], 5);
  EXPECT_EQ(single["b"][1], 5);           // two rows each, one counted
  EXPECT_NEAR(single["b"][2], 5000, 40);  // 10000 each, clamped to 1000
  // Over the join: user 1 matches five rows of tags, and still adds its 100 once.
  auto joined = by_category(
      "SELECT e.category, SUM(e.amount) FROM events e JOIN tags t ON e.email = t.email GROUP BY "
      "e.category");
  EXPECT_NEAR(joined["a"][0], 1000, 40);  // 1400 if user 1 were weighed by its matches
  EXPECT_NEAR(joined["b"][0], 5000, 40);
  // d's 3 e-mails are below the tags table's threshold of 4 distinct e-mails: not released.
  EXPECT_EQ(joined.size(), 2u);
  EXPECT_FALSE(joined.contains("d"));
}

// Unit counts alone run a plan of their own (each unit's groups chosen by an aggregate over the
// groups' ordinals, not a window over the joined rows): the same bounding, checked exactly on
// crafted data with a NULL group key, fan-out and K = 1 and 2.
TEST_F(DifferentialPrivacyTest, UnitCountsKeepEachUnitsFirstGroupsOnCraftedData) {
  // Users 1–10 have a row in each of a, b and c; users 11–15 two rows in b; 16–18 one in d;
  // 19–21 one in a and one without a category (NULL, ordered last); a row without a user is
  // dropped. The supplier's table repeats user 1's e-mail five times.
  std::ofstream events(dir_ / "events.csv");
  events << "user_id,email,category\n";
  for (int user = 1; user <= 10; ++user) {
    for (const char* category : {"c", "b", "a"})
      events << user << ",u" << user << "," << category << "\n";
  }
  for (int user = 11; user <= 15; ++user) {
    for (int row = 0; row < 2; ++row) events << user << ",u" << user << ",b\n";
  }
  for (int user = 16; user <= 18; ++user) events << user << ",u" << user << ",d\n";
  for (int user = 19; user <= 21; ++user)
    events << user << ",u" << user << ",\n" << user << ",u" << user << ",a\n";
  events << ",u22,d\n";
  events.close();
  std::ofstream tags(dir_ / "tags.csv");
  tags << "email,tag\n";
  for (int user = 1; user <= 22; ++user) {
    for (int copy = 0; copy < (user == 1 ? 5 : 1); ++copy) tags << "u" << user << ",t\n";
  }
  tags.close();
  Options options;
  options.noise_random_for_tests = &random_;
  auto opened = Service::Open((dir_ / "home").string(), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status();
  service_ = *std::move(opened);
  NewCollaboration room{.name = "room"};
  room.privacy_budget =
      catalog::PrivacyBudget{10000'000'000, 10'000'000'000, 1000'000'000, 1000'000'000};
  Ok(service_->CreateCollaboration(As("retailer"), room));
  Ok(service_->AddMember(As("retailer"), "room", {"supplier", {Ability::kQuery, Ability::kReceive}})
         .status());
  Ok(service_->AddTable(As("retailer"), {"room", "events", (dir_ / "events.csv").string(), {}}));
  auto set_rule = [&](int max_groups) {
    Ok(service_->SetRule(As("retailer"), "room", "events",
                         absl::StrCat(R"({"kind": "aggregation",
          "aggregate_columns": [{"columns": ["user_id"], "functions": ["COUNT_DISTINCT"]}],
          "join_columns": ["email"], "dimension_columns": ["category"],
          "output_constraints": [{"column": "user_id", "minimum": 2}],
          "differential_privacy": {"privacy_unit": "user_id", "max_groups_per_unit": )",
                                      max_groups, "}}")));
  };
  Ok(service_->AddTable(As("supplier"), {"room", "tags", (dir_ / "tags.csv").string(), {}}));
  Ok(service_->SetRule(As("supplier"), "room", "tags",
                       R"({"kind": "aggregation",
                           "aggregate_columns": [{"columns": ["email"],
                                                  "functions": ["COUNT_DISTINCT"]}],
                           "join_columns": ["email"], "dimension_columns": ["tag"],
                           "output_constraints": [{"column": "email", "minimum": 4}]})"));
  auto units = [&](const std::string& sql) {
    std::map<std::string, double> rows;
    absl::StatusOr<QueryOutcome> outcome = Run(sql);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok() || !outcome->result) return rows;
    EXPECT_TRUE(outcome->explanation.verdict.allowed())
        << policy::FormatViolations(outcome->explanation.verdict.violations);
    for (const auto& row : outcome->result->rows) {
      rows[row[0].value_or("(null)")] = std::stod(*row[1]);
    }
    return rows;
  };
  const std::string single =
      "SELECT category, COUNT(DISTINCT user_id) FROM events GROUP BY category";
  const std::string joined =
      "SELECT e.category, COUNT(DISTINCT e.user_id) FROM events e JOIN tags t ON e.email = "
      "t.email GROUP BY e.category";
  // K = 1: each user in its first group (a before b before c before NULL); b and c keep what no
  // earlier group took; the NULL group and c have no unit left and are not released.
  set_rule(1);
  EXPECT_THAT(units(single),
              ::testing::UnorderedElementsAre(::testing::Pair("a", 13), ::testing::Pair("b", 5),
                                              ::testing::Pair("d", 3)));
  // Over the join, user 1's five matches count once; d's 3 e-mails (user 22 has no user id) are
  // below the tags table's 4, and c's 10 e-mails pass it but c has no unit.
  EXPECT_THAT(units(joined),
              ::testing::UnorderedElementsAre(::testing::Pair("a", 13), ::testing::Pair("b", 5)));
  // K = 2: users 1–10 reach a and b, 19–21 a and the NULL group.
  set_rule(2);
  EXPECT_THAT(units(single), ::testing::UnorderedElementsAre(
                                 ::testing::Pair("a", 13), ::testing::Pair("b", 15),
                                 ::testing::Pair("d", 3), ::testing::Pair("(null)", 3)));
  EXPECT_THAT(units(joined),
              ::testing::UnorderedElementsAre(::testing::Pair("a", 13), ::testing::Pair("b", 15)));
}

// --- The attacks that thresholds cannot stop ---

class AttackTest : public DifferentialPrivacyTest {
 protected:
  static constexpr int kRuns = 60;
  static catalog::PrivacyBudget Plenty() { return Budget(1000, 1); }
};

TEST_F(AttackTest, DifferencingTwoFiltersIsExactWithoutPrivacyAndNoisyWithIt) {
  std::string all = absl::StrCat("SELECT SUM(r.annual_spend)", kJoin);
  std::string without_victim = all + "WHERE r.household_size < 6";
  // Thresholds alone: both results pass every threshold, and their difference is the victim's.
  Open("", std::nullopt);
  EXPECT_EQ(Single(all) - Single(without_victim), kVictimSpend);
  service_.reset();
  fs::remove_all(dir_ / "home");
  Open(kPrivacy, Plenty());
  ExpectErrorMatchesNoise([&] { return Single(all) - Single(without_victim); }, 2, kRuns);
}

TEST_F(AttackTest, ATrackerOverComplementaryConditionsLearnsNothing) {
  // Tracker: T = region = 'north' (large); the victim (id 2000, north) is isolated by
  // SUM(T OR size = 6) + SUM(NOT T OR size = 6) − SUM(all), each group large.
  Open(kPrivacy, Plenty());
  std::string base = absl::StrCat("SELECT SUM(r.annual_spend)", kJoin);
  ExpectErrorMatchesNoise(
      [&] {
        return Single(base + "WHERE r.region = 'north' OR r.household_size = 6") +
               Single(base + "WHERE r.region <> 'north' OR r.household_size = 6") - Single(base);
      },
      3, kRuns);
}

TEST_F(AttackTest, SubtractingVisibleGroupsFromATotalLearnsNothing) {
  // The total minus the groups of size 1 to 5 leaves the victim's group (size 6), whose own row
  // no threshold would show.
  Open(kPrivacy, Plenty());
  std::string total = absl::StrCat("SELECT SUM(r.annual_spend)", kJoin);
  ExpectErrorMatchesNoise(
      [&] {
        double visible = 0;
        for (int size = 1; size <= 5; ++size) {
          visible += Single(absl::StrCat(total, "WHERE r.household_size = ", size));
        }
        return Single(total) - visible;
      },
      6, kRuns / 2);
}

TEST_F(AttackTest, TheVictimsLoneGroupIsNotReleasedEvenWhenPadded) {
  // Padding: the runner repeats the victim's key in its own table so that the victim's group
  // (household_size 6) passes the supplier's threshold of 20; without privacy, retail's own
  // threshold still hides it, and with privacy the group needs a noisy unit count of at least
  // max(τ, 20): a group of one household is (with probability above 1 − δ) never released.
  WriteLoyalty(30);
  Open(kPrivacy, Plenty());
  int released = 0;
  for (int i = 0; i < kRuns; ++i) {
    absl::StatusOr<QueryOutcome> outcome =
        Run(absl::StrCat("SELECT r.household_size, SUM(r.annual_spend) AS spend", kJoin,
                         "GROUP BY r.household_size"));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_TRUE(outcome->result.has_value());
    for (const auto& row : outcome->result->rows) released += *row[0] == "6";
    EXPECT_GE(outcome->result->rows.size(), 5u);  // sizes 1 to 5: 400 households each
  }
  EXPECT_EQ(released, 0);
}

TEST_F(AttackTest, DoubleWeightingTheVictimIsBoundedAndNoised) {
  // The runner repeats the victim's e-mail 7 times in its own table and compares the sum with the
  // sum over the other households: the victim counts once (each row of the private table once
  // per group), and the difference is as noisy as any.
  WriteLoyalty(7);
  Open(kPrivacy, Plenty());
  std::string all = absl::StrCat("SELECT SUM(r.annual_spend)", kJoin);
  ExpectErrorMatchesNoise([&] { return Single(all) - Single(all + "WHERE r.household_size < 6"); },
                          2, kRuns);
}

}  // namespace
}  // namespace parley::service
