#include "results/sealed.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace parley::results {
namespace {

constexpr std::string_view kMagic = "PARLEY-SEALED-1\n";  // 16 bytes
constexpr size_t kChunk = 64 * 1024;
constexpr size_t kSealedKeyBytes =
    crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES;  // 80
constexpr size_t kRecipientBytes = crypto_box_PUBLICKEYBYTES + kSealedKeyBytes;
constexpr uint32_t kMaxRecipients = 1024;

absl::Status Initialise() {
  if (sodium_init() < 0) return absl::InternalError("libsodium cannot be initialised");
  return absl::OkStatus();
}

void PutU32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

bool GetU32(std::string_view& in, uint32_t& value) {
  if (in.size() < 4) return false;
  value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(4);
  return true;
}

// 32 bytes from 64 hex digits (checked by the caller).
std::string KeyBytes(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}

// Wipes a buffer of secret bytes when it goes out of scope.
struct Wiped {
  std::string bytes;
  ~Wiped() { sodium_memzero(bytes.data(), bytes.size()); }
};

absl::Status Damaged() {
  return absl::DataLossError(
      "the sealed result is damaged (altered or truncated) or is not a sealed result");
}

}  // namespace

KeyPair::~KeyPair() { sodium_memzero(private_key.data(), private_key.size()); }

bool IsKeyHex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

absl::StatusOr<KeyPair> NewKeyPair() {
  if (absl::Status ok = Initialise(); !ok.ok()) return ok;
  unsigned char public_key[crypto_box_PUBLICKEYBYTES];
  Wiped private_key{std::string(crypto_box_SECRETKEYBYTES, '\0')};
  crypto_box_keypair(public_key, reinterpret_cast<unsigned char*>(private_key.bytes.data()));
  KeyPair pair;
  pair.public_key =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(public_key), 32));
  pair.private_key = absl::BytesToHexString(private_key.bytes);
  return pair;
}

bool LooksSealed(std::string_view bytes) { return bytes.substr(0, kMagic.size()) == kMagic; }

absl::StatusOr<std::string> Seal(std::string_view content,
                                 const std::vector<std::string>& public_keys) {
  if (absl::Status ok = Initialise(); !ok.ok()) return ok;
  std::set<std::string> keys(public_keys.begin(), public_keys.end());
  if (keys.empty()) return absl::InvalidArgumentError("a sealed result needs a receiver's key");
  if (keys.size() > kMaxRecipients) {
    return absl::InvalidArgumentError("a result is sealed to at most 1024 keys");
  }
  for (const std::string& key : keys) {
    if (!IsKeyHex(key)) return absl::InvalidArgumentError("a public key is 64 hex digits");
  }
  Wiped content_key{std::string(crypto_secretstream_xchacha20poly1305_KEYBYTES, '\0')};
  crypto_secretstream_xchacha20poly1305_keygen(
      reinterpret_cast<unsigned char*>(content_key.bytes.data()));

  std::string out(kMagic);
  PutU32(out, static_cast<uint32_t>(keys.size()));
  for (const std::string& key : keys) {
    std::string public_key = KeyBytes(key);
    out += public_key;
    std::string sealed_key(kSealedKeyBytes, '\0');
    if (crypto_box_seal(reinterpret_cast<unsigned char*>(sealed_key.data()),
                        reinterpret_cast<const unsigned char*>(content_key.bytes.data()),
                        content_key.bytes.size(),
                        reinterpret_cast<const unsigned char*>(public_key.data())) != 0) {
      return absl::InvalidArgumentError("a public key is not a valid X25519 key");
    }
    out += sealed_key;
  }
  // Everything so far (magic, recipients) is the first chunk's additional data: changing a
  // recipient entry makes the stream fail to open even for the others.
  std::string header_text = out;

  crypto_secretstream_xchacha20poly1305_state state;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(
      &state, header, reinterpret_cast<const unsigned char*>(content_key.bytes.data()));
  out.append(reinterpret_cast<char*>(header), sizeof header);
  size_t offset = 0;
  bool first = true;
  do {
    size_t length = std::min(kChunk, content.size() - offset);
    bool last = offset + length == content.size();
    std::string cipher(length + crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
    unsigned long long cipher_length = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, reinterpret_cast<unsigned char*>(cipher.data()), &cipher_length,
        reinterpret_cast<const unsigned char*>(content.data() + offset), length,
        first ? reinterpret_cast<const unsigned char*>(header_text.data()) : nullptr,
        first ? header_text.size() : 0, last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    PutU32(out, static_cast<uint32_t>(cipher_length));
    out.append(cipher.data(), cipher_length);
    offset += length;
    first = false;
  } while (offset < content.size());
  sodium_memzero(&state, sizeof state);
  return out;
}

absl::StatusOr<std::string> Open(std::string_view sealed, const KeyPair& keys) {
  if (absl::Status ok = Initialise(); !ok.ok()) return ok;
  if (!IsKeyHex(keys.public_key) || !IsKeyHex(keys.private_key)) {
    return absl::InvalidArgumentError("a key is 64 hex digits");
  }
  if (!LooksSealed(sealed)) return Damaged();
  std::string_view in = sealed.substr(kMagic.size());
  uint32_t count = 0;
  if (!GetU32(in, count) || count == 0 || count > kMaxRecipients ||
      in.size() < static_cast<size_t>(count) * kRecipientBytes) {
    return Damaged();
  }
  std::string public_key = KeyBytes(keys.public_key);
  Wiped private_key{KeyBytes(keys.private_key)};
  Wiped content_key{std::string(crypto_secretstream_xchacha20poly1305_KEYBYTES, '\0')};
  bool found = false;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view entry = in.substr(static_cast<size_t>(i) * kRecipientBytes, kRecipientBytes);
    if (entry.substr(0, crypto_box_PUBLICKEYBYTES) != public_key) continue;
    std::string_view boxed = entry.substr(crypto_box_PUBLICKEYBYTES);
    if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(content_key.bytes.data()),
                             reinterpret_cast<const unsigned char*>(boxed.data()), boxed.size(),
                             reinterpret_cast<const unsigned char*>(public_key.data()),
                             reinterpret_cast<const unsigned char*>(private_key.bytes.data())) !=
        0) {
      return Damaged();
    }
    found = true;
    break;
  }
  if (!found) {
    return absl::PermissionDeniedError(
        "the result was not sealed to this key (it was sealed to the receivers' keys registered "
        "when it ran)");
  }
  size_t header_text_length = kMagic.size() + 4 + static_cast<size_t>(count) * kRecipientBytes;
  std::string_view header_text = sealed.substr(0, header_text_length);
  in.remove_prefix(static_cast<size_t>(count) * kRecipientBytes);
  if (in.size() < crypto_secretstream_xchacha20poly1305_HEADERBYTES) return Damaged();
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          &state, reinterpret_cast<const unsigned char*>(in.data()),
          reinterpret_cast<const unsigned char*>(content_key.bytes.data())) != 0) {
    return Damaged();
  }
  in.remove_prefix(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  std::string content;
  bool first = true;
  bool final = false;
  while (!final) {
    uint32_t length = 0;
    if (!GetU32(in, length) || length < crypto_secretstream_xchacha20poly1305_ABYTES ||
        length > kChunk + crypto_secretstream_xchacha20poly1305_ABYTES || in.size() < length) {
      return Damaged();
    }
    std::string plain(length - crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
    unsigned long long plain_length = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &state, reinterpret_cast<unsigned char*>(plain.data()), &plain_length, &tag,
            reinterpret_cast<const unsigned char*>(in.data()), length,
            first ? reinterpret_cast<const unsigned char*>(header_text.data()) : nullptr,
            first ? header_text.size() : 0) != 0) {
      return Damaged();
    }
    content.append(plain.data(), plain_length);
    in.remove_prefix(length);
    final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    first = false;
  }
  // Bytes after the final chunk were not sealed by us.
  if (!in.empty()) return Damaged();
  return content;
}

}  // namespace parley::results
