// LocalService: change requests and invitations (api/changes.h), in API terms.
#include "absl/strings/str_cat.h"
#include "api/from_service.h"
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {

absl::StatusOr<InviteMemberResponse> LocalService::InviteMember(
    const identity::Caller& caller, const InviteMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::NewMember member,
                          MemberToService(request.member, request.abilities));
  if (request.valid_hours < 1 || request.valid_hours > service::kMaxInvitationSeconds / 3600) {
    return absl::InvalidArgumentError(
        absl::StrCat("$.valid_hours: must be from 1 to ", service::kMaxInvitationSeconds / 3600));
  }
  PARLEY_ASSIGN_OR_RETURN(
      service::InvitationView invitation,
      service->InviteMember(caller, request.collaboration, member, request.valid_hours * 3600));
  return InviteMemberResponse{request.collaboration, request.member, invitation.code,
                              invitation.expires_at, FromService(invitation.change)};
}

absl::StatusOr<JoinResponse> LocalService::Join(const identity::Caller& caller,
                                                const JoinRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView change, service->Join(caller, request.code));
  return JoinResponse{change.request.collaboration, caller.member(), FromService(change)};
}

absl::StatusOr<ChangeResponse> LocalService::ProposeChange(const identity::Caller& caller,
                                                           const ProposeChangeRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  catalog::Change change;
  change.kind = request.kind;
  if (request.kind == "abilities") {
    if (!request.member || !request.abilities) {
      return absl::InvalidArgumentError("a change of abilities names the member and its abilities");
    }
    PARLEY_ASSIGN_OR_RETURN(service::NewMember member,
                            MemberToService(*request.member, *request.abilities));
    change.member = catalog::Member{member.name, member.abilities.Has(identity::Ability::kQuery),
                                    member.abilities.Has(identity::Ability::kReceive),
                                    catalog::MemberStatus::kActive,
                                    member.abilities.Has(identity::Ability::kRunJobs)};
  } else if (request.member || request.abilities) {
    return absl::InvalidArgumentError(
        absl::StrCat("$.member: not a field of a change of kind '", request.kind, "'"));
  }
  change.payer = request.payer;
  change.query_logging = request.query_logging;
  change.time_limit_seconds = request.time_limit_seconds;
  if (request.privacy_budget) {
    PARLEY_ASSIGN_OR_RETURN(change.privacy_budget, PrivacyBudgetToService(*request.privacy_budget));
  }
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView view,
                          service->ProposeChange(caller, request.collaboration, change));
  return ChangeResponse{FromService(view)};
}

absl::StatusOr<ListChangesResponse> LocalService::ListChanges(const identity::Caller& caller,
                                                              const ListChangesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::vector<service::ChangeView> changes,
                          service->ListChanges(caller, request.collaboration));
  ListChangesResponse response;
  for (const service::ChangeView& change : changes) response.changes.push_back(FromService(change));
  return response;
}

absl::StatusOr<ChangeResponse> LocalService::ShowChange(const identity::Caller& caller,
                                                        const ChangeIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView view,
                          service->ShowChange(caller, request.collaboration, request.change_id));
  return ChangeResponse{FromService(view)};
}

absl::StatusOr<ChangeResponse> LocalService::ApproveChange(const identity::Caller& caller,
                                                           const ChangeIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView view,
                          service->ApproveChange(caller, request.collaboration, request.change_id));
  return ChangeResponse{FromService(view)};
}

absl::StatusOr<ChangeResponse> LocalService::DenyChange(const identity::Caller& caller,
                                                        const ChangeIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView view,
                          service->DenyChange(caller, request.collaboration, request.change_id));
  return ChangeResponse{FromService(view)};
}

absl::StatusOr<ChangeResponse> LocalService::CancelChange(const identity::Caller& caller,
                                                          const ChangeIdRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView view,
                          service->CancelChange(caller, request.collaboration, request.change_id));
  return ChangeResponse{FromService(view)};
}

}  // namespace parley::api
