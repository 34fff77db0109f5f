// Sealed results: a query's result encrypted to the public keys of its receivers, so that the
// disk of the server that computed it never holds it in the clear; only a holder of one of the
// private keys opens it (docs/formats/sealed-results.md has the byte layout).
//
// A random 32-byte content key encrypts the content with crypto_secretstream_xchacha20poly1305
// in chunks of 64 KiB (each authenticated, the last one tagged final, so that a truncated file is
// detected); the content key is sealed (crypto_box_seal, X25519) to each receiver's public key.
//
//   PARLEY_ASSIGN_OR_RETURN(results::KeyPair pair, results::NewKeyPair());
//   PARLEY_ASSIGN_OR_RETURN(std::string sealed, results::Seal(text, {pair.public_key}));
//   PARLEY_ASSIGN_OR_RETURN(std::string opened, results::Open(sealed, pair));
//
// Keys travel as lowercase hex (64 digits each). Errors: InvalidArgument for a key that is not
// one; DataLoss for sealed bytes that were altered, truncated or are not a sealed result;
// PermissionDenied when the result was not sealed to the given key. Messages never carry
// content or keys.
// Thread safety: pure functions (libsodium is initialised once, thread-safely).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace parley::results {

// An X25519 key pair. The private key wipes itself when destroyed.
struct KeyPair {
  std::string public_key;   // 64 hex digits
  std::string private_key;  // 64 hex digits
  KeyPair() = default;
  KeyPair(const KeyPair&) = default;
  KeyPair& operator=(const KeyPair&) = default;
  ~KeyPair();
};

// A fresh key pair from the OS CSPRNG.
absl::StatusOr<KeyPair> NewKeyPair();

// Whether `text` is 64 lowercase hex digits.
bool IsKeyHex(std::string_view text);

// `content` sealed to every key of `public_keys` (at least one; duplicates are kept once).
absl::StatusOr<std::string> Seal(std::string_view content,
                                 const std::vector<std::string>& public_keys);

// Whether `bytes` begin like a sealed result (its magic); says nothing of their integrity.
bool LooksSealed(std::string_view bytes);

// The content of `sealed` for the holder of `keys`.
absl::StatusOr<std::string> Open(std::string_view sealed, const KeyPair& keys);

}  // namespace parley::results
