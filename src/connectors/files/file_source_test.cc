#include "connectors/files/file_source.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
#include "connectors/files/files_connector.h"
#include "engine/duckdb/duckdb_api.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::connectors::files {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

MATCHER_P2(IsColumn, name, type, "") { return arg.name == name && arg.type == type; }

void SetSource(catalog::Table& table, Format format, const std::string& path) {
  table.source_kind = "files";
  table.source_json = DescriptionText({format, path});
}

// The view the files connector builds over the files the table's source resolves to now.
engine::SourceView View(const catalog::Table& table) {
  FilesConnector connector;
  absl::StatusOr<std::vector<std::string>> files = connector.ResolveFiles(table.source_json);
  EXPECT_TRUE(files.ok()) << files.status();
  absl::StatusOr<engine::SourceView> view =
      connector.ViewFor(table, files.value_or(std::vector<std::string>{}));
  EXPECT_TRUE(view.ok()) << view.status();
  return view.value_or(engine::SourceView{});
}

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_connectors_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "parts");
    Write("retail.csv",
          "household_id,hashed_email,age,spend\n"
          "1,h1@x,34,10.5\n"
          "2,h2@x,51,20.25\n"
          "3,h3@x,27,\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << contents;
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // Parquet test files come from a plain DuckDB, as a real user's tools would make them.
  void WriteParquet(const std::string& name, const std::string& select) {
    absl::StatusOr<engine::duckdb::InMemoryDatabase> db = engine::duckdb::OpenInMemoryDatabase({});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(engine::duckdb::ExecuteStatement(db->connection.get(),
                                                 "COPY (" + select + ") TO " +
                                                     engine::duckdb::QuoteString(PathOf(name)) +
                                                     " (FORMAT parquet)",
                                                 "copy")
                    .ok());
  }

  catalog::Table RetailTable() {
    absl::StatusOr<std::vector<catalog::Column>> schema =
        InferSchema(Format::kCsv, PathOf("retail.csv"));
    EXPECT_TRUE(schema.ok()) << schema.status();
    catalog::Table table;
    table.collaboration = "campaign";
    table.name = "retail";
    table.owner = "retailer";
    SetSource(table, Format::kCsv, PathOf("retail.csv"));
    table.source_schema = schema.value_or(std::vector<catalog::Column>{});
    table.allowed_columns = {"household_id", "age", "spend"};
    return table;
  }

  std::filesystem::path dir_;
};

TEST_F(FileSourceTest, ResolveLocationMakesPathsAbsolute) {
  std::string relative = std::filesystem::relative(dir_ / "retail.csv").string();
  EXPECT_EQ(*ResolveLocation(relative), PathOf("retail.csv"));
  EXPECT_EQ(*ResolveLocation(PathOf("parts/../retail.csv")), PathOf("retail.csv"));
}

TEST_F(FileSourceTest, ResolveLocationReportsMissingFiles) {
  EXPECT_EQ(ResolveLocation(PathOf("nope.csv")).status(),
            absl::NotFoundError("file '" + PathOf("nope.csv") + "' not found"));
  EXPECT_EQ(ResolveLocation(PathOf("parts/*.csv")).status(),
            absl::NotFoundError("no file matches '" + PathOf("parts/*.csv") + "'"));
  Write("parts/a.csv", "k\n1\n");
  EXPECT_EQ(*ResolveLocation(PathOf("parts/*.csv")), PathOf("parts/*.csv"));
  EXPECT_EQ(ResolveLocation(PathOf("parts")).status(),
            absl::InvalidArgumentError("'" + PathOf("parts") + "' is not a regular file"));
}

TEST(FileFormatFromLocationTest, ByExtension) {
  EXPECT_EQ(*FormatFromLocation("/d/a.csv"), Format::kCsv);
  EXPECT_EQ(*FormatFromLocation("/d/a.CSV.gz"), Format::kCsv);
  EXPECT_EQ(*FormatFromLocation("/d/a.tsv"), Format::kCsv);
  EXPECT_EQ(*FormatFromLocation("/d/*.parquet"), Format::kParquet);
  EXPECT_EQ(FormatFromLocation("/d/a.xlsx").status(),
            absl::InvalidArgumentError(
                "unsupported file extension '.xlsx' in '/d/a.xlsx': use "
                ".csv, .tsv, .jsonl or .ndjson (each also with .gz or .zst), or .parquet"));
  EXPECT_EQ(FormatFromLocation("/d.x/data").status(),
            absl::InvalidArgumentError("'/d.x/data' has no file extension: use .csv, .tsv, .jsonl "
                                       "or .ndjson (each also with .gz or .zst), or .parquet"));
}

TEST_F(FileSourceTest, InferCsvSchema) {
  absl::StatusOr<std::vector<catalog::Column>> schema =
      InferSchema(Format::kCsv, PathOf("retail.csv"));
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_THAT(*schema,
              ElementsAre(IsColumn("household_id", "BIGINT"), IsColumn("hashed_email", "VARCHAR"),
                          IsColumn("age", "BIGINT"), IsColumn("spend", "DOUBLE")));
}

TEST_F(FileSourceTest, InferTsvAndGlobSchema) {
  Write("people.tsv", "name\tage\nann\t3\n");
  EXPECT_THAT(*InferSchema(Format::kCsv, PathOf("people.tsv")),
              ElementsAre(IsColumn("name", "VARCHAR"), IsColumn("age", "BIGINT")));
  Write("parts/a.csv", "k,v\n1,x\n");
  Write("parts/b.csv", "k,v\n2,y\n");
  EXPECT_THAT(*InferSchema(Format::kCsv, PathOf("parts/*.csv")),
              ElementsAre(IsColumn("k", "BIGINT"), IsColumn("v", "VARCHAR")));
}

TEST_F(FileSourceTest, InferParquetSchema) {
  WriteParquet("sales.parquet",
               "SELECT 1::INTEGER AS id, 'x' AS tier, 2.50::DECIMAL(18,2) AS amount, "
               "{'id': 1} AS nested");
  absl::StatusOr<std::vector<catalog::Column>> schema =
      InferSchema(Format::kParquet, PathOf("sales.parquet"));
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_THAT(*schema, ElementsAre(IsColumn("id", "INTEGER"), IsColumn("tier", "VARCHAR"),
                                   IsColumn("amount", "DECIMAL(18,2)"),
                                   IsColumn("nested", "STRUCT(id INTEGER)")));
}

TEST_F(FileSourceTest, MalformedCsvIsRejectedWithoutQuotingIt) {
  Write("quote.csv", "a,b\n1,2\n\"secret-value,4\n5,6\n");
  absl::Status status = InferSchema(Format::kCsv, PathOf("quote.csv")).status();
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "cannot read '" + PathOf("quote.csv") +
                        "' as CSV: it is not comma-separated text with a header (a quote is not "
                        "closed, or rows have different numbers of columns)"));
  EXPECT_THAT(status.message(), Not(HasSubstr("secret")));

  // A row wider than the header, within the sniffed sample: DuckDB must not take it as the header.
  Write("wide.csv", "a,b\n1,2\nsecret-value,4,5\n");
  status = InferSchema(Format::kCsv, PathOf("wide.csv")).status();
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "cannot read '" + PathOf("wide.csv") +
                        "' as CSV: it is not comma-separated text with a header (a quote is not "
                        "closed, or rows have different numbers of columns)"));

  std::string late = "a,b\n";
  for (int i = 0; i < 30000; ++i) late += std::to_string(i) + "," + std::to_string(i) + "\n";
  late += "secret-value,1,2\n";
  Write("late.csv", late);
  status = InferSchema(Format::kCsv, PathOf("late.csv")).status();
  EXPECT_EQ(status, absl::InvalidArgumentError(
                        "cannot read '" + PathOf("late.csv") +
                        "' as CSV: line 30002 has a different number of columns than the header"));
}

TEST_F(FileSourceTest, EmptyMissingAndDuplicateColumns) {
  Write("empty.csv", "");
  EXPECT_EQ(InferSchema(Format::kCsv, PathOf("empty.csv")).status(),
            absl::InvalidArgumentError("'" + PathOf("empty.csv") + "' is empty"));
  EXPECT_EQ(InferSchema(Format::kCsv, PathOf("gone.csv")).status(),
            absl::NotFoundError("file '" + PathOf("gone.csv") + "' not found"));
  Write("dup.csv", "id,Age,age\n1,2,3\n");
  EXPECT_EQ(InferSchema(Format::kCsv, PathOf("dup.csv")).status(),
            absl::InvalidArgumentError("cannot read '" + PathOf("dup.csv") +
                                       "' as CSV: column 'age' appears more than once (names are "
                                       "compared ignoring case)"));
  // DuckDB cannot write a Parquet file with duplicate names (it renames them), so there is no
  // such case here; a nested column exercises the Parquet name reading instead (InferParquet*).
}

TEST_F(FileSourceTest, NotAParquetFile) {
  Write("fake.parquet", "household_id,secret\n1,2\n");
  absl::Status status = InferSchema(Format::kParquet, PathOf("fake.parquet")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot read '" + PathOf("fake.parquet") + "' as Parquet: "));
  EXPECT_THAT(status.message(), Not(HasSubstr("secret")));
}

TEST_F(FileSourceTest, ViewExposesOnlyAllowedColumns) {
  catalog::Table table = RetailTable();
  engine::SourceView view = View(table);
  EXPECT_EQ(view.name, "retail");
  EXPECT_EQ(view.select_sql,
            "SELECT \"household_id\", \"age\", \"spend\", gen_random_uuid() AS "
            "\"__parley_row_id\" FROM read_csv(['" +
                PathOf("retail.csv") +
                "'], header=true, skip=0, auto_detect=true, delim=',', "
                "quote='\"', escape='\"')");
  EXPECT_THAT(view.allowed_paths, ElementsAre(PathOf("retail.csv")));
  EXPECT_TRUE(view.allowed_directories.empty());

  absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session =
      engine::duckdb::Session::Open({view}, {});
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(CheckPinnedSchema(**session, table).ok());
  absl::StatusOr<engine::ResultTable> result =
      (*session)->Run("SELECT count(*), sum(age), sum(spend) FROM retail");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->rows[0], ElementsAre("3", "112", "30.75"));
  EXPECT_EQ((*session)->Run("SELECT hashed_email FROM retail").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FileSourceTest, GlobViewReadsExactlyTheFilesItMatched) {
  WriteParquet("parts/a.parquet", "SELECT 1 AS k");
  WriteParquet("parts/b.parquet", "SELECT 2 AS k");
  catalog::Table table;
  table.name = "parts";
  SetSource(table, Format::kParquet, PathOf("parts/*.parquet"));
  table.source_schema = {{"k", "INTEGER"}};
  table.allowed_columns = {"k"};
  engine::SourceView view = View(table);
  // DuckDB is handed the files, never the folder or the pattern.
  EXPECT_TRUE(view.allowed_directories.empty());
  EXPECT_THAT(view.allowed_paths,
              ElementsAre(PathOf("parts/a.parquet"), PathOf("parts/b.parquet")));
  absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session =
      engine::duckdb::Session::Open({view}, {});
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(CheckPinnedSchema(**session, table).ok());
  absl::StatusOr<engine::ResultTable> result = (*session)->Run("SELECT sum(k) FROM parts");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->rows[0], ElementsAre("3"));
}

// The hidden row identity (base/row_identity.h): one value per row of a scan, the same value on
// every copy a join makes of the row, for CSV, Parquet, globs of several files, and Parquet files
// whose own columns hide the reader's row numbers.
TEST_F(FileSourceTest, ViewsCarryAHiddenRowIdentity) {
  Write("dup.csv", "k,v\n1,10\n1,10\n2,20\n");
  catalog::Table csv;
  csv.name = "csv_rows";
  SetSource(csv, Format::kCsv, PathOf("dup.csv"));
  csv.source_schema = {{"k", "BIGINT"}, {"v", "BIGINT"}};
  csv.allowed_columns = {"k", "v"};

  WriteParquet("parts/a.parquet", "SELECT 1 AS k, 10 AS v UNION ALL SELECT 1, 10");
  WriteParquet("parts/b.parquet", "SELECT 1 AS k, 10 AS v UNION ALL SELECT 2, 20");
  catalog::Table parquet = csv;
  parquet.name = "parquet_rows";
  SetSource(parquet, Format::kParquet, PathOf("parts/*.parquet"));
  parquet.source_schema = {{"k", "INTEGER"}, {"v", "INTEGER"}};

  catalog::Table single = parquet;  // one file: numbered by its row number alone
  single.name = "single_rows";
  SetSource(single, Format::kParquet, PathOf("parts/a.parquet"));

  WriteParquet("shadow.parquet", "SELECT 0 AS file_row_number, 1 AS k, 10 AS v FROM range(2)");
  catalog::Table shadow = csv;
  shadow.name = "shadow_rows";
  SetSource(shadow, Format::kParquet, PathOf("shadow.parquet"));
  shadow.source_schema = {{"file_row_number", "INTEGER"}, {"k", "INTEGER"}, {"v", "INTEGER"}};
  shadow.allowed_columns = {"k", "v"};

  for (const catalog::Table* table : {&csv, &parquet, &single, &shadow}) {
    SCOPED_TRACE(table->name);
    absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session =
        engine::duckdb::Session::Open({View(*table)}, {});
    ASSERT_TRUE(session.ok()) << session.status();
    EXPECT_TRUE(CheckPinnedSchema(**session, *table).ok());
    // Identical rows keep distinct identities; a row joined to three rows keeps one.
    absl::StatusOr<engine::ResultTable> result = (*session)->Run(absl::StrCat(
        "SELECT count(*), count(DISTINCT __parley_row_id) FROM ", table->name,
        " AS a JOIN (SELECT 1 AS k UNION ALL SELECT 1 UNION ALL SELECT 1) AS b ON a.k = b.k"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_THAT(result->rows[0],
                ElementsAre(table == &parquet ? "9" : "6", table == &parquet ? "3" : "2"));
  }
}

TEST_F(FileSourceTest, ReservedColumnNamesCannotBeRegistered) {
  Write("reserved.csv", "k,__Parley_row_id\n1,2\n");
  EXPECT_EQ(InferSchema(Format::kCsv, PathOf("reserved.csv")).status(),
            absl::InvalidArgumentError(absl::StrCat(
                "cannot read '", PathOf("reserved.csv"),
                "' as CSV: column '__Parley_row_id' starts with '__parley', which Parley "
                "reserves for its own use")));
  WriteParquet("reserved.parquet", "SELECT 1 AS k, 2 AS __parley_anything");
  EXPECT_EQ(InferSchema(Format::kParquet, PathOf("reserved.parquet")).status(),
            absl::InvalidArgumentError(absl::StrCat(
                "cannot read '", PathOf("reserved.parquet"),
                "' as Parquet: column '__parley_anything' starts with '__parley', which Parley "
                "reserves for its own use")));
}

// Found in review: DuckDB's own glob is recursive on ** and matches hidden files, and it ran after
// Parley's checks. Now Parley resolves the files (glob(3): one folder, no hidden files, links
// resolved to where they point) and DuckDB reads only those.
TEST_F(FileSourceTest, SourcePathsAreWhatGlob3MatchesWithLinksResolved) {
  for (const char* folder : {"mine/deep", "elsewhere"}) {
    std::filesystem::create_directories(PathOf(folder));
  }
  WriteParquet("mine/a.parquet", "SELECT 1 AS k");
  WriteParquet("mine/deep/b.parquet", "SELECT 2 AS k");
  WriteParquet("mine/.hidden.parquet", "SELECT 3 AS k");
  WriteParquet("elsewhere/c.parquet", "SELECT 4 AS k");
  std::filesystem::create_symlink(PathOf("elsewhere/c.parquet"), PathOf("mine/link.parquet"));
  auto star = SourcePaths(PathOf("mine/*.parquet"));
  ASSERT_TRUE(star.ok()) << star.status();
  EXPECT_THAT(*star, ElementsAre(PathOf("mine/a.parquet"), PathOf("elsewhere/c.parquet")));
  auto double_star = SourcePaths(PathOf("mine/**/*.parquet"));
  ASSERT_TRUE(double_star.ok()) << double_star.status();
  EXPECT_THAT(*double_star, ElementsAre(PathOf("mine/deep/b.parquet")));
  EXPECT_EQ(SourcePaths(PathOf("mine/*.csv")).status().message(),
            "no file matches '" + PathOf("mine/*.csv") + "'");
}

TEST_F(FileSourceTest, ChangedTypeFailsThePinnedSchemaCheck) {
  catalog::Table table = RetailTable();
  Write("retail.csv", "household_id,hashed_email,age,spend\n1,h1@x,thirty,10.5\n");
  absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session =
      engine::duckdb::Session::Open({View(table)}, {});
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(CheckPinnedSchema(**session, table),
            absl::FailedPreconditionError("table 'retail' no longer matches its pinned schema: "
                                          "column 'age' was BIGINT, is now VARCHAR"));
}

TEST_F(FileSourceTest, MissingColumnIsReported) {
  catalog::Table table = RetailTable();
  // A column that disappeared from the file stops the view from being created.
  Write("retail.csv", "household_id,hashed_email,spend\n1,h1@x,10.5\n");
  EXPECT_EQ(engine::duckdb::Session::Open({View(table)}, {}).status(),
            absl::InvalidArgumentError("cannot create view 'retail': binder error"));
  // A view that exists but lacks the column (e.g. built by an older connector version).
  absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session = engine::duckdb::Session::Open(
      {{"retail", "SELECT 1::BIGINT AS household_id, 2.0::DOUBLE AS spend", {}, {}}}, {});
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(CheckPinnedSchema(**session, table),
            absl::FailedPreconditionError(
                "table 'retail' no longer matches its pinned schema: column 'age' is missing"));
}

}  // namespace
}  // namespace parley::connectors::files
