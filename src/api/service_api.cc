#include "api/service_api.h"

#include <utility>

#include "api/codec.h"
#include "api/from_service.h"

namespace parley::api {

absl::StatusOr<CreateCollaborationResponse> ServiceApi::CreateCollaboration(
    const Caller& caller, const CreateCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::NewMember creator,
                          MemberToService(caller.member(), request.creator_abilities));
  service::NewCollaboration collaboration{request.name, request.description, creator.abilities,
                                          request.query_logging};
  PARLEY_RETURN_IF_ERROR(service_.CreateCollaboration(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration created,
                          service_.ShowCollaboration(caller, request.name));
  return CreateCollaborationResponse{FromService(created)};
}

absl::StatusOr<ListCollaborationsResponse> ServiceApi::ListCollaborations(
    const Caller& caller, const ListCollaborationsRequest&) {
  PARLEY_ASSIGN_OR_RETURN(auto collaborations, service_.ListCollaborations(caller));
  ListCollaborationsResponse response;
  for (const catalog::Collaboration& c : collaborations) {
    response.collaborations.push_back(FromService(c));
  }
  return response;
}

absl::StatusOr<ShowCollaborationResponse> ServiceApi::ShowCollaboration(
    const Caller& caller, const ShowCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                          service_.ShowCollaboration(caller, request.collaboration));
  return ShowCollaborationResponse{FromService(collaboration)};
}

absl::StatusOr<AddMemberResponse> ServiceApi::AddMember(const Caller& caller,
                                                        const AddMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::NewMember member,
                          MemberToService(request.member, request.abilities));
  PARLEY_RETURN_IF_ERROR(service_.AddMember(caller, request.collaboration, member));
  return AddMemberResponse{
      request.collaboration,
      {member.name, AbilityNames(member.abilities), catalog::MemberStatusName(member.status)}};
}

absl::StatusOr<RemoveMemberResponse> ServiceApi::RemoveMember(const Caller& caller,
                                                              const RemoveMemberRequest& request) {
  PARLEY_RETURN_IF_ERROR(service_.RemoveMember(caller, request.collaboration, request.member));
  return RemoveMemberResponse{request.collaboration, request.member};
}

absl::StatusOr<LeaveResponse> ServiceApi::Leave(const Caller& caller, const LeaveRequest& request) {
  PARLEY_RETURN_IF_ERROR(service_.Leave(caller, request.collaboration));
  return LeaveResponse{request.collaboration, caller.member()};
}

absl::StatusOr<AddTableResponse> ServiceApi::AddTable(const Caller& caller,
                                                      const AddTableRequest& request) {
  PARLEY_RETURN_IF_ERROR(service_.AddTable(
      caller, {request.collaboration, request.table, request.source, request.columns}));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service_.ShowTable(caller, request.collaboration, request.table));
  return AddTableResponse{FromService(table)};
}

absl::StatusOr<ListTablesResponse> ServiceApi::ListTables(const Caller& caller,
                                                          const ListTablesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(auto tables, service_.ListTables(caller, request.collaboration));
  ListTablesResponse response;
  for (const service::TableView& table : tables) response.tables.push_back(FromService(table));
  return response;
}

absl::StatusOr<ShowTableResponse> ServiceApi::ShowTable(const Caller& caller,
                                                        const ShowTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service_.ShowTable(caller, request.collaboration, request.table));
  return ShowTableResponse{FromService(table)};
}

absl::StatusOr<SetRuleResponse> ServiceApi::SetRule(const Caller& caller,
                                                    const SetRuleRequest& request) {
  PARLEY_RETURN_IF_ERROR(
      service_.SetRule(caller, request.collaboration, request.table, Dump(request.rule)));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service_.ShowTable(caller, request.collaboration, request.table));
  return SetRuleResponse{FromService(table)};
}

absl::StatusOr<ExplainResponse> ServiceApi::Explain(const Caller& caller,
                                                    const ExplainRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(
      service::Explanation explanation,
      service_.Explain(caller, request.collaboration, request.sql, request.receivers));
  return ExplainResponse{FromService(explanation)};
}

absl::StatusOr<RunQueryResponse> ServiceApi::RunQuery(const Caller& caller,
                                                      const RunQueryRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome outcome,
      service_.Run(caller, request.collaboration, request.sql, request.receivers));
  return FromService(outcome);
}

absl::StatusOr<GetResultResponse> ServiceApi::GetResult(const Caller& caller,
                                                        const GetResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result,
                          service_.Result(caller, request.collaboration, request.query_id));
  return GetResultResponse{request.query_id, FromService(result)};
}

absl::StatusOr<ListQueriesResponse> ServiceApi::ListQueries(const Caller& caller,
                                                            const ListQueriesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(auto queries, service_.ListQueries(caller, request.collaboration));
  ListQueriesResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(FromService(query));
  }
  return response;
}

absl::StatusOr<QueryLogResponse> ServiceApi::QueryLog(const Caller& caller,
                                                      const QueryLogRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(auto queries, service_.QueryLog(caller, request.collaboration));
  QueryLogResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(FromService(query));
  }
  return response;
}

absl::StatusOr<CreateTemplateResponse> ServiceApi::CreateTemplate(
    const Caller& caller, const CreateTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(std::string id,
                          service_.CreateTemplate(caller, {request.collaboration, request.name,
                                                           request.sql, request.parameters}));
  PARLEY_ASSIGN_OR_RETURN(service::TemplateView view,
                          service_.ShowTemplate(caller, request.collaboration, id));
  return CreateTemplateResponse{FromService(view)};
}

absl::StatusOr<ShowTemplateResponse> ServiceApi::ShowTemplate(const Caller& caller,
                                                              const ShowTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service_.ShowTemplate(caller, request.collaboration, request.template_id));
  return ShowTemplateResponse{FromService(view)};
}

absl::StatusOr<ListTemplatesResponse> ServiceApi::ListTemplates(
    const Caller& caller, const ListTemplatesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(auto views, service_.ListTemplates(caller, request.collaboration));
  ListTemplatesResponse response;
  for (const service::TemplateView& view : views) {
    response.templates.push_back(FromService(view));
  }
  return response;
}

absl::StatusOr<ApproveTemplateResponse> ServiceApi::ApproveTemplate(
    const Caller& caller, const ApproveTemplateRequest& request) {
  PARLEY_RETURN_IF_ERROR(
      service_.ApproveTemplate(caller, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service_.ShowTemplate(caller, request.collaboration, request.template_id));
  return ApproveTemplateResponse{FromService(view)};
}

absl::StatusOr<RevokeTemplateResponse> ServiceApi::RevokeTemplate(
    const Caller& caller, const RevokeTemplateRequest& request) {
  PARLEY_RETURN_IF_ERROR(
      service_.RevokeTemplate(caller, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service_.ShowTemplate(caller, request.collaboration, request.template_id));
  return RevokeTemplateResponse{FromService(view)};
}

absl::StatusOr<RunTemplateResponse> ServiceApi::RunTemplate(const Caller& caller,
                                                            const RunTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::QueryOutcome outcome,
                          service_.RunTemplate(caller, request.collaboration, request.template_id,
                                               request.parameters, request.receivers));
  return FromService(outcome);
}

absl::StatusOr<PolicyResponse> ServiceApi::Policy(const Caller& caller,
                                                  const PolicyRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::PolicyView policy,
                          service_.Policy(caller, request.collaboration));
  return FromService(request.collaboration, policy);
}

absl::StatusOr<ListAuditResponse> ServiceApi::ListAudit(const Caller& caller,
                                                        const ListAuditRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(auto entries, service_.ListAudit(caller, request.collaboration));
  ListAuditResponse response{request.collaboration, {}};
  for (const catalog::AuditEntry& entry : entries) {
    response.entries.push_back(FromService(entry));
  }
  return response;
}

absl::StatusOr<VerifyAuditResponse> ServiceApi::VerifyAudit(const Caller& caller,
                                                            const VerifyAuditRequest& request) {
  if (!request.collaboration) {
    if (caller.authentication() != identity::Authentication::kEmbedded) {
      return absl::PermissionDeniedError(
          "verifying every chain of the home is for its operator; name a collaboration");
    }
    PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification, service_.VerifyAudit());
    return FromService(verification, /*expected_head_given=*/false);
  }
  std::string expected_head = request.expected_head.value_or("");
  PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification,
                          service_.VerifyAudit(caller, *request.collaboration, expected_head));
  return FromService(verification, !expected_head.empty());
}

absl::StatusOr<WhoAmIResponse> ServiceApi::WhoAmI(const Caller& caller, const WhoAmIRequest&) {
  return WhoAmIResponse{caller.member(), caller.administers(), caller.token_id()};
}

namespace {
IssuedTokenResponse FromIssued(const service::IssuedToken& issued) {
  IssuedTokenResponse response{issued.organisation, issued.token_id, issued.token, std::nullopt};
  if (!issued.revoked_token_id.empty()) response.revoked_token_id = issued.revoked_token_id;
  return response;
}
}  // namespace

absl::StatusOr<AddOrganisationResponse> ServiceApi::AddOrganisation(
    const Caller& caller, const AddOrganisationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::IssuedToken issued,
                          service_.AddOrganisation(caller, request.name));
  return FromIssued(issued);
}

absl::StatusOr<ListOrganisationsResponse> ServiceApi::ListOrganisations(
    const Caller& caller, const ListOrganisationsRequest&) {
  PARLEY_ASSIGN_OR_RETURN(auto organisations, service_.ListOrganisations(caller));
  ListOrganisationsResponse response;
  for (const catalog::Organisation& organisation : organisations) {
    response.organisations.push_back(
        {organisation.name, organisation.admin, organisation.created_at});
  }
  return response;
}

absl::StatusOr<RotateTokenResponse> ServiceApi::RotateToken(const Caller& caller,
                                                            const RotateTokenRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::IssuedToken issued, service_.RotateToken(caller));
  return FromIssued(issued);
}

absl::StatusOr<RevokeTokenResponse> ServiceApi::RevokeToken(const Caller& caller,
                                                            const RevokeTokenRequest& request) {
  PARLEY_RETURN_IF_ERROR(service_.RevokeToken(caller, request.token_id));
  return RevokeTokenResponse{caller.member(), request.token_id};
}

}  // namespace parley::api
