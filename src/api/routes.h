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
#include "api/types.h"

namespace parley::api {

struct Route {
  const char* method;     // "GET" | "POST" | "PUT" | "DELETE"
  const char* path;       // e.g. "/api/v1/collaborations/{collaboration}/tables/{table}"
  const char* operation;  // the OpenAPI operationId
  bool authenticated = true;
  bool HasBody() const;
};

template <class Request, class Response>
struct Endpoint {
  Route route;
};

#define PARLEY_ENDPOINT(name, request, response, method, path) \
  inline constexpr Endpoint<request, response> k##name{{method, path, #name}};

PARLEY_ENDPOINT(WhoAmI, WhoAmIRequest, WhoAmIResponse, "GET", "/api/v1/whoami")
PARLEY_ENDPOINT(AddOrganisation, AddOrganisationRequest, AddOrganisationResponse, "POST",
                "/api/v1/organisations")
PARLEY_ENDPOINT(ListOrganisations, ListOrganisationsRequest, ListOrganisationsResponse, "GET",
                "/api/v1/organisations")
PARLEY_ENDPOINT(RotateToken, RotateTokenRequest, RotateTokenResponse, "POST",
                "/api/v1/tokens/rotate")
PARLEY_ENDPOINT(RevokeToken, RevokeTokenRequest, RevokeTokenResponse, "DELETE",
                "/api/v1/tokens/{token_id}")

PARLEY_ENDPOINT(CreateCollaboration, CreateCollaborationRequest, CreateCollaborationResponse,
                "POST", "/api/v1/collaborations")
PARLEY_ENDPOINT(ListCollaborations, ListCollaborationsRequest, ListCollaborationsResponse, "GET",
                "/api/v1/collaborations")
PARLEY_ENDPOINT(ShowCollaboration, ShowCollaborationRequest, ShowCollaborationResponse, "GET",
                "/api/v1/collaborations/{collaboration}")
PARLEY_ENDPOINT(AddMember, AddMemberRequest, AddMemberResponse, "POST",
                "/api/v1/collaborations/{collaboration}/members")
PARLEY_ENDPOINT(RemoveMember, RemoveMemberRequest, RemoveMemberResponse, "DELETE",
                "/api/v1/collaborations/{collaboration}/members/{member}")
PARLEY_ENDPOINT(Leave, LeaveRequest, LeaveResponse, "POST",
                "/api/v1/collaborations/{collaboration}/leave")
PARLEY_ENDPOINT(AddTable, AddTableRequest, AddTableResponse, "POST",
                "/api/v1/collaborations/{collaboration}/tables")
PARLEY_ENDPOINT(ListTables, ListTablesRequest, ListTablesResponse, "GET",
                "/api/v1/collaborations/{collaboration}/tables")
PARLEY_ENDPOINT(ShowTable, ShowTableRequest, ShowTableResponse, "GET",
                "/api/v1/collaborations/{collaboration}/tables/{table}")
PARLEY_ENDPOINT(SetRule, SetRuleRequest, SetRuleResponse, "PUT",
                "/api/v1/collaborations/{collaboration}/tables/{table}/rule")
PARLEY_ENDPOINT(Explain, ExplainRequest, ExplainResponse, "POST",
                "/api/v1/collaborations/{collaboration}/explain")
PARLEY_ENDPOINT(RunQuery, RunQueryRequest, RunQueryResponse, "POST",
                "/api/v1/collaborations/{collaboration}/queries")
PARLEY_ENDPOINT(ListQueries, ListQueriesRequest, ListQueriesResponse, "GET",
                "/api/v1/collaborations/{collaboration}/queries")
PARLEY_ENDPOINT(GetResult, GetResultRequest, GetResultResponse, "GET",
                "/api/v1/collaborations/{collaboration}/queries/{query_id}/result")
PARLEY_ENDPOINT(QueryLog, QueryLogRequest, QueryLogResponse, "GET",
                "/api/v1/collaborations/{collaboration}/query-log")
PARLEY_ENDPOINT(CreateTemplate, CreateTemplateRequest, CreateTemplateResponse, "POST",
                "/api/v1/collaborations/{collaboration}/templates")
PARLEY_ENDPOINT(ListTemplates, ListTemplatesRequest, ListTemplatesResponse, "GET",
                "/api/v1/collaborations/{collaboration}/templates")
PARLEY_ENDPOINT(ShowTemplate, ShowTemplateRequest, ShowTemplateResponse, "GET",
                "/api/v1/collaborations/{collaboration}/templates/{template_id}")
PARLEY_ENDPOINT(ApproveTemplate, ApproveTemplateRequest, ApproveTemplateResponse, "POST",
                "/api/v1/collaborations/{collaboration}/templates/{template_id}/approvals")
PARLEY_ENDPOINT(RevokeTemplate, RevokeTemplateRequest, RevokeTemplateResponse, "DELETE",
                "/api/v1/collaborations/{collaboration}/templates/{template_id}/approvals/{table}")
PARLEY_ENDPOINT(RunTemplate, RunTemplateRequest, RunTemplateResponse, "POST",
                "/api/v1/collaborations/{collaboration}/templates/{template_id}/runs")
PARLEY_ENDPOINT(Policy, PolicyRequest, PolicyResponse, "GET",
                "/api/v1/collaborations/{collaboration}/policy")
PARLEY_ENDPOINT(ListAudit, ListAuditRequest, ListAuditResponse, "GET",
                "/api/v1/collaborations/{collaboration}/audit")
PARLEY_ENDPOINT(VerifyAudit, VerifyAuditRequest, VerifyAuditResponse, "POST",
                "/api/v1/collaborations/{collaboration}/audit/verify")

#undef PARLEY_ENDPOINT

// The names of a path pattern's parameters, in order: {"collaboration", "table"}.
std::vector<std::string> PathParameters(std::string_view pattern);

// Client side: the path of `route` with each parameter taken out of `fields` (a request's JSON
// object) and percent-encoded. InvalidArgument when a parameter is missing or not a string or
// integer; and, for a route without a body, when any field is left over.
absl::StatusOr<std::string> FillPath(const Route& route, nlohmann::json& fields);

// Server side: the parameters of `path` (already percent-decoded) when it matches `pattern`.
std::optional<std::map<std::string, std::string>> MatchPath(std::string_view pattern,
                                                            std::string_view path);

// Server side: the request's JSON object from its body (empty for a route without a body) and
// its path parameters. InvalidArgument naming the field when a parameter is also in the body,
// or when a parameter that is an integer field ("query_id") is not a number. The result is then
// decoded strictly with FromJson.
absl::StatusOr<nlohmann::json> RequestJson(const Route& route,
                                           const std::map<std::string, std::string>& parameters,
                                           std::string_view body);

}  // namespace parley::api
