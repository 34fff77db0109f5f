// Asynchronous runs through the service's run queue (api/runs.h, service/run_queue.h), and the
// synchronous runs of a server that are recorded as asynchronous ones (`--save-as`), which go
// through the same queue so that the worker pool bounds every query the server runs (RunQuery
// and RunTemplate take RunQueue::RunAwaited, local_service.cc).
#include <algorithm>

#include "absl/strings/str_format.h"
#include "api/from_service.h"
#include "api/http_status.h"
#include "api/local_service.h"
#include "service/run_queue.h"
#include "service/service.h"

namespace parley::api {

namespace {

// How long one WaitRun call waits at most: a client that wants longer asks again.
constexpr std::chrono::milliseconds kMaxWait(30'000);

RunStatusResponse FromService(const service::RunView& view) {
  RunStatusResponse response;
  response.query_id = view.query_id;
  response.status = view.status;
  response.queue_position = view.queue_position;
  if (view.progress) response.progress = absl::StrFormat("%.1f", *view.progress);
  if (view.error) {
    response.error =
        Error{std::string(StatusCodeName(view.error->code())), std::string(view.error->message())};
  }
  if (view.outcome) response.outcome = api::FromService(*view.outcome);
  return response;
}

}  // namespace

absl::StatusOr<service::RunQueue*> LocalService::Queue() {
  PARLEY_RETURN_IF_ERROR(Open().status());
  if (queue_ == nullptr) {
    return absl::FailedPreconditionError(
        "asynchronous runs need a server (parley serve): here each query runs while its command "
        "waits");
  }
  return queue_.get();
}

absl::StatusOr<RunStatusResponse> LocalService::SubmitRun(const identity::Caller& caller,
                                                          const SubmitRunRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::RunQueue * queue, Queue());
  if (request.sql.has_value() == request.template_id.has_value()) {
    return absl::InvalidArgumentError("give exactly one of sql and template_id");
  }
  if (request.sql && !request.parameters.empty()) {
    return absl::InvalidArgumentError("$.parameters: only a template takes parameters");
  }
  service::Service* service = service_.get();
  service::AccuracyRequest accuracy{request.accuracy.value_or(""), request.confidence.value_or("")};
  PARLEY_ASSIGN_OR_RETURN(
      service::RunView view, queue->Submit(caller, [&]() -> absl::StatusOr<service::Submission> {
        if (request.sql) {
          return service->SubmitQuery(caller, request.collaboration, *request.sql,
                                      request.receivers, request.epsilon.value_or(""), accuracy);
        }
        return service->SubmitTemplate(caller, request.collaboration, *request.template_id,
                                       request.parameters, request.receivers,
                                       request.epsilon.value_or(""), accuracy);
      }));
  return FromService(view);
}

absl::StatusOr<RunStatusResponse> LocalService::ShowRun(const identity::Caller& caller,
                                                        const RunIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::RunQueue * queue, Queue());
  PARLEY_ASSIGN_OR_RETURN(service::RunView view,
                          queue->Show(caller, request.collaboration, request.query_id));
  return FromService(view);
}

absl::StatusOr<RunStatusResponse> LocalService::WaitRun(const identity::Caller& caller,
                                                        const WaitRunRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::RunQueue * queue, Queue());
  std::chrono::milliseconds timeout = kMaxWait;
  if (request.timeout_ms) {
    if (*request.timeout_ms < 0) {
      return absl::InvalidArgumentError("$.timeout_ms: must be 0 or more");
    }
    timeout = std::min(kMaxWait, std::chrono::milliseconds(*request.timeout_ms));
  }
  PARLEY_ASSIGN_OR_RETURN(service::RunView view,
                          queue->Wait(caller, request.collaboration, request.query_id, timeout));
  return FromService(view);
}

absl::StatusOr<RunStatusResponse> LocalService::CancelRun(const identity::Caller& caller,
                                                          const RunIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::RunQueue * queue, Queue());
  PARLEY_ASSIGN_OR_RETURN(service::RunView view,
                          queue->Cancel(caller, request.collaboration, request.query_id));
  return FromService(view);
}

void LocalService::DrainRuns(std::chrono::milliseconds grace) {
  if (queue_ != nullptr) queue_->Drain(grace);
}

absl::StatusOr<RunResponse> LocalService::RunQueued(
    const identity::Caller& caller, const std::string& collaboration,
    const std::function<absl::StatusOr<service::Submission>()>& submit) {
  PARLEY_ASSIGN_OR_RETURN(service::RunQueue * queue, Queue());
  PARLEY_ASSIGN_OR_RETURN(service::RunView view, queue->Submit(caller, submit));
  if (view.status == "rejected") return api::FromService(*view.outcome);
  return AwaitQueued(caller, collaboration, view.query_id);
}

absl::StatusOr<RunResponse> LocalService::AwaitQueued(const identity::Caller& caller,
                                                      const std::string& collaboration,
                                                      int64_t query_id) {
  service::RunView view;
  do {
    PARLEY_ASSIGN_OR_RETURN(view,
                            queue_->Wait(caller, collaboration, query_id, std::chrono::hours(1)));
  } while (view.status == "queued" || view.status == "running");
  queue_->Forget(query_id);  // its runner has the outcome: memory is not kept for it
  if (view.error) return *view.error;
  if (!view.outcome) return absl::InternalError("a finished run without its outcome");
  return api::FromService(*view.outcome);
}

}  // namespace parley::api
