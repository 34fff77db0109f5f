// API tokens: how an organisation proves who it is to a Parley server. A token is shown once,
// when it is issued, and the server keeps only a salted hash of its secret, so a copy of the
// catalog does not let anyone act as an organisation.
//
// Form: "pt_" + 16 hex digits of id + "_" + 64 hex digits of secret (32 bytes from the OS CSPRNG,
// libsodium's randombytes_buf). The id is not secret: the server finds the stored hash by it, so a
// check costs one lookup and one keyed hash (BLAKE2b keyed with a per-token random salt,
// libsodium's crypto_generichash), compared in constant time.
//
//   identity::IssuedToken issued = identity::IssueToken();  // print issued.text once
//   store(issued.id, issued.salt_hex, issued.hash_hex);
//   ...
//   auto presented = identity::ParseToken(bearer);           // InvalidArgument if malformed
//   bool ok = identity::TokenMatches(*presented, salt_hex, hash_hex);
//
// Messages never contain a token or any part of its secret.
// Thread safety: pure functions (libsodium is initialised once, thread-safely).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace parley::identity {

struct IssuedToken {
  std::string id;        // 16 lowercase hex digits
  std::string text;      // the whole token, for its holder only
  std::string salt_hex;  // stored
  std::string hash_hex;  // stored: keyed hash of the secret
};

struct PresentedToken {
  std::string id;
  std::string secret;  // 64 hex digits
};

// API tokens start "pt_"; invitation codes (the same form and storage, a one-time secret that
// lets one organisation join one collaboration) start "pi_".
inline constexpr std::string_view kTokenPrefix = "pt_";
inline constexpr std::string_view kInvitationPrefix = "pi_";

IssuedToken IssueToken(std::string_view prefix = kTokenPrefix);

// InvalidArgument (without quoting the text) when `text` does not have the token's form.
absl::StatusOr<PresentedToken> ParseToken(std::string_view text,
                                          std::string_view prefix = kTokenPrefix);

// Whether the presented secret hashes, with `salt_hex`, to `hash_hex` (constant-time compare).
// False for stored values that are not hex of the right length.
bool TokenMatches(const PresentedToken& token, std::string_view salt_hex,
                  std::string_view hash_hex);

// Random bytes from the OS CSPRNG as lowercase hex (2 * `bytes` digits).
std::string RandomHex(size_t bytes);

}  // namespace parley::identity
