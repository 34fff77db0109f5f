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
            "invalid files source description at /format: expected \"csv\" or \"parquet\""},
           {R"({"path":"/a.csv","format":["csv"]})",
            "invalid files source description at /format: expected \"csv\" or \"parquet\""},
           {R"({"path":"/a.csv","format":"csv","delimiter":";"})",
            "invalid files source description at /delimiter: unknown field (a files source has "
            "\"path\" and \"format\")"},
           {R"({"path":"/a.csv","format":"csv","a/b\n":1})",
            "invalid files source description at /a~1b\\n: unknown field (a files source has "
            "\"path\" and \"format\")"},
           {R"({"path":"/a.csv"})", "invalid files source description at /format: missing"},
       }) {
    SCOPED_TRACE(c.description);
    EXPECT_EQ(ParseDescription(c.description).status(), absl::InvalidArgumentError(c.message));
  }
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
  EXPECT_EQ(
      connector_.Validate(R"({"path": ")" + PathOf("retail.txt") + R"("})").status(),
      absl::InvalidArgumentError("unsupported file extension '.txt' in '" + PathOf("retail.txt") +
                                 "': use .csv, .csv.gz, .tsv or .parquet"));
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
  absl::StatusOr<exec::SourceView> view = connector_.ViewFor(table, *files);
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
