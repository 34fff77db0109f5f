#include "psi/group.h"

#include <sodium.h>

#include <cstring>

namespace parley::psi {

absl::Status InitialiseSodium() {
  // sodium_init returns 0 the first time, 1 when already initialised, -1 on failure.
  if (sodium_init() < 0) return absl::InternalError("libsodium could not be initialised");
  return absl::OkStatus();
}

Scalar Scalar::Random() {
  Scalar scalar;
  crypto_core_ristretto255_scalar_random(scalar.bytes_.data());
  return scalar;
}

Scalar Scalar::FromBytesForTesting(const std::array<uint8_t, 32>& bytes) {
  Scalar scalar;
  unsigned char wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = {};
  std::memcpy(wide, bytes.data(), bytes.size());
  crypto_core_ristretto255_scalar_reduce(scalar.bytes_.data(), wide);
  return scalar;
}

Scalar::Scalar(Scalar&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

Scalar& Scalar::operator=(Scalar&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

Scalar::~Scalar() { sodium_memzero(bytes_.data(), bytes_.size()); }

std::string ExpandMessageXmdSha512(absl::string_view message, absl::string_view dst,
                                   size_t length) {
  constexpr size_t kHashBytes = crypto_hash_sha512_BYTES;  // b_in_bytes
  constexpr size_t kBlockBytes = 128;                      // s_in_bytes
  size_t blocks = (length + kHashBytes - 1) / kHashBytes;
  // The callers pass constants; these are the RFC's own limits.
  if (blocks > 255 || length > 65535 || dst.size() > 255) return "";
  std::string dst_prime(dst);
  dst_prime.push_back(static_cast<char>(dst.size()));
  const unsigned char zero_pad[kBlockBytes] = {};
  const unsigned char length_bytes[2] = {static_cast<unsigned char>(length >> 8),
                                         static_cast<unsigned char>(length & 0xff)};
  auto bytes = [](absl::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
  };

  unsigned char b0[kHashBytes];
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, zero_pad, kBlockBytes);
  crypto_hash_sha512_update(&state, bytes(message), message.size());
  crypto_hash_sha512_update(&state, length_bytes, 2);
  const unsigned char zero = 0;
  crypto_hash_sha512_update(&state, &zero, 1);
  crypto_hash_sha512_update(&state, bytes(dst_prime), dst_prime.size());
  crypto_hash_sha512_final(&state, b0);

  std::string out;
  out.reserve(blocks * kHashBytes);
  unsigned char previous[kHashBytes] = {};
  for (size_t i = 1; i <= blocks; ++i) {
    unsigned char input[kHashBytes];
    for (size_t j = 0; j < kHashBytes; ++j) input[j] = b0[j] ^ (i == 1 ? 0 : previous[j]);
    const unsigned char counter = static_cast<unsigned char>(i);
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, input, kHashBytes);
    crypto_hash_sha512_update(&state, &counter, 1);
    crypto_hash_sha512_update(&state, bytes(dst_prime), dst_prime.size());
    crypto_hash_sha512_final(&state, previous);
    out.append(reinterpret_cast<const char*>(previous), kHashBytes);
  }
  out.resize(length);
  return out;
}

Element HashToGroup(absl::string_view identifier, absl::string_view dst) {
  std::string uniform = ExpandMessageXmdSha512(identifier, dst, crypto_core_ristretto255_HASHBYTES);
  Element element;
  crypto_core_ristretto255_from_hash(element.data(),
                                     reinterpret_cast<const unsigned char*>(uniform.data()));
  return element;
}

bool IsAcceptableElement(const Element& element) {
  return crypto_core_ristretto255_is_valid_point(element.data()) == 1 &&
         !sodium_is_zero(element.data(), element.size());
}

absl::StatusOr<Element> Blind(const Scalar& key, const Element& element) {
  Element out;
  if (crypto_scalarmult_ristretto255(out.data(), key.data(), element.data()) != 0) {
    return absl::InvalidArgumentError("not a valid group element");
  }
  return out;
}

std::string ToHex(const Element& element) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (uint8_t byte : element) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 15]);
  }
  return hex;
}

}  // namespace parley::psi
