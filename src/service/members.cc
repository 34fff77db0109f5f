#include "identity/access.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::Status Service::Impl::AddMember(const identity::Caller& caller,
                                      const std::string& collaboration, const NewMember& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kAddMember));
  catalog::Member record{member.name, member.abilities.Has(identity::Ability::kQuery),
                         member.abilities.Has(identity::Ability::kReceive), member.status};
  return store->AddMember(collaboration, record, caller.member());
}

absl::Status Service::Impl::RemoveMember(const identity::Caller& caller,
                                         const std::string& collaboration,
                                         const std::string& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(
      Require(caller, found, identity::Action::kRemoveMember, {.member = member}));
  return store->SetMemberStatus(collaboration, member, catalog::MemberStatus::kRemoved,
                                caller.member());
}

absl::Status Service::Impl::Leave(const identity::Caller& caller,
                                  const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kLeave));
  return store->SetMemberStatus(collaboration, caller.member(), catalog::MemberStatus::kLeft,
                                caller.member());
}

}  // namespace parley::service
