// Analysis rule documents: one per table, set by its owner, written as JSON in AWS Clean Rooms'
// vocabulary in snake_case. ParseRule validates a document against the table's columns and
// returns a typed Rule; CanonicalRuleJson writes it back in one canonical form (sorted keys,
// upper-case function names) so that equal rules hash equally in the audit log.
//
//   {"kind": "aggregation",
//    "aggregate_columns": [{"columns": ["spend"], "functions": ["SUM", "AVG"]}],
//    "join_columns": ["hashed_email"], "join_required": "query_runner",
//    "allowed_join_operators": ["AND"], "dimension_columns": ["age_band"],
//    "scalar_functions": ["ROUND"],
//    "output_constraints": [{"column": "household_id", "minimum": 100, "type": "count_distinct"}]}
//
// Errors: InvalidArgument, the message naming the JSON path and what is wrong ("rule:
// aggregate_columns[0].functions[1]: 'MEDIAN' is not one of COUNT, ..."). Unknown keys are errors.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace parley::policy {

enum class RuleKind { kAggregation, kList, kCustom };
std::string RuleKindName(RuleKind kind);  // "aggregation", "list", "custom"

// The aggregate functions an aggregation rule can allow, by their AWS names.
inline constexpr const char* kAggregateFunctionNames[] = {"COUNT", "COUNT_DISTINCT", "SUM",
                                                          "SUM_DISTINCT", "AVG"};

struct OutputConstraint {
  std::string column;
  int64_t minimum = 0;  // 2 to 100000
};

struct AggregationRule {
  std::map<std::string, std::set<std::string>> aggregate_columns;  // column → functions
  std::set<std::string> join_columns;
  bool join_required_query_runner = false;
  std::set<std::string> allowed_join_operators;  // "AND", "OR"
  std::set<std::string> dimension_columns;
  std::set<std::string> scalar_functions;        // upper case
  std::vector<OutputConstraint> output_constraints;
};

struct Rule {
  RuleKind kind = RuleKind::kAggregation;
  AggregationRule aggregation;
};

// The scalar functions (and CAST, CASE) a rule may list, upper case.
const std::set<std::string>& SupportedScalarFunctions();

// Validates `document` for a table with columns `table_columns` (its allowed columns).
absl::StatusOr<Rule> ParseRule(std::string_view document,
                               const std::vector<std::string>& table_columns);

std::string CanonicalRuleJson(const Rule& rule);

}  // namespace parley::policy
