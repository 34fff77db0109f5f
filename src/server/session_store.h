// The console's sign-in sessions, in the server's memory: a random session id (the cookie's
// value) maps to the organisation's token, its CSRF secret and an absolute expiry. The id is 32
// bytes from OpenSSL's CSPRNG, kept only as its SHA-256 (a lookup compares hashes, so its timing
// says nothing about the id); the token stays here, never in the cookie, and is checked again on
// every request, so revoking it ends its sessions too. Sessions do not survive a restart: the
// browser signs in again.
//
//   SessionStore store(std::chrono::hours(8), [] { return std::chrono::system_clock::now(); });
//   Session opened = store.Open(token, "retailer", false);   // opened.id goes in the cookie
//   std::optional<Session> found = store.Find(cookie_value);  // nullopt once expired or closed
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

using Clock = std::function<std::chrono::system_clock::time_point()>;

struct Session {
  std::string id;     // set only in the value Open returns: the cookie's value
  std::string token;  // the organisation's API token, re-authenticated on each request
  std::string organisation;
  bool admin = false;
  std::string csrf_token;  // 64 hex digits
  int64_t expires_at = 0;  // seconds since the epoch
};

class SessionStore {
 public:
  // At most this many sessions are open at once; opening another closes the oldest.
  static constexpr size_t kMaxSessions = 10000;

  SessionStore(std::chrono::seconds lifetime, Clock clock);

  // A new session for `organisation`, authenticated by `token`; expires `lifetime` from now.
  Session Open(std::string token, std::string organisation, bool admin);
  // The session whose id is `id`, unless it expired or was closed.
  std::optional<Session> Find(std::string_view id);
  // Ends the session (no-op when there is none).
  void Close(std::string_view id);

 private:
  void DropExpiredLocked(int64_t now);
  std::chrono::seconds lifetime_;
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;  // by SHA-256 of the id, in hex
};

// 32 random bytes from the CSPRNG, as 64 hex digits.
std::string RandomHex32();
// Whether two strings are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace parley::server
