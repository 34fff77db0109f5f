// Verdicts: the checker's answer for a bound query. A denial is a value, not an error: every
// violation found is listed at once, each naming the rule, table, owner, column, clause and
// position, with a hint where one helps. Messages are built from metadata only, never from data.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/rule.h"

namespace parley::policy {

struct Violation {
  std::string code;      // stable identifier, e.g. "join_column_outside_join"
  std::string rule;      // "aggregation"
  std::string table;     // table name(s) whose rule is violated
  std::string owner;     // their owner(s)
  std::string column;    // may be empty
  std::string clause;    // "SELECT", "WHERE", ...; may be empty
  int location = -1;     // byte offset into the query text
  std::string position;  // "line 1, column 8", or empty
  std::string message;
  std::string hint;  // may be empty
};

// A minimum number of distinct values of `column` (of the table occurrence `table_index`) that
// every output group must have; enforced by the rewriter.
struct Threshold {
  int table_index = 0;
  std::string table;
  std::string column;
  int64_t minimum = 0;
};

// Differential privacy (docs/rules.md): the table occurrence whose rule carries
// differential_privacy. The rewrite replaces the thresholded plan with a contribution-bounded one
// whose exact aggregates the service noises before anything leaves it.
struct PrivacyTarget {
  int table_index = 0;
  std::string table;
  std::string owner;
  DifferentialPrivacy rule;
  int64_t minimum_units = 0;  // the largest of the table's own output constraints
};

struct Verdict {
  bool allowed() const { return violations.empty(); }
  std::optional<RuleKind> rule_kind;  // the kind of rule that judged the query, if any did
  std::vector<Violation> violations;
  std::vector<Threshold> thresholds;
  // Aggregation rules: the table occurrences (indexes into the query's tables) whose rows each
  // aggregate counts at most once per output group, however many rows of other tables they
  // match: those whose rule does not set allow_fan_out. Enforced by the rewriter.
  std::set<int> deduplicated_tables;
  std::optional<PrivacyTarget> differential_privacy;
};

// One line per violation, numbered, for terminals and error messages.
std::string FormatViolations(const std::vector<Violation>& violations);
// A JSON array of violation objects.
std::string ViolationsJson(const std::vector<Violation>& violations);

}  // namespace parley::policy
