#include "crypto/column_cipher.h"

#include <openssl/rand.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/hkdf.h"

namespace parley::crypto {
namespace {

// Debian's Abseil has its own string_view type, distinct from std::string_view.
inline absl::string_view A(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

std::string_view StripWhitespace(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

// Every HKDF info string starts with this label and a NUL, so no key of another Parley purpose
// (or version of this format) can coincide with one of these.
constexpr std::string_view kLabel = std::string_view("parley encrypted-columns v1\0", 28);
constexpr size_t kIdBytes = 6;     // 8 base64url characters
constexpr size_t kSealHeader = 3;  // flag byte and 16-bit length

std::string Info(std::initializer_list<std::string_view> parts) {
  std::string info(kLabel);
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) info.push_back('\0');
    info.append(part);
    first = false;
  }
  return info;
}

absl::Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", A(what), " name is non-empty text without NUL"));
  }
  return absl::OkStatus();
}

std::string SealedAad(std::string_view table, std::string_view column) {
  return absl::StrCat("parley sealed v1", A(std::string_view("\0", 1)), Lower(table),
                      A(std::string_view("\0", 1)), Lower(column));
}

absl::StatusOr<std::string> CanonicalInteger(std::string_view text) {
  std::string_view digits = StripWhitespace((text));
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return absl::InvalidArgumentError("the value is not an integer");
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("the value is not an integer");
    }
  }
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  if (digits.size() > 19) return absl::InvalidArgumentError("the integer is out of range");
  int64_t parsed = 0;
  std::string signed_text = absl::StrCat(negative ? "-" : "", A(digits));
  auto [end, error] =
      std::from_chars(signed_text.data(), signed_text.data() + signed_text.size(), parsed);
  if (error != std::errc() || end != signed_text.data() + signed_text.size()) {
    return absl::InvalidArgumentError("the integer is out of the 64-bit range");
  }
  return absl::StrCat(parsed);
}

absl::StatusOr<std::string> CanonicalDate(std::string_view text) {
  std::string_view date = StripWhitespace((text));
  auto number = [&](size_t begin, size_t length, int& out) {
    out = 0;
    for (size_t i = begin; i < begin + length; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(date[i]))) return false;
      out = out * 10 + (date[i] - '0');
    }
    return true;
  };
  int year, month, day;
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' || !number(0, 4, year) ||
      !number(5, 2, month) || !number(8, 2, day)) {
    return absl::InvalidArgumentError("the value is not a date written YYYY-MM-DD");
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return absl::InvalidArgumentError("the value is not a calendar date");
  }
  return std::string(date);
}

absl::StatusOr<std::string> CanonicalBoolean(std::string_view text) {
  std::string value = Lower(StripWhitespace((text)));
  if (value == "true" || value == "t" || value == "1" || value == "yes") return std::string("true");
  if (value == "false" || value == "f" || value == "0" || value == "no")
    return std::string("false");
  return absl::InvalidArgumentError("the value is not a boolean");
}

}  // namespace

std::string_view ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kCleartext:
      return "cleartext";
    case ColumnKind::kFingerprint:
      return "fingerprint";
    case ColumnKind::kSealed:
      return "sealed";
  }
  return "cleartext";
}

absl::StatusOr<ColumnKind> ParseColumnKind(std::string_view name) {
  for (ColumnKind kind : {ColumnKind::kCleartext, ColumnKind::kFingerprint, ColumnKind::kSealed}) {
    if (name == ColumnKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError("a column kind is cleartext, fingerprint or sealed");
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kInteger:
      return "integer";
    case ValueType::kDate:
      return "date";
    case ValueType::kBoolean:
      return "boolean";
  }
  return "string";
}

absl::StatusOr<ValueType> ParseValueType(std::string_view name) {
  for (ValueType type :
       {ValueType::kString, ValueType::kInteger, ValueType::kDate, ValueType::kBoolean}) {
    if (name == ValueTypeName(type)) return type;
  }
  return absl::InvalidArgumentError("a value type is string, integer, date or boolean");
}

ColumnKind KindOfCell(std::string_view cell) {
  if (cell.starts_with(kFingerprintPrefix)) return ColumnKind::kFingerprint;
  if (cell.starts_with(kSealedPrefix)) return ColumnKind::kSealed;
  return ColumnKind::kCleartext;
}

absl::StatusOr<CellParts> SplitCell(std::string_view cell) {
  CellParts parts;
  parts.kind = KindOfCell(cell);
  if (parts.kind == ColumnKind::kCleartext) {
    return absl::InvalidArgumentError("not an encrypted cell (no pf1. or ps1. prefix)");
  }
  std::vector<absl::string_view> pieces = absl::StrSplit(A(cell.substr(4)), '.');
  if (pieces.size() != 3 || pieces[0].size() != 8 || pieces[1].size() != 8 || pieces[2].empty()) {
    return absl::InvalidArgumentError("a malformed encrypted cell");
  }
  parts.secret_id = std::string_view(pieces[0].data(), pieces[0].size());
  parts.key_id = std::string_view(pieces[1].data(), pieces[1].size());
  parts.payload = std::string_view(pieces[2].data(), pieces[2].size());
  return parts;
}

std::string Base64UrlEncode(std::string_view bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(std::string_view text) {
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError("not base64url");
  }
  out.resize(length);
  return out;
}

absl::StatusOr<KeyRing> KeyRing::Create(const SecretKey& secret, std::string_view collaboration,
                                        const CellSettings& settings) {
  PARLEY_RETURN_IF_ERROR(CheckName("collaboration", collaboration));
  KeyRing ring(secret, std::string(collaboration), settings);
  PARLEY_ASSIGN_OR_RETURN(std::string secret_id,
                          HkdfSha256(secret.view(), "", Info({"secret-id"}), kIdBytes));
  auto key_id = [&](const CellSettings& flags_of) -> absl::StatusOr<std::string> {
    std::string flags = absl::StrCat(
        "preserve_nulls=", flags_of.preserve_nulls ? "1" : "0",
        ";different_names=", flags_of.allow_joins_on_columns_with_different_names ? "1" : "0");
    PARLEY_ASSIGN_OR_RETURN(std::string id, HkdfSha256(secret.view(), collaboration,
                                                       Info({"key-id", flags}), kIdBytes));
    return Base64UrlEncode(id);
  };
  PARLEY_ASSIGN_OR_RETURN(ring.key_id_, key_id(settings));
  for (bool nulls : {false, true}) {
    for (bool names : {false, true}) {
      PARLEY_ASSIGN_OR_RETURN(std::string id, key_id(CellSettings{nulls, names}));
      ring.any_key_ids_.push_back(std::move(id));
    }
  }
  ring.secret_id_ = Base64UrlEncode(secret_id);
  return ring;
}

absl::StatusOr<SecretKey> KeyRing::FingerprintKey(std::string_view column) const {
  PARLEY_RETURN_IF_ERROR(CheckName("column", column));
  std::string info = settings_.allow_joins_on_columns_with_different_names
                         ? Info({"fingerprint", "any column"})
                         : Info({"fingerprint", "column", Lower((column))});
  PARLEY_ASSIGN_OR_RETURN(std::string key,
                          HkdfSha256(secret_.view(), collaboration_, info, SecretKey::kSize));
  return SecretKey::FromBytes(key);
}

absl::StatusOr<SecretKey> KeyRing::SealingKey(std::string_view table,
                                              std::string_view column) const {
  PARLEY_RETURN_IF_ERROR(CheckName("table", table));
  PARLEY_RETURN_IF_ERROR(CheckName("column", column));
  PARLEY_ASSIGN_OR_RETURN(
      std::string key,
      HkdfSha256(secret_.view(), collaboration_, Info({"sealed", Lower((table)), Lower((column))}),
                 SecretKey::kSize));
  return SecretKey::FromBytes(key);
}

absl::StatusOr<std::string> CanonicalValue(ValueType type, const Normalisation& normalisation,
                                           std::string_view value) {
  switch (type) {
    case ValueType::kString: {
      PARLEY_ASSIGN_OR_RETURN(std::string text, Normalise(normalisation, value));
      return absl::StrCat("s", text);
    }
    case ValueType::kInteger: {
      PARLEY_ASSIGN_OR_RETURN(std::string text, CanonicalInteger(value));
      return absl::StrCat("i", text);
    }
    case ValueType::kDate: {
      PARLEY_ASSIGN_OR_RETURN(std::string text, CanonicalDate(value));
      return absl::StrCat("d", text);
    }
    case ValueType::kBoolean: {
      PARLEY_ASSIGN_OR_RETURN(std::string text, CanonicalBoolean(value));
      return absl::StrCat("b", text);
    }
  }
  return absl::InternalError("unknown value type");
}

absl::StatusOr<FingerprintEncoder> FingerprintEncoder::Create(const KeyRing& keys,
                                                              std::string_view column,
                                                              ValueType type,
                                                              Normalisation normalisation) {
  PARLEY_ASSIGN_OR_RETURN(SecretKey key, keys.FingerprintKey(column));
  return FingerprintEncoder(
      HmacSha256Key(key.view()),
      absl::StrCat(A(kFingerprintPrefix), keys.secret_id(), ".", keys.key_id(), "."), type,
      std::move(normalisation), keys.settings().preserve_nulls);
}

absl::StatusOr<std::optional<std::string>> FingerprintEncoder::Encode(
    std::optional<std::string_view> value) const {
  std::string cell;
  bool is_null = false;
  PARLEY_RETURN_IF_ERROR(EncodeInto(value, cell, is_null));
  if (is_null) return std::nullopt;
  return cell;
}

namespace {
// Base64url (no padding) by a table lookup, not libsodium's constant-time encoder (which costs
// more than the HMAC itself): what is encoded here is a cell's public bytes (a MAC or a
// ciphertext), never a key. Two characters per lookup (a 12-bit index into 4096 pairs): a
// fingerprint's 43 characters are 22 lookups, which keeps building the cell well below the
// HMAC's own cost (bench/README.md, "Client-side column encryption").
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct Base64Pairs {
  char pairs[4096][2];
  constexpr Base64Pairs() : pairs() {
    for (int i = 0; i < 4096; ++i) {
      pairs[i][0] = kAlphabet[i >> 6];
      pairs[i][1] = kAlphabet[i & 63];
    }
  }
};
constexpr Base64Pairs kPairs;

// Writes the (size * 4 + 2) / 3 characters of `bytes` at `write`.
void WriteBase64Url(const unsigned char* bytes, size_t size, char* write) {
  size_t i = 0;
  // Six bytes at a time from one big-endian 8-byte load: eight characters, one 8-byte store.
  for (; i + 8 <= size; i += 6) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    word = __builtin_bswap64(word);
    char eight[8];
    std::memcpy(eight, kPairs.pairs[(word >> 52) & 4095], 2);
    std::memcpy(eight + 2, kPairs.pairs[(word >> 40) & 4095], 2);
    std::memcpy(eight + 4, kPairs.pairs[(word >> 28) & 4095], 2);
    std::memcpy(eight + 6, kPairs.pairs[(word >> 16) & 4095], 2);
    std::memcpy(write, eight, 8);
    write += 8;
  }
  for (; i + 3 <= size; i += 3) {
    uint32_t group = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    std::memcpy(write, kPairs.pairs[group >> 12], 2);
    std::memcpy(write + 2, kPairs.pairs[group & 4095], 2);
    write += 4;
  }
  if (size - i == 1) {
    uint32_t group = uint32_t{bytes[i]} << 16;
    std::memcpy(write, kPairs.pairs[group >> 12], 2);
  } else if (size - i == 2) {
    uint32_t group = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8);
    std::memcpy(write, kPairs.pairs[group >> 12], 2);
    write[2] = kAlphabet[(group >> 6) & 63];
  }
}

// A fingerprint's 32 bytes as 43 characters, from four big-endian words held in registers: the
// digest is read with four loads instead of one per byte or per six bytes (the bytes were just
// stored by SHA256_Final, so fewer, aligned loads also stall less on store forwarding).
void WriteBase64Url32(const unsigned char* bytes, char* write) {
  // Read as the eight 4-byte words SHA256_Final stores: a wider load over several of those
  // stores cannot be forwarded from them and waits for them to reach the cache.
  uint64_t words[5];
  for (int k = 0; k < 4; ++k) {
    uint32_t high =
        __atomic_load_n(reinterpret_cast<const uint32_t*>(bytes + 8 * k), __ATOMIC_RELAXED);
    uint32_t low =
        __atomic_load_n(reinterpret_cast<const uint32_t*>(bytes + 8 * k + 4), __ATOMIC_RELAXED);
    words[k] = (uint64_t{__builtin_bswap32(high)} << 32) | __builtin_bswap32(low);
  }
  words[4] = 0;
#pragma GCC unroll 21
  for (int k = 0; k < 21; ++k) {
    const int offset = 12 * k, word = offset >> 6, shift = offset & 63;
    uint64_t bits = shift <= 52
                        ? words[word] >> (52 - shift)
                        : (words[word] << (shift - 52)) | (words[word + 1] >> (116 - shift));
    std::memcpy(write + 2 * k, kPairs.pairs[bits & 4095], 2);
  }
  write[42] = kAlphabet[(words[3] & 15) << 2];
}

// Appends the base64url (no padding) of `bytes` to `out` in place.
void AppendBase64Url(const unsigned char* bytes, size_t size, std::string& out) {
  size_t start = out.size();
  out.resize(start + (size * 4 + 2) / 3);
  WriteBase64Url(bytes, size, out.data() + start);
}
}  // namespace

absl::Status FingerprintEncoder::EncodeInto(std::optional<std::string_view> value,
                                            std::string& cell, bool& is_null) const {
  is_null = false;
  if (!value.has_value() && preserve_nulls_) {
    is_null = true;
    return absl::OkStatus();
  }
  alignas(8) Digest256 mac;  // WriteBase64Url32 reads it as aligned 4-byte words
  if (!value.has_value()) {
    // A fresh random 256-bit string is indistinguishable from an HMAC output and equals no other
    // cell: a NULL neither joins nor groups with anything, as NULL = NULL is not true in SQL.
    if (RAND_bytes(mac.data(), mac.size()) != 1) return absl::InternalError("no randomness");
  } else if (type_ == ValueType::kString && normalisation_.kind == NormalisationKind::kNone) {
    // The hot path of already-normalised identifiers: no copy of the value.
    PARLEY_RETURN_IF_ERROR(ValidateUtf8(*value));
    string_hmac_.MacInto(*value, mac.data());
  } else {
    PARLEY_ASSIGN_OR_RETURN(std::string canonical, CanonicalValue(type_, normalisation_, *value));
    mac = hmac_.Mac(canonical);
  }
  // The cell is written in place: its length is fixed (header, 43 characters), so after the first
  // value the buffer is only overwritten — no allocation, no zero-filling, one copy of the header.
  const size_t length = header_.size() + (mac.size() * 4 + 2) / 3;
  if (cell.size() != length) cell.resize(length);
  std::memcpy(cell.data(), header_.data(), header_.size());
  WriteBase64Url32(mac.data(), cell.data() + header_.size());
  return absl::OkStatus();
}

absl::StatusOr<SealEncoder> SealEncoder::Create(const KeyRing& keys, std::string_view table,
                                                std::string_view column, size_t pad_to) {
  if (pad_to < 1 || pad_to > 65535) {
    return absl::InvalidArgumentError("pad_to is between 1 and 65535 bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(SecretKey key, keys.SealingKey(table, column));
  PARLEY_ASSIGN_OR_RETURN(AesGcm256 cipher, AesGcm256::Create(key.view()));
  return SealEncoder(std::move(cipher),
                     absl::StrCat(A(kSealedPrefix), keys.secret_id(), ".", keys.key_id(), "."),
                     SealedAad(table, column), pad_to, keys.settings().preserve_nulls);
}

absl::StatusOr<std::optional<std::string>> SealEncoder::Encode(
    std::optional<std::string_view> value) {
  std::string cell;
  bool is_null = false;
  PARLEY_RETURN_IF_ERROR(EncodeInto(value, cell, is_null));
  if (is_null) return std::nullopt;
  return cell;
}

absl::Status SealEncoder::EncodeInto(std::optional<std::string_view> value, std::string& cell,
                                     bool& is_null) {
  is_null = false;
  if (!value.has_value() && preserve_nulls_) {
    is_null = true;
    return absl::OkStatus();
  }
  if (value.has_value() && value->size() > pad_to_) {
    return absl::InvalidArgumentError(
        absl::StrCat("a value is longer than pad_to (", pad_to_, " bytes)"));
  }
  if (nonce_.empty()) {
    nonce_.resize(AesGcm256::kNonceSize);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce_.data()), nonce_.size()) != 1) {
      return absl::InternalError("no randomness");
    }
  } else {
    for (size_t i = nonce_.size(); i-- > 4;) {
      if (++nonce_[i] != 0) break;
    }
  }
  // Plaintext: flag (0 NULL, 1 value), 16-bit big-endian length, value, zeros to a fixed length.
  plaintext_.assign(kSealHeader + pad_to_, '\0');
  if (value.has_value()) {
    plaintext_[0] = 1;
    plaintext_[1] = static_cast<char>(value->size() >> 8);
    plaintext_[2] = static_cast<char>(value->size() & 0xff);
    std::memcpy(plaintext_.data() + kSealHeader, value->data(), value->size());
  }
  sealed_.assign(nonce_);
  absl::Status status = cipher_.Seal(nonce_, aad_, plaintext_, sealed_);
  sodium_memzero(plaintext_.data(), plaintext_.size());
  PARLEY_RETURN_IF_ERROR(status);
  cell.assign(header_);
  AppendBase64Url(reinterpret_cast<const unsigned char*>(sealed_.data()), sealed_.size(), cell);
  return absl::OkStatus();
}

absl::StatusOr<SealOpener> SealOpener::Create(const KeyRing& keys, std::string_view table,
                                              std::string_view column) {
  PARLEY_ASSIGN_OR_RETURN(SecretKey key, keys.SealingKey(table, column));
  PARLEY_ASSIGN_OR_RETURN(AesGcm256 cipher, AesGcm256::Create(key.view()));
  return SealOpener(std::move(cipher), keys.secret_id(), keys.key_ids_for_any_settings(),
                    SealedAad(table, column));
}

absl::StatusOr<std::optional<std::string>> SealOpener::Open(std::string_view cell,
                                                            OpenFailure& failure) {
  failure = OpenFailure::kMalformed;
  absl::StatusOr<CellParts> parts = SplitCell(cell);
  if (!parts.ok()) return parts.status();
  if (parts->kind != ColumnKind::kSealed) {
    return absl::InvalidArgumentError("a fingerprint cell, not a sealed one");
  }
  if (parts->secret_id != secret_id_) {
    failure = OpenFailure::kWrongSecret;
    return absl::DataLossError("the cell was sealed with another secret");
  }
  if (std::find(key_ids_.begin(), key_ids_.end(), parts->key_id) == key_ids_.end()) {
    failure = OpenFailure::kWrongCollaboration;
    return absl::DataLossError("the cell was sealed for another collaboration");
  }
  absl::StatusOr<std::string> bytes = Base64UrlDecode(parts->payload);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() < AesGcm256::kNonceSize + AesGcm256::kTagSize + kSealHeader) {
    return absl::InvalidArgumentError("a sealed cell too short to hold a value");
  }
  std::string_view all(*bytes);
  std::string plaintext;
  absl::Status opened = cipher_.Open(all.substr(0, AesGcm256::kNonceSize), aad_,
                                     all.substr(AesGcm256::kNonceSize), plaintext);
  if (!opened.ok()) {
    failure = OpenFailure::kNotThisColumn;
    return absl::DataLossError(
        "the cell does not open as this table and column: it was altered, or moved from another "
        "table or column");
  }
  size_t length =
      (static_cast<unsigned char>(plaintext[1]) << 8) | static_cast<unsigned char>(plaintext[2]);
  bool is_value = plaintext[0] == 1;
  if ((plaintext[0] != 0 && !is_value) || length > plaintext.size() - kSealHeader ||
      (!is_value && length != 0)) {
    return absl::InvalidArgumentError("a sealed cell whose plaintext is malformed");
  }
  failure = OpenFailure::kNone;
  if (!is_value) return std::nullopt;
  std::string value = plaintext.substr(kSealHeader, length);
  sodium_memzero(plaintext.data(), plaintext.size());
  return value;
}

}  // namespace parley::crypto
