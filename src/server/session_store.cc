#include "server/session_store.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <utility>

namespace parley::server {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return Hex(digest, sizeof digest);
}

}  // namespace

std::string RandomHex32() {
  unsigned char bytes[32];
  // Without randomness there is no safe session id: stop rather than hand out a guessable one.
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
  return Hex(bytes, sizeof bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

SessionStore::SessionStore(std::chrono::seconds lifetime, Clock clock)
    : lifetime_(lifetime), clock_(std::move(clock)) {}

Session SessionStore::Open(std::string token, std::string organisation, bool admin) {
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  Session session{.id = RandomHex32(),
                  .token = std::move(token),
                  .organisation = std::move(organisation),
                  .admin = admin,
                  .csrf_token = RandomHex32(),
                  .expires_at = now + lifetime_.count()};
  std::lock_guard lock(mutex_);
  DropExpiredLocked(now);
  if (sessions_.size() >= kMaxSessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.expires_at < oldest->second.expires_at) oldest = it;
    }
    sessions_.erase(oldest);
  }
  Session stored = session;
  stored.id.clear();
  sessions_[Sha256Hex(session.id)] = std::move(stored);
  return session;
}

std::optional<Session> SessionStore::Find(std::string_view id) {
  if (id.empty()) return std::nullopt;
  std::string key = Sha256Hex(id);
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_at <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionStore::Close(std::string_view id) {
  std::string key = Sha256Hex(id);
  std::lock_guard lock(mutex_);
  sessions_.erase(key);
}

void SessionStore::DropExpiredLocked(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires_at <= now ? sessions_.erase(it) : std::next(it);
  }
}

}  // namespace parley::server
