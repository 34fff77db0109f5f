// What the end-to-end tests of the `parley` binary share: running the real executable as a child
// process with its output captured, reading and writing small files, parsing the CSV Parley
// writes, and a fixture with a temporary home and an in-memory DuckDB used as the oracle for
// query results.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "engine/duckdb/duckdb_api.h"
#include "gtest/gtest.h"

namespace parley::cli_test {

using Rows = std::vector<std::vector<std::string>>;

inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRejected = 3;
inline constexpr int kExitNotPermitted = 4;  // PermissionDenied: the member may not do this
inline constexpr int kExitPending = 5;       // a change request waits for other members' approval

// $PARLEY_BINARY, or the binary of this build tree.
std::string ParleyBinary();

std::string ReadText(const std::filesystem::path& path);
void WriteText(const std::filesystem::path& path, const std::string& text);

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};
std::ostream& operator<<(std::ostream& os, const Outcome& outcome);

// Runs `arguments` (argv[0] excluded) with stdout and stderr captured through files in
// `scratch`. PARLEY_AS and PARLEY_HOME are removed from the child's environment so that only
// the flags a test passes count.
Outcome Spawn(const std::vector<std::string>& arguments, const std::filesystem::path& scratch);
// Starts `arguments` as Spawn does (output to `name`_stdout.txt and `name`_stderr.txt in
// `scratch`) and returns the child's pid at once, for a test that kills it or waits for it
// (waitpid) itself.
pid_t SpawnInBackground(const std::vector<std::string>& arguments,
                        const std::filesystem::path& scratch,
                        const std::string& name = "background");

// A CSV file written by Parley: header and rows, split on commas (the test data hold none).
struct Csv {
  std::vector<std::string> header;
  Rows rows;
};
Csv ParseCsv(const std::string& text);

Rows Sorted(Rows rows);

// A temporary directory (removed afterwards) holding the home, data files and the captured
// output, and plain DuckDB for expected results.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `parley --home HOME arguments...`
  Outcome Parley(const std::vector<std::string>& arguments);
  // `parley --home HOME --as member arguments...`
  Outcome As(const std::string& member, std::vector<std::string> arguments);
  // Runs a command that must succeed.
  Outcome Ok(const std::string& member, const std::vector<std::string>& arguments);

  // Runs a statement on the oracle (to write data files or create views).
  void Exec(const std::string& sql);
  // Plain DuckDB: the rows of `sql`, every value cast to text as Parley renders it (NULL as the
  // empty string, as in Parley's CSV).
  Rows OracleRows(const std::string& sql);

  std::filesystem::path dir_;
  std::filesystem::path scratch_;
  std::string home_;
  engine::duckdb::InMemoryDatabase oracle_;
};

}  // namespace parley::cli_test
