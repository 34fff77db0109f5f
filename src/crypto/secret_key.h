// A 256-bit key that wipes itself and cannot be printed: the shared secret of an encrypted
// collaboration and every key derived from it (crypto/column_keys.h). It exists so that key bytes
// never sit in a std::string that a log line, an error message or a core dump could carry: the
// bytes are reachable only through `bytes()`, copies are explicit, and the destructor overwrites
// them (OPENSSL_cleanse, which the compiler may not elide).
//
// Thread safety: an immutable value once built; any number of threads may read it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace parley::crypto {

class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  // From exactly 32 bytes; InvalidArgument otherwise (the message gives the length only).
  static absl::StatusOr<SecretKey> FromBytes(std::string_view bytes);
  // 32 bytes from the operating system's CSPRNG (libsodium randombytes_buf).
  static SecretKey Random();

  SecretKey(const SecretKey& other) = default;
  SecretKey& operator=(const SecretKey& other) = default;
  ~SecretKey();

  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

 private:
  SecretKey() = default;
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace parley::crypto
