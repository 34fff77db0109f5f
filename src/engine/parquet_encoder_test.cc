#include "engine/parquet_encoder.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/result_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine {
namespace {

using duckdb::DuckResult;
using duckdb::DuckString;
using duckdb::InMemoryDatabase;
using duckdb::OpenInMemoryDatabase;
using duckdb::QuoteIdentifier;
using duckdb::QuoteString;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

// DuckDB is the oracle: every file the encoder writes is compared with the file DuckDB's own
// writer makes of the same values cast to the same types.
class ParquetEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_parquet_encoder_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    absl::StatusOr<InMemoryDatabase> db = OpenInMemoryDatabase({});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Encode(const ResultTable& table, const std::string& name) {
    absl::StatusOr<std::string> bytes = EncodeParquet(table, {{"parley_types", "[]"}});
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << (bytes.ok() ? *bytes : "");
    return path;
  }

  // The same values written by DuckDB: each text cast to its column's type.
  std::string WriteWithDuckDb(const ResultTable& table, const std::string& name) {
    std::vector<std::string> casts, rows;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      std::string type =
          table.columns[i].type == "HUGEINT" ? "DECIMAL(38,0)" : table.columns[i].type;
      casts.push_back(
          absl::StrCat("CAST(c", i, " AS ", type, ") AS ", QuoteIdentifier(table.columns[i].name)));
    }
    for (const auto& row : table.rows) {
      std::vector<std::string> values;
      for (const auto& value : row) {
        values.push_back(value ? QuoteString(*value) : "CAST(NULL AS VARCHAR)");
      }
      rows.push_back(absl::StrCat("(", absl::StrJoin(values, ", "), ")"));
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < table.columns.size(); ++i) names.push_back(absl::StrCat("c", i));
    std::string path = (dir_ / name).string();
    std::string sql = absl::StrCat("COPY (SELECT ", absl::StrJoin(casts, ", "), " FROM (VALUES ",
                                   absl::StrJoin(rows, ", "), ") AS v(", absl::StrJoin(names, ", "),
                                   ")) TO ", QuoteString(path), " (FORMAT parquet)");
    EXPECT_TRUE(duckdb::ExecuteStatement(db_.connection.get(), sql, "copy").ok()) << sql;
    return path;
  }

  // Every row of a query as text ("<null>" for NULL), or the error.
  std::vector<std::string> Query(const std::string& sql) {
    DuckResult result;
    if (duckdb_query(db_.connection.get(), sql.c_str(), result.out()) == DuckDBError) {
      return {absl::StrCat("error: ", duckdb_result_error(&result.get()))};
    }
    std::vector<std::string> lines;
    for (idx_t row = 0; row < duckdb_row_count(&result.get()); ++row) {
      std::vector<std::string> cells;
      for (idx_t column = 0; column < duckdb_column_count(&result.get()); ++column) {
        if (duckdb_value_is_null(&result.get(), column, row)) {
          cells.push_back("<null>");
          continue;
        }
        DuckString text(duckdb_value_varchar(&result.get(), column, row));
        cells.push_back(text.get());
      }
      lines.push_back(absl::StrJoin(cells, "|"));
    }
    return lines;
  }

  // The schema, the physical layout and the values of a Parquet file, as DuckDB reads them.
  struct Reading {
    std::vector<std::string> described, layout, values;
  };
  Reading Read(const std::string& path) {
    std::string file = QuoteString(path);
    return {Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(" +
                  file + "))"),
            Query("SELECT name, type, type_length, converted_type, scale, precision FROM "
                  "parquet_schema(" +
                  file + ") WHERE num_children IS NULL"),
            Query("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet(" + file + ")")};
  }

  std::filesystem::path dir_;
  InMemoryDatabase db_;
};

std::vector<std::string> AsLines(const Rows& rows) {
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& value : row) cells.push_back(value ? *value : "<null>");
    lines.push_back(absl::StrJoin(cells, "|"));
  }
  return lines;
}

// Every type the encoder writes, with the extreme and awkward values of each: DuckDB reads the
// encoded file with the same column types, the same physical layout and the same values as the
// file its own writer makes, and every value's text comes back as it was.
TEST_F(ParquetEncoderTest, WritesTheFileDuckDbWrites) {
  ResultTable table;
  table.columns = {{"flag", "BOOLEAN"},
                   {"tiny", "TINYINT"},
                   {"small", "SMALLINT"},
                   {"int", "INTEGER"},
                   {"big", "BIGINT"},
                   {"huge", "HUGEINT"},
                   {"f", "FLOAT"},
                   {"d", "DOUBLE"},
                   {"dec4", "DECIMAL(4,1)"},
                   {"dec9", "DECIMAL(9,3)"},
                   {"dec18", "DECIMAL(18,2)"},
                   {"dec38", "DECIMAL(38,10)"},
                   {"whole", "DECIMAL(5,0)"},
                   {"text", "VARCHAR"},
                   {"day", "DATE"},
                   {"ünïcode \"name\"", "VARCHAR"}};
  table.rows = {
      {"true", "-128", "-32768", "-2147483648", "-9223372036854775808",
       "-99999999999999999999999999999999999999", "-3.4028235e+38", "-1.7976931348623157e+308",
       "-999.9", "-999999.999", "-9999999999999999.99", "-9999999999999999999999999999.9999999999",
       "-99999", "", "0001-01-01", "a"},
      {"false", "127", "32767", "2147483647", "9223372036854775807",
       "99999999999999999999999999999999999999", "1.1754944e-38", "5e-324", "999.9", "0.001",
       "0.00", "0.0000000001", "0", "O'Brien \\'; DROP TABLE t; --\nnext", "9999-12-31",
       "日本語 🎉"},
      {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
       std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
       std::nullopt, std::nullopt, std::nullopt, std::nullopt},
      {"true", "0", "0", "0", "0", "0", "inf", "-inf", "0.0", "-0.500", "123.45", "1.5000000000",
       "12345", "NULL", "2024-02-29", std::nullopt},
      {"false", "-1", "1", "-1", "1", "12345678901234567890123", "nan", "nan", "-0.1", "1.000",
       "-0.01", "-0.0000000001", "-1", "  spaced  ", "1970-01-01", "tab\there"},
      {"true", "1", "-1", "1", "-1", "-9007199254740993", "0.1", "0.1", "1.0", "2.718",
       "90071992547409.93", "3.1415926535", "7", "back\\slash", "1969-12-31", "\xC3\xA9"},
  };
  std::string encoded = Encode(table, "encoded.parquet");
  std::string reference = WriteWithDuckDb(table, "reference.parquet");
  Reading ours = Read(encoded);
  Reading theirs = Read(reference);
  EXPECT_EQ(ours.described, theirs.described);
  EXPECT_EQ(ours.layout, theirs.layout);
  EXPECT_EQ(ours.values, theirs.values);
  EXPECT_EQ(ours.values, AsLines(table.rows));
  ASSERT_EQ(ours.described.size(), table.columns.size());
  EXPECT_EQ(ours.described[5], "huge|DECIMAL(38,0)");
  EXPECT_EQ(ours.described[14], "day|DATE");
}

// Definition levels and booleans are bit-packed eight to a byte: row counts around a byte's
// boundary, with NULLs in every position, read back exactly; so does a result without rows.
TEST_F(ParquetEncoderTest, RowCountsAroundAByteBoundary) {
  for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{16},
                       size_t{17}, size_t{1000}}) {
    ResultTable table{{{"n", "BIGINT"}, {"b", "BOOLEAN"}, {"s", "VARCHAR"}}, {}};
    for (size_t i = 0; i < count; ++i) {
      auto maybe = [&](size_t every, std::string text) {
        return i % every == 0 ? std::nullopt : std::optional<std::string>(std::move(text));
      };
      table.rows.push_back(
          {maybe(3, std::to_string(i)), maybe(5, i % 2 ? "true" : "false"), maybe(7, "v")});
    }
    std::string path = Encode(table, absl::StrCat("rows-", count, ".parquet"));
    absl::StatusOr<ResultTable> read = ReadParquetResult(path);
    ASSERT_TRUE(read.ok()) << count << ": " << read.status();
    EXPECT_EQ(read->rows, table.rows) << count;
    EXPECT_EQ(Read(path).described,
              (std::vector<std::string>{"n|BIGINT", "b|BOOLEAN", "s|VARCHAR"}))
        << count;
  }
}

// Types the encoder does not write, and values not in the form DuckDB prints, are left to
// DuckDB (which casts them, or refuses them as before); the message names the column, never the
// value.
TEST(ParquetEncoderFallbackTest, LeavesOtherTypesAndFormsToDuckDb) {
  auto status = [](const std::string& type, std::optional<std::string> value) {
    return EncodeParquet(ResultTable{{{"x", "BIGINT"}, {"c", type}}, {{"1", std::move(value)}}}, {})
        .status();
  };
  for (const char* type :
       {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "INTERVAL", "TIME", "UUID", "BLOB", "INTEGER[]",
        "UBIGINT", "DECIMAL(39,0)", "DECIMAL(x,1)", "MY_ALIAS"}) {
    EXPECT_EQ(status(type, std::nullopt),
              absl::UnimplementedError(absl::StrCat("column 2 has the type ", type,
                                                    ", which this encoder leaves to DuckDB")));
  }
  const std::pair<const char*, const char*> kOddValues[] = {
      {"INTEGER", "1.5"},
      {"INTEGER", "+1"},
      {"INTEGER", " 1"},
      {"BIGINT", "1e3"},
      {"TINYINT", "128"},
      {"SMALLINT", "-32769"},
      {"INTEGER", "2147483648"},
      {"BIGINT", "9223372036854775808"},
      {"BIGINT", "--1"},
      {"BIGINT", ""},
      {"BIGINT", "-"},
      {"HUGEINT", "100000000000000000000000000000000000000"},
      {"DECIMAL(10,2)", "12.3"},
      {"DECIMAL(10,2)", "12"},
      {"DECIMAL(10,2)", "1.234"},
      {"DECIMAL(4,1)", "1000.0"},
      {"DECIMAL(10,2)", "-.50"},
      {"DECIMAL(10,2)", "1.-5"},
      {"DECIMAL(5,0)", "1.0"},
      {"DOUBLE", "1,5"},
      {"DOUBLE", "-nan"},
      {"DOUBLE", "1e999"},
      {"FLOAT", "+1"},
      {"BOOLEAN", "TRUE"},
      {"BOOLEAN", "1"},
      {"DATE", "0044-03-15 (BC)"},
      {"DATE", "10000-01-01"},
      {"DATE", "2023-02-29"},
      {"DATE", "2024-13-01"},
      {"DATE", "0000-01-01"},
      {"DATE", "2024-1-01"},
      {"DATE", "infinity"},
      {"VARCHAR", "\xC3"},
      {"VARCHAR", "\xED\xA0\x80"}};
  for (const auto& [type, value] : kOddValues) {
    EXPECT_EQ(status(type, value),
              absl::UnimplementedError("column 2 holds a value this encoder does not parse"))
        << type << " " << value;
  }
  // DuckDB's reader of the stored file gives text up to a NUL byte (C strings); such a value
  // keeps the path it had.
  EXPECT_EQ(status("VARCHAR", std::string("nul\0byte", 8)),
            absl::UnimplementedError("column 2 holds a value this encoder does not parse"));
}

TEST(ParquetEncoderFallbackTest, LargeResultsAndBadShapes) {
  ResultTable wide{{{"a", "BIGINT"}, {"b", "BIGINT"}}, {}};
  wide.rows.assign(kEncodedParquetMaxCells / 2 + 1, {"1", "2"});
  EXPECT_EQ(EncodeParquet(wide, {}).status(),
            absl::UnimplementedError("the result is too large to encode in-process"));
  ResultTable long_text{{{"s", "VARCHAR"}}, {{std::string(kEncodedParquetMaxBytes + 1, 'x')}}};
  EXPECT_EQ(EncodeParquet(long_text, {}).status(),
            absl::UnimplementedError("the result is too large to encode in-process"));
  EXPECT_EQ(EncodeParquet(ResultTable{}, {}).status(),
            absl::InvalidArgumentError("the result has no columns"));
  EXPECT_EQ(EncodeParquet(ResultTable{{{"a", "BIGINT"}}, {{"1", "2"}}}, {}).status(),
            absl::InvalidArgumentError("a row of the result has the wrong number of values"));
}

}  // namespace
}  // namespace parley::engine
