// Commands on tables, their rules and the policy they add up to: table add|list|show, rule set,
// policy.
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/text.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::AddTableCommands() {
  CLI::App* group = Group("table", "add, list and show tables");
  auto* add = group->add_subcommand(
      "add",
      "add a table from a CSV or Parquet file (or glob), or a PostgreSQL table read in place");
  AddCollaborationOption(add);
  add->add_option("name", table_name_, "the table's name in the collaboration")->required();
  auto* source = add->add_option("--source", table_source_, "a CSV or Parquet path or glob");
  auto* postgres =
      add->add_option("--postgres", table_postgres_,
                      "a libpq connection string or service=NAME, without a password (.pgpass or "
                      "pg_service.conf give it)");
  auto* relation =
      add->add_option("--relation", table_relation_, "with --postgres: schema.table to read");
  source->excludes(postgres);
  postgres->needs(relation);
  relation->needs(postgres);
  add->add_option("--columns", table_columns_,
                  "the allowed columns, comma-separated (default: all)");
  Add(add, [this] {
    api::AddTableRequest request{globals_.collaboration, table_name_, table_source_,
                                 SplitList(table_columns_)};
    if (!table_postgres_.empty()) {
      request.kind = "postgres";
      request.description =
          nlohmann::json{{"conninfo", table_postgres_}, {"relation", table_relation_}};
    } else if (table_source_.empty()) {
      std::cerr << "error: table add needs --source PATH or --postgres CONNINFO --relation "
                   "schema.table\n";
      return 2;
    }
    return Answer(OpenBackend()->AddTable(request), [](const auto& r) {
      std::cout << "added ";
      PrintTable(std::cout, r.table);
      return 0;
    });
  });

  auto* list = group->add_subcommand("list", "tables of a collaboration (metadata only)");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListTables({globals_.collaboration}), [](const auto& r) {
      for (const api::Table& table : r.tables) {
        std::string rule = "no rule";
        if (table.rule) rule = RuleKindOf(*table.rule) + " rule";
        std::cout << table.name << "  owner " << table.owner << "  " << table.columns.size()
                  << " columns  " << rule << "\n";
      }
      return 0;
    });
  });

  auto* show = group->add_subcommand("show", "a table's columns, types and rule — never rows");
  AddCollaborationOption(show);
  show->add_option("name", table_name_)->required();
  Add(show, [this] {
    return Answer(OpenBackend()->ShowTable({globals_.collaboration, table_name_}),
                  [](const auto& r) {
                    PrintTable(std::cout, r.table);
                    return 0;
                  });
  });
}

namespace {

// What an audit entry did to `table`'s rule, in words, or "" when it did nothing to it.
std::string RuleHistoryLine(const api::AuditEntry& entry, const std::string& table) {
  const nlohmann::json& details = entry.details;
  auto text = [&](const char* key) {
    auto it = details.find(key);
    return it != details.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (entry.action == "member.add" && details.contains("rules_cleared") &&
      details["rules_cleared"].is_array()) {
    for (const auto& cleared : details["rules_cleared"]) {
      if (cleared == table) {
        return absl::StrCat("cleared the rule: its owner ", text("member"), " rejoined");
      }
    }
    return "";
  }
  if (text("table") != table) return "";
  if (entry.action == "table.add") return "added the table (no rule yet)";
  if (entry.action == "rule.set") {
    return absl::StrCat("set the rule (sha256 ", text("rule_sha256").substr(0, 12), ")");
  }
  if (entry.action == "template.approve") {
    return absl::StrCat("approved template ", text("template_id").substr(0, 12));
  }
  if (entry.action == "template.revoke") {
    return absl::StrCat("revoked template ", text("template_id").substr(0, 12));
  }
  return "";
}

}  // namespace

void Cli::AddRuleCommands() {
  CLI::App* group = Group("rule", "set a table's analysis rule");
  auto* set = group->add_subcommand(
      "set",
      "set the rule of a table you own (here --json gives the rule; for JSON output put --json "
      "before the command: parley --json rule set ...)");
  AddCollaborationOption(set);
  set->add_option("table", rule_table_)->required();
  auto* file = set->add_option("--file", rule_file_, "a JSON rule document");
  auto* json = set->add_option("--json", rule_json_, "the rule document inline");
  file->excludes(json);
  Add(set, [this] {
    if (rule_file_.empty() == rule_json_.empty()) {
      return Usage("give the rule with --file or --json");
    }
    std::string document = rule_json_;
    if (!rule_file_.empty()) {
      auto text = ReadFile(rule_file_, "rule");
      if (!text.ok()) return Fail(text.status());
      document = *text;
    }
    // The API carries the rule as a JSON object; text that is not one is refused here with
    // the rule parser's own message (which names the byte offset, never the text).
    auto rule = api::ParseRuleDocument(document);
    if (!rule.ok()) return Fail(rule.status());
    return Answer(OpenBackend()->SetRule({globals_.collaboration, rule_table_, *rule}),
                  [this](const auto&) {
                    std::cout << "rule set on table " << rule_table_ << "\n";
                    return 0;
                  });
  });

  auto* show = group->add_subcommand(
      "show", "a table's rule and its history from the audit log: who changed it, and when");
  AddCollaborationOption(show);
  show->add_option("table", rule_table_)->required();
  Add(show, [this] {
    std::unique_ptr<Backend> backend = OpenBackend();
    auto table = backend->ShowTable({globals_.collaboration, rule_table_});
    if (!table.ok()) return Fail(table.status(), globals_.collaboration);
    auto audit = backend->ListAudit({globals_.collaboration});
    if (!audit.ok()) return Fail(audit.status(), globals_.collaboration);
    if (globals_.json) {
      // The table (with its rule) and the audit entries about its rule.
      nlohmann::json history = nlohmann::json::array();
      for (const api::AuditEntry& entry : audit->entries) {
        if (!RuleHistoryLine(entry, rule_table_).empty()) history.push_back(api::ToJson(entry));
      }
      std::cout << api::Dump({{"table", api::ToJson(table->table)}, {"history", history}}, 2)
                << "\n";
      return 0;
    }
    const api::Table& t = table->table;
    std::cout << "rule of table " << t.name << " (owner " << t.owner << ")";
    if (t.rule) {
      std::string rule = api::Dump(*t.rule, 2);
      std::string indented = "  ";
      for (char c : rule) {
        indented.push_back(c);
        if (c == '\n') indented += "  ";
      }
      std::cout << ":\n" << indented << "\n";
    } else {
      std::cout << ": none (the table cannot be queried until its owner sets one)\n";
    }
    std::cout << "history:\n";
    for (const api::AuditEntry& entry : audit->entries) {
      std::string line = RuleHistoryLine(entry, rule_table_);
      if (line.empty()) continue;
      std::cout << "  " << FormatTime(entry.time) << "  " << entry.actor << "  " << line << "\n";
    }
    return 0;
  });
}

void Cli::AddPolicyCommand() {
  auto* policy = app_.add_subcommand(
      "policy", "what you may ask of each table, before you ask (the consolidated policy)");
  AddCollaborationOption(policy);
  Add(policy, [this] {
    std::unique_ptr<Backend> backend = OpenBackend();
    return Answer(backend->Policy({globals_.collaboration}), [&](const auto& r) {
      // Names for the templates the custom rules approve; the ids alone still say which.
      std::map<std::string, std::string> names;
      auto templates = backend->ListTemplates({globals_.collaboration});
      if (templates.ok()) {
        for (const api::Template& t : templates->templates) names[t.id] = t.name;
      }
      PrintPolicy(std::cout, r, names);
      return 0;
    });
  });
}
}  // namespace parley::cli
