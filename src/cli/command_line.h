// Inside the `parley` command line (cli/commands.h is its public face): the Cli class that owns
// the CLI11 application, the flags every command shares and the helpers commands use to answer.
// The commands themselves are defined by group, one file each: commands_collaboration.cc,
// commands_tables.cc (tables, rules, the policy summary), commands_query.cc,
// commands_templates.cc, commands_audit.cc; commands.cc holds the table (the constructor that
// registers them all), Main and the demo command.
// Thread safety: one Cli per process, used from the main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/codec.h"
#include "api/local_service.h"
#include "api/result_files.h"
#include "api/server_types.h"
#include "api/types.h"
#include "cli/backend.h"
#include "cli/demo.h"

namespace parley::cli {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRejected = 3;
constexpr int kExitNotPermitted = 4;
// A change request was proposed and waits for other members' approvals (nothing changed yet).
constexpr int kExitPending = 5;

// From here on, an interrupt cancels the running query instead of killing the process (which
// would leave the run to be found killed). The handlers fire once: a second interrupt ends the
// process as usual.
void CancelQueriesOnInterrupt();
// Whether an interrupt arrived since CancelQueriesOnInterrupt (a remote run then asks the server
// to cancel).
bool QueryInterrupted();

// An error: "error: MESSAGE" on stderr (with the CLI's command hints), or with --json the API's
// error object on stdout. `collaboration` is the command's -c, for hints that name it.
int Fail(const absl::Status& status, const std::string& collaboration = "");

// A command line that cannot work as given: a missing or contradictory flag, or a flag value of
// the wrong form. Reported before anything runs or is recorded.
int Usage(absl::string_view message);

// With --json: the response as one JSON document on stdout.
template <class Response>
void PrintJson(const Response& response) {
  std::cout << api::Dump(api::ToJson(response), 2) << "\n";
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what);

std::vector<std::string> SplitList(const std::string& text);

// `--abilities query,receive` (or `none`) as the API's list of ability names.
absl::StatusOr<std::vector<std::string>> AbilityList(const std::string& abilities);

// Flags every command shares.
struct Globals {
  std::string home;
  std::string as;
  std::string collaboration;
  std::string memory_limit;  // empty: the engine's default
  std::string temp_dir;      // empty: <home>/tmp
  int timeout_seconds = 300;
  bool json = false;  // print the API's JSON response (or error object) on stdout
  // Remote mode (commands_server.cc): the server's URL and the file holding this organisation's
  // API token; the token, read and checked by Main, says who acts (no --as).
  std::string server;
  std::string token_file;
  std::string token;
};

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
  Cli();

  int Main(int argc, char** argv);

 private:
  CLI::App* Group(const std::string& name, const std::string& description);
  void Add(CLI::App* app, Command::Action action, bool needs_actor = true);
  void AddCollaborationOption(CLI::App* app);
  // table add's options for reading a CSV or JSON-lines file, and --preview; FileOptions gives
  // the ones given as the API's options object (InvalidArgument for a malformed --types).
  void AddFileOptions(CLI::App* app, bool with_preview = true);
  absl::StatusOr<nlohmann::json> FileOptions() const;
  api::LocalServiceOptions ServiceOptions() const;
  std::unique_ptr<Backend> OpenBackend() const;

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

  // One per command group (commands_<group>.cc).
  void AddCollaborationCommands();
  void AddMemberCommands();
  void AddTableCommands();
  void AddRuleCommands();
  void AddQueryCommands();
  void AddTemplateCommands();
  // job and asset (commands_jobs.cc).
  void AddJobCommands();
  struct JobFlags {
    std::string name, code, id, input, kind, path, description, output_dir;
    std::vector<std::string> inputs, assets;
    bool allow_logs = false;
    int64_t run_id = 0;
  } job_;
  void AddPolicyCommand();
  void AddAuditCommands();
  void AddDemoCommand();
  // change list|show|approve|deny|cancel, member invite|set, join, collaboration set
  // (commands_changes.cc).
  void AddChangeCommands();
  void AddConsentCommands(CLI::App* member_group, CLI::App* collaboration_group);
  // The answer of a call that proposes or votes on a change request: its JSON with --json, else
  // `print` when the change is no longer pending and "change request N pending, waiting for: ..."
  // when it is. The exit code: kExitPending while it is pending, else 0.
  template <class Response, class Change, class Print>
  int AnswerChange(const absl::StatusOr<Response>& response, Change change, Print print) {
    if (!response.ok()) return Fail(response.status(), globals_.collaboration);
    const api::ChangeRequest& request = change(*response);
    bool pending = request.status == "pending";
    if (globals_.json) {
      PrintJson(*response);
    } else {
      print(*response);
      if (pending) PrintPending(request);
    }
    return pending ? kExitPending : 0;
  }
  static void PrintPending(const api::ChangeRequest& change);
  // budget (commands_privacy.cc).
  void AddBudgetCommand();
  // usage, usage limit (commands_usage.cc).
  void AddUsageCommand();
  // secret new, encrypt, decrypt: client-side column encryption (commands_crypto.cc).
  void AddCryptoCommands();
  // Kept results and the home (commands_results.cc).
  void AddResultCommands();
  void AddHomeCommands();
  // help and completion (commands_help.cc).
  void AddHelpCommands();
  std::string CompletionScript(const std::string& shell);
  // A mistyped command or flag, named with the closest real one; checked before CLI11 parses.
  std::optional<std::string> CheckCommandLine(int argc, char** argv);
  // serve, serve init, org, token, whoami (commands_server.cc).
  void AddServerCommands();
  // psi serve|connect (commands_psi.cc).
  void AddPsiCommands();
  // Remote mode: checks the flags and reads the token (Main, before any command runs); the exit
  // code of a usage error or a failure, or nullopt when the command may run.
  std::optional<int> PrepareRemote();
  bool remote() const { return !globals_.server.empty(); }
  // Prints a token just issued (or saves it to `save_to`, 0600) and returns the exit code.
  int PrintIssuedToken(const absl::StatusOr<api::IssuedTokenResponse>& issued,
                       const std::string& save_to);

  // Bringing data and sealed results (commands_server_data.cc): key new|register|show, the
  // upload behind `table add --upload`, opening sealed results with the key of the config
  // directory, the client's own check of an audit chain against the hashes it saw before, and a
  // collaboration's result retention.
  void AddKeyCommands();
  void AddWebhookCommands();
  // Where this client keeps its keys and the audit hashes it saw: PARLEY_CONFIG_DIR, else the
  // folder of --token-file, else $XDG_CONFIG_HOME/parley or ~/.config/parley.
  std::string ConfigDirectory() const;
  absl::StatusOr<api::UploadResponse> UploadFile(Backend& backend, const std::string& path);
  absl::Status OpenSealed(Backend& backend, absl::StatusOr<api::RunResponse>& response);
  absl::Status OpenSealed(absl::StatusOr<api::GetResultResponse>& response);
  // A job run's sealed outputs opened with the config directory's key pair, in place (then
  // checked against their sha256).
  absl::Status OpenSealed(api::JobRun& run);
  int VerifyOnClient(Backend& backend, const api::VerifyAuditResponse& verification);
  void AddRetentionOptions(CLI::App* create, CLI::App* set);
  int SetRetention();

  // Shared by the query and template commands (commands_query.cc).
  absl::StatusOr<std::string> QueryText();
  std::optional<std::string> QueryUsage(bool needs_text);
  void AddQueryOptions(CLI::App* app);
  void AddEpsilonOption(CLI::App* app);
  std::optional<std::string> Epsilon() const;
  void AddAccuracyOptions(CLI::App* app);
  void SetAccuracy(std::optional<std::string>& accuracy,
                   std::optional<std::string>& confidence) const;
  // --output, --format and --force, for commands that deliver a result.
  void AddOutputOptions(CLI::App* app);
  // The format --output is written in: --format, else the file's extension, else CSV for "-".
  absl::StatusOr<api::OutputFormat> OutputFormat() const;
  // Whether --output can be written, before anything runs: a usage message, or nothing.
  std::optional<std::string> OutputUsage();
  int WriteOrPrint(const api::Result& result);
  int Report(const absl::StatusOr<api::RunResponse>& outcome);
  // Remote mode (commands_runs.cc): submits the run, then with --detach prints its id, else waits
  // for it (progress on stderr when it is a terminal; an interrupt cancels it) and reports it as
  // a synchronous run would.
  int SubmitAndReport(Backend& backend, const api::SubmitRunRequest& request);
  // Waits for a run to end; cancels it (once) on an interrupt.
  absl::StatusOr<api::RunStatusResponse> AwaitRun(Backend& backend, int64_t query_id);
  // The report of a run that has ended, as `query run` prints it.
  int ReportRun(Backend& backend, const absl::StatusOr<api::RunStatusResponse>& run);
  // query status|wait|cancel (commands_runs.cc).
  void AddRunCommands(CLI::App* query_group);

  absl::StatusOr<std::map<std::string, std::string>> ParameterValues();
  int PrintVerification(const api::VerifyAuditResponse& verification);

  CLI::App app_;
  Globals globals_;
  std::vector<Command> commands_;
  api::CreateCollaborationRequest new_collaboration_;
  std::string abilities_ = "query,receive";
  std::string member_name_;
  bool only_open_ = false;  // collaboration list --open
  std::string member_abilities_;
  std::string table_name_, table_source_, table_columns_, table_postgres_, table_relation_;
  std::string table_engine_, table_shard_key_;
  absl::StatusOr<nlohmann::json> EngineTableDescription() const;
  // commands_engines.cc: `engine add|list|show|remove`, the operator's, on the home itself.
  void AddEngineCommands();
  std::string engine_name_, engine_url_, engine_cluster_, engine_database_, engine_user_,
      engine_password_file_, engine_loader_user_, engine_loader_password_file_;
  std::vector<std::string> engine_nodes_;
  // table add: how a CSV or JSON-lines file is read (commands_tables.cc); a field given only when
  // its option is.
  std::string table_delimiter_, table_quote_, table_escape_, table_decimal_separator_,
      table_thousands_separator_, table_date_format_, table_timestamp_format_, table_types_;
  std::vector<std::string> table_null_strings_;
  bool table_header_ = true;
  bool table_preview_ = false;
  std::vector<std::pair<std::string, CLI::Option*>> table_option_flags_;
  std::string rule_table_, rule_file_, rule_json_;
  std::string query_sql_, query_file_, output_;
  std::string save_as_;                // query run --save-as
  std::string epsilon_;                // query explain/run --epsilon
  std::string accuracy_, confidence_;  // query explain/run --accuracy, --confidence
  std::string dp_epsilon_per_month_, dp_delta_per_month_, dp_default_epsilon_, dp_max_epsilon_;
  std::string output_format_;  // --format: csv, json or parquet
  bool force_ = false;         // --force: --output may replace an existing file
  std::vector<std::string> receivers_;
  int64_t query_id_ = 0;
  bool detach_ = false;  // query run / template run --detach
  std::string template_name_;
  std::vector<std::string> parameter_flags_;  // specs for create, name=value for run
  std::string template_id_, template_table_;
  std::string expected_head_;
  int64_t audit_limit_ = 0, audit_after_ = 0, audit_before_ = 0;  // audit list's page
  std::vector<std::string> help_path_;
  bool help_list_ = false;
  std::string completion_shell_;
  std::string result_retention_;
  DemoOptions demo_;
  // commands_changes.cc
  int64_t change_id_ = 0;
  std::string invitation_code_, payer_, query_logging_setting_, auto_approve_;
  int64_t valid_hours_ = 168;
  CLI::App* collaboration_group_ = nullptr;
  // commands_server.cc
  std::string listen_, tls_cert_, tls_key_, organisation_name_, save_token_, token_id_, data_root_;
  int server_threads_ = 128;
  // serve: the run queue (service/run_queue.h) and how long SIGTERM lets running queries finish.
  int run_workers_ = 4, max_queued_runs_ = 64, max_runs_per_member_ = 8, drain_seconds_ = 10;
  int read_timeout_seconds_ = 10;
  // commands_server_data.cc
  std::string table_upload_, public_key_file_, collaboration_retention_, webhook_url_;
  std::string time_limit_setting_;  // collaboration create|set --time-limit
  int64_t webhook_id_ = 0;
  bool key_force_ = false;
  int64_t max_upload_bytes_ = int64_t{1} << 30;
  int sweep_seconds_ = 3600;
  std::string console_dir_;  // empty: the build's web/dist when it exists
  // commands_usage.cc (--price-per-tb: serve, and usage in embedded mode)
  std::string usage_month_, usage_by_ = "member", per_query_limit_, monthly_limit_, price_per_tb_;
};

}  // namespace parley::cli
