// LocalService: jobs and assets (issue 12), in API terms.
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {

namespace {

Job FromService(const service::JobView& view) {
  Job job;
  job.id = view.id;
  job.name = view.name;
  job.author = view.author;
  job.runtime = view.runtime;
  job.code_name = view.code_name;
  job.code = view.code;
  job.code_text = view.code_text;
  for (const service::JobInput& input : view.inputs)
    job.inputs.push_back({input.table, input.columns});
  job.assets = view.assets;
  for (const service::TemplateParameter& parameter : view.parameters) {
    job.parameters.push_back(
        {parameter.name, service::ParameterTypeName(parameter.type), parameter.default_value});
  }
  job.created_at = view.created_at;
  for (const service::JobView::Approval& approval : view.approvals) {
    job.approvals.push_back({approval.kind, approval.name, approval.owner, approval.approved});
  }
  job.altered = view.altered;
  job.runnable = view.runnable();
  return job;
}

JobRun FromService(const service::JobRunView& view) {
  JobRun run;
  run.run_id = view.run_id;
  run.job_id = view.job_id;
  run.status = view.status;
  run.reason = view.reason;
  run.receivers = view.receivers;
  run.stdout_text = view.stdout_text;
  run.stderr_text = view.stderr_text;
  for (const service::JobOutputView& output : view.outputs) {
    JobOutput& out = run.outputs.emplace_back();
    out.name = output.name;
    out.bytes = output.bytes;
    out.sha256 = output.sha256;
    if (output.content) out.content_base64 = Base64Encode(*output.content);
    if (output.sealed) out.sealed = true;
  }
  run.wall_micros = view.wall_microseconds;
  return run;
}

Asset FromService(const service::AssetView& view) {
  return {view.name,   view.owner,        view.kind,           view.description, view.bytes,
          view.sha256, view.allowed_jobs, view.allow_job_logs, view.created_at};
}

}  // namespace

absl::StatusOr<CreateJobResponse> LocalService::CreateJob(const identity::Caller& caller,
                                                          const CreateJobRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  service::NewJob job{request.collaboration, request.name,      request.code_name, request.code, {},
                      request.assets,        request.parameters};
  for (const JobInput& input : request.inputs) job.inputs.push_back({input.table, input.columns});
  PARLEY_ASSIGN_OR_RETURN(service::JobView view, service->CreateJob(caller, job));
  return CreateJobResponse{FromService(view)};
}

absl::StatusOr<ListJobsResponse> LocalService::ListJobs(const identity::Caller& caller,
                                                        const ListJobsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto views, service->ListJobs(caller, request.collaboration));
  ListJobsResponse response;
  for (const service::JobView& view : views) response.jobs.push_back(FromService(view));
  return response;
}

absl::StatusOr<ShowJobResponse> LocalService::ShowJob(const identity::Caller& caller,
                                                      const ShowJobRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::JobView view,
                          service->ShowJob(caller, request.collaboration, request.job_id));
  return ShowJobResponse{FromService(view)};
}

absl::StatusOr<ApproveJobResponse> LocalService::ApproveJob(const identity::Caller& caller,
                                                            const ApproveJobRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::JobView view,
                          service->ApproveJob(caller, request.collaboration, request.job_id,
                                              request.input, /*approve=*/true));
  return ApproveJobResponse{FromService(view)};
}

absl::StatusOr<RevokeJobResponse> LocalService::RevokeJob(const identity::Caller& caller,
                                                          const RevokeJobRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::JobView view,
                          service->ApproveJob(caller, request.collaboration, request.job_id,
                                              request.input, /*approve=*/false));
  return RevokeJobResponse{FromService(view)};
}

absl::StatusOr<RunJobResponse> LocalService::RunJob(const identity::Caller& caller,
                                                    const RunJobRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  service::JobLimitsRequest limits;
  if (request.limits) {
    limits = {request.limits->memory_bytes, request.limits->processes,
              request.limits->open_files,   request.limits->cpu_seconds,
              request.limits->wall_seconds, request.limits->output_bytes};
  }
  PARLEY_ASSIGN_OR_RETURN(service::JobRunView view,
                          service->RunJob(caller, {request.collaboration, request.job_id,
                                                   request.parameters, request.receivers, limits}));
  return RunJobResponse{FromService(view)};
}

absl::StatusOr<ShowJobRunResponse> LocalService::ShowJobRun(const identity::Caller& caller,
                                                            const ShowJobRunRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::JobRunView view,
                          service->JobRun(caller, request.collaboration, request.run_id));
  return ShowJobRunResponse{FromService(view)};
}

absl::StatusOr<RegisterAssetResponse> LocalService::RegisterAsset(
    const identity::Caller& caller, const RegisterAssetRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::AssetView view,
      service->RegisterAsset(caller, {request.collaboration, request.name, request.kind,
                                      request.description, request.path, request.allow_job_logs}));
  return RegisterAssetResponse{FromService(view)};
}

absl::StatusOr<ListAssetsResponse> LocalService::ListAssets(const identity::Caller& caller,
                                                            const ListAssetsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto views, service->ListAssets(caller, request.collaboration));
  ListAssetsResponse response;
  for (const service::AssetView& view : views) response.assets.push_back(FromService(view));
  return response;
}

}  // namespace parley::api
