// Client-side column encryption (docs/formats/encrypted-columns.md is the normative text): the
// keys of an encrypted collaboration derived from its shared secret, and the cells of its two
// encrypted column kinds.
//
//   fingerprint  "pf1.<secret id>.<key id>.<HMAC-SHA-256, base64url>": a keyed hash of the
//                type-normalised value, equal for equal values under one secret and
//                collaboration, so the engine can join, COUNT and COUNT DISTINCT on it.
//   sealed       "ps1.<secret id>.<key id>.<nonce|ciphertext|tag, base64url>": AES-256-GCM of the
//                value padded to a fixed length, with the table and column as associated data,
//                opened only on the receiver's machine.
//
// Keys (HKDF-SHA-256, the secret as input key material, the collaboration id as salt): one
// fingerprint key per column name (or one for all fingerprint columns when the collaboration
// allows joins on columns with different names), one sealing key per table and column; never one
// key for two purposes. The key id commits to the secret, the collaboration and the settings that
// change cells, so that a join of columns encrypted differently is refused instead of matching
// nothing, and a receiver holding the wrong secret or collaboration id is told which.
//
// Thread safety: KeyRing is immutable and shareable. A FingerprintEncoder is immutable (Encode is
// const) and shareable. SealEncoder / SealOpener hold a cipher context: one per thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/aes_gcm.h"
#include "crypto/hmac.h"
#include "crypto/normalise.h"
#include "crypto/secret_key.h"

namespace parley::crypto {

enum class ColumnKind { kCleartext, kFingerprint, kSealed };
// "cleartext", "fingerprint", "sealed".
std::string_view ColumnKindName(ColumnKind kind);
absl::StatusOr<ColumnKind> ParseColumnKind(std::string_view name);

// The type a fingerprinted value is read as before it is hashed: "7", "+7" and "007" are one
// integer; a date is written YYYY-MM-DD; a boolean true/false. Two partners must choose the same.
enum class ValueType { kString, kInteger, kDate, kBoolean };
std::string_view ValueTypeName(ValueType type);
absl::StatusOr<ValueType> ParseValueType(std::string_view name);

// The collaboration settings that change what the cells are (the others act at registration and
// query time).
struct CellSettings {
  bool preserve_nulls = false;
  bool allow_joins_on_columns_with_different_names = false;
};

inline constexpr std::string_view kFingerprintPrefix = "pf1.";
inline constexpr std::string_view kSealedPrefix = "ps1.";

// The kind a cell's prefix claims (cleartext when it has neither prefix).
ColumnKind KindOfCell(std::string_view cell);

// The parts of an encrypted cell: the 8-character secret id and key id, and the payload still
// base64url-encoded. InvalidArgument when the cell is not of that shape.
struct CellParts {
  ColumnKind kind = ColumnKind::kCleartext;
  std::string_view secret_id;
  std::string_view key_id;
  std::string_view payload;
};
absl::StatusOr<CellParts> SplitCell(std::string_view cell);

class KeyRing {
 public:
  // InvalidArgument for an empty collaboration id.
  static absl::StatusOr<KeyRing> Create(const SecretKey& secret, std::string_view collaboration,
                                        const CellSettings& settings);

  // Identify the secret alone, and the secret with the collaboration and settings.
  const std::string& secret_id() const { return secret_id_; }
  const std::string& key_id() const { return key_id_; }
  const CellSettings& settings() const { return settings_; }
  // The key ids of this secret and collaboration under every combination of the settings: a
  // sealing key does not depend on the settings, so a receiver opens cells made under any.
  const std::vector<std::string>& key_ids_for_any_settings() const { return any_key_ids_; }

  // The HMAC key of fingerprint column `column` (its name is lower-cased; ignored when the
  // settings allow joins on columns with different names).
  absl::StatusOr<SecretKey> FingerprintKey(std::string_view column) const;
  // The AES-256-GCM key of sealed column `column` of table `table` (both lower-cased).
  absl::StatusOr<SecretKey> SealingKey(std::string_view table, std::string_view column) const;

 private:
  KeyRing(SecretKey secret, std::string collaboration, CellSettings settings)
      : secret_(std::move(secret)), collaboration_(std::move(collaboration)), settings_(settings) {}
  SecretKey secret_;
  std::string collaboration_;
  CellSettings settings_;
  std::string secret_id_;
  std::string key_id_;
  std::vector<std::string> any_key_ids_;
};

// The bytes a value of `type` is HMACed as: a type tag and its canonical text. InvalidArgument
// (never quoting the value) when the value is not of the type or does not normalise.
absl::StatusOr<std::string> CanonicalValue(ValueType type, const Normalisation& normalisation,
                                           std::string_view value);

class FingerprintEncoder {
 public:
  static absl::StatusOr<FingerprintEncoder> Create(const KeyRing& keys, std::string_view column,
                                                   ValueType type, Normalisation normalisation);
  // The cell for `value`; for NULL: NULL when the settings preserve nulls, otherwise a random
  // fingerprint-shaped cell that equals nothing (so NULLs never join or group together).
  absl::StatusOr<std::optional<std::string>> Encode(std::optional<std::string_view> value) const;
  // The same, written into `cell` (its capacity reused: no allocation per value on the hot
  // path); `is_null` says the cell is NULL.
  absl::Status EncodeInto(std::optional<std::string_view> value, std::string& cell,
                          bool& is_null) const;
  // The HMAC part alone, for benchmarks that compare it with the raw HMAC.
  const HmacSha256Key& hmac() const { return hmac_; }

 private:
  FingerprintEncoder(HmacSha256Key hmac, std::string header, ValueType type,
                     Normalisation normalisation, bool preserve_nulls)
      : hmac_(std::move(hmac)),
        string_hmac_(hmac_.WithPrefix("s")),
        header_(std::move(header)),
        type_(type),
        normalisation_(std::move(normalisation)),
        preserve_nulls_(preserve_nulls) {}
  HmacSha256Key hmac_;
  // hmac_ with the text type tag "s" absorbed: the hot path of text values already normalised.
  HmacSha256Key string_hmac_;
  std::string header_;  // "pf1.<secret id>.<key id>."
  ValueType type_;
  Normalisation normalisation_;
  bool preserve_nulls_;
};

class SealEncoder {
 public:
  // `pad_to`: every value is padded to this many bytes (1..65535); longer values are refused.
  static absl::StatusOr<SealEncoder> Create(const KeyRing& keys, std::string_view table,
                                            std::string_view column, size_t pad_to);
  // The cell for `value`; NULL stays NULL when the settings preserve nulls, otherwise it is
  // sealed like any value (a flag inside the plaintext says NULL). InvalidArgument for a value
  // longer than pad_to (naming the limit, never the value).
  absl::StatusOr<std::optional<std::string>> Encode(std::optional<std::string_view> value);
  // The same, written into `cell` (capacity reused); `is_null` says the cell is NULL.
  absl::Status EncodeInto(std::optional<std::string_view> value, std::string& cell, bool& is_null);

 private:
  SealEncoder(AesGcm256 cipher, std::string header, std::string aad, size_t pad_to,
              bool preserve_nulls)
      : cipher_(std::move(cipher)),
        header_(std::move(header)),
        aad_(std::move(aad)),
        pad_to_(pad_to),
        preserve_nulls_(preserve_nulls) {}
  AesGcm256 cipher_;
  std::string header_;
  std::string aad_;
  size_t pad_to_;
  bool preserve_nulls_;
  // Nonces: a random 96-bit value drawn when the encoder is made, then incremented per cell (the
  // low 64 bits, big-endian): unique per cell without a call to the random generator each time.
  std::string nonce_;
  std::string plaintext_;
  std::string sealed_;
};

// Why a sealed cell did not open; each has its own message (docs/formats/encrypted-columns.md).
enum class OpenFailure { kNone, kMalformed, kWrongSecret, kWrongCollaboration, kNotThisColumn };

class SealOpener {
 public:
  static absl::StatusOr<SealOpener> Create(const KeyRing& keys, std::string_view table,
                                           std::string_view column);
  // The value of a sealed cell (nullopt for a sealed NULL). On failure returns DataLoss or
  // InvalidArgument and sets `failure` to why: a cell of another secret or collaboration is known
  // from its ids; a cell whose tag does not verify under this table and column was altered or
  // moved from another table or column.
  absl::StatusOr<std::optional<std::string>> Open(std::string_view cell, OpenFailure& failure);

 private:
  SealOpener(AesGcm256 cipher, std::string secret_id, std::vector<std::string> key_ids,
             std::string aad)
      : cipher_(std::move(cipher)),
        secret_id_(std::move(secret_id)),
        key_ids_(std::move(key_ids)),
        aad_(std::move(aad)) {}
  AesGcm256 cipher_;
  std::string secret_id_;
  std::vector<std::string> key_ids_;
  std::string aad_;
};

// base64url without padding (RFC 4648 §5), as cells use it.
std::string Base64UrlEncode(std::string_view bytes);
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);

}  // namespace parley::crypto
