// PSI relayed through this server between two members of a collaboration (service.h, StartPsi):
// who may start, join, send and read, and the audit of each session's start and end. The frames
// themselves are checked by the relay (psi_relay.h).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

namespace {

// The parties only: anyone else (another member, even the creator) is refused, and the session
// goes on.
absl::Status RequireParty(const identity::Caller& caller, const PsiSessionState& session) {
  if (caller.member() == session.responder || caller.member() == session.initiator) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "member '", caller.member(), "' is not a party of PSI session '", session.id, "'"));
}

std::string ModeText(psi::Mode mode) {
  return mode == psi::Mode::kIntersection ? "intersection" : "cardinality_only";
}

}  // namespace

void Service::Impl::AuditPsiEnd(const std::string& collaboration, const std::string& id) {
  std::optional<PsiSessionState> ended = psi_relay.TakeEnded(collaboration, id);
  if (!ended) return;
  nlohmann::json details = {{"session", ended->id},
                            {"responder", ended->responder},
                            {"initiator", ended->initiator},
                            {"responder_size", ended->responder_size},
                            {"initiator_size", ended->initiator_size},
                            {"frames_relayed", ended->frames_relayed}};
  if (!ended->reason.empty()) details["reason"] = ended->reason;
  // Best effort: the session's outcome does not depend on the audit entry, and the parties have
  // their answers already; a failure here is the catalog's and shows in its own errors.
  (void)store->AppendAudit(collaboration, "server",
                           ended->status == "completed" ? "psi.completed" : "psi.failed",
                           details.dump());
}

absl::StatusOr<PsiSessionState> Service::StartPsi(const identity::Caller& caller,
                                                  const std::string& collaboration,
                                                  const std::string& peer, psi::Mode mode,
                                                  std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found,
                          impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kQuery));
  identity::Room room = internal::RoomOf(found);
  const identity::Membership* other = room.Find(peer);
  if (peer == caller.member()) {
    return absl::InvalidArgumentError("a PSI session is between two members: name another one");
  }
  if (other == nullptr || !other->active) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", peer, "' is not an active member of collaboration '", collaboration, "'"));
  }
  for (const std::string& receiver : receivers) {
    if (receiver != caller.member() && receiver != peer) {
      return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver,
                                                     "' is not a party of the session (",
                                                     caller.member(), " or ", peer, ")"));
    }
  }
  // Each receiver an active member with `receive`, named once (the one rule of query receivers).
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> checked,
                          identity::Receivers(caller, room, std::move(receivers)));
  bool starter = std::find(checked.begin(), checked.end(), caller.member()) != checked.end();
  bool joiner = std::find(checked.begin(), checked.end(), peer) != checked.end();
  psi::Receivers who = starter && joiner ? psi::Receivers::kBoth
                       : starter         ? psi::Receivers::kResponder
                                         : psi::Receivers::kInitiator;
  PsiSessionState session = impl_->psi_relay.Start(collaboration, caller.member(), peer, mode, who);
  nlohmann::json details = {{"session", session.id},
                            {"responder", session.responder},
                            {"initiator", session.initiator},
                            {"mode", ModeText(mode)},
                            {"receivers", checked}};
  PARLEY_RETURN_IF_ERROR(
      impl_->store->AppendAudit(collaboration, caller.member(), "psi.started", details.dump()));
  return session;
}

absl::StatusOr<PsiSessionState> Service::ShowPsi(const identity::Caller& caller,
                                                 const std::string& collaboration,
                                                 const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found,
                          impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(PsiSessionState session, impl_->psi_relay.Show(collaboration, id));
  PARLEY_RETURN_IF_ERROR(RequireParty(caller, session));
  impl_->AuditPsiEnd(collaboration, id);
  return session;
}

absl::StatusOr<PsiSessionState> Service::SendPsi(const identity::Caller& caller,
                                                 const std::string& collaboration,
                                                 const std::string& id, int64_t sequence,
                                                 const std::string& frame) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found,
                          impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(PsiSessionState session, impl_->psi_relay.Show(collaboration, id));
  PARLEY_RETURN_IF_ERROR(RequireParty(caller, session));
  absl::StatusOr<PsiSessionState> sent = impl_->psi_relay.Send(
      collaboration, id, caller.member(), sequence, frame, std::chrono::seconds(10));
  impl_->AuditPsiEnd(collaboration, id);
  return sent;
}

absl::StatusOr<PsiMessages> Service::ReceivePsi(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                const std::string& id, int64_t after,
                                                int64_t wait_ms) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found,
                          impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(PsiSessionState session, impl_->psi_relay.Show(collaboration, id));
  PARLEY_RETURN_IF_ERROR(RequireParty(caller, session));
  absl::StatusOr<PsiMessages> messages =
      impl_->psi_relay.Receive(collaboration, id, caller.member(), after,
                               std::chrono::milliseconds(std::clamp<int64_t>(wait_ms, 0, 10000)));
  impl_->AuditPsiEnd(collaboration, id);
  return messages;
}

}  // namespace parley::service
