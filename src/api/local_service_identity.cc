// api::LocalService's calls for a server's identities: the operator's bootstrap, organisations,
// API tokens and authenticating a bearer token (service/organisations.cc does the work).
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {
namespace {

IssuedTokenResponse FromIssued(const service::IssuedToken& issued) {
  IssuedTokenResponse response{issued.organisation, issued.token_id, issued.token, std::nullopt};
  if (!issued.revoked_token_id.empty()) response.revoked_token_id = issued.revoked_token_id;
  return response;
}

}  // namespace

absl::StatusOr<IssuedTokenResponse> LocalService::InitServer(const std::string& organisation) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::IssuedToken issued, service->InitServer(organisation));
  return FromIssued(issued);
}

absl::StatusOr<identity::Caller> LocalService::Authenticate(std::string_view bearer_token) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return service->Authenticate(bearer_token);
}

absl::StatusOr<WhoAmIResponse> LocalService::WhoAmI(const identity::Caller& caller,
                                                    const WhoAmIRequest&) {
  WhoAmIResponse response{caller.member(), caller.administers(), caller.token_id(), {}};
  if (caller.authentication() == identity::Authentication::kToken) {
    response.max_upload_bytes = options_.max_upload_bytes;
  }
  return response;
}

absl::StatusOr<AddOrganisationResponse> LocalService::AddOrganisation(
    const identity::Caller& caller, const AddOrganisationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::IssuedToken issued,
                          service->AddOrganisation(caller, request.name));
  return FromIssued(issued);
}

absl::StatusOr<ListOrganisationsResponse> LocalService::ListOrganisations(
    const identity::Caller& caller, const ListOrganisationsRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto organisations, service->ListOrganisations(caller));
  ListOrganisationsResponse response;
  for (const catalog::Organisation& organisation : organisations) {
    response.organisations.push_back(
        {organisation.name, organisation.admin, organisation.created_at});
  }
  return response;
}

absl::StatusOr<RotateTokenResponse> LocalService::RotateToken(const identity::Caller& caller,
                                                              const RotateTokenRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::IssuedToken issued, service->RotateToken(caller));
  return FromIssued(issued);
}

absl::StatusOr<RevokeTokenResponse> LocalService::RevokeToken(const identity::Caller& caller,
                                                              const RevokeTokenRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RevokeToken(caller, request.token_id));
  return RevokeTokenResponse{caller.member(), request.token_id};
}

}  // namespace parley::api
