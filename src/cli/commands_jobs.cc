// Job and asset commands (issue 12): job create|show|list|approve|revoke|run|result,
// asset register|list.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {
namespace {

void PrintJob(const api::Job& job, bool with_code) {
  std::cout << "job " << job.id << "\n"
            << "  name:     " << job.name << "\n"
            << "  author:   " << job.author << "\n"
            << "  runtime:  " << job.runtime << " (" << job.code_name << ")\n";
  for (const api::JobInput& input : job.inputs) {
    std::cout << "  input:    table " << input.table << " (";
    for (size_t i = 0; i < input.columns.size(); ++i) {
      std::cout << (i ? ", " : "") << input.columns[i];
    }
    std::cout << ")\n";
  }
  for (const std::string& asset : job.assets) std::cout << "  input:    asset " << asset << "\n";
  for (const api::TemplateParameter& parameter : job.parameters) {
    std::cout << "  param:    " << parameter.name << ":" << parameter.type
              << (parameter.default_value ? "=" + *parameter.default_value : "") << "\n";
  }
  for (const api::JobApproval& approval : job.approvals) {
    std::cout << "  approval: " << approval.kind << " " << approval.name << " (owner "
              << approval.owner << "): " << (approval.approved ? "approved" : "pending") << "\n";
  }
  std::cout << "  status:   "
            << (job.altered    ? "ALTERED (its content no longer matches its id; it never runs)"
                : job.runnable ? "runnable"
                               : "waiting for approvals")
            << "\n";
  if (with_code) {
    std::cout << "--- " << job.code_name << (job.runtime == "notebook" ? " (cells as text)" : "")
              << " ---\n"
              << job.code_text;
    if (!job.code_text.empty() && job.code_text.back() != '\n') std::cout << "\n";
  }
}

// Writes the outputs the caller receives into `folder` (created if missing); never replaces a
// file. The output names come from the job: only their last component is used.
absl::Status SaveOutputs(const api::JobRun& run, const std::string& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat("cannot create folder '", folder, "'"));
  for (const api::JobOutput& output : run.outputs) {
    if (!output.content_base64) continue;
    absl::StatusOr<std::string> bytes = api::Base64Decode(*output.content_base64);
    if (!bytes.ok()) return absl::DataLossError("an output's content is not base64");
    std::string name = std::filesystem::path(output.name).filename().string();
    if (name.empty() || name == "." || name == "..") continue;
    std::filesystem::path path = std::filesystem::path(folder) / name;
    if (std::filesystem::exists(path, error)) {
      return absl::AlreadyExistsError(absl::StrCat("'", path.string(), "' exists; not replaced"));
    }
    std::ofstream out(path, std::ios::binary);
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    if (!out) return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  }
  return absl::OkStatus();
}

int PrintRun(const api::JobRun& run, const std::string& output_dir) {
  std::cout << "job run " << run.run_id << ": " << run.status;
  if (!run.reason.empty()) std::cout << " (" << run.reason << ")";
  std::cout << "\n";
  if (run.stdout_text && !run.stdout_text->empty())
    std::cout << "--- stdout ---\n" << *run.stdout_text;
  if (run.stderr_text && !run.stderr_text->empty())
    std::cout << "--- stderr ---\n" << *run.stderr_text;
  bool receives = false;
  for (const api::JobOutput& output : run.outputs) {
    std::cout << "output " << output.name << " (" << output.bytes << " bytes, sha256 "
              << output.sha256.substr(0, 12) << ")\n";
    receives = receives || output.content_base64.has_value();
  }
  if (receives && !output_dir.empty()) {
    absl::Status saved = SaveOutputs(run, output_dir);
    if (!saved.ok()) return Fail(saved);
    std::cout << "saved to " << output_dir << "\n";
  }
  return run.status == "succeeded" ? 0 : 1;
}

}  // namespace

void Cli::AddJobCommands() {
  CLI::App* group =
      Group("job", "jobs: Python, R or notebook code run in a sandbox over approved inputs");
  auto* create = group->add_subcommand(
      "create",
      "store a job (code and declared inputs); prints its id (the SHA-256 of its content)");
  AddCollaborationOption(create);
  create->add_option("name", job_.name, "a name for people")->required();
  create->add_option("--code", job_.code, "the code: a .py or .R script or a .ipynb notebook")
      ->required();
  create->add_option("--input", job_.inputs,
                     "a table and the columns the job reads: TABLE:col1,col2 (repeatable)");
  create->add_option("--asset", job_.assets, "an asset the job reads (repeatable)");
  create->add_option("--param", parameter_flags_,
                     "a parameter: name:type[=default], type one of integer, number, text, date, "
                     "boolean (repeatable); the job reads /in/parameters.json");
  Add(create, [this] {
    std::ifstream in(job_.code, std::ios::binary);
    if (!in) return Usage(absl::StrCat("--code: cannot read '", job_.code, "'"));
    std::stringstream code;
    code << in.rdbuf();
    api::CreateJobRequest request;
    request.collaboration = globals_.collaboration;
    request.name = job_.name;
    request.code_name = std::filesystem::path(job_.code).filename().string();
    request.code = code.str();
    for (const std::string& flag : job_.inputs) {
      size_t colon = flag.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == flag.size()) {
        return Usage("--input takes TABLE:col1,col2 (the columns the job reads)");
      }
      api::JobInput input{flag.substr(0, colon), {}};
      for (absl::string_view column : absl::StrSplit(flag.substr(colon + 1), ',')) {
        if (!column.empty()) input.columns.emplace_back(column);
      }
      request.inputs.push_back(std::move(input));
    }
    request.assets = job_.assets;
    request.parameters = parameter_flags_;
    return Answer(OpenBackend()->CreateJob(request), [](const auto& r) {
      std::cout << r.job.id << "\n";
      PrintJob(r.job, /*with_code=*/false);
      return 0;
    });
  });

  auto* show = group->add_subcommand(
      "show", "a job for review: its code (a notebook's cells as text), inputs and approvals");
  AddCollaborationOption(show);
  show->add_option("id", job_.id, "its id, or a unique prefix of it")->required();
  Add(show, [this] {
    return Answer(OpenBackend()->ShowJob({globals_.collaboration, job_.id}), [](const auto& r) {
      PrintJob(r.job, /*with_code=*/true);
      return 0;
    });
  });

  auto* list = group->add_subcommand("list", "the jobs of a collaboration");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListJobs({globals_.collaboration}), [](const auto& r) {
      for (const api::Job& job : r.jobs) {
        std::cout << ShortId(job.id) << "  " << job.name << "  by " << job.author << "  "
                  << (job.altered    ? "ALTERED"
                      : job.runnable ? "runnable"
                                     : "waiting")
                  << "\n";
      }
      return 0;
    });
  });

  using Change = absl::StatusOr<api::JobResponse> (Backend::*)(const api::JobApprovalRequest&);
  struct Approval {
    const char* name;
    const char* description;
    Change change;
    const char* done;
  };
  for (const Approval& approval :
       {Approval{"approve", "let a job read a table (custom rule) or asset you own",
                 &Backend::ApproveJob, "approved"},
        Approval{"revoke", "withdraw a job's approval for a table or asset you own",
                 &Backend::RevokeJob, "revoked"}}) {
    auto* command = group->add_subcommand(approval.name, approval.description);
    AddCollaborationOption(command);
    command->add_option("id", job_.id, "its id, or a unique prefix of it")->required();
    command->add_option("--input", job_.input, "a table or asset you own that the job reads")
        ->required();
    Add(command, [this, approval] {
      std::unique_ptr<Backend> backend = OpenBackend();
      return Answer(((*backend).*approval.change)({globals_.collaboration, job_.id, job_.input}),
                    [&](const auto& r) {
                      std::cout << approval.done << " job " << ShortId(r.job.id) << " for "
                                << job_.input << "\n";
                      PrintJob(r.job, /*with_code=*/false);
                      return 0;
                    });
    });
  }

  auto* run = group->add_subcommand(
      "run", "run an approved job in the sandbox; its outputs go to its receivers");
  AddCollaborationOption(run);
  run->add_option("id", job_.id, "its id, or a unique prefix of it")->required();
  run->add_option("--param", parameter_flags_, "a parameter value: name=value (repeatable)");
  run->add_option("--receiver", receivers_,
                  "a member who receives the outputs (repeatable; default: --as)");
  run->add_option("--output-dir", job_.output_dir,
                  "save the outputs you receive in this folder (never replacing a file)");
  Add(run, [this] {
    auto values = ParameterValues();
    if (!values.ok()) return Usage(values.status().message());
    api::RunJobRequest request{globals_.collaboration, job_.id, *values, receivers_};
    return Answer(OpenBackend()->RunJob(request),
                  [this](const auto& r) { return PrintRun(r.run, job_.output_dir); });
  });

  auto* result = group->add_subcommand("result", "a job run you ran or receive, and its outputs");
  AddCollaborationOption(result);
  result->add_option("run", job_.run_id, "the run's number")->required();
  result->add_option("--output-dir", job_.output_dir,
                     "save the outputs you receive in this folder (never replacing a file)");
  Add(result, [this] {
    return Answer(OpenBackend()->ShowJobRun({globals_.collaboration, job_.run_id}),
                  [this](const auto& r) { return PrintRun(r.run, job_.output_dir); });
  });

  CLI::App* assets = Group(
      "asset", "private assets (models, libraries, documents): others see metadata, never bytes");
  auto* add = assets->add_subcommand(
      "register", "register a file or folder of yours; jobs you approve read it in the sandbox");
  AddCollaborationOption(add);
  add->add_option("name", job_.name, "its name in the collaboration")->required();
  add->add_option("--path", job_.path, "the file or folder (copied into the home)")->required();
  add->add_option("--kind", job_.kind, "model, library or data")->required();
  add->add_option("--description", job_.description, "what it is, for the other members");
  add->add_flag("--allow-job-logs", job_.allow_logs,
                "let runners of jobs reading it see their logs");
  Add(add, [this] {
    api::RegisterAssetRequest request{globals_.collaboration, job_.name,      job_.kind, job_.path,
                                      job_.description,       job_.allow_logs};
    return Answer(OpenBackend()->RegisterAsset(request), [](const auto& r) {
      std::cout << "registered asset " << r.asset.name << " (" << r.asset.kind << ", "
                << r.asset.bytes << " bytes, sha256 " << r.asset.sha256 << ")\n";
      return 0;
    });
  });
  auto* list_assets = assets->add_subcommand("list", "the assets of a collaboration (metadata)");
  AddCollaborationOption(list_assets);
  Add(list_assets, [this] {
    return Answer(OpenBackend()->ListAssets({globals_.collaboration}), [](const auto& r) {
      for (const api::Asset& asset : r.assets) {
        std::cout << asset.name << "  " << asset.kind << "  by " << asset.owner << "  "
                  << asset.bytes << " bytes  sha256 " << asset.sha256.substr(0, 12) << "  "
                  << asset.description << "\n";
      }
      return 0;
    });
  });
}

}  // namespace parley::cli
