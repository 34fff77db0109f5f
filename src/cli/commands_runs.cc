// Asynchronous runs on a server: `query run` and `template run` submit and then wait (showing
// progress on a terminal) or, with --detach, print the run's id; `query status|wait|cancel ID`
// follow a run later. In embedded mode a query runs while its command waits, so --detach is
// refused and these commands answer that they need a server.
#include <unistd.h>

#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/http_status.h"
#include "cli/command_line.h"

namespace parley::cli {

namespace {

bool Ended(const api::RunStatusResponse& run) {
  return run.status != "queued" && run.status != "running";
}

// "query 12  running  37.5%": one line for a run.
std::string RunLine(const api::RunStatusResponse& run) {
  std::string line = absl::StrCat("query ", run.query_id, "  ", run.status);
  if (run.queue_position) absl::StrAppend(&line, "  (position ", *run.queue_position, ")");
  if (run.progress) absl::StrAppend(&line, "  ", *run.progress, "%");
  if (run.error) absl::StrAppend(&line, ": ", run.error->message);
  return line;
}

}  // namespace

absl::StatusOr<api::RunStatusResponse> Cli::AwaitRun(Backend& backend, int64_t query_id) {
  const bool terminal = isatty(STDERR_FILENO) == 1;
  bool cancel_sent = false;
  bool shown = false;
  for (;;) {
    // Short waits, so that progress and an interrupt are seen soon; a run that ends answers at
    // once.
    absl::StatusOr<api::RunStatusResponse> run =
        backend.WaitRun({globals_.collaboration, query_id, terminal ? 500 : 1000});
    if (terminal && (shown || (run.ok() && !Ended(*run)))) {
      std::cerr << "\r\033[K";
      if (run.ok() && !Ended(*run)) std::cerr << RunLine(*run);
      std::cerr << std::flush;
      shown = true;
    }
    if (!run.ok() || Ended(*run)) return run;
    if (QueryInterrupted() && !cancel_sent) {
      cancel_sent = true;
      absl::StatusOr<api::RunStatusResponse> cancelled =
          backend.CancelRun({globals_.collaboration, query_id});
      if (!cancelled.ok()) return cancelled.status();
    }
  }
}

int Cli::ReportRun(Backend& backend, const absl::StatusOr<api::RunStatusResponse>& run) {
  if (!run.ok()) return Fail(run.status(), globals_.collaboration);
  if (run->outcome) {
    // A result sealed to the runner's key comes as `sealed` without rows: opened here, locally.
    absl::StatusOr<api::RunResponse> outcome = *run->outcome;
    if (absl::Status opened = OpenSealed(backend, outcome); !opened.ok()) return Fail(opened);
    return Report(outcome);
  }
  if (run->error) {
    return Fail(absl::Status(api::StatusCodeFromName(run->error->code), run->error->message),
                globals_.collaboration);
  }
  if (run->status == "succeeded") {
    // The server no longer holds the run's outcome (it restarted, or the run ended long ago):
    // the stored result.
    absl::StatusOr<api::GetResultResponse> result =
        backend.GetResult({globals_.collaboration, run->query_id});
    if (absl::Status opened = OpenSealed(result); !opened.ok()) return Fail(opened);
    if (!result.ok()) return Fail(result.status(), globals_.collaboration);
    if (globals_.json) PrintJson(*result);
    return WriteOrPrint(result->result);
  }
  if (globals_.json) {
    PrintJson(*run);
  } else {
    std::cerr << RunLine(*run) << "\n";
  }
  return 0;
}

int Cli::SubmitAndReport(Backend& backend, const api::SubmitRunRequest& request) {
  absl::StatusOr<api::RunStatusResponse> submitted = backend.SubmitRun(request);
  if (!submitted.ok()) return Fail(submitted.status(), globals_.collaboration);
  if (submitted->status == "rejected" && submitted->outcome) return Report(*submitted->outcome);
  if (detach_) {
    if (globals_.json) {
      PrintJson(*submitted);
    } else {
      std::cout << submitted->query_id << "\n";
      std::cerr << "query " << submitted->query_id << " " << submitted->status
                << "; follow it with: parley query status|wait|cancel -c " << globals_.collaboration
                << " " << submitted->query_id << "\n";
    }
    return 0;
  }
  return ReportRun(backend, AwaitRun(backend, submitted->query_id));
}

void Cli::AddRunCommands(CLI::App* group) {
  auto* status = group->add_subcommand(
      "status", "a run's status on a server: queued, running (with progress) or how it ended");
  AddCollaborationOption(status);
  status->add_option("id", query_id_, "the query id `query run --detach` printed")->required();
  Add(status, [this] {
    return Answer(OpenBackend()->ShowRun({globals_.collaboration, query_id_}),
                  [](const api::RunStatusResponse& run) {
                    std::cout << RunLine(run) << "\n";
                    return 0;
                  });
  });

  auto* wait = group->add_subcommand(
      "wait", "wait for a run on a server to end, then report it as `query run` does");
  AddCollaborationOption(wait);
  wait->add_option("id", query_id_, "the query id")->required();
  AddOutputOptions(wait);
  Add(wait, [this] {
    if (auto usage = QueryUsage(/*needs_text=*/false)) return Usage(*usage);
    std::unique_ptr<Backend> backend = OpenBackend();
    CancelQueriesOnInterrupt();
    return ReportRun(*backend, AwaitRun(*backend, query_id_));
  });

  auto* cancel = group->add_subcommand(
      "cancel", "cancel your run on a server (queued: at once; running: interrupted)");
  AddCollaborationOption(cancel);
  cancel->add_option("id", query_id_, "the query id")->required();
  Add(cancel, [this] {
    return Answer(OpenBackend()->CancelRun({globals_.collaboration, query_id_}),
                  [](const api::RunStatusResponse& run) {
                    std::cout << RunLine(run) << "\n";
                    return 0;
                  });
  });
}

}  // namespace parley::cli
