#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/files/files_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::connectors {
namespace {

using ::testing::ElementsAre;

// A connector with nothing behind it, to register under another kind.
class FakeConnector : public Connector {
 public:
  explicit FakeConnector(std::string kind) : kind_(std::move(kind)) {}
  std::string_view kind() const override { return kind_; }
  absl::StatusOr<std::string> Validate(std::string_view) const override { return "{}"; }
  absl::StatusOr<std::vector<catalog::Column>> InferSchema(std::string_view) const override {
    return std::vector<catalog::Column>{};
  }
  absl::StatusOr<std::vector<std::string>> ResolveFiles(std::string_view) const override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<engine::SourceView> ViewFor(const catalog::Table&,
                                             const std::vector<std::string>&) const override {
    return engine::SourceView{};
  }
  SourceSummary Summarize(std::string_view) const override { return {}; }

 private:
  std::string kind_;
};

TEST(RegistryTest, BuiltInReadsFilesAndPostgres) {
  const Registry& registry = Registry::BuiltIn();
  EXPECT_THAT(registry.Kinds(), ElementsAre("files", "postgres"));
  absl::StatusOr<const Connector*> postgres = registry.Find("postgres");
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  EXPECT_EQ((*postgres)->kind(), "postgres");
  absl::StatusOr<const Connector*> files = registry.Find("files");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ((*files)->kind(), "files");
  EXPECT_EQ(&Registry::BuiltIn(), &registry);  // built once
}

TEST(RegistryTest, UnknownKindsAreRefusedNamingTheKnownOnes) {
  EXPECT_EQ(
      Registry::BuiltIn().Find("mysql").status(),
      absl::InvalidArgumentError("unknown source kind 'mysql': this parley reads files, postgres"));
  EXPECT_EQ(Registry::BuiltIn().Find("csv\n").status(),
            absl::InvalidArgumentError(
                "unknown source kind 'csv\\n': this parley reads files, postgres"));
  Registry empty;
  EXPECT_EQ(empty.Find("files").status(),
            absl::InvalidArgumentError("unknown source kind 'files': this parley reads "));
}

TEST(RegistryTest, AKindIsRegisteredOnce) {
  Registry registry;
  ASSERT_TRUE(registry.Add(std::make_unique<files::FilesConnector>()).ok());
  ASSERT_TRUE(registry.Add(std::make_unique<FakeConnector>("postgres")).ok());
  EXPECT_EQ(registry.Add(std::make_unique<FakeConnector>("files")),
            absl::AlreadyExistsError("a connector for source kind 'files' is already registered"));
  EXPECT_THAT(registry.Kinds(), ElementsAre("files", "postgres"));
  absl::StatusOr<const Connector*> postgres = registry.Find("postgres");
  ASSERT_TRUE(postgres.ok());
  EXPECT_EQ((*postgres)->kind(), "postgres");
}

}  // namespace
}  // namespace parley::connectors
