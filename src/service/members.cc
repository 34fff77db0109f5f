#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::Status Service::Impl::AddMember(const std::string& actor, const std::string& collaboration,
                                      const catalog::Member& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  if (found.creator != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '",
                                                    collaboration, "' ('", found.creator,
                                                    "') can add members"));
  }
  return store->AddMember(collaboration, member, actor);
}

absl::Status Service::Impl::RemoveMember(const std::string& actor, const std::string& collaboration,
                                         const std::string& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  if (found.creator != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '",
                                                    collaboration, "' ('", found.creator,
                                                    "') can remove members"));
  }
  if (member == found.creator) {
    return absl::InvalidArgumentError("the creator cannot be removed from its collaboration");
  }
  return store->SetMemberStatus(collaboration, member, catalog::MemberStatus::kRemoved, actor);
}

absl::Status Service::Impl::Leave(const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  if (found.creator == actor) {
    return absl::FailedPreconditionError(
        "the creator cannot leave its collaboration; the room would have no one to run it");
  }
  return store->SetMemberStatus(collaboration, actor, catalog::MemberStatus::kLeft, actor);
}

}  // namespace parley::service
