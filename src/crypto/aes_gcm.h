// AES-256-GCM (NIST SP 800-38D) through OpenSSL's EVP interface, with a 96-bit nonce and a
// 128-bit tag: the cipher of sealed columns (docs/formats/encrypted-columns.md). OpenSSL rather
// than libsodium because libsodium's AES-GCM exists only on CPUs with AES-NI; OpenSSL uses AES-NI
// where present and a constant-time software path elsewhere.
//
// `AesGcm256` sets the key once (the key schedule is most of the cost of a short message) and
// keeps one EVP context, so it is for one thread at a time; make one per thread.
//
//   PARLEY_ASSIGN_OR_RETURN(AesGcm256 cipher, AesGcm256::Create(key));
//   PARLEY_ASSIGN_OR_RETURN(std::string sealed, cipher.Seal(nonce, aad, plaintext));
//   // sealed = ciphertext || 16-byte tag
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace parley::crypto {

class AesGcm256 {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // InvalidArgument unless `key` has 32 bytes; Internal when OpenSSL fails.
  static absl::StatusOr<AesGcm256> Create(std::string_view key);
  AesGcm256(AesGcm256&&) noexcept;
  AesGcm256& operator=(AesGcm256&&) noexcept;
  ~AesGcm256();

  // Ciphertext followed by the tag, appended to `out`. InvalidArgument for a nonce that is not
  // 12 bytes.
  absl::Status Seal(std::string_view nonce, std::string_view aad, std::string_view plaintext,
                    std::string& out);
  // The plaintext of `sealed` (ciphertext || tag), appended to `out`; DataLoss when the tag does
  // not verify (wrong key, wrong associated data, or altered bytes: GCM cannot tell which), and
  // nothing is appended then.
  absl::Status Open(std::string_view nonce, std::string_view aad, std::string_view sealed,
                    std::string& out);

 private:
  struct ContextFree {
    void operator()(EVP_CIPHER_CTX* context) const;
  };
  AesGcm256() = default;
  std::unique_ptr<EVP_CIPHER_CTX, ContextFree> encrypt_;
  std::unique_ptr<EVP_CIPHER_CTX, ContextFree> decrypt_;
};

}  // namespace parley::crypto
