// The HTTP routes of the API: one Endpoint per use case, naming its method, its path under
// /api/v1/ and its request and response types. The server registers exactly these endpoints and
// the remote client calls them, so the two cannot disagree on a path; docs/openapi.json
// describes them and a test checks it against the server's route table.
//
// Path parameters ("{collaboration}") are fields of the request: the client takes them out of
// the request's JSON and into the path (percent-encoded), the server puts them back before it
// decodes the request strictly (api/codec.h). The other fields travel as the JSON body, which
// GET and DELETE requests do not have.
//
//   std::string path = *api::FillPath(api::kShowTable.route, fields);  // client
//   auto params = api::MatchPath(api::kShowTable.route.path, request_path);  // server
//
// Thread safety: constants and pure functions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/server_types.h"
#include "api/session.h"
#include "api/types.h"

namespace parley::api {

struct Route {
  const char* method;     // "GET" | "POST" | "PUT" | "DELETE"
  const char* path;       // e.g. "/api/v1/collaborations/{collaboration}/tables/{table}"
  const char* operation;  // the OpenAPI operationId
  bool authenticated = true;
  bool HasBody() const;
  // The upload route: its body is the file's bytes (application/octet-stream, streamed), and its
  // other fields travel as headers (api/server_data.h).
  bool Streamed() const;
};

template <class Request, class Response>
struct Endpoint {
  Route route;
};

// Every endpoint, once: X(Name, Request, Response, method, path). The server registers each with
// api::ServiceApi::Name, the OpenAPI document (api/openapi.h) describes each, and kName below is
// the Endpoint the client calls.
#define PARLEY_API_ENDPOINTS(X)                                                                    \
  X(WhoAmI, WhoAmIRequest, WhoAmIResponse, "GET", "/api/v1/whoami")                                \
  X(AddOrganisation, AddOrganisationRequest, AddOrganisationResponse, "POST",                      \
    "/api/v1/organisations")                                                                       \
  X(ListOrganisations, ListOrganisationsRequest, ListOrganisationsResponse, "GET",                 \
    "/api/v1/organisations")                                                                       \
  X(RotateToken, RotateTokenRequest, RotateTokenResponse, "POST", "/api/v1/tokens")                \
  X(RevokeToken, RevokeTokenRequest, RevokeTokenResponse, "DELETE", "/api/v1/tokens/{token_id}")   \
  X(CreateCollaboration, CreateCollaborationRequest, CreateCollaborationResponse, "POST",          \
    "/api/v1/collaborations")                                                                      \
  X(ListCollaborations, ListCollaborationsRequest, ListCollaborationsResponse, "GET",              \
    "/api/v1/collaborations")                                                                      \
  X(ShowCollaboration, ShowCollaborationRequest, ShowCollaborationResponse, "GET",                 \
    "/api/v1/collaborations/{collaboration}")                                                      \
  X(CloseCollaboration, CloseCollaborationRequest, CloseCollaborationResponse, "POST",             \
    "/api/v1/collaborations/{collaboration}/close")                                                \
  X(AddMember, AddMemberRequest, AddMemberResponse, "POST",                                        \
    "/api/v1/collaborations/{collaboration}/members")                                              \
  X(RemoveMember, RemoveMemberRequest, RemoveMemberResponse, "DELETE",                             \
    "/api/v1/collaborations/{collaboration}/members/{member}")                                     \
  X(InviteMember, InviteMemberRequest, InviteMemberResponse, "POST",                               \
    "/api/v1/collaborations/{collaboration}/invitations")                                          \
  X(Join, JoinRequest, JoinResponse, "POST", "/api/v1/join")                                       \
  X(ProposeChange, ProposeChangeRequest, ChangeResponse, "POST",                                   \
    "/api/v1/collaborations/{collaboration}/changes")                                              \
  X(ListChanges, ListChangesRequest, ListChangesResponse, "GET",                                   \
    "/api/v1/collaborations/{collaboration}/changes")                                              \
  X(ShowChange, ChangeIdRequest, ChangeResponse, "GET",                                            \
    "/api/v1/collaborations/{collaboration}/changes/{change_id}")                                  \
  X(ApproveChange, ChangeIdRequest, ChangeResponse, "POST",                                        \
    "/api/v1/collaborations/{collaboration}/changes/{change_id}/approve")                          \
  X(DenyChange, ChangeIdRequest, ChangeResponse, "POST",                                           \
    "/api/v1/collaborations/{collaboration}/changes/{change_id}/deny")                             \
  X(CancelChange, ChangeIdRequest, ChangeResponse, "POST",                                         \
    "/api/v1/collaborations/{collaboration}/changes/{change_id}/cancel")                           \
  X(Leave, LeaveRequest, LeaveResponse, "POST", "/api/v1/collaborations/{collaboration}/leave")    \
  X(AddTable, AddTableRequest, AddTableResponse, "POST",                                           \
    "/api/v1/collaborations/{collaboration}/tables")                                               \
  X(ListTables, ListTablesRequest, ListTablesResponse, "GET",                                      \
    "/api/v1/collaborations/{collaboration}/tables")                                               \
  X(ShowTable, ShowTableRequest, ShowTableResponse, "GET",                                         \
    "/api/v1/collaborations/{collaboration}/tables/{table}")                                       \
  X(SetRule, SetRuleRequest, SetRuleResponse, "PUT",                                               \
    "/api/v1/collaborations/{collaboration}/tables/{table}/rule")                                  \
  X(UpdateTable, UpdateTableRequest, UpdateTableResponse, "PUT",                                   \
    "/api/v1/collaborations/{collaboration}/tables/{table}/source")                                \
  X(RemoveTable, RemoveTableRequest, RemoveTableResponse, "DELETE",                                \
    "/api/v1/collaborations/{collaboration}/tables/{table}")                                       \
  X(Explain, ExplainRequest, ExplainResponse, "POST",                                              \
    "/api/v1/collaborations/{collaboration}/explain")                                              \
  X(RunQuery, RunQueryRequest, RunQueryResponse, "POST",                                           \
    "/api/v1/collaborations/{collaboration}/queries")                                              \
  X(SubmitRun, SubmitRunRequest, RunStatusResponse, "POST",                                        \
    "/api/v1/collaborations/{collaboration}/runs")                                                 \
  X(ShowRun, RunIdRequest, RunStatusResponse, "GET",                                               \
    "/api/v1/collaborations/{collaboration}/runs/{query_id}")                                      \
  X(WaitRun, WaitRunRequest, RunStatusResponse, "POST",                                            \
    "/api/v1/collaborations/{collaboration}/runs/{query_id}/wait")                                 \
  X(CancelRun, RunIdRequest, RunStatusResponse, "POST",                                            \
    "/api/v1/collaborations/{collaboration}/runs/{query_id}/cancel")                               \
  X(Budget, BudgetRequest, BudgetResponse, "GET", "/api/v1/collaborations/{collaboration}/budget") \
  X(Usage, UsageRequest, UsageResponse, "POST", "/api/v1/collaborations/{collaboration}/usage")    \
  X(SetUsageLimits, SetUsageLimitsRequest, UsageResponse, "PUT",                                   \
    "/api/v1/collaborations/{collaboration}/usage/limits")                                         \
  X(ListQueries, ListQueriesRequest, ListQueriesResponse, "GET",                                   \
    "/api/v1/collaborations/{collaboration}/queries")                                              \
  X(GetResult, GetResultRequest, GetResultResponse, "GET",                                         \
    "/api/v1/collaborations/{collaboration}/queries/{query_id}/result")                            \
  X(DeleteResult, DeleteResultRequest, DeleteResultResponse, "DELETE",                             \
    "/api/v1/collaborations/{collaboration}/queries/{query_id}/result")                            \
  X(ListResults, ListResultsRequest, ListResultsResponse, "GET",                                   \
    "/api/v1/collaborations/{collaboration}/results")                                              \
  X(QueryLog, QueryLogRequest, QueryLogResponse, "GET",                                            \
    "/api/v1/collaborations/{collaboration}/query-log")                                            \
  X(CreateTemplate, CreateTemplateRequest, CreateTemplateResponse, "POST",                         \
    "/api/v1/collaborations/{collaboration}/templates")                                            \
  X(ListTemplates, ListTemplatesRequest, ListTemplatesResponse, "GET",                             \
    "/api/v1/collaborations/{collaboration}/templates")                                            \
  X(ShowTemplate, ShowTemplateRequest, ShowTemplateResponse, "GET",                                \
    "/api/v1/collaborations/{collaboration}/templates/{template_id}")                              \
  X(ApproveTemplate, ApproveTemplateRequest, ApproveTemplateResponse, "POST",                      \
    "/api/v1/collaborations/{collaboration}/templates/{template_id}/approvals")                    \
  X(RevokeTemplate, RevokeTemplateRequest, RevokeTemplateResponse, "DELETE",                       \
    "/api/v1/collaborations/{collaboration}/templates/{template_id}/approvals/{table}")            \
  X(RunTemplate, RunTemplateRequest, RunTemplateResponse, "POST",                                  \
    "/api/v1/collaborations/{collaboration}/templates/{template_id}/runs")                         \
  X(CreateJob, CreateJobRequest, CreateJobResponse, "POST",                                        \
    "/api/v1/collaborations/{collaboration}/jobs")                                                 \
  X(ListJobs, ListJobsRequest, ListJobsResponse, "GET",                                            \
    "/api/v1/collaborations/{collaboration}/jobs")                                                 \
  X(ShowJob, ShowJobRequest, ShowJobResponse, "GET",                                               \
    "/api/v1/collaborations/{collaboration}/jobs/{job_id}")                                        \
  X(ApproveJob, ApproveJobRequest, ApproveJobResponse, "POST",                                     \
    "/api/v1/collaborations/{collaboration}/jobs/{job_id}/approvals")                              \
  X(RevokeJob, RevokeJobRequest, RevokeJobResponse, "DELETE",                                      \
    "/api/v1/collaborations/{collaboration}/jobs/{job_id}/approvals/{input}")                      \
  X(RunJob, RunJobRequest, RunJobResponse, "POST",                                                 \
    "/api/v1/collaborations/{collaboration}/jobs/{job_id}/runs")                                   \
  X(ShowJobRun, ShowJobRunRequest, ShowJobRunResponse, "GET",                                      \
    "/api/v1/collaborations/{collaboration}/job-runs/{run_id}")                                    \
  X(RegisterAsset, RegisterAssetRequest, RegisterAssetResponse, "POST",                            \
    "/api/v1/collaborations/{collaboration}/assets")                                               \
  X(ListAssets, ListAssetsRequest, ListAssetsResponse, "GET",                                      \
    "/api/v1/collaborations/{collaboration}/assets")                                               \
  X(Policy, PolicyRequest, PolicyResponse, "GET", "/api/v1/collaborations/{collaboration}/policy") \
  X(ListAudit, ListAuditRequest, ListAuditResponse, "GET",                                         \
    "/api/v1/collaborations/{collaboration}/audit")                                                \
  X(VerifyAudit, VerifyAuditRequest, VerifyAuditResponse, "POST",                                  \
    "/api/v1/collaborations/{collaboration}/audit/verify")                                         \
  X(Upload, UploadRequest, UploadResponse, "PUT", "/api/v1/uploads/{name}")                        \
  X(SetMemberKey, SetMemberKeyRequest, MemberKeyResponse, "PUT", "/api/v1/key")                    \
  X(MemberKey, MemberKeyRequest, MemberKeyResponse, "GET", "/api/v1/key")                          \
  X(SetCollaborationRetention, SetCollaborationRetentionRequest, CollaborationRetentionResponse,   \
    "PUT", "/api/v1/collaborations/{collaboration}/result-retention")                              \
  X(CollaborationRetention, CollaborationRetentionRequest, CollaborationRetentionResponse, "GET",  \
    "/api/v1/collaborations/{collaboration}/result-retention")                                     \
  X(AddWebhook, AddWebhookRequest, AddWebhookResponse, "POST",                                     \
    "/api/v1/collaborations/{collaboration}/webhooks")                                             \
  X(ListWebhooks, ListWebhooksRequest, ListWebhooksResponse, "GET",                                \
    "/api/v1/collaborations/{collaboration}/webhooks")                                             \
  X(RemoveWebhook, RemoveWebhookRequest, RemoveWebhookResponse, "DELETE",                          \
    "/api/v1/collaborations/{collaboration}/webhooks/{webhook_id}")                                \
  PARLEY_PSI_ENDPOINTS(X)

// PSI relayed through the server (api/psi.h).
#define PARLEY_PSI_ENDPOINTS(X)                                                                  \
  X(StartPsi, StartPsiRequest, PsiSession, "POST", "/api/v1/collaborations/{collaboration}/psi") \
  X(ShowPsi, PsiSessionRequest, PsiSession, "GET",                                               \
    "/api/v1/collaborations/{collaboration}/psi/{session}")                                      \
  X(SendPsi, SendPsiRequest, PsiSession, "POST",                                                 \
    "/api/v1/collaborations/{collaboration}/psi/{session}/frames")                               \
  X(ReceivePsi, ReceivePsiRequest, ReceivePsiResponse, "POST",                                   \
    "/api/v1/collaborations/{collaboration}/psi/{session}/receive")

#define PARLEY_ENDPOINT(name, request, response, method, path) \
  inline constexpr Endpoint<request, response> k##name{{method, path, #name}};
PARLEY_API_ENDPOINTS(PARLEY_ENDPOINT)
#undef PARLEY_ENDPOINT

// The console's sign-in session (api/session.h, server/console.h): answered by the server itself,
// not the service. Signing in is the one route that takes no credential: its body carries the
// token.
#define PARLEY_SESSION_ENDPOINTS(X)                                                   \
  X(SignIn, SignInRequest, SessionResponse, "POST", "/api/v1/session", false)         \
  X(ShowSession, ShowSessionRequest, SessionResponse, "GET", "/api/v1/session", true) \
  X(SignOut, SignOutRequest, SignOutResponse, "DELETE", "/api/v1/session", true)

#define PARLEY_SESSION_ENDPOINT(name, request, response, method, path, authenticated) \
  inline constexpr Endpoint<request, response> k##name{{method, path, #name, authenticated}};
PARLEY_SESSION_ENDPOINTS(PARLEY_SESSION_ENDPOINT)
#undef PARLEY_SESSION_ENDPOINT

// The names of a path pattern's parameters, in order: {"collaboration", "table"}.
std::vector<std::string> PathParameters(std::string_view pattern);

// The fields of a route's request that travel in the query string ("?limit=50&before=120"),
// each an optional integer: a list pages through it (ListAudit). Empty for most routes, which
// then take no query parameter at all.
std::vector<std::string> QueryParameters(const Route& route);

// Client side: the path of `route` with each parameter taken out of `fields` (a request's JSON
// object) and percent-encoded. InvalidArgument when a parameter is missing or not a string or
// integer; and, for a route without a body, when any field is left over that is not one of its
// query parameters (those are appended as "?name=value", when set).
absl::StatusOr<std::string> FillPath(const Route& route, nlohmann::json& fields);

// Server side: the parameters of `path` (already percent-decoded) when it matches `pattern`.
std::optional<std::map<std::string, std::string>> MatchPath(std::string_view pattern,
                                                            std::string_view path);

// Server side: the request's JSON object from its body (empty for a route without a body), its
// path parameters and its query string's parameters. InvalidArgument naming the field when a
// parameter is also in the body, when a parameter that is an integer field ("query_id", a
// query parameter) is not a number, or when the query string names a parameter the route does
// not take, or one twice. The result is then decoded strictly with FromJson.
absl::StatusOr<nlohmann::json> RequestJson(
    const Route& route, const std::map<std::string, std::string>& parameters, std::string_view body,
    const std::multimap<std::string, std::string>& query = {});

}  // namespace parley::api
