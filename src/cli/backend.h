// What the CLI talks to: every use case of a Parley home as API requests and responses
// (api/types.h), so a command does not know whether the home is in this process or behind a
// server. LocalBackend (cli/local_backend.h) calls the service in-process (embedded mode, the
// member given by --as); RemoteBackend (cli/remote_backend.h) sends the same requests to a Parley
// server over HTTP, as the organisation its token authenticates.
//
// Each method returns the response or the status the service (or server) answered; a query the
// rules reject is a response (explanation.allowed == false), a tampered audit log too
// (VerifyAuditResponse::ok == false).
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "api/server_types.h"
#include "api/types.h"

namespace parley::cli {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual absl::StatusOr<api::CreateCollaborationResponse> CreateCollaboration(
      const api::CreateCollaborationRequest& request) = 0;
  virtual absl::StatusOr<api::ListCollaborationsResponse> ListCollaborations(
      const api::ListCollaborationsRequest& request) = 0;
  virtual absl::StatusOr<api::ShowCollaborationResponse> ShowCollaboration(
      const api::ShowCollaborationRequest& request) = 0;
  virtual absl::StatusOr<api::CloseCollaborationResponse> CloseCollaboration(
      const api::CloseCollaborationRequest& request) = 0;

  virtual absl::StatusOr<api::AddMemberResponse> AddMember(
      const api::AddMemberRequest& request) = 0;
  virtual absl::StatusOr<api::RemoveMemberResponse> RemoveMember(
      const api::RemoveMemberRequest& request) = 0;
  virtual absl::StatusOr<api::LeaveResponse> Leave(const api::LeaveRequest& request) = 0;
  // Change requests and invitations (api/changes.h).
  virtual absl::StatusOr<api::InviteMemberResponse> InviteMember(
      const api::InviteMemberRequest& request) = 0;
  virtual absl::StatusOr<api::JoinResponse> Join(const api::JoinRequest& request) = 0;
  virtual absl::StatusOr<api::ChangeResponse> ProposeChange(
      const api::ProposeChangeRequest& request) = 0;
  virtual absl::StatusOr<api::ListChangesResponse> ListChanges(
      const api::ListChangesRequest& request) = 0;
  virtual absl::StatusOr<api::ChangeResponse> ShowChange(const api::ChangeIdRequest& request) = 0;
  virtual absl::StatusOr<api::ChangeResponse> ApproveChange(
      const api::ChangeIdRequest& request) = 0;
  virtual absl::StatusOr<api::ChangeResponse> DenyChange(const api::ChangeIdRequest& request) = 0;
  virtual absl::StatusOr<api::ChangeResponse> CancelChange(const api::ChangeIdRequest& request) = 0;

  virtual absl::StatusOr<api::AddTableResponse> AddTable(const api::AddTableRequest& request) = 0;
  virtual absl::StatusOr<api::ListTablesResponse> ListTables(
      const api::ListTablesRequest& request) = 0;
  virtual absl::StatusOr<api::ShowTableResponse> ShowTable(
      const api::ShowTableRequest& request) = 0;
  virtual absl::StatusOr<api::SetRuleResponse> SetRule(const api::SetRuleRequest& request) = 0;
  virtual absl::StatusOr<api::UpdateTableResponse> UpdateTable(
      const api::UpdateTableRequest& request) = 0;
  virtual absl::StatusOr<api::RemoveTableResponse> RemoveTable(
      const api::RemoveTableRequest& request) = 0;

  virtual absl::StatusOr<api::ExplainResponse> Explain(const api::ExplainRequest& request) = 0;
  virtual absl::StatusOr<api::RunQueryResponse> RunQuery(const api::RunQueryRequest& request) = 0;
  virtual absl::StatusOr<api::BudgetResponse> Budget(const api::BudgetRequest& request) = 0;
  // Asynchronous runs (api/runs.h): a server's; refused in embedded mode.
  virtual absl::StatusOr<api::RunStatusResponse> SubmitRun(
      const api::SubmitRunRequest& request) = 0;
  virtual absl::StatusOr<api::RunStatusResponse> ShowRun(const api::RunIdRequest& request) = 0;
  virtual absl::StatusOr<api::RunStatusResponse> WaitRun(const api::WaitRunRequest& request) = 0;
  virtual absl::StatusOr<api::RunStatusResponse> CancelRun(const api::RunIdRequest& request) = 0;
  // Metering (api/usage.h).
  virtual absl::StatusOr<api::UsageResponse> Usage(const api::UsageRequest& request) = 0;
  virtual absl::StatusOr<api::UsageResponse> SetUsageLimits(
      const api::SetUsageLimitsRequest& request) = 0;
  virtual absl::StatusOr<api::GetResultResponse> GetResult(
      const api::GetResultRequest& request) = 0;
  virtual absl::StatusOr<api::ListResultsResponse> ListResults(
      const api::ListResultsRequest& request) = 0;
  virtual absl::StatusOr<api::DeleteResultResponse> DeleteResult(
      const api::DeleteResultRequest& request) = 0;
  // The home itself (its operator: no member acts).
  virtual absl::StatusOr<api::HomeInfoResponse> HomeInfo(const api::HomeInfoRequest& request) = 0;
  virtual absl::StatusOr<api::HomeInfoResponse> SetResultRetention(
      const api::SetResultRetentionRequest& request) = 0;
  virtual absl::StatusOr<api::ListQueriesResponse> ListQueries(
      const api::ListQueriesRequest& request) = 0;
  virtual absl::StatusOr<api::QueryLogResponse> QueryLog(const api::QueryLogRequest& request) = 0;

  virtual absl::StatusOr<api::CreateTemplateResponse> CreateTemplate(
      const api::CreateTemplateRequest& request) = 0;
  virtual absl::StatusOr<api::ShowTemplateResponse> ShowTemplate(
      const api::ShowTemplateRequest& request) = 0;
  virtual absl::StatusOr<api::ListTemplatesResponse> ListTemplates(
      const api::ListTemplatesRequest& request) = 0;
  virtual absl::StatusOr<api::ApproveTemplateResponse> ApproveTemplate(
      const api::ApproveTemplateRequest& request) = 0;
  virtual absl::StatusOr<api::RevokeTemplateResponse> RevokeTemplate(
      const api::RevokeTemplateRequest& request) = 0;
  virtual absl::StatusOr<api::RunTemplateResponse> RunTemplate(
      const api::RunTemplateRequest& request) = 0;

  // Jobs and assets (api/jobs.h).
  virtual absl::StatusOr<api::CreateJobResponse> CreateJob(
      const api::CreateJobRequest& request) = 0;
  virtual absl::StatusOr<api::ListJobsResponse> ListJobs(const api::ListJobsRequest& request) = 0;
  virtual absl::StatusOr<api::ShowJobResponse> ShowJob(const api::ShowJobRequest& request) = 0;
  virtual absl::StatusOr<api::ApproveJobResponse> ApproveJob(
      const api::ApproveJobRequest& request) = 0;
  virtual absl::StatusOr<api::RevokeJobResponse> RevokeJob(
      const api::RevokeJobRequest& request) = 0;
  virtual absl::StatusOr<api::RunJobResponse> RunJob(const api::RunJobRequest& request) = 0;
  virtual absl::StatusOr<api::ShowJobRunResponse> ShowJobRun(
      const api::ShowJobRunRequest& request) = 0;
  virtual absl::StatusOr<api::RegisterAssetResponse> RegisterAsset(
      const api::RegisterAssetRequest& request) = 0;
  virtual absl::StatusOr<api::ListAssetsResponse> ListAssets(
      const api::ListAssetsRequest& request) = 0;

  virtual absl::StatusOr<api::PolicyResponse> Policy(const api::PolicyRequest& request) = 0;

  virtual absl::StatusOr<api::ListAuditResponse> ListAudit(
      const api::ListAuditRequest& request) = 0;
  virtual absl::StatusOr<api::VerifyAuditResponse> VerifyAudit(
      const api::VerifyAuditRequest& request) = 0;

  // Bringing data and keeping results (api/server_data.h). Upload streams the file at `path`
  // into the caller's own folder of the (server's) data root, calling `progress` with the bytes
  // sent so far and the total.
  virtual absl::StatusOr<api::UploadResponse> Upload(
      const api::UploadRequest& request, const std::string& path,
      const std::function<void(int64_t sent, int64_t total)>& progress) = 0;
  virtual absl::StatusOr<api::MemberKeyResponse> SetMemberKey(
      const api::SetMemberKeyRequest& request) = 0;
  virtual absl::StatusOr<api::MemberKeyResponse> MemberKey(
      const api::MemberKeyRequest& request) = 0;
  virtual absl::StatusOr<api::CollaborationRetentionResponse> SetCollaborationRetention(
      const api::SetCollaborationRetentionRequest& request) = 0;
  virtual absl::StatusOr<api::CollaborationRetentionResponse> CollaborationRetention(
      const api::CollaborationRetentionRequest& request) = 0;

  virtual absl::StatusOr<api::AddWebhookResponse> AddWebhook(
      const api::AddWebhookRequest& request) = 0;
  virtual absl::StatusOr<api::ListWebhooksResponse> ListWebhooks(
      const api::ListWebhooksRequest& request) = 0;
  virtual absl::StatusOr<api::RemoveWebhookResponse> RemoveWebhook(
      const api::RemoveWebhookRequest& request) = 0;
  // PSI relayed through a server (api/psi.h): a server's; refused in embedded mode.
  virtual absl::StatusOr<api::PsiSession> StartPsi(const api::StartPsiRequest& request) = 0;
  virtual absl::StatusOr<api::PsiSession> ShowPsi(const api::PsiSessionRequest& request) = 0;
  virtual absl::StatusOr<api::PsiSession> SendPsi(const api::SendPsiRequest& request) = 0;
  virtual absl::StatusOr<api::ReceivePsiResponse> ReceivePsi(
      const api::ReceivePsiRequest& request) = 0;

  // A server's identities (api/server_types.h).
  virtual absl::StatusOr<api::WhoAmIResponse> WhoAmI(const api::WhoAmIRequest& request) = 0;
  virtual absl::StatusOr<api::AddOrganisationResponse> AddOrganisation(
      const api::AddOrganisationRequest& request) = 0;
  virtual absl::StatusOr<api::ListOrganisationsResponse> ListOrganisations(
      const api::ListOrganisationsRequest& request) = 0;
  virtual absl::StatusOr<api::RotateTokenResponse> RotateToken(
      const api::RotateTokenRequest& request) = 0;
  virtual absl::StatusOr<api::RevokeTokenResponse> RevokeToken(
      const api::RevokeTokenRequest& request) = 0;
};

}  // namespace parley::cli
