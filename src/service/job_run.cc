// Running a job (issue 12; service/jobs.h): check, export, sandbox, guard, deliver.
//
// Everything that can refuse a run is checked before anything is exported: the job hashes to its
// id, the runner has `run_jobs`, every input's owner approved this id, every declared column is
// one its table allows, the receivers may receive. Then only the declared columns are exported
// (through the same locked-down engine sessions queries use) into a run folder outside the home,
// assets are copied beside them, and the code runs in the sandbox. What it leaves in /out is
// collected without following links, checked by the output guard, stored under the home for the
// receivers and returned to the runner as far as it may see it.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "engine/result_writer.h"
#include "identity/token.h"
#include "results/sealed.h"
#include "service/job_internal.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
using namespace internal;
namespace fs = std::filesystem;

namespace {

const char* const kOutputExtensions[] = {".csv", ".parquet", ".json", ".png", ".svg", ".html"};

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

absl::Status WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::DataLossError(absl::StrCat("cannot read '", path.string(), "'"));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> Argv(JobRuntime runtime, const std::string& code_name) {
  std::string code = "/in/" + code_name;
  switch (runtime) {
    case JobRuntime::kPython:
      return {"/usr/bin/python3", code};
    case JobRuntime::kR:
      return {"/usr/bin/Rscript", "--vanilla", code};
    case JobRuntime::kNotebook: {
      // The executed notebook, as HTML, is an output.
      std::string stem = code_name.substr(0, code_name.size() - std::string(".ipynb").size());
      return {"/usr/bin/python3",
              "-m",
              "nbconvert",
              "--to",
              "html",
              "--execute",
              "--ExecutePreprocessor.timeout=-1",
              "--output-dir",
              "/out",
              "--output",
              stem,
              code};
    }
  }
  return {};
}

std::string Amount(int64_t value, const std::string& unit) {
  if (unit != "bytes" || value <= 0)
    return unit.empty() ? std::to_string(value) : absl::StrCat(value, " ", unit);
  if (value % (int64_t{1} << 30) == 0) return absl::StrCat(value >> 30, " GiB");
  if (value % (int64_t{1} << 20) == 0) return absl::StrCat(value >> 20, " MiB");
  if (value % (int64_t{1} << 10) == 0) return absl::StrCat(value >> 10, " KiB");
  return absl::StrCat(value, " bytes");
}

// The sandbox's limits for a run: the service's, with what the runner asked for in their place.
absl::StatusOr<jobs::SandboxLimits> LimitsOf(jobs::SandboxLimits limits,
                                             const JobLimitsRequest& requested) {
  for (const JobLimitBound& bound : kJobLimitBounds) {
    const std::optional<int64_t>& value = requested.*bound.field;
    if (value && (*value < bound.minimum || *value > bound.maximum)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "job limit ", bound.name, " must be between ", Amount(bound.minimum, bound.unit), " and ",
          Amount(bound.maximum, bound.unit), " (got ", Amount(*value, bound.unit), ")"));
    }
  }
  if (requested.memory_bytes) limits.memory_bytes = *requested.memory_bytes;
  if (requested.processes) limits.processes = *requested.processes;
  if (requested.open_files) limits.open_files = *requested.open_files;
  if (requested.cpu_seconds) limits.cpu_seconds = *requested.cpu_seconds;
  if (requested.wall_seconds) limits.wall_milliseconds = *requested.wall_seconds * 1000;
  if (requested.output_bytes) {
    limits.output_bytes = *requested.output_bytes;
    limits.file_bytes = *requested.output_bytes;
  }
  return limits;
}

JobRunView ViewOfRun(const catalog::JobRunRecord& run, bool receives, bool logs) {
  JobRunView view;
  view.run_id = run.id;
  view.job_id = run.job_id;
  view.status = run.status;
  view.reason = run.reason;
  view.receivers = run.receivers;
  Json stored_logs = Json::parse(run.logs_json, nullptr, false);
  if (logs && stored_logs.is_object()) {
    view.stdout_text = stored_logs.value("stdout", "");
    view.stderr_text = stored_logs.value("stderr", "");
  }
  Json outputs = Json::parse(run.outputs_json, nullptr, false);
  if (outputs.is_array()) {
    for (const Json& output : outputs) {
      JobOutputView file;
      file.name = output.value("name", "");
      file.bytes = output.value("bytes", int64_t{0});
      file.sha256 = output.value("sha256", "");
      file.sealed = output.value("sealed", false);
      if (receives) {
        absl::StatusOr<std::string> content = ReadFile(output.value("path", ""));
        // A sealed file is authenticated when its receiver opens it (and its sha256 checked).
        if (content.ok() && (file.sealed || crypto::Sha256Hex(*content) == file.sha256)) {
          file.content = *content;
        }
      }
      view.outputs.push_back(std::move(file));
    }
  }
  return view;
}

}  // namespace

absl::StatusOr<JobRunView> Service::RunJob(const identity::Caller& caller,
                                           const RunJobRequest& request) {
  Impl& impl = *impl_;
  const std::string& collaboration = request.collaboration;
  PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<const catalog::PolicySnapshot> records,
                          impl.store->SharedPolicySnapshot(collaboration));
  PARLEY_RETURN_IF_ERROR(impl.Require(caller, records->collaboration, identity::Action::kRunJob));
  PARLEY_ASSIGN_OR_RETURN(catalog::JobRecord record,
                          impl.store->GetJob(collaboration, request.job_id));
  PARLEY_ASSIGN_OR_RETURN(LoadedJob job, LoadJob(record));
  const std::string short_id = record.id.substr(0, 12);
  std::vector<catalog::Table> tables =
      Impl::TablesOfActiveMembers(records->collaboration, records->tables);
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::AssetRecord> assets,
                          impl.store->ListAssets(collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      std::vector<std::string> receivers,
      identity::Receivers(caller, RoomOf(records->collaboration), request.receivers));

  // Every check before anything is exported.
  struct Export {
    const catalog::Table* table;
    policy::Rule rule;
    std::vector<std::string> columns;  // as the table spells them
  };
  std::vector<Export> exports;
  bool logs_allowed = true;
  for (const JobInput& input : job.bundle.inputs) {
    const catalog::Table* table = nullptr;
    for (const catalog::Table& candidate : tables) {
      if (candidate.name == input.table) table = &candidate;
    }
    if (table == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", short_id, " reads table '", input.table, "', which is not in the collaboration"));
    }
    std::optional<policy::Rule> rule;
    if (table->rule_json) {
      PARLEY_ASSIGN_OR_RETURN(rule, policy::ParseRule(*table->rule_json, table->allowed_columns));
    }
    if (!TableApprovesJob(rule, record.id, record.author)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", short_id, " is not approved for table '", table->name,
                       "' by its owner '", table->owner, "' (its custom rule's allowed_jobs)"));
    }
    Export export_{table, *rule, {}};
    for (const std::string& column : input.columns) {
      auto allowed = std::find_if(
          table->allowed_columns.begin(), table->allowed_columns.end(),
          [&](const std::string& name) { return absl::EqualsIgnoreCase(name, column); });
      if (allowed == table->allowed_columns.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat("job ", short_id, " asks for column '", column, "' of table '",
                         table->name, "', which the table does not allow; nothing ran"));
      }
      export_.columns.push_back(*allowed);
    }
    const std::set<std::string>& allowed_receivers = rule->custom.allowed_result_receivers;
    for (const std::string& receiver : receivers) {
      if (!allowed_receivers.empty() && !allowed_receivers.contains(receiver)) {
        return absl::FailedPreconditionError(
            absl::StrCat("member '", receiver, "' may not receive results over table '",
                         table->name, "' (its rule's allowed_result_receivers)"));
      }
    }
    logs_allowed = logs_allowed && rule->custom.allow_job_logs;
    exports.push_back(std::move(export_));
  }
  std::vector<const catalog::AssetRecord*> used_assets;
  for (const std::string& name : job.bundle.assets) {
    auto asset = std::find_if(assets.begin(), assets.end(),
                              [&](const catalog::AssetRecord& a) { return a.name == name; });
    if (asset == assets.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", short_id, " reads asset '", name, "', which no longer exists"));
    }
    if (!asset->allowed_jobs.contains(record.id)) {
      return absl::FailedPreconditionError(absl::StrCat("job ", short_id,
                                                        " is not approved for asset '", name,
                                                        "' by its owner '", asset->owner, "'"));
    }
    logs_allowed = logs_allowed && asset->allow_job_logs;
    used_assets.push_back(&*asset);
  }
  PARLEY_ASSIGN_OR_RETURN(jobs::SandboxLimits limits,
                          LimitsOf(impl.options.job_limits, request.limits));
  // Parameter values, checked against their types; the job gets them as text.
  PARLEY_RETURN_IF_ERROR(ParameterValues(job.parameters, request.parameters).status());
  Json parameters = Json::object();
  for (const TemplateParameter& parameter : job.parameters) {
    auto given = request.parameters.find(parameter.name);
    parameters[parameter.name] =
        given != request.parameters.end() ? given->second : parameter.default_value.value_or("");
  }

  // The run folder, outside the home, and the inputs.
  std::string runs_folder = impl.options.job_runs_folder.empty()
                                ? (fs::temp_directory_path() / "parley-jobs").string()
                                : impl.options.job_runs_folder;
  PARLEY_ASSIGN_OR_RETURN(jobs::RunDirectory directory, jobs::RunDirectory::Create(runs_folder));
  auto loaded = std::make_shared<Impl::LoadedPolicy>();
  loaded->records = records;
  loaded->tables = tables;
  Impl::QueryContext context(loaded);
  for (const catalog::Member& member : records->collaboration.members) {
    if (member.name == caller.member()) context.member = member;
  }
  std::vector<GuardedColumn> guarded;
  for (const Export& input : exports) {
    Explanation explanation;
    explanation.tables = {input.table->name};
    explanation.rendered_sql = "SELECT ";
    for (size_t i = 0; i < input.columns.size(); ++i) {
      absl::StrAppend(&explanation.rendered_sql, i == 0 ? "" : ", ",
                      QuoteIdentifier(input.columns[i]));
    }
    absl::StrAppend(&explanation.rendered_sql, " FROM ", QuoteIdentifier(input.table->name));
    PARLEY_ASSIGN_OR_RETURN(engine::ResultTable rows, impl.Execute(context, explanation));
    PARLEY_RETURN_IF_ERROR(engine::WriteResult(
        rows, directory.input() + "/" + input.table->name + ".csv", engine::OutputFormat::kCsv,
        /*replace=*/true, engine::Sync::kNo));
    // The guard protects an owner's identifiers from others: a run whose only receiver is the
    // table's owner may give it back its own values.
    bool others_receive = std::any_of(receivers.begin(), receivers.end(),
                                      [&](const auto& r) { return r != input.table->owner; });
    if (!others_receive) continue;
    std::set<std::string> columns = GuardedColumnsOf(input.rule);
    for (size_t i = 0; i < input.columns.size(); ++i) {
      if (!columns.contains(input.columns[i])) continue;
      GuardedColumn column{input.table->name, input.columns[i], {}};
      for (const auto& row : rows.rows) {
        if (row[i].has_value() && !row[i]->empty()) column.values.insert(*row[i]);
      }
      guarded.push_back(std::move(column));
    }
  }
  std::error_code error;
  std::vector<std::string> python_path;
  for (const catalog::AssetRecord* asset : used_assets) {
    fs::path to = fs::path(directory.assets()) / asset->name;
    fs::copy(asset->stored_path, to, fs::copy_options::recursive, error);
    if (error) {
      return absl::InternalError(absl::StrCat("cannot prepare asset '", asset->name, "'"));
    }
    if (fs::is_directory(to)) python_path.push_back("/assets/" + asset->name);
  }
  PARLEY_RETURN_IF_ERROR(
      WriteFile(fs::path(directory.input()) / job.bundle.code_name, job.bundle.code));
  PARLEY_RETURN_IF_ERROR(
      WriteFile(fs::path(directory.input()) / "parameters.json", parameters.dump()));
  PARLEY_RETURN_IF_ERROR(directory.SealInputs());

  jobs::SandboxRequest sandbox;
  sandbox.argv = Argv(job.runtime, job.bundle.code_name);
  sandbox.limits = limits;
  for (const auto& [name, value] : parameters.items()) {
    std::string variable = "PARLEY_PARAM_" + name;
    for (char& c : variable) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    sandbox.environment[variable] = value.get<std::string>();
  }
  if (!python_path.empty()) {
    std::string joined;
    for (const std::string& path : python_path)
      absl::StrAppend(&joined, joined.empty() ? "" : ":", path);
    sandbox.environment["PYTHONPATH"] = joined;
  }
  int64_t started = impl.options.clock ? impl.options.clock() : 0;
  PARLEY_ASSIGN_OR_RETURN(jobs::SandboxResult result, jobs::RunSandboxed(directory, sandbox));

  catalog::JobRunRecord run;
  run.collaboration = collaboration;
  run.job_id = record.id;
  run.runner = caller.member();
  run.receivers = receivers;
  run.parameters_json = parameters.dump();
  run.created_at = started;
  run.logs_json = Json{{"stdout", result.stdout_text}, {"stderr", result.stderr_text}}.dump();
  run.outputs_json = "[]";
  std::vector<jobs::OutputFile> outputs;
  if (!result.succeeded()) {
    run.status = "failed";
    run.reason = result.reason;
  } else {
    absl::StatusOr<std::vector<jobs::OutputFile>> collected =
        jobs::CollectOutputs(directory.output(), sandbox.limits.output_bytes);
    if (!collected.ok()) {
      run.status = "failed";
      run.reason = std::string(collected.status().message());
    } else {
      outputs = *std::move(collected);
      run.status = "succeeded";
      for (const jobs::OutputFile& file : outputs) {
        bool known = std::any_of(std::begin(kOutputExtensions), std::end(kOutputExtensions),
                                 [&](const char* extension) {
                                   return absl::EndsWithIgnoreCase(file.relative_path, extension);
                                 });
        if (!known) {
          run.status = "failed";
          run.reason = absl::StrCat("output '", file.relative_path,
                                    "' is not CSV, Parquet, JSON, PNG, SVG or HTML");
          break;
        }
      }
    }
    if (run.status == "succeeded") {
      // Parquet is scanned cell by cell, as text.
      std::vector<jobs::OutputFile> scanned = outputs;
      for (jobs::OutputFile& file : scanned) {
        if (!absl::EndsWithIgnoreCase(file.relative_path, ".parquet")) continue;
        absl::StatusOr<engine::ResultTable> table =
            engine::ReadParquetResult(directory.output() + "/" + file.relative_path);
        if (!table.ok()) {
          run.status = "failed";
          run.reason = absl::StrCat("output '", file.relative_path, "' is not a Parquet file");
          break;
        }
        file.bytes.clear();
        for (const auto& row : table->rows) {
          for (const auto& cell : row) absl::StrAppend(&file.bytes, cell.value_or(""), "\n");
        }
      }
      std::string withheld =
          run.status == "succeeded" ? GuardOutputs(scanned, guarded) : std::string();
      if (!withheld.empty()) {
        run.status = "withheld";
        run.reason = withheld;
      }
    }
  }
  if (run.status == "succeeded") {
    // Kept under the home for the receivers, like query results.
    fs::path folder = impl.home / "job-results" / identity::IssueToken("run").id;
    fs::create_directories(folder, error);
    fs::permissions(impl.home / "job-results", fs::perms::owner_all, error);
    // Sealed, like query results, when a receiver registered a key: each file is sealed in
    // memory and written once, so the home never holds an output in the clear.
    PARLEY_ASSIGN_OR_RETURN(auto keys, impl.store->GetMemberKeys(receivers));
    std::vector<std::string> public_keys;
    for (const auto& [member, key] : keys) public_keys.push_back(key);
    Json stored = Json::array();
    for (size_t i = 0; i < outputs.size(); ++i) {
      fs::path path =
          folder / absl::StrCat(i, "-", fs::path(outputs[i].relative_path).filename().string());
      Json entry = {{"name", outputs[i].relative_path},
                    {"bytes", outputs[i].bytes.size()},
                    {"sha256", crypto::Sha256Hex(outputs[i].bytes)}};
      if (public_keys.empty()) {
        PARLEY_RETURN_IF_ERROR(WriteFile(path, outputs[i].bytes));
      } else {
        PARLEY_ASSIGN_OR_RETURN(std::string sealed, results::Seal(outputs[i].bytes, public_keys));
        path += ".sealed";
        PARLEY_RETURN_IF_ERROR(WriteFile(path, sealed));
        entry["sealed"] = true;
      }
      entry["path"] = path.string();
      stored.push_back(std::move(entry));
    }
    run.outputs_json = stored.dump();
  } else if (!logs_allowed) {
    // A failed run's reason can only be its exit status or a limit: the sandbox's own words.
  }
  PARLEY_ASSIGN_OR_RETURN(run.id, impl.store->RecordJobRun(run));
  JobRunView view = ViewOfRun(run, identity::Receives(caller, receivers), logs_allowed);
  view.wall_microseconds = result.wall_microseconds;
  return view;
}

absl::StatusOr<JobRunView> Service::JobRun(const identity::Caller& caller,
                                           const std::string& collaboration, int64_t run_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::JobRunRecord run,
                          impl_->store->GetJobRun(collaboration, run_id));
  bool receives = identity::Receives(caller, run.receivers);
  if (run.runner != caller.member() && !receives) {
    // Word for word what a run that does not exist answers: a member learns nothing of others'
    // runs, not even that they exist.
    return absl::NotFoundError(
        absl::StrCat("job run ", run_id, " not found in collaboration '", collaboration, "'"));
  }
  // Logs as the run's inputs allow now (an owner who withdraws the permission withdraws it).
  bool logs = false;
  absl::StatusOr<catalog::JobRecord> record = impl_->store->GetJob(collaboration, run.job_id);
  if (record.ok()) {
    absl::StatusOr<LoadedJob> job = LoadJob(*record);
    if (job.ok()) {
      logs = true;
      PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
      PARLEY_ASSIGN_OR_RETURN(auto assets, impl_->store->ListAssets(collaboration));
      for (const JobInput& input : job->bundle.inputs) {
        bool allows = false;
        for (const catalog::Table& table : tables) {
          if (table.name != input.table || !table.rule_json) continue;
          absl::StatusOr<policy::Rule> rule =
              policy::ParseRule(*table.rule_json, table.allowed_columns);
          allows =
              rule.ok() && rule->kind == policy::RuleKind::kCustom && rule->custom.allow_job_logs;
        }
        logs = logs && allows;
      }
      for (const std::string& name : job->bundle.assets) {
        bool allows = false;
        for (const catalog::AssetRecord& asset : assets) {
          if (asset.name == name) allows = asset.allow_job_logs;
        }
        logs = logs && allows;
      }
    }
  }
  return ViewOfRun(run, receives, logs);
}

}  // namespace parley::service
