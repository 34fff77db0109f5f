// Delivers webhook events: a bounded queue and a few worker threads (so that one slow receiver
// does not hold everyone's events) that POST each event's JSON to its URL, signed with the
// webhook's HMAC secret, retrying a few times with growing pauses. Enqueue never blocks and never
// fails the caller's action: when the queue is full the event is dropped and counted. A query or a
// change request therefore never waits on a slow receiver.
//
// What a receiver gets: POST with Content-Type application/json, `X-Parley-Event: <kind>`,
// `X-Parley-Delivery: <id>` and `X-Parley-Signature: sha256=<HMAC-SHA256(secret, body) hex>`;
// any 2xx answer is a delivery. Redirects are not followed.
//
// Thread safety: Enqueue and the counters from any thread. The destructor waits up to
// Options::drain for queued events, then stops (what is left is dropped).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::service {

struct WebhookDelivery {
  std::string url;
  std::string secret;
  std::string event;  // e.g. "change.opened"
  std::string id;     // the delivery's id, also in the body
  std::string body;   // JSON
};

class WebhookDispatcher {
 public:
  struct Options {
    size_t capacity = 1000;
    int workers = 4;
    int attempts = 4;
    std::chrono::milliseconds first_pause{250};  // doubled after each failed attempt
    std::chrono::seconds timeout{5};             // per attempt: connect, read, write
    std::chrono::milliseconds drain{2000};
  };
  WebhookDispatcher();
  explicit WebhookDispatcher(Options options);
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // false when the queue is full (the event is dropped).
  bool Enqueue(WebhookDelivery delivery);
  int64_t delivered() const;
  int64_t failed() const;  // gave up after every attempt
  int64_t dropped() const;

 private:
  void Run();
  bool Send(const WebhookDelivery& delivery);

  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<WebhookDelivery> queue_;
  bool stopping_ = false;
  int busy_ = 0;
  int64_t delivered_ = 0, failed_ = 0, dropped_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace parley::service
