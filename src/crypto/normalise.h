// Identifier normalisation: how a value is written before it is fingerprinted (column
// encryption) or blinded (private set intersection), so that two partners who hold the same
// e-mail address, phone number or name written differently compute the same fingerprint. Both
// sides must choose the same normalisation for a column; docs/formats/encrypted-columns.md gives
// the exact rules and test vectors.
//
//   email            trim, Unicode case fold (ASCII lower-case for ASCII addresses), NFC;
//                    exactly one '@' with text on both sides, no whitespace inside.
//   email+provider   as email, then provider rules: for gmail.com and googlemail.com, dots in the
//                    local part are dropped, a "+tag" suffix is dropped, the domain becomes
//                    gmail.com (the provider delivers all those forms to one mailbox).
//   phone            E.164 "+<digits>": spaces, dots, dashes, slashes and parentheses dropped;
//                    "+" or "00" starts an international number; otherwise the default country
//                    code (option `phone:44`) is put in front, after dropping one national trunk
//                    "0". Without a default country code a national number is an error. 8 to 15
//                    digits after the "+". (Not libphonenumber: no per-country lengths or trunk
//                    rules beyond the leading 0 — documented as such.)
//   text             Unicode NFC, trim (Unicode white space), full case fold, NFC again.
//   none             the bytes as they are (must still be valid UTF-8).
//
// Values must be valid UTF-8; errors never quote the value (it is someone's identifier).
//
//   PARLEY_ASSIGN_OR_RETURN(crypto::Normalisation n, crypto::ParseNormalisation("phone:44"));
//   PARLEY_ASSIGN_OR_RETURN(std::string e164, crypto::Normalise(n, "020 7946 0018"));
//   // "+442079460018"
//
// Thread safety: pure functions (ICU's normaliser instances are process-wide and thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace parley::crypto {

enum class NormalisationKind { kNone, kEmail, kPhone, kText };

struct Normalisation {
  NormalisationKind kind = NormalisationKind::kNone;
  bool provider_rules = false;       // email only
  std::string default_country_code;  // phone only: digits, e.g. "44"; empty for none
};

// From its spelling: "none", "email", "email+provider", "phone", "phone:<country code>", "text".
// InvalidArgument naming the accepted spellings otherwise.
absl::StatusOr<Normalisation> ParseNormalisation(std::string_view spelling);
// The spelling ParseNormalisation accepts for `normalisation`.
std::string NormalisationName(const Normalisation& normalisation);

// The normalised value. InvalidArgument, with a reason that does not quote the value, when the
// value is not valid UTF-8 or is not an e-mail address / phone number at all.
absl::StatusOr<std::string> Normalise(const Normalisation& normalisation, std::string_view value);

// OK when `value` is valid UTF-8; InvalidArgument otherwise.
absl::Status ValidateUtf8(std::string_view value);

absl::StatusOr<std::string> NormaliseEmail(std::string_view value, bool provider_rules);
absl::StatusOr<std::string> NormalisePhone(std::string_view value,
                                           std::string_view default_country_code);
absl::StatusOr<std::string> NormaliseText(std::string_view value);

}  // namespace parley::crypto
