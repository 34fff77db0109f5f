#include "policy/checker.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/aggregation_check.h"
#include "policy/custom_check.h"
#include "policy/encryption_check.h"
#include "policy/list_check.h"
#include "policy/violation_builder.h"
#include "sql/parser.h"

namespace parley::policy {
namespace {

void CollectCountStars(const sql::BoundExpr& expr, const char* clause,
                       std::vector<std::pair<const sql::BoundExpr*, const char*>>& found) {
  if (expr.kind == sql::BoundExprKind::kAggregate && expr.star_argument) {
    found.emplace_back(&expr, clause);
  }
  for (const auto& arg : expr.args) CollectCountStars(*arg, clause, found);
}

// Once per group (rewrite/once_per_group.h): an aggregate counts each row of a table whose rule
// does not allow fan-out at most once per output group. COUNT(*) counts joined rows, not the rows
// of a table, so over a join it would weigh such a row once per row it matches elsewhere (a
// runner giving its own keys multiplicities 1, 2, 4, … would read from one count which of them
// fell in the group): refused there.
void CountRowsOncePerGroup(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
                           const std::string& runner, Verdict& verdict) {
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i] != nullptr && rules[i]->kind == RuleKind::kAggregation &&
        !rules[i]->aggregation.allow_fan_out) {
      verdict.deduplicated_tables.insert(static_cast<int>(i));
    }
  }
  if (query.tables.size() < 2 || verdict.deduplicated_tables.empty() || !query.IsFlat()) return;
  std::vector<std::pair<const sql::BoundExpr*, const char*>> stars;
  for (const sql::BoundSelectItem& item : query.select) {
    if (item.expr && !item.from_star) CollectCountStars(*item.expr, sql::kClauseSelect, stars);
  }
  if (query.having) CollectCountStars(*query.having, sql::kClauseHaving, stars);
  for (const sql::BoundOrderItem& order : query.order_by) {
    CollectCountStars(*order.expr, sql::kClauseOrderBy, stars);
  }
  if (stars.empty()) return;
  // Named after another member's table when there is one: that is whose rows are weighed.
  const sql::BoundTable* weighed = &query.tables[*verdict.deduplicated_tables.begin()];
  for (int index : verdict.deduplicated_tables) {
    if (query.tables[index].schema->owner != runner) {
      weighed = &query.tables[index];
      break;
    }
  }
  for (const auto& [star, clause] : stars) {
    bool reported = false;  // already refused for a table that allows no COUNT
    for (const Violation& violation : verdict.violations) {
      reported |=
          violation.code == "count_star_not_allowed" && violation.location == star->location;
    }
    if (reported) continue;
    verdict.violations.push_back(MakeViolation(
        "aggregation", "count_star_fan_out", AttributeTo(*weighed->schema), "", clause,
        star->location,
        absl::StrCat("COUNT(*) over a join counts a row of table '", weighed->schema->name,
                     "' once for every row it matches in the other tables"),
        "count a column with COUNT(column), or COUNT(DISTINCT column): each row of the table then "
        "counts once per group"));
  }
}

// Differential privacy: at most one table occurrence of a query may carry it (the bounded plan
// has one privacy unit); that occurrence is the verdict's target.
void FindPrivacyTarget(const sql::BoundQuery& query, const std::vector<const Rule*>& rules,
                       Verdict& verdict) {
  std::vector<int> private_tables;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i] != nullptr && rules[i]->kind == RuleKind::kAggregation &&
        rules[i]->aggregation.differential_privacy.has_value()) {
      private_tables.push_back(static_cast<int>(i));
    }
  }
  if (private_tables.empty()) return;
  if (private_tables.size() > 1) {
    std::vector<std::string> names;
    for (int index : private_tables) names.push_back(query.tables[index].schema->name);
    const sql::BoundTable& second = query.tables[private_tables[1]];
    verdict.violations.push_back(MakeViolation(
        "aggregation", "dp_several_tables", AttributeTo(*second.schema), "", sql::kClauseFrom,
        second.location,
        absl::StrCat("a query may read one table with differential privacy (once); this one reads ",
                     absl::StrJoin(names, ", ")),
        "query each of them separately"));
    return;
  }
  const sql::BoundTable& table = query.tables[private_tables[0]];
  PrivacyTarget target;
  target.table_index = private_tables[0];
  target.table = table.schema->name;
  target.owner = table.schema->owner;
  target.rule = *rules[private_tables[0]]->aggregation.differential_privacy;
  for (const OutputConstraint& constraint :
       rules[private_tables[0]]->aggregation.output_constraints) {
    target.minimum_units = std::max(target.minimum_units, constraint.minimum);
  }
  verdict.differential_privacy = std::move(target);
}

// Each output column has a name of its own: a result is read by name (the keys of a JSON object,
// the header a spreadsheet reads, a Parquet schema), and two columns of one name would make one
// of them unreachable or ambiguous. Names are compared without case, as SQL compares them.
void RequireUniqueOutputNames(const sql::BoundQuery& query, std::string_view source_text,
                              Verdict& verdict) {
  for (size_t i = 0; i < query.select.size(); ++i) {
    for (size_t first = 0; first < i; ++first) {
      if (!absl::EqualsIgnoreCase(query.select[first].output_name, query.select[i].output_name)) {
        continue;
      }
      std::string earlier = sql::DescribePosition(source_text, query.select[first].location);
      Violation violation;
      violation.code = "duplicate_output_name";
      violation.clause = sql::kClauseSelect;
      violation.location = query.select[i].location;
      violation.message = absl::StrCat("output column ", i + 1, " is named '",
                                       query.select[i].output_name, "' like column ", first + 1,
                                       earlier.empty() ? "" : absl::StrCat(" (at ", earlier, ")"));
      violation.hint = "give each output column a name of its own with AS";
      verdict.violations.push_back(std::move(violation));
      break;
    }
  }
}

}  // namespace

Verdict Check(const sql::BoundQuery& query, const RuleProvider& rules, const std::string& runner,
              std::string_view source_text) {
  return Check(query, rules, CheckContext{runner, "", {}}, source_text);
}

Verdict Check(const sql::BoundQuery& query, const RuleProvider& rules, const CheckContext& context,
              std::string_view source_text) {
  const std::string& runner = context.runner;
  Verdict verdict;
  std::set<RuleKind> kinds;
  std::set<std::string> reported;
  std::vector<const sql::BoundTable*> base_tables = query.BaseTables();
  for (const sql::BoundTable* table : base_tables) {
    const Rule* rule = rules.RuleFor(table->schema->name);
    if (rule != nullptr) {
      kinds.insert(rule->kind);
      continue;
    }
    if (!reported.insert(table->schema->name).second) continue;
    Violation violation;
    violation.code = "no_rule";
    violation.table = table->schema->name;
    violation.owner = table->schema->owner;
    violation.clause = sql::kClauseFrom;
    violation.location = table->location;
    violation.message = absl::StrCat("table '", table->schema->name,
                                     "' has no analysis rule, so it cannot be queried yet");
    violation.hint = absl::StrCat("its owner '", table->schema->owner, "' must set one");
    verdict.violations.push_back(std::move(violation));
  }
  // The rules of the top-level query's own table occurrences (nullptr for derived tables), for
  // the rules that judge flat queries.
  std::vector<const Rule*> table_rules;
  for (const sql::BoundTable& table : query.tables) {
    table_rules.push_back(table.is_base() ? rules.RuleFor(table.schema->name) : nullptr);
  }
  if (base_tables.empty()) {
    // Nothing to judge the query by (a CTE or set operation over names that are no tables):
    // unknown is not allowed.
    Violation violation;
    violation.code = "no_table";
    violation.message = "the query reads no table of this collaboration";
    verdict.violations.push_back(std::move(violation));
  } else if (kinds.size() > 1) {
    // Each table once, with its rule's kind, in the order the query names them.
    std::vector<std::string> tables, owners, described;
    for (const sql::BoundTable* table : base_tables) {
      const Rule* rule = rules.RuleFor(table->schema->name);
      if (rule == nullptr) continue;
      if (std::find(tables.begin(), tables.end(), table->schema->name) != tables.end()) continue;
      tables.push_back(table->schema->name);
      described.push_back(absl::StrCat(table->schema->name, " (", RuleKindName(rule->kind), ")"));
      if (std::find(owners.begin(), owners.end(), table->schema->owner) == owners.end()) {
        owners.push_back(table->schema->owner);
      }
    }
    Violation violation;
    violation.code = "mixed_rule_kinds";
    std::vector<std::string> kind_names;
    for (RuleKind kind : kinds) kind_names.push_back(RuleKindName(kind));
    violation.rule = absl::StrJoin(kind_names, ", ");
    violation.table = absl::StrJoin(tables, ", ");
    violation.owner = absl::StrJoin(owners, ", ");
    violation.clause = sql::kClauseFrom;
    violation.message = absl::StrCat("the query mixes rule kinds: ", absl::StrJoin(described, ", "),
                                     "; one kind per query");
    violation.hint = "query the tables of each kind of rule separately";
    verdict.violations.push_back(std::move(violation));
  } else if (!context.template_id.empty() && kinds.contains(RuleKind::kList)) {
    // A template is a saved query: under a custom rule it runs because the owner approved it;
    // under an aggregation rule (with or without differential privacy) it is judged like the
    // same query typed freely. List rules return rows of matches, not analyses: no templates.
    Violation violation;
    violation.code = "template_requires_custom_rule";
    violation.message =
        "analysis templates run only on tables with a custom or an aggregation rule";
    verdict.violations.push_back(std::move(violation));
  } else if (kinds.contains(RuleKind::kAggregation)) {
    verdict.rule_kind = RuleKind::kAggregation;
    CheckAggregation(query, table_rules, runner, source_text, verdict);
    CountRowsOncePerGroup(query, table_rules, runner, verdict);
    if (query.IsFlat()) FindPrivacyTarget(query, table_rules, verdict);
  } else if (kinds.contains(RuleKind::kList)) {
    verdict.rule_kind = RuleKind::kList;
    CheckList(query, table_rules, runner, source_text, verdict);
  } else if (kinds.contains(RuleKind::kCustom)) {
    verdict.rule_kind = RuleKind::kCustom;
    CheckCustom(query, rules, context, source_text, verdict);
  }
  RequireUniqueOutputNames(query, source_text, verdict);
  // Encrypted columns: whatever the rules allow, only the shapes that stay right on keyed hashes
  // and ciphertexts (policy/encryption_check.h).
  if (const EncryptionPolicy* encryption = rules.Encryption()) {
    CheckEncryptedColumns(query, *encryption, verdict);
  }
  for (Violation& violation : verdict.violations) {
    violation.position = sql::DescribePosition(source_text, violation.location);
  }
  // An expression referenced twice (GROUP BY 1 repeats the SELECT item at its position) is
  // reported once.
  std::vector<Violation> unique;
  for (Violation& violation : verdict.violations) {
    bool repeated = false;
    for (const Violation& kept : unique) {
      repeated |= kept.code == violation.code && kept.table == violation.table &&
                  kept.column == violation.column && kept.location == violation.location &&
                  violation.location >= 0;
    }
    if (!repeated) unique.push_back(std::move(violation));
  }
  verdict.violations = std::move(unique);
  if (!verdict.allowed()) verdict.thresholds.clear();
  return verdict;
}

std::string FormatViolations(const std::vector<Violation>& violations) {
  std::string text;
  for (size_t i = 0; i < violations.size(); ++i) {
    const Violation& v = violations[i];
    absl::StrAppend(&text, "  ", i + 1, ". ", v.message);
    std::vector<std::string> where;
    if (!v.clause.empty()) where.push_back(absl::StrCat("in ", v.clause));
    if (!v.position.empty()) where.push_back(absl::StrCat("at ", v.position));
    if (!where.empty()) absl::StrAppend(&text, " (", absl::StrJoin(where, ", "), ")");
    absl::StrAppend(&text, "\n");
    if (!v.table.empty()) {
      bool several_tables = v.table.find(", ") != std::string::npos;
      bool several_owners = v.owner.find(", ") != std::string::npos;
      absl::StrAppend(&text, "     rule: ", v.rule.empty() ? "the rule" : v.rule + " rule",
                      several_tables ? "s of tables " : " of table ", v.table,
                      several_owners ? " (owners " : " (owner ", v.owner, ")",
                      v.column.empty() ? "" : absl::StrCat(", column ", v.column), "\n");
    }
    if (!v.hint.empty()) absl::StrAppend(&text, "     hint: ", v.hint, "\n");
  }
  return text;
}

std::string ViolationsJson(const std::vector<Violation>& violations) {
  nlohmann::json array = nlohmann::json::array();
  for (const Violation& v : violations) {
    array.push_back({{"code", v.code},
                     {"rule", v.rule},
                     {"table", v.table},
                     {"owner", v.owner},
                     {"column", v.column},
                     {"clause", v.clause},
                     {"position", v.position},
                     {"message", v.message},
                     {"hint", v.hint}});
  }
  return array.dump();
}

}  // namespace parley::policy
