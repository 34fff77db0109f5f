// Decoding a ClickHouse result and mapping its errors, without a server.
#include "base/status_testing.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine::clickhouse {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ClickHouseResultTest, DecodesNamesTypesNullsAndEscapes) {
  ASSERT_OK_AND_ASSIGN(ResultTable table,
                       DecodeTabSeparated("region\tn\tspend\tday\n"
                                          "String\tUInt64\tNullable(Decimal(38, 2))\tDate\n"
                                          "a\\tb\\\\c\\nd\t3\t\\N\t2024-01-02\n"
                                          "\t0\t1.50\t1970-01-01\n"));
  EXPECT_EQ(
      table.columns,
      (std::vector<ResultColumn>{
          {"region", "VARCHAR"}, {"n", "UBIGINT"}, {"spend", "DECIMAL(38,2)"}, {"day", "DATE"}}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], std::optional<std::string>("a\tb\\c\nd"));
  EXPECT_EQ(table.rows[0][2], std::nullopt);
  EXPECT_EQ(table.rows[1][0], std::optional<std::string>(""));
  EXPECT_EQ(table.rows[1][2], std::optional<std::string>("1.50"));
}

TEST(ClickHouseResultTest, MapsTypesExactlyOrRefuses) {
  EXPECT_EQ(ParleyTypeName("Int64"), "BIGINT");
  EXPECT_EQ(ParleyTypeName("Nullable(Float64)"), "DOUBLE");
  EXPECT_EQ(ParleyTypeName("LowCardinality(Nullable(String))"), "VARCHAR");
  EXPECT_EQ(ParleyTypeName("DateTime"), "TIMESTAMP");
  EXPECT_EQ(ParleyTypeName("Decimal(18, 3)"), "DECIMAL(18,3)");
  EXPECT_EQ(ParleyTypeName("Array(Int64)"), "");
  ExpectError(DecodeTabSeparated("a\nArray(Int64)\n[1]\n").status(),
              absl::StatusCode::kInvalidArgument,
              "the clickhouse engine's result column 1 has a type Parley cannot carry "
              "(Array(Int64))");
}

TEST(ClickHouseResultTest, RowsWithTheWrongNumberOfFieldsAreRefused) {
  ExpectError(DecodeTabSeparated("a\tb\nInt64\tInt64\n1\n").status(),
              absl::StatusCode::kInvalidArgument,
              "the clickhouse engine's result line 3 has 1 fields, not 2");
}

// The server's text may quote a value of the data; the status never carries it.
TEST(ClickHouseResultTest, ErrorsAreChosenByCodeAndNeverEchoTheServerText) {
  absl::Status conversion = StatusForServerError(
      "Code: 6, e.displayText() = DB::Exception: Cannot parse string 'alice@example.com' as "
      "Int64, e.what() = DB::Exception",
      "clickhouse engine");
  ExpectError(conversion, absl::StatusCode::kInvalidArgument,
              "query failed during execution on the clickhouse engine: "
              "conversion error");
  EXPECT_THAT(std::string(conversion.message()), Not(HasSubstr("alice")));
  EXPECT_EQ(StatusForServerError("Code: 241, e.displayText() = DB::Exception: Memory limit",
                                 "clickhouse engine")
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusForServerError("Code: 159, ...", "clickhouse engine").code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusForServerError("Code: 164, ...", "clickhouse engine").code(),
            absl::StatusCode::kPermissionDenied);
  ExpectError(StatusForServerError("Code: 62, e.displayText() = Syntax error near 'x'",
                                   "clickhouse engine"),
              absl::StatusCode::kInternal,
              "the clickhouse engine rejected the SQL Parley generated (ClickHouse error "
              "code 62)");
  EXPECT_EQ(StatusForServerError("garbage", "clickhouse engine").code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace parley::engine::clickhouse
