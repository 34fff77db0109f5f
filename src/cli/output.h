// Printing service results for people: collaborations, tables, verdicts, results.
#pragma once

#include <iosfwd>
#include <string>

#include "catalog/store.h"
#include "service/service.h"

namespace parley::cli {

void PrintCollaboration(std::ostream& out, const catalog::Collaboration& collaboration);
void PrintTable(std::ostream& out, const service::TableView& table);
void PrintExplanation(std::ostream& out, const service::Explanation& explanation);
// "query rejected: N violation(s)" and the numbered violations.
void PrintRejection(std::ostream& out, const service::Explanation& explanation);
std::string Abilities(const catalog::Member& member);
// "aggregation", "list", ... from a stored (canonical) rule document.
std::string RuleKindOf(const std::string& rule_json);

}  // namespace parley::cli
