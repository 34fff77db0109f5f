#include "policy/rule.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace parley::policy {
namespace {

const std::vector<std::string> kColumns = {"household_id", "hashed_email", "age_band", "spend",
                                           "Region"};

// A valid document with `extra` spliced in before the closing brace (or replacing a key).
std::string Document(
    const std::string& aggregate_columns =
        R"([{"columns": ["spend"], "functions": ["SUM", "AVG"]}])",
    const std::string& rest =
        R"("join_columns": ["hashed_email"], "output_constraints": [{"column": "household_id", "minimum": 100}])") {
  return R"({"kind": "aggregation", "aggregate_columns": )" + aggregate_columns + ", " + rest + "}";
}

std::string ErrorOf(const std::string& document) {
  absl::StatusOr<Rule> rule = ParseRule(document, kColumns);
  EXPECT_FALSE(rule.ok()) << document;
  if (rule.ok()) return "";
  EXPECT_EQ(rule.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(rule.status().message());
}

std::string WithConstraint(const std::string& constraint) {
  return Document(R"([{"columns": ["spend"], "functions": ["SUM"]}])",
                  R"("output_constraints": [)" + constraint + "]");
}

TEST(ParseRule, ReadsTheReferenceRule) {
  absl::StatusOr<Rule> rule = ParseRule(
      R"({"kind": "aggregation",
          "aggregate_columns": [{"columns": ["spend"], "functions": ["sum", "AVG"]},
                                {"columns": ["HOUSEHOLD_ID"], "functions": ["COUNT_DISTINCT"]}],
          "join_columns": ["hashed_email"], "join_required": "query_runner",
          "allowed_join_operators": ["and", "OR"], "dimension_columns": ["age_band", "region"],
          "scalar_functions": ["round", "UPPER"],
          "output_constraints": [{"column": "household_id", "minimum": 100, "type": "count_distinct"}]})",
      kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  const AggregationRule& aggregation = rule->aggregation;
  EXPECT_EQ(aggregation.aggregate_columns.at("spend"), (std::set<std::string>{"AVG", "SUM"}));
  EXPECT_EQ(aggregation.aggregate_columns.at("household_id"),
            (std::set<std::string>{"COUNT_DISTINCT"}));
  EXPECT_TRUE(aggregation.join_required_query_runner);
  EXPECT_EQ(aggregation.allowed_join_operators, (std::set<std::string>{"AND", "OR"}));
  // Column names take the table's spelling.
  EXPECT_EQ(aggregation.dimension_columns, (std::set<std::string>{"Region", "age_band"}));
  EXPECT_EQ(aggregation.scalar_functions, (std::set<std::string>{"ROUND", "UPPER"}));
  ASSERT_EQ(aggregation.output_constraints.size(), 1u);
  EXPECT_EQ(aggregation.output_constraints[0].minimum, 100);
}

TEST(ParseRule, DefaultsWhenOptionalKeysAreAbsent) {
  absl::StatusOr<Rule> rule =
      ParseRule(WithConstraint(R"({"column": "household_id", "minimum": 2})"), kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->aggregation.join_columns.empty());
  EXPECT_FALSE(rule->aggregation.join_required_query_runner);
  EXPECT_EQ(rule->aggregation.allowed_join_operators, (std::set<std::string>{"AND"}));
  EXPECT_TRUE(rule->aggregation.dimension_columns.empty());
  EXPECT_TRUE(rule->aggregation.scalar_functions.empty());
}

TEST(ParseRule, NotJson) {
  EXPECT_EQ(ErrorOf(R"({"kind": "aggregation",)"), "rule: not valid JSON (error at byte 24)");
  EXPECT_EQ(ErrorOf("secret-value"), "rule: not valid JSON (error at byte 1)");
  EXPECT_EQ(ErrorOf(""), "rule: not valid JSON (error at byte 1)");
}

TEST(ParseRule, DocumentShapeAndKind) {
  EXPECT_EQ(ErrorOf("[]"), "rule: (document): must be a JSON object");
  EXPECT_EQ(ErrorOf("{}"), "rule: kind: is required: one of aggregation, list, custom");
  EXPECT_EQ(ErrorOf(R"({"kind": 1})"), "rule: kind: must be a string");
  EXPECT_EQ(ErrorOf(R"({"kind": "sum"})"),
            "rule: kind: 'sum' is not one of aggregation, list, custom");
  EXPECT_EQ(ErrorOf(R"({"kind": "List", "join_columns": ["hashed_email"]})"),
            "rule: kind: 'List' is not one of aggregation, list, custom");
}

TEST(ParseRule, UnknownKeys) {
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("output_constraints": [{"column": "spend", "minimum": 2}], "join_column": ["hashed_email"])")),
      "rule: (document): unknown key 'join_column' (expected one of kind, aggregate_columns, "
      "join_columns, join_required, allowed_join_operators, dimension_columns, "
      "scalar_functions, output_constraints, allow_fan_out, differential_privacy)");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": ["SUM"], "limit": 1}])")),
            "rule: aggregate_columns[0]: unknown key 'limit' (expected one of columns, functions)");
  EXPECT_EQ(
      ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 2, "noise": true})")),
      "rule: output_constraints[0]: unknown key 'noise' (expected one of column, minimum, type)");
}

TEST(ParseRule, RequiredAndEmptyLists) {
  EXPECT_EQ(ErrorOf(R"({"kind": "aggregation", "output_constraints": []})"),
            "rule: aggregate_columns: is required");
  EXPECT_EQ(ErrorOf(Document("[]")), "rule: aggregate_columns: must list at least one entry");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": [], "functions": ["SUM"]}])")),
            "rule: aggregate_columns[0].columns: must list at least one entry");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": []}])")),
            "rule: aggregate_columns[0].functions: must list at least one entry");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"]}])")),
            "rule: aggregate_columns[0].functions: is required");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": ["SUM"]}])",
                             R"("join_columns": [])")),
            "rule: output_constraints: is required");
  EXPECT_EQ(ErrorOf(WithConstraint("").substr(0)),
            "rule: output_constraints: must list at least one entry");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("allowed_join_operators": [], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: allowed_join_operators: must list at least one entry");
}

TEST(ParseRule, UnknownColumns) {
  EXPECT_EQ(
      ErrorOf(Document(R"([{"columns": ["salary"], "functions": ["SUM"]}])")),
      "rule: aggregate_columns[0].columns[0]: 'salary' is not an allowed column of the table");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["email"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: join_columns[0]: 'email' is not an allowed column of the table");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("dimension_columns": ["age_band", "zip"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: dimension_columns[1]: 'zip' is not an allowed column of the table");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "zip", "minimum": 2})")),
            "rule: output_constraints[0].column: 'zip' is not an allowed column of the table");
}

TEST(ParseRule, UnsupportedFunctions) {
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": ["SUM", "MEDIAN"]}])")),
            "rule: aggregate_columns[0].functions[1]: 'MEDIAN' is not an aggregate function Parley "
            "supports (one of AVG, COUNT, COUNT_DISTINCT, SUM, SUM_DISTINCT)");
  std::string message = ErrorOf(Document(
      R"([{"columns": ["spend"], "functions": ["SUM"]}])",
      R"("scalar_functions": ["MD5"], "output_constraints": [{"column": "spend", "minimum": 2}])"));
  EXPECT_EQ(message.substr(0, message.find(" (one of")),
            "rule: scalar_functions[0]: 'MD5' is not a scalar function Parley supports");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("allowed_join_operators": ["XOR"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: allowed_join_operators[0]: 'XOR' is not a join operator (one of AND, OR)");
}

TEST(ParseRule, MinimumRange) {
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 1})")),
            "rule: output_constraints[0].minimum: 1 is outside the allowed range 2 to 100000");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 100001})")),
            "rule: output_constraints[0].minimum: 100001 is outside the allowed range 2 to 100000");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": -5})")),
            "rule: output_constraints[0].minimum: -5 is outside the allowed range 2 to 100000");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 18446744073709551615})")),
            "rule: output_constraints[0].minimum: 18446744073709551615 is outside the allowed "
            "range 2 to 100000");
  EXPECT_TRUE(ParseRule(WithConstraint(R"({"column": "spend", "minimum": 2})"), kColumns).ok());
  EXPECT_TRUE(
      ParseRule(WithConstraint(R"({"column": "spend", "minimum": 100000})"), kColumns).ok());
}

TEST(ParseRule, WrongTypes) {
  EXPECT_EQ(ErrorOf(Document(R"({"columns": ["spend"]})")),
            "rule: aggregate_columns: must be a list, not object");
  EXPECT_EQ(ErrorOf(Document(R"(["spend"])")),
            "rule: aggregate_columns[0]: must be an object with columns and functions");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": "spend", "functions": ["SUM"]}])")),
            "rule: aggregate_columns[0].columns: must be a list, not string");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": [7], "functions": ["SUM"]}])")),
            "rule: aggregate_columns[0].columns[0]: must be a column name (a string)");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": [true]}])")),
            "rule: aggregate_columns[0].functions[0]: must be a string");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": "100"})")),
            "rule: output_constraints[0].minimum: must be an integer");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 100.5})")),
            "rule: output_constraints[0].minimum: must be an integer");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend", "minimum": 100, "type": "sum"})")),
            "rule: output_constraints[0].type: must be \"count_distinct\"");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"minimum": 100})")),
            "rule: output_constraints[0].column: is required");
  EXPECT_EQ(ErrorOf(WithConstraint(R"({"column": "spend"})")),
            "rule: output_constraints[0].minimum: is required");
  EXPECT_EQ(ErrorOf(WithConstraint(R"("spend")")),
            "rule: output_constraints[0]: must be an object with column, minimum, type");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": "hashed_email", "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: join_columns: must be a list, not string");
}

TEST(ParseRule, DuplicateEntries) {
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend", "SPEND"], "functions": ["SUM"]}])")),
            "rule: aggregate_columns[0].columns[1]: 'spend' is listed twice");
  EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": ["SUM", "sum"]}])")),
            "rule: aggregate_columns[0].functions[1]: 'SUM' is listed twice");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}, {"columns": ["spend"], "functions": ["AVG"]}])")),
      "rule: aggregate_columns[1].columns: 'spend' is listed in an earlier entry too");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["hashed_email", "hashed_email"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: join_columns[1]: 'hashed_email' is listed twice");
  EXPECT_EQ(ErrorOf(WithConstraint(
                R"({"column": "spend", "minimum": 2}, {"column": "Spend", "minimum": 3})")),
            "rule: output_constraints[1].column: 'spend' is constrained twice");
}

TEST(ParseRule, ColumnRolesConflict) {
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["hashed_email"], "dimension_columns": ["hashed_email"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: dimension_columns: 'hashed_email' is also a join column; a column cannot be both");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("dimension_columns": ["spend"], "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: dimension_columns: 'spend' is also an aggregate column; a column cannot be both");
}

TEST(ParseRule, JoinRequired) {
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_required": "query_runner", "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: join_required: needs at least one entry in join_columns");
  EXPECT_EQ(
      ErrorOf(Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["hashed_email"], "join_required": true, "output_constraints": [{"column": "spend", "minimum": 2}])")),
      "rule: join_required: must be \"query_runner\" when present");
}

TEST(CanonicalRuleJson, IsStableAcrossSpellingsAndOrder) {
  absl::StatusOr<Rule> first = ParseRule(
      R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["spend", "household_id"], "functions": ["sum", "COUNT"]}],
          "scalar_functions": ["upper", "ROUND"], "dimension_columns": ["AGE_BAND"],
          "output_constraints": [{"column": "spend", "minimum": 5}, {"column": "household_id", "minimum": 10, "type": "count_distinct"}]})",
      kColumns);
  absl::StatusOr<Rule> second = ParseRule(
      R"({"output_constraints": [{"column": "household_id", "minimum": 10}, {"minimum": 5, "column": "SPEND"}],
          "dimension_columns": ["age_band"], "scalar_functions": ["ROUND", "UPPER"],
          "aggregate_columns": [{"functions": ["COUNT", "SUM"], "columns": ["household_id"]},
                                {"columns": ["spend"], "functions": ["SUM", "count"]}],
          "allowed_join_operators": ["AND"], "kind": "aggregation"})",
      kColumns);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  std::string canonical = CanonicalRuleJson(*first);
  EXPECT_EQ(canonical, CanonicalRuleJson(*second));
  EXPECT_EQ(
      canonical,
      R"({"aggregate_columns":[{"columns":["household_id"],"functions":["COUNT","SUM"]},)"
      R"({"columns":["spend"],"functions":["COUNT","SUM"]}],"allowed_join_operators":["AND"],)"
      R"("dimension_columns":["age_band"],"join_columns":[],"kind":"aggregation",)"
      R"("output_constraints":[{"column":"household_id","minimum":10,"type":"count_distinct"},)"
      R"({"column":"spend","minimum":5,"type":"count_distinct"}],"scalar_functions":["ROUND","UPPER"]})");
  // The canonical form reads back to the same rule.
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);
}

TEST(CanonicalRuleJson, KeepsJoinRequired) {
  absl::StatusOr<Rule> rule = ParseRule(
      Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["hashed_email"], "join_required": "query_runner", "output_constraints": [{"column": "spend", "minimum": 2}])"),
      kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_NE(CanonicalRuleJson(*rule).find(R"("join_required":"query_runner")"), std::string::npos);
}

TEST(ParseRule, AllowFanOutIsAnExplicitBooleanOffByDefault) {
  absl::StatusOr<Rule> absent =
      ParseRule(WithConstraint(R"({"column": "household_id", "minimum": 2})"), kColumns);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->aggregation.allow_fan_out);
  // Left out of the canonical form when off, so rules written before the key keep their hash.
  EXPECT_EQ(CanonicalRuleJson(*absent).find("allow_fan_out"), std::string::npos);

  std::string opted_out = Document(R"([{"columns": ["spend"], "functions": ["SUM"]}])",
                                   R"("output_constraints": [{"column": "spend", "minimum": 2}], )"
                                   R"("allow_fan_out": true)");
  absl::StatusOr<Rule> rule = ParseRule(opted_out, kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->aggregation.allow_fan_out);
  std::string canonical = CanonicalRuleJson(*rule);
  EXPECT_NE(canonical.find(R"("allow_fan_out":true)"), std::string::npos) << canonical;
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->aggregation.allow_fan_out);

  for (const char* value : {"1", "\"true\"", "null", "[]"}) {
    EXPECT_EQ(ErrorOf(Document(R"([{"columns": ["spend"], "functions": ["SUM"]}])",
                               std::string(R"("output_constraints": [{"column": "spend", )"
                                           R"("minimum": 2}], "allow_fan_out": )") +
                                   value)),
              "rule: allow_fan_out: must be true or false")
        << value;
  }
  // Only aggregation rules count rows per group; the key means nothing to the other kinds.
  EXPECT_EQ(ErrorOf(R"({"kind": "list", "join_columns": ["hashed_email"], "allow_fan_out": true})"),
            "rule: (document): unknown key 'allow_fan_out' (expected one of kind, join_columns, "
            "list_columns, allowed_join_operators)");
}

// List rules.

std::string List(const std::string& rest) { return R"({"kind": "list", )" + rest + "}"; }

TEST(ParseListRule, ReadsTheReferenceRule) {
  absl::StatusOr<Rule> rule =
      ParseRule(List(R"("join_columns": ["HASHED_EMAIL"], "list_columns": ["age_band", "region"],
              "allowed_join_operators": ["and", "OR"])"),
                kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->kind, RuleKind::kList);
  EXPECT_EQ(rule->list.join_columns, (std::set<std::string>{"hashed_email"}));
  EXPECT_EQ(rule->list.list_columns, (std::set<std::string>{"Region", "age_band"}));
  EXPECT_EQ(rule->list.allowed_join_operators, (std::set<std::string>{"AND", "OR"}));
}

TEST(ParseListRule, Defaults) {
  absl::StatusOr<Rule> rule = ParseRule(List(R"("join_columns": ["hashed_email"])"), kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->list.list_columns.empty());
  EXPECT_EQ(rule->list.allowed_join_operators, (std::set<std::string>{"AND"}));
  rule = ParseRule(List(R"("join_columns": ["hashed_email"], "list_columns": [])"), kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->list.list_columns.empty());
}

TEST(ParseListRule, Errors) {
  EXPECT_EQ(ErrorOf(R"({"kind": "list"})"), "rule: join_columns: is required");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": [])")),
            "rule: join_columns: must list at least one entry");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": "hashed_email")")),
            "rule: join_columns: must be a list, not string");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["email"])")),
            "rule: join_columns[0]: 'email' is not an allowed column of the table");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": [3])")),
            "rule: join_columns[0]: must be a column name (a string)");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["hashed_email", "Hashed_Email"])")),
            "rule: join_columns[1]: 'hashed_email' is listed twice");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["hashed_email"], "list_columns": ["age_band", "x"])")),
            "rule: list_columns[1]: 'x' is not an allowed column of the table");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["hashed_email"], "list_columns": {"a": 1})")),
            "rule: list_columns: must be a list, not object");
  EXPECT_EQ(
      ErrorOf(List(R"("join_columns": ["hashed_email"], "list_columns": ["region", "REGION"])")),
      "rule: list_columns[1]: 'Region' is listed twice");
  EXPECT_EQ(
      ErrorOf(List(
          R"("join_columns": ["hashed_email"], "list_columns": ["age_band", "HASHED_EMAIL"])")),
      "rule: list_columns[1]: 'hashed_email' is also a join column; a column cannot be both");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["hashed_email"], "allowed_join_operators": [])")),
            "rule: allowed_join_operators: must list at least one entry");
  EXPECT_EQ(ErrorOf(List(R"("join_columns": ["hashed_email"], "allowed_join_operators": ["NOT"])")),
            "rule: allowed_join_operators[0]: 'NOT' is not a join operator (one of AND, OR)");
  EXPECT_EQ(
      ErrorOf(List(R"("join_columns": ["hashed_email"], "allowed_join_operators": ["OR", "or"])")),
      "rule: allowed_join_operators[1]: 'OR' is listed twice");
  EXPECT_EQ(
      ErrorOf(List(R"("join_columns": ["hashed_email"], "dimension_columns": ["age_band"])")),
      "rule: (document): unknown key 'dimension_columns' (expected one of kind, join_columns, "
      "list_columns, allowed_join_operators)");
}

TEST(CanonicalRuleJson, ListIsStableAcrossSpellingsAndOrder) {
  absl::StatusOr<Rule> first = ParseRule(
      List(R"("join_columns": ["spend", "hashed_email"], "list_columns": ["region", "age_band"],
              "allowed_join_operators": ["or", "AND"])"),
      kColumns);
  absl::StatusOr<Rule> second = ParseRule(
      R"({"allowed_join_operators": ["AND", "OR"], "list_columns": ["AGE_BAND", "Region"],
          "join_columns": ["Hashed_Email", "SPEND"], "kind": "list"})",
      kColumns);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  std::string canonical = CanonicalRuleJson(*first);
  EXPECT_EQ(canonical, CanonicalRuleJson(*second));
  EXPECT_EQ(canonical,
            R"({"allowed_join_operators":["AND","OR"],"join_columns":["hashed_email","spend"],)"
            R"("kind":"list","list_columns":["Region","age_band"]})");
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);

  absl::StatusOr<Rule> minimal = ParseRule(List(R"("join_columns": ["hashed_email"])"), kColumns);
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ(CanonicalRuleJson(*minimal),
            R"({"allowed_join_operators":["AND"],"join_columns":["hashed_email"],"kind":"list",)"
            R"("list_columns":[]})");
}

// Custom rules.

const std::string kTemplateA(64, 'a');
const std::string kTemplateB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string Custom(const std::string& rest) { return R"({"kind": "custom", )" + rest + "}"; }

TEST(ParseCustomRule, ReadsTheReferenceRule) {
  absl::StatusOr<Rule> rule =
      ParseRule(Custom(R"("allowed_analyses": [")" + kTemplateB + R"(", ")" + kTemplateA + R"("],
                "any_query": true, "allowed_analysis_providers": ["supplier", "agency.eu-1"],
                "disallowed_output_columns": ["HASHED_EMAIL", "region"],
                "allowed_result_receivers": ["supplier"])"),
                kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  const CustomRule& custom = rule->custom;
  EXPECT_EQ(rule->kind, RuleKind::kCustom);
  EXPECT_EQ(custom.allowed_analyses, (std::set<std::string>{kTemplateA, kTemplateB}));
  EXPECT_TRUE(custom.any_query);
  EXPECT_EQ(custom.allowed_analysis_providers, (std::set<std::string>{"agency.eu-1", "supplier"}));
  EXPECT_EQ(custom.disallowed_output_columns, (std::set<std::string>{"Region", "hashed_email"}));
  EXPECT_EQ(custom.allowed_result_receivers, (std::set<std::string>{"supplier"}));
}

TEST(ParseCustomRule, TemplatesOnly) {
  absl::StatusOr<Rule> rule =
      ParseRule(Custom(R"("allowed_analyses": [")" + kTemplateA + R"("])"), kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_FALSE(rule->custom.any_query);
  EXPECT_TRUE(rule->custom.allowed_analysis_providers.empty());
  EXPECT_TRUE(rule->custom.disallowed_output_columns.empty());
  EXPECT_TRUE(rule->custom.allowed_result_receivers.empty());
  rule = ParseRule(Custom(R"("allowed_analyses": [")" + kTemplateA + R"("], "any_query": false)"),
                   kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  // A member name of exactly 64 characters is the longest allowed.
  rule = ParseRule(Custom(R"("any_query": true, "allowed_analysis_providers": [")" +
                          std::string(64, 'm') + R"("])"),
                   kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
}

TEST(ParseCustomRule, ARuleThatAllowsNothingYetWaitsForApprovedTemplates) {
  auto rule = ParseRule(R"({"kind": "custom"})", {"user_id", "segment"});
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->custom.allowed_analyses.empty());
  EXPECT_FALSE(rule->custom.any_query);
}

TEST(ParseCustomRule, Errors) {
  const std::string any = R"("any_query": true, "allowed_analysis_providers": ["supplier"], )";
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [")" + kTemplateA + R"(", "abc"])")),
            "rule: allowed_analyses[1]: must be a template id (64 lowercase hexadecimal "
            "characters)");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [")" + std::string(64, 'A') + R"("])")),
            "rule: allowed_analyses[0]: must be a template id (64 lowercase hexadecimal "
            "characters)");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [")" + std::string(63, 'a') + "g" + R"("])")),
            "rule: allowed_analyses[0]: must be a template id (64 lowercase hexadecimal "
            "characters)");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [")" + std::string(65, 'a') + R"("])")),
            "rule: allowed_analyses[0]: must be a template id (64 lowercase hexadecimal "
            "characters)");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [7])")),
            "rule: allowed_analyses[0]: must be a template id (64 lowercase hexadecimal "
            "characters)");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": ")" + kTemplateA + R"(")")),
            "rule: allowed_analyses: must be a list, not string");
  EXPECT_EQ(
      ErrorOf(Custom(R"("allowed_analyses": [")" + kTemplateA + R"(", ")" + kTemplateA + R"("])")),
      "rule: allowed_analyses[1]: '" + kTemplateA + "' is listed twice");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": "yes")")), "rule: any_query: must be true or false");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true)")),
            "rule: allowed_analysis_providers: is required when any_query is true: name the "
            "members who may run queries");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": [])")),
            "rule: allowed_analysis_providers: must list at least one entry");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_analyses": [")" + kTemplateA +
                           R"("], "allowed_analysis_providers": ["supplier"])")),
            "rule: allowed_analysis_providers: is only allowed with \"any_query\": true");
  EXPECT_EQ(
      ErrorOf(Custom(R"("allowed_analyses": [")" + kTemplateA +
                     R"("], "any_query": false, "allowed_analysis_providers": ["supplier"])")),
      "rule: allowed_analysis_providers: is only allowed with \"any_query\": true");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": ["supplier", ""])")),
            "rule: allowed_analysis_providers[1]: '' is not a member name (a letter or digit, "
            "then up to 63 letters, digits, '_', '.' or '-')");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": ["-supplier"])")),
            "rule: allowed_analysis_providers[0]: '-supplier' is not a member name (a letter or "
            "digit, then up to 63 letters, digits, '_', '.' or '-')");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": ["sup plier"])")),
            "rule: allowed_analysis_providers[0]: 'sup plier' is not a member name (a letter or "
            "digit, then up to 63 letters, digits, '_', '.' or '-')");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": [")" +
                           std::string(65, 'm') + R"("])")),
            "rule: allowed_analysis_providers[0]: '" + std::string(65, 'm') +
                "' is not a member name (a letter or digit, then up to 63 letters, digits, '_', "
                "'.' or '-')");
  EXPECT_EQ(ErrorOf(Custom(R"("any_query": true, "allowed_analysis_providers": [1])")),
            "rule: allowed_analysis_providers[0]: must be a member name (a string)");
  EXPECT_EQ(ErrorOf(Custom(
                R"("any_query": true, "allowed_analysis_providers": ["supplier", "supplier"])")),
            "rule: allowed_analysis_providers[1]: 'supplier' is listed twice");
  EXPECT_EQ(ErrorOf(Custom(any + R"("disallowed_output_columns": ["hashed_email", "ssn"])")),
            "rule: disallowed_output_columns[1]: 'ssn' is not an allowed column of the table");
  EXPECT_EQ(ErrorOf(Custom(any + R"("disallowed_output_columns": ["spend", "SPEND"])")),
            "rule: disallowed_output_columns[1]: 'spend' is listed twice");
  EXPECT_EQ(ErrorOf(Custom(any + R"("allowed_result_receivers": [])")),
            "rule: allowed_result_receivers: must list at least one entry");
  EXPECT_EQ(ErrorOf(Custom(any + R"("allowed_result_receivers": ["retailer", "x y"])")),
            "rule: allowed_result_receivers[1]: 'x y' is not a member name (a letter or digit, "
            "then up to 63 letters, digits, '_', '.' or '-')");
  EXPECT_EQ(ErrorOf(Custom(any + R"("allowed_result_receivers": "retailer")")),
            "rule: allowed_result_receivers: must be a list, not string");
  EXPECT_EQ(ErrorOf(Custom(any + R"("join_columns": ["hashed_email"])")),
            "rule: (document): unknown key 'join_columns' (expected one of kind, allowed_analyses, "
            "any_query, allowed_analysis_providers, disallowed_output_columns, "
            "allowed_result_receivers, aggregation_thresholds, allowed_aggregate_expressions, "
            "allowed_literal_comparison_columns, allowed_column_comparison_columns, derived_from, "
            "allowed_jobs, any_job, allowed_job_providers, never_output, allow_job_logs)");
}

TEST(ParseCustomRule, ThresholdsAndComparisonControls) {
  absl::StatusOr<Rule> rule =
      ParseRule(Custom(R"("any_query": true, "allowed_analysis_providers": ["supplier"],
                "aggregation_thresholds": [{"identity_column": "HOUSEHOLD_ID", "minimum": 50,
                  "output_column_thresholds": [{"column": "region", "minimum": 0},
                                               {"column": "spend", "minimum": 200}]}],
                "allowed_literal_comparison_columns": ["age_band"],
                "allowed_column_comparison_columns": [])"),
                kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  const CustomRule& custom = rule->custom;
  ASSERT_EQ(custom.aggregation_thresholds.size(), 1u);
  EXPECT_EQ(custom.aggregation_thresholds[0].identity_column, "household_id");
  EXPECT_EQ(custom.aggregation_thresholds[0].minimum, 50);
  EXPECT_EQ(custom.aggregation_thresholds[0].output_column_thresholds,
            (std::map<std::string, int64_t>{{"Region", 0}, {"spend", 200}}));
  // Thresholds make columns_only the default.
  EXPECT_EQ(custom.allowed_aggregate_expressions, AggregateExpressions::kColumnsOnly);
  EXPECT_EQ(custom.allowed_literal_comparison_columns, (std::set<std::string>{"age_band"}));
  ASSERT_TRUE(custom.allowed_column_comparison_columns.has_value());
  EXPECT_TRUE(custom.allowed_column_comparison_columns->empty());

  std::string canonical = CanonicalRuleJson(*rule);
  EXPECT_EQ(canonical,
            R"({"aggregation_thresholds":[{"identity_column":"household_id","minimum":50,)"
            R"("output_column_thresholds":[{"column":"Region","minimum":0},)"
            R"({"column":"spend","minimum":200}]}],"allowed_analyses":[],)"
            R"("allowed_analysis_providers":["supplier"],"allowed_column_comparison_columns":[],)"
            R"("allowed_literal_comparison_columns":["age_band"],"any_query":true,)"
            R"("disallowed_output_columns":[],"kind":"custom"})");
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);

  // Without thresholds or controls the default stays any_expression, and is not written.
  absl::StatusOr<Rule> plain =
      ParseRule(Custom(R"("allowed_aggregate_expressions": "columns_only")"), kColumns);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->custom.allowed_aggregate_expressions, AggregateExpressions::kColumnsOnly);
  EXPECT_NE(CanonicalRuleJson(*plain).find(R"("allowed_aggregate_expressions":"columns_only")"),
            std::string::npos);
  absl::StatusOr<Rule> none = ParseRule(Custom(R"("any_query": false)"), kColumns);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->custom.allowed_aggregate_expressions, AggregateExpressions::kAnyExpression);
  EXPECT_EQ(CanonicalRuleJson(*none).find("allowed_aggregate_expressions"), std::string::npos);
}

TEST(ParseCustomRule, ThresholdErrors) {
  auto with = [](const std::string& thresholds) {
    return Custom(R"("aggregation_thresholds": )" + thresholds);
  };
  EXPECT_EQ(ErrorOf(with(R"([])")), "rule: aggregation_thresholds: must list at least one entry");
  EXPECT_EQ(ErrorOf(with(R"({"identity_column": "spend"})")),
            "rule: aggregation_thresholds: must be a list, not object");
  EXPECT_EQ(ErrorOf(with(R"(["spend"])")),
            "rule: aggregation_thresholds[0]: must be an object with identity_column and minimum");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5, "min": 3}])")),
            "rule: aggregation_thresholds[0]: unknown key 'min' (expected one of identity_column, "
            "minimum, output_column_thresholds)");
  EXPECT_EQ(ErrorOf(with(R"([{"minimum": 5}])")),
            "rule: aggregation_thresholds[0].identity_column: is required");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "phone", "minimum": 5}])")),
            "rule: aggregation_thresholds[0].identity_column: 'phone' is not an allowed column of "
            "the table");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend"}])")),
            "rule: aggregation_thresholds[0].minimum: is required");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 1}])")),
            "rule: aggregation_thresholds[0].minimum: 1 is outside the allowed range 2 to 100000");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 0}])")),
            "rule: aggregation_thresholds[0].minimum: 0 is outside the allowed range 2 to 100000");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 100001}])")),
            "rule: aggregation_thresholds[0].minimum: 100001 is outside the allowed range 2 to "
            "100000");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 18446744073709551615}])")),
            "rule: aggregation_thresholds[0].minimum: 18446744073709551615 is outside the allowed "
            "range 2 to 100000");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": "100"}])")),
            "rule: aggregation_thresholds[0].minimum: must be an integer (2 to 100000)");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 2.5}])")),
            "rule: aggregation_thresholds[0].minimum: must be an integer (2 to 100000)");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5},
                             {"identity_column": "SPEND", "minimum": 9}])")),
            "rule: aggregation_thresholds[1].identity_column: 'spend' is listed twice");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5, "output_column_thresholds":
                        [{"column": "region", "minimum": 1}]}])")),
            "rule: aggregation_thresholds[0].output_column_thresholds[0].minimum: 1 is outside the "
            "allowed range 0 (exempt) or 2 to 100000");
  EXPECT_EQ(
      ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5, "output_column_thresholds":
                        [{"column": "region", "minimum": 0}, {"column": "Region", "minimum": 9}]}])")),
      "rule: aggregation_thresholds[0].output_column_thresholds[1].column: 'Region' is listed "
      "twice");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5, "output_column_thresholds":
                        [{"column": "nope", "minimum": 0}]}])")),
            "rule: aggregation_thresholds[0].output_column_thresholds[0].column: 'nope' is not an "
            "allowed column of the table");
  EXPECT_EQ(ErrorOf(with(R"([{"identity_column": "spend", "minimum": 5, "output_column_thresholds":
                        {"region": 0}}])")),
            "rule: aggregation_thresholds[0].output_column_thresholds: must be a list, not object");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_aggregate_expressions": "all")")),
            "rule: allowed_aggregate_expressions: must be \"columns_only\" or \"any_expression\"");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_aggregate_expressions": true)")),
            "rule: allowed_aggregate_expressions: must be \"columns_only\" or \"any_expression\"");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_literal_comparison_columns": "region")")),
            "rule: allowed_literal_comparison_columns: must be a list, not string");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_column_comparison_columns": ["region", "phone"])")),
            "rule: allowed_column_comparison_columns[1]: 'phone' is not an allowed column of the "
            "table");
  EXPECT_EQ(ErrorOf(Custom(R"("allowed_literal_comparison_columns": ["region", "REGION"])")),
            "rule: allowed_literal_comparison_columns[1]: 'Region' is listed twice");
  EXPECT_EQ(
      ErrorOf(Custom(R"("aggregation_thresholds": [{"identity_column": "spend", "minimum": 5}],
                             "allowed_literal_comparison_columns": ["spend"])")),
      "rule: allowed_literal_comparison_columns: 'spend' is an identity column of "
      "aggregation_thresholds; it may never be compared with a literal");
}

TEST(CanonicalRuleJson, CustomIsStableAcrossSpellingsAndOrder) {
  absl::StatusOr<Rule> first =
      ParseRule(Custom(R"("allowed_analyses": [")" + kTemplateB + R"(", ")" + kTemplateA + R"("],
                "any_query": true, "allowed_analysis_providers": ["supplier", "agency"],
                "disallowed_output_columns": ["spend", "HASHED_EMAIL"],
                "allowed_result_receivers": ["supplier", "retailer"])"),
                kColumns);
  absl::StatusOr<Rule> second = ParseRule(
      R"({"allowed_result_receivers": ["retailer", "supplier"],
          "disallowed_output_columns": ["hashed_email", "Spend"],
          "allowed_analysis_providers": ["agency", "supplier"], "any_query": true,
          "allowed_analyses": [")" +
          kTemplateA + R"(", ")" + kTemplateB + R"("], "kind": "custom"})",
      kColumns);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  std::string canonical = CanonicalRuleJson(*first);
  EXPECT_EQ(canonical, CanonicalRuleJson(*second));
  EXPECT_EQ(canonical,
            R"({"allowed_analyses":[")" + kTemplateB + R"(",")" + kTemplateA +
                R"("],"allowed_analysis_providers":["agency","supplier"],)"
                R"("allowed_result_receivers":["retailer","supplier"],"any_query":true,)"
                R"("disallowed_output_columns":["hashed_email","spend"],"kind":"custom"})");
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);

  // Without any_query, the canonical form has no providers and no receivers, and reads back.
  absl::StatusOr<Rule> templates =
      ParseRule(Custom(R"("allowed_analyses": [")" + kTemplateA + R"("])"), kColumns);
  ASSERT_TRUE(templates.ok()) << templates.status();
  canonical = CanonicalRuleJson(*templates);
  EXPECT_EQ(canonical,
            R"({"allowed_analyses":[")" + kTemplateA +
                R"("],"any_query":false,"disallowed_output_columns":[],"kind":"custom"})");
  again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);
}

TEST(CanonicalRuleJson, DiffersBetweenKinds) {
  absl::StatusOr<Rule> list = ParseRule(List(R"("join_columns": ["hashed_email"])"), kColumns);
  absl::StatusOr<Rule> aggregation = ParseRule(
      Document(
          R"([{"columns": ["spend"], "functions": ["SUM"]}])",
          R"("join_columns": ["hashed_email"], "output_constraints": [{"column": "spend", "minimum": 2}])"),
      kColumns);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_TRUE(aggregation.ok()) << aggregation.status();
  EXPECT_NE(CanonicalRuleJson(*list), CanonicalRuleJson(*aggregation));
  EXPECT_EQ(CanonicalRuleJson(*list).find("output_constraints"), std::string::npos);
}

}  // namespace
}  // namespace parley::policy

namespace parley::policy {
namespace {

// Found by fuzzing: a number too large for a double made the JSON reader throw out of ParseRule.
TEST(ParseRuleFuzzed, AnOutOfRangeNumberIsAnError) {
  auto rule = ParseRule(R"({"kind": "aggregation", "x": 8888888888e422222})", {"a"});
  EXPECT_EQ(rule.status().message(), "rule: not valid JSON (a number is out of range)");
}

std::string WithPrivacy(const std::string& privacy) {
  return Document(R"([{"columns": ["spend"], "functions": ["SUM", "AVG"]}])",
                  R"("output_constraints": [{"column": "household_id", "minimum": 2}], )"
                  R"("differential_privacy": )" +
                      privacy);
}

TEST(ParseRule, DifferentialPrivacyReadsAndRoundTrips) {
  absl::StatusOr<Rule> rule =
      ParseRule(WithPrivacy(R"({"privacy_unit": "HOUSEHOLD_ID", "max_groups_per_unit": 3,
                      "bounds": [{"column": "spend", "minimum": 0, "maximum": 2500.5}]})"),
                kColumns);
  ASSERT_TRUE(rule.ok()) << rule.status();
  ASSERT_TRUE(rule->aggregation.differential_privacy.has_value());
  const DifferentialPrivacy& dp = *rule->aggregation.differential_privacy;
  EXPECT_EQ(dp.privacy_unit, "household_id");
  EXPECT_EQ(dp.max_groups_per_unit, 3);
  EXPECT_EQ(dp.max_rows_per_unit, 1);
  ASSERT_TRUE(dp.bounds.contains("spend"));
  EXPECT_EQ(dp.bounds.at("spend").maximum, 2500.5);
  std::string canonical = CanonicalRuleJson(*rule);
  absl::StatusOr<Rule> again = ParseRule(canonical, kColumns);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalRuleJson(*again), canonical);
  // A rule without it keeps its canonical form (and audit hash).
  absl::StatusOr<Rule> plain = ParseRule(Document(), kColumns);
  EXPECT_EQ(CanonicalRuleJson(*plain).find("differential_privacy"), std::string::npos);
}

TEST(ParseRule, DifferentialPrivacyErrors) {
  EXPECT_EQ(ErrorOf(WithPrivacy(R"({})")),
            "rule: differential_privacy.privacy_unit: is required: the column that identifies a "
            "person or household");
  EXPECT_EQ(ErrorOf(WithPrivacy(R"({"privacy_unit": "phone"})")),
            "rule: differential_privacy.privacy_unit: 'phone' is not an allowed column of the "
            "table");
  EXPECT_EQ(ErrorOf(WithPrivacy(R"("household_id")")),
            "rule: differential_privacy: must be an object with privacy_unit (and optionally "
            "max_groups_per_unit, max_rows_per_unit, bounds)");
  EXPECT_EQ(ErrorOf(WithPrivacy(R"({"privacy_unit": "household_id", "epsilon": 1})")),
            "rule: differential_privacy: unknown key 'epsilon' (expected one of privacy_unit, "
            "max_groups_per_unit, max_rows_per_unit, bounds)");
  EXPECT_EQ(ErrorOf(WithPrivacy(R"({"privacy_unit": "household_id", "max_groups_per_unit": 0})")),
            "rule: differential_privacy.max_groups_per_unit: must be an integer from 1 to 100");
  EXPECT_EQ(ErrorOf(WithPrivacy(R"({"privacy_unit": "household_id", "max_rows_per_unit": 1001})")),
            "rule: differential_privacy.max_rows_per_unit: must be an integer from 1 to 1000");
  EXPECT_EQ(
      ErrorOf(WithPrivacy(
          R"({"privacy_unit": "household_id", "bounds": [{"column": "spend", "minimum": 5, "maximum": 1}]})")),
      "rule: differential_privacy.bounds[0]: minimum must not exceed maximum");
  EXPECT_EQ(
      ErrorOf(WithPrivacy(
          R"({"privacy_unit": "household_id", "bounds": [{"column": "spend", "minimum": 0}]})")),
      "rule: differential_privacy.bounds[0].maximum: is required");
  EXPECT_EQ(
      ErrorOf(WithPrivacy(
          R"({"privacy_unit": "household_id", "bounds": [{"column": "cost", "minimum": 0, "maximum": 1}]})")),
      "rule: differential_privacy.bounds[0].column: 'cost' is not an allowed column of the "
      "table");
  EXPECT_EQ(
      ErrorOf(WithPrivacy(
          R"({"privacy_unit": "household_id", "bounds": [{"column": "spend", "minimum": "0", "maximum": 1}]})")),
      "rule: differential_privacy.bounds[0].minimum: must be a number from -1e12 to 1e12");
}

}  // namespace
}  // namespace parley::policy
