// MemoryPipe: two byte queues under one mutex, for tests of the protocol without sockets.
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>

#include "psi/channel.h"

namespace parley::psi {
namespace {

struct PipeState {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<char> queue[2];  // queue[i]: bytes written by end i, read by end 1 - i
  bool closed = false;
};

class MemoryChannel : public Channel {
 public:
  MemoryChannel(std::shared_ptr<PipeState> state, int end) : state_(std::move(state)), end_(end) {}
  ~MemoryChannel() override { Close(); }

  absl::Status Write(absl::string_view bytes) override {
    std::lock_guard lock(state_->mutex);
    if (state_->closed) return absl::UnavailableError("the connection is closed");
    state_->queue[end_].insert(state_->queue[end_].end(), bytes.begin(), bytes.end());
    state_->changed.notify_all();
    return absl::OkStatus();
  }

  absl::Status Read(char* out, size_t size) override {
    std::unique_lock lock(state_->mutex);
    std::deque<char>& queue = state_->queue[1 - end_];
    size_t done = 0;
    while (done < size) {
      state_->changed.wait(lock, [&] { return !queue.empty() || state_->closed; });
      if (queue.empty()) {
        return done == 0 ? absl::OutOfRangeError("the connection ended")
                         : absl::DataLossError("the connection ended inside a message");
      }
      size_t take = std::min(size - done, queue.size());
      std::copy(queue.begin(), queue.begin() + take, out + done);
      queue.erase(queue.begin(), queue.begin() + take);
      done += take;
    }
    return absl::OkStatus();
  }

  void Close() override {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
    state_->changed.notify_all();
  }

 private:
  std::shared_ptr<PipeState> state_;
  int end_;
};

}  // namespace

std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> MemoryPipe() {
  auto state = std::make_shared<PipeState>();
  return {std::make_unique<MemoryChannel>(state, 0), std::make_unique<MemoryChannel>(state, 1)};
}

}  // namespace parley::psi
