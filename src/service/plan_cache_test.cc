// The service's cache of compiled queries (query/plan_cache.h) seen from outside: a repeat is a
// hit, and every attempt to be served a verdict that no longer holds — a rule changed between
// two identical queries, an ability revoked, a template approved or revoked, another runner or
// another collaboration with the same SQL, other receivers — is judged afresh.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Caller;

constexpr char kRetailRule[] = R"({"kind": "aggregation",
  "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
  "join_columns": ["hashed_email"], "join_required": "query_runner",
  "dimension_columns": ["age_band"],
  "output_constraints": [{"column": "household_id", "minimum": 5, "type": "count_distinct"}]})";

// As kRetailRule without age_band as a dimension: the query below is refused under it.
constexpr char kNoDimensionRule[] = R"({"kind": "aggregation",
  "aggregate_columns": [{"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]}],
  "join_columns": ["hashed_email"], "join_required": "query_runner",
  "dimension_columns": [],
  "output_constraints": [{"column": "household_id", "minimum": 5, "type": "count_distinct"}]})";

constexpr char kLoyaltyRule[] = R"({"kind": "aggregation",
  "aggregate_columns": [{"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}],
  "join_columns": ["hashed_email"], "dimension_columns": ["tier"],
  "output_constraints": [{"column": "hashed_email", "minimum": 2, "type": "count_distinct"}]})";

constexpr char kQuery[] =
    "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS n FROM retail r JOIN loyalty l ON "
    "r.hashed_email = l.hashed_email GROUP BY r.age_band ORDER BY r.age_band";

constexpr char kVisitsRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})";
constexpr char kTemplateSql[] =
    "SELECT r.age_band, COUNT(*) AS n FROM retail r WHERE r.household_id >= :min_id "
    "GROUP BY r.age_band ORDER BY r.age_band";

class PlanCacheServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_plan_cache_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string retail = "household_id,hashed_email,age_band\n";
    for (int i = 1; i <= 40; ++i) {
      absl::StrAppendFormat(&retail, "%d,e%02d,%s\n", i, i, i % 10 == 0 ? "65+" : "18-64");
    }
    std::ofstream(dir_ / "retail.csv") << retail;
    std::string loyalty = "hashed_email,tier\n";
    for (int i = 1; i <= 30; ++i) absl::StrAppendFormat(&loyalty, "e%02d,%s\n", i, "gold");
    std::ofstream(dir_ / "loyalty.csv") << loyalty;
    Open(256);
    MakeRoom("campaign", kRetailRule);
  }

  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  void Open(size_t entries) {
    service_.reset();
    Options options;
    options.clock = [] { return 1'700'000'000; };
    options.plan_cache_entries = entries;
    options.on_plan_cache_hit = [this] { ++hits_; };
    ASSERT_OK_AND_ASSIGN(service_, Service::Open((dir_ / "home").string(), options));
  }

  // The retailer (no abilities) owns `retail`; the supplier (query, receive) owns `loyalty`; the
  // analyst may query and receive and owns nothing.
  void MakeRoom(const std::string& name, const std::string& retail_rule) {
    NewCollaboration room;
    room.name = name;
    room.creator_abilities = {};
    room.auto_approve = {"add_member", "abilities"};
    ASSERT_OK(service_->CreateCollaboration(Caller::Embedded("retailer"), room));
    ASSERT_OK(service_->AddMember(
        Caller::Embedded("retailer"), name,
        {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}}));
    ASSERT_OK(
        service_->AddMember(Caller::Embedded("retailer"), name,
                            {"analyst", {identity::Ability::kQuery, identity::Ability::kReceive}}));
    ASSERT_OK(service_->AddTable(Caller::Embedded("retailer"),
                                 {name, "retail", (dir_ / "retail.csv").string(), {}}));
    ASSERT_OK(service_->SetRule(Caller::Embedded("retailer"), name, "retail", retail_rule));
    ASSERT_OK(service_->AddTable(Caller::Embedded("supplier"),
                                 {name, "loyalty", (dir_ / "loyalty.csv").string(), {}}));
    ASSERT_OK(service_->SetRule(Caller::Embedded("supplier"), name, "loyalty", kLoyaltyRule));
  }

  absl::StatusOr<QueryOutcome> Run(const std::string& runner, const std::string& room = "campaign",
                                   std::vector<std::string> receivers = {}) {
    return service_->Run(Caller::Embedded(runner), room, kQuery, std::move(receivers));
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  int hits_ = 0;
};

TEST_F(PlanCacheServiceTest, ARepeatIsAHitForRunExplainAndSubmit) {
  ASSERT_OK_AND_ASSIGN(QueryOutcome first, Run("supplier"));
  ASSERT_TRUE(first.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 0);
  ASSERT_OK_AND_ASSIGN(QueryOutcome second, Run("supplier"));
  EXPECT_EQ(hits_, 1);
  EXPECT_EQ(second.explanation.rendered_sql, first.explanation.rendered_sql);
  ASSERT_TRUE(second.result.has_value());
  EXPECT_EQ(second.result->rows, first.result->rows);
  // Explain of a run's request (receivers: the runner) is the same request.
  ASSERT_OK_AND_ASSIGN(Explanation explained,
                       service_->Explain(Caller::Embedded("supplier"), "campaign", kQuery));
  EXPECT_EQ(hits_, 2);
  EXPECT_EQ(explained.rendered_sql, first.explanation.rendered_sql);
  ASSERT_OK_AND_ASSIGN(Submission submitted,
                       service_->SubmitQuery(Caller::Embedded("supplier"), "campaign", kQuery, {}));
  EXPECT_EQ(hits_, 3);
  ASSERT_NE(submitted.run, nullptr);
  ASSERT_OK(service_->ExecuteRun(*submitted.run).status());
}

TEST_F(PlanCacheServiceTest, ARuleChangedBetweenTwoIdenticalQueriesIsSeen) {
  ASSERT_OK_AND_ASSIGN(QueryOutcome allowed, Run("supplier"));
  ASSERT_TRUE(allowed.explanation.verdict.allowed());
  ASSERT_OK(
      service_->SetRule(Caller::Embedded("retailer"), "campaign", "retail", kNoDimensionRule));
  ASSERT_OK_AND_ASSIGN(QueryOutcome refused, Run("supplier"));
  EXPECT_FALSE(refused.explanation.verdict.allowed());
  EXPECT_FALSE(refused.result.has_value());
  // And back: the first rule's text again is a new policy state, judged again (and allowed).
  ASSERT_OK(service_->SetRule(Caller::Embedded("retailer"), "campaign", "retail", kRetailRule));
  ASSERT_OK_AND_ASSIGN(QueryOutcome again, Run("supplier"));
  EXPECT_TRUE(again.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 0);
}

TEST_F(PlanCacheServiceTest, ARevokedAbilityIsSeenByTheNextIdenticalQuery) {
  ASSERT_OK(Run("supplier", "campaign", {"analyst"}).status());
  catalog::Change change;
  change.kind = "abilities";
  change.member = catalog::Member{"analyst", true, false, catalog::MemberStatus::kActive};
  ASSERT_OK(service_->ProposeChange(Caller::Embedded("retailer"), "campaign", change).status());
  absl::Status receiver = Run("supplier", "campaign", {"analyst"}).status();
  EXPECT_EQ(receiver.code(), absl::StatusCode::kInvalidArgument) << receiver;
  EXPECT_THAT(std::string(receiver.message()), ::testing::HasSubstr("'analyst'")) << receiver;
  change.member = catalog::Member{"supplier", false, true, catalog::MemberStatus::kActive};
  ASSERT_OK(service_->ProposeChange(Caller::Embedded("retailer"), "campaign", change).status());
  EXPECT_EQ(Run("supplier").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(hits_, 0);
}

// The retail rule requires the runner's own table in the join: the supplier (who owns loyalty)
// may run the query, the analyst (who owns nothing) may not — the same SQL.
TEST_F(PlanCacheServiceTest, AnotherRunnerWithTheSameSqlIsJudgedForItself) {
  ASSERT_OK_AND_ASSIGN(QueryOutcome supplier, Run("supplier"));
  ASSERT_TRUE(supplier.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(QueryOutcome analyst, Run("analyst"));
  EXPECT_FALSE(analyst.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(QueryOutcome supplier_again, Run("supplier"));
  EXPECT_TRUE(supplier_again.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 1);
}

TEST_F(PlanCacheServiceTest, AnotherCollaborationWithTheSameTableNamesHasItsOwnVerdict) {
  MakeRoom("strict", kNoDimensionRule);
  ASSERT_OK_AND_ASSIGN(QueryOutcome lenient, Run("supplier", "campaign"));
  EXPECT_TRUE(lenient.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(QueryOutcome strict, Run("supplier", "strict"));
  EXPECT_FALSE(strict.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 0);
}

TEST_F(PlanCacheServiceTest, OtherReceiversAreAnotherRequest) {
  ASSERT_OK(Run("supplier", "campaign", {"supplier"}).status());
  ASSERT_OK_AND_ASSIGN(QueryOutcome both, Run("supplier", "campaign", {"supplier", "analyst"}));
  EXPECT_EQ(hits_, 0);
  EXPECT_EQ(both.receivers, (std::vector<std::string>{"supplier", "analyst"}));
  ASSERT_OK(Run("supplier", "campaign", {"supplier", "analyst"}).status());
  EXPECT_EQ(hits_, 1);
}

TEST_F(PlanCacheServiceTest, ATemplateApprovedThenRevokedIsJudgedEachTime) {
  ASSERT_OK(service_->SetRule(Caller::Embedded("retailer"), "campaign", "retail", kVisitsRule));
  ASSERT_OK_AND_ASSIGN(
      std::string id,
      service_->CreateTemplate(Caller::Embedded("analyst"),
                               {"campaign", "ages", kTemplateSql, {"min_id:integer=0"}}));
  auto run = [&] {
    return service_->RunTemplate(Caller::Embedded("analyst"), "campaign", id, {{"min_id", "3"}},
                                 {});
  };
  ASSERT_OK_AND_ASSIGN(QueryOutcome unapproved, run());
  EXPECT_FALSE(unapproved.explanation.verdict.allowed());
  ASSERT_OK(service_->ApproveTemplate(Caller::Embedded("retailer"), "campaign", id, "retail"));
  ASSERT_OK_AND_ASSIGN(QueryOutcome approved, run());
  ASSERT_TRUE(approved.explanation.verdict.allowed())
      << policy::FormatViolations(approved.explanation.verdict.violations);
  ASSERT_OK_AND_ASSIGN(QueryOutcome repeated, run());
  EXPECT_TRUE(repeated.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 1);
  // Another value of a parameter is another request.
  ASSERT_OK(
      service_->RunTemplate(Caller::Embedded("analyst"), "campaign", id, {{"min_id", "4"}}, {})
          .status());
  EXPECT_EQ(hits_, 1);
  ASSERT_OK(service_->RevokeTemplate(Caller::Embedded("retailer"), "campaign", id, "retail"));
  ASSERT_OK_AND_ASSIGN(QueryOutcome revoked, run());
  EXPECT_FALSE(revoked.explanation.verdict.allowed());
  EXPECT_EQ(hits_, 1);
}

TEST_F(PlanCacheServiceTest, ZeroEntriesTurnTheCacheOff) {
  Open(0);
  ASSERT_OK(Run("supplier").status());
  ASSERT_OK(Run("supplier").status());
  EXPECT_EQ(hits_, 0);
}

}  // namespace
}  // namespace parley::service
