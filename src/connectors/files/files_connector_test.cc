#include "connectors/files/files_connector.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::connectors::files {
namespace {

using ::testing::ElementsAre;

class FilesConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_files_connector_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "retail.csv") << "household_id,region\n1,north\n2,south\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  FilesConnector connector_;
};

// Each problem names where in the description it is, as a JSON pointer.
TEST(FileDescriptionTest, MalformedDescriptionsNameTheJsonPath) {
  struct Case {
    const char* description;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"",
            "invalid files source description at /: expected a JSON object with \"path\" "
            "and \"format\""},
           {"[\"/data/a.csv\"]",
            "invalid files source description at /: expected a JSON object "
            "with \"path\" and \"format\""},
           {R"({"format":"csv"})", "invalid files source description at /path: missing"},
           {R"({"path":7,"format":"csv"})",
            "invalid files source description at /path: expected a non-empty string"},
           {R"({"path":"","format":"csv"})",
            "invalid files source description at /path: expected a non-empty string"},
           {R"({"path":"/a.csv","format":"xlsx"})",
            "invalid files source description at /format: expected \"csv\", \"jsonl\" or "
            "\"parquet\""},
           {R"({"path":"/a.csv","format":["csv"]})",
            "invalid files source description at /format: expected \"csv\", \"jsonl\" or "
            "\"parquet\""},
           {R"({"path":"/a.parquet","format":"parquet","delimiter":";"})",
            "invalid files source description at /delimiter: not an option of parquet sources"},
           {R"({"path":"/a.jsonl","format":"jsonl","quote":"'"})",
            "invalid files source description at /quote: not an option of jsonl sources"},
           {R"({"path":"/a.csv","format":"csv","delimiter":"\n"})",
            "invalid files source description at /delimiter: expected 1 to 4 characters, no line "
            "break"},
           {R"({"path":"/a.csv","format":"csv","header":"yes"})",
            "invalid files source description at /header: expected true or false"},
           {R"({"path":"/a.csv","format":"csv","decimal_separator":";"})",
            "invalid files source description at /decimal_separator: expected \",\" or \".\""},
           {R"({"path":"/a.csv","format":"csv","types":{"a":"INT); DROP"}})",
            "invalid files source description at /types: expected a column name and a type name "
            "such as BIGINT or DECIMAL(18,2)"},
           {R"({"path":"/a.csv","format":"csv","columns":[{"name":"a"}]})",
            "invalid files source description at /columns/0: expected {\"name\", \"type\"}"},
           {R"({"path":"/a.csv","format":"csv","a/b\n":1})",
            "invalid files source description at /a~1b\\n: unknown field (a files source has "
            "\"path\", \"format\", \"delimiter\", \"quote\", \"escape\", \"header\", "
            "\"null_strings\", \"decimal_separator\", \"thousands_separator\", \"date_format\", "
            "\"timestamp_format\", \"types\" and \"columns\")"},
           {R"({"path":"/a.csv","format":"csv","thousands_separator":"."})",
            "invalid files source description at /thousands_separator: the same as the decimal "
            "separator"},
           {R"({"path":"/a.csv","format":"csv","thousands_separator":"x"})",
            "invalid files source description at /thousands_separator: expected \",\", \".\", "
            "\" \" or \"'\""},
           {R"({"path":"/a.csv"})", "invalid files source description at /format: missing"},
       }) {
    SCOPED_TRACE(c.description);
    EXPECT_EQ(ParseDescription(c.description).status(), absl::InvalidArgumentError(c.message));
  }
}

// Pin reads the source once: the dialect, the formats and the types go into the description, and
// the view then reads the file with exactly those (auto_detect=false), sniffing nothing.
TEST_F(FilesConnectorTest, PinStoresTheDialectAndTypesAndTheViewUsesThem) {
  std::ofstream(dir_ / "export.csv") << "id;amount;day\n1;NULL;13/02/2024\n2;7;\n";
  absl::StatusOr<std::string> valid =
      connector_.Validate(R"({"path": ")" + PathOf("export.csv") + R"(", "types": {"ID": "int"}})");
  ASSERT_TRUE(valid.ok()) << valid.status();
  absl::StatusOr<std::string> pinned = connector_.Pin(*valid);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(*pinned,
            R"({"columns":[{"name":"id","type":"INTEGER"},{"name":"amount","type":"BIGINT"},)"
            R"({"name":"day","type":"DATE"}],"date_format":"%d/%m/%Y","delimiter":";",)"
            R"("format":"csv","path":")" +
                PathOf("export.csv") + R"("})");
  // Pinning is idempotent, and the pinned description's schema is its columns.
  EXPECT_EQ(*connector_.Pin(*pinned), *pinned);
  absl::StatusOr<std::vector<catalog::Column>> schema = connector_.InferSchema(*pinned);
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ(schema->size(), 3u);
  EXPECT_EQ((*schema)[0].type, "INTEGER");

  catalog::Table table;
  table.name = "t";
  table.source_kind = "files";
  table.source_json = *pinned;
  table.source_schema = *schema;
  table.allowed_columns = {"id", "day"};
  absl::StatusOr<engine::SourceView> view = connector_.ViewFor(table, {PathOf("export.csv")});
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(view->select_sql, ::testing::HasSubstr("auto_detect=false"));
  EXPECT_THAT(view->select_sql, ::testing::HasSubstr("delim=';'"));
  EXPECT_THAT(view->select_sql, ::testing::HasSubstr("dateformat='%d/%m/%Y'"));

  absl::StatusOr<SourcePreview> preview = connector_.Preview(*pinned, 1);
  ASSERT_TRUE(preview.ok()) << preview.status();
  ASSERT_EQ(preview->rows.size(), 1u);
  EXPECT_EQ(preview->rows[0][0], "1");
  EXPECT_EQ(preview->rows[0][1], std::nullopt);
  EXPECT_EQ(preview->rows[0][2], "2024-02-13");

  // A column the owner typed that the file does not have, and a type DuckDB does not know.
  EXPECT_EQ(connector_
                .Pin(R"({"format":"csv","path":")" + PathOf("export.csv") +
                     R"(","types":{"nope":"INT"}})")
                .status(),
            absl::InvalidArgumentError("cannot read '" + PathOf("export.csv") +
                                       "' as CSV: --types names column 'nope', which the source "
                                       "does not have"));
  EXPECT_EQ(connector_
                .Pin(R"({"format":"csv","path":")" + PathOf("export.csv") +
                     R"(","types":{"id":"WIDGET"}})")
                .status(),
            absl::InvalidArgumentError("cannot read '" + PathOf("export.csv") +
                                       "' as CSV: a type given with --types is not a type DuckDB "
                                       "knows"));
}

TEST_F(FilesConnectorTest, ValidateResolvesThePathAndTheFormat) {
  std::string relative = std::filesystem::relative(dir_ / "retail.csv").string();
  absl::StatusOr<std::string> valid = connector_.Validate(R"({"path": ")" + relative + R"("})");
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(*valid, R"({"format":"csv","path":")" + PathOf("retail.csv") + R"("})");
  // A format given wins over the extension (the file is then read as Parquet and fails later).
  EXPECT_EQ(
      *connector_.Validate(R"({"path": ")" + PathOf("retail.csv") + R"(", "format": "parquet"})"),
      R"({"format":"parquet","path":")" + PathOf("retail.csv") + R"("})");
  EXPECT_EQ(connector_.Validate(R"({"path": ")" + PathOf("gone.csv") + R"("})").status(),
            absl::NotFoundError("file '" + PathOf("gone.csv") + "' not found"));
  EXPECT_EQ(connector_.Validate(R"({"path": ")" + PathOf("retail.txt") + R"("})").status(),
            absl::InvalidArgumentError(
                "unsupported file extension '.txt' in '" + PathOf("retail.txt") +
                "': use .csv, .tsv, .jsonl or .ndjson (each also with .gz or .zst), or .parquet"));
}

TEST_F(FilesConnectorTest, SchemaFilesViewAndSummaryFollowTheDescription) {
  std::string description = DescriptionText({Format::kCsv, PathOf("*.csv")});
  absl::StatusOr<std::vector<catalog::Column>> schema = connector_.InferSchema(description);
  ASSERT_TRUE(schema.ok()) << schema.status();
  ASSERT_EQ(schema->size(), 2u);
  EXPECT_EQ((*schema)[1].name, "region");
  EXPECT_EQ((*schema)[1].type, "VARCHAR");
  absl::StatusOr<std::vector<std::string>> files = connector_.ResolveFiles(description);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(*files, ElementsAre(PathOf("retail.csv")));

  catalog::Table table;
  table.name = "retail";
  table.source_kind = "files";
  table.source_json = description;
  table.source_schema = *schema;
  table.allowed_columns = {"region"};
  absl::StatusOr<engine::SourceView> view = connector_.ViewFor(table, *files);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_THAT(view->allowed_paths, ElementsAre(PathOf("retail.csv")));
  EXPECT_EQ(view->select_sql.rfind("SELECT \"region\", gen_random_uuid() AS", 0), 0u)
      << view->select_sql;

  SourceSummary summary = connector_.Summarize(description);
  EXPECT_EQ(summary.format, "csv");
  EXPECT_EQ(summary.location, PathOf("*.csv"));
  // A stored description that no longer reads (edited outside Parley).
  table.source_json = R"({"path":"/x.csv"})";
  EXPECT_EQ(connector_.ViewFor(table, *files).status(),
            absl::InternalError("table 'retail': its stored source description does not read: "
                                "invalid files source description at /format: missing"));
  EXPECT_EQ(connector_.Summarize(table.source_json).format, "");
}

}  // namespace
}  // namespace parley::connectors::files
