// The layers of src/ (src/layers.txt): every `#include "folder/..."` of a file in src/ names a
// folder the file's own folder may use, the table has no cycle, and every folder of src/ is in
// it. CMake enforces the same direction at compile time for what a target links
// (cmake/layers.cmake); this test also catches an include that a PUBLIC link makes reachable
// although the table forbids it, and names the file and line.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// folder -> the folders it may include.
using Table = std::map<std::string, std::set<std::string>>;

// Reads "folder: a b c" lines; '#' starts a comment. Problems (a malformed line, a folder named
// twice or an allowed folder absent from the table) go to `problems`.
Table ReadTable(const fs::path& path, std::vector<std::string>& problems) {
  Table table;
  std::ifstream in(path);
  if (!in) {
    problems.push_back(absl::StrCat("cannot read ", path.string()));
    return table;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string text(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (text.empty()) continue;
    size_t colon = text.find(':');
    if (colon == std::string::npos) {
      problems.push_back(absl::StrCat(path.filename().string(), ":", number, ": no ':'"));
      continue;
    }
    std::string folder(absl::StripAsciiWhitespace(text.substr(0, colon)));
    if (table.count(folder) > 0) {
      problems.push_back(
          absl::StrCat(path.filename().string(), ":", number, ": ", folder, " is listed twice"));
    }
    std::set<std::string>& allowed = table[folder];
    for (absl::string_view used :
         absl::StrSplit(text.substr(colon + 1), ' ', absl::SkipWhitespace())) {
      allowed.emplace(used);
    }
  }
  for (const auto& [folder, allowed] : table) {
    for (const std::string& used : allowed) {
      if (table.count(used) == 0) {
        problems.push_back(absl::StrCat(folder, " may use ", used, ", which has no line"));
      }
    }
  }
  return table;
}

// Every folder `folder` depends on, directly or through others.
std::set<std::string> DependenciesOf(const Table& table, const std::string& folder) {
  std::set<std::string> seen;
  std::function<void(const std::string&)> visit = [&](const std::string& from) {
    auto allowed = table.find(from);
    if (allowed == table.end()) return;
    for (const std::string& to : allowed->second) {
      if (seen.insert(to).second) visit(to);
    }
  };
  visit(folder);
  return seen;
}

// The problems of the tree under `src`: includes the table does not allow (file:line), folders
// missing from the table, cycles.
std::vector<std::string> CheckLayers(const fs::path& src) {
  std::vector<std::string> problems;
  Table table = ReadTable(src / "layers.txt", problems);
  for (const auto& [folder, allowed] : table) {
    if (DependenciesOf(table, folder).count(folder) > 0) {
      problems.push_back(absl::StrCat(folder, " depends on itself through the table (a cycle)"));
    }
  }
  std::set<std::string> folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(src)) {
    if (!entry.is_directory()) continue;
    std::string folder = entry.path().filename().string();
    folders.insert(folder);
    if (table.count(folder) == 0) {
      problems.push_back(absl::StrCat("src/", folder, " is not in layers.txt"));
    }
  }
  static const std::regex kInclude(R"(^\s*#\s*include\s*"([A-Za-z0-9_]+)/[^"]*")");
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(src)) {
    std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".h" || extension == ".cc")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    fs::path relative = fs::relative(file, src);
    std::string folder = relative.begin()->string();
    if (table.count(folder) == 0) continue;  // reported above
    bool is_test = absl::EndsWith(file.filename().string(), "_test.cc");
    std::ifstream in(file);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      std::smatch match;
      if (!std::regex_search(line, match, kInclude)) continue;
      std::string used = match[1].str();
      // Third-party headers (absl/, nlohmann/, gtest/ ...) are not layers.
      if (used == folder || folders.count(used) == 0) continue;
      bool allowed = table[folder].count(used) > 0;
      // A test may use any layer that does not depend on its own folder.
      if (!allowed && is_test && table.count(used) > 0) {
        allowed = DependenciesOf(table, used).count(folder) == 0;
      }
      if (!allowed) {
        std::string include(absl::StripAsciiWhitespace(line));
        problems.push_back(
            absl::StrCat("src/", relative.string(), ":", number, ": ", folder, " includes ", used,
                         " (", include, "); ", folder, " may include ",
                         table[folder].empty() ? "nothing" : absl::StrJoin(table[folder], ", "),
                         " (src/layers.txt)"));
      }
    }
  }
  return problems;
}

fs::path SourceDir() {
  const char* source = std::getenv("PARLEY_SOURCE_DIR");
  return fs::path(source != nullptr ? source : PARLEY_SOURCE_DIR_DEFAULT);
}

TEST(LayeringTest, EveryIncludeOfSrcFollowsTheTable) {
  std::vector<std::string> problems = CheckLayers(SourceDir() / "src");
  EXPECT_THAT(problems, IsEmpty()) << absl::StrJoin(problems, "\n");
}

// The service facade (service.h, service.cc) is a table of use cases: it holds no SQL and parses
// no JSON. Both belong to the layers below (catalog, query) or to the use-case files.
TEST(LayeringTest, TheServiceFacadeHoldsNoSqlAndParsesNoJson) {
  static const std::regex kForbidden(
      R"(nlohmann|json::parse|\b(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|COPY)\s)");
  for (const char* file : {"src/service/service.h", "src/service/service.cc"}) {
    std::ifstream in(SourceDir() / file);
    ASSERT_TRUE(in.good()) << file;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      EXPECT_FALSE(std::regex_search(line, kForbidden)) << file << ":" << number << ": " << line;
    }
  }
}

// The checker itself, on a small tree: it must name the file and line of an upward include and
// of a sideways one, accept what the table allows, and let a test use a layer above nothing of
// its own.
class LayeringCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            absl::StrCat("parley_layering_", ::testing::UnitTest::GetInstance()->random_seed(), "_",
                         getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << text;
  }

  fs::path root_;
};

TEST_F(LayeringCheckerTest, NamesFileAndLineOfAForbiddenInclude) {
  Write("layers.txt", "base:\nsql: base\nengine: base\ncli: base\n");
  Write("base/status.h", "#pragma once\n");
  Write("sql/ir.h", "#pragma once\n#include \"base/status.h\"\n");
  Write("engine/engine.h", "#pragma once\n#include <string>\n#include \"absl/status/status.h\"\n");
  Write("cli/main.cc", "#include \"base/status.h\"\n\n#include \"engine/engine.h\"\n");
  Write("sql/binder.cc", "#include \"sql/ir.h\"\n  #  include \"engine/engine.h\"\n");
  // A test of sql may use engine (engine does not depend on sql); a test of base may not use sql
  // (sql depends on base).
  Write("sql/binder_test.cc", "#include \"engine/engine.h\"\n");
  Write("base/status_test.cc", "#include \"sql/ir.h\"\n");

  EXPECT_THAT(CheckLayers(root_),
              ElementsAre("src/base/status_test.cc:1: base includes sql (#include \"sql/ir.h\"); "
                          "base may include nothing (src/layers.txt)",
                          "src/cli/main.cc:3: cli includes engine (#include \"engine/engine.h\"); "
                          "cli may include base (src/layers.txt)",
                          "src/sql/binder.cc:2: sql includes engine (#  include "
                          "\"engine/engine.h\"); sql may include base (src/layers.txt)"));
}

TEST_F(LayeringCheckerTest, ReportsCyclesAndFoldersMissingFromTheTable) {
  Write("layers.txt", "base:\nsql: render base\nrender: sql\n");
  Write("base/status.h", "#pragma once\n");
  Write("jobs/runner.h", "#pragma once\n");

  EXPECT_THAT(CheckLayers(root_),
              ElementsAre("render depends on itself through the table (a cycle)",
                          "sql depends on itself through the table (a cycle)",
                          "src/jobs is not in layers.txt"));
}

}  // namespace
}  // namespace parley
