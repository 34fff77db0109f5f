#include "cli/output.h"

#include <ostream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "policy/verdict.h"

namespace parley::cli {

std::string Abilities(const catalog::Member& member) {
  std::vector<std::string> abilities;
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  return abilities.empty() ? "none" : absl::StrJoin(abilities, ",");
}

std::string RuleKindOf(const std::string& rule_json) {
  nlohmann::json rule = nlohmann::json::parse(rule_json, nullptr, false);
  if (!rule.is_object()) return "unreadable";
  return rule.value("kind", "unknown");
}

void PrintCollaboration(std::ostream& out, const catalog::Collaboration& collaboration) {
  out << "collaboration " << collaboration.name << "\n";
  if (!collaboration.description.empty()) out << "  description: " << collaboration.description << "\n";
  out << "  creator: " << collaboration.creator << "\n";
  out << "  query logging: " << (collaboration.query_logging ? "on" : "off") << "\n";
  out << "  members:\n";
  for (const catalog::Member& member : collaboration.members) {
    out << "    " << member.name << "  abilities: " << Abilities(member)
        << "  status: " << catalog::MemberStatusName(member.status) << "\n";
  }
}

void PrintTable(std::ostream& out, const service::TableView& table) {
  out << "table " << table.name << " (owner " << table.owner << ", " << table.kind << ")\n";
  if (table.location) out << "  source: " << *table.location << "\n";
  out << "  columns:\n";
  size_t width = 0;
  for (const catalog::Column& column : table.columns) width = std::max(width, column.name.size());
  for (const catalog::Column& column : table.columns) {
    out << "    " << column.name << std::string(width - column.name.size() + 2, ' ') << column.type
        << "\n";
  }
  if (table.rule_json) {
    std::string rule = nlohmann::json::parse(*table.rule_json).dump(2);
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

void PrintRejection(std::ostream& out, const service::Explanation& explanation) {
  size_t count = explanation.verdict.violations.size();
  out << "query rejected: " << count << (count == 1 ? " violation" : " violations") << "\n"
      << policy::FormatViolations(explanation.verdict.violations);
}

void PrintExplanation(std::ostream& out, const service::Explanation& explanation) {
  if (!explanation.verdict.allowed()) {
    PrintRejection(out, explanation);
    return;
  }
  out << "verdict: allowed\n";
  out << "tables: " << absl::StrJoin(explanation.tables, ", ") << "\n";
  if (!explanation.verdict.thresholds.empty()) {
    out << "thresholds (groups below them are dropped):\n";
    for (const policy::Threshold& threshold : explanation.verdict.thresholds) {
      out << "  at least " << threshold.minimum << " distinct " << threshold.table << "."
          << threshold.column << " per row\n";
    }
  }
  out << "engine SQL:\n  " << explanation.rendered_sql << "\n";
  out << "front end: " << explanation.front_end_micros << " µs\n";
}

}  // namespace parley::cli
