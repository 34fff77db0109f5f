// Everyday use of the real binary (issue 9): the home directory's permissions, where results go
// (--output, stdout, --format, atomic writes), the shape of a result on the terminal and in
// files, and the command line itself. Each test starts the binary with a temporary home.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::kExitUsage;
using cli_test::Outcome;
using cli_test::ReadText;
using cli_test::Spawn;
using cli_test::WriteText;
using ::testing::HasSubstr;

mode_t ModeOf(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

// One member's room over one small table whose rule lets its owner (and only it) query freely.
constexpr char kCustomRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["owner"]})";

class CliEverydayTest : public CliTest {
 protected:
  // `parley --home HOME --as owner ...` in a room "room" holding table "t" (a CSV of `csv`).
  void MakeRoom(const std::string& csv) {
    WriteText(dir_ / "t.csv", csv);
    Ok("owner", {"collaboration", "create", "room"});
    Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "t.csv").string()});
    Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kCustomRule});
  }
  // Makes every query record two days old (as a result kept that long would be).
  void EditCatalogTime() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE queries SET created_at = created_at - 2 * 86400", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  Outcome Query(const std::string& sql, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"query", "run", "-c", "room", "--sql", sql};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return As("owner", arguments);
  }
};

// --- the home directory ----------------------------------------------------------------------

TEST_F(CliEverydayTest, ANewHomeIsPrivateAndSoIsEverythingInIt) {
  fs::path home = dir_ / "deep" / "new-home";
  Outcome created = Spawn(
      {"--home", home.string(), "--as", "owner", "collaboration", "create", "room"}, scratch_);
  ASSERT_EQ(created.exit_code, 0) << created;
  EXPECT_EQ(ModeOf(home), 0700u);
  EXPECT_EQ(ModeOf(home / "catalog.db"), 0600u);

  // After a run: the catalog (which keeps this small result) and every folder are the owner's
  // alone.
  ASSERT_FALSE(fs::exists(home_));
  MakeRoom("k,v\n1,a\n2,b\n");
  Outcome run = Query("SELECT k, v FROM t ORDER BY k");
  ASSERT_EQ(run.exit_code, 0) << run;
  int files = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(home_)) {
    mode_t mode = ModeOf(entry.path());
    if (entry.is_directory()) {
      EXPECT_EQ(mode & 077, 0u) << entry.path();
    } else {
      EXPECT_EQ(mode, 0600u) << entry.path();
      ++files;
    }
  }
  EXPECT_GE(files, 1);  // the catalog
}

TEST_F(CliEverydayTest, AnExistingHomeKeepsItsMode) {
  fs::create_directories(home_);
  ASSERT_EQ(::chmod(home_.c_str(), 0750), 0);
  Ok("owner", {"collaboration", "list"});
  EXPECT_EQ(ModeOf(home_), 0750u);
  // A catalog left readable by an earlier version is narrowed to its owner.
  ASSERT_EQ(::chmod((fs::path(home_) / "catalog.db").c_str(), 0644), 0);
  Ok("owner", {"collaboration", "list"});
  EXPECT_EQ(ModeOf(fs::path(home_) / "catalog.db"), 0600u);
  EXPECT_EQ(ModeOf(home_), 0750u);
}

TEST_F(CliEverydayTest, AHomeOthersCanWriteToIsRefusedAndLeftAlone) {
  for (mode_t mode : {01777, 0777, 0770, 02770, 0702}) {
    fs::create_directories(home_);
    ASSERT_EQ(::chmod(home_.c_str(), mode), 0);
    Outcome refused = As("owner", {"collaboration", "list"});
    EXPECT_EQ(refused.exit_code, kExitError) << refused;
    EXPECT_EQ(refused.err,
              absl::StrFormat("error: refusing the home directory '%s': others can write to it "
                              "(mode %04o); use a folder only you can write to, or remove their "
                              "write permission (chmod go-w)\n",
                              home_, mode));
    EXPECT_EQ(ModeOf(home_), mode);
    EXPECT_FALSE(fs::exists(fs::path(home_) / "catalog.db"));
  }
}

TEST_F(CliEverydayTest, AHomeOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a folder to another user";
  fs::create_directories(home_);
  ASSERT_EQ(::chown(home_.c_str(), 65534, 65534), 0);
  Outcome refused = As("owner", {"collaboration", "list"});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_EQ(refused.err, absl::StrCat("error: refusing the home directory '", home_,
                                      "': it belongs to another user (uid 65534); use a folder "
                                      "of your own\n"));
  EXPECT_FALSE(fs::exists(fs::path(home_) / "catalog.db"));
}

TEST_F(CliEverydayTest, AHomeThatIsAFileIsRefused) {
  WriteText(home_, "not a folder");
  Outcome refused = As("owner", {"collaboration", "list"});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_EQ(refused.err, absl::StrCat("error: refusing the home directory '", home_,
                                      "': it is not a directory\n"));
  EXPECT_EQ(ReadText(home_), "not a folder");
}

// --- the shape of a result (an unquoted alias is folded to lower case, as PostgreSQL does)
// -------------------------------------------------------------------

TEST_F(CliEverydayTest, DuplicateOutputNamesAreRefusedBeforeTheRun) {
  MakeRoom("k,v\n1,a\n");
  Outcome refused = Query("SELECT k, v AS K FROM t");
  EXPECT_EQ(refused.exit_code, cli_test::kExitRejected) << refused;
  EXPECT_EQ(refused.err,
            "query rejected: 1 violation\n"
            "  1. output column 2 is named 'k' like column 1 (at line 1, column 8) (in SELECT, at "
            "line 1, column 11)\n"
            "     hint: give each output column a name of its own with AS\n");
}

TEST_F(CliEverydayTest, UnnamedExpressionsGetReadableNames) {
  MakeRoom("k,v,w\n1,2,3\n1,4,5\n");
  std::string csv = (dir_ / "named.csv").string();
  Outcome run =
      Query("SELECT k, SUM(v), SUM(w), COUNT(*), k * 2 FROM t GROUP BY k", {"--output", csv});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(ReadText(csv), "k,sum_v,sum_w,count,column_5\n1,6,8,2,2\n");
}

TEST_F(CliEverydayTest, TheTerminalTellsNullFromTheTextNullAndAlignsWideText) {
  // Registered with the empty field as the only null string, the text NULL is a value (by
  // default NULL is one of a CSV export's null strings: docs/sources.md).
  WriteText(dir_ / "t.csv", "id,city,note\n1,東京,NULL\n2,Zürich,\n3,🚀 base,ok\n");
  Ok("owner", {"collaboration", "create", "room"});
  Ok("owner", {"table", "add", "-c", "room", "t", "--source", (dir_ / "t.csv").string(),
               "--null-string", ""});
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", kCustomRule});
  Outcome run = Query("SELECT id, city, note FROM t ORDER BY id");
  ASSERT_EQ(run.exit_code, 0) << run;
  // The CSV reader reads an empty field as NULL and the text NULL as text.
  EXPECT_EQ(run.out,
            "id | city    | note\n"
            "---+---------+-------\n"
            " 1 | 東京    | 'NULL'\n"
            " 2 | Zürich  | NULL\n"
            " 3 | 🚀 base | ok\n"
            "(3 rows)\n");
}

// --- where results go ------------------------------------------------------------------------

TEST_F(CliEverydayTest, OutputIsCheckedBeforeTheQueryRuns) {
  MakeRoom("k,v\n1,a\n2,b\n");
  const std::string sql = "SELECT k, v FROM t ORDER BY k";
  fs::path missing = dir_ / "no-such-folder" / "out.csv";
  Outcome no_folder = Query(sql, {"--output", missing.string()});
  EXPECT_EQ(no_folder.exit_code, kExitUsage) << no_folder;
  EXPECT_EQ(no_folder.err,
            absl::StrCat("error: cannot write '", missing.string(), "': the folder '",
                         (dir_ / "no-such-folder").string(), "' does not exist\n"));

  fs::path existing = dir_ / "kept.csv";
  WriteText(existing, "someone's file\n");
  ASSERT_EQ(::chmod(existing.c_str(), 0444), 0);
  Outcome exists = Query(sql, {"--output", existing.string()});
  EXPECT_EQ(exists.exit_code, kExitUsage) << exists;
  EXPECT_EQ(exists.err, absl::StrCat("error: '", existing.string(),
                                     "' already exists; add --force to replace it\n"));
  EXPECT_EQ(ReadText(existing), "someone's file\n");

  Outcome not_writable = Query(sql, {"--output", "/proc/out.csv"});
  EXPECT_EQ(not_writable.exit_code, kExitUsage) << not_writable;
  EXPECT_EQ(not_writable.err,
            "error: cannot write '/proc/out.csv': the folder '/proc' is not writable\n");

  Outcome parquet_to_stdout = Query(sql, {"--output", "-", "--format", "parquet"});
  EXPECT_EQ(parquet_to_stdout.exit_code, kExitUsage);
  EXPECT_EQ(parquet_to_stdout.err,
            "error: --output - writes CSV or JSON to stdout; write Parquet to a file\n");

  // None of these ran: the query list is empty.
  EXPECT_EQ(Ok("owner", {"query", "list", "-c", "room"}).out, "");

  Outcome replaced = Query(sql, {"--output", existing.string(), "--force"});
  EXPECT_EQ(replaced.exit_code, 0) << replaced;
  EXPECT_EQ(ReadText(existing), "k,v\n1,a\n2,b\n");
}

TEST_F(CliEverydayTest, DashWritesToStdoutAndFormatOverridesTheExtension) {
  MakeRoom("k,v\n1,a\n2,\n");
  const std::string sql = "SELECT k, v FROM t ORDER BY k";
  Outcome csv = Query(sql, {"--output", "-"});
  ASSERT_EQ(csv.exit_code, 0) << csv;
  EXPECT_EQ(csv.out, "k,v\n1,a\n2,\n");
  EXPECT_EQ(csv.err, "query 1: 2 rows for owner\n");

  Outcome json = Query(sql, {"--output", "-", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_EQ(json.out, "[\n  {\"k\": 1, \"v\": \"a\"},\n  {\"k\": 2, \"v\": null}\n]\n");

  fs::path text = dir_ / "result.txt";
  Outcome by_format = Query(sql, {"--output", text.string(), "--format", "json"});
  ASSERT_EQ(by_format.exit_code, 0) << by_format;
  EXPECT_EQ(ReadText(text), json.out);

  // A stored result, fetched again to stdout.
  Outcome again = As("owner", {"query", "result", "-c", "room", "1", "--output", "-"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(again.out, csv.out);

  Outcome both = Parley(
      {"--json", "--as", "owner", "query", "run", "-c", "room", "--sql", sql, "--output", "-"});
  EXPECT_EQ(both.exit_code, kExitUsage);
  EXPECT_THAT(both.out, HasSubstr("--output - and --json both write to stdout; choose one"));
}

// A run killed at any moment leaves either no file or the whole file, and nothing else: no
// temporary beside the output, none in the home.
TEST_F(CliEverydayTest, AKilledRunLeavesNothingThatLooksLikeAResult) {
  std::string csv = "k,v\n";
  for (int i = 0; i < 200000; ++i) absl::StrAppend(&csv, i, ",value-", i % 97, "\n");
  MakeRoom(csv);
  fs::path out_dir = dir_ / "out";
  fs::create_directories(out_dir);
  fs::path output = out_dir / "big.csv";
  const std::string sql = "SELECT k, v FROM t ORDER BY k";
  Outcome full = Query(sql, {"--output", (dir_ / "reference.csv").string()});
  ASSERT_EQ(full.exit_code, 0) << full;
  std::string reference = ReadText(dir_ / "reference.csv");
  for (int delay_ms : {50, 150, 300, 500, 800, 1200}) {
    fs::remove(output);
    pid_t pid = cli_test::SpawnInBackground({"--home", home_, "--as", "owner", "query", "run", "-c",
                                             "room", "--sql", sql, "--output", output.string()},
                                            scratch_);
    ::usleep(delay_ms * 1000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (const fs::directory_entry& entry : fs::directory_iterator(out_dir)) {
      EXPECT_EQ(entry.path(), output) << "left behind after " << delay_ms << " ms";
      EXPECT_EQ(ReadText(output), reference) << "a partial file after " << delay_ms << " ms";
    }
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(home_)) {
      std::string name = entry.path().filename().string();
      EXPECT_EQ(name.find(".tmp"), std::string::npos) << entry.path();
    }
  }
  // Every stored result that is listed can be fetched whole.
  Outcome list = Ok("owner", {"query", "list", "-c", "room"});
  for (absl::string_view line : absl::StrSplit(list.out, '\n', absl::SkipEmpty())) {
    if (line.find(" succeeded ") == std::string::npos) continue;
    std::string id(line.substr(0, line.find(' ')));
    Outcome fetched = As("owner", {"query", "result", "-c", "room", id, "--output", "-"});
    EXPECT_EQ(fetched.exit_code, 0) << fetched;
    EXPECT_EQ(fetched.out, reference) << "query " << id;
  }
}

// --- results kept in the home ----------------------------------------------------------------

TEST_F(CliEverydayTest, ResultsAreListedFetchedAndDeletedByTheirReceivers) {
  MakeRoom("k,v\n1,a\n2,b\n");
  Ok("owner", {"member", "add", "-c", "room", "other", "--abilities", "query,receive"});
  ASSERT_EQ(Query("SELECT k, v FROM t ORDER BY k").exit_code, 0);
  ASSERT_EQ(Query("SELECT COUNT(*) AS n FROM t").exit_code, 0);
  Outcome list = Ok("owner", {"result", "list", "-c", "room"});
  std::vector<std::string> lines = absl::StrSplit(list.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << list.out;
  EXPECT_THAT(lines[0],
              ::testing::MatchesRegex(
                  "1  [0-9-]+ [0-9:]+ UTC  runner owner  rows 2  [0-9.]+ (B|kB)  receivers "
                  "owner"));
  EXPECT_THAT(lines[1], ::testing::StartsWith("2  "));
  // Kept (in the catalog, being small) with the result's types: fetched again exactly.
  Outcome got = Ok("owner", {"result", "get", "-c", "room", "1", "--output", "-"});
  EXPECT_EQ(got.out, "k,v\n1,a\n2,b\n");
  // Another member receives nothing here, so sees and deletes nothing: deleting a result it
  // does not receive is answered as deleting one that does not exist.
  EXPECT_EQ(Ok("other", {"result", "list", "-c", "room"}).out, "");
  Outcome foreign = As("other", {"result", "delete", "-c", "room", "1"});
  EXPECT_EQ(foreign.exit_code, kExitError) << foreign;
  EXPECT_EQ(foreign.err, "error: no stored result of query 1 in collaboration 'room'\n");
  Outcome absent = As("other", {"result", "delete", "-c", "room", "7"});
  EXPECT_EQ(absent.err, "error: no stored result of query 7 in collaboration 'room'\n");

  Outcome deleted = Ok("owner", {"result", "delete", "-c", "room", "1"});
  EXPECT_EQ(deleted.out, "deleted the result of query 1 in room\n");
  EXPECT_THAT(Ok("owner", {"result", "list", "-c", "room"}).out, ::testing::StartsWith("2  "));
  Outcome gone = As("owner", {"result", "get", "-c", "room", "1"});
  EXPECT_EQ(gone.exit_code, kExitError);
  EXPECT_EQ(gone.err, "error: query 1 has no result (succeeded)\n");
  // The deletion is in the audit log; the query's record stays.
  EXPECT_THAT(Ok("owner", {"audit", "list", "-c", "room"}).out,
              HasSubstr("  owner  result.deleted  {\"query_id\":1}\n"));
  EXPECT_THAT(Ok("owner", {"query", "list", "-c", "room"}).out,
              HasSubstr("1  succeeded  runner owner  rows 2  receivers owner\n"));
  // Both results were small: neither ever had a file.
  int parquet_files = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(home_)) {
    parquet_files += entry.path().extension() == ".parquet" ? 1 : 0;
  }
  EXPECT_EQ(parquet_files, 0);
}

// A result up to 64 KiB is kept in the catalog (no file under HOME/results), a larger one in a
// file; both are fetched in every format exactly as the run gave them, the Parquet download with
// the result's types (read back here as a table's source).
TEST_F(CliEverydayTest, SmallResultsAreKeptInTheCatalogLargeOnesInFiles) {
  std::string csv = "k,v,d\n";
  for (int i = 0; i < 4000; ++i) {
    absl::StrAppend(&csv, i, ",value ", i, " padded to be long,", i % 3 == 0 ? "" : "2026-01-02",
                    "\n");
  }
  MakeRoom(csv);
  auto result_files = [&] {
    int count = 0;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(fs::path(home_) / "results", error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      count += it->is_regular_file() ? 1 : 0;
    }
    return count;
  };
  const std::string small_sql = "SELECT k, v, d FROM t WHERE k < 4 ORDER BY k";
  const std::string large_sql = "SELECT k, v, d FROM t ORDER BY k";
  std::map<std::string, std::string> small_run;
  for (const char* format : {"csv", "json"}) {
    small_run[format] = Ok("owner", {"query", "run", "-c", "room", "--sql", small_sql, "--output",
                                     "-", "--format", format})
                            .out;
  }
  EXPECT_EQ(small_run["csv"],
            "k,v,d\n0,value 0 padded to be long,\n1,value 1 padded to be long,2026-01-02\n"
            "2,value 2 padded to be long,2026-01-02\n3,value 3 padded to be long,\n");
  EXPECT_EQ(result_files(), 0);
  Outcome large_run = Ok("owner", {"query", "run", "-c", "room", "--sql", large_sql, "--output",
                                   "-", "--format", "csv"});
  EXPECT_EQ(result_files(), 1);
  ASSERT_EQ(std::count(large_run.out.begin(), large_run.out.end(), '\n'), 4001);

  // Queries 1 and 2 (small, in the catalog), 3 (large, in a file).
  for (const char* id : {"1", "2"}) {
    for (const char* format : {"csv", "json"}) {
      EXPECT_EQ(
          Ok("owner", {"result", "get", "-c", "room", id, "--output", "-", "--format", format}).out,
          small_run[format])
          << id << " " << format;
    }
  }
  EXPECT_EQ(Ok("owner", {"result", "get", "-c", "room", "3", "--output", "-"}).out, large_run.out);

  // The Parquet downloads, registered as tables, give the same rows and types.
  for (const char* id : {"1", "3"}) {
    fs::path parquet = dir_ / absl::StrCat("result-", id, ".parquet");
    Ok("owner", {"result", "get", "-c", "room", id, "--output", parquet.string()});
    std::string table = absl::StrCat("back", id);
    Ok("owner", {"table", "add", "-c", "room", table, "--source", parquet.string()});
    Ok("owner", {"rule", "set", "-c", "room", table, "--json", kCustomRule});
    Outcome back =
        Ok("owner", {"query", "run", "-c", "room", "--sql",
                     absl::StrCat("SELECT k, v, d FROM ", table, " ORDER BY k"), "--output", "-"});
    EXPECT_EQ(back.out, std::string(id) == "1" ? small_run["csv"] : large_run.out) << id;
    Outcome types = Ok("owner", {"--json", "table", "show", "-c", "room", table});
    EXPECT_THAT(types.out, HasSubstr("DATE")) << types;
    EXPECT_THAT(types.out, HasSubstr("BIGINT")) << types;
  }
}

TEST_F(CliEverydayTest, HomeInfoAndResultRetention) {
  Outcome none = Parley({"home", "info"});
  EXPECT_EQ(none.exit_code, kExitError);
  EXPECT_EQ(none.err,
            absl::StrCat("error: '", home_, "' is not a Parley home (it has no catalog.db)\n"));
  EXPECT_FALSE(fs::exists(home_));

  MakeRoom("k\n1\n");
  ASSERT_EQ(Query("SELECT k FROM t").exit_code, 0);
  Outcome info = Parley({"home", "info"});
  ASSERT_EQ(info.exit_code, 0) << info;
  EXPECT_THAT(info.out, ::testing::MatchesRegex(
                            "home .*/home\n  size: [0-9.]+ kB\n  catalog: [0-9.]+ kB\n  results: 1 "
                            "\\([0-9.]+ (B|kB)\\)\n  result retention: none \\(results are kept "
                            "until deleted\\)\n"));

  Outcome bad = Parley({"home", "set", "--result-retention", "0"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  Outcome set = Parley({"home", "set", "--result-retention", "30"});
  ASSERT_EQ(set.exit_code, 0) << set;
  EXPECT_THAT(set.out, HasSubstr("  results: 1 ("));
  EXPECT_THAT(set.out, HasSubstr("  result retention: 30 days\n"));
  EXPECT_EQ(ModeOf(fs::path(home_) / "settings.json"), 0600u);

  // A result older than the retention is deleted when the home is next opened: the settings
  // file is edited to 1 day and the result's record made 2 days old.
  WriteText(fs::path(home_) / "settings.json", "{\"result_retention_days\": 1}\n");
  EditCatalogTime();
  Outcome after = Parley({"home", "info"});
  EXPECT_THAT(after.out, HasSubstr("  results: 0 (0 B)\n"));
  EXPECT_THAT(Ok("owner", {"audit", "list", "-c", "room"}).out,
              HasSubstr("  retention  result.deleted  {\"query_id\":1}\n"));
}

// --- lifecycle -------------------------------------------------------------------------------

TEST_F(CliEverydayTest, RuleShowGivesTheRuleAndItsHistory) {
  MakeRoom("k\n1\n");
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json", R"({"kind": "custom"})"});
  Outcome show = Ok("owner", {"rule", "show", "-c", "room", "t"});
  EXPECT_THAT(show.out,
              ::testing::MatchesRegex(
                  "rule of table t \\(owner owner\\):\n"
                  "  \\{\n    \"allowed_analyses\": \\[\\],\n    \"any_query\": false,\n"
                  "    \"disallowed_output_columns\": \\[\\],\n    \"kind\": \"custom\"\n  \\}\n"
                  "history:\n"
                  "  [0-9-]+ [0-9:]+ UTC  owner  added the table \\(no rule yet\\)\n"
                  "  [0-9-]+ [0-9:]+ UTC  owner  set the rule \\(sha256 [0-9a-f]{12}\\)\n"
                  "  [0-9-]+ [0-9:]+ UTC  owner  set the rule \\(sha256 [0-9a-f]{12}\\)\n"));
}

TEST_F(CliEverydayTest, AMemberWhoLeftCanBeAddedAgainWithoutItsRules) {
  MakeRoom("k\n1\n");
  Ok("owner", {"member", "add", "-c", "room", "guest", "--abilities", "query,receive"});
  WriteText(dir_ / "g.csv", "g\n7\n");
  Ok("guest", {"table", "add", "-c", "room", "g", "--source", (dir_ / "g.csv").string()});
  Ok("guest",
     {"rule", "set", "-c", "room", "g", "--json",
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["guest"]})"});
  Ok("guest", {"member", "leave", "-c", "room"});
  Outcome again = Ok("owner", {"member", "add", "-c", "room", "guest", "--abilities", "query"});
  EXPECT_EQ(again.out, "added member guest (abilities query) to room\n");
  EXPECT_THAT(Ok("guest", {"collaboration", "show", "room"}).out,
              HasSubstr("    guest  abilities: query  status: active\n"));
  // Its table is back, without the rule it had: nothing runs on it until it sets one again.
  EXPECT_EQ(Ok("guest", {"table", "list", "-c", "room"}).out,
            "g  owner guest  1 columns  no rule\nt  owner owner  1 columns  custom rule\n");
  EXPECT_THAT(Ok("guest", {"rule", "show", "-c", "room", "g"}).out,
              HasSubstr("  owner  cleared the rule: its owner guest rejoined\n"));
  Outcome active = As("owner", {"member", "add", "-c", "room", "guest", "--abilities", "query"});
  EXPECT_EQ(active.exit_code, kExitError);
  EXPECT_EQ(active.err, "error: member 'guest' already exists in collaboration 'room'\n");
  EXPECT_THAT(Ok("guest", {"audit", "verify", "-c", "room"}).out, HasSubstr(" intact: "));
}

TEST_F(CliEverydayTest, TheCreatorClosesACollaborationWhichThenOnlyReads) {
  MakeRoom("k\n1\n2\n");
  Ok("owner", {"member", "add", "-c", "room", "guest", "--abilities", "query,receive"});
  Ok("guest", {"collaboration", "create", "other"});
  ASSERT_EQ(Query("SELECT k FROM t ORDER BY k").exit_code, 0);

  Outcome not_creator = As("guest", {"collaboration", "close", "-c", "room"});
  EXPECT_EQ(not_creator.exit_code, cli_test::kExitNotPermitted) << not_creator;
  EXPECT_EQ(not_creator.err,
            "error: only the creator of collaboration 'room' ('owner') can close it\n");
  Outcome outsider = As("stranger", {"collaboration", "close", "-c", "room"});
  EXPECT_EQ(outsider.exit_code, cli_test::kExitNotPermitted) << outsider;
  EXPECT_EQ(outsider.err, "error: 'stranger' is not a member of collaboration 'room'\n");

  Outcome closed = Ok("owner", {"collaboration", "close", "-c", "room"});
  EXPECT_EQ(closed.out,
            "closed collaboration room: it takes no more queries or changes; its results and "
            "audit log stay readable\n");
  Outcome twice = As("owner", {"collaboration", "close", "-c", "room"});
  EXPECT_EQ(twice.exit_code, kExitError);
  EXPECT_EQ(twice.err, "error: collaboration 'room' is already closed\n");

  const std::string refusal =
      "error: collaboration 'room' is closed: it takes no more queries and no changes to its "
      "members, tables, rules or templates; its results and audit log stay readable\n";
  for (const std::vector<std::string>& change : std::vector<std::vector<std::string>>{
           {"query", "run", "-c", "room", "--sql", "SELECT k FROM t"},
           {"query", "explain", "-c", "room", "--sql", "SELECT k FROM t"},
           {"rule", "set", "-c", "room", "t", "--json", kCustomRule},
           {"member", "add", "-c", "room", "late", "--abilities", "query"},
           {"member", "remove", "-c", "room", "guest"},
           {"table", "add", "-c", "room", "t2", "--source", (dir_ / "t.csv").string()},
           {"template", "create", "-c", "room", "x", "--sql", "SELECT k FROM t"}}) {
    Outcome refused = As("owner", change);
    EXPECT_EQ(refused.exit_code, kExitError) << change[0] << " " << change[1] << refused;
    EXPECT_EQ(refused.err, refusal) << change[0] << " " << change[1];
  }
  Outcome leave = As("guest", {"member", "leave", "-c", "room"});
  EXPECT_EQ(leave.err, refusal);

  // Readable as before: the result, the room, its tables, rule, queries and audit log.
  EXPECT_EQ(Ok("owner", {"query", "result", "-c", "room", "1", "--output", "-"}).out, "k\n1\n2\n");
  EXPECT_EQ(Ok("guest", {"collaboration", "list"}).out,
            "other  (creator guest, 1 members)\nroom  (creator owner, 2 members)  [closed]\n");
  EXPECT_EQ(Ok("guest", {"collaboration", "list", "--open"}).out,
            "other  (creator guest, 1 members)\n");
  EXPECT_THAT(Ok("guest", {"collaboration", "show", "room"}).out,
              ::testing::ContainsRegex("\n  state: closed since [0-9-]+ [0-9:]+ UTC \\(no more "
                                       "queries or changes; results and audit stay readable\\)\n"));
  EXPECT_THAT(Ok("guest", {"collaboration", "show", "other"}).out, HasSubstr("\n  state: open\n"));
  Ok("guest", {"table", "list", "-c", "room"});
  Ok("guest", {"rule", "show", "-c", "room", "t"});
  Ok("owner", {"query", "list", "-c", "room"});
  EXPECT_THAT(Ok("guest", {"audit", "list", "-c", "room"}).out,
              ::testing::EndsWith("  owner  collaboration.close  {}\n"));
  EXPECT_THAT(Ok("guest", {"audit", "verify", "-c", "room"}).out, HasSubstr(" intact: "));
  // A receiver may still delete its stored result.
  EXPECT_EQ(Ok("owner", {"result", "delete", "-c", "room", "1"}).out,
            "deleted the result of query 1 in room\n");
}

// --- PostgreSQL spellings --------------------------------------------------------------------

TEST_F(CliEverydayTest, PostgresSpellingsWorkWhereTheRulesAllowThemAndOthersAreNamed) {
  MakeRoom("k,name,day\n1,Alice,2024-03-05\n2,bob,2024-04-01\n3,,2024-04-20\n");
  auto rows = [&](const std::string& sql) {
    Outcome outcome = Query(sql, {"--output", "-"});
    EXPECT_EQ(outcome.exit_code, 0) << sql << "\n" << outcome;
    return outcome.out;
  };
  EXPECT_EQ(rows("SELECT k::text || '!' AS s FROM t ORDER BY k"), "s\n1!\n2!\n3!\n");
  EXPECT_EQ(rows("SELECT name FROM t WHERE name ILIKE 'a%'"), "name\nAlice\n");
  EXPECT_EQ(
      rows("SELECT date_trunc('month', day) AS m, COUNT(*) AS n FROM t GROUP BY 1 ORDER BY 1"),
      "m,n\n2024-03-01,1\n2024-04-01,2\n");
  EXPECT_EQ(rows("SELECT COALESCE(name, 'none') AS n FROM t ORDER BY k"), "n\nAlice\nbob\nnone\n");
  EXPECT_EQ(rows("SELECT COUNT(*) FILTER (WHERE k > 1) AS n, SUM(k) FILTER (WHERE name ILIKE "
                 "'%o%') AS s, COUNT(name) AS named FROM t"),
            "n,s,named\n2,2,2\n");
  Outcome within = Query("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY k) FROM t");
  EXPECT_EQ(within.exit_code, kExitError);
  EXPECT_EQ(within.err,
            "error: WITHIN GROUP (ORDER BY ...) on percentile_cont() is not supported (line 1, "
            "column 8)\n");
  Outcome scalar = Query("SELECT upper(name) FILTER (WHERE k > 1) FROM t");
  EXPECT_EQ(scalar.exit_code, kExitError);
  EXPECT_EQ(scalar.err,
            "error: FILTER (WHERE ...) applies to aggregate functions only; upper() is not one "
            "(line 1, column 36)\n");
  Outcome similar = Query("SELECT k FROM t WHERE name SIMILAR TO 'a%'");
  EXPECT_EQ(similar.err, "error: SIMILAR TO is not supported (line 1, column 28)\n");
}

// FILTER (WHERE …) under an aggregation rule runs in the engine, and every filtered aggregate
// must read as many people as the threshold asks: a group where one filter picks fewer is
// dropped, as the same query with that filter as its WHERE would drop it.
TEST_F(CliEverydayTest, FilterUnderAnAggregationRuleMeetsTheThresholdForEachFilter) {
  std::string csv = "id,region,size,spend\n";
  for (int i = 1; i <= 20; ++i) {
    absl::StrAppendFormat(&csv, "%d,%s,%d,%d\n", i, i % 2 ? "north" : "south", i % 4, i * 10);
  }
  WriteText(dir_ / "a.csv", csv);
  Ok("owner", {"collaboration", "create", "room"});
  Ok("owner", {"table", "add", "-c", "room", "a", "--source", (dir_ / "a.csv").string()});
  Ok("owner", {"rule", "set", "-c", "room", "a", "--json",
               R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["id"],
                   "functions": ["COUNT_DISTINCT"]}, {"columns": ["spend"], "functions": ["SUM"]}],
                   "dimension_columns": ["region", "size"],
                   "output_constraints": [{"column": "id", "minimum": 3}]})"});
  // south has no row of size 1: its `small` would count 0 people, so the group is dropped.
  EXPECT_EQ(Query("SELECT region, COUNT(DISTINCT id) AS n, COUNT(DISTINCT id) FILTER (WHERE "
                  "size = 1) AS small, SUM(spend) FILTER (WHERE size > 1) AS s FROM a GROUP BY "
                  "region ORDER BY region",
                  {"--output", "-"})
                .out,
            "region,n,small,s\nnorth,10,5,550\n");
  EXPECT_EQ(Query("SELECT region, COUNT(DISTINCT id) FILTER (WHERE size = 0) AS zero FROM a "
                  "GROUP BY region",
                  {"--output", "-"})
                .out,
            "region,zero\nsouth,5\n");
  Outcome refused = Query(
      "SELECT region, SUM(spend) FILTER (WHERE id = 7) AS one FROM a GROUP BY "
      "region");
  EXPECT_EQ(refused.exit_code, cli_test::kExitRejected) << refused;
  EXPECT_THAT(refused.err, HasSubstr("aggregate column 'id' may only be used inside "
                                     "COUNT_DISTINCT (in FILTER, at line 1, column 41)"));
}

// A data owner's own query may see every row it reads, so a failed conversion is named: which
// conversion, where, of which column — never the value. Another member's query over the same
// table keeps the engine's bare "conversion error".
TEST_F(CliEverydayTest, AnOwnersFailedConversionIsNamedWithoutItsValue) {
  MakeRoom("k,name\n1,7\n2,x9\n");
  Outcome cast = Query("SELECT CAST(k AS INTEGER) AS a, name::integer AS b FROM t");
  EXPECT_EQ(cast.exit_code, kExitError) << cast;
  EXPECT_EQ(cast.err,
            "error: query failed during execution: a value of column 't.name' could not be "
            "converted to INTEGER by the conversion at line 1, column 37 (the value is not "
            "shown)\n");
  EXPECT_EQ(cast.err.find("x9"), std::string::npos);
  Outcome first = Query("SELECT CAST(name AS INTEGER) + CAST(k AS INTEGER) AS c FROM t");
  EXPECT_THAT(first.err, HasSubstr("column 't.name' could not be converted to INTEGER by the "
                                   "conversion at line 1, column 8 "));
  // Where every value converts, the query runs.
  EXPECT_EQ(Query("SELECT name::integer AS b FROM t WHERE k = 1", {"--output", "-"}).out, "b\n7\n");

  // Another member, allowed to query the owner's table, is told only the class of the error.
  Ok("owner", {"member", "add", "-c", "room", "guest", "--abilities", "query,receive"});
  Ok("owner", {"rule", "set", "-c", "room", "t", "--json",
               R"({"kind": "custom", "any_query": true,
                   "allowed_analysis_providers": ["owner", "guest"]})"});
  Outcome guest = As("guest", {"query", "run", "-c", "room", "--sql",
                               "SELECT CAST(k AS INTEGER) AS a, name::integer AS b FROM t"});
  EXPECT_EQ(guest.exit_code, kExitError) << guest;
  EXPECT_EQ(guest.err, "error: query failed during execution: conversion error\n");
}

}  // namespace
}  // namespace parley
