#include "cli/psi_relay_channel.h"

#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/jobs.h"
#include "base/status.h"

namespace parley::cli {

absl::Status RelayChannel::SendFrame(const std::string& frame) {
  api::SendPsiRequest request{collaboration_, session_, sequence_, api::Base64Encode(frame)};
  auto deadline = std::chrono::steady_clock::now() + io_timeout_;
  for (;;) {
    absl::StatusOr<api::PsiSession> sent = backend_.SendPsi(request);
    if (sent.ok()) break;
    // The server holds a frame back while the peer lags (Unavailable): send it again.
    if (absl::IsUnavailable(sent.status()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    return absl::Status(sent.status().code(), absl::StrCat("the relay: ", sent.status().message()));
  }
  ++sequence_;
  return absl::OkStatus();
}

absl::Status RelayChannel::Write(absl::string_view bytes) {
  if (closed_) return absl::UnavailableError("the relayed session is closed");
  outgoing_.append(bytes.data(), bytes.size());
  // Whole frames only: the server checks each as one message.
  while (outgoing_.size() >= 5) {
    uint64_t length = 0;
    for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(outgoing_[i]);
    if (outgoing_.size() < 5 + length) break;
    std::string frame = outgoing_.substr(0, 5 + length);
    outgoing_.erase(0, 5 + length);
    PARLEY_RETURN_IF_ERROR(SendFrame(frame));
  }
  return absl::OkStatus();
}

absl::Status RelayChannel::Read(char* out, size_t size) {
  size_t done = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (done < size) {
    size_t available = incoming_.size() - incoming_read_;
    if (available > 0) {
      size_t take = std::min(available, size - done);
      std::memcpy(out + done, incoming_.data() + incoming_read_, take);
      incoming_read_ += take;
      done += take;
      if (incoming_read_ == incoming_.size()) {
        incoming_.clear();
        incoming_read_ = 0;
      }
      continue;
    }
    if (closed_ || ended_) {
      if (done == 0) {
        return absl::OutOfRangeError(
            end_reason_.empty() ? std::string("the relayed session ended")
                                : absl::StrCat("the relay ended the session: ", end_reason_));
      }
      return absl::DataLossError("the relayed session ended inside a message");
    }
    if (std::chrono::steady_clock::now() - last_progress > io_timeout_) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no message from the peer through the relay for ", io_timeout_.count(), " seconds"));
    }
    absl::StatusOr<api::ReceivePsiResponse> received =
        backend_.ReceivePsi({collaboration_, session_, next_, 5000});
    if (!received.ok()) {
      if (absl::IsUnavailable(received.status()) &&
          std::chrono::steady_clock::now() - last_progress < io_timeout_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      return absl::UnavailableError(absl::StrCat("the relay: ", received.status().message()));
    }
    for (const std::string& frame : received->frames) {
      absl::StatusOr<std::string> bytes = api::Base64Decode(frame);
      if (!bytes.ok()) return absl::DataLossError("the relay sent a frame that is not base64");
      incoming_ += *bytes;
    }
    if (!received->frames.empty()) last_progress = std::chrono::steady_clock::now();
    next_ = received->next;
    if (received->ended) {
      ended_ = true;
      end_reason_ = received->reason.value_or("");
    }
  }
  return absl::OkStatus();
}

}  // namespace parley::cli
