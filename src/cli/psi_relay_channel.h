// The byte stream of a PSI session relayed through a Parley server (docs/formats/psi.md,
// "Relayed through a server"): what the protocol writes is cut into whole frames, each sent as
// one numbered message (SendPsi); what it reads comes from the peer's messages (ReceivePsi,
// waiting on the server for the next). The server checks every frame, so the protocol runs
// unchanged over it.
//
// Errors: a refused frame fails Write with the server's reason; a session that ended or a server
// that stopped answering fails Read (OutOfRange once the session ended cleanly with nothing left
// to read, DeadlineExceeded after `io_timeout` without a frame). Thread safety: as Channel.
#pragma once

#include <chrono>
#include <string>

#include "cli/backend.h"
#include "psi/channel.h"

namespace parley::cli {

class RelayChannel : public psi::Channel {
 public:
  RelayChannel(Backend& backend, std::string collaboration, std::string session,
               std::chrono::seconds io_timeout)
      : backend_(backend),
        collaboration_(std::move(collaboration)),
        session_(std::move(session)),
        io_timeout_(io_timeout) {}

  absl::Status Write(absl::string_view bytes) override;
  absl::Status Read(char* out, size_t size) override;
  void Close() override { closed_ = true; }

 private:
  absl::Status SendFrame(const std::string& frame);

  Backend& backend_;
  std::string collaboration_;
  std::string session_;
  std::chrono::seconds io_timeout_;
  bool closed_ = false;
  std::string outgoing_;  // bytes written that do not make a whole frame yet
  int64_t sequence_ = 1;
  std::string incoming_;  // the peer's frames received and not read yet
  size_t incoming_read_ = 0;
  int64_t next_ = 0;  // how many of the peer's frames were received
  bool ended_ = false;
  std::string end_reason_;
};

}  // namespace parley::cli
