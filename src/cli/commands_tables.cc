// Commands on tables, their rules and the policy they add up to: table add|list|show, rule set,
// policy.
#include <iostream>
#include <map>
#include <string>

#include "cli/command_line.h"
#include "cli/output.h"
#include "policy/rule.h"

namespace parley::cli {

void Cli::AddTableCommands() {
  CLI::App* group = Group("table", "add, list and show tables");
  auto* add = group->add_subcommand("add", "add a table from a CSV or Parquet file (or glob)");
  AddCollaborationOption(add);
  add->add_option("name", table_name_, "the table's name in the collaboration")->required();
  add->add_option("--source", table_source_, "a CSV or Parquet path or glob")->required();
  add->add_option("--columns", table_columns_,
                  "the allowed columns, comma-separated (default: all)");
  Add(add, [this] {
    api::AddTableRequest request{globals_.collaboration, table_name_, table_source_,
                                 SplitList(table_columns_)};
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
    nlohmann::json rule = nlohmann::json::parse(document, nullptr, /*allow_exceptions=*/false);
    if (!rule.is_object()) {
      absl::Status invalid = policy::ParseRule(document, {}).status();
      if (invalid.ok()) invalid = absl::InvalidArgumentError("rule: not a JSON object");
      return Fail(invalid);
    }
    return Answer(OpenBackend()->SetRule({globals_.collaboration, rule_table_, rule}),
                  [this](const auto&) {
                    std::cout << "rule set on table " << rule_table_ << "\n";
                    return 0;
                  });
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
