// PSI relayed through the server, in API terms (api/psi.h): frames decoded from base64 here, the
// session's state converted for its parties.
#include "absl/strings/str_cat.h"
#include "api/local_service.h"
#include "base/status.h"
#include "service/service.h"

namespace parley::api {

namespace {

PsiSession ToApi(const service::PsiSessionState& state) {
  PsiSession session;
  session.collaboration = state.collaboration;
  session.session = state.id;
  session.responder = state.responder;
  session.initiator = state.initiator;
  session.mode = state.mode == psi::Mode::kIntersection ? "intersection" : "cardinality_only";
  if (state.receivers != psi::Receivers::kInitiator) session.receivers.push_back(state.responder);
  if (state.receivers != psi::Receivers::kResponder) session.receivers.push_back(state.initiator);
  session.status = state.status;
  if (!state.reason.empty()) session.reason = state.reason;
  if (state.responder_size >= 0) session.responder_size = state.responder_size;
  if (state.initiator_size >= 0) session.initiator_size = state.initiator_size;
  session.frames_relayed = state.frames_relayed;
  return session;
}

}  // namespace

absl::StatusOr<PsiSession> LocalService::StartPsi(const identity::Caller& caller,
                                                  const StartPsiRequest& request) {
  psi::Mode mode = psi::Mode::kIntersection;
  if (request.mode && *request.mode == "cardinality_only") {
    mode = psi::Mode::kCardinalityOnly;
  } else if (request.mode && *request.mode != "intersection") {
    return absl::InvalidArgumentError("$.mode: expected \"intersection\" or \"cardinality_only\"");
  }
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::PsiSessionState state,
      service->StartPsi(caller, request.collaboration, request.peer, mode, request.receivers));
  return ToApi(state);
}

absl::StatusOr<PsiSession> LocalService::ShowPsi(const identity::Caller& caller,
                                                 const PsiSessionRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::PsiSessionState state,
                          service->ShowPsi(caller, request.collaboration, request.session));
  return ToApi(state);
}

absl::StatusOr<PsiSession> LocalService::SendPsi(const identity::Caller& caller,
                                                 const SendPsiRequest& request) {
  absl::StatusOr<std::string> frame = Base64Decode(request.frame);
  if (!frame.ok()) return absl::InvalidArgumentError("$.frame: not base64");
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::PsiSessionState state,
      service->SendPsi(caller, request.collaboration, request.session, request.sequence, *frame));
  return ToApi(state);
}

absl::StatusOr<ReceivePsiResponse> LocalService::ReceivePsi(const identity::Caller& caller,
                                                            const ReceivePsiRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::PsiMessages messages,
                          service->ReceivePsi(caller, request.collaboration, request.session,
                                              request.after, request.wait_ms.value_or(5000)));
  ReceivePsiResponse response;
  for (const std::string& frame : messages.frames) response.frames.push_back(Base64Encode(frame));
  response.next = messages.next;
  response.ended = messages.ended;
  if (!messages.reason.empty()) response.reason = messages.reason;
  return response;
}

}  // namespace parley::api
