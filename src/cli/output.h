// Printing service results for people: collaborations, tables, verdicts, results, templates,
// query logs and the consolidated policy. The layouts are stable: end-to-end tests assert them.
#pragma once

#include <iosfwd>
#include <map>
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

// Seconds since the epoch as "2026-11-21 19:56:53 UTC".
std::string FormatTime(int64_t seconds);
// The first 12 characters of a template id: enough to name it, and accepted as an id.
std::string ShortId(const std::string& template_id);

// "template NAME by AUTHOR: N parameters, reads T1, T2; runnable: yes|no".
std::string TemplateSummary(const service::TemplateView& view);
// A template for review: id, name, author, time, SQL, parameters, tables and their approvals.
void PrintTemplate(std::ostream& out, const service::TemplateView& view);
// One line: short id, name, author, runnable.
void PrintTemplateLine(std::ostream& out, const service::TemplateView& view);

// One block per query: id, time, runner, status, template, receivers, tables, SQL and, for a
// rejection, its violations; for a receiver, the row count or the error.
void PrintQueryLogEntry(std::ostream& out, const service::QueryView& query);
// One line of `query list`: "ID  STATUS  runner R[  rows N]  receivers A,B".
void PrintQueryLine(std::ostream& out, const service::QueryView& query);
// After a run: "query ID: N rows for A, B" for a receiver, "query ID: accepted and finished;
// results go to A, B" for a runner who does not receive the result.
void PrintRunSummary(std::ostream& out, const service::QueryOutcome& outcome);

// The consolidated policy. `template_names` maps template ids to names, to name the templates a
// custom rule approves.
void PrintPolicy(std::ostream& out, const std::string& collaboration,
                 const service::PolicyView& policy,
                 const std::map<std::string, std::string>& template_names);

}  // namespace parley::cli
