// Jobs: create, show, list, approve and revoke (issue 12; service/jobs.h). Running them is
// job_run.cc.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "service/job_internal.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
using namespace internal;

namespace {

constexpr size_t kMaxCodeBytes = 4 << 20;

absl::StatusOr<JobRuntime> RuntimeOf(const std::string& code_name) {
  if (absl::EndsWith(code_name, ".py")) return JobRuntime::kPython;
  if (absl::EndsWith(code_name, ".R") || absl::EndsWith(code_name, ".r")) return JobRuntime::kR;
  if (absl::EndsWith(code_name, ".ipynb")) return JobRuntime::kNotebook;
  return absl::InvalidArgumentError(
      absl::StrCat("job code '", code_name, "' must be a .py or .R script or a .ipynb notebook"));
}

bool SafeFileName(const std::string& name) {
  if (name.empty() || name.size() > 100 || name[0] == '.') return false;
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
         std::string::npos;
}

}  // namespace

std::string JobRuntimeName(JobRuntime runtime) {
  switch (runtime) {
    case JobRuntime::kPython:
      return "python";
    case JobRuntime::kR:
      return "r";
    case JobRuntime::kNotebook:
      return "notebook";
  }
  return "unknown";
}

bool JobView::runnable() const {
  if (altered) return false;
  for (const Approval& approval : approvals) {
    if (!approval.approved) return false;
  }
  return true;
}

std::string JobBundleJson(const NewJob& job, JobRuntime runtime,
                          const std::vector<TemplateParameter>& parameters) {
  Json inputs = Json::array();
  for (const JobInput& input : job.inputs) {
    inputs.push_back({{"table", input.table}, {"columns", input.columns}});
  }
  Json bundle = {{"runtime", JobRuntimeName(runtime)},
                 {"code_name", job.code_name},
                 {"code", job.code},
                 {"inputs", inputs},
                 {"assets", job.assets},
                 {"parameters", Json::parse(ParametersJson(parameters))}};
  return bundle.dump();
}

absl::StatusOr<std::string> NotebookText(const std::string& notebook) {
  Json json = Json::parse(notebook, nullptr, false);
  if (!json.is_object() || !json.contains("cells") || !json["cells"].is_array()) {
    return absl::InvalidArgumentError("the notebook is not a Jupyter notebook (no cells)");
  }
  std::string text;
  int number = 0;
  for (const Json& cell : json["cells"]) {
    ++number;
    std::string type = cell.value("cell_type", "unknown");
    absl::StrAppend(&text, "# [", type, " ", number, "]\n");
    const Json source = cell.value("source", Json());
    if (source.is_string()) {
      text += source.get<std::string>();
    } else if (source.is_array()) {
      for (const Json& line : source) {
        if (line.is_string()) text += line.get<std::string>();
      }
    }
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += '\n';
  }
  return text;
}

namespace internal {

absl::StatusOr<LoadedJob> LoadJob(const catalog::JobRecord& record) {
  absl::Status altered = absl::DataLossError(
      absl::StrCat("job ", record.id.substr(0, 12),
                   " was altered after it was created: its content no longer matches its id"));
  if (crypto::Sha256Hex(record.bundle_json) != record.id) return altered;
  Json bundle = Json::parse(record.bundle_json, nullptr, false);
  if (!bundle.is_object()) return altered;
  LoadedJob job;
  job.record = record;
  try {
    job.bundle.collaboration = record.collaboration;
    job.bundle.name = record.name;
    job.bundle.code_name = bundle.at("code_name").get<std::string>();
    job.bundle.code = bundle.at("code").get<std::string>();
    for (const Json& input : bundle.at("inputs")) {
      job.bundle.inputs.push_back({input.at("table").get<std::string>(),
                                   input.at("columns").get<std::vector<std::string>>()});
    }
    job.bundle.assets = bundle.at("assets").get<std::vector<std::string>>();
    PARLEY_ASSIGN_OR_RETURN(job.parameters, ParametersFromJson(bundle.at("parameters").dump()));
  } catch (const Json::exception&) {
    return altered;
  }
  PARLEY_ASSIGN_OR_RETURN(job.runtime, RuntimeOf(job.bundle.code_name));
  return job;
}

bool TableApprovesJob(const std::optional<policy::Rule>& rule, const std::string& job_id,
                      const std::string& author) {
  if (!rule || rule->kind != policy::RuleKind::kCustom) return false;
  if (rule->custom.allowed_jobs.contains(job_id)) return true;
  return rule->custom.any_job && rule->custom.allowed_job_providers.contains(author);
}

JobView ViewOfJob(const LoadedJob& job, const std::vector<catalog::Table>& tables,
                  const std::vector<catalog::AssetRecord>& assets) {
  JobView view;
  view.id = job.record.id;
  view.name = job.record.name;
  view.author = job.record.author;
  view.runtime = JobRuntimeName(job.runtime);
  view.code_name = job.bundle.code_name;
  view.code = job.bundle.code;
  view.code_text = job.bundle.code;
  if (job.runtime == JobRuntime::kNotebook) {
    absl::StatusOr<std::string> text = NotebookText(job.bundle.code);
    if (text.ok()) view.code_text = *text;
  }
  view.inputs = job.bundle.inputs;
  view.assets = job.bundle.assets;
  view.parameters = job.parameters;
  view.created_at = job.record.created_at;
  for (const JobInput& input : job.bundle.inputs) {
    JobView::Approval approval{"table", input.table, "", false};
    for (const catalog::Table& table : tables) {
      if (table.name != input.table) continue;
      approval.owner = table.owner;
      std::optional<policy::Rule> rule;
      if (table.rule_json) {
        absl::StatusOr<policy::Rule> parsed =
            policy::ParseRule(*table.rule_json, table.allowed_columns);
        if (parsed.ok()) rule = *std::move(parsed);
      }
      approval.approved = TableApprovesJob(rule, job.record.id, job.record.author);
    }
    view.approvals.push_back(std::move(approval));
  }
  for (const std::string& name : job.bundle.assets) {
    JobView::Approval approval{"asset", name, "", false};
    for (const catalog::AssetRecord& asset : assets) {
      if (asset.name != name) continue;
      approval.owner = asset.owner;
      approval.approved = asset.allowed_jobs.contains(job.record.id);
    }
    view.approvals.push_back(std::move(approval));
  }
  return view;
}

}  // namespace internal

absl::StatusOr<JobView> Service::CreateJob(const identity::Caller& caller, const NewJob& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kCreateTemplate));
  if (request.name.empty() || request.name.size() > 200) {
    return absl::InvalidArgumentError("a job needs a name of 1 to 200 characters");
  }
  if (!SafeFileName(request.code_name)) {
    return absl::InvalidArgumentError(
        "a job's code file name is 1 to 100 letters, digits, '_', '-' or '.', not starting with "
        "'.'");
  }
  PARLEY_ASSIGN_OR_RETURN(JobRuntime runtime, RuntimeOf(request.code_name));
  if (request.code.size() > kMaxCodeBytes) {
    return absl::InvalidArgumentError("a job's code is at most 4 MiB");
  }
  if (runtime == JobRuntime::kNotebook) PARLEY_RETURN_IF_ERROR(NotebookText(request.code).status());
  if (request.inputs.empty() && request.assets.empty()) {
    return absl::InvalidArgumentError("a job declares at least one input table or asset");
  }
  std::vector<TemplateParameter> parameters;
  for (const std::string& spec : request.parameter_specs) {
    PARLEY_ASSIGN_OR_RETURN(TemplateParameter parameter, ParseParameterSpec(spec));
    for (const TemplateParameter& earlier : parameters) {
      if (earlier.name == parameter.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", parameter.name, "' is declared twice"));
      }
    }
    parameters.push_back(std::move(parameter));
  }
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(request.collaboration));
  std::set<std::string> seen;
  for (const JobInput& input : request.inputs) {
    if (!seen.insert(input.table).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("table '", input.table, "' is declared twice as an input"));
    }
    bool known = std::any_of(tables.begin(), tables.end(),
                             [&](const catalog::Table& t) { return t.name == input.table; });
    if (!known) {
      return absl::NotFoundError(absl::StrCat(
          "table '", input.table, "' not found in collaboration '", request.collaboration, "'"));
    }
    if (input.columns.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input table '", input.table, "' declares no columns"));
    }
    std::set<std::string> columns(input.columns.begin(), input.columns.end());
    if (columns.size() != input.columns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input table '", input.table, "' declares a column twice"));
    }
  }
  for (const std::string& asset : request.assets) {
    PARLEY_RETURN_IF_ERROR(impl_->store->GetAsset(request.collaboration, asset).status());
    if (!seen.insert("asset\n" + asset).second) {
      return absl::InvalidArgumentError(absl::StrCat("asset '", asset, "' is declared twice"));
    }
  }
  catalog::JobRecord record;
  record.bundle_json = JobBundleJson(request, runtime, parameters);
  record.id = crypto::Sha256Hex(record.bundle_json);
  record.collaboration = request.collaboration;
  record.name = request.name;
  PARLEY_RETURN_IF_ERROR(impl_->store->CreateJob(record, caller.member()));
  return ShowJob(caller, request.collaboration, record.id);
}

absl::StatusOr<JobView> Service::ShowJob(const identity::Caller& caller,
                                         const std::string& collaboration,
                                         const std::string& job_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::JobRecord record, impl_->store->GetJob(collaboration, job_id));
  PARLEY_ASSIGN_OR_RETURN(LoadedJob job, LoadJob(record));
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto assets, impl_->store->ListAssets(collaboration));
  return ViewOfJob(job, tables, assets);
}

absl::StatusOr<std::vector<JobView>> Service::ListJobs(const identity::Caller& caller,
                                                       const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto records, impl_->store->ListJobs(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto assets, impl_->store->ListAssets(collaboration));
  std::vector<JobView> views;
  for (const catalog::JobRecord& record : records) {
    absl::StatusOr<LoadedJob> job = LoadJob(record);
    if (!job.ok()) {
      // One tampered job must not hide the others: listed as altered, never run.
      JobView altered;
      altered.id = record.id;
      altered.name = record.name;
      altered.author = record.author;
      altered.created_at = record.created_at;
      altered.altered = true;
      views.push_back(std::move(altered));
      continue;
    }
    views.push_back(ViewOfJob(*job, tables, assets));
  }
  return views;
}

absl::StatusOr<JobView> Service::ApproveJob(const identity::Caller& caller,
                                            const std::string& collaboration,
                                            const std::string& job_id, const std::string& input,
                                            bool approve) {
  {
    // The rule is read, edited and written back under the store's lock, as for templates.
    auto store_lock = impl_->store.Lock();
    PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
    PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
    PARLEY_ASSIGN_OR_RETURN(catalog::JobRecord record, impl_->store->GetJob(collaboration, job_id));
    PARLEY_ASSIGN_OR_RETURN(LoadedJob job, LoadJob(record));
    const std::string& actor = caller.member();
    bool reads_table = std::any_of(job.bundle.inputs.begin(), job.bundle.inputs.end(),
                                   [&](const JobInput& i) { return i.table == input; });
    bool reads_asset = std::find(job.bundle.assets.begin(), job.bundle.assets.end(), input) !=
                       job.bundle.assets.end();
    if (reads_table) {
      PARLEY_ASSIGN_OR_RETURN(catalog::Table table, impl_->store->GetTable(collaboration, input));
      PARLEY_RETURN_IF_ERROR(impl_->Require(
          caller, found,
          approve ? identity::Action::kApproveTemplate : identity::Action::kRevokeTemplate,
          {.table = input, .table_owner = table.owner}));
      std::optional<policy::Rule> rule;
      if (table.rule_json) {
        PARLEY_ASSIGN_OR_RETURN(rule, policy::ParseRule(*table.rule_json, table.allowed_columns));
      }
      if (!rule || rule->kind != policy::RuleKind::kCustom || rule->custom.derived_from) {
        return absl::FailedPreconditionError(absl::StrCat(
            "table '", input, "' has no custom rule; jobs are approved in a custom rule"));
      }
      std::set<std::string>& allowed = rule->custom.allowed_jobs;
      if (approve ? !allowed.insert(record.id).second : allowed.erase(record.id) == 0) {
        return absl::FailedPreconditionError(absl::StrCat("job ", record.id.substr(0, 12),
                                                          approve ? " is already" : " is not",
                                                          " approved for table '", input, "'"));
      }
      PARLEY_RETURN_IF_ERROR(
          impl_->store->SetRule(collaboration, input, policy::CanonicalRuleJson(*rule), actor));
      Json details = {{"job_id", record.id}, {"table", input}};
      PARLEY_RETURN_IF_ERROR(impl_->store->AppendAudit(
          collaboration, actor, approve ? "job.approve" : "job.revoke", details.dump()));
    } else if (reads_asset) {
      PARLEY_ASSIGN_OR_RETURN(catalog::AssetRecord asset,
                              impl_->store->GetAsset(collaboration, input));
      if (asset.owner != actor) {
        return absl::PermissionDeniedError(
            absl::StrCat("only the owner of asset '", input, "' ('", asset.owner, "') can ",
                         approve ? "approve" : "revoke", " jobs for it"));
      }
      PARLEY_RETURN_IF_ERROR(
          impl_->store->SetAssetApproval(collaboration, input, record.id, approve, actor));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "job ", record.id.substr(0, 12), " reads no table or asset named '", input, "'"));
    }
  }
  return ShowJob(caller, collaboration, job_id);
}

}  // namespace parley::service
