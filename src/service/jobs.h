// Jobs (issue 12): approved code — a Python or R script or a Jupyter notebook — run in the
// sandbox (jobs/sandbox.h) over exports of the partners' tables and members' private assets,
// with its outputs delivered to receivers like query results.
//
// A job is immutable: its bundle (the code, its file name, the inputs it declares — tables with
// the columns it needs, and assets — and its typed parameters) is identified by the SHA-256 of
// its canonical JSON, so an approval names exactly one text; changed code is a new job. Every
// owner of an input approves that id: a table's owner in its custom rule (`allowed_jobs`, or
// `any_job` for `allowed_job_providers`), an asset's owner on the asset. A member with the
// `run_jobs` ability runs it; Parley exports only the declared columns (each must be one the
// table allows), runs the code with no network and no view of anything but its inputs, and
// delivers the files it writes to /out — unless the output guard finds in them a value of an
// input's never_output, disallowed_output or identity column, when every output is withheld
// with a reason naming the column. Logs reach the runner only when every input's owner allows.
//
//   PARLEY_ASSIGN_OR_RETURN(JobView job, service->CreateJob(caller, new_job));
//   PARLEY_ASSIGN_OR_RETURN(JobRunView run, service->RunJob(caller, {"campaign", job.id}));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "service/analysis_template.h"

namespace parley::service {

enum class JobRuntime { kPython, kR, kNotebook };
std::string JobRuntimeName(JobRuntime runtime);  // "python" | "r" | "notebook"

struct JobInput {
  std::string table;
  std::vector<std::string> columns;  // what the job reads; each must be allowed by the table
};

struct NewJob {
  std::string collaboration;
  std::string name;
  std::string code_name;  // the file name: ends in .py, .R or .ipynb (the runtime)
  std::string code;
  std::vector<JobInput> inputs;
  std::vector<std::string> assets;
  std::vector<std::string> parameter_specs;  // "name:type[=default]" as for templates
};

// A job as a reviewer sees it.
struct JobView {
  std::string id;
  std::string name;
  std::string author;
  std::string runtime;
  std::string code_name;
  std::string code;
  std::string code_text;  // for review: a notebook's cells as text, a script as it is
  std::vector<JobInput> inputs;
  std::vector<std::string> assets;
  std::vector<TemplateParameter> parameters;
  int64_t created_at = 0;
  struct Approval {
    std::string kind;  // "table" | "asset"
    std::string name;
    std::string owner;
    bool approved = false;
  };
  std::vector<Approval> approvals;
  bool altered = false;  // the stored bundle no longer hashes to its id: it never runs
  bool runnable() const;
};

struct NewAsset {
  std::string collaboration;
  std::string name;
  std::string kind;  // "model" | "library" | "data"
  std::string description;
  std::string path;  // a file or a folder of the owner's
  bool allow_job_logs = false;
};

// What every member sees of an asset: metadata, never bytes.
struct AssetView {
  std::string name;
  std::string owner;
  std::string kind;
  std::string description;
  int64_t bytes = 0;
  std::string sha256;
  std::vector<std::string> allowed_jobs;
  bool allow_job_logs = false;
  int64_t created_at = 0;
};

// A runner's limits for one run; absent ones are the service's (Options::job_limits). Each must
// lie within its bounds (kJobLimitBounds), else RunJob answers InvalidArgument naming it.
struct JobLimitsRequest {
  std::optional<int64_t> memory_bytes;  // address space of each process
  std::optional<int64_t> processes;
  std::optional<int64_t> open_files;
  std::optional<int64_t> cpu_seconds;
  std::optional<int64_t> wall_seconds;
  std::optional<int64_t> output_bytes;  // the whole output directory (and so each file)
};

struct JobLimitBound {
  const char* name;  // as the CLI's flag says it, without "--"
  std::optional<int64_t> JobLimitsRequest::*field;
  int64_t minimum;
  int64_t maximum;
  const char* unit;  // "bytes" (shown as KiB, MiB, GiB), "seconds" or ""
};
// Wide enough for any real job, narrow enough that a typo (a memory limit of 4 bytes, a wall
// time of a century) is refused rather than obeyed.
inline constexpr JobLimitBound kJobLimitBounds[] = {
    {"memory", &JobLimitsRequest::memory_bytes, int64_t{64} << 20, int64_t{64} << 30, "bytes"},
    {"processes", &JobLimitsRequest::processes, 1, 4096, ""},
    {"open-files", &JobLimitsRequest::open_files, 16, 65536, ""},
    {"cpu-time", &JobLimitsRequest::cpu_seconds, 1, 86400, "seconds"},
    {"wall-time", &JobLimitsRequest::wall_seconds, 1, 86400, "seconds"},
    {"output-size", &JobLimitsRequest::output_bytes, int64_t{1} << 10, int64_t{64} << 30, "bytes"},
};

struct RunJobRequest {
  std::string collaboration;
  std::string job_id;  // or a unique prefix
  std::map<std::string, std::string> parameters;
  std::vector<std::string> receivers;  // empty: the runner
  JobLimitsRequest limits;
};

struct JobOutputView {
  std::string name;
  int64_t bytes = 0;
  std::string sha256;
  // For receivers only: the file, or when `sealed` the file sealed to the receivers' registered
  // keys (docs/formats/sealed-results.md), which only a receiver's client opens.
  std::optional<std::string> content;
  bool sealed = false;
};

// What a run tells the member who ran it (and its receivers).
struct JobRunView {
  int64_t run_id = 0;
  std::string job_id;
  std::string status;  // "succeeded" | "failed" | "withheld"
  std::string reason;  // a failure's exit status or limit, or what the guard found (a column)
  std::vector<std::string> receivers;
  std::optional<std::string> stdout_text;  // only when every input's owner allows logs
  std::optional<std::string> stderr_text;
  std::vector<JobOutputView> outputs;  // names and sizes for all; contents for receivers
  int64_t wall_microseconds = 0;
};

// The SHA-256 (hex) of a bundle's canonical JSON; and that JSON, from a job's parts.
std::string JobBundleJson(const NewJob& job, JobRuntime runtime,
                          const std::vector<TemplateParameter>& parameters);

// A notebook's cells as text for review ("# [code 1]" / "# [markdown 2]" headers); InvalidArgument
// when `notebook` is not a notebook's JSON.
absl::StatusOr<std::string> NotebookText(const std::string& notebook);

}  // namespace parley::service
