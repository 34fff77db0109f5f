// Every use case of the service in API terms, for a given caller: decode nothing, encode nothing,
// just turn an API request into the service call and the service's answer into the API response.
// The two front ends that hold a Service share it: the CLI's LocalBackend (the caller named by
// --as) and the HTTP server (the caller its bearer token authenticates), so both answer a request
// with the same response.
//
//   api::ServiceApi api(*service);
//   PARLEY_ASSIGN_OR_RETURN(api::ListTablesResponse tables, api.ListTables(caller, request));
//
// Thread safety: as the service (any number of threads); ServiceApi holds only the reference.
#pragma once

#include "absl/status/statusor.h"
#include "api/server_types.h"
#include "api/types.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::api {

class ServiceApi {
 public:
  explicit ServiceApi(service::Service& service) : service_(service) {}
  using Caller = identity::Caller;

  absl::StatusOr<CreateCollaborationResponse> CreateCollaboration(
      const Caller& caller, const CreateCollaborationRequest& request);
  absl::StatusOr<ListCollaborationsResponse> ListCollaborations(
      const Caller& caller, const ListCollaborationsRequest& request);
  absl::StatusOr<ShowCollaborationResponse> ShowCollaboration(
      const Caller& caller, const ShowCollaborationRequest& request);
  absl::StatusOr<AddMemberResponse> AddMember(const Caller& caller,
                                              const AddMemberRequest& request);
  absl::StatusOr<RemoveMemberResponse> RemoveMember(const Caller& caller,
                                                    const RemoveMemberRequest& request);
  absl::StatusOr<LeaveResponse> Leave(const Caller& caller, const LeaveRequest& request);
  absl::StatusOr<AddTableResponse> AddTable(const Caller& caller, const AddTableRequest& request);
  absl::StatusOr<ListTablesResponse> ListTables(const Caller& caller,
                                                const ListTablesRequest& request);
  absl::StatusOr<ShowTableResponse> ShowTable(const Caller& caller,
                                              const ShowTableRequest& request);
  absl::StatusOr<SetRuleResponse> SetRule(const Caller& caller, const SetRuleRequest& request);
  absl::StatusOr<ExplainResponse> Explain(const Caller& caller, const ExplainRequest& request);
  absl::StatusOr<RunQueryResponse> RunQuery(const Caller& caller, const RunQueryRequest& request);
  absl::StatusOr<GetResultResponse> GetResult(const Caller& caller,
                                              const GetResultRequest& request);
  absl::StatusOr<ListQueriesResponse> ListQueries(const Caller& caller,
                                                  const ListQueriesRequest& request);
  absl::StatusOr<QueryLogResponse> QueryLog(const Caller& caller, const QueryLogRequest& request);
  absl::StatusOr<CreateTemplateResponse> CreateTemplate(const Caller& caller,
                                                        const CreateTemplateRequest& request);
  absl::StatusOr<ShowTemplateResponse> ShowTemplate(const Caller& caller,
                                                    const ShowTemplateRequest& request);
  absl::StatusOr<ListTemplatesResponse> ListTemplates(const Caller& caller,
                                                      const ListTemplatesRequest& request);
  absl::StatusOr<ApproveTemplateResponse> ApproveTemplate(const Caller& caller,
                                                          const ApproveTemplateRequest& request);
  absl::StatusOr<RevokeTemplateResponse> RevokeTemplate(const Caller& caller,
                                                        const RevokeTemplateRequest& request);
  absl::StatusOr<RunTemplateResponse> RunTemplate(const Caller& caller,
                                                  const RunTemplateRequest& request);
  absl::StatusOr<PolicyResponse> Policy(const Caller& caller, const PolicyRequest& request);
  absl::StatusOr<ListAuditResponse> ListAudit(const Caller& caller,
                                              const ListAuditRequest& request);
  // Without a collaboration: every chain of the home, for an embedded caller (the operator at
  // the console) only; PermissionDenied for a remote one.
  absl::StatusOr<VerifyAuditResponse> VerifyAudit(const Caller& caller,
                                                  const VerifyAuditRequest& request);

  // The server's identities (api/server_types.h).
  absl::StatusOr<WhoAmIResponse> WhoAmI(const Caller& caller, const WhoAmIRequest& request);
  absl::StatusOr<AddOrganisationResponse> AddOrganisation(const Caller& caller,
                                                          const AddOrganisationRequest& request);
  absl::StatusOr<ListOrganisationsResponse> ListOrganisations(
      const Caller& caller, const ListOrganisationsRequest& request);
  absl::StatusOr<RotateTokenResponse> RotateToken(const Caller& caller,
                                                  const RotateTokenRequest& request);
  absl::StatusOr<RevokeTokenResponse> RevokeToken(const Caller& caller,
                                                  const RevokeTokenRequest& request);

 private:
  service::Service& service_;
};

}  // namespace parley::api
