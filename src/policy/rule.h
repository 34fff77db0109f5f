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
//    "output_constraints": [{"column": "household_id", "minimum": 100, "type": "count_distinct"}],
//    "allow_fan_out": false}
//
// Errors: InvalidArgument, the message naming the JSON path and what is wrong ("rule:
// aggregate_columns[0].functions[1]: 'MEDIAN' is not one of COUNT, ..."). Unknown keys are errors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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

// Differential privacy for an aggregation table (docs/rules.md, "Differential privacy"): results
// over it are noised with exact discrete Laplace noise against the collaboration's privacy budget,
// after each privacy unit's contribution is bounded.
//   "differential_privacy": {"privacy_unit": "household_id", "max_groups_per_unit": 1,
//                            "max_rows_per_unit": 1,
//                            "bounds": [{"column": "spend", "minimum": 0, "maximum": 5000}]}
struct ValueBounds {
  double minimum = 0;
  double maximum = 0;
};
struct DifferentialPrivacy {
  std::string privacy_unit;  // the column that identifies a person or household in the table
  // How many output groups one unit may contribute to (others are dropped before aggregating).
  int64_t max_groups_per_unit = 1;  // 1 to 100
  // How many rows of one unit count in one group (COUNT(*)); a unit's SUM in a group is clamped
  // to max_rows_per_unit times the column's bounds.
  int64_t max_rows_per_unit = 1;              // 1 to 1000
  std::map<std::string, ValueBounds> bounds;  // column → bounds; needed for SUM and AVG
};

struct AggregationRule {
  std::map<std::string, std::set<std::string>> aggregate_columns;  // column → functions
  std::set<std::string> join_columns;
  bool join_required_query_runner = false;
  std::set<std::string> allowed_join_operators;  // "AND", "OR"
  std::set<std::string> dimension_columns;
  std::set<std::string> scalar_functions;  // upper case
  std::vector<OutputConstraint> output_constraints;
  // Whether an aggregate may weigh a row of this table once per row of other tables it matches
  // (AWS Clean Rooms' behaviour). By default each row counts at most once per output group:
  // otherwise a runner who repeats a join key in its own table multiplies one row's value.
  bool allow_fan_out = false;
  std::optional<DifferentialPrivacy> differential_privacy;
};

// Row-level overlap lists: SELECT DISTINCT of list columns for the rows that join the runner's
// table, never a dump of someone else's table.
//   {"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["segment"],
//    "allowed_join_operators": ["AND"]}
struct ListRule {
  std::set<std::string> join_columns;            // at least one
  std::set<std::string> list_columns;            // may be empty (the table only filters)
  std::set<std::string> allowed_join_operators;  // "AND", "OR"; default {"AND"}
};

// Reviewed analyses only, or any query by listed providers; some columns may never reach the
// output, and results may go only to listed receivers.
//   {"kind": "custom", "allowed_analyses": ["<template sha256>"], "any_query": true,
//    "allowed_analysis_providers": ["supplier"], "disallowed_output_columns": ["hashed_email"],
//    "allowed_result_receivers": ["supplier"]}
//
// Thresholds and comparison controls (issue 16; docs/rules.md "Thresholds on free SQL"):
//   "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 100,
//                               "output_column_thresholds": [{"column": "region", "minimum": 0}]}],
//   "allowed_aggregate_expressions": "columns_only",
//   "allowed_literal_comparison_columns": ["region"], "allowed_column_comparison_columns": []
// Every output row of a query reading the table must be computed from rows of at least
// `minimum` distinct identities (rows that are not are suppressed by the rewrite).
struct IdentityThreshold {
  std::string identity_column;
  int64_t minimum = 0;  // 2 to 100000
  // Output column → the minimum when the query outputs something derived from it: 0 (exempt) or
  // 2 to 100000. The query's minimum is the largest over its output columns.
  std::map<std::string, int64_t> output_column_thresholds;
};

enum class AggregateExpressions { kColumnsOnly, kAnyExpression };

struct CustomRule;

// A saved result's table (`parley query run … --save-as`, issue 16 §3; docs/rules.md "Derived
// tables"): the tables it was computed from, the owners of those tables (its co-owners), and the
// rule derived from theirs when it was populated. Written by Parley, never by the owner: every
// later rule of the table must contain the same section and be at least as strict as `inherited`
// (policy/derived.h CheckTightens).
//   "derived_from": {"tables": ["salaries"], "co_owners": ["hr"], "inherited": {<custom rule>},
//                    "approvals": {"<template sha256>": ["hr"]}}
// An analysis template runs over the table only when every co-owner and the table's owner (who
// saved it) have approved it (`parley template approve`): their approvals are kept here, written
// by Parley as each of them approves, never taken from the owner's rule, and cleared whenever the
// rest of the rule changes (an approval is given for the rule in force).
struct DerivedFrom {
  std::set<std::string> tables;
  std::set<std::string> co_owners;
  std::shared_ptr<const CustomRule> inherited;             // never null; has no derived_from itself
  std::map<std::string, std::set<std::string>> approvals;  // template id → members who approved
};

struct CustomRule {
  std::set<std::string> allowed_analyses;            // template ids (64 hex characters)
  bool any_query = false;                            // free-form SQL, by the providers below
  std::set<std::string> allowed_analysis_providers;  // member names; required with any_query
  std::set<std::string> disallowed_output_columns;
  std::set<std::string> allowed_result_receivers;         // empty: any member with `receive`
  std::vector<IdentityThreshold> aggregation_thresholds;  // one per identity column
  // Default: columns_only when the rule sets thresholds or comparison controls (an expression
  // inside an aggregate is a filter that escapes them), any_expression otherwise.
  AggregateExpressions allowed_aggregate_expressions = AggregateExpressions::kAnyExpression;
  // Absent: no control; present (even empty): only these columns may be compared with a
  // literal / with another column.
  std::optional<std::set<std::string>> allowed_literal_comparison_columns;
  std::optional<std::set<std::string>> allowed_column_comparison_columns;
  std::optional<DerivedFrom> derived_from;  // only on a saved result's table
  // Jobs (issue 12): code that reads the table's rows in the sandbox. Only the jobs listed here,
  // or with any_job those of the members listed as providers, may read it. Outputs of a job are
  // withheld when they contain a value of a never_output column; allow_job_logs lets the runner
  // of a job see its logs (stdout and stderr), which can carry rows.
  std::set<std::string> allowed_jobs;  // job ids (64 hex characters)
  bool any_job = false;
  std::set<std::string> allowed_job_providers;  // member names; required with any_job
  std::set<std::string> never_output;           // columns
  bool allow_job_logs = false;

  bool HasControls() const {
    return !aggregation_thresholds.empty() || allowed_literal_comparison_columns.has_value() ||
           allowed_column_comparison_columns.has_value();
  }
};

struct Rule {
  RuleKind kind = RuleKind::kAggregation;
  AggregationRule aggregation;  // when kind == kAggregation
  ListRule list;                // when kind == kList
  CustomRule custom;            // when kind == kCustom
};

// The scalar functions (and CAST, CASE) a rule may list, upper case.
const std::set<std::string>& SupportedScalarFunctions();

// Validates `document` for a table with columns `table_columns` (its allowed columns).
absl::StatusOr<Rule> ParseRule(std::string_view document,
                               const std::vector<std::string>& table_columns);

std::string CanonicalRuleJson(const Rule& rule);

}  // namespace parley::policy
