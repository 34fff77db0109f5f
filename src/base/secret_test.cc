// The Secret type: it holds its text exactly, copies and moves keep it, a moved-from Secret is
// empty, and WipeString overwrites a string's whole buffer, not only its visible part.
#include "base/secret.h"

#include <string>
#include <type_traits>

#include "gtest/gtest.h"

namespace parley {
namespace {

TEST(SecretTest, HoldsItsTextThroughCopiesAndMoves) {
  Secret secret(std::string_view("s3cret\0x", 8));
  EXPECT_EQ(secret.reveal(), std::string_view("s3cret\0x", 8));
  Secret copy = secret;
  EXPECT_EQ(copy.reveal(), secret.reveal());
  EXPECT_NE(copy.reveal().data(), secret.reveal().data());  // its own buffer, wiped on its own
  Secret moved = std::move(copy);
  EXPECT_EQ(moved.reveal(), secret.reveal());
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moving empties the source
  moved = Secret("other");
  EXPECT_EQ(moved.reveal(), "other");
  EXPECT_TRUE(Secret().empty());
}

// No implicit way from text to a Secret or back, and no way to print one.
TEST(SecretTest, NeverConvertsImplicitly) {
  EXPECT_FALSE((std::is_convertible_v<std::string, Secret>));
  EXPECT_FALSE((std::is_convertible_v<Secret, std::string>));
  EXPECT_FALSE((std::is_convertible_v<Secret, std::string_view>));
}

TEST(SecretTest, WipeStringOverwritesTheWholeBuffer) {
  std::string text(100, 'p');
  text.resize(10);  // the other 90 bytes stay in the buffer
  const char* buffer = text.data();
  size_t capacity = text.capacity();
  WipeString(text);
  EXPECT_TRUE(text.empty());
  ASSERT_EQ(text.data(), buffer);  // the same buffer, still owned by the string
  for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(buffer[i], '\0') << i;
}

}  // namespace
}  // namespace parley
