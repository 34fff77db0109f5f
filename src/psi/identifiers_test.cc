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
  EXPECT_EQ(set.Add("BAD", 6).message(), "row 6: not an e-mail address");
}

TEST(IdentifiersTest, NormaliserNames) {
  EXPECT_TRUE(NormaliserNamed("none").ok());
  EXPECT_EQ(NormaliserNamed("soundex").status().message().substr(0, 30),
            "unknown normalisation 'soundex");
}

}  // namespace
}  // namespace parley::psi
