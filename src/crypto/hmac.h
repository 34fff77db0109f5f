// HMAC-SHA-256 (RFC 2104 / FIPS 198-1) with the key schedule done once: a fingerprint column
// HMACs millions of short values under one key, and recomputing the padded-key blocks for each of
// them would double the work (a short message costs two SHA-256 compressions; the key schedule
// two more). `HmacSha256Key` keeps the SHA-256 states after absorbing the inner and outer padded
// keys and copies them for each message; OpenSSL's SHA-256 uses the CPU's SHA extensions where
// there are any.
//
//   HmacSha256Key key(secret_bytes);
//   std::array<uint8_t, 32> mac = key.Mac("value");
//
// Thread safety: `Mac` is const and copies the states, so one key may serve many threads.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace parley::crypto {

using Digest256 = std::array<uint8_t, 32>;

class HmacSha256Key {
 public:
  // Any key length (RFC 2104: a key longer than the block is hashed first).
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = default;
  HmacSha256Key& operator=(const HmacSha256Key&) = default;

  Digest256 Mac(std::string_view message) const;
  // The MAC of `prefix` followed by `message`, without concatenating them first.
  Digest256 Mac(std::string_view prefix, std::string_view message) const;
  // The MAC of `message` written straight into `out` (32 bytes): no copy of a returned digest.
  void MacInto(std::string_view message, uint8_t* out) const;
  // A key whose MACs are those of this key over `prefix` followed by the message: the prefix is
  // absorbed once here instead of once per message (a fingerprint column's type tag).
  HmacSha256Key WithPrefix(std::string_view prefix) const;

 private:
  SHA256_CTX inner_;
  SHA256_CTX outer_;
};

// One-shot convenience for tests and rare calls.
Digest256 HmacSha256(std::string_view key, std::string_view message);

}  // namespace parley::crypto
