// The catalog's records of jobs (issue 12): immutable code bundles identified by the SHA-256 of
// their content, members' private assets (metadata; the bytes live in the home's assets folder)
// and each run of a job. The store keeps them as given; the service defines the bundle's JSON
// form, checks permissions and computes ids.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace parley::catalog {

struct JobRecord {
  std::string id;  // 64 lowercase hex: SHA-256 of the canonical bundle
  std::string collaboration;
  std::string name;
  std::string author;       // set from the actor by CreateJob
  std::string bundle_json;  // runtime, code, inputs, parameters (service/jobs.h)
  int64_t created_at = 0;
};

struct AssetRecord {
  std::string collaboration;
  std::string name;
  std::string owner;
  std::string kind;  // "model" | "library" | "data"
  std::string description;
  int64_t bytes = 0;
  std::string sha256;                  // of the file, or of a folder's listing of files and hashes
  std::string stored_path;             // under the home; shown to no one but its owner
  std::set<std::string> allowed_jobs;  // job ids its owner approved
  bool allow_job_logs = false;         // its owner lets runners see logs of jobs reading it
  int64_t created_at = 0;
};

struct JobRunRecord {
  int64_t id = 0;
  std::string collaboration;
  std::string job_id;
  std::string runner;
  std::vector<std::string> receivers;
  std::string parameters_json;
  std::string status;  // "succeeded" | "failed" | "withheld"
  std::string reason;  // why it failed or was withheld (names columns, never values)
  std::string logs_json;
  std::string outputs_json;  // [{"name", "bytes", "sha256", "path"}]
  int64_t created_at = 0;
  int64_t finished_at = 0;
};

}  // namespace parley::catalog
