#include "identity/access.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

identity::Room internal::RoomOf(const catalog::Collaboration& collaboration) {
  identity::Room room{collaboration.name, collaboration.creator, {}};
  room.closed = collaboration.closed_at != 0;
  for (const catalog::Member& member : collaboration.members) {
    room.members.push_back(
        {member.name,
         identity::AbilitySet::FromFlags(member.can_query, member.can_receive, member.can_run_jobs),
         member.status == catalog::MemberStatus::kActive,
         catalog::MemberStatusName(member.status)});
  }
  return room;
}

absl::Status Service::Impl::Require(const identity::Caller& caller,
                                    const catalog::Collaboration& collaboration,
                                    identity::Action action, const identity::Target& target) {
  return identity::Require(caller, RoomOf(collaboration), action, target);
}

absl::Status Service::Impl::CreateCollaboration(const identity::Caller& caller,
                                                const NewCollaboration& request) {
  const std::string& actor = caller.member();
  catalog::Collaboration collaboration;
  collaboration.name = request.name;
  collaboration.description = request.description;
  collaboration.creator = actor;
  collaboration.query_logging = request.query_logging;
  collaboration.privacy_budget = request.privacy_budget;
  collaboration.payer = request.payer;
  collaboration.auto_approve = request.auto_approve;
  collaboration.encryption = request.encryption;
  PARLEY_RETURN_IF_ERROR(CheckTimeLimit(request.time_limit_seconds));
  collaboration.time_limit_seconds = request.time_limit_seconds;
  collaboration.members.push_back(catalog::Member{
      actor, request.creator_abilities.Has(identity::Ability::kQuery),
      request.creator_abilities.Has(identity::Ability::kReceive), catalog::MemberStatus::kActive,
      request.creator_abilities.Has(identity::Ability::kRunJobs)});
  if (request.result_retention_days && *request.result_retention_days < 1) {
    return absl::InvalidArgumentError("a result retention is a whole number of days, at least 1");
  }
  PARLEY_RETURN_IF_ERROR(store->CreateCollaboration(collaboration));
  if (!request.result_retention_days) return absl::OkStatus();
  return store->SetResultRetention(request.name, request.result_retention_days, actor);
}

absl::StatusOr<std::vector<catalog::Collaboration>> Service::Impl::ListCollaborations(
    const identity::Caller& caller) {
  PARLEY_ASSIGN_OR_RETURN(auto all, store->ListCollaborations());
  std::vector<catalog::Collaboration> mine;
  for (catalog::Collaboration& collaboration : all) {
    // Only active members see a collaboration (and its member list), as in ShowCollaboration.
    if (identity::MayView(caller, RoomOf(collaboration))) mine.push_back(std::move(collaboration));
  }
  return mine;
}

absl::StatusOr<catalog::Collaboration> Service::Impl::ShowCollaboration(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  return found;
}

absl::StatusOr<catalog::Collaboration> Service::Impl::CloseCollaboration(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kClose));
  PARLEY_RETURN_IF_ERROR(store->CloseCollaboration(collaboration, caller.member()));
  return store->GetCollaboration(collaboration);
}

}  // namespace parley::service
