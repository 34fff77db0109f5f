// Remote mode: the Backend that sends each API request to a Parley server over HTTP(S) as the
// organisation whose token it holds (`parley --server URL --token-file F ...`). The server
// answers with the same responses LocalBackend gives, so every command prints the same output
// and the same --json.
//
// The token is read from a file that only its owner may read: a token file readable by the
// group or others is refused, as is sending a token over plain HTTP to a host that is not
// loopback. A server that cannot be reached is Unavailable naming the URL; an error the server
// answers is the status its error object names (api/codec.h).
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "cli/backend.h"

namespace parley::cli {

// The token in `path`: FailedPrecondition when the file is not a regular file of the current
// user readable by its owner only (the message says how to fix it), NotFound when it cannot be
// read, InvalidArgument when it is empty. Leading and trailing white space is ignored.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Writes `token` to `path` readable by its owner only (0600), replacing the file atomically.
absl::Status WriteTokenFile(const std::string& path, const std::string& token);

class RemoteBackend : public Backend {
 public:
  // InvalidArgument for a URL that is not http(s)://HOST[:PORT], or http:// to a host that is
  // not loopback. `read_timeout_seconds` bounds how long one answer may take (a query's run).
  static absl::StatusOr<std::unique_ptr<RemoteBackend>> Connect(const std::string& url,
                                                                const std::string& token,
                                                                int read_timeout_seconds);
  ~RemoteBackend() override;

  absl::StatusOr<api::CreateCollaborationResponse> CreateCollaboration(
      const api::CreateCollaborationRequest& request) override;
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
  absl::StatusOr<api::BudgetResponse> Budget(const api::BudgetRequest& request) override;
  absl::StatusOr<api::UsageResponse> Usage(const api::UsageRequest& request) override;
  absl::StatusOr<api::UsageResponse> SetUsageLimits(
      const api::SetUsageLimitsRequest& request) override;
  absl::StatusOr<api::GetResultResponse> GetResult(const api::GetResultRequest& request) override;
  absl::StatusOr<api::ListResultsResponse> ListResults(
      const api::ListResultsRequest& request) override;
  absl::StatusOr<api::DeleteResultResponse> DeleteResult(
      const api::DeleteResultRequest& request) override;
  // The home is the server operator's: FailedPrecondition, nothing is sent.
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

  struct Impl;

 private:
  explicit RemoteBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::cli
