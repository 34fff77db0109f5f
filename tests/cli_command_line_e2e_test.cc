// The command line of the real binary (issue 9): --version, help, mistyped commands and flags
// named as such with the closest real one, exit codes, shell completion generated from the
// command table, and a golden `--help` for every command (tests/golden/help/; regenerate with
// PARLEY_UPDATE_GOLDEN=1 after reading the difference).
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitUsage;
using cli_test::Outcome;
using cli_test::ReadText;
using cli_test::Spawn;
using cli_test::WriteText;
using ::testing::HasSubstr;
using ::testing::Not;

class CliCommandLineTest : public CliTest {
 protected:
  // The binary without --home: what a user types.
  Outcome Bare(const std::vector<std::string>& arguments) { return Spawn(arguments, scratch_); }
};

fs::path SourceDir() {
  const char* dir = std::getenv("PARLEY_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : PARLEY_SOURCE_DIR_DEFAULT;
}

TEST_F(CliCommandLineTest, Version) {
  Outcome version = Bare({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "parley 0.1.0\n");
}

TEST_F(CliCommandLineTest, MistypedCommandsAreNamedWithTheClosestOne) {
  Outcome top = Bare({"qurey", "run"});
  EXPECT_EQ(top.exit_code, kExitUsage);
  EXPECT_EQ(top.err,
            "error: 'qurey' is not a command of 'parley'; did you mean 'query'? (see 'parley "
            "help')\n");
  Outcome inner = Bare({"--as", "x", "query", "rnu", "-c", "room"});
  EXPECT_EQ(inner.exit_code, kExitUsage);
  EXPECT_EQ(inner.err,
            "error: 'rnu' is not a command of 'parley query'; did you mean 'run'? (see 'parley "
            "help query')\n");
  Outcome far = Bare({"frobnicate"});
  EXPECT_EQ(far.err, "error: 'frobnicate' is not a command of 'parley' (see 'parley help')\n");
  // Nothing was created: a usage error runs nothing.
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(CliCommandLineTest, AnUnknownFlagIsNamedAsSuch) {
  // Before: "--collaboration is required", though the flag given was the problem.
  Outcome bogus = Parley({"--as", "x", "table", "list", "--bogus"});
  EXPECT_EQ(bogus.exit_code, kExitUsage);
  EXPECT_EQ(bogus.err,
            "error: unknown flag '--bogus' for 'parley table list' (see 'parley help table "
            "list')\n");
  Outcome typo = Parley({"--as", "x", "table", "add", "-c", "room", "t", "--colums", "a"});
  EXPECT_EQ(typo.exit_code, kExitUsage);
  EXPECT_EQ(typo.err,
            "error: unknown flag '--colums' for 'parley table add'; did you mean '--columns'? "
            "(see 'parley help table add')\n");
  // A flag's value that looks like a flag is a value, and global flags go anywhere.
  Outcome value = Parley({"query", "explain", "--as", "x", "-c", "room", "--sql", "-1"});
  EXPECT_THAT(value.err, Not(HasSubstr("unknown flag")));
  Outcome json = Parley({"--json", "--as", "x", "table", "list", "--bogus"});
  EXPECT_EQ(json.exit_code, kExitUsage);
  EXPECT_THAT(json.out, HasSubstr("\"message\": \"unknown flag '--bogus' for 'parley table list'"));
}

TEST_F(CliCommandLineTest, HelpForParleyAndForEachCommand) {
  Outcome help = Bare({"help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out, Bare({"--help"}).out);
  EXPECT_THAT(help.out,
              HasSubstr("Exit codes: 0 ok, 1 other errors, 2 usage (the command line cannot work "
                        "as given), 3 a query refused by the rules, 4 not permitted (the member "
                        "may not do this), 5 a change request proposed that waits for other "
                        "members' approval.\n"));
  Outcome run = Bare({"help", "query", "run"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, Bare({"query", "run", "--help"}).out);
  EXPECT_THAT(run.out, HasSubstr("Usage: parley query run [OPTIONS]\n"));
  Outcome unknown = Bare({"help", "query", "rnu"});
  EXPECT_EQ(unknown.exit_code, kExitUsage);
  EXPECT_EQ(unknown.err, "error: 'rnu' is not a command of 'parley query'; did you mean 'run'?\n");
}

TEST_F(CliCommandLineTest, NotPermittedExitsFour) {
  Parley({"--as", "owner", "collaboration", "create", "room"});
  Outcome stranger = Parley({"--as", "stranger", "table", "list", "-c", "room"});
  EXPECT_EQ(stranger.exit_code, cli_test::kExitNotPermitted);
  EXPECT_EQ(stranger.err, "error: 'stranger' is not a member of collaboration 'room'\n");
}

// Completion: the bash script, run by bash with the words typed so far.
TEST_F(CliCommandLineTest, BashCompletionFromTheCommandTable) {
  Outcome script = Bare({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script;
  fs::path file = dir_ / "parley.bash";
  WriteText(file, script.out);
  auto complete = [&](const std::string& words) {
    std::vector<std::string> parts = absl::StrSplit(words, ' ');
    std::string array;
    for (const std::string& part : parts) absl::StrAppend(&array, " '", part, "'");
    WriteText(dir_ / "run.sh", absl::StrCat("source '", file.string(), "'\nCOMP_WORDS=(", array,
                                            ")\nCOMP_CWORD=", parts.size() - 1,
                                            "\n_parley\necho \"${COMPREPLY[*]}\"\n"));
    std::string out_path = (scratch_ / "bash_out.txt").string();
    std::string command =
        absl::StrCat("bash '", (dir_ / "run.sh").string(), "' > '", out_path, "' 2>&1");
    EXPECT_EQ(std::system(command.c_str()), 0);
    std::string text = ReadText(out_path);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  };
  EXPECT_EQ(complete("parley que"), "query");
  EXPECT_EQ(complete("parley query r"), "run result");
  EXPECT_EQ(complete("parley --as x query run -c room --ou"), "--output");
  EXPECT_EQ(complete("parley template app"), "approve");
  EXPECT_EQ(complete("parley comp"), "completion");

  Outcome zsh = Bare({"completion", "zsh"});
  EXPECT_EQ(zsh.exit_code, 0);
  EXPECT_THAT(zsh.out, HasSubstr("autoload -U +X bashcompinit && bashcompinit\n"));
  EXPECT_THAT(zsh.out, HasSubstr("complete -F _parley parley\n"));
  Outcome fish = Bare({"completion", "fish"});
  EXPECT_EQ(fish.exit_code, kExitUsage);
}

// `--help` of every command against its golden file, and no golden without a command.
TEST_F(CliCommandLineTest, GoldenHelpForEveryCommand) {
  Outcome list = Bare({"help", "--commands"});
  ASSERT_EQ(list.exit_code, 0) << list;
  std::vector<std::string> commands = absl::StrSplit(list.out, '\n', absl::SkipEmpty());
  commands.insert(commands.begin(), "");
  ASSERT_GT(commands.size(), 30u);
  fs::path golden_dir = SourceDir() / "tests" / "golden" / "help";
  bool update = std::getenv("PARLEY_UPDATE_GOLDEN") != nullptr;
  if (update) fs::create_directories(golden_dir);
  std::set<std::string> expected_files;
  for (const std::string& command : commands) {
    std::vector<std::string> arguments = absl::StrSplit(command, ' ', absl::SkipEmpty());
    arguments.push_back("--help");
    Outcome help = Bare(arguments);
    EXPECT_EQ(help.exit_code, 0) << command;
    std::string name = command.empty()
                           ? "parley.txt"
                           : absl::StrCat(absl::StrReplaceAll(command, {{" ", "_"}}), ".txt");
    expected_files.insert(name);
    if (update) {
      WriteText(golden_dir / name, help.out);
      continue;
    }
    EXPECT_EQ(help.out, ReadText(golden_dir / name)) << "parley " << command << " --help";
  }
  std::set<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(golden_dir)) {
    files.insert(entry.path().filename().string());
  }
  EXPECT_EQ(files, expected_files);
}

}  // namespace
}  // namespace parley
