// The frames of the PSI wire protocol (docs/formats/psi.md, "Framing" and "HELLO"): a 1-byte
// type, a 4-byte big-endian length and a payload of at most kMaxFramePayload bytes. Reading
// checks the length before it allocates anything, so a hostile length cannot exhaust memory.
//
// Thread safety: free functions; a Channel is read by one thread and written by one thread.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "psi/channel.h"

namespace parley::psi {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kMaxFramePayload = 1 << 20;
inline constexpr size_t kMaxBatchElements = 4096;
inline constexpr size_t kMaxAbortReason = 256;
// Set sizes above this are refused in a HELLO (2^40 identifiers would be 32 TiB of elements).
inline constexpr uint64_t kMaxSetSize = uint64_t{1} << 40;
inline constexpr absl::string_view kHelloMagic = "PRLY-PSI";
inline constexpr size_t kHelloSize = 20;

enum class FrameType : uint8_t { kHello = 1, kBlinded = 2, kDouble = 3, kDone = 4, kAbort = 5 };

// "HELLO", "BLINDED", ...; "type 0xNN" for a byte that names no frame type.
std::string FrameTypeName(uint8_t type);

enum class Mode : uint8_t { kIntersection = 1, kCardinalityOnly = 2 };

// "intersection" or "cardinality only".
absl::string_view ModeName(Mode mode);

// Who learns the result (HELLO byte 11): both parties (0, the only choice of `psi serve` and
// `psi connect`), or only the responder (1) or only the initiator (2) — a session relayed by a
// Parley server delivers it to the collaboration's designated receivers only. A party that does
// not learn it never receives its own set doubly blinded, and DONE carries 0 both ways.
enum class Receivers : uint8_t { kBoth = 0, kResponder = 1, kInitiator = 2 };

// "both parties", "the responder only", "the initiator only".
absl::string_view ReceiversName(Receivers receivers);

struct Frame {
  uint8_t type = 0;  // a FrameType when known; kept raw so an unknown type can be named
  std::string payload;
};

struct Hello {
  uint16_t version = kProtocolVersion;
  Mode mode = Mode::kIntersection;
  uint64_t set_size = 0;
  Receivers receivers = Receivers::kBoth;
};

absl::Status WriteFrame(Channel& channel, FrameType type, absl::string_view payload);

// The next frame. InvalidArgument for a length above kMaxFramePayload ("frame of N bytes exceeds
// the limit of 1048576"); OutOfRange when the stream ended before the frame (the peer closed);
// DataLoss when it ended inside the frame (a truncated frame); transport errors as they come.
absl::StatusOr<Frame> ReadFrame(Channel& channel);

std::string EncodeHello(const Hello& hello);

// Checks in the order the format fixes: magic, version (naming both versions), length, mode
// byte, receivers byte, set size. InvalidArgument with a message a user can act on.
absl::StatusOr<Hello> DecodeHello(absl::string_view payload);

// Big-endian 8-byte counts (DONE).
std::string EncodeCount(uint64_t count);
absl::StatusOr<uint64_t> DecodeCount(absl::string_view payload);

}  // namespace parley::psi
