#include "cli/local_backend.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/from_service.h"

namespace parley::cli {

LocalBackend::LocalBackend(std::string home, service::Options options, std::string actor)
    : home_(std::move(home)),
      options_(std::move(options)),
      actor_(actor),
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
  PARLEY_ASSIGN_OR_RETURN(service::NewMember creator,
                          api::MemberToService(actor_, request.creator_abilities));
  service::NewCollaboration collaboration{request.name, request.description, creator.abilities,
                                          request.query_logging};
  PARLEY_RETURN_IF_ERROR(service->CreateCollaboration(caller_, collaboration));
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration created,
                          service->ShowCollaboration(caller_, request.name));
  return api::CreateCollaborationResponse{api::FromService(created)};
}

absl::StatusOr<api::ListCollaborationsResponse> LocalBackend::ListCollaborations(
    const api::ListCollaborationsRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto collaborations, service->ListCollaborations(caller_));
  api::ListCollaborationsResponse response;
  for (const catalog::Collaboration& c : collaborations) {
    response.collaborations.push_back(api::FromService(c));
  }
  return response;
}

absl::StatusOr<api::ShowCollaborationResponse> LocalBackend::ShowCollaboration(
    const api::ShowCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                          service->ShowCollaboration(caller_, request.collaboration));
  return api::ShowCollaborationResponse{api::FromService(collaboration)};
}

absl::StatusOr<api::AddMemberResponse> LocalBackend::AddMember(
    const api::AddMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::NewMember member,
                          api::MemberToService(request.member, request.abilities));
  PARLEY_RETURN_IF_ERROR(service->AddMember(caller_, request.collaboration, member));
  return api::AddMemberResponse{
      request.collaboration,
      {member.name, api::AbilityNames(member.abilities), catalog::MemberStatusName(member.status)}};
}

absl::StatusOr<api::RemoveMemberResponse> LocalBackend::RemoveMember(
    const api::RemoveMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RemoveMember(caller_, request.collaboration, request.member));
  return api::RemoveMemberResponse{request.collaboration, request.member};
}

absl::StatusOr<api::LeaveResponse> LocalBackend::Leave(const api::LeaveRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->Leave(caller_, request.collaboration));
  return api::LeaveResponse{request.collaboration, actor_};
}

absl::StatusOr<api::AddTableResponse> LocalBackend::AddTable(const api::AddTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->AddTable(
      caller_, {request.collaboration, request.table, request.source, request.columns}));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller_, request.collaboration, request.table));
  return api::AddTableResponse{api::FromService(table)};
}

absl::StatusOr<api::ListTablesResponse> LocalBackend::ListTables(
    const api::ListTablesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto tables, service->ListTables(caller_, request.collaboration));
  api::ListTablesResponse response;
  for (const service::TableView& table : tables) response.tables.push_back(api::FromService(table));
  return response;
}

absl::StatusOr<api::ShowTableResponse> LocalBackend::ShowTable(
    const api::ShowTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller_, request.collaboration, request.table));
  return api::ShowTableResponse{api::FromService(table)};
}

absl::StatusOr<api::SetRuleResponse> LocalBackend::SetRule(const api::SetRuleRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->SetRule(caller_, request.collaboration, request.table, api::Dump(request.rule)));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller_, request.collaboration, request.table));
  return api::SetRuleResponse{api::FromService(table)};
}

absl::StatusOr<api::ExplainResponse> LocalBackend::Explain(const api::ExplainRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::Explanation explanation,
      service->Explain(caller_, request.collaboration, request.sql, request.receivers));
  return api::ExplainResponse{api::FromService(explanation)};
}

absl::StatusOr<api::RunQueryResponse> LocalBackend::RunQuery(const api::RunQueryRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome outcome,
      service->Run(caller_, request.collaboration, request.sql, request.receivers));
  return api::FromService(outcome);
}

absl::StatusOr<api::GetResultResponse> LocalBackend::GetResult(
    const api::GetResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result,
                          service->Result(caller_, request.collaboration, request.query_id));
  return api::GetResultResponse{request.query_id, api::FromService(result)};
}

absl::StatusOr<api::ListResultsResponse> LocalBackend::ListResults(
    const api::ListResultsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto results, service->ListResults(caller_, request.collaboration));
  api::ListResultsResponse response;
  for (const service::StoredResultView& r : results) {
    response.results.push_back(
        {r.query_id, r.created_at, r.runner, r.receivers, r.row_count, r.bytes});
  }
  return response;
}

absl::StatusOr<api::DeleteResultResponse> LocalBackend::DeleteResult(
    const api::DeleteResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->DeleteResult(caller_, request.collaboration, request.query_id));
  return api::DeleteResultResponse{request.collaboration, request.query_id};
}

namespace {
api::HomeInfoResponse ToApi(const service::HomeInfo& info) {
  return {info.path,         info.total_bytes,  info.catalog_bytes,
          info.result_count, info.result_bytes, info.result_retention_days};
}
}  // namespace

absl::StatusOr<api::HomeInfoResponse> LocalBackend::HomeInfo(const api::HomeInfoRequest&) {
  // Like audit verify without -c: a mistyped --home is not made into a new, empty home.
  std::error_code error;
  if (service_ == nullptr &&
      !std::filesystem::exists(std::filesystem::path(home_) / "catalog.db", error)) {
    return absl::NotFoundError(
        absl::StrCat("'", home_, "' is not a Parley home (it has no catalog.db)"));
  }
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::HomeInfo info, service->Home());
  return ToApi(info);
}

absl::StatusOr<api::HomeInfoResponse> LocalBackend::SetResultRetention(
    const api::SetResultRetentionRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->SetResultRetention(request.days));
  PARLEY_ASSIGN_OR_RETURN(service::HomeInfo info, service->Home());
  return ToApi(info);
}

absl::StatusOr<api::ListQueriesResponse> LocalBackend::ListQueries(
    const api::ListQueriesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto queries, service->ListQueries(caller_, request.collaboration));
  api::ListQueriesResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(api::FromService(query));
  }
  return response;
}

absl::StatusOr<api::QueryLogResponse> LocalBackend::QueryLog(const api::QueryLogRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto queries, service->QueryLog(caller_, request.collaboration));
  api::QueryLogResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(api::FromService(query));
  }
  return response;
}

absl::StatusOr<api::CreateTemplateResponse> LocalBackend::CreateTemplate(
    const api::CreateTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::string id,
                          service->CreateTemplate(caller_, {request.collaboration, request.name,
                                                            request.sql, request.parameters}));
  PARLEY_ASSIGN_OR_RETURN(service::TemplateView view,
                          service->ShowTemplate(caller_, request.collaboration, id));
  return api::CreateTemplateResponse{api::FromService(view)};
}

absl::StatusOr<api::ShowTemplateResponse> LocalBackend::ShowTemplate(
    const api::ShowTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller_, request.collaboration, request.template_id));
  return api::ShowTemplateResponse{api::FromService(view)};
}

absl::StatusOr<api::ListTemplatesResponse> LocalBackend::ListTemplates(
    const api::ListTemplatesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto views, service->ListTemplates(caller_, request.collaboration));
  api::ListTemplatesResponse response;
  for (const service::TemplateView& view : views) {
    response.templates.push_back(api::FromService(view));
  }
  return response;
}

absl::StatusOr<api::ApproveTemplateResponse> LocalBackend::ApproveTemplate(
    const api::ApproveTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->ApproveTemplate(caller_, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller_, request.collaboration, request.template_id));
  return api::ApproveTemplateResponse{api::FromService(view)};
}

absl::StatusOr<api::RevokeTemplateResponse> LocalBackend::RevokeTemplate(
    const api::RevokeTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->RevokeTemplate(caller_, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller_, request.collaboration, request.template_id));
  return api::RevokeTemplateResponse{api::FromService(view)};
}

absl::StatusOr<api::RunTemplateResponse> LocalBackend::RunTemplate(
    const api::RunTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::QueryOutcome outcome,
                          service->RunTemplate(caller_, request.collaboration, request.template_id,
                                               request.parameters, request.receivers));
  return api::FromService(outcome);
}

absl::StatusOr<api::PolicyResponse> LocalBackend::Policy(const api::PolicyRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::PolicyView policy,
                          service->Policy(caller_, request.collaboration));
  return api::FromService(request.collaboration, policy);
}

absl::StatusOr<api::ListAuditResponse> LocalBackend::ListAudit(
    const api::ListAuditRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto entries, service->ListAudit(caller_, request.collaboration));
  api::ListAuditResponse response{request.collaboration, {}};
  for (const catalog::AuditEntry& entry : entries) {
    response.entries.push_back(api::FromService(entry));
  }
  return response;
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
  if (!request.collaboration) {
    PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification, service->VerifyAudit());
    return api::FromService(verification, /*expected_head_given=*/false);
  }
  std::string expected_head = request.expected_head.value_or("");
  PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification,
                          service->VerifyAudit(caller_, *request.collaboration, expected_head));
  return api::FromService(verification, !expected_head.empty());
}

}  // namespace parley::cli
