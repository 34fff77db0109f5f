#include "crypto/secret_key.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace parley::crypto {

absl::StatusOr<SecretKey> SecretKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a key has ", kSize, " bytes, not ", bytes.size()));
  }
  SecretKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kSize);
  return key;
}

SecretKey SecretKey::Random() {
  // sodium_init is idempotent and thread-safe; randombytes_buf needs it for its generator.
  if (sodium_init() < 0) std::abort();
  SecretKey key;
  randombytes_buf(key.bytes_.data(), kSize);
  return key;
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

}  // namespace parley::crypto
