#include "engine/display_width.h"

#include "gtest/gtest.h"

namespace parley::engine {
namespace {

TEST(DisplayWidthTest, AsciiLatinAndControls) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("north"), 5u);
  EXPECT_EQ(DisplayWidth("Zürich"), 6u);
  EXPECT_EQ(CodePointWidth(U'\n'), 0);
  EXPECT_EQ(CodePointWidth(0x9B), 0);  // C1 CSI
}

TEST(DisplayWidthTest, WideCharactersTakeTwoColumns) {
  EXPECT_EQ(DisplayWidth("東京"), 4u);
  EXPECT_EQ(DisplayWidth("서울"), 4u);
  EXPECT_EQ(DisplayWidth("ｶﾀｶﾅ"), 4u);  // halfwidth katakana: one column each
  EXPECT_EQ(DisplayWidth("ＡＢ"), 4u);  // fullwidth Latin
  EXPECT_EQ(DisplayWidth("👍"), 2u);
  EXPECT_EQ(DisplayWidth("🚀x"), 3u);
  EXPECT_EQ(DisplayWidth("𠀋"), 2u);  // CJK extension B, outside the BMP
}

TEST(DisplayWidthTest, CombiningAndZeroWidthTakeNone) {
  EXPECT_EQ(DisplayWidth("e\u0301"), 1u);             // e + combining acute
  EXPECT_EQ(DisplayWidth("a\u200Bb"), 2u);            // zero-width space
  EXPECT_EQ(DisplayWidth("\u2764\uFE0F"), 1u);        // heart + variation selector 16
  EXPECT_EQ(DisplayWidth("👍\U0001F3FD"), 2u);         // skin-tone modifier
  EXPECT_EQ(DisplayWidth("👨\u200D👩\u200D👧"), 6u);     // a ZWJ sequence: the sum of its parts
  EXPECT_EQ(DisplayWidth("\u1100\u1161\u11A8"), 2u);  // Hangul jamo forming one syllable
}

TEST(DisplayWidthTest, InvalidUtf8CountsOneColumnPerByte) {
  EXPECT_EQ(DisplayWidth("a\xff"
                         "b"),
            3u);
  EXPECT_EQ(DisplayWidth("\xc0\xaf"), 2u);      // overlong '/'
  EXPECT_EQ(DisplayWidth("\xed\xa0\x80"), 3u);  // a surrogate
  EXPECT_EQ(DisplayWidth("\xe6\x9d"), 2u);      // truncated
  size_t offset = 0;
  char32_t c = 0;
  EXPECT_FALSE(NextCodePoint("\xff", &offset, &c));
  EXPECT_EQ(offset, 1u);
  EXPECT_EQ(c, 0xFFu);
  offset = 0;
  EXPECT_TRUE(NextCodePoint("\xf0\x9f\x91\x8d", &offset, &c));
  EXPECT_EQ(offset, 4u);
  EXPECT_EQ(c, 0x1F44Du);
}

}  // namespace
}  // namespace parley::engine
