// PSI through a Parley server (docs/formats/psi.md, "Relayed through a server"): two members of a
// collaboration run the ECDH PSI of psi/protocol.h with the server passing their frames between
// them. The server holds no scalar and sees only blinded elements, so it learns no identifier; it
// checks every frame before it passes it on, so a party cannot use the relay to send the other
// what the protocol forbids:
//   - frames in the protocol's order (HELLO, BLINDED, DOUBLE, DONE), each of the right size, with
//     the session's version, mode and receivers in the HELLO, and no more elements than announced;
//   - every element a canonical ristretto255 encoding other than the identity, none repeated
//     within a set, none of the peer's own elements reflected back;
//   - a DOUBLE frame only towards a receiver of the result, and DONE carrying 0 when the result
//     goes to one party (the count would otherwise reach the other);
//   - each message numbered: a repeated number (a replay) or a gap is refused.
// A refused frame ends the session: the sender gets the error, the peer an ABORT naming it. A
// message from anyone but the two parties is refused by the use case (psi_sessions.cc) before it
// reaches here.
//
// Memory: a session holds the frames not yet read by their receiver (at most kMaxPendingFrames
// per direction: a sender waits while its peer lags) and one 32-byte hash entry per element
// relayed; sets above kMaxRelayedSetSize are refused in the HELLO.
//
// Thread safety: every method may be called from any thread; one mutex guards all sessions.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "psi/frames.h"

namespace parley::service {

inline constexpr uint64_t kMaxRelayedSetSize = uint64_t{1} << 24;
inline constexpr size_t kMaxPendingFrames = 64;

struct PsiSessionState {
  std::string id;
  std::string collaboration;
  std::string responder;  // the member who started the session
  std::string initiator;  // the peer it named
  psi::Mode mode = psi::Mode::kIntersection;
  psi::Receivers receivers = psi::Receivers::kResponder;
  // "waiting" (for the peer's first message), "running", "completed", "failed".
  std::string status = "waiting";
  std::string reason;  // why it failed; names members, frames and positions, never a value
  int64_t responder_size = -1, initiator_size = -1;  // announced in the HELLOs; -1 before
  int64_t frames_relayed = 0;
};

struct PsiMessages {
  std::vector<std::string> frames;  // whole frames (type, length, payload), oldest first
  int64_t next = 0;                 // the `after` of the next call
  bool ended = false;               // the session is over and every frame was read
  std::string reason;               // why, when it failed
};

class PsiRelay {
 public:
  explicit PsiRelay(std::chrono::seconds idle_limit = std::chrono::seconds(900));
  ~PsiRelay();

  // A new session between `responder` and `initiator`, its id random and unguessable.
  PsiSessionState Start(const std::string& collaboration, const std::string& responder,
                        const std::string& initiator, psi::Mode mode, psi::Receivers receivers);
  // NotFound when no such session of `collaboration` exists (or it expired).
  absl::StatusOr<PsiSessionState> Show(const std::string& collaboration, const std::string& id);
  // Checks and queues one frame from `member` (a party: the caller checked), numbered `sequence`
  // (1, 2, ... per party). Waits up to `wait` while the peer has kMaxPendingFrames unread, then
  // Unavailable (send it again). InvalidArgument for a refused frame (the session then fails),
  // FailedPrecondition for a replayed or skipped number or a session that has ended.
  absl::StatusOr<PsiSessionState> Send(const std::string& collaboration, const std::string& id,
                                       const std::string& member, int64_t sequence,
                                       const std::string& frame, std::chrono::milliseconds wait);
  // The peer's frames from number `after` (0-based count of frames already read), waiting up to
  // `wait` for one to arrive. Frames before `after` are dropped: the caller has them.
  absl::StatusOr<PsiMessages> Receive(const std::string& collaboration, const std::string& id,
                                      const std::string& member, int64_t after,
                                      std::chrono::milliseconds wait);
  // What `member` sent last, for the audit of a session that just ended: called by the use case
  // after Send/Receive to learn whether the session reached an end it has not audited yet.
  // Returns the state once per session end (then never again).
  std::optional<PsiSessionState> TakeEnded(const std::string& collaboration, const std::string& id);

  struct Session;

 private:
  absl::StatusOr<Session*> Find(const std::string& collaboration, const std::string& id);
  void Expire();

  std::chrono::seconds idle_limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;  // by id
};

}  // namespace parley::service
