// The command table: the flags every command shares, the groups of commands (each defined in its
// commands_<group>.cc), dispatch to the parsed one, and the demo command.
#include "cli/commands.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/codec.h"
#include "cli/command_line.h"
#include "cli/demo.h"
#include "cli/hints.h"
#include "cli/local_backend.h"
#include "cli/remote_backend.h"

namespace parley::cli {
namespace {

// Set by the first SIGINT or SIGTERM during a run: the engine cancels the query (see
// engine::Limits::cancel), the run is recorded as cancelled and the command ends normally. A
// lock-free atomic store is async-signal-safe.
std::atomic<bool> interrupted = false;

void OnInterrupt(int) { interrupted.store(true); }

// Set once from --json before any command runs; read by Fail and Usage.
bool json_output = false;

}  // namespace

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

bool QueryInterrupted() { return interrupted.load(); }

// An error: "error: MESSAGE" on stderr (with the CLI's command hints), or with --json the API's
// error object on stdout. `collaboration` is the command's -c, for hints that name it.
int Fail(const absl::Status& status, const std::string& collaboration) {
  if (json_output) {
    std::cout << api::Dump(api::ErrorJson(status), 2) << "\n";
  } else {
    std::cerr << "error: " << WithCommandHint(status, collaboration).message() << "\n";
  }
  return status.code() == absl::StatusCode::kPermissionDenied ? kExitNotPermitted : kExitError;
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
    if (ability == "query" || ability == "receive" || ability == "run_jobs") {
      if (std::find(names.begin(), names.end(), ability) == names.end()) names.push_back(ability);
    } else if (ability != "none") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown ability '", ability, "' (expected query, receive, run_jobs or none)"));
    }
  }
  return names;
}

Cli::Cli() : app_("parley — a self-hosted data clean room") {
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
  if (const char* server = std::getenv("PARLEY_SERVER")) globals_.server = server;
  if (const char* token_file = std::getenv("PARLEY_TOKEN_FILE")) globals_.token_file = token_file;
  app_.add_option("--server", globals_.server,
                  "remote mode: a Parley server's URL (http://127.0.0.1:PORT, https://...); "
                  "env PARLEY_SERVER");
  app_.add_option("--token-file", globals_.token_file,
                  "remote mode: the file (mode 600) holding your organisation's API token; env "
                  "PARLEY_TOKEN_FILE");
  app_.add_flag("--json", globals_.json,
                "print the API's JSON response on stdout (errors as {\"error\": {code, "
                "message}}); for `rule set`, whose --json takes the rule, put it before the "
                "command");
  app_.name("parley");
  app_.set_version_flag("--version", "parley " PARLEY_VERSION);
  app_.footer(
      "Exit codes: 0 ok, 1 other errors, 2 usage (the command line cannot work as given), 3 a "
      "query refused by the rules, 4 not permitted (the member may not do this), 5 a change "
      "request proposed that waits for other members' approval.\n"
      "'parley help COMMAND' shows a command's flags; 'parley completion bash|zsh' prints a shell "
      "completion script.");
  app_.require_subcommand(1);
  // Global flags may come anywhere: `parley query run --as supplier ...`.
  app_.fallthrough();
  AddCollaborationCommands();
  AddMemberCommands();
  AddChangeCommands();
  AddTableCommands();
  AddRuleCommands();
  AddQueryCommands();
  AddBudgetCommand();
  AddUsageCommand();
  AddCryptoCommands();
  AddTemplateCommands();
  AddJobCommands();
  AddPolicyCommand();
  AddAuditCommands();
  AddResultCommands();
  AddKeyCommands();
  AddWebhookCommands();
  AddHomeCommands();
  AddDemoCommand();
  AddServerCommands();
  AddEngineCommands();
  AddPsiCommands();
  AddHelpCommands();
}

int Cli::Main(int argc, char** argv) {
  bool json_requested = std::any_of(
      argv + 1, argv + argc, [](const char* arg) { return std::string_view(arg) == "--json"; });
  if (argc < 2) {
    std::cerr << app_.help();
    return kExitUsage;
  }
  if (std::optional<std::string> mistyped = CheckCommandLine(argc, argv)) {
    json_output = json_requested;
    return Usage(*mistyped);
  }
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --json asks for a JSON document even when the command line does not parse.
    if (error.get_exit_code() != 0 && json_requested) {
      json_output = true;
      return Usage(error.what());
    }
    int code = app_.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }
  json_output = globals_.json;
  if (remote()) {
    if (std::optional<int> failed = PrepareRemote()) return *failed;
  }
  for (const Command& command : commands_) {
    if (!command.app()->parsed()) continue;
    if (command.needs_actor() && !remote() && globals_.as.empty()) {
      return Usage("say which member acts with --as MEMBER (or PARLEY_AS)");
    }
    return command.Run();
  }
  std::cerr << app_.help();
  return kExitUsage;
}

CLI::App* Cli::Group(const std::string& name, const std::string& description) {
  CLI::App* group = app_.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

void Cli::Add(CLI::App* app, Command::Action action, bool needs_actor) {
  commands_.emplace_back(app, std::move(action), needs_actor);
}

void Cli::AddCollaborationOption(CLI::App* app) {
  app->add_option("-c,--collaboration", globals_.collaboration, "the collaboration")->required();
}

// Commands that act as a member are only run with --as given (see Main).
api::LocalServiceOptions Cli::ServiceOptions() const {
  api::LocalServiceOptions options;
  options.memory_limit = globals_.memory_limit;
  options.temp_directory = globals_.temp_dir;
  options.timeout = std::chrono::seconds(globals_.timeout_seconds);
  options.cancel = &interrupted;
  options.price_per_tb = price_per_tb_;
  return options;
}

// Embedded mode: the home in this process, acting as --as. Remote mode: the server, as the
// organisation of the token (checked by PrepareRemote, so connecting cannot fail here).
std::unique_ptr<Backend> Cli::OpenBackend() const {
  if (remote()) {
    return *RemoteBackend::Connect(globals_.server, globals_.token, globals_.timeout_seconds);
  }
  return std::make_unique<LocalBackend>(globals_.home, ServiceOptions(), globals_.as);
}
void Cli::AddDemoCommand() {
  auto* demo = app_.add_subcommand("demo", "the retailer/supplier campaign, end to end");
  demo->add_option("--households", demo_.households, "retailer households")->capture_default_str();
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
