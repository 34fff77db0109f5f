#include "crypto/aes_gcm.h"

#include <openssl/evp.h>

namespace parley::crypto {

void AesGcm256::ContextFree::operator()(EVP_CIPHER_CTX* context) const {
  EVP_CIPHER_CTX_free(context);
}

AesGcm256::AesGcm256(AesGcm256&&) noexcept = default;
AesGcm256& AesGcm256::operator=(AesGcm256&&) noexcept = default;
AesGcm256::~AesGcm256() = default;

absl::StatusOr<AesGcm256> AesGcm256::Create(std::string_view key) {
  if (key.size() != kKeySize) return absl::InvalidArgumentError("AES-256-GCM takes a 32-byte key");
  AesGcm256 cipher;
  cipher.encrypt_.reset(EVP_CIPHER_CTX_new());
  cipher.decrypt_.reset(EVP_CIPHER_CTX_new());
  if (!cipher.encrypt_ || !cipher.decrypt_) {
    return absl::InternalError("cannot create a cipher context");
  }
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  // The key schedule runs here, once; each message then only sets its nonce. The default IV
  // length of GCM in OpenSSL is 12 bytes, the one length GCM uses without hashing the IV.
  if (EVP_EncryptInit_ex(cipher.encrypt_.get(), EVP_aes_256_gcm(), nullptr, key_bytes, nullptr) !=
          1 ||
      EVP_DecryptInit_ex(cipher.decrypt_.get(), EVP_aes_256_gcm(), nullptr, key_bytes, nullptr) !=
          1) {
    return absl::InternalError("cannot set an AES-256-GCM key");
  }
  return cipher;
}

absl::Status AesGcm256::Seal(std::string_view nonce, std::string_view aad,
                             std::string_view plaintext, std::string& out) {
  if (nonce.size() != kNonceSize) return absl::InvalidArgumentError("the nonce has 12 bytes");
  EVP_CIPHER_CTX* context = encrypt_.get();
  int length = 0;
  if (EVP_EncryptInit_ex(context, nullptr, nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1) {
    return absl::InternalError("AES-256-GCM: cannot set the nonce");
  }
  if (!aad.empty() && EVP_EncryptUpdate(context, nullptr, &length,
                                        reinterpret_cast<const unsigned char*>(aad.data()),
                                        static_cast<int>(aad.size())) != 1) {
    return absl::InternalError("AES-256-GCM: associated data");
  }
  size_t start = out.size();
  out.resize(start + plaintext.size() + kTagSize);
  auto* write = reinterpret_cast<unsigned char*>(out.data() + start);
  if (EVP_EncryptUpdate(context, write, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    out.resize(start);
    return absl::InternalError("AES-256-GCM: encryption");
  }
  int final_length = 0;
  if (EVP_EncryptFinal_ex(context, write + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, kTagSize, write + plaintext.size()) != 1) {
    out.resize(start);
    return absl::InternalError("AES-256-GCM: finishing");
  }
  return absl::OkStatus();
}

absl::Status AesGcm256::Open(std::string_view nonce, std::string_view aad, std::string_view sealed,
                             std::string& out) {
  if (nonce.size() != kNonceSize) return absl::InvalidArgumentError("the nonce has 12 bytes");
  if (sealed.size() < kTagSize) return absl::DataLossError("shorter than its tag");
  EVP_CIPHER_CTX* context = decrypt_.get();
  int length = 0;
  if (EVP_DecryptInit_ex(context, nullptr, nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1) {
    return absl::InternalError("AES-256-GCM: cannot set the nonce");
  }
  if (!aad.empty() && EVP_DecryptUpdate(context, nullptr, &length,
                                        reinterpret_cast<const unsigned char*>(aad.data()),
                                        static_cast<int>(aad.size())) != 1) {
    return absl::InternalError("AES-256-GCM: associated data");
  }
  size_t text_size = sealed.size() - kTagSize;
  size_t start = out.size();
  out.resize(start + text_size);
  auto* write = reinterpret_cast<unsigned char*>(out.data() + start);
  if (EVP_DecryptUpdate(context, write, &length,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(text_size)) != 1) {
    out.resize(start);
    return absl::InternalError("AES-256-GCM: decryption");
  }
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads it.
  if (EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<char*>(sealed.data() + text_size)) != 1) {
    out.resize(start);
    return absl::InternalError("AES-256-GCM: tag");
  }
  int final_length = 0;
  if (EVP_DecryptFinal_ex(context, write + length, &final_length) != 1) {
    // Released plaintext of a cell whose tag fails would be unauthenticated: wipe and drop it.
    std::fill(out.begin() + start, out.end(), '\0');
    out.resize(start);
    return absl::DataLossError("the authentication tag does not verify");
  }
  return absl::OkStatus();
}

}  // namespace parley::crypto
