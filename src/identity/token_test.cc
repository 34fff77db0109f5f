#include "identity/token.h"

#include <gtest/gtest.h>

#include <set>

namespace parley::identity {
namespace {

TEST(TokenTest, AnIssuedTokenMatchesItsStoredHashAndNothingElseDoes) {
  IssuedToken issued = IssueToken();
  ASSERT_EQ(issued.text.size(), 3u + 16 + 1 + 64);
  EXPECT_EQ(issued.text.substr(0, 3 + 16), "pt_" + issued.id);
  auto presented = ParseToken(issued.text);
  ASSERT_TRUE(presented.ok()) << presented.status();
  EXPECT_EQ(presented->id, issued.id);
  EXPECT_TRUE(TokenMatches(*presented, issued.salt_hex, issued.hash_hex));
  // The stored values never contain the secret.
  EXPECT_EQ(issued.hash_hex.find(presented->secret), std::string::npos);
  EXPECT_EQ(issued.salt_hex.find(presented->secret), std::string::npos);

  // One changed digit of the secret, another token's salt, a corrupt stored hash: no match.
  PresentedToken changed = *presented;
  changed.secret[10] = changed.secret[10] == '0' ? '1' : '0';
  EXPECT_FALSE(TokenMatches(changed, issued.salt_hex, issued.hash_hex));
  IssuedToken other = IssueToken();
  EXPECT_FALSE(TokenMatches(*presented, other.salt_hex, issued.hash_hex));
  EXPECT_FALSE(TokenMatches(*presented, issued.salt_hex, other.hash_hex));
  EXPECT_FALSE(TokenMatches(*presented, issued.salt_hex, "zz"));
  EXPECT_FALSE(TokenMatches(*presented, "", issued.hash_hex));
}

TEST(TokenTest, TokensAreRandomAndSaltedPerToken) {
  std::set<std::string> ids, texts, salts;
  for (int i = 0; i < 50; ++i) {
    IssuedToken issued = IssueToken();
    ids.insert(issued.id);
    texts.insert(issued.text);
    salts.insert(issued.salt_hex);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(texts.size(), 50u);
  EXPECT_EQ(salts.size(), 50u);
}

TEST(TokenTest, MalformedTokensAreRefusedWithoutQuotingThem) {
  IssuedToken issued = IssueToken();
  std::string upper = issued.text;
  upper[5] = 'A';
  for (const std::string& text :
       {std::string(""), std::string("pt_"), issued.text.substr(1), issued.text + "0",
        issued.text.substr(0, issued.text.size() - 1), upper, "xx" + issued.text.substr(2),
        std::string("pt_0123456789abcdef-") + std::string(64, 'a')}) {
    auto parsed = ParseToken(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), "not a Parley API token (expected pt_<id>_<secret>)");
  }
}

}  // namespace
}  // namespace parley::identity
