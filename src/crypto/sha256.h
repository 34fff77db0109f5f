// SHA-256 over bytes (OpenSSL EVP), as lowercase hex. Used for the audit chain and, later,
// template ids.
#pragma once

#include <string>
#include <string_view>

namespace parley::crypto {

// Returns the 64-character lowercase hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace parley::crypto

namespace parley::crypto {

// SHA-256 over bytes that arrive in pieces (an upload): Update with each piece, then HexDigest
// once. Not copyable; one thread at a time.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // lowercase hex; the stream is finished afterwards

 private:
  void* context_;  // EVP_MD_CTX
};

}  // namespace parley::crypto

namespace parley::crypto {

// HMAC-SHA256 of `data` under `key`, as lowercase hex (webhook signatures).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace parley::crypto
