// What the job use cases (jobs.cc, job_run.cc, job_guard.cc, assets.cc) share inside the
// service: a stored job read back and checked against its id, and its approvals.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "catalog/job_records.h"
#include "catalog/records.h"
#include "engine/engine.h"
#include "jobs/sandbox.h"
#include "policy/rule.h"
#include "service/jobs.h"

namespace parley::service::internal {

struct LoadedJob {
  catalog::JobRecord record;
  NewJob bundle;  // collaboration and name from the record
  JobRuntime runtime = JobRuntime::kPython;
  std::vector<TemplateParameter> parameters;
};

// The bundle's parts from its stored JSON, checked to hash to the record's id: DataLoss when it
// does not (the job was altered after it was created; it never runs).
absl::StatusOr<LoadedJob> LoadJob(const catalog::JobRecord& record);

// Whether a table's rule lets job `job_id` by `author` read it.
bool TableApprovesJob(const std::optional<policy::Rule>& rule, const std::string& job_id,
                      const std::string& author);

// The view of a loaded job with its approvals, given the collaboration's tables and assets.
JobView ViewOfJob(const LoadedJob& job, const std::vector<catalog::Table>& tables,
                  const std::vector<catalog::AssetRecord>& assets);

// An input's guarded values: those of its columns a job's outputs must never contain.
struct GuardedColumn {
  std::string table;
  std::string column;
  std::set<std::string> values;
};

// The columns of a table's rule that outputs must not contain: never_output, the custom rule's
// disallowed_output_columns and identity columns.
std::set<std::string> GuardedColumnsOf(const policy::Rule& rule);

// "" when no output contains a guarded value, else the reason every output is withheld (names
// the output file and the column, never the value).
std::string GuardOutputs(const std::vector<jobs::OutputFile>& outputs,
                         const std::vector<GuardedColumn>& guarded);

}  // namespace parley::service::internal
