#include "service/psi_relay.h"

#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "identity/token.h"
#include "psi/group.h"

namespace parley::service {

namespace {

enum class Stage { kHello, kBlinded, kAfterBlinded, kFinished };

absl::string_view SetName(psi::FrameType type) {
  return type == psi::FrameType::kBlinded ? "blinded set" : "doubly blinded set";
}

absl::string_view ReceiversOf(psi::Receivers receivers) { return psi::ReceiversName(receivers); }

}  // namespace

struct PsiRelay::Session {
  struct Party {
    std::string member;
    bool learns = false;
    Stage stage = Stage::kHello;
    bool hello_seen = false;
    uint64_t announced = 0;
    uint64_t blinded_sent = 0;
    uint64_t double_sent = 0;
    absl::flat_hash_set<psi::Element> blinded;
    absl::flat_hash_set<psi::Element> doubled;
    int64_t next_sequence = 1;
    std::deque<std::string> outbox;  // frames this party sent that its peer has not read
    int64_t outbox_base = 0;         // how many of them the peer has read (and were dropped)
  };
  PsiSessionState state;
  Party parties[2];  // [0] the responder, [1] the initiator
  std::chrono::steady_clock::time_point last_activity;
  bool end_taken = false;

  bool Ended() const { return state.status == "completed" || state.status == "failed"; }
  int PartyOf(const std::string& member) const {
    if (member == parties[0].member) return 0;
    if (member == parties[1].member) return 1;
    return -1;
  }

  absl::Status CheckElements(int p, psi::FrameType type, absl::string_view payload,
                             uint64_t remaining, uint64_t done) {
    absl::string_view set = SetName(type);
    size_t size = payload.size();
    if (size == 0 || size % sizeof(psi::Element) != 0 ||
        size / sizeof(psi::Element) > psi::kMaxBatchElements) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a ", psi::FrameTypeName(static_cast<uint8_t>(type)), " frame of ", size,
          " bytes; it must hold 1 to ", psi::kMaxBatchElements, " elements of 32 bytes"));
    }
    uint64_t count = size / sizeof(psi::Element);
    if (count > remaining) {
      return absl::InvalidArgumentError(absl::StrCat("more elements than the ", done + remaining,
                                                     " of its ", set, " that were announced"));
    }
    Party& me = parties[p];
    const Party& peer = parties[1 - p];
    auto& own = type == psi::FrameType::kBlinded ? me.blinded : me.doubled;
    for (uint64_t i = 0; i < count; ++i) {
      psi::Element element;
      std::memcpy(element.data(), payload.data() + i * sizeof element, sizeof element);
      uint64_t position = done + i + 1;
      if (!psi::IsAcceptableElement(element)) {
        return absl::InvalidArgumentError(
            absl::StrCat("element ", position, " of its ", set,
                         " is not a canonical ristretto255 encoding, or is the identity"));
      }
      if (peer.blinded.contains(element)) {
        return absl::InvalidArgumentError(
            absl::StrCat("element ", position, " of its ", set,
                         " is an element the peer sent (reflected back, not blinded)"));
      }
      if (!own.insert(element).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "element ", position, " of its ", set, " repeats an earlier one (a replayed element)"));
      }
    }
    return absl::OkStatus();
  }

  // The one check of each frame: its place in the protocol and its contents.
  absl::Status Check(int p, absl::string_view frame) {
    if (frame.size() < 5) {
      return absl::InvalidArgumentError(
          absl::StrCat("a message of ", frame.size(), " bytes is not a frame (at least 5)"));
    }
    uint8_t type = static_cast<uint8_t>(frame[0]);
    uint64_t length = 0;
    for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(frame[i]);
    absl::string_view payload = frame.substr(5);
    std::string name = psi::FrameTypeName(type);
    if (type < static_cast<uint8_t>(psi::FrameType::kHello) ||
        type > static_cast<uint8_t>(psi::FrameType::kAbort)) {
      return absl::InvalidArgumentError(absl::StrCat("a frame of unknown ", name));
    }
    if (length != payload.size()) {
      return absl::InvalidArgumentError(absl::StrCat("the ", name, " frame's length field says ",
                                                     length, " bytes; it carries ",
                                                     payload.size()));
    }
    if (payload.size() > psi::kMaxFramePayload) {
      return absl::InvalidArgumentError(absl::StrCat("a ", name, " frame of ", payload.size(),
                                                     " bytes exceeds the limit of ",
                                                     psi::kMaxFramePayload));
    }
    auto frame_type = static_cast<psi::FrameType>(type);
    if (frame_type == psi::FrameType::kAbort) {
      if (payload.size() > psi::kMaxAbortReason) {
        return absl::InvalidArgumentError(absl::StrCat(
            "an ABORT frame of ", payload.size(), " bytes; the limit is ", psi::kMaxAbortReason));
      }
      return absl::OkStatus();
    }
    Party& me = parties[p];
    Party& peer = parties[1 - p];
    switch (me.stage) {
      case Stage::kHello: {
        if (frame_type != psi::FrameType::kHello) {
          return absl::InvalidArgumentError(
              absl::StrCat("a ", name, " frame where its HELLO was due"));
        }
        absl::StatusOr<psi::Hello> hello = psi::DecodeHello(payload);
        if (!hello.ok()) {
          return absl::Status(hello.status().code(),
                              absl::StrCat("its HELLO: ", hello.status().message()));
        }
        if (hello->mode != state.mode) {
          return absl::FailedPreconditionError(
              absl::StrCat("its HELLO asks for ", psi::ModeName(hello->mode),
                           "; the session was started for ", psi::ModeName(state.mode)));
        }
        if (hello->receivers != state.receivers) {
          return absl::InvalidArgumentError(
              absl::StrCat("its HELLO sends the result to ", ReceiversOf(hello->receivers),
                           "; this session's result goes to ", ReceiversOf(state.receivers)));
        }
        if (hello->set_size > kMaxRelayedSetSize) {
          return absl::InvalidArgumentError(
              absl::StrCat("its HELLO announces ", hello->set_size,
                           " identifiers; the relay takes sets of at most ", kMaxRelayedSetSize));
        }
        me.hello_seen = true;
        me.announced = hello->set_size;
        (p == 0 ? state.responder_size : state.initiator_size) =
            static_cast<int64_t>(hello->set_size);
        me.stage = me.announced == 0 ? Stage::kAfterBlinded : Stage::kBlinded;
        return absl::OkStatus();
      }
      case Stage::kBlinded: {
        if (frame_type != psi::FrameType::kBlinded) {
          return absl::InvalidArgumentError(
              absl::StrCat("a ", name, " frame where its blinded set (element ",
                           me.blinded_sent + 1, " of ", me.announced, ") was due"));
        }
        PARLEY_RETURN_IF_ERROR(
            CheckElements(p, frame_type, payload, me.announced - me.blinded_sent, me.blinded_sent));
        me.blinded_sent += payload.size() / sizeof(psi::Element);
        if (me.blinded_sent == me.announced) me.stage = Stage::kAfterBlinded;
        return absl::OkStatus();
      }
      case Stage::kAfterBlinded: {
        bool peer_set_complete =
            peer.hello_seen && peer.stage != Stage::kHello && peer.stage != Stage::kBlinded;
        if (frame_type == psi::FrameType::kDouble) {
          if (!peer.learns) {
            return absl::InvalidArgumentError(
                absl::StrCat("a DOUBLE frame would return member '", peer.member,
                             "''s set to it, and it does not receive this session's result"));
          }
          if (!peer_set_complete) {
            return absl::InvalidArgumentError(
                "a DOUBLE frame before the peer's blinded set was complete");
          }
          PARLEY_RETURN_IF_ERROR(CheckElements(p, frame_type, payload,
                                               peer.announced - me.double_sent, me.double_sent));
          me.double_sent += payload.size() / sizeof(psi::Element);
          return absl::OkStatus();
        }
        if (frame_type == psi::FrameType::kDone) {
          if (payload.size() != 8) {
            return absl::InvalidArgumentError(
                absl::StrCat("a DONE frame of ", payload.size(), " bytes; it has 8"));
          }
          if (peer.learns && (!peer_set_complete || me.double_sent != peer.announced)) {
            return absl::InvalidArgumentError(
                absl::StrCat("DONE before the peer's set was returned (", me.double_sent, " of ",
                             peer_set_complete ? peer.announced : 0, " elements)"));
          }
          if (state.receivers != psi::Receivers::kBoth &&
              payload != absl::string_view("\0\0\0\0\0\0\0\0", 8)) {
            return absl::InvalidArgumentError(
                absl::StrCat("its DONE carries a count, and this session's result goes to ",
                             ReceiversOf(state.receivers),
                             ": the count would reach a party that does not "
                             "receive it"));
          }
          me.stage = Stage::kFinished;
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            absl::StrCat("a ", name, " frame where its DOUBLE or DONE frames were due"));
      }
      case Stage::kFinished:
        return absl::InvalidArgumentError(absl::StrCat("a ", name, " frame after its DONE"));
    }
    return absl::InternalError("unknown relay stage");
  }
};

PsiRelay::PsiRelay(std::chrono::seconds idle_limit) : idle_limit_(idle_limit) {}
PsiRelay::~PsiRelay() = default;

PsiSessionState PsiRelay::Start(const std::string& collaboration, const std::string& responder,
                                const std::string& initiator, psi::Mode mode,
                                psi::Receivers receivers) {
  psi::InitialiseSodium().IgnoreError();
  auto session = std::make_unique<Session>();
  session->state.id = identity::IssueToken("psi_").text;
  session->state.collaboration = collaboration;
  session->state.responder = responder;
  session->state.initiator = initiator;
  session->state.mode = mode;
  session->state.receivers = receivers;
  session->parties[0].member = responder;
  session->parties[1].member = initiator;
  session->parties[0].learns =
      receivers == psi::Receivers::kBoth || receivers == psi::Receivers::kResponder;
  session->parties[1].learns =
      receivers == psi::Receivers::kBoth || receivers == psi::Receivers::kInitiator;
  session->last_activity = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  Expire();
  PsiSessionState state = session->state;
  sessions_[state.id] = std::move(session);
  return state;
}

void PsiRelay::Expire() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session& session = *it->second;
    if (now - session.last_activity < idle_limit_) {
      ++it;
      continue;
    }
    if (!session.Ended()) {
      session.state.status = "failed";
      session.state.reason =
          absl::StrCat("no message for ", idle_limit_.count(), " seconds: the session expired");
      session.last_activity = now;
      changed_.notify_all();
      ++it;
      continue;
    }
    it = sessions_.erase(it);
  }
}

absl::StatusOr<PsiRelay::Session*> PsiRelay::Find(const std::string& collaboration,
                                                  const std::string& id) {
  Expire();
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->state.collaboration != collaboration) {
    return absl::NotFoundError(absl::StrCat("no PSI session '", id, "' in collaboration '",
                                            collaboration, "' (or it expired)"));
  }
  return it->second.get();
}

absl::StatusOr<PsiSessionState> PsiRelay::Show(const std::string& collaboration,
                                               const std::string& id) {
  std::lock_guard lock(mutex_);
  PARLEY_ASSIGN_OR_RETURN(Session * session, Find(collaboration, id));
  return session->state;
}

absl::StatusOr<PsiSessionState> PsiRelay::Send(const std::string& collaboration,
                                               const std::string& id, const std::string& member,
                                               int64_t sequence, const std::string& frame,
                                               std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  PARLEY_ASSIGN_OR_RETURN(Session * session, Find(collaboration, id));
  int p = session->PartyOf(member);
  if (p < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", member, "' is not a party of PSI session '", id, "'"));
  }
  Session::Party& me = session->parties[p];
  if (session->Ended()) {
    return absl::FailedPreconditionError(absl::StrCat("PSI session '", id, "' has ended",
                                                      session->state.reason.empty() ? "" : ": ",
                                                      session->state.reason));
  }
  if (sequence < me.next_sequence) {
    return absl::FailedPreconditionError(
        absl::StrCat("message ", sequence, " of member '", member,
                     "' was already relayed (a replay); the next is ", me.next_sequence));
  }
  if (sequence > me.next_sequence) {
    return absl::FailedPreconditionError(absl::StrCat("message ", sequence, " of member '", member,
                                                      "' skips message ", me.next_sequence));
  }
  // The peer lags: wait for it to read, so that memory stays bounded whatever the sender does.
  if (!changed_.wait_for(
          lock, wait, [&] { return me.outbox.size() < kMaxPendingFrames || session->Ended(); })) {
    return absl::UnavailableError(
        "the peer has not read the earlier messages yet; send this one again");
  }
  if (session->Ended()) {
    return absl::FailedPreconditionError(
        absl::StrCat("PSI session '", id, "' has ended: ", session->state.reason));
  }
  session->last_activity = std::chrono::steady_clock::now();
  absl::Status checked = session->Check(p, frame);
  if (!checked.ok()) {
    std::string reason = absl::StrCat("the relay refused message ", sequence, " of member '",
                                      member, "': ", checked.message());
    session->state.status = "failed";
    session->state.reason = reason;
    // The peer learns why from an ABORT in the stream it reads, as from a direct peer.
    std::string abort(1, static_cast<char>(psi::FrameType::kAbort));
    std::string text = reason.substr(0, psi::kMaxAbortReason);
    for (int i = 3; i >= 0; --i)
      abort.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
    abort += text;
    me.outbox.push_back(std::move(abort));
    changed_.notify_all();
    return absl::Status(checked.code() == absl::StatusCode::kFailedPrecondition
                            ? absl::StatusCode::kFailedPrecondition
                            : absl::StatusCode::kInvalidArgument,
                        reason);
  }
  ++me.next_sequence;
  me.outbox.push_back(frame);
  ++session->state.frames_relayed;
  if (session->state.status == "waiting") session->state.status = "running";
  if (static_cast<uint8_t>(frame[0]) == static_cast<uint8_t>(psi::FrameType::kAbort)) {
    session->state.status = "failed";
    session->state.reason = absl::StrCat("member '", member, "' ended the session");
  } else if (session->parties[0].stage == Stage::kFinished &&
             session->parties[1].stage == Stage::kFinished) {
    session->state.status = "completed";
  }
  changed_.notify_all();
  return session->state;
}

absl::StatusOr<PsiMessages> PsiRelay::Receive(const std::string& collaboration,
                                              const std::string& id, const std::string& member,
                                              int64_t after, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  PARLEY_ASSIGN_OR_RETURN(Session * session, Find(collaboration, id));
  int p = session->PartyOf(member);
  if (p < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", member, "' is not a party of PSI session '", id, "'"));
  }
  Session::Party& from = session->parties[1 - p];
  int64_t available = from.outbox_base + static_cast<int64_t>(from.outbox.size());
  if (after < from.outbox_base || after > available) {
    return absl::InvalidArgumentError(
        absl::StrCat("after: ", after, " is not between ", from.outbox_base, " and ", available));
  }
  // What the caller has read is dropped: it asked past it.
  bool dropped = false;
  while (from.outbox_base < after) {
    from.outbox.pop_front();
    ++from.outbox_base;
    dropped = true;
  }
  if (dropped) changed_.notify_all();
  session->last_activity = std::chrono::steady_clock::now();
  changed_.wait_for(lock, wait, [&] { return !from.outbox.empty() || session->Ended(); });
  PsiMessages messages;
  size_t bytes = 0;
  for (const std::string& frame : from.outbox) {
    if (!messages.frames.empty() && bytes + frame.size() > (size_t{4} << 20)) break;
    messages.frames.push_back(frame);
    bytes += frame.size();
  }
  messages.next = after + static_cast<int64_t>(messages.frames.size());
  messages.ended = session->Ended() &&
                   messages.next == from.outbox_base + static_cast<int64_t>(from.outbox.size());
  if (session->Ended()) messages.reason = session->state.reason;
  return messages;
}

std::optional<PsiSessionState> PsiRelay::TakeEnded(const std::string& collaboration,
                                                   const std::string& id) {
  std::lock_guard lock(mutex_);
  absl::StatusOr<Session*> session = Find(collaboration, id);
  if (!session.ok() || !(*session)->Ended() || (*session)->end_taken) return std::nullopt;
  (*session)->end_taken = true;
  return (*session)->state;
}

}  // namespace parley::service
