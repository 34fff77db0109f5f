#include "engine/result_writer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine {
namespace {

using duckdb::DuckResult;
using duckdb::DuckString;
using duckdb::InMemoryDatabase;
using duckdb::OpenInMemoryDatabase;
using duckdb::QuoteString;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ResultTable Sample() {
  ResultTable table;
  table.columns = {{"segment", "VARCHAR"},
                   {"households", "BIGINT"},
                   {"spend", "DECIMAL(18,2)"},
                   {"ratio", "DOUBLE"},
                   {"active", "BOOLEAN"}};
  table.rows = {{"18-24", "1200", "15.50", "0.25", "true"},
                {"say \"hi\", then\nleave", "7", "-3.00", "inf", "false"},
                {"", std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
  return table;
}

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_writer_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }
  std::vector<std::string> Files() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

TEST_F(WriterTest, CsvBytes) {
  ASSERT_TRUE(WriteResult(Sample(), PathOf("out.csv"), OutputFormat::kCsv).ok());
  EXPECT_EQ(Read("out.csv"),
            "segment,households,spend,ratio,active\n"
            "18-24,1200,15.50,0.25,true\n"
            "\"say \"\"hi\"\", then\nleave\",7,-3.00,inf,false\n"
            "\"\",,,,\n");
  EXPECT_THAT(Files(), ElementsAre("out.csv"));
}

TEST_F(WriterTest, JsonBytes) {
  ASSERT_TRUE(WriteResult(Sample(), PathOf("out.json"), OutputFormat::kJson).ok());
  EXPECT_EQ(
      Read("out.json"),
      "[\n"
      "  {\"segment\": \"18-24\", \"households\": 1200, \"spend\": 15.50, \"ratio\": 0.25, "
      "\"active\": true},\n"
      "  {\"segment\": \"say \\\"hi\\\", then\\nleave\", \"households\": 7, \"spend\": -3.00, "
      "\"ratio\": \"inf\", \"active\": false},\n"
      "  {\"segment\": \"\", \"households\": null, \"spend\": null, \"ratio\": null, "
      "\"active\": null}\n"
      "]\n");
}

TEST_F(WriterTest, JsonEmptyResult) {
  ResultTable empty{{{"n", "BIGINT"}}, {}};
  ASSERT_TRUE(WriteResult(empty, PathOf("out.json"), OutputFormat::kJson).ok());
  EXPECT_EQ(Read("out.json"), "[]\n");
}

// SUM of a BIGINT column is a HUGEINT; Parquet has no such type and DuckDB would write a DOUBLE,
// dropping digits. Every digit must survive.
TEST_F(WriterTest, ParquetKeepsEveryDigitOfHugeIntegers) {
  ResultTable sums{{{"total", "HUGEINT"}},
                   {{std::string("12345678901234567890123")}, {std::string("-9007199254740993")}}};
  ASSERT_TRUE(WriteResult(sums, PathOf("sums.parquet"), OutputFormat::kParquet).ok());
  absl::StatusOr<InMemoryDatabase> db = OpenInMemoryDatabase({});
  ASSERT_TRUE(db.ok());
  DuckResult result;
  std::string sql = "SELECT CAST(total AS VARCHAR) FROM read_parquet(" +
                    QuoteString(PathOf("sums.parquet")) + ")";
  ASSERT_EQ(duckdb_query(db->connection.get(), sql.c_str(), result.out()), DuckDBSuccess);
  DuckString first(duckdb_value_varchar(&result.get(), 0, 0));
  DuckString second(duckdb_value_varchar(&result.get(), 0, 1));
  EXPECT_STREQ(first.get(), "12345678901234567890123");
  EXPECT_STREQ(second.get(), "-9007199254740993");
}

TEST_F(WriterTest, ParquetReadsBack) {
  ASSERT_TRUE(WriteResult(Sample(), PathOf("out.parquet"), OutputFormat::kParquet).ok());
  EXPECT_THAT(Files(), ElementsAre("out.parquet"));

  absl::StatusOr<InMemoryDatabase> db = OpenInMemoryDatabase({});
  ASSERT_TRUE(db.ok());
  DuckResult result;
  std::string sql =
      "SELECT segment, households, spend, ratio, active, typeof(households), "
      "typeof(spend), typeof(ratio) FROM read_parquet(" +
      QuoteString(PathOf("out.parquet")) + ")";
  ASSERT_EQ(duckdb_query(db->connection.get(), sql.c_str(), result.out()), DuckDBSuccess)
      << duckdb_result_error(&result.get());
  ASSERT_EQ(duckdb_row_count(&result.get()), 3u);
  auto value = [&](idx_t column, idx_t row) {
    if (duckdb_value_is_null(&result.get(), column, row)) return std::string("NULL");
    DuckString text(duckdb_value_varchar(&result.get(), column, row));
    return std::string(text.get());
  };
  EXPECT_EQ(value(0, 1), "say \"hi\", then\nleave");
  EXPECT_EQ(value(1, 0), "1200");
  EXPECT_EQ(value(2, 1), "-3.00");
  EXPECT_EQ(value(3, 1), "inf");
  EXPECT_EQ(value(4, 0), "true");
  EXPECT_EQ(value(1, 2), "NULL");
  EXPECT_EQ(value(0, 2), "");
  EXPECT_EQ(value(5, 0), "BIGINT");
  EXPECT_EQ(value(6, 0), "DECIMAL(18,2)");
  EXPECT_EQ(value(7, 0), "DOUBLE");
}

// What is written is read back as it was: names, the result's own types (HUGEINT, ENUM, the
// NULL type, which Parquet stores otherwise) and every value's text, NULLs included.
TEST_F(WriterTest, ParquetRoundTripKeepsTypesAndText) {
  ResultTable table = Sample();
  table.columns.push_back({"total", "HUGEINT"});
  table.columns.push_back({"tier", "ENUM"});
  table.rows[0].push_back("99999999999999999999999999999999999999");
  table.rows[0].push_back("gold");
  table.rows[1].push_back("-1");
  table.rows[1].push_back(std::nullopt);
  table.rows[2].push_back(std::nullopt);
  table.rows[2].push_back("NULL");
  ASSERT_TRUE(WriteResult(table, PathOf("r.parquet"), OutputFormat::kParquet, false).ok());
  absl::StatusOr<ResultTable> read = ReadParquetResult(PathOf("r.parquet"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->columns.size(), table.columns.size());
  for (size_t i = 0; i < table.columns.size(); ++i) {
    EXPECT_EQ(read->columns[i].name, table.columns[i].name);
    EXPECT_EQ(read->columns[i].type, table.columns[i].type);
  }
  EXPECT_EQ(read->rows, table.rows);
  std::ofstream(dir_ / "bad.parquet") << "not parquet";
  EXPECT_EQ(ReadParquetResult(PathOf("bad.parquet")).status(),
            absl::DataLossError("the result file '" + PathOf("bad.parquet") + "' is unreadable"));
}

// Which writer made a Parquet file: "parley" (engine/parquet_encoder.h) or DuckDB.
std::string CreatedBy(const std::string& path) {
  absl::StatusOr<InMemoryDatabase> db = OpenInMemoryDatabase({});
  if (!db.ok()) return db.status().ToString();
  DuckResult result;
  std::string sql = "SELECT created_by FROM parquet_file_metadata(" + QuoteString(path) + ")";
  if (duckdb_query(db->connection.get(), sql.c_str(), result.out()) == DuckDBError) {
    return duckdb_result_error(&result.get());
  }
  DuckString text(duckdb_value_varchar(&result.get(), 0, 0));
  return text ? std::string(text.get()).substr(0, 6) : "";
}

// Each way of writing Parquet keeps every value's text (quotes, backslashes, line breaks, NULLs,
// the text NULL) and the result's types: a small result of common types is encoded in-process, a
// larger one (over 64k values) or one with a type the encoder leaves to DuckDB (TIMESTAMP) goes
// through DuckDB, as literals when small, through a staging table when not.
TEST_F(WriterTest, ParquetRoundTripOfSmallAndLargeResults) {
  for (bool with_timestamp : {false, true}) {
    for (size_t rows : {size_t{3}, size_t{5000}, size_t{30000}}) {
      ResultTable table{{{"name", "VARCHAR"}, {"n", "BIGINT"}, {"total", "HUGEINT"}}, {}};
      if (with_timestamp) table.columns.push_back({"at", "TIMESTAMP"});
      for (size_t i = 0; i < rows; ++i) {
        std::optional<std::string> name;
        if (i % 3 == 1) name = "O'Brien said \\'; DROP TABLE staging; --\n" + std::to_string(i);
        if (i % 3 == 2) name = "NULL";
        table.rows.push_back(
            {name, std::to_string(i),
             i % 2 == 0 ? std::nullopt : std::optional<std::string>("123456789012345678901")});
        if (with_timestamp) table.rows.back().push_back("2024-02-29 13:45:00.123456");
      }
      std::string path = PathOf(absl::StrCat("rows-", rows, "-", with_timestamp, ".parquet"));
      ASSERT_TRUE(WriteResult(table, path, OutputFormat::kParquet, false).ok()) << rows;
      absl::StatusOr<ResultTable> read = ReadParquetResult(path);
      ASSERT_TRUE(read.ok()) << read.status();
      EXPECT_EQ(read->columns, table.columns) << rows;
      EXPECT_EQ(read->rows, table.rows) << rows;
      EXPECT_EQ(CreatedBy(path), !with_timestamp && rows < 30000 ? "parley" : "DuckDB") << rows;
    }
  }
}

TEST_F(WriterTest, ReplacesAnExistingFile) {
  std::ofstream(dir_ / "out.csv") << "old contents that are longer than the new ones\n";
  ResultTable one{{{"n", "BIGINT"}}, {{"1"}}};
  ASSERT_TRUE(WriteResult(one, PathOf("out.csv"), OutputFormat::kCsv).ok());
  EXPECT_EQ(Read("out.csv"), "n\n1\n");
}

TEST_F(WriterTest, FailureNamesThePathAndLeavesNothing) {
  std::string path = PathOf("missing/out.csv");
  absl::Status status = WriteResult(Sample(), path, OutputFormat::kCsv);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("cannot write '" + path + "'"));

  // A Parquet failure (a value that does not cast back) removes the temporary.
  ResultTable bad{{{"n", "INTEGER"}}, {{"not a number"}}};
  status = WriteResult(bad, PathOf("out.parquet"), OutputFormat::kParquet);
  EXPECT_EQ(status, absl::InvalidArgumentError("cannot write '" + PathOf("out.parquet") +
                                               "': cannot write Parquet: conversion error"));
  EXPECT_THAT(Files(), ElementsAre());
}

TEST_F(WriterTest, WithoutReplaceAnExistingFileIsKept) {
  std::ofstream(dir_ / "out.parquet") << "someone's file\n";
  ResultTable one{{{"n", "BIGINT"}}, {{"1"}}};
  for (OutputFormat format : {OutputFormat::kCsv, OutputFormat::kParquet}) {
    EXPECT_EQ(WriteResult(one, PathOf("out.parquet"), format, /*replace=*/false),
              absl::AlreadyExistsError("'" + PathOf("out.parquet") + "' already exists"));
  }
  EXPECT_EQ(Read("out.parquet"), "someone's file\n");
  ASSERT_TRUE(WriteResult(one, PathOf("new.parquet"), OutputFormat::kParquet, false).ok());
  EXPECT_THAT(Files(), ::testing::UnorderedElementsAre("out.parquet", "new.parquet"));
}

TEST_F(WriterTest, CheckDestinationBeforeAnythingRuns) {
  EXPECT_TRUE(CheckDestination(PathOf("out.csv"), false).ok());
  EXPECT_EQ(CheckDestination(PathOf("missing/out.csv"), false),
            absl::NotFoundError("cannot write '" + PathOf("missing/out.csv") + "': the folder '" +
                                PathOf("missing") + "' does not exist"));
  std::ofstream(dir_ / "out.csv") << "x";
  EXPECT_EQ(CheckDestination(PathOf("out.csv"), false),
            absl::AlreadyExistsError("'" + PathOf("out.csv") + "' already exists"));
  EXPECT_TRUE(CheckDestination(PathOf("out.csv"), true).ok());
  std::filesystem::create_directories(dir_ / "sub");
  EXPECT_EQ(CheckDestination(PathOf("sub"), true),
            absl::FailedPreconditionError("cannot write '" + PathOf("sub") + "': it is a folder"));
  EXPECT_EQ(CheckDestination("/proc/out.csv", true),
            absl::PermissionDeniedError(
                "cannot write '/proc/out.csv': the folder '/proc' is not writable"));
  // Probing left nothing behind.
  EXPECT_THAT(Files(), ::testing::UnorderedElementsAre("out.csv", "sub"));
}

TEST(WriterRenderTest, TextFormatsForStreams) {
  ResultTable one{{{"n", "BIGINT"}, {"s", "VARCHAR"}}, {{"1", std::nullopt}}};
  EXPECT_EQ(*RenderResult(one, OutputFormat::kCsv), "n,s\n1,\n");
  EXPECT_EQ(*RenderResult(one, OutputFormat::kJson), "[\n  {\"n\": 1, \"s\": null}\n]\n");
  EXPECT_EQ(RenderResult(one, OutputFormat::kParquet).status(),
            absl::InvalidArgumentError("Parquet is a file format: write it to a file"));
  EXPECT_EQ(*OutputFormatFromName("JSON"), OutputFormat::kJson);
  EXPECT_EQ(
      OutputFormatFromName("xlsx").status(),
      absl::InvalidArgumentError("unknown output format 'xlsx' (expected csv, json or parquet)"));
}

TEST(WriterOutputFormatTest, FromExtension) {
  EXPECT_EQ(*OutputFormatFromPath("/r/out.csv"), OutputFormat::kCsv);
  EXPECT_EQ(*OutputFormatFromPath("out.JSON"), OutputFormat::kJson);
  EXPECT_EQ(*OutputFormatFromPath("a.b/out.parquet"), OutputFormat::kParquet);
  EXPECT_EQ(OutputFormatFromPath("out.xlsx").status(),
            absl::InvalidArgumentError(
                "cannot tell the output format of 'out.xlsx': use a .csv, .json or .parquet "
                "extension"));
  EXPECT_FALSE(OutputFormatFromPath("out").ok());
}

TEST(WriterFormatTableTest, AlignsAndCounts) {
  EXPECT_EQ(FormatTable(Sample()),
            "segment               | households | spend | ratio | active\n"
            "----------------------+------------+-------+-------+-------\n"
            "18-24                 |       1200 | 15.50 |  0.25 | true\n"
            "say \"hi\", then\\nleave |          7 | -3.00 |   inf | false\n"
            "                      |       NULL |  NULL |  NULL | NULL\n"
            "(3 rows)\n");
  ResultTable one{{{"n", "BIGINT"}}, {{"1"}}};
  EXPECT_EQ(FormatTable(one), "n\n-\n1\n(1 row)\n");
  ResultTable none{{{"name", "VARCHAR"}}, {}};
  EXPECT_EQ(FormatTable(none), "name\n----\n(0 rows)\n");
}

// NULL is shown as NULL; text that reads NULL or starts with a quote as a SQL literal.
TEST(WriterFormatTableTest, NullIsDistinctFromTheTextNull) {
  ResultTable table{{{"v", "VARCHAR"}},
                    {{std::nullopt}, {"NULL"}, {"null"}, {"'NULL'"}, {"it's"}, {""}, {"a\\n"}}};
  EXPECT_EQ(FormatTable(table),
            "v\n"
            "----------\n"
            "NULL\n"
            "'NULL'\n"
            "'null'\n"
            "'''NULL'''\n"
            "it's\n"
            "\n"
            "a\\\\n\n"
            "(7 rows)\n");
}

// Columns line up by display width: wide characters take two columns, combining marks none.
TEST(WriterFormatTableTest, AlignsByDisplayWidth) {
  ResultTable table{{{"city", "VARCHAR"}, {"n", "BIGINT"}},
                    {{"東京", "1"}, {"Zu\u0308rich", "22"}, {"🚀", "3"}, {"x", "4"}}};
  EXPECT_EQ(FormatTable(table),
            "city   | n\n"
            "-------+---\n"
            "東京   |  1\n"
            "Zu\u0308rich | 22\n"
            "🚀     |  3\n"
            "x      |  4\n"
            "(4 rows)\n");
}

// Terminal controls in values are shown escaped: C0, C1 (U+009B is CSI), bidi overrides and
// bytes that are not UTF-8.
TEST(WriterFormatTableTest, EscapesWhatWouldDriveTheTerminal) {
  ResultTable table{{{"v", "VARCHAR"}},
                    {{"a\x1b[31mb\xc2\x9b\u202E"
                      "c\xff"}}};
  EXPECT_EQ(FormatTable(table),
            "v\n"
            "---------------------------\n"
            "a\\x1b[31mb\\u009b\\u202ec\\xff\n"
            "(1 row)\n");
}

}  // namespace
}  // namespace parley::engine
