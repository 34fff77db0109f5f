// HKDF-SHA-256 (RFC 5869) through OpenSSL 3's EVP_KDF: the one way Parley turns a shared secret
// into the keys of an encrypted collaboration (crypto/column_keys.h). libsodium 1.0.18 has no
// HKDF-SHA-256, hence OpenSSL.
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace parley::crypto {

// Extract-then-expand: `length` bytes (1..8160) of output keying material from input keying
// material `ikm`, `salt` (may be empty: RFC 5869 then uses a block of zeros) and `info`.
// Internal when OpenSSL fails; InvalidArgument for a length HKDF cannot give.
absl::StatusOr<std::string> HkdfSha256(std::string_view ikm, std::string_view salt,
                                       std::string_view info, size_t length);

}  // namespace parley::crypto
