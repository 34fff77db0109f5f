// The sandbox that runs members' code (jobs) over exported inputs: bubblewrap (`bwrap`) in new
// user, PID, network, IPC, UTS and cgroup namespaces, as an unprivileged uid of its own, under
// resource limits, with a read-only view of the system and exactly two directories of the host:
// the run's inputs (read-only, /in) and its outputs (writable, /out). Assets approved for the run
// copied into the run directory appear read-only under /assets. Nothing else of the host is
// visible: not the Parley home or its catalog, not other runs' directories, not the server's
// processes (/proc is the sandbox's own), no network but the sandbox's own loopback.
//
// Why each limit is where it is:
// - The job runs as a uid no one else uses (kSandboxUidBase + a per-run offset) because Parley
//   usually runs as root, and the kernel does not enforce RLIMIT_NPROC for root: a fork bomb
//   would otherwise only stop at the machine's limit. The same uid owns /out; /in and the run
//   directory belong to root with the uid's group, so no other local user can read the inputs.
// - CPU time, address space, processes, open files and each file's size are rlimits, inherited
//   by bwrap and everything the job starts. The total size of /out is watched by the parent while
//   the job runs and checked again at the end (rlimits bound one file, not a directory). /tmp is
//   a tmpfs of bounded size, so a job cannot fill memory through it.
// - Wall time is enforced by the parent, which kills the whole process group; bwrap's
//   --die-with-parent and the child's parent-death signal end the sandbox if Parley itself dies.
//
//   jobs::RunDirectory dir = ...;  // jobs::RunDirectory::Create(parent)
//   jobs::SandboxRequest request{.argv = {"/usr/bin/python3", "/in/job.py"}};
//   PARLEY_ASSIGN_OR_RETURN(jobs::SandboxResult result, jobs::RunSandboxed(dir, request));
//   if (!result.succeeded()) ...  // result.reason says why, in words that name no data
//
// Thread safety: RunSandboxed may be called from several threads at once (each run has its own
// directory, uid and child process).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace parley::jobs {

// The first uid (and gid) the sandbox runs jobs as; each run takes one of kSandboxUidCount.
inline constexpr uint32_t kSandboxUidBase = 1'900'000'000;
inline constexpr uint32_t kSandboxUidCount = 65'536;

struct SandboxLimits {
  int64_t cpu_seconds = 300;
  int64_t memory_bytes = int64_t{4} << 30;  // address space of each process
  int64_t processes = 64;
  int64_t open_files = 256;
  int64_t file_bytes = int64_t{256} << 20;    // each file written
  int64_t output_bytes = int64_t{512} << 20;  // the whole output directory
  int64_t tmp_bytes = int64_t{256} << 20;     // the sandbox's /tmp
  int64_t wall_milliseconds = 600'000;
  int64_t log_bytes = 1 << 20;  // stdout and stderr each kept up to this, the rest dropped
};

// A run's private directory on the host: <root>/in and <root>/assets (read-only inside the
// sandbox, as /in and /assets) and <root>/out (writable, /out), created for one run and removed
// (with everything in it) when the object is destroyed. `root` is created with mkdtemp under
// `parent`, mode 0750, group the run's gid.
class RunDirectory {
 public:
  // Errors: Internal when the directory cannot be created or given to the run's uid.
  static absl::StatusOr<RunDirectory> Create(const std::string& parent);
  RunDirectory(RunDirectory&& other) noexcept;
  RunDirectory& operator=(RunDirectory&&) = delete;
  RunDirectory(const RunDirectory&) = delete;
  ~RunDirectory();

  const std::string& root() const { return root_; }
  std::string input() const { return root_ + "/in"; }
  std::string output() const { return root_ + "/out"; }
  std::string assets() const { return root_ + "/assets"; }
  uint32_t uid() const { return uid_; }
  // Makes everything written into input() and assets() readable by the run (group read, owner
  // root) and nothing writable. Call once the inputs are in place, before RunSandboxed.
  absl::Status SealInputs() const;

 private:
  RunDirectory(std::string root, uint32_t uid) : root_(std::move(root)), uid_(uid) {}
  std::string root_;
  uint32_t uid_ = 0;
};

struct SandboxRequest {
  // argv[0] is an absolute path inside the sandbox (/usr/bin/python3, /usr/bin/Rscript).
  std::vector<std::string> argv;
  // Added to a minimal environment (HOME=/tmp, PATH, LANG, one thread for BLAS).
  std::map<std::string, std::string> environment;
  SandboxLimits limits;
};

enum class SandboxEnd {
  kExited,          // the program exited by itself (exit_code says how)
  kSignaled,        // killed by a signal: a limit (CPU: SIGXCPU/SIGKILL, file size: SIGXFSZ)
  kWallTimeout,     // still running at the wall-time limit: killed
  kOutputTooLarge,  // the output directory grew beyond output_bytes: killed (or found at the end)
};

struct SandboxResult {
  SandboxEnd end = SandboxEnd::kExited;
  int exit_code = -1;  // kExited only
  int signal = 0;      // kSignaled only
  std::string stdout_text;
  std::string stderr_text;
  bool logs_truncated = false;
  int64_t wall_microseconds = 0;
  bool succeeded() const { return end == SandboxEnd::kExited && exit_code == 0; }
  // "exited with status 1", "killed by signal 24 (file size limit)", "wall time limit (2 s)
  // reached", "output larger than 1048576 bytes".
  std::string reason;
};

// Runs request.argv in the sandbox over `directory`. A program that fails, is killed or breaks a
// limit is a result (succeeded() false), not an error. Errors: FailedPrecondition when bwrap is
// not installed; Internal when the sandbox cannot be started.
absl::StatusOr<SandboxResult> RunSandboxed(const RunDirectory& directory,
                                           const SandboxRequest& request);

// A file a run left in its output directory, read safely: regular files only, never through a
// link. `relative_path` uses '/' and never starts with one.
struct OutputFile {
  std::string relative_path;
  std::string bytes;
};

// Reads every file of `output_dir`, refusing (FailedPrecondition naming the path) a symbolic
// link, a file with more than one hard link, a device, FIFO or socket, more than `max_files`
// files or more than `max_bytes` in total. Directories are descended into (depth at most 8).
absl::StatusOr<std::vector<OutputFile>> CollectOutputs(const std::string& output_dir,
                                                       int64_t max_bytes, int max_files = 1000);

// Whether bwrap is installed where RunSandboxed looks for it.
bool SandboxAvailable();

}  // namespace parley::jobs
