#include "engine/result_codec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine {
namespace {

ResultTable Sample() {
  ResultTable table;
  table.columns = {{"name", "VARCHAR"}, {"n", "HUGEINT"}, {"", "\"NULL\""}};
  table.rows = {{std::string("a\0b", 3), "170141183460469231731687303715884105727", std::nullopt},
                {std::string("\xff\xfe not UTF-8"), std::nullopt, std::nullopt},
                {std::string(), "0", std::nullopt}};
  return table;
}

TEST(ResultCodecTest, RoundTripKeepsEveryByteTypeAndNull) {
  ResultTable table = Sample();
  std::optional<std::string> bytes = EncodeResult(table, 1 << 20);
  ASSERT_TRUE(bytes.has_value());
  absl::StatusOr<ResultTable> decoded = DecodeResult(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->columns, table.columns);
  EXPECT_EQ(decoded->rows, table.rows);
}

TEST(ResultCodecTest, EmptyResultRoundTrips) {
  ResultTable table;
  table.columns = {{"x", "INTEGER"}};
  std::optional<std::string> bytes = EncodeResult(table, 1 << 20);
  ASSERT_TRUE(bytes.has_value());
  absl::StatusOr<ResultTable> decoded = DecodeResult(*bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->columns, table.columns);
  EXPECT_TRUE(decoded->rows.empty());
}

TEST(ResultCodecTest, LimitIsTheEncodedSizeInclusive) {
  ResultTable table = Sample();
  std::string bytes = *EncodeResult(table, 1 << 20);
  EXPECT_EQ(EncodeResult(table, bytes.size()), bytes);
  EXPECT_EQ(EncodeResult(table, bytes.size() - 1), std::nullopt);
}

TEST(ResultCodecTest, RaggedRowHasNoEncoding) {
  ResultTable table;
  table.columns = {{"x", "INTEGER"}, {"y", "INTEGER"}};
  table.rows = {{"1"}};
  EXPECT_EQ(EncodeResult(table, 1 << 20), std::nullopt);
}

TEST(ResultCodecTest, DamagedBytesAreDataLoss) {
  std::string bytes = *EncodeResult(Sample(), 1 << 20);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    absl::Status status = DecodeResult(bytes.substr(0, cut)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "cut at " << cut;
    EXPECT_EQ(status.message(), "the stored result is unreadable");
  }
  EXPECT_EQ(DecodeResult(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string wrong_magic = bytes;
  wrong_magic[0] = 'X';
  EXPECT_EQ(DecodeResult(wrong_magic).status().code(), absl::StatusCode::kDataLoss);
  // A row count far beyond what the bytes hold is refused without allocating for it.
  std::string huge = "PRB1";
  huge += std::string("\x01\x00\x00\x00", 4) + std::string("\x01\x00\x00\x00x", 5) +
          std::string("\x01\x00\x00\x00y", 5) + std::string(8, '\xff');
  EXPECT_EQ(DecodeResult(huge).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace parley::engine
