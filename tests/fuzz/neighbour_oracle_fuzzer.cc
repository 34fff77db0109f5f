// libFuzzer harness for the neighbouring-dataset oracle (neighbour_oracle.h): every input that
// the rules accept runs on two datasets that differ in one suppressed row, and must show its
// runner the same outcome on both. A difference is a side channel: the harness prints both
// outcomes and traps, so libFuzzer saves the input as a crash. With PARLEY_ORACLE_LOG=<file> it
// appends the finding to that file instead and goes on (for long runs that collect findings).
// Not part of `make test`; run with tests/fuzz/run.sh oracle [SECONDS]. Findings, minimised by
// hand, become files of tests/fuzz/oracle_regressions/, which the replay test runs.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/neighbour_oracle.h"

namespace {

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
  std::string sql(reinterpret_cast<const char*>(data), size);
  parley::fuzz::OracleResult result = oracle->Compare(sql);
  if (result.kind != parley::fuzz::OracleResult::kDiffers) return 0;
  std::string report = "query:\n" + sql + "\n" + result.Describe() + "\n";
  if (log != nullptr) {
    std::ofstream(log, std::ios::app) << "----\n" << report;
    return 0;
  }
  std::fprintf(stderr, "\n=== neighbouring-dataset oracle: outcomes differ ===\n%s\n",
               report.c_str());
  __builtin_trap();
}
