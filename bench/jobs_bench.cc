// What the sandbox costs a job (issue 12): starting a sandboxed program (an empty Python script)
// against starting the same program directly on the same files, interleaved run by run; and the
// cost of preparing a run folder (the export's file work: writing the inputs, sealing them for
// the run's uid, collecting the outputs) against writing the same bytes to a plain folder.
//
//   jobs_bench [--runs 20] [--rows 100000]
//
// Prints one line per figure, `name value` (medians; ratios against the direct run).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "jobs/sandbox.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double Micros(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// python3 on the script, directly: fork, exec, wait.
double RunDirect(const std::string& script) {
  auto start = Clock::now();
  pid_t child = fork();
  if (child == 0) {
    execl("/usr/bin/python3", "python3", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return Micros(start);
}

std::string Csv(int rows) {
  std::string text = "household_id,age,income,household_size\n";
  for (int i = 0; i < rows; ++i) {
    text += std::to_string(i) + "," + std::to_string(20 + i % 60) + "," +
            std::to_string(20000 + (i * 37) % 150000) + "," + std::to_string(1 + i % 6) + "\n";
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20, rows = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    if (flag == "--rows") rows = std::atoi(argv[i + 1]);
  }
  if (!parley::jobs::SandboxAvailable()) {
    std::cerr << "bwrap is not installed\n";
    return 1;
  }
  fs::path scratch = fs::temp_directory_path() / ("parley-jobs-bench-" + std::to_string(getpid()));
  fs::create_directories(scratch);
  fs::permissions(scratch, fs::perms(0711));
  std::string runs_folder = (scratch / "runs").string();
  fs::path plain = scratch / "plain";
  fs::create_directories(plain);
  std::ofstream(plain / "empty.py") << "";
  std::string data = Csv(rows);

  std::vector<double> direct, sandboxed, prepare_plain, prepare_sandbox;
  for (int run = 0; run < runs + 1; ++run) {
    // Interleaved: direct, then sandboxed, on the same script.
    double d = RunDirect((plain / "empty.py").string());

    auto start = Clock::now();
    auto directory = parley::jobs::RunDirectory::Create(runs_folder);
    if (!directory.ok()) {
      std::cerr << directory.status() << "\n";
      return 1;
    }
    std::ofstream(directory->input() + "/input.csv") << data;
    std::ofstream(directory->input() + "/empty.py") << "";
    if (!directory->SealInputs().ok()) return 1;
    double prepare = Micros(start);
    parley::jobs::SandboxRequest request;
    request.argv = {"/usr/bin/python3", "/in/empty.py"};
    auto result = parley::jobs::RunSandboxed(*directory, request);
    if (!result.ok() || !result->succeeded()) {
      std::cerr << "sandboxed run failed\n";
      return 1;
    }
    double s = static_cast<double>(result->wall_microseconds);
    auto collect = Clock::now();
    auto outputs = parley::jobs::CollectOutputs(directory->output(), int64_t{1} << 30);
    prepare += Micros(collect);

    auto plain_start = Clock::now();
    std::ofstream(plain / "input.csv") << data;
    double p = Micros(plain_start);
    if (run == 0) continue;  // warm-up
    direct.push_back(d);
    sandboxed.push_back(s);
    prepare_sandbox.push_back(prepare);
    prepare_plain.push_back(p);
  }
  fs::remove_all(scratch);
  std::cout << "direct_empty_python_us " << Median(direct) << "\n"
            << "sandboxed_empty_python_us " << Median(sandboxed) << "\n"
            << "sandbox_start_overhead_us " << Median(sandboxed) - Median(direct) << "\n"
            << "sandbox_start_ratio " << Median(sandboxed) / Median(direct) << "\n"
            << "input_" << rows << "_rows_plain_write_us " << Median(prepare_plain) << "\n"
            << "input_" << rows << "_rows_run_folder_us " << Median(prepare_sandbox) << "\n"
            << "input_" << rows << "_rows_run_folder_ratio "
            << Median(prepare_sandbox) / Median(prepare_plain) << "\n";
  return 0;
}
