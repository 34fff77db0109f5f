#include "psi/identifiers.h"

#include "gtest/gtest.h"

namespace parley::psi {
namespace {

TEST(IdentifiersTest, SkipsNullsAndEmptiesAndKeepsTheFirstSpelling) {
  Normaliser lower = [](absl::string_view value) -> absl::StatusOr<std::optional<std::string>> {
    std::string out(value);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out == "bad") return absl::InvalidArgumentError("not an e-mail address");
    return std::optional<std::string>(out);
  };
  IdentifierSet set(lower);
  ASSERT_TRUE(set.Add("Alice@Example.com", 1).ok());
  ASSERT_TRUE(set.Add(std::nullopt, 2).ok());
  ASSERT_TRUE(set.Add("", 3).ok());
  ASSERT_TRUE(set.Add("alice@example.com", 4).ok());
  ASSERT_TRUE(set.Add("bob@example.com", 5).ok());
  EXPECT_EQ(set.identifiers(), (std::vector<std::string>{"alice@example.com", "bob@example.com"}));
  EXPECT_EQ(set.spelling(0), "Alice@Example.com");
  EXPECT_EQ(set.values(), 5u);
  EXPECT_EQ(set.skipped(), 2u);
  ASSERT_TRUE(set.Add("BAD", 6).ok());
  ASSERT_TRUE(set.Add("bad", 7).ok());
  EXPECT_EQ(set.unusable(), 2u);
  EXPECT_EQ(set.first_unusable_row(), 6u);
  EXPECT_EQ(set.identifiers().size(), 2u);
}

TEST(IdentifiersTest, TwoSpellingsOfOnePersonMatchAfterNormalisation) {
  absl::StatusOr<Normaliser> email = NormaliserNamed("email");
  ASSERT_TRUE(email.ok());
  IdentifierSet left(*email), right(*email);
  ASSERT_TRUE(left.Add("  Ann.Lee@Example.COM ", 1).ok());
  ASSERT_TRUE(right.Add("ann.lee@example.com", 1).ok());
  EXPECT_EQ(left.identifiers(), right.identifiers());
  EXPECT_EQ(left.spelling(0), "  Ann.Lee@Example.COM ");
  ASSERT_TRUE(left.Add("not an address", 2).ok());
  EXPECT_EQ(left.unusable(), 1u);

  absl::StatusOr<Normaliser> phone = NormaliserNamed("phone:44");
  ASSERT_TRUE(phone.ok());
  IdentifierSet national(*phone), international(*phone);
  ASSERT_TRUE(national.Add("020 7946 0018", 1).ok());
  ASSERT_TRUE(international.Add("+44 20 7946 0018", 1).ok());
  EXPECT_EQ(national.identifiers(), international.identifiers());
}

TEST(IdentifiersTest, NormaliserNames) {
  for (const char* name : {"none", "email", "email+provider", "phone", "phone:1", "text"}) {
    EXPECT_TRUE(NormaliserNamed(name).ok()) << name;
  }
  EXPECT_EQ(NormaliserNamed("soundex").status().message(),
            "unknown normalisation 'soundex' (expected none, email, email+provider, phone, "
            "phone:<country code>, text)");
}

}  // namespace
}  // namespace parley::psi
