// OpenSSL 3 deprecates the low-level SHA256_* calls in favour of EVP, but EVP has no way to copy
// a keyed state cheaply enough for per-value HMACs (EVP_MAC_CTX_dup allocates); the low-level
// context is a plain struct that copies in a few nanoseconds.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/hmac.h"

#include <openssl/crypto.h>

#include <cstring>

namespace parley::crypto {

HmacSha256Key::HmacSha256Key(std::string_view key) {
  uint8_t block[SHA256_CBLOCK] = {};
  if (key.size() > SHA256_CBLOCK) {
    SHA256(reinterpret_cast<const uint8_t*>(key.data()), key.size(), block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  uint8_t pad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, sizeof pad);
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

HmacSha256Key::~HmacSha256Key() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

Digest256 HmacSha256Key::Mac(std::string_view message) const { return Mac({}, message); }

Digest256 HmacSha256Key::Mac(std::string_view prefix, std::string_view message) const {
  SHA256_CTX context = inner_;
  Digest256 inner_digest;
  if (!prefix.empty()) SHA256_Update(&context, prefix.data(), prefix.size());
  SHA256_Update(&context, message.data(), message.size());
  SHA256_Final(inner_digest.data(), &context);
  context = outer_;
  SHA256_Update(&context, inner_digest.data(), inner_digest.size());
  Digest256 mac;
  SHA256_Final(mac.data(), &context);
  return mac;
}

void HmacSha256Key::MacInto(std::string_view message, uint8_t* out) const {
  SHA256_CTX context = inner_;
  uint8_t inner_digest[32];
  SHA256_Update(&context, message.data(), message.size());
  SHA256_Final(inner_digest, &context);
  context = outer_;
  SHA256_Update(&context, inner_digest, sizeof inner_digest);
  SHA256_Final(out, &context);
}

HmacSha256Key HmacSha256Key::WithPrefix(std::string_view prefix) const {
  HmacSha256Key prefixed(*this);
  SHA256_Update(&prefixed.inner_, prefix.data(), prefix.size());
  return prefixed;
}

Digest256 HmacSha256(std::string_view key, std::string_view message) {
  return HmacSha256Key(key).Mac(message);
}

}  // namespace parley::crypto
