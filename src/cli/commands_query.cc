// Query commands: query explain|run|result|list|log, and what a run prints or writes.
#include <algorithm>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/result_files.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

// Exactly one of --sql and --file; checked by the caller (QueryUsage) first.
absl::StatusOr<std::string> Cli::QueryText() {
  if (!query_sql_.empty()) return query_sql_;
  return ReadFile(query_file_, "query");
}

// The usage problem of a query command's flags, if any: the query text given once, an --output
// whose format is known and that the actor will receive. Checked before the query runs, so that
// a typo is not recorded and audited as a query whose result then goes nowhere.
std::optional<std::string> Cli::QueryUsage(bool needs_text) {
  if (needs_text && query_sql_.empty() == query_file_.empty()) {
    return "give the query with --sql or --file";
  }
  if (output_.empty()) return std::nullopt;
  // Who acts: --as, or over a server the organisation of the token (asked only when it matters).
  std::string actor = globals_.as;
  if (remote() && !receivers_.empty()) {
    absl::StatusOr<api::WhoAmIResponse> who = OpenBackend()->WhoAmI({});
    if (who.ok()) actor = who->organisation;
  }
  if (!receivers_.empty() &&
      std::find(receivers_.begin(), receivers_.end(), actor) == receivers_.end()) {
    return absl::StrCat("--output writes the result for ", actor,
                        ", who is not among the receivers; add --receiver ", actor,
                        " or drop --output");
  }
  return OutputUsage();
}

absl::StatusOr<api::OutputFormat> Cli::OutputFormat() const {
  if (!output_format_.empty()) return api::OutputFormatFromName(output_format_);
  if (output_ == "-") return api::OutputFormat::kCsv;
  return api::OutputFormatFromPath(output_);
}

std::optional<std::string> Cli::OutputUsage() {
  if (output_.empty()) {
    if (!output_format_.empty()) return "--format applies to --output; add --output FILE or -";
    if (force_) return "--force applies to --output; add --output FILE";
    return std::nullopt;
  }
  absl::StatusOr<api::OutputFormat> format = OutputFormat();
  if (!format.ok()) {
    if (output_format_.empty()) {
      return absl::StrCat(format.status().message(), ", or give --format");
    }
    return std::string(format.status().message());
  }
  if (output_ == "-") {
    if (*format == api::OutputFormat::kParquet) {
      return "--output - writes CSV or JSON to stdout; write Parquet to a file";
    }
    if (globals_.json) return "--output - and --json both write to stdout; choose one";
    return std::nullopt;
  }
  absl::Status destination = api::CheckDestination(output_, force_);
  if (absl::IsAlreadyExists(destination)) {
    return absl::StrCat(destination.message(), "; add --force to replace it");
  }
  if (!destination.ok()) return std::string(destination.message());
  return std::nullopt;
}

void Cli::AddOutputOptions(CLI::App* app) {
  app->add_option("--output", output_,
                  "write the result to a .csv, .json or .parquet file, or - for stdout (CSV "
                  "unless --format json); checked before the query runs");
  app->add_option("--format", output_format_, "csv, json or parquet: overrides the extension")
      ->check(CLI::IsMember({"csv", "json", "parquet"}, CLI::ignore_case));
  app->add_flag("--force", force_, "replace an existing --output file");
}

void Cli::AddQueryOptions(CLI::App* app) {
  AddCollaborationOption(app);
  app->add_option("--sql", query_sql_, "the SQL text");
  app->add_option("--file", query_file_, "a file holding the SQL text");
}

// query explain/run --epsilon: what a query over a table with differential privacy spends.
void Cli::AddEpsilonOption(CLI::App* app) {
  app->add_option("--epsilon", epsilon_,
                  "differential privacy: the epsilon this query spends (default: the "
                  "collaboration's)");
}

// query explain/run --accuracy/--confidence: an accuracy target the ε is computed from.
void Cli::AddAccuracyOptions(CLI::App* app) {
  app->add_option("--accuracy", accuracy_,
                  "differential privacy: instead of --epsilon, each noisy count within ±this (a "
                  "sum within ±this × its column's bound); spends the least epsilon that does");
  app->add_option("--confidence", confidence_,
                  "with --accuracy: the probability of each value being within it (default 0.95)");
}

void Cli::SetAccuracy(std::optional<std::string>& accuracy,
                      std::optional<std::string>& confidence) const {
  if (!accuracy_.empty()) accuracy = accuracy_;
  if (!confidence_.empty()) confidence = confidence_;
}

std::optional<std::string> Cli::Epsilon() const {
  if (epsilon_.empty()) return std::nullopt;
  return epsilon_;
}

// The result to --output, or (without --json) as a table on stdout.
int Cli::WriteOrPrint(const api::Result& result) {
  if (output_.empty()) {
    if (!globals_.json) std::cout << api::FormatResultTable(result);
    return 0;
  }
  auto format = OutputFormat();
  if (!format.ok()) return Fail(format.status());
  if (output_ == "-") {
    auto text = api::RenderResult(result, *format);
    if (!text.ok()) return Fail(text.status());
    std::cout << *text << std::flush;
    return 0;
  }
  absl::Status status = api::WriteResultFile(result, output_, *format, force_);
  if (absl::IsAlreadyExists(status)) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat(status.message(),
                     " (it appeared while the query ran); add --force to "
                     "replace it, or fetch the result again with 'parley query "
                     "result'")));
  }
  if (!status.ok()) return Fail(status);
  std::cerr << "wrote " << result.rows.size() << " rows to " << output_ << "\n";
  return 0;
}

// What a run did: the violations (exit 3), or where the result went and, for a receiver, the
// result itself. A runner who does not receive the result is told only that the query was
// accepted and finished (see api::RunResponse). With --json the response is printed whole
// (the result inline) and --output still writes the file.
int Cli::Report(const absl::StatusOr<api::RunResponse>& outcome) {
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

void Cli::AddQueryCommands() {
  CLI::App* group = Group("query", "explain, run and fetch queries");
  auto* explain = group->add_subcommand("explain", "the verdict and the SQL the engine would run");
  AddQueryOptions(explain);
  AddEpsilonOption(explain);
  AddAccuracyOptions(explain);
  explain->add_option("--receiver", receivers_,
                      "a member who would receive the result (repeatable; default: --as)");
  explain->add_option("--save-as", save_as_,
                      "also show the rule a table saved by `query run --save-as NAME` would get "
                      "(nothing is run or saved)");
  Add(explain, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
    auto text = QueryText();
    if (!text.ok()) return Fail(text.status());
    api::ExplainRequest request{globals_.collaboration, *text, receivers_, Epsilon()};
    SetAccuracy(request.accuracy, request.confidence);
    if (!save_as_.empty()) request.save_as = save_as_;
    auto response = OpenBackend()->Explain(request);
    if (!response.ok()) return Fail(response.status(), globals_.collaboration);
    if (globals_.json) {
      PrintJson(*response);
    } else {
      PrintExplanation(std::cout, response->explanation);
      if (response->saved_table) PrintSavedTablePreview(std::cout, *response->saved_table);
    }
    if (!response->explanation.allowed) return kExitRejected;
    // A result that could not be saved: as `query run --save-as` would fail.
    return response->saved_table && response->saved_table->refused ? kExitError : 0;
  });

  auto* run = group->add_subcommand("run", "check and run a query; results go to its receivers");
  AddQueryOptions(run);
  AddEpsilonOption(run);
  AddAccuracyOptions(run);
  run->add_option("--receiver", receivers_,
                  "a member who receives the result (repeatable; "
                  "default: --as)");
  AddOutputOptions(run);
  run->add_option("--save-as", save_as_,
                  "save the result as a table of the collaboration, under the rule derived from "
                  "the tables it reads (docs/rules.md \"Derived tables\")");
  run->add_flag("--detach", detach_,
                "with --server: print the run's id once it is queued, and return (follow it "
                "with `query status|wait|cancel`)");
  Add(run, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/true)) return Usage(*usage);
    if (detach_ && !remote()) {
      return Usage("--detach needs a server (--server): here a query runs while the command waits");
    }
    if (detach_ && !save_as_.empty()) return Usage("--detach cannot be combined with --save-as");
    auto text = QueryText();
    if (!text.ok()) return Fail(text.status());
    std::unique_ptr<Backend> backend = OpenBackend();
    CancelQueriesOnInterrupt();
    if (remote() && save_as_.empty()) {
      api::SubmitRunRequest submit{.collaboration = globals_.collaboration,
                                   .sql = *text,
                                   .receivers = receivers_,
                                   .epsilon = Epsilon()};
      SetAccuracy(submit.accuracy, submit.confidence);
      return SubmitAndReport(*backend, submit);
    }
    api::RunQueryRequest request{globals_.collaboration, *text, receivers_};
    request.epsilon = Epsilon();
    SetAccuracy(request.accuracy, request.confidence);
    if (!save_as_.empty()) request.save_as = save_as_;
    absl::StatusOr<api::RunQueryResponse> response = backend->RunQuery(request);
    if (absl::Status opened = OpenSealed(*backend, response); !opened.ok()) return Fail(opened);
    bool saved = !save_as_.empty() && response.ok() && response->result.has_value();
    int code = Report(response);
    if (code == 0 && saved) {
      std::cerr << "saved the result as table '" << save_as_ << "' (its rule: parley table show "
                << save_as_ << ")\n";
    }
    return code;
  });

  auto* result = group->add_subcommand("result", "fetch a stored result (receivers only)");
  AddCollaborationOption(result);
  result->add_option("id", query_id_)->required();
  AddOutputOptions(result);
  Add(result, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/false)) return Usage(*usage);
    auto response = OpenBackend()->GetResult({globals_.collaboration, query_id_});
    if (absl::Status opened = OpenSealed(response); !opened.ok()) return Fail(opened);
    if (!response.ok()) return Fail(response.status(), globals_.collaboration);
    if (globals_.json) PrintJson(*response);
    return WriteOrPrint(response->result);
  });

  AddRunCommands(group);

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
}  // namespace parley::cli
