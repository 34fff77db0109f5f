#include "crypto/normalise.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

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

// Eight bytes at a time: every fingerprinted value passes here first.
bool IsAscii(std::string_view value) {
  const char* data = value.data();
  size_t size = value.size();
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    high |= word;
  }
  for (; i < size; ++i) high |= static_cast<unsigned char>(data[i]);
  return (high & 0x8080808080808080ull) == 0;
}

}  // namespace

absl::Status ValidateUtf8(std::string_view value) {
  if (IsAscii(value)) return absl::OkStatus();  // the common case, without ICU
  int32_t i = 0;
  const int32_t length = static_cast<int32_t>(value.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(value.data());
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return absl::InvalidArgumentError("the value is not valid UTF-8");
  }
  return absl::OkStatus();
}

namespace {

// NFC, trim, full case fold, NFC (folding can undo composition, e.g. for U+0345).
absl::StatusOr<std::string> FoldUnicode(std::string_view value) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
  if (U_FAILURE(error)) return absl::InternalError("ICU has no NFC normaliser");
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(value.data(), static_cast<int32_t>(value.size())));
  icu::UnicodeString composed = nfc->normalize(text, error);
  if (U_FAILURE(error)) return absl::InvalidArgumentError("the value cannot be normalised");
  // Trim Unicode white space (u_isUWhiteSpace: the White_Space property) on both ends.
  int32_t begin = 0, end = composed.length();
  while (begin < end && u_isUWhiteSpace(composed.char32At(begin))) {
    begin = composed.moveIndex32(begin, 1);
  }
  while (end > begin) {
    int32_t previous = composed.moveIndex32(end, -1);
    if (!u_isUWhiteSpace(composed.char32At(previous))) break;
    end = previous;
  }
  icu::UnicodeString trimmed(composed, begin, end - begin);
  trimmed.foldCase(U_FOLD_CASE_DEFAULT);
  icu::UnicodeString result = nfc->normalize(trimmed, error);
  if (U_FAILURE(error)) return absl::InvalidArgumentError("the value cannot be normalised");
  std::string out;
  result.toUTF8String(out);
  return out;
}

}  // namespace

absl::StatusOr<Normalisation> ParseNormalisation(std::string_view spelling) {
  Normalisation n;
  if (spelling == "none") return n;
  if (spelling == "email" || spelling == "email+provider") {
    n.kind = NormalisationKind::kEmail;
    n.provider_rules = spelling == "email+provider";
    return n;
  }
  if (spelling == "text") {
    n.kind = NormalisationKind::kText;
    return n;
  }
  if (spelling == "phone" || spelling.starts_with("phone:")) {
    n.kind = NormalisationKind::kPhone;
    if (spelling.size() > 6) {
      std::string_view code = spelling.substr(6);
      bool digits = code.size() <= 3 && code[0] != '0';
      for (char c : code) digits &= absl::ascii_isdigit(static_cast<unsigned char>(c));
      if (!digits) {
        return absl::InvalidArgumentError(
            "a default country code is 1 to 3 digits not starting with 0, as in phone:44");
      }
      n.default_country_code = std::string(code);
    }
    return n;
  }
  return absl::InvalidArgumentError(
      "unknown normalisation: use none, email, email+provider, phone, phone:<country code> or "
      "text");
}

std::string NormalisationName(const Normalisation& n) {
  switch (n.kind) {
    case NormalisationKind::kNone:
      return "none";
    case NormalisationKind::kEmail:
      return n.provider_rules ? "email+provider" : "email";
    case NormalisationKind::kPhone:
      return n.default_country_code.empty() ? "phone"
                                            : absl::StrCat("phone:", n.default_country_code);
    case NormalisationKind::kText:
      return "text";
  }
  return "none";
}

absl::StatusOr<std::string> NormaliseText(std::string_view value) {
  PARLEY_RETURN_IF_ERROR(ValidateUtf8(value));
  return FoldUnicode(value);
}

absl::StatusOr<std::string> NormaliseEmail(std::string_view value, bool provider_rules) {
  PARLEY_RETURN_IF_ERROR(ValidateUtf8(value));
  std::string address;
  if (IsAscii(value)) {
    // The common case without ICU: ASCII trim and lower-case give the same as the Unicode path.
    address = Lower(StripWhitespace((value)));
  } else {
    PARLEY_ASSIGN_OR_RETURN(address, FoldUnicode(value));
  }
  size_t at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string::npos) {
    return absl::InvalidArgumentError("the value is not an e-mail address (one '@' between text)");
  }
  for (char c : address) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("an e-mail address has no white space inside");
    }
  }
  if (!provider_rules) return address;
  std::string_view local = std::string_view(address).substr(0, at);
  std::string_view domain = std::string_view(address).substr(at + 1);
  if (domain != "gmail.com" && domain != "googlemail.com") return address;
  std::string kept;
  for (char c : local.substr(0, local.find('+'))) {
    if (c != '.') kept.push_back(c);
  }
  if (kept.empty()) return absl::InvalidArgumentError("the e-mail address has an empty mailbox");
  return kept + "@gmail.com";
}

absl::StatusOr<std::string> NormalisePhone(std::string_view value,
                                           std::string_view default_country_code) {
  PARLEY_RETURN_IF_ERROR(ValidateUtf8(value));
  std::string_view text = StripWhitespace((value));
  bool international = false;
  std::string digits;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && i == 0) {
      international = true;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c == ' ' || c == '.' || c == '-' || c == '/' || c == '(' || c == ')') {
      continue;
    } else {
      return absl::InvalidArgumentError(
          "a phone number holds digits, a leading '+', spaces, dots, dashes, slashes and "
          "parentheses only");
    }
  }
  if (!international && digits.starts_with("00")) {
    international = true;
    digits.erase(0, 2);
  }
  if (!international) {
    if (default_country_code.empty()) {
      return absl::InvalidArgumentError(
          "a national phone number needs a default country code (phone:<code>)");
    }
    if (digits.starts_with("0")) digits.erase(0, 1);
    digits = std::string(default_country_code) + digits;
  }
  if (digits.size() < 8 || digits.size() > 15 || digits[0] == '0') {
    return absl::InvalidArgumentError(
        "a phone number in E.164 has 8 to 15 digits after '+', the first not 0");
  }
  return absl::StrCat("+", digits);
}

absl::StatusOr<std::string> Normalise(const Normalisation& n, std::string_view value) {
  switch (n.kind) {
    case NormalisationKind::kNone:
      PARLEY_RETURN_IF_ERROR(ValidateUtf8(value));
      return std::string(value);
    case NormalisationKind::kEmail:
      return NormaliseEmail(value, n.provider_rules);
    case NormalisationKind::kPhone:
      return NormalisePhone(value, n.default_country_code);
    case NormalisationKind::kText:
      return NormaliseText(value);
  }
  return absl::InternalError("unknown normalisation");
}

}  // namespace parley::crypto
