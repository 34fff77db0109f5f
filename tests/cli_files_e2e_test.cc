// Files as exported (issue 10 §2), through the real binary: the messy-file corpus
// (tests/messy_files: each file with its expected schema or error, and the flags it needs), the
// CSV options pinned at registration and reused by queries, --preview, and what a failed read at
// query time tells the table's owner and other runners.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::Outcome;
using cli_test::ReadText;
using cli_test::WriteText;
using ::testing::HasSubstr;
using ::testing::Not;

fs::path CorpusDir() {
  const char* dir = std::getenv("PARLEY_SOURCE_DIR");
  return fs::path(dir != nullptr && *dir != '\0' ? dir : PARLEY_SOURCE_DIR_DEFAULT) / "tests" /
         "messy_files";
}

constexpr char kOwnerRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["owner", "other"]})";

class CliFilesTest : public CliTest {
 protected:
  void MakeRoom() {
    Ok("owner", {"collaboration", "create", "room"});
    Ok("owner", {"member", "add", "-c", "room", "other", "--abilities", "query,receive"});
  }
};

// Every file of the corpus: `NAME.EXT` is added with the flags of `NAME.args` (one per line) and
// gives the schema of `NAME.expected` ("schema: col TYPE, ...") or its error ("error: ..."), the
// message after "cannot read '<path>' as <format>: ". No error quotes the file.
TEST_F(CliFilesTest, MessyFileCorpus) {
  MakeRoom();
  int checked = 0;
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(CorpusDir()))
    files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::string name = file.filename().string();
    std::string stem = name.substr(0, name.find('.'));
    if (absl::EndsWith(name, ".expected") || absl::EndsWith(name, ".args")) continue;
    SCOPED_TRACE(name);
    std::string expected(
        absl::StripTrailingAsciiWhitespace(ReadText(CorpusDir() / (stem + ".expected"))));
    std::vector<std::string> arguments = {"--json", "table", "add",      "-c",
                                          "room",   stem,    "--source", file.string()};
    if (fs::exists(CorpusDir() / (stem + ".args"))) {
      for (absl::string_view line :
           absl::StrSplit(ReadText(CorpusDir() / (stem + ".args")), '\n')) {
        if (!line.empty()) arguments.emplace_back(line);
      }
    }
    Outcome outcome = As("owner", arguments);
    if (absl::StartsWith(expected, "schema: ")) {
      ASSERT_EQ(outcome.exit_code, 0) << outcome;
      nlohmann::json response = nlohmann::json::parse(outcome.out);
      std::vector<std::string> columns;
      for (const auto& column : response["table"]["columns"]) {
        columns.push_back(absl::StrCat(column["name"].get<std::string>(), " ",
                                       column["type"].get<std::string>()));
      }
      EXPECT_EQ("schema: " + absl::StrJoin(columns, ", "), expected);
    } else {
      ASSERT_TRUE(absl::StartsWith(expected, "error: ")) << "bad .expected file";
      EXPECT_EQ(outcome.exit_code, kExitError) << outcome;
      nlohmann::json error = nlohmann::json::parse(outcome.out);
      std::string message = error["error"]["message"].get<std::string>();
      std::string format = absl::StrContains(name, ".json") ? "JSON lines" : "CSV";
      EXPECT_EQ(message, absl::StrCat("cannot read '", file.string(), "' as ", format, ": ",
                                      expected.substr(7)));
      EXPECT_THAT(message, Not(HasSubstr("secret")));
    }
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

// Options given at registration are pinned and reused: the semicolon-separated file with NULL
// markers and day-first dates reads the same way in every query, and a preview shows the owner
// the first rows without adding the table.
TEST_F(CliFilesTest, PinnedOptionsReadTheExportAsTheOwnerSaid) {
  MakeRoom();
  WriteText(dir_ / "export.csv", "id;spend;day\n1;10;13/02/2024\n2;NULL;01/02/2024\n3;\\N;\n");
  Outcome preview = Ok("owner", {"table", "add", "-c", "room", "t", "--source",
                                 (dir_ / "export.csv").string(), "--preview"});
  EXPECT_EQ(preview.out, "preview (nothing added) of table t (owner owner, csv)\n  source: " +
                             (dir_ / "export.csv").string() +
                             "\n  columns:\n    id     BIGINT\n    spend  BIGINT\n    day    DATE\n"
                             "  rule: none (the table cannot be queried until its owner sets "
                             "one)\nfirst 3 rows:\nid | spend | day\n---+-------+-----------\n"
                             " 1 |    10 | 2024-02-13\n 2 |  NULL | 2024-02-01\n 3 |  NULL | "
                             "NULL\n(3 rows)\n");
  EXPECT_EQ(Ok("owner", {"table", "list", "-c", "room"}).out, "");

  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "export.csv").string()});
  // Another member cannot preview the owner's file: a preview is for one's own data.
  Outcome other = As("other", {"table", "add", "-c", "room", "mine", "--source",
                               (dir_ / "export.csv").string(), "--preview"});
  EXPECT_EQ(other.exit_code, cli_test::kExitNotPermitted) << other;
  EXPECT_THAT(other.out + other.err, Not(HasSubstr("2024")));
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kOwnerRule});
  Outcome rows = Ok("owner", {"query", "run", "-c", "room", "--sql",
                              "SELECT id, spend, day FROM t ORDER BY id", "--output", "-"});
  EXPECT_EQ(rows.out, "id,spend,day\n1,10,2024-02-13\n2,,2024-02-01\n3,,\n");
  EXPECT_THAT(Ok("owner", {"table", "show", "-c", "room", "t"}).out, HasSubstr("day    DATE"));
}

// How a file is read means nothing for a PostgreSQL relation (its columns and types are the
// server's): file options with --postgres are a usage error naming them (--preview is not: it shows
// the relation), before any
// connection; the API refuses "options" with a "kind" the same way.
TEST_F(CliFilesTest, FileOptionsAreRefusedWithPostgres) {
  MakeRoom();
  Outcome refused = As("owner", {"table", "add", "-c", "room", "t", "--postgres",
                                 "host=127.0.0.1 port=1 dbname=none", "--relation", "public.t",
                                 "--delimiter", ";", "--no-header", "--preview"});
  EXPECT_EQ(refused.exit_code, cli_test::kExitUsage) << refused;
  EXPECT_EQ(refused.err,
            "error: --delimiter, --header apply only to a file (--source), not to "
            "--postgres\n");
  Outcome neither = As("owner", {"table", "add", "-c", "room", "t"});
  EXPECT_EQ(neither.exit_code, cli_test::kExitUsage) << neither;
  EXPECT_EQ(neither.err,
            "error: table add needs --source PATH, --upload FILE, --postgres CONNINFO "
            "--relation schema.table or --engine NAME\n");
  EXPECT_EQ(Ok("owner", {"table", "list", "-c", "room"}).out, "");
}

// A file edited after registration so that a row no longer fits: its owner learns the file, line
// and column (never the value); another runner only which table; under a rule that protects rows,
// not even that.
TEST_F(CliFilesTest, AFailedReadNamesLineAndColumnToTheOwnerOnly) {
  MakeRoom();
  WriteText(dir_ / "t.csv", "id,amount\n1,10\n2,20\n");
  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "t.csv").string()});
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kOwnerRule});
  WriteText(dir_ / "t.csv", "id,amount\n1,10\n2,secret-value\n");
  Outcome owner = As("owner", {"query", "run", "-c", "room", "--sql", "SELECT id, amount FROM t"});
  EXPECT_EQ(owner.exit_code, kExitError) << owner;
  EXPECT_EQ(owner.err, "error: table 't': file '" + (dir_ / "t.csv").string() +
                           "' line 3, column 'amount': the value is not a BIGINT as pinned when "
                           "the table was added; correct the file, or point the table at a "
                           "corrected copy with 'parley table update'\n");
  Outcome other = As("other", {"query", "run", "-c", "room", "--sql", "SELECT id, amount FROM t"});
  EXPECT_EQ(other.exit_code, kExitError) << other;
  EXPECT_EQ(other.err,
            "error: table 't' of member 'owner' no longer reads as it did when it was added (a "
            "row of its source does not fit the schema pinned then); its owner sees where when it "
            "queries the table\n");

  Ok("owner", {"rule", "set", "-c", "room", "t", "--json",
               R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["amount"],
                   "functions": ["SUM"]}], "dimension_columns": ["id"],
                   "output_constraints": [{"column": "id", "minimum": 2,
                                           "type": "count_distinct"}]})"});
  Outcome aggregated = As("other", {"query", "run", "-c", "room", "--sql",
                                    "SELECT id, SUM(amount) AS s FROM t GROUP BY id"});
  EXPECT_NE(aggregated.exit_code, 0) << aggregated;
  EXPECT_THAT(aggregated.err, HasSubstr("the cause is not shown"));
  EXPECT_THAT(aggregated.err, Not(HasSubstr("line")));
  EXPECT_THAT(aggregated.err, Not(HasSubstr("secret")));
}

// A pinned read takes columns by position: a file rewritten with its columns swapped (same types)
// is refused before it is read, naming the position only.
TEST_F(CliFilesTest, AHeaderThatChangedIsRefusedBeforeTheRead) {
  MakeRoom();
  WriteText(dir_ / "t.csv", "id,\"amount\",\"note, with comma\"\n1,10,a\n");
  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "t.csv").string()});
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kOwnerRule});
  EXPECT_EQ(Ok("other",
               {"query", "run", "-c", "room", "--sql", "SELECT id, amount FROM t", "--output", "-"})
                .out,
            "id,amount\n1,10\n");
  WriteText(dir_ / "t.csv", "amount,id,\"note, with comma\"\n10,1,a\n");
  Outcome swapped = As("other", {"query", "run", "-c", "room", "--sql", "SELECT id FROM t"});
  EXPECT_EQ(swapped.exit_code, kExitError) << swapped;
  EXPECT_EQ(swapped.err,
            "error: table 't': the header of its source file no longer names the columns pinned "
            "when the table was added (column 1 differs); its owner can point it at a file of the "
            "same layout with 'parley table update'\n");
}

// An owner repoints its table to a new export of the same schema (read with the pinned options),
// is refused one whose columns differ (each named), and removes the table; another member can do
// neither; the rule's history shows both changes.
TEST_F(CliFilesTest, UpdateAndRemoveATable) {
  MakeRoom();
  WriteText(dir_ / "march.csv", "id;spend\n1;10\n2;NULL\n");
  WriteText(dir_ / "april.csv", "id;spend\n3;30\n");
  WriteText(dir_ / "wrong.csv", "id;spend;extra\n3;x;1\n");
  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "march.csv").string()});
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kOwnerRule});

  // Read with the table's pinned types: a value that does not fit is named by line and column;
  // columns that differ are each named.
  Outcome refused = As(
      "owner", {"table", "update", "-c", "room", "t", "--source", (dir_ / "wrong.csv").string()});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_EQ(refused.err, "error: cannot read '" + (dir_ / "wrong.csv").string() +
                             "' as CSV: line 2, column 'spend': the value is not a BIGINT\n");
  WriteText(dir_ / "renamed.csv", "id;total;extra\n3;4;5\n");
  refused = As("owner",
               {"table", "update", "-c", "room", "t", "--source", (dir_ / "renamed.csv").string()});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_EQ(refused.err,
            "error: the new source of table 't' does not have the table's schema: column 'spend' "
            "is missing; column 'total' is new; column 'extra' is new (add it as a new table "
            "instead)\n");
  Outcome stranger = As(
      "other", {"table", "update", "-c", "room", "t", "--source", (dir_ / "april.csv").string()});
  EXPECT_EQ(stranger.exit_code, cli_test::kExitNotPermitted) << stranger;
  EXPECT_EQ(stranger.err, "error: only the owner of table 't' (owner) may change its source\n");

  Outcome updated = Ok(
      "owner", {"table", "update", "-c", "room", "t", "--source", (dir_ / "april.csv").string()});
  EXPECT_THAT(updated.out, HasSubstr("updated table t (owner owner, csv)\n  source: " +
                                     (dir_ / "april.csv").string()));
  EXPECT_EQ(Ok("owner",
               {"query", "run", "-c", "room", "--sql", "SELECT id, spend FROM t", "--output", "-"})
                .out,
            "id,spend\n3,30\n");
  // The rule is kept, and its history shows the change.
  Outcome history = Ok("other", {"rule", "show", "-c", "room", "t"});
  EXPECT_THAT(history.out, HasSubstr("owner  pointed the table at a new source (same columns "
                                     "and types)\n"));
  EXPECT_THAT(history.out, Not(HasSubstr("april")));

  Outcome not_yours = As("other", {"table", "remove", "-c", "room", "t"});
  EXPECT_EQ(not_yours.exit_code, cli_test::kExitNotPermitted) << not_yours;
  EXPECT_EQ(Ok("owner", {"table", "remove", "-c", "room", "t"}).out,
            "removed table t from collaboration room\n");
  EXPECT_EQ(Ok("owner", {"table", "list", "-c", "room"}).out, "");
  Outcome gone = As("other", {"query", "run", "-c", "room", "--sql", "SELECT id FROM t"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_THAT(Ok("other", {"audit", "list", "-c", "room"}).out,
              HasSubstr(R"(table.remove  {"owner":"owner","rule_sha256":)"));
  // The name is free again; the file stays its owner's.
  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "april.csv").string()});
  Outcome taken =
      As("other", {"table", "add", "-c", "room", "o", "--source", (dir_ / "march.csv").string()});
  EXPECT_EQ(taken.exit_code, cli_test::kExitNotPermitted) << taken;
}

}  // namespace
}  // namespace parley
