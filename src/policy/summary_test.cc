#include "policy/summary.h"

#include <gtest/gtest.h>

#include "policy/rule.h"

namespace parley::policy {
namespace {

Rule Aggregation(std::set<std::string> functions, std::set<std::string> operators) {
  Rule rule;
  rule.kind = RuleKind::kAggregation;
  rule.aggregation.scalar_functions = std::move(functions);
  rule.aggregation.allowed_join_operators = std::move(operators);
  return rule;
}

Rule Custom(std::set<std::string> providers) {
  Rule rule;
  rule.kind = RuleKind::kCustom;
  rule.custom.any_query = true;
  rule.custom.allowed_analysis_providers = std::move(providers);
  return rule;
}

TEST(SummaryTest, MergesEachRuleKindStrictestWinningAndListsFreeFormCustomTables) {
  Rule sales = Aggregation({"ABS", "ROUND"}, {"AND", "OR"});
  Rule audience = Aggregation({"ROUND"}, {"AND"});
  Rule open = Custom({"runner"});
  Rule closed = Custom({"someone"});
  PolicySummary summary = Summarize("runner", {{"sales", "owner", &sales},
                                               {"audience", "owner", &audience},
                                               {"open", "owner", &open},
                                               {"closed", "owner", &closed},
                                               {"mine", "runner", &closed},
                                               {"unruled", "owner", nullptr}});
  EXPECT_EQ(summary.aggregation_scalar_functions, std::set<std::string>{"ROUND"});
  EXPECT_EQ(summary.aggregation_join_operators, std::set<std::string>{"AND"});
  EXPECT_TRUE(summary.list_join_operators.empty());
  EXPECT_EQ(summary.free_form_custom_tables, (std::vector<std::string>{"open", "mine"}));
}

TEST(SummaryTest, FreeFormQueriesNeedOwnershipOrAnyQueryAndBeingAProvider) {
  CustomRule rule;
  rule.allowed_analysis_providers = {"provider"};
  EXPECT_TRUE(MaySendFreeFormQuery(rule, "owner", "owner"));
  EXPECT_FALSE(MaySendFreeFormQuery(rule, "owner", "provider"));  // templates only
  rule.any_query = true;
  EXPECT_TRUE(MaySendFreeFormQuery(rule, "owner", "provider"));
  EXPECT_FALSE(MaySendFreeFormQuery(rule, "owner", "other"));
}

}  // namespace
}  // namespace parley::policy
