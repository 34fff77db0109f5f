#include "service/webhook_dispatcher.h"

#include <httplib.h>

#include <algorithm>

#include "crypto/sha256.h"

namespace parley::service {

WebhookDispatcher::WebhookDispatcher() : WebhookDispatcher(Options()) {}

WebhookDispatcher::WebhookDispatcher(Options options) : options_(options) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Run(); });
}

WebhookDispatcher::~WebhookDispatcher() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, options_.drain, [this] { return queue_.empty() && busy_ == 0; });
    stopping_ = true;
    dropped_ += static_cast<int64_t>(queue_.size());
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

bool WebhookDispatcher::Enqueue(WebhookDelivery delivery) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= options_.capacity) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(delivery));
  }
  wake_.notify_all();
  return true;
}

int64_t WebhookDispatcher::delivered() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return delivered_;
}
int64_t WebhookDispatcher::failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}
int64_t WebhookDispatcher::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

bool WebhookDispatcher::Send(const WebhookDelivery& delivery) {
  // "scheme://host[:port]" and the path: the service checked the URL when it was added.
  size_t scheme_end = delivery.url.find("://");
  if (scheme_end == std::string::npos) return false;
  size_t path_start = delivery.url.find('/', scheme_end + 3);
  std::string origin = delivery.url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : delivery.url.substr(path_start);
  httplib::Client client(origin);
  if (!client.is_valid()) return false;
  auto seconds = static_cast<time_t>(options_.timeout.count());
  client.set_connection_timeout(seconds);
  client.set_read_timeout(seconds);
  client.set_write_timeout(seconds);
  client.set_follow_location(false);
  if (delivery.url.rfind("https://", 0) == 0) client.enable_server_certificate_verification(true);
  httplib::Headers headers = {
      {"X-Parley-Event", delivery.event},
      {"X-Parley-Delivery", delivery.id},
      {"X-Parley-Signature", "sha256=" + crypto::HmacSha256Hex(delivery.secret, delivery.body)}};
  httplib::Result result = client.Post(path, headers, delivery.body, "application/json");
  return result && result->status >= 200 && result->status < 300;
}

void WebhookDispatcher::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    WebhookDelivery delivery = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    bool sent = false;
    auto pause = options_.first_pause;
    for (int attempt = 0; attempt < options_.attempts && !sent && !stopping_; ++attempt) {
      if (attempt > 0) {
        // Interrupted by the destructor.
        wake_.wait_for(lock, pause, [this] { return stopping_; });
        pause *= 2;
        if (stopping_) break;
      }
      lock.unlock();
      sent = Send(delivery);
      lock.lock();
    }
    if (sent) {
      ++delivered_;
    } else {
      ++failed_;
    }
    --busy_;
    wake_.notify_all();
  }
}

}  // namespace parley::service
