// The README's tour, run verbatim (issue 9): the first ```sh block after "## A one-minute tour" in
// README.md is extracted and run by bash against the real binary, on demo data generated the way
// `make demo` does (smaller). Every `parley` command of the block must succeed, except the one
// the README says is refused (exit code 3). So the README cannot rot: changing a command or a
// flag without updating it fails here.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::Outcome;
using cli_test::ReadText;
using cli_test::Spawn;
using cli_test::WriteText;
using ::testing::HasSubstr;

fs::path SourceDir() {
  const char* dir = std::getenv("PARLEY_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : PARLEY_SOURCE_DIR_DEFAULT;
}

// The first shell block after the heading `heading`, as written.
std::string ShellBlock(const std::string& readme, const std::string& heading) {
  size_t section = readme.find("\n" + heading + "\n");
  if (section == std::string::npos) return "";
  size_t start = readme.find("\n```sh\n", section);
  if (start == std::string::npos) return "";
  start += 7;
  size_t end = readme.find("\n```\n", start);
  return end == std::string::npos ? "" : readme.substr(start, end - start + 1);
}

// The shell block of the tour, as written.
std::string TourBlock(const std::string& readme) {
  size_t section = readme.find("\n## A one-minute tour\n");
  if (section == std::string::npos) return "";
  size_t start = readme.find("\n```sh\n", section);
  if (start == std::string::npos) return "";
  start += 7;
  size_t end = readme.find("\n```\n", start);
  return end == std::string::npos ? "" : readme.substr(start, end - start + 1);
}

class ReadmeTourTest : public CliTest {};

TEST_F(ReadmeTourTest, TheTourRunsAsWritten) {
  std::string block = TourBlock(ReadText(SourceDir() / "README.md"));
  ASSERT_FALSE(block.empty()) << "no ```sh block after '## A one-minute tour' in README.md";
  ASSERT_THAT(block, HasSubstr("alias parley=$PWD/build/release/src/cli/parley\n"));

  // The working directory of the tour: a checkout whose demo has been run.
  fs::path work = dir_ / "checkout";
  fs::create_directories(work);
  Outcome demo = Spawn({"--home", (work / "build" / "demo-home").string(), "demo", "--households",
                        "3000", "--supplier-members", "2500", "--shared", "2000", "--fresh"},
                       scratch_);
  ASSERT_EQ(demo.exit_code, 0) << demo;

  // `parley` is a function that logs each command's exit code (the alias line of the block is
  // inert: bash expands no aliases in scripts).
  fs::path log = dir_ / "exits.log";
  std::string script =
      absl::StrCat("cd '", work.string(), "'\n", "parley() { '", cli_test::ParleyBinary(),
                   "' \"$@\"; local rc=$?; printf '%s\\t%s\\n' \"$rc\" \"$*\" | tr '\\n' ' ' >> '",
                   log.string(), "'; echo >> '", log.string(), "'; return $rc; }\n", block);
  WriteText(dir_ / "tour.sh", script);
  std::string out = (dir_ / "tour.out").string();
  std::string command = absl::StrCat("env -u PARLEY_HOME -u PARLEY_AS bash '",
                                     (dir_ / "tour.sh").string(), "' > '", out, "' 2>&1");
  std::system(command.c_str());
  std::string output = ReadText(out);

  std::vector<std::string> lines = absl::StrSplit(ReadText(log), '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 20u) << output;
  int refused = 0;
  for (const std::string& line : lines) {
    std::string code = line.substr(0, line.find('\t'));
    if (absl::StrContains(line, "GROUP BY 1")) {
      EXPECT_EQ(code, "3") << line;
      ++refused;
    } else {
      EXPECT_EQ(code, "0") << line << "\n--- output ---\n" << output;
    }
  }
  EXPECT_EQ(refused, 1);
  // What the tour says it shows.
  EXPECT_THAT(output, HasSubstr("verdict: allowed\n"));
  EXPECT_THAT(output, HasSubstr("query rejected: "));
  EXPECT_THAT(output, HasSubstr("approved template "));
  EXPECT_THAT(output, HasSubstr("expected head: the current head\n"));
}

// "Two organisations, two machines", run as written: a real server on loopback, two
// organisations with their own config directories, an upload, a rule, a template, a sealed
// result, the audit verified on each client, a change request and a token rotation. Every
// command succeeds except the two the README says do not: the retailer reading a result it does
// not receive (exit 4) and a change request that waits for approval (exit 5).
TEST_F(ReadmeTourTest, TheTwoOrganisationsSectionRunsAsWritten) {
  std::string block = ShellBlock(ReadText(SourceDir() / "README.md"),
                                 "## Two organisations, two machines: `parley serve`");
  ASSERT_FALSE(block.empty()) << "no ```sh block after the server section's heading";
  fs::path log = dir_ / "exits.log";
  // The block's `cd "$(mktemp -d)"` lands under this test's directory.
  std::string script = absl::StrCat(
      "export TMPDIR='", dir_.string(), "'\n", "parley() { '", cli_test::ParleyBinary(),
      "' \"$@\"; local rc=$?; printf '%s\\t%s\\n' \"$rc\" \"$*\" | tr '\\n' ' ' >> '", log.string(),
      "'; echo >> '", log.string(), "'; return $rc; }\n", block);
  WriteText(dir_ / "serve.sh", script);
  std::string out = (dir_ / "serve.out").string();
  std::string command = absl::StrCat(
      "env -u PARLEY_HOME -u PARLEY_AS -u PARLEY_SERVER -u PARLEY_TOKEN_FILE "
      "-u PARLEY_CONFIG_DIR timeout 300 bash '",
      (dir_ / "serve.sh").string(), "' > '", out, "' 2>&1");
  std::system(command.c_str());
  std::string output = ReadText(out);
  std::vector<std::string> lines = absl::StrSplit(ReadText(log), '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 20u) << output;
  int expected_failures = 0;
  for (const std::string& line : lines) {
    std::string code = line.substr(0, line.find('\t'));
    if (absl::StrContains(line, "query result -c campaign 1")) {
      EXPECT_EQ(code, "4") << line;
      ++expected_failures;
    } else if (absl::StrContains(line, "--payer supplier")) {
      EXPECT_EQ(code, "5") << line;
      ++expected_failures;
    } else {
      EXPECT_EQ(code, "0") << line << "\n--- output ---\n" << output;
    }
  }
  EXPECT_EQ(expected_failures, 2);
  // What the section says it shows: the uploaded table, the opened sealed result, two clients'
  // own checks of the audit chain, the change committed.
  EXPECT_THAT(output, HasSubstr("added table sales"));
  EXPECT_THAT(output, HasSubstr("uploaded sales.csv ("));
  EXPECT_THAT(output, HasSubstr("are sealed to the public key"));
  EXPECT_THAT(output, HasSubstr("east"));
  EXPECT_THAT(output, HasSubstr("17"));
  EXPECT_THAT(output, HasSubstr("is not a receiver of query 1"));
  EXPECT_THAT(output, HasSubstr("checked on this machine"));
  EXPECT_THAT(output, HasSubstr("committed"));
}

// The README's links stay inside the repository and lead to files that exist.
TEST(ReadmeLinksTest, EveryLinkIsAFileOfTheRepository) {
  std::string readme = ReadText(SourceDir() / "README.md");
  int links = 0;
  for (size_t at = readme.find("]("); at != std::string::npos; at = readme.find("](", at + 2)) {
    size_t end = readme.find(')', at);
    ASSERT_NE(end, std::string::npos);
    std::string target = readme.substr(at + 2, end - at - 2);
    target = target.substr(0, target.find('#'));
    if (target.empty()) continue;
    ++links;
    EXPECT_FALSE(absl::StrContains(target, "://")) << target;
    EXPECT_FALSE(absl::StartsWith(target, "/") || absl::StrContains(target, "..")) << target;
    EXPECT_TRUE(fs::exists(SourceDir() / target)) << target;
  }
  EXPECT_GE(links, 5);
  EXPECT_FALSE(absl::StrContains(readme, "../shared"));
}

}  // namespace
}  // namespace parley
