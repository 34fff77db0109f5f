// The service facade in API terms, in this process: each use case takes an API request and the
// caller (built by the front end: identity::Caller::Embedded for `--as`, a token's caller on the
// server) and answers the API response (api/types.h), converting the service's values on the way
// (api/from_service.h). The CLI's LocalBackend and the HTTP server's handlers call it; neither
// includes the service, so no catalog, engine or policy type reaches a front end.
//
// The service is opened on the first call, so a command that fails before it calls (a usage
// error) creates nothing. VerifyAudit without a collaboration verifies every chain of the home,
// for its operator (the caller is not consulted); it refuses a directory that holds no catalog
// rather than verify the empty log a mistyped home would create.
// Thread safety: any number of threads at once (the service is; opening is guarded).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/engines.h"
#include "api/server_types.h"
#include "api/types.h"
#include "identity/caller.h"

namespace parley::service {
class Service;
class RunQueue;
struct Submission;
}  // namespace parley::service

namespace parley::api {

// What one query run may use (the engine's limits, in a front end's words).
struct LocalServiceOptions {
  std::string memory_limit;    // e.g. "8GB"; empty: the engine's default (75% of memory)
  std::string temp_directory;  // where a large query spills; empty: HOME/tmp
  std::chrono::seconds timeout{300};
  // When set, a running query is cancelled soon after *cancel becomes true (see
  // engine::Limits::cancel); must outlive the LocalService.
  const std::atomic<bool>* cancel = nullptr;
  // Server mode: remote organisations register only files under data_root/<name>/ (none when
  // empty); see service::Options::data_root.
  std::string data_root;
  // Metering: what usage reports cost a terabyte scanned at, as decimal text ("5", "6.25");
  // empty: service::kDefaultPricePerTbMicros. Checked when the service opens.
  std::string price_per_tb;
  // Server mode: queries (RunQuery with or without save_as, RunTemplate, SubmitRun) run on a queue
  // of this many workers (service/run_queue.h), with at most `max_queued_runs` waiting and
  // `max_runs_per_member` queued or running per member (more: ResourceExhausted, 429). 0: each
  // runs in its caller's thread (embedded mode), and SubmitRun is refused.
  int run_workers = 0;
  int max_queued_runs = 64;
  int max_runs_per_member = 8;
  // Server mode: the largest upload accepted (`serve --max-upload-bytes`).
  int64_t max_upload_bytes = int64_t{1} << 30;
  // For tests: service::Options' hooks and promotion delay of the same names.
  std::function<void()> before_delivery;
  std::function<void()> on_session_opened;
  std::chrono::milliseconds promote_after{200};
};

// An upload in progress (LocalService::StartUpload): Write the bytes as they arrive, then Commit.
// Destroyed without a successful Commit, nothing is kept.
class UploadSink {
 public:
  virtual ~UploadSink() = default;
  // ResourceExhausted naming the limit once more than it arrived; the upload is then abandoned.
  virtual absl::Status Write(std::string_view bytes) = 0;
  // InvalidArgument when the checksum or declared size does not match (nothing is kept).
  virtual absl::StatusOr<UploadResponse> Commit() = 0;
};

// Metering's money as text (local_service_usage.cc). ParsePricePerTb: a price per TB such as
// "5", "6.25" (at most 6 decimals, at most 1000000) in millionths; InvalidArgument otherwise.
// FormatMoney: millionths as decimal text with at least 2 decimals ("5.00", "0.000125").
absl::StatusOr<int64_t> ParsePricePerTb(std::string_view text);
std::string FormatMoney(int64_t micros);

class LocalService {
 public:
  LocalService(std::string home, LocalServiceOptions options);
  ~LocalService();

  // Opens the home now (creating it and its catalog if absent) instead of on the first call.
  absl::Status OpenHome();

  absl::StatusOr<CreateCollaborationResponse> CreateCollaboration(
      const identity::Caller& caller, const CreateCollaborationRequest& request);
  absl::StatusOr<ListCollaborationsResponse> ListCollaborations(
      const identity::Caller& caller, const ListCollaborationsRequest& request);
  absl::StatusOr<ShowCollaborationResponse> ShowCollaboration(
      const identity::Caller& caller, const ShowCollaborationRequest& request);
  absl::StatusOr<CloseCollaborationResponse> CloseCollaboration(
      const identity::Caller& caller, const CloseCollaborationRequest& request);
  absl::StatusOr<AddMemberResponse> AddMember(const identity::Caller& caller,
                                              const AddMemberRequest& request);
  absl::StatusOr<RemoveMemberResponse> RemoveMember(const identity::Caller& caller,
                                                    const RemoveMemberRequest& request);
  absl::StatusOr<LeaveResponse> Leave(const identity::Caller& caller, const LeaveRequest& request);
  // Change requests and invitations (local_service_changes.cc).
  absl::StatusOr<InviteMemberResponse> InviteMember(const identity::Caller& caller,
                                                    const InviteMemberRequest& request);
  absl::StatusOr<JoinResponse> Join(const identity::Caller& caller, const JoinRequest& request);
  absl::StatusOr<ChangeResponse> ProposeChange(const identity::Caller& caller,
                                               const ProposeChangeRequest& request);
  absl::StatusOr<ListChangesResponse> ListChanges(const identity::Caller& caller,
                                                  const ListChangesRequest& request);
  absl::StatusOr<ChangeResponse> ShowChange(const identity::Caller& caller,
                                            const ChangeIdRequest& request);
  absl::StatusOr<ChangeResponse> ApproveChange(const identity::Caller& caller,
                                               const ChangeIdRequest& request);
  absl::StatusOr<ChangeResponse> DenyChange(const identity::Caller& caller,
                                            const ChangeIdRequest& request);
  absl::StatusOr<ChangeResponse> CancelChange(const identity::Caller& caller,
                                              const ChangeIdRequest& request);
  absl::StatusOr<AddTableResponse> AddTable(const identity::Caller& caller,
                                            const AddTableRequest& request);
  absl::StatusOr<ListTablesResponse> ListTables(const identity::Caller& caller,
                                                const ListTablesRequest& request);
  absl::StatusOr<ShowTableResponse> ShowTable(const identity::Caller& caller,
                                              const ShowTableRequest& request);
  absl::StatusOr<SetRuleResponse> SetRule(const identity::Caller& caller,
                                          const SetRuleRequest& request);
  absl::StatusOr<UpdateTableResponse> UpdateTable(const identity::Caller& caller,
                                                  const UpdateTableRequest& request);
  absl::StatusOr<RemoveTableResponse> RemoveTable(const identity::Caller& caller,
                                                  const RemoveTableRequest& request);
  absl::StatusOr<ExplainResponse> Explain(const identity::Caller& caller,
                                          const ExplainRequest& request);
  absl::StatusOr<RunQueryResponse> RunQuery(const identity::Caller& caller,
                                            const RunQueryRequest& request);
  // Asynchronous runs (local_service_runs.cc; api/runs.h), with a run queue only.
  absl::StatusOr<RunStatusResponse> SubmitRun(const identity::Caller& caller,
                                              const SubmitRunRequest& request);
  absl::StatusOr<RunStatusResponse> ShowRun(const identity::Caller& caller,
                                            const RunIdRequest& request);
  absl::StatusOr<RunStatusResponse> WaitRun(const identity::Caller& caller,
                                            const WaitRunRequest& request);
  absl::StatusOr<RunStatusResponse> CancelRun(const identity::Caller& caller,
                                              const RunIdRequest& request);
  // Stops accepting runs, lets running ones finish for up to `grace`, then cancels them (a
  // server's SIGTERM). Nothing without a run queue.
  void DrainRuns(std::chrono::milliseconds grace);
  // Differential privacy: the collaboration's budget and what is left per month (any member).
  absl::StatusOr<BudgetResponse> Budget(const identity::Caller& caller,
                                        const BudgetRequest& request);
  // Metering (local_service_usage.cc).
  absl::StatusOr<UsageResponse> Usage(const identity::Caller& caller, const UsageRequest& request);
  absl::StatusOr<UsageResponse> SetUsageLimits(const identity::Caller& caller,
                                               const SetUsageLimitsRequest& request);
  absl::StatusOr<GetResultResponse> GetResult(const identity::Caller& caller,
                                              const GetResultRequest& request);
  // Results kept in the home and the home itself (local_service_results.cc). HomeInfo and
  // SetResultRetention are for the home's operator at the console (PermissionDenied for a token's
  // caller); HomeInfo refuses a directory without a catalog like VerifyAudit does.
  absl::StatusOr<ListResultsResponse> ListResults(const identity::Caller& caller,
                                                  const ListResultsRequest& request);
  absl::StatusOr<DeleteResultResponse> DeleteResult(const identity::Caller& caller,
                                                    const DeleteResultRequest& request);
  absl::StatusOr<HomeInfoResponse> HomeInfo(const identity::Caller& caller,
                                            const HomeInfoRequest& request);
  absl::StatusOr<HomeInfoResponse> SetResultRetention(const identity::Caller& caller,
                                                      const SetResultRetentionRequest& request);
  absl::StatusOr<ListQueriesResponse> ListQueries(const identity::Caller& caller,
                                                  const ListQueriesRequest& request);
  absl::StatusOr<QueryLogResponse> QueryLog(const identity::Caller& caller,
                                            const QueryLogRequest& request);
  // Jobs and assets (local_service_jobs.cc).
  absl::StatusOr<CreateJobResponse> CreateJob(const identity::Caller& caller,
                                              const CreateJobRequest& request);
  absl::StatusOr<ListJobsResponse> ListJobs(const identity::Caller& caller,
                                            const ListJobsRequest& request);
  absl::StatusOr<ShowJobResponse> ShowJob(const identity::Caller& caller,
                                          const ShowJobRequest& request);
  absl::StatusOr<ApproveJobResponse> ApproveJob(const identity::Caller& caller,
                                                const ApproveJobRequest& request);
  absl::StatusOr<RevokeJobResponse> RevokeJob(const identity::Caller& caller,
                                              const RevokeJobRequest& request);
  absl::StatusOr<RunJobResponse> RunJob(const identity::Caller& caller,
                                        const RunJobRequest& request);
  absl::StatusOr<ShowJobRunResponse> ShowJobRun(const identity::Caller& caller,
                                                const ShowJobRunRequest& request);
  absl::StatusOr<RegisterAssetResponse> RegisterAsset(const identity::Caller& caller,
                                                      const RegisterAssetRequest& request);
  absl::StatusOr<ListAssetsResponse> ListAssets(const identity::Caller& caller,
                                                const ListAssetsRequest& request);

  absl::StatusOr<CreateTemplateResponse> CreateTemplate(const identity::Caller& caller,
                                                        const CreateTemplateRequest& request);
  absl::StatusOr<ShowTemplateResponse> ShowTemplate(const identity::Caller& caller,
                                                    const ShowTemplateRequest& request);
  absl::StatusOr<ListTemplatesResponse> ListTemplates(const identity::Caller& caller,
                                                      const ListTemplatesRequest& request);
  absl::StatusOr<ApproveTemplateResponse> ApproveTemplate(const identity::Caller& caller,
                                                          const ApproveTemplateRequest& request);
  absl::StatusOr<RevokeTemplateResponse> RevokeTemplate(const identity::Caller& caller,
                                                        const RevokeTemplateRequest& request);
  absl::StatusOr<RunTemplateResponse> RunTemplate(const identity::Caller& caller,
                                                  const RunTemplateRequest& request);
  absl::StatusOr<PolicyResponse> Policy(const identity::Caller& caller,
                                        const PolicyRequest& request);
  absl::StatusOr<ListAuditResponse> ListAudit(const identity::Caller& caller,
                                              const ListAuditRequest& request);
  absl::StatusOr<VerifyAuditResponse> VerifyAudit(const identity::Caller& caller,
                                                  const VerifyAuditRequest& request);

  // Bringing data and keeping results (api/server_data.h; local_service_server_data.cc).
  // StartUpload: into the caller's own folder of the data root, at most options' max upload.
  // Upload itself (the route's JSON form) answers InvalidArgument: an upload is streamed.
  absl::StatusOr<std::unique_ptr<UploadSink>> StartUpload(const identity::Caller& caller,
                                                          const UploadRequest& request);
  absl::StatusOr<UploadResponse> Upload(const identity::Caller& caller,
                                        const UploadRequest& request);
  int64_t max_upload_bytes() const { return options_.max_upload_bytes; }
  absl::StatusOr<MemberKeyResponse> SetMemberKey(const identity::Caller& caller,
                                                 const SetMemberKeyRequest& request);
  absl::StatusOr<MemberKeyResponse> MemberKey(const identity::Caller& caller,
                                              const MemberKeyRequest& request);
  absl::StatusOr<CollaborationRetentionResponse> SetCollaborationRetention(
      const identity::Caller& caller, const SetCollaborationRetentionRequest& request);
  absl::StatusOr<CollaborationRetentionResponse> CollaborationRetention(
      const identity::Caller& caller, const CollaborationRetentionRequest& request);
  // Deletes results past their retention (a server calls it periodically).
  absl::Status PruneResults();
  absl::StatusOr<AddWebhookResponse> AddWebhook(const identity::Caller& caller,
                                                const AddWebhookRequest& request);
  absl::StatusOr<ListWebhooksResponse> ListWebhooks(const identity::Caller& caller,
                                                    const ListWebhooksRequest& request);
  absl::StatusOr<RemoveWebhookResponse> RemoveWebhook(const identity::Caller& caller,
                                                      const RemoveWebhookRequest& request);
  // PSI relayed through the server (local_service_psi.cc, api/psi.h).
  absl::StatusOr<PsiSession> StartPsi(const identity::Caller& caller,
                                      const StartPsiRequest& request);
  absl::StatusOr<PsiSession> ShowPsi(const identity::Caller& caller,
                                     const PsiSessionRequest& request);
  absl::StatusOr<PsiSession> SendPsi(const identity::Caller& caller, const SendPsiRequest& request);
  absl::StatusOr<ReceivePsiResponse> ReceivePsi(const identity::Caller& caller,
                                                const ReceivePsiRequest& request);

  // A server's identities (api/server_types.h; local_service_identity.cc). InitServer bootstraps
  // the operator's organisation at the console (FailedPrecondition once there is one);
  // Authenticate turns a bearer token into its organisation's Caller (Unauthenticated, one
  // message whatever was wrong).
  absl::StatusOr<IssuedTokenResponse> InitServer(const std::string& organisation);
  // The operator's engine registry (api/engines.h; local_service_engines.cc): no caller, like
  // InitServer — whoever works on the home is its operator.
  absl::StatusOr<EngineInfo> AddEngine(const EngineInfo& engine);
  absl::StatusOr<ListEnginesResponse> ListEngines();
  absl::StatusOr<RemoveEngineResponse> RemoveEngine(const std::string& name);
  absl::StatusOr<identity::Caller> Authenticate(std::string_view bearer_token);
  absl::StatusOr<WhoAmIResponse> WhoAmI(const identity::Caller& caller,
                                        const WhoAmIRequest& request);
  absl::StatusOr<AddOrganisationResponse> AddOrganisation(const identity::Caller& caller,
                                                          const AddOrganisationRequest& request);
  absl::StatusOr<ListOrganisationsResponse> ListOrganisations(
      const identity::Caller& caller, const ListOrganisationsRequest& request);
  absl::StatusOr<RotateTokenResponse> RotateToken(const identity::Caller& caller,
                                                  const RotateTokenRequest& request);
  absl::StatusOr<RevokeTokenResponse> RevokeToken(const identity::Caller& caller,
                                                  const RevokeTokenRequest& request);

 private:
  absl::StatusOr<service::Service*> Open();
  // The run queue (opened with the service), or FailedPrecondition without one.
  absl::StatusOr<service::RunQueue*> Queue();
  // A run submitted to the queue as an asynchronous one (`query run --save-as`:
  // Service::SubmitSave, recorded running, then finished), waited for, answered as the
  // synchronous run would be. Plain queries and templates take RunQueue::RunAwaited instead.
  absl::StatusOr<RunResponse> RunQueued(
      const identity::Caller& caller, const std::string& collaboration,
      const std::function<absl::StatusOr<service::Submission>()>& submit);
  // Waits for run `query_id` to end and answers it as the synchronous run would.
  absl::StatusOr<RunResponse> AwaitQueued(const identity::Caller& caller,
                                          const std::string& collaboration, int64_t query_id);
  static absl::Status RequireOperator(const identity::Caller& caller);
  absl::Status RequireExistingHome();

  std::string home_;
  LocalServiceOptions options_;
  std::mutex open_mutex_;
  std::unique_ptr<service::Service> service_;  // guarded by open_mutex_ until set
  std::unique_ptr<service::RunQueue> queue_;   // with service_, when options_.run_workers > 0
};

}  // namespace parley::api
