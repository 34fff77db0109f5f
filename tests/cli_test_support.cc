#include "cli_test_support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "exec/duckdb_api.h"

extern char** environ;

namespace parley::cli_test {

namespace fs = std::filesystem;

std::string ParleyBinary() {
  const char* binary = std::getenv("PARLEY_BINARY");
  return binary != nullptr && *binary != '\0' ? binary : PARLEY_BINARY_DEFAULT;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::ostream& operator<<(std::ostream& os, const Outcome& outcome) {
  return os << "exit " << outcome.exit_code << "\n--- stdout ---\n"
            << outcome.out << "--- stderr ---\n"
            << outcome.err;
}

namespace {

// Starts the binary with `arguments`, stdout and stderr going to the two files; 0 on failure
// (with the reason in *error).
pid_t Start(const std::vector<std::string>& arguments, const std::string& out_path,
            const std::string& err_path, std::string* error) {
  std::string binary = ParleyBinary();
  std::vector<char*> argv;
  argv.push_back(binary.data());
  std::vector<std::string> copies = arguments;
  for (std::string& argument : copies) argv.push_back(argument.data());
  argv.push_back(nullptr);

  std::vector<char*> envp;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (absl::StartsWith(*variable, "PARLEY_AS=") || absl::StartsWith(*variable, "PARLEY_HOME=")) {
      continue;
    }
    envp.push_back(*variable);
  }
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    *error = absl::StrCat("cannot start ", binary, ": ", std::strerror(spawned));
    return 0;
  }
  return pid;
}

}  // namespace

pid_t SpawnInBackground(const std::vector<std::string>& arguments, const fs::path& scratch,
                        const std::string& name) {
  std::string error;
  pid_t pid = Start(arguments, (scratch / (name + "_stdout.txt")).string(),
                    (scratch / (name + "_stderr.txt")).string(), &error);
  EXPECT_NE(pid, 0) << error;
  return pid;
}

Outcome Spawn(const std::vector<std::string>& arguments, const fs::path& scratch) {
  std::string out_path = (scratch / "stdout.txt").string();
  std::string err_path = (scratch / "stderr.txt").string();
  Outcome outcome;
  pid_t pid = Start(arguments, out_path, err_path, &outcome.err);
  if (pid == 0) return outcome;
  int status = 0;
  waitpid(pid, &status, 0);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.out = ReadText(out_path);
  outcome.err = ReadText(err_path);
  return outcome;
}

Csv ParseCsv(const std::string& text) {
  Csv csv;
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    if (i == 0) {
      csv.header = fields;
    } else {
      csv.rows.push_back(fields);
    }
  }
  return csv;
}

Rows Sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

void CliTest::SetUp() {
  std::string pattern = (fs::path(::testing::TempDir()) / "parley_e2e_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  dir_ = fs::path(pattern);
  scratch_ = dir_ / "scratch";
  fs::create_directories(scratch_);
  home_ = (dir_ / "home").string();
  auto db = exec::OpenInMemoryDatabase({});
  ASSERT_TRUE(db.ok()) << db.status();
  oracle_ = std::move(db).value();
}

void CliTest::TearDown() { fs::remove_all(dir_); }

Outcome CliTest::Parley(const std::vector<std::string>& arguments) {
  std::vector<std::string> all = {"--home", home_};
  all.insert(all.end(), arguments.begin(), arguments.end());
  return Spawn(all, scratch_);
}

Outcome CliTest::As(const std::string& member, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"--as", member});
  return Parley(arguments);
}

Outcome CliTest::Ok(const std::string& member, const std::vector<std::string>& arguments) {
  Outcome outcome = As(member, arguments);
  EXPECT_EQ(outcome.exit_code, 0) << absl::StrJoin(arguments, " ") << "\n" << outcome;
  return outcome;
}

void CliTest::Exec(const std::string& sql) {
  absl::Status status = exec::ExecuteStatement(oracle_.connection.get(), sql, "oracle");
  ASSERT_TRUE(status.ok()) << status << "\n" << sql;
}

Rows CliTest::OracleRows(const std::string& sql) {
  exec::DuckResult result;
  std::string as_text = absl::StrCat("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (", sql, ") AS o");
  Rows rows;
  if (duckdb_query(oracle_.connection.get(), as_text.c_str(), result.out()) == DuckDBError) {
    ADD_FAILURE() << duckdb_result_error(&result.get()) << "\n" << sql;
    return rows;
  }
  for (idx_t row = 0; row < duckdb_row_count(&result.get()); ++row) {
    std::vector<std::string>& values = rows.emplace_back();
    for (idx_t column = 0; column < duckdb_column_count(&result.get()); ++column) {
      if (duckdb_value_is_null(&result.get(), column, row)) {
        values.emplace_back();
      } else {
        exec::DuckString text(duckdb_value_varchar(&result.get(), column, row));
        values.emplace_back(text.get());
      }
    }
  }
  return rows;
}

}  // namespace parley::cli_test
