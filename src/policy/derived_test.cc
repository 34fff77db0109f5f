// The derived_from section of a saved result's rule (parse, canonical form) and CheckTightens in
// both directions for what the service tests cannot reach (an inherited disallowed column).
#include "policy/derived.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/rule.h"

namespace parley::policy {
namespace {

const std::vector<std::string> kColumns = {"user_id", "dept", "email"};

constexpr char kSaved[] =
    R"({"allowed_analyses":[],"any_query":false,"derived_from":{"co_owners":["hr"],)"
    R"("inherited":{"allowed_analyses":[],"any_query":false,)"
    R"("disallowed_output_columns":["email"]},"tables":["staff"]},)"
    R"("disallowed_output_columns":["email"],"kind":"custom"})";

TEST(DerivedFrom, ParsesAndWritesBackCanonically) {
  absl::StatusOr<Rule> rule = ParseRule(kSaved, kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  ASSERT_TRUE(rule->custom.derived_from.has_value());
  EXPECT_EQ(rule->custom.derived_from->co_owners, std::set<std::string>{"hr"});
  EXPECT_EQ(rule->custom.derived_from->inherited->disallowed_output_columns,
            std::set<std::string>{"email"});
  EXPECT_EQ(CanonicalRuleJson(*rule), kSaved);
}

TEST(DerivedFrom, MalformedSectionsAreRefused) {
  EXPECT_EQ(ParseRule(R"({"kind": "custom", "derived_from": {"tables": ["t"], "co_owners": [],
                          "inherited": {}}})",
                      kColumns)
                .status()
                .message(),
            "rule: derived_from.co_owners: must be a non-empty array of names");
  EXPECT_EQ(ParseRule(R"({"kind": "custom", "derived_from": {"tables": ["t"], "co_owners": ["a"],
                          "inherited": {"derived_from": {}}}})",
                      kColumns)
                .status()
                .message(),
            "rule: derived_from.inherited.derived_from: is not allowed");
  EXPECT_EQ(ParseRule(R"({"kind": "custom", "derived_from": {"tables": ["t"], "co_owners": ["a"],
                          "inherited": {"disallowed_output_columns": ["nope"]}}})",
                      kColumns)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckTightens, AnInheritedDisallowedColumnMayNotBeDropped) {
  CustomRule floor;
  floor.disallowed_output_columns = {"email"};
  CustomRule same = floor;
  EXPECT_TRUE(CheckTightens(floor, same).ok());
  CustomRule more = floor;
  more.disallowed_output_columns.insert("dept");
  EXPECT_TRUE(CheckTightens(floor, more).ok());
  CustomRule dropped;
  EXPECT_EQ(CheckTightens(floor, dropped).message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "disallowed_output_columns drops 'email'");
}

TEST(CheckTightens, FreeFormQueriesAndTemplatesOnlyAsInherited) {
  CustomRule floor;
  CustomRule open;
  open.any_query = true;
  open.allowed_analysis_providers = {"a"};
  EXPECT_EQ(CheckTightens(floor, open).message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "any_query was not allowed by the inputs");
  CustomRule approved;
  approved.allowed_analyses = {std::string(64, 'a')};
  EXPECT_EQ(CheckTightens(floor, approved).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::policy
