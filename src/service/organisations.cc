// The organisations of a server and their API tokens: the operator's bootstrap, adding an
// organisation, rotating and revoking tokens, and authenticating a bearer token into a Caller.
// Tokens are made and checked by identity/token.h; the catalog keeps only their salted hashes.
#include "absl/strings/str_cat.h"
#include "identity/token.h"
#include "service/service_impl.h"

namespace parley::service {
namespace {

// The actor of a catalog-wide entry: the organisation, or "parley" for the operator at the
// console (an embedded caller that names no member).
std::string ActorOf(const identity::Caller& caller) {
  return caller.member().empty() ? "parley" : caller.member();
}

catalog::ApiToken Record(const std::string& organisation, const identity::IssuedToken& issued) {
  catalog::ApiToken record;
  record.id = issued.id;
  record.organisation = organisation;
  record.salt_hex = issued.salt_hex;
  record.hash_hex = issued.hash_hex;
  return record;
}

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("missing, invalid or revoked API token");
}

}  // namespace

absl::StatusOr<IssuedToken> Service::InitServer(const std::string& organisation) {
  identity::IssuedToken issued = identity::IssueToken();
  catalog::Organisation record{organisation, /*admin=*/true};
  PARLEY_RETURN_IF_ERROR(impl_->store->CreateOrganisation(record, Record(organisation, issued),
                                                          "parley", /*first=*/true));
  return IssuedToken{organisation, issued.id, issued.text, ""};
}

absl::StatusOr<IssuedToken> Service::AddOrganisation(const identity::Caller& caller,
                                                     const std::string& organisation) {
  if (!caller.administers()) {
    return absl::PermissionDeniedError(
        "only the server's operator organisation can add organisations");
  }
  identity::IssuedToken issued = identity::IssueToken();
  PARLEY_RETURN_IF_ERROR(impl_->store->CreateOrganisation(
      {organisation, /*admin=*/false}, Record(organisation, issued), ActorOf(caller)));
  return IssuedToken{organisation, issued.id, issued.text, ""};
}

absl::StatusOr<std::vector<catalog::Organisation>> Service::ListOrganisations(
    const identity::Caller& caller) {
  if (!caller.administers()) {
    return absl::PermissionDeniedError(
        "only the server's operator organisation can list organisations");
  }
  return impl_->store->ListOrganisations();
}

absl::StatusOr<IssuedToken> Service::RotateToken(const identity::Caller& caller) {
  if (caller.member().empty()) {
    return absl::InvalidArgumentError("say which organisation gets a new token");
  }
  identity::IssuedToken issued = identity::IssueToken();
  PARLEY_RETURN_IF_ERROR(impl_->store->IssueToken(Record(caller.member(), issued), ActorOf(caller),
                                                  caller.token_id()));
  return IssuedToken{caller.member(), issued.id, issued.text, caller.token_id()};
}

absl::Status Service::RevokeToken(const identity::Caller& caller, const std::string& token_id) {
  if (caller.member().empty()) {
    return absl::InvalidArgumentError("say whose token is revoked");
  }
  return impl_->store->RevokeToken(caller.member(), token_id, ActorOf(caller));
}

absl::StatusOr<identity::Caller> Service::Authenticate(std::string_view bearer_token) {
  absl::StatusOr<identity::PresentedToken> presented = identity::ParseToken(bearer_token);
  if (!presented.ok()) return Unauthenticated();
  absl::StatusOr<catalog::ApiToken> stored = impl_->store->GetToken(presented->id);
  if (!stored.ok()) {
    if (stored.status().code() == absl::StatusCode::kNotFound) return Unauthenticated();
    return stored.status();
  }
  // Checked even for a revoked token, so that both take the same time.
  bool matches = identity::TokenMatches(*presented, stored->salt_hex, stored->hash_hex);
  if (!matches || stored->revoked_at.has_value()) return Unauthenticated();
  return identity::Caller::Token(stored->organisation, stored->id, stored->organisation_admin);
}

}  // namespace parley::service
