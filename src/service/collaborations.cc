#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

absl::StatusOr<catalog::Member> Service::Impl::ActiveMember(
    const catalog::Collaboration& collaboration, const std::string& actor) {
  for (const catalog::Member& member : collaboration.members) {
    if (member.name != actor) continue;
    if (member.status != catalog::MemberStatus::kActive) {
      return absl::PermissionDeniedError(
          absl::StrCat("member '", actor, "' is ", catalog::MemberStatusName(member.status),
                       " in collaboration '", collaboration.name, "', not active"));
    }
    return member;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("'", actor, "' is not a member of collaboration '", collaboration.name, "'"));
}

absl::Status Service::Impl::CreateCollaboration(const std::string& actor,
                                                const NewCollaboration& request) {
  catalog::Collaboration collaboration;
  collaboration.name = request.name;
  collaboration.description = request.description;
  collaboration.creator = actor;
  collaboration.query_logging = request.query_logging;
  collaboration.members.push_back(catalog::Member{actor, request.creator_can_query,
                                                  request.creator_can_receive,
                                                  catalog::MemberStatus::kActive});
  return store->CreateCollaboration(collaboration);
}

absl::StatusOr<std::vector<catalog::Collaboration>> Service::Impl::ListCollaborations(
    const std::string& actor) {
  PARLEY_ASSIGN_OR_RETURN(auto all, store->ListCollaborations());
  std::vector<catalog::Collaboration> mine;
  for (catalog::Collaboration& collaboration : all) {
    // Only active members see a collaboration (and its member list), as in ShowCollaboration.
    for (const catalog::Member& member : collaboration.members) {
      if (member.name == actor && member.status == catalog::MemberStatus::kActive) {
        mine.push_back(std::move(collaboration));
        break;
      }
    }
  }
  return mine;
}

absl::StatusOr<catalog::Collaboration> Service::Impl::ShowCollaboration(
    const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  return found;
}

}  // namespace parley::service
