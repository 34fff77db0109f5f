#include "cli/local_backend.h"

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace parley::cli {

LocalBackend::LocalBackend(std::string home, api::LocalServiceOptions options, std::string actor)
    : LocalBackend(std::make_shared<api::LocalService>(std::move(home), std::move(options)),
                   std::move(actor)) {}

LocalBackend::LocalBackend(std::shared_ptr<api::LocalService> service, std::string actor)
    : service_(std::move(service)), caller_(identity::Caller::Embedded(std::move(actor))) {}

LocalBackend::~LocalBackend() = default;

absl::StatusOr<api::CreateCollaborationResponse> LocalBackend::CreateCollaboration(
    const api::CreateCollaborationRequest& request) {
  return service_->CreateCollaboration(caller_, request);
}

absl::StatusOr<api::ListCollaborationsResponse> LocalBackend::ListCollaborations(
    const api::ListCollaborationsRequest& request) {
  return service_->ListCollaborations(caller_, request);
}

absl::StatusOr<api::ShowCollaborationResponse> LocalBackend::ShowCollaboration(
    const api::ShowCollaborationRequest& request) {
  return service_->ShowCollaboration(caller_, request);
}

absl::StatusOr<api::CloseCollaborationResponse> LocalBackend::CloseCollaboration(
    const api::CloseCollaborationRequest& request) {
  return service_->CloseCollaboration(caller_, request);
}

absl::StatusOr<api::AddMemberResponse> LocalBackend::AddMember(
    const api::AddMemberRequest& request) {
  return service_->AddMember(caller_, request);
}

absl::StatusOr<api::RemoveMemberResponse> LocalBackend::RemoveMember(
    const api::RemoveMemberRequest& request) {
  return service_->RemoveMember(caller_, request);
}

absl::StatusOr<api::LeaveResponse> LocalBackend::Leave(const api::LeaveRequest& request) {
  return service_->Leave(caller_, request);
}

absl::StatusOr<api::AddTableResponse> LocalBackend::AddTable(const api::AddTableRequest& request) {
  return service_->AddTable(caller_, request);
}

absl::StatusOr<api::ListTablesResponse> LocalBackend::ListTables(
    const api::ListTablesRequest& request) {
  return service_->ListTables(caller_, request);
}

absl::StatusOr<api::ShowTableResponse> LocalBackend::ShowTable(
    const api::ShowTableRequest& request) {
  return service_->ShowTable(caller_, request);
}

absl::StatusOr<api::UpdateTableResponse> LocalBackend::UpdateTable(
    const api::UpdateTableRequest& request) {
  return service_->UpdateTable(caller_, request);
}

absl::StatusOr<api::RemoveTableResponse> LocalBackend::RemoveTable(
    const api::RemoveTableRequest& request) {
  return service_->RemoveTable(caller_, request);
}

absl::StatusOr<api::SetRuleResponse> LocalBackend::SetRule(const api::SetRuleRequest& request) {
  return service_->SetRule(caller_, request);
}

absl::StatusOr<api::ExplainResponse> LocalBackend::Explain(const api::ExplainRequest& request) {
  return service_->Explain(caller_, request);
}

absl::StatusOr<api::RunQueryResponse> LocalBackend::RunQuery(const api::RunQueryRequest& request) {
  return service_->RunQuery(caller_, request);
}

absl::StatusOr<api::BudgetResponse> LocalBackend::Budget(const api::BudgetRequest& request) {
  return service_->Budget(caller_, request);
}

absl::StatusOr<api::UsageResponse> LocalBackend::Usage(const api::UsageRequest& request) {
  return service_->Usage(caller_, request);
}

absl::StatusOr<api::UsageResponse> LocalBackend::SetUsageLimits(
    const api::SetUsageLimitsRequest& request) {
  return service_->SetUsageLimits(caller_, request);
}

absl::StatusOr<api::GetResultResponse> LocalBackend::GetResult(
    const api::GetResultRequest& request) {
  return service_->GetResult(caller_, request);
}

absl::StatusOr<api::ListResultsResponse> LocalBackend::ListResults(
    const api::ListResultsRequest& request) {
  return service_->ListResults(caller_, request);
}

absl::StatusOr<api::DeleteResultResponse> LocalBackend::DeleteResult(
    const api::DeleteResultRequest& request) {
  return service_->DeleteResult(caller_, request);
}

absl::StatusOr<api::HomeInfoResponse> LocalBackend::HomeInfo(const api::HomeInfoRequest& request) {
  return service_->HomeInfo(caller_, request);
}

absl::StatusOr<api::HomeInfoResponse> LocalBackend::SetResultRetention(
    const api::SetResultRetentionRequest& request) {
  return service_->SetResultRetention(caller_, request);
}

absl::StatusOr<api::ListQueriesResponse> LocalBackend::ListQueries(
    const api::ListQueriesRequest& request) {
  return service_->ListQueries(caller_, request);
}

absl::StatusOr<api::QueryLogResponse> LocalBackend::QueryLog(const api::QueryLogRequest& request) {
  return service_->QueryLog(caller_, request);
}

absl::StatusOr<api::CreateTemplateResponse> LocalBackend::CreateTemplate(
    const api::CreateTemplateRequest& request) {
  return service_->CreateTemplate(caller_, request);
}

absl::StatusOr<api::ShowTemplateResponse> LocalBackend::ShowTemplate(
    const api::ShowTemplateRequest& request) {
  return service_->ShowTemplate(caller_, request);
}

absl::StatusOr<api::ListTemplatesResponse> LocalBackend::ListTemplates(
    const api::ListTemplatesRequest& request) {
  return service_->ListTemplates(caller_, request);
}

absl::StatusOr<api::ApproveTemplateResponse> LocalBackend::ApproveTemplate(
    const api::ApproveTemplateRequest& request) {
  return service_->ApproveTemplate(caller_, request);
}

absl::StatusOr<api::RevokeTemplateResponse> LocalBackend::RevokeTemplate(
    const api::RevokeTemplateRequest& request) {
  return service_->RevokeTemplate(caller_, request);
}

absl::StatusOr<api::RunTemplateResponse> LocalBackend::RunTemplate(
    const api::RunTemplateRequest& request) {
  return service_->RunTemplate(caller_, request);
}

absl::StatusOr<api::PolicyResponse> LocalBackend::Policy(const api::PolicyRequest& request) {
  return service_->Policy(caller_, request);
}

absl::StatusOr<api::ListAuditResponse> LocalBackend::ListAudit(
    const api::ListAuditRequest& request) {
  return service_->ListAudit(caller_, request);
}

absl::StatusOr<api::VerifyAuditResponse> LocalBackend::VerifyAudit(
    const api::VerifyAuditRequest& request) {
  return service_->VerifyAudit(caller_, request);
}

absl::StatusOr<api::WhoAmIResponse> LocalBackend::WhoAmI(const api::WhoAmIRequest& request) {
  return service_->WhoAmI(caller_, request);
}

absl::StatusOr<api::AddOrganisationResponse> LocalBackend::AddOrganisation(
    const api::AddOrganisationRequest& request) {
  return service_->AddOrganisation(caller_, request);
}

absl::StatusOr<api::ListOrganisationsResponse> LocalBackend::ListOrganisations(
    const api::ListOrganisationsRequest& request) {
  return service_->ListOrganisations(caller_, request);
}

absl::StatusOr<api::RotateTokenResponse> LocalBackend::RotateToken(
    const api::RotateTokenRequest& request) {
  return service_->RotateToken(caller_, request);
}

absl::StatusOr<api::RevokeTokenResponse> LocalBackend::RevokeToken(
    const api::RevokeTokenRequest& request) {
  return service_->RevokeToken(caller_, request);
}

absl::StatusOr<api::InviteMemberResponse> LocalBackend::InviteMember(
    const api::InviteMemberRequest& request) {
  return service_->InviteMember(caller_, request);
}

absl::StatusOr<api::JoinResponse> LocalBackend::Join(const api::JoinRequest& request) {
  return service_->Join(caller_, request);
}

absl::StatusOr<api::ChangeResponse> LocalBackend::ProposeChange(
    const api::ProposeChangeRequest& request) {
  return service_->ProposeChange(caller_, request);
}

absl::StatusOr<api::ListChangesResponse> LocalBackend::ListChanges(
    const api::ListChangesRequest& request) {
  return service_->ListChanges(caller_, request);
}

absl::StatusOr<api::ChangeResponse> LocalBackend::ShowChange(const api::ChangeIdRequest& request) {
  return service_->ShowChange(caller_, request);
}

absl::StatusOr<api::ChangeResponse> LocalBackend::ApproveChange(
    const api::ChangeIdRequest& request) {
  return service_->ApproveChange(caller_, request);
}

absl::StatusOr<api::ChangeResponse> LocalBackend::DenyChange(const api::ChangeIdRequest& request) {
  return service_->DenyChange(caller_, request);
}

absl::StatusOr<api::ChangeResponse> LocalBackend::CancelChange(
    const api::ChangeIdRequest& request) {
  return service_->CancelChange(caller_, request);
}

absl::StatusOr<api::RunStatusResponse> LocalBackend::SubmitRun(
    const api::SubmitRunRequest& request) {
  return service_->SubmitRun(caller_, request);
}

absl::StatusOr<api::RunStatusResponse> LocalBackend::ShowRun(const api::RunIdRequest& request) {
  return service_->ShowRun(caller_, request);
}

absl::StatusOr<api::RunStatusResponse> LocalBackend::WaitRun(const api::WaitRunRequest& request) {
  return service_->WaitRun(caller_, request);
}

absl::StatusOr<api::RunStatusResponse> LocalBackend::CancelRun(const api::RunIdRequest& request) {
  return service_->CancelRun(caller_, request);
}

}  // namespace parley::cli

namespace parley::cli {

absl::StatusOr<api::UploadResponse> LocalBackend::Upload(
    const api::UploadRequest& request, const std::string& path,
    const std::function<void(int64_t sent, int64_t total)>& progress) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the file '", path, "'"));
  std::error_code error;
  int64_t total = static_cast<int64_t>(std::filesystem::file_size(path, error));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<api::UploadSink> sink,
                          service_->StartUpload(caller_, request));
  std::string buffer(1 << 16, '\0');
  int64_t sent = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    PARLEY_RETURN_IF_ERROR(sink->Write(std::string_view(buffer.data(), got)));
    sent += got;
    if (progress) progress(sent, total);
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read the file '", path, "'"));
  return sink->Commit();
}

absl::StatusOr<api::MemberKeyResponse> LocalBackend::SetMemberKey(
    const api::SetMemberKeyRequest& request) {
  return service_->SetMemberKey(caller_, request);
}

absl::StatusOr<api::MemberKeyResponse> LocalBackend::MemberKey(
    const api::MemberKeyRequest& request) {
  return service_->MemberKey(caller_, request);
}

absl::StatusOr<api::CollaborationRetentionResponse> LocalBackend::SetCollaborationRetention(
    const api::SetCollaborationRetentionRequest& request) {
  return service_->SetCollaborationRetention(caller_, request);
}

absl::StatusOr<api::CollaborationRetentionResponse> LocalBackend::CollaborationRetention(
    const api::CollaborationRetentionRequest& request) {
  return service_->CollaborationRetention(caller_, request);
}

absl::StatusOr<api::AddWebhookResponse> LocalBackend::AddWebhook(
    const api::AddWebhookRequest& request) {
  return service_->AddWebhook(caller_, request);
}

namespace {
absl::Status RelayNeedsServer() {
  return absl::FailedPreconditionError(
      "PSI through a server relays between two members' machines: give --server URL (in "
      "embedded mode, run `parley psi serve` and `parley psi connect` directly)");
}
}  // namespace

absl::StatusOr<api::PsiSession> LocalBackend::StartPsi(const api::StartPsiRequest&) {
  return RelayNeedsServer();
}
absl::StatusOr<api::PsiSession> LocalBackend::ShowPsi(const api::PsiSessionRequest&) {
  return RelayNeedsServer();
}
absl::StatusOr<api::PsiSession> LocalBackend::SendPsi(const api::SendPsiRequest&) {
  return RelayNeedsServer();
}
absl::StatusOr<api::ReceivePsiResponse> LocalBackend::ReceivePsi(const api::ReceivePsiRequest&) {
  return RelayNeedsServer();
}

absl::StatusOr<api::ListWebhooksResponse> LocalBackend::ListWebhooks(
    const api::ListWebhooksRequest& request) {
  return service_->ListWebhooks(caller_, request);
}

absl::StatusOr<api::RemoveWebhookResponse> LocalBackend::RemoveWebhook(
    const api::RemoveWebhookRequest& request) {
  return service_->RemoveWebhook(caller_, request);
}

absl::StatusOr<api::CreateJobResponse> LocalBackend::CreateJob(
    const api::CreateJobRequest& request) {
  return service_->CreateJob(caller_, request);
}

absl::StatusOr<api::ListJobsResponse> LocalBackend::ListJobs(const api::ListJobsRequest& request) {
  return service_->ListJobs(caller_, request);
}

absl::StatusOr<api::ShowJobResponse> LocalBackend::ShowJob(const api::ShowJobRequest& request) {
  return service_->ShowJob(caller_, request);
}

absl::StatusOr<api::ApproveJobResponse> LocalBackend::ApproveJob(
    const api::ApproveJobRequest& request) {
  return service_->ApproveJob(caller_, request);
}

absl::StatusOr<api::RevokeJobResponse> LocalBackend::RevokeJob(
    const api::RevokeJobRequest& request) {
  return service_->RevokeJob(caller_, request);
}

absl::StatusOr<api::RunJobResponse> LocalBackend::RunJob(const api::RunJobRequest& request) {
  return service_->RunJob(caller_, request);
}

absl::StatusOr<api::ShowJobRunResponse> LocalBackend::ShowJobRun(
    const api::ShowJobRunRequest& request) {
  return service_->ShowJobRun(caller_, request);
}

absl::StatusOr<api::RegisterAssetResponse> LocalBackend::RegisterAsset(
    const api::RegisterAssetRequest& request) {
  return service_->RegisterAsset(caller_, request);
}

absl::StatusOr<api::ListAssetsResponse> LocalBackend::ListAssets(
    const api::ListAssetsRequest& request) {
  return service_->ListAssets(caller_, request);
}

}  // namespace parley::cli
