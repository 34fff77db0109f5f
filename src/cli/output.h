// Printing API responses for people: collaborations, tables, verdicts, results, templates,
// query logs, audit entries and the consolidated policy. The layouts are stable: end-to-end tests
// assert them. (`--json` prints the responses themselves instead; see cli/commands.h.)
#pragma once

#include <iosfwd>
#include <map>
#include <string>

#include "api/types.h"

namespace parley::cli {

void PrintCollaboration(std::ostream& out, const api::Collaboration& collaboration);
void PrintTable(std::ostream& out, const api::Table& table);
// A preview's first rows as a table ("first N rows:").
void PrintSample(std::ostream& out, const api::SourceSample& sample);
void PrintExplanation(std::ostream& out, const api::Explanation& explanation);
// What `query explain --save-as NAME` says the saved table would be: its derived rule summarised
// (as `parley policy` does) and its co-owners, or why the result could not be saved.
void PrintSavedTablePreview(std::ostream& out, const api::SavedTablePreview& preview);
// What a query over a table with differential privacy spends and the noise of each aggregate.
void PrintPrivacy(std::ostream& out, const api::Privacy& privacy);
void PrintBudget(std::ostream& out, const api::BudgetResponse& budget);
// "query rejected: N violation(s)" and the numbered violations.
void PrintRejection(std::ostream& out, const api::Explanation& explanation);
std::string Abilities(const api::Member& member);
// What a change request changes, in a few words: "add member agency (abilities query)",
// "payer: supplier", "query logging: off".
std::string DescribeChange(const api::ChangeRequest& change);
// One change request as `change show` prints it, and as one line of `change list`.
void PrintChange(std::ostream& out, const api::ChangeRequest& change);
void PrintChangeLine(std::ostream& out, const api::ChangeRequest& change);
// "aggregation", "list", ... from a rule document.
std::string RuleKindOf(const nlohmann::json& rule);

// Every line of `text` prefixed with `prefix`, each ending in a newline. Blank lines inside the
// text are kept (a reviewer sees the text as written), without trailing spaces.
std::string Indented(const std::string& text, const std::string& prefix);
// `text` followed by spaces up to `width` characters (never cut).
std::string Padded(const std::string& text, size_t width);

// Seconds since the epoch as "2026-11-21 19:56:53 UTC".
std::string FormatTime(int64_t seconds);
// The first 12 characters of a template id: enough to name it, and accepted as an id.
std::string ShortId(const std::string& template_id);

// "template NAME by AUTHOR: N parameters, reads T1, T2; runnable: yes|no".
std::string TemplateSummary(const api::Template& view);
// A template for review: id, name, author, time, SQL, parameters, tables and their approvals.
void PrintTemplate(std::ostream& out, const api::Template& view);
// One line: short id, name, author, runnable.
void PrintTemplateLine(std::ostream& out, const api::Template& view);

// One block per query: id, time, runner, status, template, receivers, tables, SQL and, for a
// rejection, its violations; for a receiver, the row count or the error.
void PrintQueryLogEntry(std::ostream& out, const api::Query& query);
// One line of `query list`: "ID  STATUS  runner R[  rows N]  receivers A,B".
void PrintQueryLine(std::ostream& out, const api::Query& query);
// After a run: "query ID: N rows for A, B" for a receiver, "query ID: accepted and finished;
// results go to A, B" for a runner who does not receive the result.
void PrintRunSummary(std::ostream& out, const api::RunResponse& outcome);

// The consolidated policy. `template_names` maps template ids to names, to name the templates a
// custom rule approves.
void PrintPolicy(std::ostream& out, const api::PolicyResponse& policy,
                 const std::map<std::string, std::string>& template_names);

// One line of `audit list`: "SEQ  TIME  ACTOR  ACTION  DETAILS".
void PrintAuditEntry(std::ostream& out, const api::AuditEntry& entry);

}  // namespace parley::cli
