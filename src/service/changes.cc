// Change requests and invitations: proposing a change that affects every member, voting on it,
// cancelling it, reading them; inviting an organisation and its joining with the code.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "identity/access.h"
#include "identity/token.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

ChangeView Service::Impl::ViewOf(const catalog::Collaboration& collaboration,
                                 catalog::ChangeRequest request) {
  ChangeView view;
  if (request.status == catalog::ChangeStatus::kPending) {
    for (const catalog::Member& member : collaboration.members) {
      if (member.status != catalog::MemberStatus::kActive) continue;
      if (std::find(request.approvals.begin(), request.approvals.end(), member.name) ==
          request.approvals.end()) {
        view.waiting_for.push_back(member.name);
      }
    }
  }
  view.request = std::move(request);
  return view;
}

absl::StatusOr<ChangeView> Service::Impl::ViewOf(catalog::ChangeRequest request) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                          store->GetCollaboration(request.collaboration));
  return ViewOf(collaboration, std::move(request));
}

absl::StatusOr<InvitationView> Service::Impl::InviteMember(const identity::Caller& caller,
                                                           const std::string& collaboration,
                                                           const NewMember& member,
                                                           int64_t valid_seconds) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kProposeChange, {.change_kind = "add_member"}));
  if (valid_seconds <= 0 || valid_seconds > kMaxInvitationSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("an invitation is valid for 1 second to ",
                                                   kMaxInvitationSeconds / 86400, " days"));
  }
  catalog::Change change;
  change.kind = "add_member";
  change.member = catalog::Member{member.name, member.abilities.Has(identity::Ability::kQuery),
                                  member.abilities.Has(identity::Ability::kReceive),
                                  catalog::MemberStatus::kInvited,
                                  member.abilities.Has(identity::Ability::kRunJobs)};
  identity::IssuedToken code = identity::IssueToken(identity::kInvitationPrefix);
  catalog::Invitation invitation;
  invitation.id = code.id;
  invitation.collaboration = collaboration;
  invitation.organisation = member.name;
  invitation.salt_hex = code.salt_hex;
  invitation.hash_hex = code.hash_hex;
  invitation.expires_at =
      (options.clock ? options.clock() : catalog::SystemClockSeconds()) + valid_seconds;
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request,
                          store->ProposeChange(collaboration, caller.member(), change, invitation));
  EmitChange(request, /*opened=*/true);
  InvitationView view;
  view.code = code.text;
  view.expires_at = invitation.expires_at;
  PARLEY_ASSIGN_OR_RETURN(view.change, ViewOf(std::move(request)));
  return view;
}

absl::StatusOr<ChangeView> Service::Impl::Join(const identity::Caller& caller,
                                               const std::string& code) {
  // One answer for a code that is malformed, unknown, or another organisation's: a wrong
  // organisation learns nothing of the collaboration, and the code stays usable by its invitee.
  const absl::Status no_such = absl::NotFoundError("no such invitation (the code is not valid)");
  absl::StatusOr<identity::PresentedToken> presented =
      identity::ParseToken(code, identity::kInvitationPrefix);
  if (!presented.ok()) return no_such;
  absl::StatusOr<catalog::Invitation> invitation = store->GetInvitation(presented->id);
  if (!invitation.ok()) {
    if (absl::IsNotFound(invitation.status())) return no_such;
    return invitation.status();
  }
  if (!identity::TokenMatches(*presented, invitation->salt_hex, invitation->hash_hex) ||
      invitation->organisation != caller.member()) {
    return no_such;
  }
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request, store->RedeemInvitation(invitation->id));
  Emit(request.collaboration, "change.committed",
       {{"change_id", request.id},
        {"change_kind", request.change.kind},
        {"status", catalog::ChangeStatusName(request.status)}});
  return ViewOf(std::move(request));
}

absl::StatusOr<ChangeView> Service::Impl::ProposeChange(const identity::Caller& caller,
                                                        const std::string& collaboration,
                                                        const catalog::Change& change) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kProposeChange, {.change_kind = change.kind}));
  if (change.kind == "add_member") {
    return absl::InvalidArgumentError("a member is added by invitation (or, embedded, added)");
  }
  if (change.kind == "time_limit" && change.time_limit_seconds.value_or(0) > 0) {
    PARLEY_RETURN_IF_ERROR(CheckTimeLimit(change.time_limit_seconds));
  }
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request,
                          store->ProposeChange(collaboration, caller.member(), change));
  EmitChange(request, /*opened=*/true);
  return ViewOf(std::move(request));
}

absl::StatusOr<std::vector<ChangeView>> Service::Impl::ListChanges(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::ChangeRequest> requests,
                          store->ListChanges(collaboration));
  std::vector<ChangeView> views;
  for (catalog::ChangeRequest& request : requests) {
    views.push_back(ViewOf(found, std::move(request)));
  }
  return views;
}

absl::StatusOr<ChangeView> Service::Impl::ShowChange(const identity::Caller& caller,
                                                     const std::string& collaboration, int64_t id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request, store->GetChange(collaboration, id));
  return ViewOf(found, std::move(request));
}

absl::StatusOr<ChangeView> Service::Impl::VoteOnChange(const identity::Caller& caller,
                                                       const std::string& collaboration, int64_t id,
                                                       bool approve) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kVoteOnChange));
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request,
                          store->VoteOnChange(collaboration, id, caller.member(), approve));
  EmitChange(request, /*opened=*/false);
  return ViewOf(std::move(request));
}

absl::StatusOr<ChangeView> Service::Impl::CancelChange(const identity::Caller& caller,
                                                       const std::string& collaboration,
                                                       int64_t id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest existing, store->GetChange(collaboration, id));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kCancelChange, {.member = existing.proposer}));
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request,
                          store->CancelChange(collaboration, id, caller.member()));
  EmitChange(request, /*opened=*/false);
  return ViewOf(std::move(request));
}

}  // namespace parley::service
