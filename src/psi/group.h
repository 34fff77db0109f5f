// The group operations of the private set intersection (docs/formats/psi.md): ristretto255
// (RFC 9496) through libsodium. An identifier becomes a group element by hash-to-group
// (RFC 9380 expand_message_xmd with SHA-512 and the protocol's domain-separation tag, then the
// RFC 9496 one-way map); a party blinds elements by multiplying them by its secret scalar.
//
//   Scalar key = Scalar::Random();
//   Element h = HashToGroup("alice@example.com");
//   absl::StatusOr<Element> blinded = Blind(key, h);
//
// Thread safety: all functions are pure (Scalar::Random uses libsodium's thread-safe CSPRNG);
// call InitialiseSodium once before any of them (it is idempotent and thread safe).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parley::psi {

// The 61-byte domain-separation tag of protocol version 1.
inline constexpr absl::string_view kHashToGroupDst =
    "PARLEY-PSI-V01-CS01-with-ristretto255_XMD:SHA-512_R255MAP_RO_";

// A canonical 32-byte ristretto255 encoding.
using Element = std::array<uint8_t, 32>;

// Initialises libsodium (once per process); Internal if it cannot.
absl::Status InitialiseSodium();

// A secret scalar. It cannot be copied or printed and wipes itself when destroyed, so a session's
// key lives exactly as long as the session.
class Scalar {
 public:
  // A fresh uniformly random non-zero scalar (crypto_core_ristretto255_scalar_random).
  static Scalar Random();
  // A given scalar, for test vectors only: 32 bytes, little-endian, reduced mod the group order.
  static Scalar FromBytesForTesting(const std::array<uint8_t, 32>& bytes);
  Scalar(Scalar&& other) noexcept;
  Scalar& operator=(Scalar&& other) noexcept;
  Scalar(const Scalar&) = delete;
  Scalar& operator=(const Scalar&) = delete;
  ~Scalar();

  const uint8_t* data() const { return bytes_.data(); }

 private:
  Scalar() = default;
  std::array<uint8_t, 32> bytes_{};
};

// RFC 9380 §5.3.1 expand_message_xmd with SHA-512: `length` uniform bytes (at most 255 * 64)
// from `message` and `dst` (at most 255 bytes).
std::string ExpandMessageXmdSha512(absl::string_view message, absl::string_view dst, size_t length);

// H(identifier) = crypto_core_ristretto255_from_hash(expand_message_xmd(identifier, dst, 64)).
Element HashToGroup(absl::string_view identifier, absl::string_view dst = kHashToGroupDst);

// Whether `element` is one the peer may send: a canonical encoding of a group element other than
// the identity.
bool IsAcceptableElement(const Element& element);

// key · element. InvalidArgument when `element` is not a valid encoding or the product is the
// identity (libsodium refuses both).
absl::StatusOr<Element> Blind(const Scalar& key, const Element& element);

// Lowercase hex, for test vectors and debugging of public values only.
std::string ToHex(const Element& element);

}  // namespace parley::psi
