// Decoding a ClickHouse result and mapping its errors, without a server.
#include "base/status_testing.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine::clickhouse {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ClickHouseResultTest, DecodesNamesTypesNullsNumbersByTheirTextAndStatistics) {
  // As 18.16 writes it (Int64 quoted, '/' escaped, NaN quoted by the profile's setting).
  constexpr char kBody[] = R"json({
	"meta":
	[
		{"name": "region", "type": "String"},
		{"name": "n", "type": "UInt64"},
		{"name": "spend", "type": "Nullable(Decimal(38, 2))"},
		{"name": "day", "type": "Date"},
		{"name": "ratio", "type": "Float64"},
		{"name": "big", "type": "Decimal(38, 0)"}
	],
	"data":
	[
		["a\tb\\c\nd\/e", "3", null, "2024-01-02", "-nan", 123456789012345678901234567890],
		["", "0", 1.50, "1970-01-01", 162, 0]
	],
	"rows": 2,
	"statistics": {"elapsed": 0.003955958, "rows_read": 100000, "bytes_read": 1688895}
})json";
  ASSERT_OK_AND_ASSIGN(Answer answer, DecodeJsonCompact(kBody));
  const ResultTable& table = answer.table;
  EXPECT_EQ(table.columns, (std::vector<ResultColumn>{{"region", "VARCHAR"},
                                                      {"n", "UBIGINT"},
                                                      {"spend", "DECIMAL(38,2)"},
                                                      {"day", "DATE"},
                                                      {"ratio", "DOUBLE"},
                                                      {"big", "DECIMAL(38,0)"}}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], std::optional<std::string>("a\tb\\c\nd/e"));
  EXPECT_EQ(table.rows[0][2], std::nullopt);
  EXPECT_EQ(table.rows[0][4], std::optional<std::string>("nan"));
  EXPECT_EQ(table.rows[0][5], std::optional<std::string>("123456789012345678901234567890"));
  EXPECT_EQ(table.rows[1][0], std::optional<std::string>(""));
  EXPECT_EQ(table.rows[1][2], std::optional<std::string>("1.50"));   // not 1.5
  EXPECT_EQ(table.rows[1][4], std::optional<std::string>("162.0"));  // as DuckDB prints it
  EXPECT_EQ(answer.read.rows, 100000);
  EXPECT_EQ(answer.read.bytes, 1688895);
}

// An error after the first rows went out arrives in a body whose status was 200.
TEST(ClickHouseResultTest, AnErrorAppendedToAPartialAnswerIsThatError) {
  absl::StatusOr<Answer> answer = DecodeJsonCompact(
      "{\n\t\"meta\": [{\"name\": \"n\", \"type\": \"UInt64\"}],\n\t\"data\": [[\"1\"],"
      "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded");
  ExpectError(answer.status(), absl::StatusCode::kResourceExhausted,
              "the clickhouse engine stopped the query: it needed more than max_memory_usage");
  ExpectError(DecodeJsonCompact("n\tUInt64\n1\n").status(), absl::StatusCode::kInvalidArgument,
              "the clickhouse engine's result is not JSONCompact");
}

TEST(ClickHouseResultTest, MapsTypesExactlyOrRefuses) {
  EXPECT_EQ(ParleyTypeName("Int64"), "BIGINT");
  EXPECT_EQ(ParleyTypeName("Nullable(Float64)"), "DOUBLE");
  EXPECT_EQ(ParleyTypeName("LowCardinality(Nullable(String))"), "VARCHAR");
  EXPECT_EQ(ParleyTypeName("DateTime"), "TIMESTAMP");
  EXPECT_EQ(ParleyTypeName("Decimal(18, 3)"), "DECIMAL(18,3)");
  EXPECT_EQ(ParleyTypeName("Array(Int64)"), "");
  ExpectError(DecodeJsonCompact(R"json({"meta": [{"name": "a", "type": "Array(Int64)"}],
                                     "data": [[[1]]]})json")
                  .status(),
              absl::StatusCode::kInvalidArgument,
              "the clickhouse engine's result column 1 has a type Parley cannot carry "
              "(Array(Int64))");
}

TEST(ClickHouseResultTest, RowsWithTheWrongNumberOfValuesAreRefused) {
  ExpectError(DecodeJsonCompact(R"({"meta": [{"name": "a", "type": "Int64"},
                                              {"name": "b", "type": "Int64"}],
                                     "data": [["1"]]})")
                  .status(),
              absl::StatusCode::kInvalidArgument,
              "the clickhouse engine's result row 1 has 1 values, not 2");
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
