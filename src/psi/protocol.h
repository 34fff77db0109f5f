// One PSI session (docs/formats/psi.md, "The session"): the ECDH private set intersection over
// ristretto255 between a responder (`parley psi serve`) and an initiator (`parley psi connect`),
// run over any Channel. Each party learns which of its own identifiers the other also holds (or,
// in cardinality-only mode, only how many) and the size of the other's set; nothing else.
//
//   absl::StatusOr<SessionResult> result =
//       RunSession(channel, Role::kInitiator, identifiers, SessionOptions{});
//
// Every message from the peer is checked (docs/formats/psi.md, "Checks on received data"); a
// violation ends the session with an error naming the phase, frame and position — never a value —
// after an ABORT frame telling the peer why. Errors: FailedPrecondition when the peers' versions
// or modes differ, InvalidArgument for a protocol violation, Unavailable when the peer is gone,
// DataLoss for a truncated frame, Aborted when the peer ended the session.
//
// Thread safety: a session runs on the calling thread and uses up to `threads` worker threads
// for the group operations.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "psi/channel.h"
#include "psi/frames.h"

namespace parley::psi {

enum class Role { kResponder, kInitiator };

struct SessionOptions {
  Mode mode = Mode::kIntersection;
  // Who learns the result; both parties must say the same (psi/frames.h, Receivers).
  Receivers receivers = Receivers::kBoth;
  // Called from the session's thread after each batch: a phase name, items done, items in all.
  std::function<void(absl::string_view phase, uint64_t done, uint64_t total)> progress;
  // 0: one per core.
  int threads = 0;
  // Test vectors only: a fixed scalar instead of a random one, and no shuffling, so that every
  // message of a session is reproducible. Never set by the command line.
  std::optional<std::array<uint8_t, 32>> key_for_testing;
  bool shuffle = true;
  // Test only: observes every frame this side sends (type, payload) before it is sent.
  std::function<void(FrameType type, absl::string_view payload)> sent_for_testing;
};

struct SessionResult {
  // False on the side that does not learn the result (SessionOptions::receivers): then
  // intersection_size is 0 and matched empty.
  bool learned = true;
  uint64_t own_size = 0;
  uint64_t peer_size = 0;
  uint64_t intersection_size = 0;
  // Intersection mode: the positions in `identifiers` of the common ones, ascending. Empty in
  // cardinality-only mode.
  std::vector<size_t> matched;
};

// `identifiers` must be distinct (psi/identifiers.h removes duplicates); InvalidArgument if not.
absl::StatusOr<SessionResult> RunSession(Channel& channel, Role role,
                                         const std::vector<std::string>& identifiers,
                                         const SessionOptions& options);

}  // namespace parley::psi
