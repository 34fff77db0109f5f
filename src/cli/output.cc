#include "cli/output.h"

#include <time.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/codec.h"
#include "api/result_files.h"
#include "api/text.h"
#include "cli/hints.h"

namespace parley::cli {
namespace {

// Whether decimal `a` is above decimal `b` (ε as the API writes it: at most 6 decimals, at most
// 1000, so doubles compare them exactly).
bool ParsesAbove(const std::string& a, const std::string& b) {
  double x = 0, y = 0;
  return absl::SimpleAtod(a, &x) && absl::SimpleAtod(b, &y) && x > y;
}

template <class Items>
std::string ListOrNone(const Items& items, const std::string& none = "none") {
  return items.empty() ? none : absl::StrJoin(items, ", ");
}

// The violations as the terminal shows them (api::FormatViolations), with the CLI's hints.
std::string FormatForTerminal(const std::vector<api::Violation>& violations) {
  std::vector<api::Violation> with_hints = violations;
  for (api::Violation& v : with_hints) v.hint = HintForTerminal(v);
  return api::FormatViolations(with_hints);
}

// A rule's fields as the API carries them (its canonical JSON, docs/rules.md): a missing field
// reads as empty, so a rule without one prints "none".
std::vector<std::string> Strings(const nlohmann::json& rule, const char* key) {
  std::vector<std::string> items;
  auto field = rule.find(key);
  if (field == rule.end() || !field->is_array()) return items;
  for (const nlohmann::json& item : *field) {
    if (item.is_string()) items.push_back(item.get<std::string>());
  }
  return items;
}

bool Flag(const nlohmann::json& rule, const char* key) {
  auto field = rule.find(key);
  return field != rule.end() && field->is_boolean() && field->get<bool>();
}

void PrintAggregationRule(std::ostream& out, const nlohmann::json& rule) {
  out << "      dimension columns: " << ListOrNone(Strings(rule, "dimension_columns")) << "\n";
  out << "      join columns: " << ListOrNone(Strings(rule, "join_columns")) << "\n";
  // One entry per column and its functions, in column order (the canonical form).
  std::map<std::string, std::vector<std::string>> by_column;
  auto aggregate_columns = rule.find("aggregate_columns");
  if (aggregate_columns != rule.end() && aggregate_columns->is_array()) {
    for (const nlohmann::json& entry : *aggregate_columns) {
      if (!entry.is_object()) continue;
      for (const std::string& column : Strings(entry, "columns")) {
        std::vector<std::string>& functions = by_column[column];
        for (const std::string& function : Strings(entry, "functions")) {
          if (std::find(functions.begin(), functions.end(), function) == functions.end()) {
            functions.push_back(function);
          }
        }
      }
    }
  }
  std::vector<std::string> aggregates;
  for (const auto& [column, functions] : by_column) {
    aggregates.push_back(absl::StrCat(column, " (", absl::StrJoin(functions, ", "), ")"));
  }
  out << "      aggregate columns: "
      << (aggregates.empty() ? "none" : absl::StrJoin(aggregates, "; ")) << "\n";
  out << "      scalar functions: " << ListOrNone(Strings(rule, "scalar_functions")) << "\n";
  out << "      join operators: " << ListOrNone(Strings(rule, "allowed_join_operators")) << "\n";
  auto join_required = rule.find("join_required");
  bool runner_joins = join_required != rule.end() && *join_required == "query_runner";
  out << "      join required: " << (runner_joins ? "yes, with a table of the query runner" : "no")
      << "\n";
  std::vector<std::string> thresholds;
  auto constraints = rule.find("output_constraints");
  if (constraints != rule.end() && constraints->is_array()) {
    for (const nlohmann::json& constraint : *constraints) {
      if (!constraint.is_object()) continue;
      thresholds.push_back(absl::StrCat("at least ", constraint.value("minimum", int64_t{0}),
                                        " distinct ", constraint.value("column", std::string()),
                                        " per row"));
    }
  }
  out << "      thresholds: " << (thresholds.empty() ? "none" : absl::StrJoin(thresholds, "; "))
      << "\n";
  // Shown only when set: the default (each row counts once per group) needs no line.
  if (Flag(rule, "allow_fan_out")) {
    out << "      fan-out: allowed (a row counts once for every row it matches in a join)\n";
  }
}

void PrintListRule(std::ostream& out, const nlohmann::json& rule) {
  out << "      join columns: " << ListOrNone(Strings(rule, "join_columns")) << "\n";
  out << "      list columns: " << ListOrNone(Strings(rule, "list_columns")) << "\n";
  out << "      join operators: " << ListOrNone(Strings(rule, "allowed_join_operators")) << "\n";
}

void PrintCustomRule(std::ostream& out, const nlohmann::json& rule,
                     const std::map<std::string, std::string>& template_names) {
  out << "      free-form queries: "
      << (Flag(rule, "any_query")
              ? absl::StrCat("by ", ListOrNone(Strings(rule, "allowed_analysis_providers")))
              : std::string("not allowed (approved templates only)"))
      << "\n";
  out << "      disallowed output columns: "
      << ListOrNone(Strings(rule, "disallowed_output_columns")) << "\n";
  out << "      result receivers: "
      << ListOrNone(Strings(rule, "allowed_result_receivers"),
                    "any member with the receive ability")
      << "\n";
  std::vector<std::string> templates;
  for (const std::string& id : Strings(rule, "allowed_analyses")) {
    auto name = template_names.find(id);
    templates.push_back(
        name == template_names.end() ? ShortId(id) : absl::StrCat(ShortId(id), " ", name->second));
  }
  out << "      approved templates: "
      << (templates.empty() ? "none" : absl::StrJoin(templates, ", ")) << "\n";
  // Thresholds on free SQL and comparison controls (issue 16): shown only when set, so that the
  // summary of a rule without them reads as before.
  const nlohmann::json* thresholds = nullptr;
  if (auto it = rule.find("aggregation_thresholds"); it != rule.end() && it->is_array()) {
    thresholds = &*it;
  }
  if (thresholds != nullptr && !thresholds->empty()) {
    std::vector<std::string> lines;
    for (const nlohmann::json& threshold : *thresholds) {
      std::vector<std::string> overrides;
      if (auto it = threshold.find("output_column_thresholds"); it != threshold.end()) {
        for (const nlohmann::json& entry : *it) {
          int64_t minimum = entry.value("minimum", int64_t{0});
          std::string column = entry.value("column", std::string());
          overrides.push_back(minimum == 0 ? absl::StrCat(column, ": exempt")
                                           : absl::StrCat(column, ": at least ", minimum));
        }
      }
      lines.push_back(absl::StrCat(
          "at least ", threshold.value("minimum", int64_t{0}), " distinct ",
          threshold.value("identity_column", std::string()), " per row",
          overrides.empty() ? "" : absl::StrCat(" (", absl::StrJoin(overrides, "; "), ")")));
    }
    out << "      thresholds: " << absl::StrJoin(lines, "; ") << "\n";
  }
  // The canonical document leaves allowed_aggregate_expressions out when it is the default:
  // columns_only once thresholds or comparison lists are set, any_expression otherwise.
  bool has_controls = (thresholds != nullptr && !thresholds->empty()) ||
                      rule.contains("allowed_literal_comparison_columns") ||
                      rule.contains("allowed_column_comparison_columns");
  std::string expressions =
      rule.value("allowed_aggregate_expressions", has_controls ? "columns_only" : "any_expression");
  if (expressions == "columns_only") out << "      aggregate arguments: plain columns only\n";
  if (rule.contains("allowed_literal_comparison_columns")) {
    out << "      compared with a literal: "
        << ListOrNone(Strings(rule, "allowed_literal_comparison_columns")) << "\n";
  }
  if (rule.contains("allowed_column_comparison_columns")) {
    out << "      compared with another column: "
        << ListOrNone(Strings(rule, "allowed_column_comparison_columns")) << "\n";
  }
  // A saved query result (issue 16 §3): where it came from, who co-owns it, and that its rule
  // may only be tightened from what it inherited (shown whole by `table show`).
  if (auto derived = rule.find("derived_from"); derived != rule.end() && derived->is_object()) {
    out << "      saved result of: " << ListOrNone(Strings(*derived, "tables"))
        << " (co-owners: " << ListOrNone(Strings(*derived, "co_owners"))
        << "; its rule may only be tightened from the one it inherited)\n";
  }
}

}  // namespace

std::string Indented(const std::string& text, const std::string& prefix) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && absl::StripAsciiWhitespace(lines[first]).empty()) ++first;
  std::string indented;
  for (size_t i = first; i < lines.size(); ++i) {
    std::string line(absl::StripTrailingAsciiWhitespace(lines[i]));
    absl::StrAppend(&indented, line.empty() ? "" : prefix, line, "\n");
  }
  return indented;
}

std::string Padded(const std::string& text, size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

std::string Abilities(const api::Member& member) {
  return member.abilities.empty() ? "none" : absl::StrJoin(member.abilities, ",");
}

std::string RuleKindOf(const nlohmann::json& rule) {
  auto kind = rule.find("kind");
  if (kind == rule.end() || !kind->is_string()) return "unknown";
  return kind->get<std::string>();
}

void PrintCollaboration(std::ostream& out, const api::Collaboration& collaboration) {
  out << "collaboration " << collaboration.name << "\n";
  if (!collaboration.description.empty())
    out << "  description: " << collaboration.description << "\n";
  out << "  creator: " << collaboration.creator << "\n";
  out << "  query logging: " << (collaboration.query_logging ? "on" : "off") << "\n";
  if (collaboration.closed_at) {
    out << "  state: closed since " << FormatTime(*collaboration.closed_at)
        << " (no more queries or changes; results and audit stay readable)\n";
  } else {
    out << "  state: " << collaboration.state << "\n";
  }
  if (collaboration.privacy_budget) {
    out << "  privacy budget: epsilon " << collaboration.privacy_budget->epsilon_per_month
        << ", delta " << collaboration.privacy_budget->delta_per_month << " per month; per query "
        << collaboration.privacy_budget->default_epsilon << " by default, at most "
        << collaboration.privacy_budget->max_epsilon << "\n";
  }
  // Shown when they differ from the defaults (the runner pays; every change needs approvals).
  if (collaboration.payer != "runner") out << "  payer: " << collaboration.payer << "\n";
  if (collaboration.time_limit_seconds) {
    out << "  time limit: " << *collaboration.time_limit_seconds << " s per query\n";
  }
  if (!collaboration.auto_approve.empty()) {
    out << "  auto-approved changes: " << absl::StrJoin(collaboration.auto_approve, ", ") << "\n";
  }
  // Client-side encryption's settings, when they differ from the defaults (cleartext allowed,
  // the rest off): a collaboration made for encrypted tables.
  const api::EncryptionSettings& e = collaboration.encryption;
  if (!e.allow_cleartext || e.allow_duplicates || e.allow_joins_on_columns_with_different_names ||
      e.preserve_nulls) {
    auto yes_no = [](bool value) { return value ? "yes" : "no"; };
    out << "  encryption: allow_cleartext " << yes_no(e.allow_cleartext) << ", allow_duplicates "
        << yes_no(e.allow_duplicates) << ", allow_joins_on_columns_with_different_names "
        << yes_no(e.allow_joins_on_columns_with_different_names) << ", preserve_nulls "
        << yes_no(e.preserve_nulls) << "\n";
  }
  out << "  members:\n";
  for (const api::Member& member : collaboration.members) {
    out << "    " << member.name << "  abilities: " << Abilities(member)
        << "  status: " << member.status << "\n";
  }
}

void PrintSample(std::ostream& out, const api::SourceSample& sample) {
  api::Result result;
  for (const api::Column& column : sample.columns)
    result.columns.push_back({column.name, column.type});
  result.rows = sample.rows;
  std::string table = api::FormatResultTable(result);
  if (!table.empty() && table.back() != '\n') table += '\n';
  out << "first " << sample.rows.size() << " rows:\n" << table;
}

std::string DescribeChange(const api::ChangeRequest& change) {
  auto abilities = [&] {
    std::string names = change.abilities && !change.abilities->empty()
                            ? absl::StrJoin(*change.abilities, ", ")
                            : std::string("none");
    return names;
  };
  if (change.kind == "add_member") {
    return absl::StrCat("add member ", change.member.value_or(""), " (abilities ", abilities(), ")",
                        change.invitation.value_or(false) ? " by invitation" : "");
  }
  if (change.kind == "abilities") {
    return absl::StrCat("abilities of ", change.member.value_or(""), ": ", abilities());
  }
  if (change.kind == "payer") return absl::StrCat("payer: ", change.payer.value_or(""));
  if (change.kind == "query_logging") {
    return absl::StrCat("query logging: ", change.query_logging.value_or(false) ? "on" : "off");
  }
  if (change.kind == "time_limit") {
    int64_t seconds = change.time_limit_seconds.value_or(0);
    return seconds > 0 ? absl::StrCat("time limit: ", seconds, " s per query")
                       : "time limit: the server's";
  }
  if (change.kind == "privacy_budget" && change.privacy_budget) {
    const api::PrivacyBudget& budget = *change.privacy_budget;
    return absl::StrCat("privacy budget: epsilon ", budget.epsilon_per_month, ", delta ",
                        budget.delta_per_month, " per month; per query ", budget.default_epsilon,
                        " by default, at most ", budget.max_epsilon);
  }
  return change.kind;
}

void PrintChange(std::ostream& out, const api::ChangeRequest& change) {
  out << "change request " << change.id << ": " << DescribeChange(change) << "\n";
  out << "  status: " << change.status << (change.auto_approved ? " (auto-approved)" : "") << "\n";
  out << "  proposed by " << change.proposer << " at " << FormatTime(change.created_at) << "\n";
  out << "  approved by: "
      << (change.approvals.empty() ? std::string("-") : absl::StrJoin(change.approvals, ", "))
      << "\n";
  if (!change.denials.empty())
    out << "  denied by: " << absl::StrJoin(change.denials, ", ") << "\n";
  if (!change.waiting_for.empty()) {
    out << "  waiting for: " << absl::StrJoin(change.waiting_for, ", ") << "\n";
  }
  if (change.decided_at && change.status != "pending") {
    out << "  " << change.status << " at " << FormatTime(*change.decided_at);
    if (change.decided_by && !change.decided_by->empty()) out << " by " << *change.decided_by;
    out << "\n";
  }
}

void PrintChangeLine(std::ostream& out, const api::ChangeRequest& change) {
  out << change.id << "  " << change.status << "  " << DescribeChange(change) << "  (proposed by "
      << change.proposer;
  if (!change.waiting_for.empty()) {
    out << "; waiting for: " << absl::StrJoin(change.waiting_for, ", ");
  }
  out << ")\n";
}

void PrintTable(std::ostream& out, const api::Table& table) {
  out << "table " << table.name << " (owner " << table.owner << ", " << table.kind << ")\n";
  if (table.location) out << "  source: " << *table.location << "\n";
  out << "  columns:\n";
  size_t width = 0;
  for (const api::Column& column : table.columns) width = std::max(width, column.name.size());
  size_t type_width = 0;
  for (const api::Column& column : table.columns) {
    type_width = std::max(type_width, column.type.size());
  }
  for (const api::Column& column : table.columns) {
    out << "    " << column.name << std::string(width - column.name.size() + 2, ' ') << column.type;
    // Encrypted tables: each column's kind (fingerprint, sealed, cleartext) after its type.
    if (column.encryption) {
      out << std::string(type_width - column.type.size() + 2, ' ') << *column.encryption;
    }
    out << "\n";
  }
  if (table.rule) {
    std::string rule = api::Dump(*table.rule, 2);
    std::string indented;
    for (char c : rule) {
      indented.push_back(c);
      if (c == '\n') indented += "    ";
    }
    out << "  rule:\n    " << indented << "\n";
  } else {
    out << "  rule: none (the table cannot be queried until its owner sets one)\n";
  }
}

void PrintRejection(std::ostream& out, const api::Explanation& explanation) {
  size_t count = explanation.violations.size();
  out << "query rejected: " << count << (count == 1 ? " violation" : " violations") << "\n"
      << FormatForTerminal(explanation.violations);
}

void PrintExplanation(std::ostream& out, const api::Explanation& explanation) {
  if (!explanation.allowed) {
    PrintRejection(out, explanation);
    return;
  }
  out << "verdict: allowed\n";
  out << "tables: " << absl::StrJoin(explanation.tables, ", ") << "\n";
  if (!explanation.thresholds.empty()) {
    out << "thresholds (groups below them are dropped):\n";
    for (const api::Threshold& threshold : explanation.thresholds) {
      out << "  at least " << threshold.minimum << " distinct " << threshold.table << "."
          << threshold.column << " per row\n";
    }
  }
  if (explanation.privacy) PrintPrivacy(out, *explanation.privacy);
  if (explanation.engine.has_value()) out << "engine: " << *explanation.engine << "\n";
  out << "engine SQL:\n  " << explanation.engine_sql.value_or("") << "\n";
  out << "front end: " << explanation.front_end_micros << " µs\n";
}

void PrintSavedTablePreview(std::ostream& out, const api::SavedTablePreview& preview) {
  if (preview.refused) {
    out << "not savable as table '" << preview.table << "': " << *preview.refused << "\n";
    return;
  }
  out << "saved as table '" << preview.table
      << "' (nothing has been run or saved), its rule would be:\n";
  if (preview.rule) PrintCustomRule(out, *preview.rule, {});
  out << "      templates over it run once all approve: " << ListOrNone(preview.co_owners) << "\n";
}

void PrintPrivacy(std::ostream& out, const api::Privacy& privacy) {
  out << "differential privacy: spends epsilon " << privacy.epsilon << ", delta " << privacy.delta;
  if (privacy.accuracy) out << " (the least that meets the accuracy " << *privacy.accuracy << ")";
  out << "\n";
  if (privacy.selection_threshold) {
    out << "  groups appear only with a noisy count of at least " << *privacy.selection_threshold
        << " privacy units\n";
  }
  for (const api::NoiseScale& noise : privacy.noise) {
    out << "  " << noise.column << ": noise scale " << noise.scale << ", 95% within ±"
        << noise.ci95_half_width << "\n";
  }
  if (privacy.epsilon_left) {
    out << "  this month's budget has epsilon " << *privacy.epsilon_left << " left";
    if (ParsesAbove(privacy.epsilon, *privacy.epsilon_left)) {
      out << ": not enough, a run would be refused";
    }
    out << "\n";
  }
}

void PrintBudget(std::ostream& out, const api::BudgetResponse& budget) {
  if (!budget.budget) {
    out << "collaboration " << budget.collaboration << " has no privacy budget\n";
    return;
  }
  out << "privacy budget of " << budget.collaboration << ": epsilon "
      << budget.budget->epsilon_per_month << " and delta " << budget.budget->delta_per_month
      << " per month; a query spends " << budget.budget->default_epsilon << " by default, at most "
      << budget.budget->max_epsilon << "\n";
  for (const api::BudgetPeriod& period : budget.periods) {
    out << "  " << period.period << ": " << period.queries << " queries, epsilon "
        << period.epsilon_spent << " spent, " << period.epsilon_left << " left; delta "
        << period.delta_spent << " spent, " << period.delta_left << " left\n";
  }
}

std::string FormatTime(int64_t seconds) {
  time_t time = static_cast<time_t>(seconds);
  struct tm utc {};
  gmtime_r(&time, &utc);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

void PrintQueryLogEntry(std::ostream& out, const api::Query& query) {
  out << "query " << query.id << "  " << FormatTime(query.created_at) << "  runner " << query.runner
      << "  " << query.status << "\n";
  if (query.template_id) out << "  template: " << ShortId(*query.template_id) << "\n";
  out << "  receivers: " << absl::StrJoin(query.receivers, ", ") << "\n";
  out << "  tables: " << absl::StrJoin(query.tables, ", ") << "\n";
  out << "  sql:\n" << Indented(query.sql, "    ");
  if (!query.violations.empty()) {
    out << "  violations:\n" << Indented(FormatForTerminal(query.violations), "  ");
  }
  if (query.error) out << "  error: " << *query.error << "\n";
  if (query.row_count) out << "  rows: " << *query.row_count << "\n";
}

void PrintQueryLine(std::ostream& out, const api::Query& query) {
  out << query.id << "  " << query.status << "  runner " << query.runner;
  if (query.row_count) out << "  rows " << *query.row_count;
  out << "  receivers " << absl::StrJoin(query.receivers, ",") << "\n";
}

void PrintRunSummary(std::ostream& out, const api::RunResponse& outcome) {
  std::string receivers = absl::StrJoin(outcome.receivers, ", ");
  if (outcome.row_count) {
    out << "query " << outcome.query_id << ": " << *outcome.row_count << " rows for " << receivers
        << "\n";
  } else {
    out << "query " << outcome.query_id << ": accepted and finished; results go to " << receivers
        << "\n";
  }
  if (outcome.explanation.privacy) PrintPrivacy(out, *outcome.explanation.privacy);
}

void PrintPolicy(std::ostream& out, const api::PolicyResponse& policy,
                 const std::map<std::string, std::string>& template_names) {
  const std::vector<std::string>& abilities = policy.abilities;
  bool can_query = std::find(abilities.begin(), abilities.end(), "query") != abilities.end();
  out << "policy for " << policy.member << " in collaboration " << policy.collaboration << "\n";
  out << "  abilities: " << (abilities.empty() ? "none" : absl::StrJoin(abilities, ",")) << "\n";
  if (!can_query) {
    out << "  (without the query ability you may not run queries or templates yourself)\n";
  }
  out << "  tables:\n";
  bool any_aggregation = false;
  bool any_list = false;
  for (const api::TablePolicy& table : policy.tables) {
    out << "    " << table.table << " (owner " << table.owner << "): ";
    if (!table.rule) {
      out << "no rule (cannot be queried until its owner sets one)\n";
      continue;
    }
    // The rule as the API carries it: the policy module's canonical form of the rule.
    std::string kind = RuleKindOf(*table.rule);
    out << kind << " rule\n";
    if (kind == "aggregation") {
      any_aggregation = true;
      PrintAggregationRule(out, *table.rule);
    } else if (kind == "list") {
      any_list = true;
      PrintListRule(out, *table.rule);
    } else if (kind == "custom") {
      PrintCustomRule(out, *table.rule, template_names);
    }
  }
  out << "  across tables (a query must satisfy every table it reads):\n";
  if (any_aggregation) {
    out << "    aggregation queries: scalar functions "
        << ListOrNone(policy.aggregation_scalar_functions) << "; join operators "
        << ListOrNone(policy.aggregation_join_operators) << "\n";
  }
  if (any_list) {
    out << "    list queries: join operators " << ListOrNone(policy.list_join_operators) << "\n";
  }
  out << "    custom tables you may query free-form: "
      << (policy.free_form_custom_tables.empty()
              ? std::string("none")
              : absl::StrJoin(policy.free_form_custom_tables, ", "))
      << "\n";
  if (policy.runnable_templates.empty()) {
    out << "    templates you may run: none\n";
  } else {
    out << "    templates you may run:\n";
    for (const api::TemplateName& view : policy.runnable_templates) {
      out << "      " << ShortId(view.id) << "  " << view.name << "\n";
    }
  }
}

void PrintAuditEntry(std::ostream& out, const api::AuditEntry& entry) {
  out << entry.seq << "  " << FormatTime(entry.time) << "  " << entry.actor << "  " << entry.action
      << "  " << api::Dump(entry.details) << "\n";
}

}  // namespace parley::cli
