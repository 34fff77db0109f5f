// Private set intersection (docs/formats/psi.md): items per second per core of a whole session —
// both parties in this process over an in-memory pipe, each with every core — against the bound
// set by its group operations, measured in the same run on one core: every item is hashed to the
// group once (by its owner) and multiplied by a scalar twice (once by each party), so no
// implementation of this protocol can beat 1 / (hash_to_group + 2 · scalar_mult) items per second
// per core. The ratio says what the rest costs (framing, point validation, hash sets, threads).
//
//   psi_bench --items 1000000 [--threads N]
//
// Op costs and the session are timed in CPU seconds (thread and process CPU clocks), so that
// other programs on a shared machine do not distort the ratio; the wall-clock figure is printed
// too (`..._wall_ratio`, meaningful on an idle machine). Prints
// `psi_<items>_items_per_second_per_core`,
// `..._bound_items_per_second_per_core`, `..._ratio` (bound / measured: 1.0 is the bound itself;
// target ≤ 1.15) and the op costs.
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "psi/group.h"
#include "psi/protocol.h"

using namespace parley;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of this thread or of the whole process: on a shared machine other programs' load
// stretches wall time but not the CPU time the work itself took.
double CpuSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct OpCosts {
  double hash_to_group_us = 0;
  double scalar_mult_us = 0;
};

// One core, `samples` operations of each kind on identifiers like the session's.
OpCosts MeasureOps(int samples) {
  psi::Scalar key = psi::Scalar::Random();
  std::vector<std::string> identifiers;
  for (int i = 0; i < samples; ++i)
    identifiers.push_back(absl::StrCat("sample", i, "@example.com"));
  std::vector<psi::Element> hashed(samples);
  double start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < samples; ++i) hashed[i] = psi::HashToGroup(identifiers[i]);
  OpCosts costs;
  costs.hash_to_group_us = (CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / samples;
  start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < samples; ++i) hashed[i] = *psi::Blind(key, hashed[i]);
  costs.scalar_mult_us = (CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / samples;
  return costs;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t items = 1'000'000;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--items") {
      items = std::atoll(argv[i + 1]);
    } else if (flag == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else {
      std::cerr << "usage: psi_bench [--items N] [--threads N]\n";
      return 2;
    }
  }
  if (!psi::InitialiseSodium().ok()) return 1;
  // Half of each side is shared.
  std::vector<std::string> left, right;
  left.reserve(items);
  right.reserve(items);
  for (int64_t i = 0; i < items; ++i) {
    left.push_back(absl::StrCat("user", i, "@example.com"));
    right.push_back(absl::StrCat("user", i + items / 2, "@example.com"));
  }
  int samples = static_cast<int>(std::min<int64_t>(20000, std::max<int64_t>(2000, items / 20)));
  OpCosts before = MeasureOps(samples);

  psi::SessionOptions options;
  options.threads = threads;
  auto [a, b] = psi::MemoryPipe();
  absl::StatusOr<psi::SessionResult> served = absl::UnknownError("");
  auto start = Clock::now();
  double cpu_start = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  std::thread responder([&, channel = a.get()] {
    served = psi::RunSession(*channel, psi::Role::kResponder, left, options);
  });
  absl::StatusOr<psi::SessionResult> connected =
      psi::RunSession(*b, psi::Role::kInitiator, right, options);
  responder.join();
  double wall = Seconds(start);
  double cpu = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  if (!served.ok() || !connected.ok()) {
    std::cerr << "session failed: " << (served.ok() ? connected.status() : served.status()) << "\n";
    return 1;
  }
  if (connected->intersection_size != static_cast<uint64_t>(items - items / 2)) {
    std::cerr << "wrong intersection size " << connected->intersection_size << "\n";
    return 1;
  }
  OpCosts after = MeasureOps(samples);

  double hash_us = (before.hash_to_group_us + after.hash_to_group_us) / 2;
  double mult_us = (before.scalar_mult_us + after.scalar_mult_us) / 2;
  // Both parties' items per CPU second of the session (all threads of both parties), and per
  // wall second and core (the same on an otherwise idle machine; larger when other programs
  // share the cores).
  double measured = 2.0 * items / cpu;
  double measured_wall = 2.0 * items / (wall * threads);
  double bound = 1e6 / (hash_us + 2 * mult_us);
  std::string prefix = absl::StrCat("psi_", items);
  std::cout << prefix << "_threads " << threads << "\n"
            << prefix << "_wall_seconds " << wall << "\n"
            << prefix << "_hash_to_group_us " << hash_us << "\n"
            << prefix << "_scalar_mult_us " << mult_us << "\n"
            << prefix << "_cpu_seconds " << cpu << "\n"
            << prefix << "_items_per_second_per_core " << measured << "\n"
            << prefix << "_items_per_wall_second_per_core " << measured_wall << "\n"
            << prefix << "_bound_items_per_second_per_core " << bound << "\n"
            << prefix << "_ratio " << bound / measured << "\n"
            << prefix << "_wall_ratio " << bound / measured_wall << "\n";
  return 0;
}
