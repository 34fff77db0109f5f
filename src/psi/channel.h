// The byte stream a PSI session runs over (docs/formats/psi.md): TCP or TLS in real use
// (psi/tcp.h), an in-memory pipe in tests. The protocol (psi/protocol.h) sees only this
// interface, so the same code is tested without sockets and with faults injected.
//
// Thread safety: one thread writes and one thread reads a given Channel; Close may be called from
// any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace parley::psi {

class Channel {
 public:
  virtual ~Channel() = default;
  // Writes all of `bytes`, or fails (Unavailable when the peer is gone).
  virtual absl::Status Write(absl::string_view bytes) = 0;
  // Reads exactly `size` bytes into `out`. OutOfRange when the stream ended cleanly before the
  // first byte (the peer closed the connection), DataLoss when it ended after some but not all
  // bytes, Unavailable or DeadlineExceeded for transport failures.
  virtual absl::Status Read(char* out, size_t size) = 0;
  // Ends the stream in both directions; the peer's reads then see the end.
  virtual void Close() = 0;
};

// Two connected in-memory channels: what one writes, the other reads. Destroying or closing
// either ends the stream for the other.
std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> MemoryPipe();

}  // namespace parley::psi
