#include "cli/local_backend.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/service_api.h"

namespace parley::cli {

LocalBackend::LocalBackend(std::string home, service::Options options, std::string actor)
    : home_(std::move(home)),
      options_(std::move(options)),
      caller_(identity::Caller::Embedded(std::move(actor))) {}

LocalBackend::~LocalBackend() = default;

absl::StatusOr<service::Service*> LocalBackend::Open() {
  if (service_ == nullptr) {
    PARLEY_ASSIGN_OR_RETURN(service_, service::Service::Open(home_, options_));
  }
  return service_.get();
}

absl::StatusOr<api::CreateCollaborationResponse> LocalBackend::CreateCollaboration(
    const api::CreateCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).CreateCollaboration(caller_, request);
}

absl::StatusOr<api::ListCollaborationsResponse> LocalBackend::ListCollaborations(
    const api::ListCollaborationsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListCollaborations(caller_, request);
}

absl::StatusOr<api::ShowCollaborationResponse> LocalBackend::ShowCollaboration(
    const api::ShowCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ShowCollaboration(caller_, request);
}

absl::StatusOr<api::AddMemberResponse> LocalBackend::AddMember(
    const api::AddMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).AddMember(caller_, request);
}

absl::StatusOr<api::RemoveMemberResponse> LocalBackend::RemoveMember(
    const api::RemoveMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RemoveMember(caller_, request);
}

absl::StatusOr<api::LeaveResponse> LocalBackend::Leave(const api::LeaveRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).Leave(caller_, request);
}

absl::StatusOr<api::AddTableResponse> LocalBackend::AddTable(const api::AddTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).AddTable(caller_, request);
}

absl::StatusOr<api::ListTablesResponse> LocalBackend::ListTables(
    const api::ListTablesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListTables(caller_, request);
}

absl::StatusOr<api::ShowTableResponse> LocalBackend::ShowTable(
    const api::ShowTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ShowTable(caller_, request);
}

absl::StatusOr<api::SetRuleResponse> LocalBackend::SetRule(const api::SetRuleRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).SetRule(caller_, request);
}

absl::StatusOr<api::ExplainResponse> LocalBackend::Explain(const api::ExplainRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).Explain(caller_, request);
}

absl::StatusOr<api::RunQueryResponse> LocalBackend::RunQuery(const api::RunQueryRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RunQuery(caller_, request);
}

absl::StatusOr<api::GetResultResponse> LocalBackend::GetResult(
    const api::GetResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).GetResult(caller_, request);
}

absl::StatusOr<api::ListQueriesResponse> LocalBackend::ListQueries(
    const api::ListQueriesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListQueries(caller_, request);
}

absl::StatusOr<api::QueryLogResponse> LocalBackend::QueryLog(const api::QueryLogRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).QueryLog(caller_, request);
}

absl::StatusOr<api::CreateTemplateResponse> LocalBackend::CreateTemplate(
    const api::CreateTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).CreateTemplate(caller_, request);
}

absl::StatusOr<api::ShowTemplateResponse> LocalBackend::ShowTemplate(
    const api::ShowTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ShowTemplate(caller_, request);
}

absl::StatusOr<api::ListTemplatesResponse> LocalBackend::ListTemplates(
    const api::ListTemplatesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListTemplates(caller_, request);
}

absl::StatusOr<api::ApproveTemplateResponse> LocalBackend::ApproveTemplate(
    const api::ApproveTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ApproveTemplate(caller_, request);
}

absl::StatusOr<api::RevokeTemplateResponse> LocalBackend::RevokeTemplate(
    const api::RevokeTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RevokeTemplate(caller_, request);
}

absl::StatusOr<api::RunTemplateResponse> LocalBackend::RunTemplate(
    const api::RunTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RunTemplate(caller_, request);
}

absl::StatusOr<api::PolicyResponse> LocalBackend::Policy(const api::PolicyRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).Policy(caller_, request);
}

absl::StatusOr<api::ListAuditResponse> LocalBackend::ListAudit(
    const api::ListAuditRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListAudit(caller_, request);
}

absl::StatusOr<api::WhoAmIResponse> LocalBackend::WhoAmI(const api::WhoAmIRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).WhoAmI(caller_, request);
}

absl::StatusOr<api::AddOrganisationResponse> LocalBackend::AddOrganisation(
    const api::AddOrganisationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).AddOrganisation(caller_, request);
}

absl::StatusOr<api::ListOrganisationsResponse> LocalBackend::ListOrganisations(
    const api::ListOrganisationsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).ListOrganisations(caller_, request);
}

absl::StatusOr<api::RotateTokenResponse> LocalBackend::RotateToken(
    const api::RotateTokenRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RotateToken(caller_, request);
}

absl::StatusOr<api::RevokeTokenResponse> LocalBackend::RevokeToken(
    const api::RevokeTokenRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).RevokeToken(caller_, request);
}

absl::StatusOr<api::VerifyAuditResponse> LocalBackend::VerifyAudit(
    const api::VerifyAuditRequest& request) {
  // Opening a home creates it: a mistyped --home would otherwise verify an empty, new log.
  std::error_code error;
  if (service_ == nullptr &&
      !std::filesystem::exists(std::filesystem::path(home_) / "catalog.db", error)) {
    return absl::NotFoundError(
        absl::StrCat("'", home_, "' is not a Parley home (it has no catalog.db)"));
  }
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return api::ServiceApi(*service).VerifyAudit(caller_, request);
}

}  // namespace parley::cli
