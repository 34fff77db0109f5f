// libFuzzer harness for the neighbouring-dataset oracle (neighbour_oracle.h): every input that
// the rules accept runs on two datasets that differ in one suppressed row, and must show its
// runner the same outcome on both. A difference is a side channel: the harness prints both
// outcomes and traps, so libFuzzer saves the input as a crash. With PARLEY_ORACLE_LOG=<file> it
// appends the finding to that file instead and goes on (for long runs that collect findings).
// A custom mutator replaces one input in three with a query from the generator
// (oracle_query_generator.h), which the rules mostly accept; the others get libFuzzer's own
// mutations. Not part of `make test`; run with tests/fuzz/run.sh oracle [SECONDS]. Findings,
// minimised by hand, become files of tests/fuzz/oracle_regressions/, which the replay test runs.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/neighbour_oracle.h"
#include "fuzz/oracle_query_generator.h"

namespace {

using parley::fuzz::OracleResult;

// Counts for the report at exit: how many inputs ran, how many the rules accepted (each of those
// ran twice), and how the comparisons came out.
struct Counts {
  long inputs = 0;
  long accepted[2] = {0, 0};  // aggregation, list
  long by_kind[4] = {0, 0, 0, 0};
} counts;

std::string CountsLine() {
  char line[256];
  std::snprintf(line, sizeof line,
                "oracle: %ld inputs, %ld accepted (%ld aggregation, %ld list): %ld same, %ld "
                "differ, %ld inconclusive",
                counts.inputs, counts.accepted[0] + counts.accepted[1], counts.accepted[0],
                counts.accepted[1], counts.by_kind[OracleResult::kSame],
                counts.by_kind[OracleResult::kDiffers],
                counts.by_kind[OracleResult::kInconclusive]);
  return line;
}

// To stderr, and to the log (if any) with the process id: in fork mode each job is a process
// of its own, and the totals are the sums of each process's last line.
void PrintCounts() {
  std::fprintf(stderr, "%s\n", CountsLine().c_str());
  if (const char* log = std::getenv("PARLEY_ORACLE_LOG")) {
    std::ofstream(log, std::ios::app) << "counts " << getpid() << ": " << CountsLine() << "\n";
  }
}

// A rough signature of a difference, for sorting a log of findings by class.
std::string Signature(const OracleResult& result) {
  const parley::fuzz::RunnerView& d = result.on_d;
  const parley::fuzz::RunnerView& neighbour = result.on_d_prime;
  std::string where = result.rendered_sql.find("try(") != std::string::npos ? "with TRY" : "no TRY";
  if (d.status.ok() && neighbour.status.ok()) return "rows differ, " + where;
  if (d.status.ok() != neighbour.status.ok()) {
    return "fails on one dataset only (" +
           std::string((d.status.ok() ? neighbour.status : d.status).message()) + "), " + where;
  }
  return "messages differ, " + where;
}

parley::fuzz::NeighbourOracle* MakeOracle() {
  char directory[] = "/tmp/parley_oracle_XXXXXX";
  if (mkdtemp(directory) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  static std::string created = directory;
  std::atexit([] { std::filesystem::remove_all(created); });
  auto oracle = parley::fuzz::NeighbourOracle::Create(directory);
  if (!oracle.ok()) {
    std::fprintf(stderr, "cannot set the oracle up: %s\n", oracle.status().ToString().c_str());
    std::abort();
  }
  return oracle->release();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static parley::fuzz::NeighbourOracle* oracle = MakeOracle();
  static const char* log = std::getenv("PARLEY_ORACLE_LOG");
  static bool registered = std::atexit(PrintCounts) == 0;
  (void)registered;
  std::string sql(reinterpret_cast<const char*>(data), size);
  OracleResult result = oracle->Compare(sql);
  if (++counts.inputs % 500 == 0) PrintCounts();  // libFuzzer may end without exit handlers
  if (result.kind != OracleResult::kNotAccepted) {
    ++counts.accepted[result.rule_kind == "list" ? 1 : 0];
    ++counts.by_kind[result.kind];
  }
  if (result.kind != OracleResult::kDiffers) return 0;
  std::string report =
      "signature: " + Signature(result) + "\nquery:\n" + sql + "\n" + result.Describe() + "\n";
  if (log != nullptr) {
    std::ofstream(log, std::ios::app) << "----\n" << report;
    return 0;
  }
  std::fprintf(stderr, "\n=== neighbouring-dataset oracle: outcomes differ ===\n%s\n",
               report.c_str());
  __builtin_trap();
}

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  if (seed % 3 == 0) {
    std::string sql = parley::fuzz::GenerateOracleQuery(seed);
    if (sql.size() <= max_size) {
      std::copy(sql.begin(), sql.end(), data);
      return sql.size();
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
