#include "cli/commands.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/codec.h"
#include "cli/backend.h"
#include "cli/demo.h"
#include "cli/hints.h"
#include "cli/local_backend.h"
#include "cli/output.h"
#include "engine/engine.h"
#include "engine/result_writer.h"
#include "policy/rule.h"

namespace parley::cli {
namespace {

// Set by the first SIGINT or SIGTERM during a run: the engine cancels the query (see
// engine::Limits::cancel), the run is recorded as cancelled and the command ends normally. A
// lock-free atomic store is async-signal-safe.
std::atomic<bool> interrupted = false;

void OnInterrupt(int) { interrupted.store(true); }

// From here on, an interrupt cancels the running query instead of killing the process (which
// would leave the run to be found killed). The handlers fire once: a second interrupt ends the
// process as usual.
void CancelQueriesOnInterrupt() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRejected = 3;

// Flags every command shares.
struct Globals {
  std::string home;
  std::string as;
  std::string collaboration;
  std::string memory_limit;  // empty: the engine's default
  std::string temp_dir;      // empty: <home>/tmp
  int timeout_seconds = 300;
  bool json = false;  // print the API's JSON response (or error object) on stdout
};

// Set once from --json before any command runs; read by Fail and Usage.
bool json_output = false;

// An error: "error: MESSAGE" on stderr (with the CLI's command hints), or with --json the API's
// error object on stdout. `collaboration` is the command's -c, for hints that name it.
int Fail(const absl::Status& status, const std::string& collaboration = "") {
  if (json_output) {
    std::cout << api::Dump(api::ErrorJson(status), 2) << "\n";
  } else {
    std::cerr << "error: " << WithCommandHint(status, collaboration).message() << "\n";
  }
  return kExitError;
}

// A command line that cannot work as given: a missing or contradictory flag, or a flag value of
// the wrong form. Reported before anything runs or is recorded.
int Usage(absl::string_view message) {
  if (json_output) {
    std::cout << api::Dump(api::ErrorJson(absl::InvalidArgumentError(message)), 2) << "\n";
  } else {
    std::cerr << "error: " << message << "\n";
  }
  return kExitUsage;
}

// With --json: the response as one JSON document on stdout.
template <class Response>
void PrintJson(const Response& response) {
  std::cout << api::Dump(api::ToJson(response), 2) << "\n";
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    items.emplace_back(absl::StripAsciiWhitespace(item));
  }
  return items;
}

// `--abilities query,receive` (or `none`) as the API's list of ability names.
absl::StatusOr<std::vector<std::string>> AbilityList(const std::string& abilities) {
  std::vector<std::string> names;
  for (const std::string& ability : SplitList(abilities)) {
    if (ability == "query" || ability == "receive") {
      if (std::find(names.begin(), names.end(), ability) == names.end()) names.push_back(ability);
    } else if (ability != "none") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ability '", ability, "' (expected query, receive or none)"));
    }
  }
  return names;
}

// The result of a run for the terminal and the file writers.
engine::ResultTable ToResultTable(const api::Result& result) {
  engine::ResultTable table;
  for (const api::ResultColumn& column : result.columns) {
    table.columns.push_back({column.name, column.type});
  }
  table.rows = result.rows;
  return table;
}

// A command: its CLI11 subcommand (flags bound to the fields it owns), what it does, and whether
// it acts as a member (needs --as).
class Command {
 public:
  using Action = std::function<int()>;
  Command(CLI::App* app, Action action, bool needs_actor)
      : app_(app), action_(std::move(action)), needs_actor_(needs_actor) {}
  CLI::App* app() const { return app_; }
  bool needs_actor() const { return needs_actor_; }
  int Run() const { return action_(); }

 private:
  CLI::App* app_;
  Action action_;
  bool needs_actor_;
};

class Cli {
 public:
  Cli() : app_("parley — a self-hosted data clean room") {
    const char* home = std::getenv("PARLEY_HOME");
    globals_.home = home != nullptr ? home : ".parley";
    const char* as = std::getenv("PARLEY_AS");
    if (as != nullptr) globals_.as = as;
    if (const char* memory = std::getenv("PARLEY_MEMORY_LIMIT")) globals_.memory_limit = memory;
    app_.add_option("--memory-limit", globals_.memory_limit,
                    "the engine's memory cap per query, e.g. 8GB (default: 75% of memory); "
                    "env PARLEY_MEMORY_LIMIT")
        ->check(CLI::Validator(
            [](std::string& size) -> std::string {
              static const std::regex kSize("[0-9]+(\\.[0-9]+)? ?([KMGT]i?B|B)", std::regex::icase);
              return std::regex_match(size, kSize)
                         ? std::string()
                         : "a memory limit is a size such as 500MB, 8GB or 1.5TB";
            },
            "SIZE"));
    if (const char* temp = std::getenv("PARLEY_TEMP_DIR")) globals_.temp_dir = temp;
    app_.add_option("--temp-dir", globals_.temp_dir,
                    "where a query larger than the memory cap spills (default: HOME/tmp); "
                    "env PARLEY_TEMP_DIR");
    app_.add_option("--timeout", globals_.timeout_seconds, "a query's time limit in seconds")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400));
    app_.add_option("--home", globals_.home, "home directory (catalog, results); env PARLEY_HOME")
        ->capture_default_str();
    app_.add_option("--as", globals_.as, "the member who acts; env PARLEY_AS");
    app_.add_flag("--json", globals_.json,
                  "print the API's JSON response on stdout (errors as {\"error\": {code, "
                  "message}}); for `rule set`, whose --json takes the rule, put it before the "
                  "command");
    app_.require_subcommand(1);
    // Global flags may come anywhere: `parley query run --as supplier ...`.
    app_.fallthrough();
    AddCollaborationCommands();
    AddMemberCommands();
    AddTableCommands();
    AddRuleCommands();
    AddQueryCommands();
    AddBudgetCommand();
    AddTemplateCommands();
    AddPolicyCommand();
    AddAuditCommands();
    AddDemoCommand();
  }

  int Main(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
      // --json asks for a JSON document even when the command line does not parse.
      if (error.get_exit_code() != 0 && std::any_of(argv + 1, argv + argc, [](const char* arg) {
            return std::string_view(arg) == "--json";
          })) {
        json_output = true;
        return Usage(error.what());
      }
      int code = app_.exit(error);
      return code == 0 ? 0 : kExitUsage;
    }
    json_output = globals_.json;
    for (const Command& command : commands_) {
      if (!command.app()->parsed()) continue;
      if (command.needs_actor() && globals_.as.empty()) {
        return Usage("say which member acts with --as MEMBER (or PARLEY_AS)");
      }
      return command.Run();
    }
    std::cerr << app_.help();
    return kExitUsage;
  }

 private:
  CLI::App* Group(const std::string& name, const std::string& description) {
    CLI::App* group = app_.add_subcommand(name, description);
    group->require_subcommand(1);
    return group;
  }

  void Add(CLI::App* app, Command::Action action, bool needs_actor = true) {
    commands_.emplace_back(app, std::move(action), needs_actor);
  }

  void AddCollaborationOption(CLI::App* app) {
    app->add_option("-c,--collaboration", globals_.collaboration, "the collaboration")->required();
  }

  // Commands that act as a member are only run with --as given (see Main).
  service::Options ServiceOptions() const {
    service::Options options;
    if (!globals_.memory_limit.empty()) options.limits.memory_limit = globals_.memory_limit;
    options.limits.temp_directory = globals_.temp_dir;
    options.limits.timeout = std::chrono::seconds(globals_.timeout_seconds);
    options.limits.cancel = &interrupted;
    return options;
  }

  // Embedded mode: the home in this process, acting as --as.
  std::unique_ptr<Backend> OpenBackend() const {
    return std::make_unique<LocalBackend>(globals_.home, ServiceOptions(), globals_.as);
  }

  // The response of a call: printed as JSON with --json, else by `print` (which returns the exit
  // code); an error either way through Fail.
  template <class Response, class Print>
  int Answer(const absl::StatusOr<Response>& response, Print print) {
    if (!response.ok()) return Fail(response.status(), globals_.collaboration);
    if (globals_.json) {
      PrintJson(*response);
      return 0;
    }
    return print(*response);
  }

  void AddCollaborationCommands() {
    CLI::App* group = Group("collaboration", "create, list and show collaborations");
    auto* create =
        group->add_subcommand("create", "create a collaboration; --as becomes its creator");
    create->add_option("name", new_collaboration_.name, "its name")->required();
    create->add_option("--description", new_collaboration_.description);
    create->add_option("--dp-epsilon", dp_epsilon_per_month_,
                       "differential privacy: the budget's epsilon per calendar month (sets a "
                       "budget; it cannot be changed later)");
    create->add_option("--dp-delta", dp_delta_per_month_, "the budget's delta per month")
        ->default_val("0.00001");
    create
        ->add_option("--dp-default-epsilon", dp_default_epsilon_,
                     "what a query spends unless its runner asks otherwise")
        ->default_val("1");
    create->add_option("--dp-max-epsilon", dp_max_epsilon_,
                       "the most one query may spend (default: the default epsilon)");
    create->add_flag("--query-logging", new_collaboration_.query_logging,
                     "let table owners list the queries that touch their tables");
    create->add_option("--abilities", abilities_, "the creator's abilities: query,receive or none")
        ->capture_default_str();
    Add(create, [this] {
      auto abilities = AbilityList(abilities_);
      if (!abilities.ok()) return Fail(abilities.status());
      new_collaboration_.creator_abilities = *abilities;
      if (!dp_epsilon_per_month_.empty()) {
        new_collaboration_.privacy_budget =
            api::PrivacyBudget{dp_epsilon_per_month_, dp_delta_per_month_, dp_default_epsilon_,
                               dp_max_epsilon_.empty() ? dp_default_epsilon_ : dp_max_epsilon_};
      }
      return Answer(OpenBackend()->CreateCollaboration(new_collaboration_), [&](const auto& r) {
        std::cout << "created collaboration " << r.collaboration.name << " (creator "
                  << r.collaboration.creator << ")\n";
        return 0;
      });
    });

    auto* list = group->add_subcommand("list", "the collaborations --as is a member of");
    Add(list, [this] {
      return Answer(OpenBackend()->ListCollaborations({}), [](const auto& r) {
        for (const api::Collaboration& c : r.collaborations) {
          std::cout << c.name << "  (creator " << c.creator << ", " << c.members.size()
                    << " members)\n";
        }
        return 0;
      });
    });

    auto* show = group->add_subcommand("show", "a collaboration and its members");
    show->add_option("name", globals_.collaboration)->required();
    Add(show, [this] {
      return Answer(OpenBackend()->ShowCollaboration({globals_.collaboration}), [](const auto& r) {
        PrintCollaboration(std::cout, r.collaboration);
        return 0;
      });
    });
  }

  void AddMemberCommands() {
    CLI::App* group = Group("member", "add, remove or leave");
    auto* add = group->add_subcommand("add", "add a member (only the creator may)");
    AddCollaborationOption(add);
    add->add_option("name", member_name_, "the member's name")->required();
    add->add_option("--abilities", member_abilities_, "query,receive or none")->required();
    Add(add, [this] {
      auto abilities = AbilityList(member_abilities_);
      if (!abilities.ok()) return Fail(abilities.status());
      return Answer(OpenBackend()->AddMember({globals_.collaboration, member_name_, *abilities}),
                    [](const auto& r) {
                      std::cout << "added member " << r.member.name << " (abilities "
                                << Abilities(r.member) << ") to " << r.collaboration << "\n";
                      return 0;
                    });
    });

    auto* remove = group->add_subcommand("remove", "remove a member (only the creator may)");
    AddCollaborationOption(remove);
    remove->add_option("name", member_name_, "the member's name")->required();
    Add(remove, [this] {
      return Answer(OpenBackend()->RemoveMember({globals_.collaboration, member_name_}),
                    [](const auto& r) {
                      std::cout << "removed member " << r.member << " from " << r.collaboration
                                << "; its tables can no longer be queried\n";
                      return 0;
                    });
    });

    auto* leave = group->add_subcommand("leave", "leave a collaboration (--as leaves)");
    AddCollaborationOption(leave);
    Add(leave, [this] {
      return Answer(OpenBackend()->Leave({globals_.collaboration}), [](const auto& r) {
        std::cout << r.member << " left " << r.collaboration
                  << "; its tables can no longer be queried\n";
        return 0;
      });
    });
  }

  void AddTableCommands() {
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

  void AddRuleCommands() {
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

  // Exactly one of --sql and --file; checked by the caller (QueryUsage) first.
  absl::StatusOr<std::string> QueryText() {
    if (!query_sql_.empty()) return query_sql_;
    return ReadFile(query_file_, "query");
  }

  // The usage problem of a query command's flags, if any: the query text given once, an --output
  // whose format is known and that the actor will receive. Checked before the query runs, so that
  // a typo is not recorded and audited as a query whose result then goes nowhere.
  std::optional<std::string> QueryUsage(bool needs_text) {
    if (needs_text && query_sql_.empty() == query_file_.empty()) {
      return "give the query with --sql or --file";
    }
    if (output_.empty()) return std::nullopt;
    auto format = engine::OutputFormatFromPath(output_);
    if (!format.ok()) return std::string(format.status().message());
    if (!receivers_.empty() &&
        std::find(receivers_.begin(), receivers_.end(), globals_.as) == receivers_.end()) {
      return absl::StrCat("--output writes the result for ", globals_.as,
                          ", who is not among the receivers; add --receiver ", globals_.as,
                          " or drop --output");
    }
    return std::nullopt;
  }

  void AddQueryOptions(CLI::App* app) {
    AddCollaborationOption(app);
    app->add_option("--sql", query_sql_, "the SQL text");
    app->add_option("--file", query_file_, "a file holding the SQL text");
    app->add_option("--epsilon", epsilon_,
                    "differential privacy: the epsilon this query spends (default: the "
                    "collaboration's)");
  }

  std::optional<std::string> Epsilon() const {
    if (epsilon_.empty()) return std::nullopt;
    return epsilon_;
  }

  // The result to --output, or (without --json) as a table on stdout.
  int WriteOrPrint(const api::Result& result) {
    engine::ResultTable table = ToResultTable(result);
    if (output_.empty()) {
      if (!globals_.json) std::cout << engine::FormatTable(table);
      return 0;
    }
    auto format = engine::OutputFormatFromPath(output_);
    if (!format.ok()) return Fail(format.status());
    absl::Status status = engine::WriteResult(table, output_, *format);
    if (!status.ok()) return Fail(status);
    std::cerr << "wrote " << table.rows.size() << " rows to " << output_ << "\n";
    return 0;
  }

  // What a run did: the violations (exit 3), or where the result went and, for a receiver, the
  // result itself. A runner who does not receive the result is told only that the query was
  // accepted and finished (see api::RunResponse). With --json the response is printed whole
  // (the result inline) and --output still writes the file.
  int Report(const absl::StatusOr<api::RunResponse>& outcome) {
    if (!outcome.ok()) return Fail(outcome.status(), globals_.collaboration);
    if (globals_.json) PrintJson(*outcome);
    if (!outcome->explanation.allowed) {
      if (!globals_.json) PrintRejection(std::cerr, outcome->explanation);
      return kExitRejected;
    }
    if (!globals_.json) PrintRunSummary(std::cerr, *outcome);
    if (!outcome->result) return 0;
    return WriteOrPrint(*outcome->result);
  }

  void AddBudgetCommand() {
    auto* budget = app_.add_subcommand(
        "budget", "a collaboration's differential-privacy budget and what is left, per month");
    AddCollaborationOption(budget);
    Add(budget, [this] {
      return Answer(OpenBackend()->Budget({globals_.collaboration}), [](const auto& r) {
        PrintBudget(std::cout, r);
        return 0;
      });
    });
  }

  void AddQueryCommands() {
    CLI::App* group = Group("query", "explain, run and fetch queries");
    auto* explain =
        group->add_subcommand("explain", "the verdict and the SQL the engine would run");
    AddQueryOptions(explain);
    explain->add_option("--receiver", receivers_,
                        "a member who would receive the result (repeatable; default: --as)");
    Add(explain, [this] {
      if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
      auto text = QueryText();
      if (!text.ok()) return Fail(text.status());
      auto response =
          OpenBackend()->Explain({globals_.collaboration, *text, receivers_, Epsilon()});
      if (!response.ok()) return Fail(response.status(), globals_.collaboration);
      if (globals_.json) {
        PrintJson(*response);
      } else {
        PrintExplanation(std::cout, response->explanation);
      }
      return response->explanation.allowed ? 0 : kExitRejected;
    });

    auto* run = group->add_subcommand("run", "check and run a query; results go to its receivers");
    AddQueryOptions(run);
    run->add_option("--receiver", receivers_,
                    "a member who receives the result (repeatable; "
                    "default: --as)");
    run->add_option("--output", output_, "write the result to a .csv, .json or .parquet file");
    Add(run, [this] {
      if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
      auto text = QueryText();
      if (!text.ok()) return Fail(text.status());
      std::unique_ptr<Backend> backend = OpenBackend();
      CancelQueriesOnInterrupt();
      return Report(backend->RunQuery({globals_.collaboration, *text, receivers_, Epsilon()}));
    });

    auto* result = group->add_subcommand("result", "fetch a stored result (receivers only)");
    AddCollaborationOption(result);
    result->add_option("id", query_id_)->required();
    result->add_option("--output", output_, "write to a .csv, .json or .parquet file");
    Add(result, [this] {
      if (auto usage = QueryUsage(/*needs_text=*/false)) return Usage(*usage);
      auto response = OpenBackend()->GetResult({globals_.collaboration, query_id_});
      if (!response.ok()) return Fail(response.status(), globals_.collaboration);
      if (globals_.json) PrintJson(*response);
      return WriteOrPrint(response->result);
    });

    auto* list = group->add_subcommand("list", "your queries and those you receive");
    AddCollaborationOption(list);
    Add(list, [this] {
      return Answer(OpenBackend()->ListQueries({globals_.collaboration}), [](const auto& r) {
        for (const api::Query& q : r.queries) PrintQueryLine(std::cout, q);
        return 0;
      });
    });

    auto* log = group->add_subcommand(
        "log", "the queries that touched your tables (when the collaboration logs queries)");
    AddCollaborationOption(log);
    Add(log, [this] {
      return Answer(OpenBackend()->QueryLog({globals_.collaboration}), [this](const auto& r) {
        if (r.queries.empty()) {
          std::cout << "no logged query touched a table of " << globals_.as << "\n";
          return 0;
        }
        for (size_t i = 0; i < r.queries.size(); ++i) {
          if (i > 0) std::cout << "\n";
          PrintQueryLogEntry(std::cout, r.queries[i]);
        }
        return 0;
      });
    });
  }

  // `--param name=value` flags as a map. The values are the caller's own; the message repeats
  // only the flag's form.
  absl::StatusOr<std::map<std::string, std::string>> ParameterValues() {
    std::map<std::string, std::string> values;
    for (const std::string& flag : parameter_flags_) {
      size_t equals = flag.find('=');
      if (equals == std::string::npos || equals == 0) {
        return absl::InvalidArgumentError(
            "--param takes name=value when running a template (e.g. --param min_spend=1000)");
      }
      std::string name = flag.substr(0, equals);
      if (!values.emplace(name, flag.substr(equals + 1)).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", name, "' is given more than once"));
      }
    }
    return values;
  }

  void AddTemplateCommands() {
    CLI::App* group = Group("template", "analysis templates: create, review, approve and run them");
    auto* create = group->add_subcommand(
        "create", "store a parameterised query; prints its id (the SHA-256 of its content)");
    AddQueryOptions(create);
    create->add_option("name", template_name_, "a name for people")->required();
    create->add_option("--param", parameter_flags_,
                       "a parameter used as :name in the SQL: name:type[=default], type one of "
                       "integer, number, text, date, boolean (repeatable)");
    Add(create, [this] {
      if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
      auto text = QueryText();
      if (!text.ok()) return Fail(text.status());
      api::CreateTemplateRequest request{globals_.collaboration, template_name_, *text,
                                         parameter_flags_};
      return Answer(OpenBackend()->CreateTemplate(request), [](const auto& r) {
        std::cout << r.template_.id << "\n" << TemplateSummary(r.template_) << "\n";
        return 0;
      });
    });

    auto* show = group->add_subcommand(
        "show", "a template for review: its SQL, parameters, tables and approvals");
    AddCollaborationOption(show);
    show->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
    Add(show, [this] {
      return Answer(OpenBackend()->ShowTemplate({globals_.collaboration, template_id_}),
                    [](const auto& r) {
                      PrintTemplate(std::cout, r.template_);
                      return 0;
                    });
    });

    auto* list = group->add_subcommand("list", "the templates of a collaboration");
    AddCollaborationOption(list);
    Add(list, [this] {
      return Answer(OpenBackend()->ListTemplates({globals_.collaboration}), [](const auto& r) {
        for (const api::Template& view : r.templates) PrintTemplateLine(std::cout, view);
        return 0;
      });
    });

    // approve and revoke: the owner of a table with a custom rule changes its allowed_analyses.
    using Change =
        absl::StatusOr<api::TemplateResponse> (Backend::*)(const api::TemplateApprovalRequest&);
    struct Approval {
      const char* name;
      const char* description;
      Change change;
      const char* done;
    };
    for (const Approval& approval :
         {Approval{"approve", "let a template read a table you own (its custom rule)",
                   &Backend::ApproveTemplate, "approved"},
          Approval{"revoke", "withdraw a template's approval for a table you own",
                   &Backend::RevokeTemplate, "revoked"}}) {
      auto* command = group->add_subcommand(approval.name, approval.description);
      AddCollaborationOption(command);
      command->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
      command->add_option("--table", template_table_, "a table you own with a custom rule")
          ->required();
      Add(command, [this, approval] {
        std::unique_ptr<Backend> backend = OpenBackend();
        return Answer(
            ((*backend).*approval.change)({globals_.collaboration, template_id_, template_table_}),
            [&](const auto& r) {
              std::cout << approval.done << " template " << ShortId(r.template_.id) << " for table "
                        << template_table_ << "\n"
                        << TemplateSummary(r.template_) << "\n";
              return 0;
            });
      });
    }

    auto* run = group->add_subcommand(
        "run", "run a template with parameter values; results go to its receivers");
    AddCollaborationOption(run);
    run->add_option("id", template_id_, "its id, or a unique prefix of it")->required();
    run->add_option("--param", parameter_flags_, "a parameter value: name=value (repeatable)");
    run->add_option("--receiver", receivers_,
                    "a member who receives the result (repeatable; default: --as)");
    run->add_option("--output", output_, "write the result to a .csv, .json or .parquet file");
    Add(run, [this] {
      if (auto usage = QueryUsage(/*needs_text=*/false)) return Usage(*usage);
      auto values = ParameterValues();
      if (!values.ok()) return Usage(values.status().message());
      std::unique_ptr<Backend> backend = OpenBackend();
      CancelQueriesOnInterrupt();
      return Report(
          backend->RunTemplate({globals_.collaboration, template_id_, *values, receivers_}));
    });
  }

  void AddPolicyCommand() {
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

  void AddAuditCommands() {
    CLI::App* group = Group("audit", "the hash-chained audit log");
    auto* list = group->add_subcommand("list", "a collaboration's audit entries");
    AddCollaborationOption(list);
    Add(list, [this] {
      return Answer(OpenBackend()->ListAudit({globals_.collaboration}), [](const auto& r) {
        for (const api::AuditEntry& e : r.entries) PrintAuditEntry(std::cout, e);
        return 0;
      });
    });
    auto* verify = group->add_subcommand(
        "verify",
        "recompute the hash chain and compare it with the policy now in force; exit 1 if "
        "tampered with. With -c, one collaboration (as one of its members, --as); without, "
        "every chain of the home (for its operator)");
    verify->add_option("-c,--collaboration", globals_.collaboration,
                       "verify this collaboration's chain and print its head");
    verify->add_option("--expect-head", expected_head_,
                       "a head printed earlier (here or by another member): fail unless the "
                       "chain still contains it");
    Add(
        verify,
        [this] {
          api::VerifyAuditRequest request;
          if (globals_.collaboration.empty()) {
            if (!expected_head_.empty()) return Usage("--expect-head needs -c COLLABORATION");
          } else if (globals_.as.empty()) {
            return Usage("say which member acts with --as MEMBER (or PARLEY_AS)");
          } else {
            request.collaboration = globals_.collaboration;
            if (!expected_head_.empty()) request.expected_head = expected_head_;
          }
          // Verification needs no engine limits: the operator's view of the home.
          LocalBackend backend(globals_.home, service::Options{}, globals_.as);
          auto verification = backend.VerifyAudit(request);
          if (!verification.ok()) return Fail(verification.status(), globals_.collaboration);
          if (globals_.json) {
            PrintJson(*verification);
            return verification->ok ? 0 : kExitError;
          }
          return PrintVerification(*verification);
        },
        /*needs_actor=*/false);
  }

  int PrintVerification(const api::VerifyAuditResponse& verification) {
    if (globals_.collaboration.empty()) {
      if (!verification.ok) {
        std::cout << "audit log TAMPERED: " << verification.problem.value_or("") << "\n";
        return kExitError;
      }
      std::cout << "audit log intact: " << verification.entries << " entries verified\n";
      for (const auto& [chain, head] : verification.heads) {
        std::cout << "head " << (chain.empty() ? "(catalog-wide)" : chain) << " " << head << "\n";
      }
      return 0;
    }
    if (!verification.ok) {
      std::cout << "audit log of " << globals_.collaboration
                << " TAMPERED: " << verification.problem.value_or("") << "\n";
      return kExitError;
    }
    auto head = verification.heads.find(globals_.collaboration);
    std::cout << "audit log of " << globals_.collaboration << " intact: " << verification.entries
              << " entries verified\n"
              << "head " << (head == verification.heads.end() ? "" : head->second) << "\n";
    if (verification.entries_after_expected_head) {
      int64_t after = *verification.entries_after_expected_head;
      if (after == 0) {
        std::cout << "expected head: the current head\n";
      } else {
        std::cout << "expected head: entry " << verification.expected_head_seq.value_or(0)
                  << ", followed by " << after << " newer " << (after == 1 ? "entry" : "entries")
                  << "\n";
      }
    }
    return 0;
  }

  void AddDemoCommand() {
    auto* demo = app_.add_subcommand("demo", "the retailer/supplier campaign, end to end");
    demo->add_option("--households", demo_.households, "retailer households")
        ->capture_default_str();
    demo->add_option("--supplier-members", demo_.supplier_members, "supplier loyalty members")
        ->capture_default_str();
    demo->add_option("--shared", demo_.shared, "households present on both sides")
        ->capture_default_str();
    demo->add_flag("--fresh", demo_.fresh, "start from an empty home directory");
    Add(
        demo,
        [this] {
          // The demo is a story told to people; there is no API response to print.
          if (globals_.json)
            return Usage("demo prints a walkthrough for people; it has no --json output");
          demo_.home = globals_.home;
          absl::Status status = RunDemo(demo_, std::cout);
          if (!status.ok()) return Fail(status);
          return 0;
        },
        /*needs_actor=*/false);
  }

  CLI::App app_;
  Globals globals_;
  std::vector<Command> commands_;
  api::CreateCollaborationRequest new_collaboration_;
  std::string abilities_ = "query,receive";
  std::string member_name_;
  std::string member_abilities_;
  std::string table_name_, table_source_, table_columns_;
  std::string rule_table_, rule_file_, rule_json_;
  std::string query_sql_, query_file_, output_;
  std::string epsilon_;  // query explain/run --epsilon
  std::string dp_epsilon_per_month_, dp_delta_per_month_, dp_default_epsilon_, dp_max_epsilon_;
  std::vector<std::string> receivers_;
  int64_t query_id_ = 0;
  std::string template_name_;
  std::vector<std::string> parameter_flags_;  // specs for create, name=value for run
  std::string template_id_, template_table_;
  std::string expected_head_;
  DemoOptions demo_;
};

}  // namespace

int Main(int argc, char** argv) {
  // Errors are values everywhere below; an exception reaching here is a bug. Say so plainly
  // instead of aborting, and never print what it carries (it could quote data).
  try {
    Cli cli;
    return cli.Main(argc, argv);
  } catch (const std::exception&) {
    std::cerr << "error: internal error (unexpected exception); please report it\n";
  } catch (...) {
    std::cerr << "error: internal error (unexpected exception); please report it\n";
  }
  return kExitError;
}

}  // namespace parley::cli
