#include "identity/access.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::StatusOr<ChangeView> Service::Impl::AddMember(const identity::Caller& caller,
                                                    const std::string& collaboration,
                                                    const NewMember& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kProposeChange, {.change_kind = "add_member"}));
  if (caller.authentication() == identity::Authentication::kToken) {
    return absl::PermissionDeniedError(
        "over a server an organisation joins only by invitation: invite it, and it joins with "
        "the code");
  }
  catalog::Change change;
  change.kind = "add_member";
  change.member = catalog::Member{member.name, member.abilities.Has(identity::Ability::kQuery),
                                  member.abilities.Has(identity::Ability::kReceive), member.status,
                                  member.abilities.Has(identity::Ability::kRunJobs)};
  PARLEY_ASSIGN_OR_RETURN(catalog::ChangeRequest request,
                          store->ProposeChange(collaboration, caller.member(), change));
  return ViewOf(std::move(request));
}

absl::Status Service::Impl::RemoveMember(const identity::Caller& caller,
                                         const std::string& collaboration,
                                         const std::string& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kRemoveMember, {.member = member}));
  PARLEY_RETURN_IF_ERROR(store->SetMemberStatus(collaboration, member,
                                                catalog::MemberStatus::kRemoved, caller.member()));
  // Pending changes no longer wait for the member removed.
  return store->SettleChanges(collaboration);
}

absl::Status Service::Impl::Leave(const identity::Caller& caller,
                                  const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kLeave));
  PARLEY_RETURN_IF_ERROR(store->SetMemberStatus(collaboration, caller.member(),
                                                catalog::MemberStatus::kLeft, caller.member()));
  return store->SettleChanges(collaboration);
}

}  // namespace parley::service
