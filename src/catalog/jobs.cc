// Jobs, assets and job runs (issue 12): plain records, each write audited in its
// collaboration's chain. Approving a job for a table is a change of the table's rule (tables.cc);
// approving it for an asset is kept with the asset here.
#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Transaction;
using internal::Write;

namespace {

constexpr const char* kJobColumns =
    "SELECT j.job_id, c.name, j.name, j.author, j.bundle_json, j.created_at FROM jobs j "
    "JOIN collaborations c ON c.id = j.collaboration_id WHERE c.name = ? ";

JobRecord ReadJob(const Statement& statement) {
  return {statement.Text(0), statement.Text(1), statement.Text(2),
          statement.Text(3), statement.Text(4), statement.Int(5)};
}

constexpr const char* kAssetColumns =
    "SELECT c.name, a.name, a.owner, a.kind, a.description, a.bytes, a.sha256, a.stored_path, "
    "a.allowed_jobs_json, a.allow_job_logs, a.created_at FROM assets a "
    "JOIN collaborations c ON c.id = a.collaboration_id WHERE c.name = ? ";

absl::StatusOr<AssetRecord> ReadAsset(const Statement& statement) {
  AssetRecord asset;
  asset.collaboration = statement.Text(0);
  asset.name = statement.Text(1);
  asset.owner = statement.Text(2);
  asset.kind = statement.Text(3);
  asset.description = statement.Text(4);
  asset.bytes = statement.Int(5);
  asset.sha256 = statement.Text(6);
  asset.stored_path = statement.Text(7);
  Json allowed = Json::parse(statement.Text(8), nullptr, false);
  if (!allowed.is_array()) return absl::InternalError("catalog: an asset's approvals are corrupt");
  for (const Json& id : allowed) {
    if (!id.is_string()) return absl::InternalError("catalog: an asset's approvals are corrupt");
    asset.allowed_jobs.insert(id.get<std::string>());
  }
  asset.allow_job_logs = statement.Bool(9);
  asset.created_at = statement.Int(10);
  return asset;
}

bool IsHexId(const std::string& id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

absl::Status Store::CreateJob(const JobRecord& job, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  if (!IsHexId(job.id)) {
    return absl::InvalidArgumentError("a job id is 64 lowercase hexadecimal characters");
  }
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, job.collaboration));
  sqlite3* db = write.db();
  PARLEY_RETURN_IF_ERROR(internal::GetMember(db, write.id(), job.collaboration, actor).status());
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement existing,
        Statement::Prepare(db, "SELECT 1 FROM jobs WHERE collaboration_id = ? AND job_id = ?"));
    PARLEY_RETURN_IF_ERROR(existing.Bind(write.id(), job.id));
    PARLEY_ASSIGN_OR_RETURN(bool found, existing.Step());
    if (found) {
      return absl::AlreadyExistsError(absl::StrCat("job ", job.id.substr(0, 12),
                                                   " already exists in collaboration ",
                                                   Quote(job.collaboration)));
    }
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "INSERT INTO jobs (collaboration_id, job_id, name, author, "
                               "bundle_json, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                               write.id(), job.id, job.name, actor, job.bundle_json, write.now()));
  Json details = {{"job_id", job.id}, {"name", job.name}};
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "job.create", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::vector<JobRecord>> Store::ListJobs(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_RETURN_IF_ERROR(internal::CollaborationId(db, collaboration).status());
  std::vector<JobRecord> jobs;
  {
    PARLEY_ASSIGN_OR_RETURN(Statement statement,
                            Statement::Prepare(db, absl::StrCat(kJobColumns, "ORDER BY j.id")));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      jobs.push_back(ReadJob(statement));
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return jobs;
}

absl::StatusOr<JobRecord> Store::GetJob(const std::string& collaboration,
                                        const std::string& id_or_prefix) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, ListJobs(collaboration));
  std::vector<JobRecord> matches;
  for (JobRecord& job : jobs) {
    if (!id_or_prefix.empty() && job.id.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
      matches.push_back(std::move(job));
    }
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("job ", Quote(id_or_prefix),
                                            " not found in collaboration ", Quote(collaboration)));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("job id prefix ", Quote(id_or_prefix), " is ambiguous; give more characters"));
  }
  return std::move(matches.front());
}

absl::Status Store::CreateAsset(const AssetRecord& asset, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, asset.collaboration));
  sqlite3* db = write.db();
  PARLEY_RETURN_IF_ERROR(internal::GetMember(db, write.id(), asset.collaboration, actor).status());
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement existing,
        Statement::Prepare(db, "SELECT 1 FROM assets WHERE collaboration_id = ? AND name = ?"));
    PARLEY_RETURN_IF_ERROR(existing.Bind(write.id(), asset.name));
    PARLEY_ASSIGN_OR_RETURN(bool found, existing.Step());
    if (found) {
      return absl::AlreadyExistsError(absl::StrCat("asset ", Quote(asset.name),
                                                   " already exists in collaboration ",
                                                   Quote(asset.collaboration)));
    }
  }
  Json allowed = asset.allowed_jobs;
  PARLEY_RETURN_IF_ERROR(
      Write(db,
            "INSERT INTO assets (collaboration_id, name, owner, kind, description, bytes, sha256, "
            "stored_path, allowed_jobs_json, allow_job_logs, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            write.id(), asset.name, actor, asset.kind, asset.description, asset.bytes, asset.sha256,
            asset.stored_path, allowed.dump(), asset.allow_job_logs, write.now()));
  Json details = {{"asset", asset.name},
                  {"kind", asset.kind},
                  {"bytes", asset.bytes},
                  {"sha256", asset.sha256},
                  {"allow_job_logs", asset.allow_job_logs}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "asset.register", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::vector<AssetRecord>> Store::ListAssets(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_RETURN_IF_ERROR(internal::CollaborationId(db, collaboration).status());
  std::vector<AssetRecord> assets;
  {
    PARLEY_ASSIGN_OR_RETURN(Statement statement,
                            Statement::Prepare(db, absl::StrCat(kAssetColumns, "ORDER BY a.name")));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      PARLEY_ASSIGN_OR_RETURN(AssetRecord asset, ReadAsset(statement));
      assets.push_back(std::move(asset));
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return assets;
}

absl::StatusOr<AssetRecord> Store::GetAsset(const std::string& collaboration,
                                            const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<AssetRecord> assets, ListAssets(collaboration));
  for (AssetRecord& asset : assets) {
    if (asset.name == name) return std::move(asset);
  }
  return absl::NotFoundError(
      absl::StrCat("asset ", Quote(name), " not found in collaboration ", Quote(collaboration)));
}

absl::Status Store::SetAssetApproval(const std::string& collaboration, const std::string& name,
                                     const std::string& job_id, bool approve,
                                     const std::string& actor) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  PARLEY_RETURN_IF_ERROR(write.RequireOpen());
  sqlite3* db = write.db();
  std::set<std::string> allowed;
  {
    PARLEY_ASSIGN_OR_RETURN(Statement statement,
                            Statement::Prepare(db, absl::StrCat(kAssetColumns, "AND a.name = ?")));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration, name));
    PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("asset ", Quote(name), " not found in collaboration ",
                                              Quote(collaboration)));
    }
    PARLEY_ASSIGN_OR_RETURN(AssetRecord asset, ReadAsset(statement));
    allowed = std::move(asset.allowed_jobs);
  }
  if (approve ? !allowed.insert(job_id).second : allowed.erase(job_id) == 0) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id.substr(0, 12),
                                                      approve ? " is already" : " is not",
                                                      " approved for asset ", Quote(name)));
  }
  Json json = allowed;
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "UPDATE assets SET allowed_jobs_json = ? WHERE collaboration_id = ? "
                               "AND name = ?",
                               json.dump(), write.id(), name));
  Json details = {{"asset", name}, {"job_id", job_id}};
  PARLEY_RETURN_IF_ERROR(write.Append(actor, approve ? "asset.approve" : "asset.revoke", details,
                                      PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<int64_t> Store::RecordJobRun(const JobRunRecord& run) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, run.collaboration));
  PARLEY_RETURN_IF_ERROR(write.RequireOpen());
  sqlite3* db = write.db();
  Json receivers = run.receivers;
  PARLEY_RETURN_IF_ERROR(
      Write(db,
            "INSERT INTO job_runs (collaboration_id, job_id, runner, receivers_json, "
            "parameters_json, status, reason, logs_json, outputs_json, created_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            write.id(), run.job_id, run.runner, receivers.dump(), run.parameters_json, run.status,
            run.reason, run.logs_json, run.outputs_json, run.created_at, write.now()));
  int64_t id = sqlite3_last_insert_rowid(db);
  Json details = {
      {"run_id", id}, {"job_id", run.job_id}, {"receivers", run.receivers}, {"status", run.status}};
  PARLEY_RETURN_IF_ERROR(write.Append(run.runner, "job.run", details, PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return id;
}

absl::StatusOr<JobRunRecord> Store::GetJobRun(const std::string& collaboration, int64_t id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  JobRunRecord run;
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(db,
                           "SELECT r.id, c.name, r.job_id, r.runner, r.receivers_json, "
                           "r.parameters_json, r.status, r.reason, r.logs_json, r.outputs_json, "
                           "r.created_at, r.finished_at FROM job_runs r JOIN collaborations c ON "
                           "c.id = r.collaboration_id WHERE c.name = ? AND r.id = ?"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration, id));
    PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat("job run ", id, " not found in collaboration ", Quote(collaboration)));
    }
    run.id = statement.Int(0);
    run.collaboration = statement.Text(1);
    run.job_id = statement.Text(2);
    run.runner = statement.Text(3);
    Json receivers = Json::parse(statement.Text(4), nullptr, false);
    if (!receivers.is_array()) return absl::InternalError("catalog: a job run is corrupt");
    for (const Json& receiver : receivers) {
      if (receiver.is_string()) run.receivers.push_back(receiver.get<std::string>());
    }
    run.parameters_json = statement.Text(5);
    run.status = statement.Text(6);
    run.reason = statement.Text(7);
    run.logs_json = statement.Text(8);
    run.outputs_json = statement.Text(9);
    run.created_at = statement.Int(10);
    run.finished_at = statement.Int(11);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return run;
}

}  // namespace parley::catalog
