// SHA-256 over bytes (OpenSSL EVP), as lowercase hex. Used for the audit chain and, later,
// template ids.
#pragma once

#include <string>
#include <string_view>

namespace parley::crypto {

// Returns the 64-character lowercase hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace parley::crypto
