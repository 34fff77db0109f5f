#include "identity/token.h"

#include <sodium.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"

namespace parley::identity {
namespace {

constexpr size_t kIdBytes = 8;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSaltBytes = 16;  // crypto_generichash_KEYBYTES_MIN
constexpr size_t kHashBytes = crypto_generichash_BYTES;

void InitSodium() {
  // sodium_init is thread-safe and idempotent; it fails only when the OS has no randomness
  // source, and then no token can be issued safely.
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) std::abort();
}

std::string Hex(const unsigned char* bytes, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.resize(size * 2);
  return hex;
}

bool IsLowerHex(std::string_view text, size_t digits) {
  if (text.size() != digits) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool FromHex(std::string_view hex, std::vector<unsigned char>& out, size_t bytes) {
  if (!IsLowerHex(hex, bytes * 2)) return false;
  out.assign(bytes, 0);
  size_t written = 0;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written,
                        nullptr) == 0 &&
         written == bytes;
}

std::vector<unsigned char> KeyedHash(std::string_view secret, const unsigned char* salt) {
  std::vector<unsigned char> hash(kHashBytes);
  crypto_generichash(hash.data(), hash.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), salt,
                     kSaltBytes);
  return hash;
}

}  // namespace

std::string RandomHex(size_t bytes) {
  InitSodium();
  std::vector<unsigned char> random(bytes);
  randombytes_buf(random.data(), random.size());
  std::string hex = Hex(random.data(), random.size());
  sodium_memzero(random.data(), random.size());
  return hex;
}

IssuedToken IssueToken(std::string_view prefix) {
  InitSodium();
  IssuedToken issued;
  issued.id = RandomHex(kIdBytes);
  std::string secret = RandomHex(kSecretBytes);
  unsigned char salt[kSaltBytes];
  randombytes_buf(salt, sizeof(salt));
  issued.salt_hex = Hex(salt, sizeof(salt));
  std::vector<unsigned char> hash = KeyedHash(secret, salt);
  issued.hash_hex = Hex(hash.data(), hash.size());
  issued.text = absl::StrCat(std::string(prefix), issued.id, "_", secret);
  sodium_memzero(secret.data(), secret.size());
  return issued;
}

absl::StatusOr<PresentedToken> ParseToken(std::string_view text, std::string_view prefix) {
  const absl::Status malformed = absl::InvalidArgumentError(
      prefix == kTokenPrefix
          ? std::string("not a Parley API token (expected pt_<id>_<secret>)")
          : absl::StrCat("not a Parley code (expected ", std::string(prefix), "<id>_<secret>)"));
  if (text.substr(0, prefix.size()) != prefix) return malformed;
  text.remove_prefix(prefix.size());
  if (text.size() != kIdBytes * 2 + 1 + kSecretBytes * 2 || text[kIdBytes * 2] != '_') {
    return malformed;
  }
  PresentedToken token{std::string(text.substr(0, kIdBytes * 2)),
                       std::string(text.substr(kIdBytes * 2 + 1))};
  if (!IsLowerHex(token.id, kIdBytes * 2) || !IsLowerHex(token.secret, kSecretBytes * 2)) {
    return malformed;
  }
  return token;
}

bool TokenMatches(const PresentedToken& token, std::string_view salt_hex,
                  std::string_view hash_hex) {
  InitSodium();
  std::vector<unsigned char> salt, stored;
  if (!FromHex(salt_hex, salt, kSaltBytes) || !FromHex(hash_hex, stored, kHashBytes)) return false;
  std::vector<unsigned char> computed = KeyedHash(token.secret, salt.data());
  return sodium_memcmp(computed.data(), stored.data(), kHashBytes) == 0;
}

}  // namespace parley::identity
