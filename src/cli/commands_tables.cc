// Commands on tables, their rules and the policy they add up to: table add|list|show, rule set,
// policy.
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/text.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::AddFileOptions(CLI::App* add, bool with_preview) {
  auto text = [&](const char* flag, std::string& target, const char* key, const char* help) {
    table_option_flags_.emplace_back(key, add->add_option(flag, target, help));
  };
  text("--delimiter", table_delimiter_, "delimiter",
       "CSV: the character between values (\\t or tab for a tab; default: detected)");
  text("--quote", table_quote_, "quote", "CSV: the quote character (default \"; '' for none)");
  text("--escape", table_escape_, "escape", "CSV: the escape character in quotes (default \")");
  auto* header = add->add_flag("--header,!--no-header", table_header_,
                               "CSV: whether the first line names the columns (default: yes)");
  table_option_flags_.emplace_back("header", header);
  table_option_flags_.emplace_back(
      "null_strings",
      add->add_option("--null-string", table_null_strings_,
                      "a text read as NULL; repeat for several (default: empty, NULL and \\N)")
          ->allow_extra_args(false));
  text("--decimal-separator", table_decimal_separator_, "decimal_separator",
       "CSV: , for numbers written 7,5");
  text("--thousands-separator", table_thousands_separator_, "thousands_separator",
       "CSV: the digit group separator of numbers such as 1,234.5 or 1.234,5 (, . ' or space)");
  text("--date-format", table_date_format_, "date_format",
       "the dates' strptime format, e.g. %d/%m/%Y (required when dates are ambiguous)");
  text("--timestamp-format", table_timestamp_format_, "timestamp_format",
       "the timestamps' strptime format, e.g. '%d/%m/%Y %H:%M'");
  text("--types", table_types_, "types",
       "column types to use instead of the detected ones: col:TYPE,... (e.g. zip:VARCHAR)");
  if (with_preview) {
    add->add_flag("--preview", table_preview_,
                  "show the columns and first rows (to you only) and add nothing");
  }
}

absl::StatusOr<nlohmann::json> Cli::FileOptions() const {
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [key, option] : table_option_flags_) {
    if (option->count() == 0) continue;
    if (key == "header") {
      options[key] = table_header_;
    } else if (key == "null_strings") {
      options[key] = table_null_strings_;
    } else if (key == "types") {
      nlohmann::json types = nlohmann::json::object();
      for (const std::string& item : SplitList(table_types_)) {
        size_t colon = item.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("--types: expected column:TYPE, got '", item, "'"));
        }
        types[item.substr(0, colon)] = item.substr(colon + 1);
      }
      options[key] = types;
    } else {
      std::string value = option->as<std::string>();
      if (key == "delimiter" && (value == "\\t" || value == "tab")) value = "\t";
      options[key] = value;
    }
  }
  return options;
}

// `table add --engine`: a Distributed table read in place (--relation), or a file loaded into the
// engine's cluster (--source, --shard-key; --relation names the table to create, by default
// "<collaboration>_<table>").
absl::StatusOr<nlohmann::json> Cli::EngineTableDescription() const {
  for (const auto& [key, option] : table_option_flags_) {
    if (option->count() > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          option->get_name(), " applies only to a file Parley reads itself, not with --engine"));
    }
  }
  if (table_preview_ || !table_upload_.empty()) {
    return absl::InvalidArgumentError("--preview and --upload do not go with --engine");
  }
  nlohmann::json description = {{"engine", table_engine_}};
  if (table_source_.empty()) {
    if (table_relation_.empty()) {
      return absl::InvalidArgumentError(
          "table add --engine needs --relation DATABASE.TABLE (a Distributed table read in "
          "place) or --source FILE --shard-key COLUMN (a file loaded into the cluster)");
    }
    if (!table_shard_key_.empty()) {
      return absl::InvalidArgumentError(
          "--shard-key is for a loaded file: a table in place keeps its Distributed table's key");
    }
    description["relation"] = table_relation_;
    return description;
  }
  if (table_shard_key_.empty()) {
    return absl::InvalidArgumentError(
        "a file loaded into an engine needs --shard-key COLUMN (normally the join key)");
  }
  std::string relation = table_relation_;
  if (relation.empty()) {
    relation = absl::AsciiStrToLower(absl::StrCat(globals_.collaboration, "_", table_name_));
    for (char& c : relation) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
    }
  }
  std::string path = table_source_;
  if (!remote()) path = std::filesystem::absolute(path).string();
  description["relation"] = relation;
  description["load"] = path;
  description["sharding_key"] = table_shard_key_;
  return description;
}

void Cli::AddTableCommands() {
  CLI::App* group = Group("table", "add, list, show, update and remove tables");
  auto* add = group->add_subcommand(
      "add",
      "add a table from a CSV, JSON-lines or Parquet file (or glob; .gz and .zst too), or a "
      "PostgreSQL table read in place");
  AddCollaborationOption(add);
  add->add_option("name", table_name_, "the table's name in the collaboration")->required();
  auto* source =
      add->add_option("--source", table_source_, "a CSV, JSON-lines or Parquet path or glob");
  auto* postgres =
      add->add_option("--postgres", table_postgres_,
                      "a libpq connection string or service=NAME, without a password (.pgpass or "
                      "pg_service.conf give it)");
  auto* relation = add->add_option(
      "--relation", table_relation_,
      "with --postgres: schema.table to read; with --engine: the cluster's Distributed table "
      "(DATABASE.TABLE) read in place, or the name to load --source as");
  auto* engine = add->add_option(
      "--engine", table_engine_,
      "a registered engine (parley engine list) the table lives on: --relation read in place, or "
      "--source loaded into it sharded by --shard-key");
  auto* shard_key = add->add_option(
      "--shard-key", table_shard_key_,
      "with --engine --source: the column the loaded rows are sharded by (normally the join key)");
  shard_key->needs(engine);
  engine->excludes(postgres);
  auto* upload = add->add_option(
      "--upload", table_upload_,
      "a CSV, JSON-lines or Parquet file of this machine: sent to your folder of the server's "
      "data root (checksummed, with a progress bar), then added");
  upload->excludes(source);
  upload->excludes(postgres);
  source->excludes(postgres);
  postgres->needs(relation);
  add->add_option("--columns", table_columns_,
                  "the allowed columns, comma-separated (default: all)");
  AddFileOptions(add);
  Add(add, [this] {
    api::AddTableRequest request{globals_.collaboration, table_name_, table_source_,
                                 SplitList(table_columns_)};
    auto options = FileOptions();
    if (!options.ok()) return Fail(options.status());
    if (table_engine_.empty() && table_postgres_.empty() && !table_relation_.empty()) {
      return Usage("--relation goes with --postgres or --engine");
    }
    if (!table_engine_.empty()) {
      absl::StatusOr<nlohmann::json> description = EngineTableDescription();
      if (!description.ok()) return Usage(description.status().message());
      request.kind = "clickhouse";
      request.description = *description;
      request.source.clear();
    } else if (!table_postgres_.empty()) {
      // How a file is read means nothing for a relation: its columns and types are the server's.
      std::vector<std::string> given;
      for (const auto& [key, option] : table_option_flags_) {
        if (option->count() > 0) given.push_back(option->get_name());
      }
      if (!given.empty()) {
        std::cerr << "error: " << absl::StrJoin(given, ", ")
                  << (given.size() == 1 ? " applies" : " apply")
                  << " only to a file (--source), not to --postgres\n";
        return 2;
      }
      request.kind = "postgres";
      request.description =
          nlohmann::json{{"conninfo", table_postgres_}, {"relation", table_relation_}};
      if (table_preview_) request.preview = true;
    } else if (table_source_.empty() && table_upload_.empty()) {
      std::cerr << "error: table add needs --source PATH, --upload FILE, --postgres CONNINFO "
                   "--relation schema.table or --engine NAME\n";
      return 2;
    } else {
      if (!options->empty()) request.options = *options;
      if (table_preview_) request.preview = true;
    }
    std::unique_ptr<Backend> backend = OpenBackend();
    if (!table_upload_.empty()) {
      absl::StatusOr<api::UploadResponse> uploaded = UploadFile(*backend, table_upload_);
      if (!uploaded.ok()) return Fail(uploaded.status(), globals_.collaboration);
      std::cerr << "uploaded " << uploaded->name << " (" << uploaded->bytes << " bytes, sha256 "
                << uploaded->sha256 << ")\n";
      request.source = uploaded->path;
    }
    return Answer(backend->AddTable(request), [](const auto& r) {
      if (r.preview) {
        std::cout << "preview (nothing added) of ";
        PrintTable(std::cout, r.table);
        PrintSample(std::cout, *r.preview);
        return 0;
      }
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
                  [this](const auto& r) {
                    PrintTable(std::cout, r.table);
                    std::cout << "  history: parley rule show -c " << globals_.collaboration << " "
                              << r.table.name << "\n";
                    return 0;
                  });
  });

  auto* update = group->add_subcommand(
      "update",
      "point a table you own at a new source with the same columns and types (read with the "
      "table's pinned options unless you give others)");
  AddCollaborationOption(update);
  update->add_option("name", table_name_)->required();
  update->add_option("--source", table_source_, "the new path or glob")->required();
  AddFileOptions(update, /*with_preview=*/false);
  Add(update, [this] {
    api::UpdateTableRequest request{globals_.collaboration, table_name_, table_source_, {}};
    auto options = FileOptions();
    if (!options.ok()) return Fail(options.status());
    if (!options->empty()) request.options = *options;
    return Answer(OpenBackend()->UpdateTable(request), [](const auto& r) {
      std::cout << "updated ";
      PrintTable(std::cout, r.table);
      return 0;
    });
  });

  auto* remove = group->add_subcommand(
      "remove",
      "remove a table you own (templates reading it stop being runnable; saved results stay)");
  AddCollaborationOption(remove);
  remove->add_option("name", table_name_)->required();
  Add(remove, [this] {
    return Answer(OpenBackend()->RemoveTable({globals_.collaboration, table_name_}),
                  [](const auto& r) {
                    std::cout << "removed table " << r.table << " from collaboration "
                              << r.collaboration << "\n";
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
  if (entry.action == "table.update_source") {
    return "pointed the table at a new source (same columns and types)";
  }
  if (entry.action == "table.remove") return "removed the table";
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
    return Answer(OpenBackend()->SetRule({globals_.collaboration, rule_table_, *rule, {}}),
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
