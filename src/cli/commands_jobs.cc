// Job and asset commands (issue 12): job create|show|list|approve|revoke|run|result,
// asset register|list.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
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

enum class Unit { kBytes, kSeconds, kCount };

// "512M", "2G", "1.5G", "65536" (bytes, binary multiples, "MiB"/"MB" alike) → bytes; "30",
// "30s", "5m", "2h" → seconds; a count is a whole number. Another form is a usage error naming
// the flag; the bounds are the service's, which answers for every front end.
absl::StatusOr<std::optional<int64_t>> Amount(const std::string& flag, const std::string& text,
                                              Unit unit) {
  if (text.empty()) return std::nullopt;
  std::string number = text;
  std::string suffix;
  while (unit != Unit::kCount && !number.empty() && absl::ascii_isalpha(number.back())) {
    suffix.insert(suffix.begin(), absl::ascii_tolower(number.back()));
    number.pop_back();
  }
  double scale = -1;
  if (unit == Unit::kBytes) {
    static const std::map<std::string, double> kScales = {
        {"", 1},         {"b", 1},       {"k", 0x1p10},   {"kb", 0x1p10}, {"kib", 0x1p10},
        {"m", 0x1p20},   {"mb", 0x1p20}, {"mib", 0x1p20}, {"g", 0x1p30},  {"gb", 0x1p30},
        {"gib", 0x1p30}, {"t", 0x1p40},  {"tb", 0x1p40},  {"tib", 0x1p40}};
    if (auto found = kScales.find(suffix); found != kScales.end()) scale = found->second;
  } else if (unit == Unit::kSeconds) {
    static const std::map<std::string, double> kScales = {
        {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}};
    if (auto found = kScales.find(suffix); found != kScales.end()) scale = found->second;
  } else if (number.find_first_not_of("0123456789") == std::string::npos) {
    scale = 1;
  }
  double value = 0;
  if (scale < 0 || number.empty() || !absl::SimpleAtod(number, &value) || !(value >= 0) ||
      value * scale > 9.0e18) {
    const char* form = unit == Unit::kBytes     ? "a size such as 512M or 2G"
                       : unit == Unit::kSeconds ? "a time such as 30 (seconds), 5m or 2h"
                                                : "a whole number";
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " takes ", form, " (got '", text, "')"));
  }
  return static_cast<int64_t>(value * scale);
}

// `job run`'s limit flags, as typed.
struct LimitFlags {
  std::string memory, processes, open_files, cpu_time, wall_time, output_size;
  absl::StatusOr<api::JobLimits> Parse() const {
    api::JobLimits limits;
    PARLEY_ASSIGN_OR_RETURN(limits.memory_bytes, Amount("memory", memory, Unit::kBytes));
    PARLEY_ASSIGN_OR_RETURN(limits.processes, Amount("processes", processes, Unit::kCount));
    PARLEY_ASSIGN_OR_RETURN(limits.open_files, Amount("open-files", open_files, Unit::kCount));
    PARLEY_ASSIGN_OR_RETURN(limits.cpu_seconds, Amount("cpu-time", cpu_time, Unit::kSeconds));
    PARLEY_ASSIGN_OR_RETURN(limits.wall_seconds, Amount("wall-time", wall_time, Unit::kSeconds));
    PARLEY_ASSIGN_OR_RETURN(limits.output_bytes, Amount("output-size", output_size, Unit::kBytes));
    return limits;
  }
};

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
  auto limits = std::make_shared<LimitFlags>();
  run->add_option("--memory", limits->memory,
                  "memory (address space) of each process, e.g. 2G (default 4G; 64M to 64G)");
  run->add_option("--processes", limits->processes,
                  "processes and threads the job may have at once (default 64; 1 to 4096)");
  run->add_option("--open-files", limits->open_files,
                  "open files per process (default 256; 16 to 65536)");
  run->add_option("--cpu-time", limits->cpu_time,
                  "CPU time of each process, e.g. 90 or 5m (default: --timeout; up to 24h)");
  run->add_option("--wall-time", limits->wall_time,
                  "time until the whole job is stopped, e.g. 10m (default: --timeout; up to 24h)");
  run->add_option("--output-size", limits->output_size,
                  "total size of the output folder, e.g. 100M (default 512M; 1K to 64G)");
  Add(run, [this, limits] {
    auto values = ParameterValues();
    if (!values.ok()) return Usage(values.status().message());
    absl::StatusOr<api::JobLimits> parsed = limits->Parse();
    if (!parsed.ok()) return Usage(parsed.status().message());
    api::RunJobRequest request{globals_.collaboration, job_.id, *values, receivers_, {}};
    bool any = parsed->memory_bytes || parsed->processes || parsed->open_files ||
               parsed->cpu_seconds || parsed->wall_seconds || parsed->output_bytes;
    if (any) request.limits = *parsed;
    absl::StatusOr<api::RunJobResponse> response = OpenBackend()->RunJob(request);
    // Outputs sealed to the caller's key are opened here, on its machine.
    if (response.ok()) {
      if (absl::Status opened = OpenSealed(response->run); !opened.ok()) return Fail(opened);
    }
    return Answer(response, [this](const auto& r) { return PrintRun(r.run, job_.output_dir); });
  });

  auto* result = group->add_subcommand("result", "a job run you ran or receive, and its outputs");
  AddCollaborationOption(result);
  result->add_option("run", job_.run_id, "the run's number")->required();
  result->add_option("--output-dir", job_.output_dir,
                     "save the outputs you receive in this folder (never replacing a file)");
  Add(result, [this] {
    absl::StatusOr<api::ShowJobRunResponse> response =
        OpenBackend()->ShowJobRun({globals_.collaboration, job_.run_id});
    if (response.ok()) {
      if (absl::Status opened = OpenSealed(response->run); !opened.ok()) return Fail(opened);
    }
    return Answer(response, [this](const auto& r) { return PrintRun(r.run, job_.output_dir); });
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
