// API types (see api/types.h for the conventions every type follows): jobs — approved code run in
// the sandbox over the partners' tables and private assets (issue 12) — and assets. Output files
// travel base64-encoded, and only to their receivers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/templates.h"
#include "base/status.h"

namespace parley::api {

struct JobInput {
  std::string table;
  std::vector<std::string> columns;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("columns", columns);
  }
};

struct JobApproval {
  std::string kind;  // "table" | "asset"
  std::string name;
  std::string owner;
  bool approved = false;
  template <class V>
  void Visit(V& v) {
    v.Required("kind", kind);
    v.Required("name", name);
    v.Required("owner", owner);
    v.Required("approved", approved);
  }
};

struct Job {
  std::string id;  // hex SHA-256 of its bundle
  std::string name;
  std::string author;
  std::string runtime;  // "python" | "r" | "notebook"
  std::string code_name;
  std::string code;
  std::string code_text;  // for review: a notebook's cells as text
  std::vector<JobInput> inputs;
  std::vector<std::string> assets;
  std::vector<TemplateParameter> parameters;
  int64_t created_at = 0;
  std::vector<JobApproval> approvals;
  bool altered = false;
  bool runnable = false;
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("name", name);
    v.Required("author", author);
    v.Required("runtime", runtime);
    v.Required("code_name", code_name);
    v.Required("code", code);
    v.Required("code_text", code_text);
    v.Required("inputs", inputs);
    v.Required("assets", assets);
    v.Required("parameters", parameters);
    v.Required("created_at", created_at);
    v.Required("approvals", approvals);
    v.Required("altered", altered);
    v.Required("runnable", runnable);
  }
};

struct CreateJobRequest {
  std::string collaboration;
  std::string name;
  std::string code_name;  // ends in .py, .R or .ipynb
  std::string code;
  std::vector<JobInput> inputs;
  std::vector<std::string> assets;
  std::vector<std::string> parameters;  // "name:type[=default]"
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("name", name);
    v.Required("code_name", code_name);
    v.Required("code", code);
    v.Optional("inputs", inputs);
    v.Optional("assets", assets);
    v.Optional("parameters", parameters);
  }
};
struct JobResponse {
  Job job;
  template <class V>
  void Visit(V& v) {
    v.Required("job", job);
  }
};
using CreateJobResponse = JobResponse;

struct ShowJobRequest {
  std::string collaboration;
  std::string job_id;  // or a unique prefix
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("job_id", job_id);
  }
};
using ShowJobResponse = JobResponse;

struct ListJobsRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListJobsResponse {
  std::vector<Job> jobs;
  template <class V>
  void Visit(V& v) {
    v.Required("jobs", jobs);
  }
};

// The owner of an input (a table with a custom rule, or an asset) approves the job, or revokes.
struct JobApprovalRequest {
  std::string collaboration;
  std::string job_id;
  std::string input;  // a table or asset name
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("job_id", job_id);
    v.Required("input", input);
  }
};
using ApproveJobRequest = JobApprovalRequest;
using RevokeJobRequest = JobApprovalRequest;
using ApproveJobResponse = JobResponse;
using RevokeJobResponse = JobResponse;

struct JobOutput {
  std::string name;
  int64_t bytes = 0;
  std::string sha256;
  std::optional<std::string> content_base64;  // for receivers only
  // true: content_base64 is the file sealed to the receivers' keys (docs/formats/
  // sealed-results.md); bytes and sha256 are those of the file inside.
  std::optional<bool> sealed;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("bytes", bytes);
    v.Required("sha256", sha256);
    v.Optional("content_base64", content_base64);
    v.Optional("sealed", sealed);
  }
};

struct JobRun {
  int64_t run_id = 0;
  std::string job_id;
  std::string status;  // "succeeded" | "failed" | "withheld"
  std::string reason;
  std::vector<std::string> receivers;
  std::optional<std::string> stdout_text;  // only when every input's owner allows logs
  std::optional<std::string> stderr_text;
  std::vector<JobOutput> outputs;
  int64_t wall_micros = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("run_id", run_id);
    v.Required("job_id", job_id);
    v.Required("status", status);
    v.Required("reason", reason);
    v.Required("receivers", receivers);
    v.Optional("stdout", stdout_text);
    v.Optional("stderr", stderr_text);
    v.Required("outputs", outputs);
    v.Required("wall_micros", wall_micros);
  }
};

// A run's limits (`job run --memory ...`); an absent one is the server's default. Out of bounds
// (64 MiB to 64 GiB of memory, 1 to 4096 processes, 16 to 65536 open files, 1 s to a day of CPU
// or wall time, 1 KiB to 64 GiB of output) is INVALID_ARGUMENT naming the limit.
struct JobLimits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> processes;
  std::optional<int64_t> open_files;
  std::optional<int64_t> cpu_seconds;
  std::optional<int64_t> wall_seconds;
  std::optional<int64_t> output_bytes;
  template <class V>
  void Visit(V& v) {
    v.Optional("memory_bytes", memory_bytes);
    v.Optional("processes", processes);
    v.Optional("open_files", open_files);
    v.Optional("cpu_seconds", cpu_seconds);
    v.Optional("wall_seconds", wall_seconds);
    v.Optional("output_bytes", output_bytes);
  }
};

struct RunJobRequest {
  std::string collaboration;
  std::string job_id;
  std::map<std::string, std::string> parameters;
  std::vector<std::string> receivers;  // empty: the caller
  std::optional<JobLimits> limits;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("job_id", job_id);
    v.Optional("parameters", parameters);
    v.Optional("receivers", receivers);
    v.Optional("limits", limits);
  }
};
struct JobRunResponse {
  JobRun run;
  template <class V>
  void Visit(V& v) {
    v.Required("run", run);
  }
};
using RunJobResponse = JobRunResponse;

struct ShowJobRunRequest {
  std::string collaboration;
  int64_t run_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("run_id", run_id);
  }
};
using ShowJobRunResponse = JobRunResponse;

// What every member sees of an asset: metadata, never bytes.
struct Asset {
  std::string name;
  std::string owner;
  std::string kind;  // "model" | "library" | "data"
  std::string description;
  int64_t bytes = 0;
  std::string sha256;
  std::vector<std::string> allowed_jobs;
  bool allow_job_logs = false;
  int64_t created_at = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("owner", owner);
    v.Required("kind", kind);
    v.Required("description", description);
    v.Required("bytes", bytes);
    v.Required("sha256", sha256);
    v.Required("allowed_jobs", allowed_jobs);
    v.Required("allow_job_logs", allow_job_logs);
    v.Required("created_at", created_at);
  }
};

struct RegisterAssetRequest {
  std::string collaboration;
  std::string name;
  std::string kind;
  std::string path;  // a file or folder of the caller's (over a server: under its data root)
  std::string description;
  bool allow_job_logs = false;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("name", name);
    v.Required("kind", kind);
    v.Required("path", path);
    v.Optional("description", description);
    v.Optional("allow_job_logs", allow_job_logs);
  }
};
struct RegisterAssetResponse {
  Asset asset;
  template <class V>
  void Visit(V& v) {
    v.Required("asset", asset);
  }
};

struct ListAssetsRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListAssetsResponse {
  std::vector<Asset> assets;
  template <class V>
  void Visit(V& v) {
    v.Required("assets", assets);
  }
};

// Output files' bytes on the wire.
std::string Base64Encode(std::string_view bytes);
// InvalidArgument when `text` is not base64.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace parley::api
