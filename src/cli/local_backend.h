// Embedded mode: the Backend that runs the service in this process on a home directory, acting
// as the member named by --as (trusted by design: whoever runs the binary on the home can act as
// any member; the server mode authenticates instead).
//
// Every call goes to api::LocalService (the service facade in API terms), which opens the home on
// the first call. Several backends (one per member, as the demo uses) may share one LocalService.
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "api/local_service.h"
#include "cli/backend.h"
#include "identity/caller.h"

namespace parley::cli {

class LocalBackend : public Backend {
 public:
  LocalBackend(std::string home, api::LocalServiceOptions options, std::string actor);
  LocalBackend(std::shared_ptr<api::LocalService> service, std::string actor);
  ~LocalBackend() override;

  absl::StatusOr<api::CreateCollaborationResponse> CreateCollaboration(
      const api::CreateCollaborationRequest& request) override;
  absl::StatusOr<api::BudgetResponse> Budget(const api::BudgetRequest& request) override;
  absl::StatusOr<api::UsageResponse> Usage(const api::UsageRequest& request) override;
  absl::StatusOr<api::UsageResponse> SetUsageLimits(
      const api::SetUsageLimitsRequest& request) override;
  absl::StatusOr<api::ListCollaborationsResponse> ListCollaborations(
      const api::ListCollaborationsRequest& request) override;
  absl::StatusOr<api::ShowCollaborationResponse> ShowCollaboration(
      const api::ShowCollaborationRequest& request) override;
  absl::StatusOr<api::CloseCollaborationResponse> CloseCollaboration(
      const api::CloseCollaborationRequest& request) override;
  absl::StatusOr<api::AddMemberResponse> AddMember(const api::AddMemberRequest& request) override;
  absl::StatusOr<api::RemoveMemberResponse> RemoveMember(
      const api::RemoveMemberRequest& request) override;
  absl::StatusOr<api::LeaveResponse> Leave(const api::LeaveRequest& request) override;
  absl::StatusOr<api::InviteMemberResponse> InviteMember(
      const api::InviteMemberRequest& request) override;
  absl::StatusOr<api::JoinResponse> Join(const api::JoinRequest& request) override;
  absl::StatusOr<api::ChangeResponse> ProposeChange(
      const api::ProposeChangeRequest& request) override;
  absl::StatusOr<api::ListChangesResponse> ListChanges(
      const api::ListChangesRequest& request) override;
  absl::StatusOr<api::ChangeResponse> ShowChange(const api::ChangeIdRequest& request) override;
  absl::StatusOr<api::ChangeResponse> ApproveChange(const api::ChangeIdRequest& request) override;
  absl::StatusOr<api::ChangeResponse> DenyChange(const api::ChangeIdRequest& request) override;
  absl::StatusOr<api::ChangeResponse> CancelChange(const api::ChangeIdRequest& request) override;
  absl::StatusOr<api::AddTableResponse> AddTable(const api::AddTableRequest& request) override;
  absl::StatusOr<api::ListTablesResponse> ListTables(
      const api::ListTablesRequest& request) override;
  absl::StatusOr<api::ShowTableResponse> ShowTable(const api::ShowTableRequest& request) override;
  absl::StatusOr<api::SetRuleResponse> SetRule(const api::SetRuleRequest& request) override;
  absl::StatusOr<api::UpdateTableResponse> UpdateTable(
      const api::UpdateTableRequest& request) override;
  absl::StatusOr<api::RemoveTableResponse> RemoveTable(
      const api::RemoveTableRequest& request) override;
  absl::StatusOr<api::ExplainResponse> Explain(const api::ExplainRequest& request) override;
  absl::StatusOr<api::RunQueryResponse> RunQuery(const api::RunQueryRequest& request) override;
  absl::StatusOr<api::RunStatusResponse> SubmitRun(const api::SubmitRunRequest& request) override;
  absl::StatusOr<api::RunStatusResponse> ShowRun(const api::RunIdRequest& request) override;
  absl::StatusOr<api::RunStatusResponse> WaitRun(const api::WaitRunRequest& request) override;
  absl::StatusOr<api::RunStatusResponse> CancelRun(const api::RunIdRequest& request) override;
  absl::StatusOr<api::GetResultResponse> GetResult(const api::GetResultRequest& request) override;
  absl::StatusOr<api::ListResultsResponse> ListResults(
      const api::ListResultsRequest& request) override;
  absl::StatusOr<api::DeleteResultResponse> DeleteResult(
      const api::DeleteResultRequest& request) override;
  absl::StatusOr<api::HomeInfoResponse> HomeInfo(const api::HomeInfoRequest& request) override;
  absl::StatusOr<api::HomeInfoResponse> SetResultRetention(
      const api::SetResultRetentionRequest& request) override;
  absl::StatusOr<api::ListQueriesResponse> ListQueries(
      const api::ListQueriesRequest& request) override;
  absl::StatusOr<api::QueryLogResponse> QueryLog(const api::QueryLogRequest& request) override;
  absl::StatusOr<api::CreateTemplateResponse> CreateTemplate(
      const api::CreateTemplateRequest& request) override;
  absl::StatusOr<api::ShowTemplateResponse> ShowTemplate(
      const api::ShowTemplateRequest& request) override;
  absl::StatusOr<api::ListTemplatesResponse> ListTemplates(
      const api::ListTemplatesRequest& request) override;
  absl::StatusOr<api::ApproveTemplateResponse> ApproveTemplate(
      const api::ApproveTemplateRequest& request) override;
  absl::StatusOr<api::RevokeTemplateResponse> RevokeTemplate(
      const api::RevokeTemplateRequest& request) override;
  absl::StatusOr<api::RunTemplateResponse> RunTemplate(
      const api::RunTemplateRequest& request) override;
  absl::StatusOr<api::CreateJobResponse> CreateJob(const api::CreateJobRequest& request) override;
  absl::StatusOr<api::ListJobsResponse> ListJobs(const api::ListJobsRequest& request) override;
  absl::StatusOr<api::ShowJobResponse> ShowJob(const api::ShowJobRequest& request) override;
  absl::StatusOr<api::ApproveJobResponse> ApproveJob(
      const api::ApproveJobRequest& request) override;
  absl::StatusOr<api::RevokeJobResponse> RevokeJob(const api::RevokeJobRequest& request) override;
  absl::StatusOr<api::RunJobResponse> RunJob(const api::RunJobRequest& request) override;
  absl::StatusOr<api::ShowJobRunResponse> ShowJobRun(
      const api::ShowJobRunRequest& request) override;
  absl::StatusOr<api::RegisterAssetResponse> RegisterAsset(
      const api::RegisterAssetRequest& request) override;
  absl::StatusOr<api::ListAssetsResponse> ListAssets(
      const api::ListAssetsRequest& request) override;
  absl::StatusOr<api::PolicyResponse> Policy(const api::PolicyRequest& request) override;
  absl::StatusOr<api::ListAuditResponse> ListAudit(const api::ListAuditRequest& request) override;
  absl::StatusOr<api::VerifyAuditResponse> VerifyAudit(
      const api::VerifyAuditRequest& request) override;

  // Embedded mode administers the home: it adds organisations, and RotateToken issues a new
  // token to the organisation named by --as (for one whose token was lost) without revoking any.
  absl::StatusOr<api::UploadResponse> Upload(
      const api::UploadRequest& request, const std::string& path,
      const std::function<void(int64_t sent, int64_t total)>& progress) override;
  absl::StatusOr<api::MemberKeyResponse> SetMemberKey(
      const api::SetMemberKeyRequest& request) override;
  absl::StatusOr<api::MemberKeyResponse> MemberKey(const api::MemberKeyRequest& request) override;
  absl::StatusOr<api::CollaborationRetentionResponse> SetCollaborationRetention(
      const api::SetCollaborationRetentionRequest& request) override;
  absl::StatusOr<api::CollaborationRetentionResponse> CollaborationRetention(
      const api::CollaborationRetentionRequest& request) override;
  absl::StatusOr<api::AddWebhookResponse> AddWebhook(
      const api::AddWebhookRequest& request) override;
  absl::StatusOr<api::ListWebhooksResponse> ListWebhooks(
      const api::ListWebhooksRequest& request) override;
  absl::StatusOr<api::RemoveWebhookResponse> RemoveWebhook(
      const api::RemoveWebhookRequest& request) override;
  absl::StatusOr<api::PsiSession> StartPsi(const api::StartPsiRequest& request) override;
  absl::StatusOr<api::PsiSession> ShowPsi(const api::PsiSessionRequest& request) override;
  absl::StatusOr<api::PsiSession> SendPsi(const api::SendPsiRequest& request) override;
  absl::StatusOr<api::ReceivePsiResponse> ReceivePsi(
      const api::ReceivePsiRequest& request) override;
  absl::StatusOr<api::WhoAmIResponse> WhoAmI(const api::WhoAmIRequest& request) override;
  absl::StatusOr<api::AddOrganisationResponse> AddOrganisation(
      const api::AddOrganisationRequest& request) override;
  absl::StatusOr<api::ListOrganisationsResponse> ListOrganisations(
      const api::ListOrganisationsRequest& request) override;
  absl::StatusOr<api::RotateTokenResponse> RotateToken(
      const api::RotateTokenRequest& request) override;
  absl::StatusOr<api::RevokeTokenResponse> RevokeToken(
      const api::RevokeTokenRequest& request) override;

 private:
  std::shared_ptr<api::LocalService> service_;
  // Embedded mode: --as, trusted by design (see identity/caller.h).
  identity::Caller caller_;
};

}  // namespace parley::cli
