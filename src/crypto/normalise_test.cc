#include "crypto/normalise.h"

#include <gtest/gtest.h>

namespace parley::crypto {
namespace {

std::string Ok(absl::StatusOr<std::string> value) {
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : "";
}

TEST(NormaliseEmail, TrimsAndLowerCases) {
  EXPECT_EQ(Ok(NormaliseEmail("  Alice.Smith+News@Example.COM \t", false)),
            "alice.smith+news@example.com");
  // Non-ASCII: full case fold and NFC (the decomposed "e" + U+0301 composes to U+00E9).
  EXPECT_EQ(Ok(NormaliseEmail("J\x4f"
                              "SE\xcc\x81@B\xc3\x9c"
                              "cher.de",
                              false)),
            "jos\xc3\xa9@b\xc3\xbc"
            "cher.de");
}

TEST(NormaliseEmail, ProviderRulesForGmailOnly) {
  EXPECT_EQ(Ok(NormaliseEmail("Alice.Smith+News@GoogleMail.com", true)), "alicesmith@gmail.com");
  EXPECT_EQ(Ok(NormaliseEmail("a.l.i.c.e@gmail.com", true)), "alice@gmail.com");
  EXPECT_EQ(Ok(NormaliseEmail("alice.smith+news@example.com", true)),
            "alice.smith+news@example.com");
  EXPECT_EQ(NormaliseEmail("+tag@gmail.com", true).status().message(),
            "the e-mail address has an empty mailbox");
}

TEST(NormaliseEmail, RefusesWhatIsNotAnAddressWithoutQuotingIt) {
  for (const char* bad : {"alice", "@example.com", "alice@", "a@b@c", ""}) {
    EXPECT_EQ(NormaliseEmail(bad, false).status().message(),
              "the value is not an e-mail address (one '@' between text)")
        << bad;
  }
  EXPECT_EQ(NormaliseEmail("al ice@example.com", false).status().message(),
            "an e-mail address has no white space inside");
  EXPECT_EQ(NormaliseEmail("\xff@example.com", false).status().message(),
            "the value is not valid UTF-8");
}

TEST(NormalisePhone, ToE164) {
  EXPECT_EQ(Ok(NormalisePhone("+44 20 7946 0018", "")), "+442079460018");
  EXPECT_EQ(Ok(NormalisePhone("0044 (20) 7946-0018", "")), "+442079460018");
  EXPECT_EQ(Ok(NormalisePhone("020 7946 0018", "44")), "+442079460018");
  EXPECT_EQ(Ok(NormalisePhone("(415) 555.2671", "1")), "+14155552671");
  EXPECT_EQ(Ok(NormalisePhone(" +1 415 555 2671 ", "44")), "+14155552671");
}

TEST(NormalisePhone, RefusesMalformedNumbers) {
  EXPECT_EQ(NormalisePhone("020 7946 0018", "").status().message(),
            "a national phone number needs a default country code (phone:<code>)");
  EXPECT_EQ(NormalisePhone("+44 20 79x6", "").status().message(),
            "a phone number holds digits, a leading '+', spaces, dots, dashes, slashes and "
            "parentheses only");
  EXPECT_EQ(NormalisePhone("+123", "").status().message(),
            "a phone number in E.164 has 8 to 15 digits after '+', the first not 0");
  EXPECT_EQ(NormalisePhone("+1234567890123456", "").status().message(),
            "a phone number in E.164 has 8 to 15 digits after '+', the first not 0");
  EXPECT_EQ(NormalisePhone("12+34567890", "1").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NormaliseText, NfcTrimAndCaseFold) {
  EXPECT_EQ(Ok(NormaliseText("  Stra\xc3\x9f"
                             "e\xe2\x80\x83")),
            "strasse");  // ß folds to ss; EM SPACE trimmed
  EXPECT_EQ(Ok(NormaliseText("Cafe\xcc\x81")), "caf\xc3\xa9");
  EXPECT_EQ(Ok(NormaliseText("CAF\xc3\x89")), "caf\xc3\xa9");
  EXPECT_EQ(Ok(NormaliseText("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91")),
            "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1");  // ΣΟΦΙΑ -> σοφια
  EXPECT_EQ(Ok(NormaliseText("a  b")), "a  b");           // inner white space is kept
  EXPECT_EQ(NormaliseText("\xc3\x28").status().message(), "the value is not valid UTF-8");
}

TEST(ParseNormalisation, SpellingsRoundTrip) {
  for (const char* spelling : {"none", "email", "email+provider", "phone", "phone:44", "text"}) {
    auto parsed = ParseNormalisation(spelling);
    ASSERT_TRUE(parsed.ok()) << spelling;
    EXPECT_EQ(NormalisationName(*parsed), spelling);
  }
  EXPECT_EQ(ParseNormalisation("phone:044").status().message(),
            "a default country code is 1 to 3 digits not starting with 0, as in phone:44");
  EXPECT_EQ(ParseNormalisation("mail").status().message(),
            "unknown normalisation: use none, email, email+provider, phone, phone:<country code> "
            "or text");
  auto phone = ParseNormalisation("phone:44");
  EXPECT_EQ(Ok(Normalise(*phone, "07700 900123")), "+447700900123");
}

}  // namespace
}  // namespace parley::crypto
