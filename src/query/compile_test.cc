#include "query/compile.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "base/status_testing.h"

namespace parley::query {
namespace {

constexpr const char* kRetailRule =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], "dimension_columns": ["region"], )"
    R"("output_constraints": [{"column": "household_id", "minimum": 100}]})";

SnapshotSource Source(std::optional<std::string> rule = kRetailRule) {
  SnapshotSource source;
  source.collaboration = "room";
  source.digest = "d1";
  source.members = {{"retailer", true, true, true}, {"supplier", true, true, true}};
  source.tables = {{"retail",
                    "retailer",
                    {{"household_id", sql::TypeKind::kBigint},
                     {"hashed_email", sql::TypeKind::kVarchar},
                     {"region", sql::TypeKind::kVarchar}},
                    rule}};
  return source;
}

Request Ask(std::string sql) {
  Request request;
  request.sql = std::move(sql);
  request.runner = "supplier";
  request.receivers = {"supplier"};
  return request;
}

TEST(CompileTest, AllowedQueryHasAPlanWithThresholdsAndTables) {
  auto snapshot = Snapshot::Build(Source());
  ASSERT_OK_AND_ASSIGN(
      Compiled compiled,
      Compile(*snapshot,
              Ask("SELECT region, COUNT(DISTINCT household_id) FROM Retail GROUP BY 1")));
  ASSERT_TRUE(compiled.verdict.allowed()) << policy::FormatViolations(compiled.verdict.violations);
  EXPECT_EQ(compiled.tables, std::vector<std::string>{"retail"});
  EXPECT_EQ(compiled.plan.rule_kind, policy::RuleKind::kAggregation);
  ASSERT_EQ(compiled.plan.thresholds.size(), 1u);
  EXPECT_EQ(compiled.plan.thresholds[0].column, "household_id");
  EXPECT_EQ(compiled.plan.thresholds[0].minimum, 100);
  EXPECT_NE(compiled.plan.rendered_sql.find("count(DISTINCT"), std::string::npos)
      << compiled.plan.rendered_sql;
  EXPECT_NE(compiled.plan.rendered_sql.find(">= 100"), std::string::npos)
      << compiled.plan.rendered_sql;
}

TEST(CompileTest, RejectedQueryHasViolationsTablesAndNoPlan) {
  auto snapshot = Snapshot::Build(Source());
  ASSERT_OK_AND_ASSIGN(Compiled compiled,
                       Compile(*snapshot, Ask("SELECT hashed_email FROM retail")));
  ASSERT_FALSE(compiled.verdict.allowed());
  EXPECT_EQ(compiled.tables, std::vector<std::string>{"retail"});
  EXPECT_EQ(compiled.plan.rendered_sql, "");
  EXPECT_FALSE(compiled.plan.rule_kind.has_value());
}

TEST(CompileTest, UnknownTableIsInvalidArgumentNamingItsPosition) {
  auto snapshot = Snapshot::Build(Source());
  absl::StatusOr<Compiled> compiled = Compile(*snapshot, Ask("SELECT 1 FROM nowhere"));
  EXPECT_EQ(compiled.status(),
            absl::InvalidArgumentError(
                "table 'nowhere' does not exist in this collaboration (line 1, column 15)"));
}

TEST(CompileTest, StoredRuleThatNoLongerValidatesFailsEveryCompile) {
  auto snapshot = Snapshot::Build(Source(R"({"kind": "aggregation", "bogus": 1})"));
  EXPECT_EQ(snapshot->rules_status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(snapshot->rules_status().message(),
                               "the stored rule of table 'retail' no longer validates: "))
      << snapshot->rules_status();
  EXPECT_EQ(Compile(*snapshot, Ask("SELECT region FROM retail")).status(),
            snapshot->rules_status());
}

TEST(SnapshotTest, RulesAreParsedOncePerRuleVersion) {
  auto first = Snapshot::Build(Source());
  auto same = Snapshot::Build(Source(), first.get());
  EXPECT_EQ(same->RuleFor("retail"), first->RuleFor("retail"));  // shared, not parsed again
  std::string changed = kRetailRule;
  changed.replace(changed.find("100"), 3, "200");
  auto other = Snapshot::Build(Source(changed), first.get());
  ASSERT_NE(other->RuleFor("retail"), nullptr);
  EXPECT_NE(other->RuleFor("retail"), first->RuleFor("retail"));
  EXPECT_EQ(other->RuleFor("retail")->aggregation.output_constraints[0].minimum, 200);
  EXPECT_EQ(Snapshot::Build(Source(std::nullopt), first.get())->RuleFor("retail"), nullptr);
}

TEST(SnapshotTest, FindsTablesCaseInsensitivelyAndMembersExactly) {
  auto snapshot = Snapshot::Build(Source());
  ASSERT_NE(snapshot->FindTable("RETAIL"), nullptr);
  EXPECT_EQ(snapshot->FindTable("RETAIL")->owner, "retailer");
  EXPECT_EQ(snapshot->FindTable("retail2"), nullptr);
  ASSERT_NE(snapshot->FindMember("supplier"), nullptr);
  EXPECT_EQ(snapshot->FindMember("Supplier"), nullptr);
}

}  // namespace
}  // namespace parley::query
