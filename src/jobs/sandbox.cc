#include "jobs/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parley::jobs {
namespace {

constexpr char kBwrap[] = "/usr/bin/bwrap";

bool IsRoot() { return geteuid() == 0; }

// Each run gets a uid of its own in [kSandboxUidBase, +kSandboxUidCount): the process id and a
// counter, so that concurrent runs of one server and of several CLI processes do not share a
// process budget (RLIMIT_NPROC counts per uid).
uint32_t NextRunUid() {
  static std::atomic<uint32_t> counter{0};
  uint32_t offset =
      (static_cast<uint32_t>(getpid()) * 64u + counter.fetch_add(1)) % kSandboxUidCount;
  return kSandboxUidBase + offset;
}

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Walks `path` without following links: calls `visit` on every entry (the path relative to the
// root and its lstat). Stops at the first error `visit` returns.
absl::Status Walk(
    const std::string& root, const std::string& relative, int depth,
    const std::function<absl::Status(const std::string&, const struct stat&)>& visit) {
  if (depth > 8) {
    return absl::FailedPreconditionError(
        absl::StrCat("output folder ", relative, " is nested more than 8 deep"));
  }
  std::string path = relative.empty() ? root : root + "/" + relative;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return Errno("cannot read folder", relative.empty() ? "." : relative);
  absl::Status status;
  while (struct dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = relative.empty() ? name : relative + "/" + name;
    struct stat info;
    if (fstatat(dirfd(dir), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      status = Errno("cannot stat", child);
      break;
    }
    status = visit(child, info);
    if (!status.ok()) break;
    if (S_ISDIR(info.st_mode)) {
      status = Walk(root, child, depth + 1, visit);
      if (!status.ok()) break;
    }
  }
  closedir(dir);
  return status;
}

// The total size of the regular files under `dir` (links and other entries count 0); -1 when it
// cannot be read. Used while the job runs, so it tolerates files vanishing.
int64_t DirectoryBytes(const std::string& dir) {
  int64_t total = 0;
  absl::Status status = Walk(dir, "", 0, [&](const std::string&, const struct stat& info) {
    if (S_ISREG(info.st_mode)) total += info.st_size;
    return absl::OkStatus();
  });
  if (!status.ok() && total == 0) return -1;
  return total;
}

void AddSystemMounts(std::vector<std::string>& args) {
  args.insert(args.end(), {"--ro-bind", "/usr", "/usr"});
  // Debian 12 has a merged /usr: these are links into it; elsewhere they are folders.
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code error;
    auto status = std::filesystem::symlink_status(top, error);
    if (error) continue;
    if (std::filesystem::is_symlink(status)) {
      std::string target = std::filesystem::read_symlink(top, error).string();
      if (!error) args.insert(args.end(), {"--symlink", target, top});
    } else if (std::filesystem::is_directory(status)) {
      args.insert(args.end(), {"--ro-bind", top, top});
    }
  }
  // A minimal /etc: the dynamic linker's cache, the alternatives Debian's BLAS and other shared
  // libraries are reached through, R's and matplotlib's configuration, fonts, time zone. No
  // passwd, shadow, hosts or resolver configuration.
  for (const char* etc :
       {"/etc/ld.so.cache", "/etc/alternatives", "/etc/R", "/etc/matplotlibrc", "/etc/fonts",
        "/etc/localtime", "/etc/mime.types", "/etc/jupyter", "/etc/python3", "/etc/python3.11"}) {
    args.insert(args.end(), {"--ro-bind-try", etc, etc});
  }
}

std::string SignalReason(int signal) {
  const char* what = "";
  switch (signal) {
    case SIGXCPU:
      what = " (CPU time limit)";
      break;
    case SIGXFSZ:
      what = " (file size limit)";
      break;
    case SIGKILL:
      what = " (killed)";
      break;
    case SIGSEGV:
      what = " (segmentation fault)";
      break;
    case SIGABRT:
      what = " (aborted)";
      break;
    default:
      break;
  }
  return absl::StrCat("killed by signal ", signal, what);
}

void AppendCapped(std::string& text, const char* data, size_t size, int64_t cap, bool& truncated) {
  size_t room = text.size() < static_cast<size_t>(cap) ? static_cast<size_t>(cap) - text.size() : 0;
  if (size > room) truncated = true;
  text.append(data, std::min(size, room));
}

}  // namespace

bool SandboxAvailable() { return access(kBwrap, X_OK) == 0; }

absl::StatusOr<RunDirectory> RunDirectory::Create(const std::string& parent) {
  // The parent holds only run folders: created here, listable by root only but traversable by
  // the runs' uids (bwrap, already running as the run's uid, opens the folders it mounts).
  if (mkdir(parent.c_str(), 0711) != 0 && errno != EEXIST) {
    return Errno("cannot create runs folder", parent);
  }
  std::string pattern = parent + "/parley-run-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) return Errno("cannot create run folder in", parent);
  std::string root = buffer.data();
  uint32_t uid = IsRoot() ? NextRunUid() : getuid();
  RunDirectory directory(root, uid);
  gid_t gid = IsRoot() ? uid : getgid();
  // Root and the run's group only: the inputs are other members' rows.
  if (chmod(root.c_str(), 0750) != 0) return Errno("cannot protect", root);
  if (IsRoot() && chown(root.c_str(), 0, gid) != 0) return Errno("cannot give", root);
  for (const char* sub : {"/in", "/assets", "/out"}) {
    std::string path = root + sub;
    if (mkdir(path.c_str(), 0750) != 0) return Errno("cannot create", path);
  }
  if (IsRoot()) {
    if (chown(directory.input().c_str(), 0, gid) != 0 ||
        chown(directory.assets().c_str(), 0, gid) != 0) {
      return Errno("cannot give", root);
    }
    // The output folder alone belongs to the run's uid.
    if (chown(directory.output().c_str(), uid, gid) != 0) return Errno("cannot give", root);
    if (chmod(directory.output().c_str(), 0700) != 0) return Errno("cannot protect", root);
  }
  return directory;
}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept
    : root_(std::exchange(other.root_, "")), uid_(other.uid_) {}

RunDirectory::~RunDirectory() {
  if (root_.empty()) return;
  std::error_code error;
  // remove_all does not follow links: a link the job left in /out removes the link only.
  std::filesystem::remove_all(root_, error);
}

absl::Status RunDirectory::SealInputs() const {
  gid_t gid = IsRoot() ? uid_ : getgid();
  for (const std::string& top : {input(), assets()}) {
    PARLEY_RETURN_IF_ERROR(
        Walk(top, "", 0, [&](const std::string& relative, const struct stat& info) {
          std::string path = top + "/" + relative;
          if (S_ISLNK(info.st_mode)) {
            return absl::FailedPreconditionError(absl::StrCat("input ", relative, " is a link"));
          }
          mode_t mode = S_ISDIR(info.st_mode) ? 0750 : 0640;
          if (chmod(path.c_str(), mode) != 0) return Errno("cannot protect", path);
          if (IsRoot() && chown(path.c_str(), 0, gid) != 0) return Errno("cannot give", path);
          return absl::OkStatus();
        }));
    if (chmod(top.c_str(), 0750) != 0) return Errno("cannot protect", top);
  }
  return absl::OkStatus();
}

namespace {

// Memory, processes and open files are rlimits: breaking one makes a call fail (malloc, fork,
// open) rather than killing the job, which then usually exits with an error. Which limit it was
// is read from the runtime's own words on stderr, and said in fixed words (never the log's
// text, which the runner may not be allowed to see). A job that fakes these words only changes
// its own failure's reason.
std::string LimitHint(const std::string& stderr_text, const SandboxLimits& limits) {
  auto says = [&](std::initializer_list<const char*> phrases) {
    return std::any_of(phrases.begin(), phrases.end(), [&](const char* phrase) {
      return stderr_text.find(phrase) != std::string::npos;
    });
  };
  if (says({"MemoryError", "Cannot allocate memory", "cannot allocate", "std::bad_alloc",
            "out of memory", "Out of memory", "Unable to allocate"})) {
    return absl::StrCat(" after running out of memory (limit ", limits.memory_bytes >> 20,
                        " MiB per process)");
  }
  if (says({"File too large"})) {
    return absl::StrCat(" after reaching the size limit of a file (", limits.file_bytes, " bytes)");
  }
  if (says({"No space left on device"})) {
    return absl::StrCat(" after filling its /tmp (", limits.tmp_bytes, " bytes)");
  }
  if (says({"Too many open files"})) {
    return absl::StrCat(" after reaching the open files limit (", limits.open_files, ")");
  }
  if (says({"Resource temporarily unavailable", "BlockingIOError", "fork: retry",
            "can't start new thread", "Cannot fork", "cannot fork"})) {
    return absl::StrCat(" after reaching the process limit (", limits.processes, ")");
  }
  return "";
}

}  // namespace

absl::StatusOr<SandboxResult> RunSandboxed(const RunDirectory& directory,
                                           const SandboxRequest& request) {
  if (!SandboxAvailable()) {
    return absl::FailedPreconditionError(
        "bubblewrap is not installed (Debian package bubblewrap): jobs cannot run");
  }
  if (request.argv.empty() || request.argv[0].empty() || request.argv[0][0] != '/') {
    return absl::InvalidArgumentError("a sandboxed program is named by an absolute path");
  }
  const SandboxLimits& limits = request.limits;
  std::vector<std::string> args = {
      kBwrap,          "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
      "--new-session", "--hostname",    "parley-job",     "--clearenv"};
  std::map<std::string, std::string> environment = {
      {"HOME", "/tmp"},
      {"PATH", "/usr/bin:/bin"},
      {"LANG", "C.UTF-8"},
      {"USER", "job"},
      {"TMPDIR", "/tmp"},
      {"MPLCONFIGDIR", "/tmp"},
      {"MPLBACKEND", "Agg"},
      {"OPENBLAS_NUM_THREADS", "1"},
      {"OMP_NUM_THREADS", "1"},
      {"MKL_NUM_THREADS", "1"},
      {"PYTHONDONTWRITEBYTECODE", "1"},
      {"PYTHONNOUSERSITE", "1"},
      {"JUPYTER_PLATFORM_DIRS", "1"},
  };
  for (const auto& [name, value] : request.environment) environment[name] = value;
  for (const auto& [name, value] : environment) args.insert(args.end(), {"--setenv", name, value});
  AddSystemMounts(args);
  args.insert(args.end(), {"--proc", "/proc", "--dev", "/dev", "--size",
                           std::to_string(limits.tmp_bytes), "--tmpfs", "/tmp", "--ro-bind",
                           directory.input(), "/in", "--bind", directory.output(), "/out"});
  std::error_code error;
  if (!std::filesystem::is_empty(directory.assets(), error) && !error) {
    args.insert(args.end(), {"--ro-bind", directory.assets(), "/assets"});
  }
  // The sandbox's root is a tmpfs holding the mount points: read-only once they are made.
  args.insert(args.end(), {"--remount-ro", "/", "--chdir", "/out", "--"});
  args.insert(args.end(), request.argv.begin(), request.argv.end());

  // Everything the child needs is prepared before fork: after it, only system calls.
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* empty_environment[] = {nullptr};
  uid_t uid = directory.uid();
  bool as_root = IsRoot();
  pid_t parent = getpid();
  struct Limit {
    int resource;
    rlim_t soft, hard;
  };
  const Limit rlimits[] = {
      {RLIMIT_CPU, static_cast<rlim_t>(limits.cpu_seconds),
       static_cast<rlim_t>(limits.cpu_seconds + 1)},
      {RLIMIT_AS, static_cast<rlim_t>(limits.memory_bytes),
       static_cast<rlim_t>(limits.memory_bytes)},
      {RLIMIT_NPROC, static_cast<rlim_t>(limits.processes), static_cast<rlim_t>(limits.processes)},
      {RLIMIT_NOFILE, static_cast<rlim_t>(limits.open_files),
       static_cast<rlim_t>(limits.open_files)},
      {RLIMIT_FSIZE, static_cast<rlim_t>(limits.file_bytes),
       static_cast<rlim_t>(limits.file_bytes)},
      {RLIMIT_CORE, 0, 0},
  };

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("cannot create pipe for", "sandbox");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Errno("cannot create pipe for", "sandbox");
  }
  auto start = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Errno("cannot fork for", "sandbox");
  }
  if (child == 0) {
    // Its own process group, so that the parent can kill bwrap and what it started at once.
    setsid();
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_pipe[1], 1) < 0 ||
        dup2(err_pipe[1], 2) < 0) {
      _exit(126);
    }
    // No descriptor of Parley (the catalog, results, sockets) reaches the job.
    syscall(SYS_close_range, 3u, ~0u, 0u);
    for (const Limit& limit : rlimits) {
      struct rlimit value = {limit.soft, limit.hard};
      if (setrlimit(limit.resource, &value) != 0) _exit(126);
    }
    if (as_root) {
      if (setgroups(0, nullptr) != 0 || setgid(uid) != 0 || setuid(uid) != 0) _exit(126);
      if (setuid(0) == 0) _exit(126);  // the switch must be irrevocable
    }
    // After the uid change, which clears it: bwrap dies with Parley.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    execve(kBwrap, argv.data(), empty_environment);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  SandboxResult result;
  auto deadline = start + std::chrono::milliseconds(limits.wall_milliseconds);
  auto next_size_check = start;
  bool killed_for_time = false, killed_for_size = false;
  int status = 0;
  bool exited = false;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_pipes = 2;
  char buffer[65536];
  auto kill_run = [&] {
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
  };
  while (!exited || open_pipes > 0) {
    int wait_ms = 50;
    if (open_pipes > 0) {
      int ready = poll(fds, 2, wait_ms);
      if (ready < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
        if (n > 0) {
          AppendCapped(i == 0 ? result.stdout_text : result.stderr_text, buffer,
                       static_cast<size_t>(n), limits.log_bytes, result.logs_truncated);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_pipes;
        }
      }
    } else {
      usleep(wait_ms * 1000);
    }
    if (!exited) {
      pid_t done = waitpid(child, &status, WNOHANG);
      if (done == child) {
        exited = true;
        // Whatever still holds the pipes (nothing should: the PID namespace ended with bwrap)
        // gets a short grace period, not an unbounded one.
        deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(2));
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (!exited && now >= next_size_check) {
      next_size_check = now + std::chrono::milliseconds(200);
      if (DirectoryBytes(directory.output()) > limits.output_bytes) {
        killed_for_size = true;
        kill_run();
      }
    }
    if (now >= deadline) {
      if (!exited) {
        killed_for_time = true;
        kill_run();
        waitpid(child, &status, 0);
        exited = true;
      }
      for (auto& fd : fds) {
        if (fd.fd >= 0) close(fd.fd);
        fd.fd = -1;
      }
      open_pipes = 0;
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  if (!exited) {
    kill_run();
    waitpid(child, &status, 0);
  }
  result.wall_microseconds = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
  if (killed_for_time) {
    result.end = SandboxEnd::kWallTimeout;
    result.reason = absl::StrFormat("wall time limit (%d ms) reached", limits.wall_milliseconds);
  } else if (killed_for_size || DirectoryBytes(directory.output()) > limits.output_bytes) {
    result.end = SandboxEnd::kOutputTooLarge;
    result.reason = absl::StrCat("output larger than ", limits.output_bytes, " bytes");
  } else if (WIFSIGNALED(status)) {
    result.end = SandboxEnd::kSignaled;
    result.signal = WTERMSIG(status);
    result.reason = SignalReason(result.signal);
  } else {
    int code = WEXITSTATUS(status);
    // bwrap reports a program killed by signal N as exit status 128 + N.
    if (code > 128 && code < 128 + 65) {
      result.end = SandboxEnd::kSignaled;
      result.signal = code - 128;
      result.reason = SignalReason(result.signal);
    } else {
      result.end = SandboxEnd::kExited;
      result.exit_code = code;
      result.reason = absl::StrCat("exited with status ", code);
      if (code != 0) absl::StrAppend(&result.reason, LimitHint(result.stderr_text, limits));
    }
  }
  return result;
}

absl::StatusOr<std::vector<OutputFile>> CollectOutputs(const std::string& output_dir,
                                                       int64_t max_bytes, int max_files) {
  std::vector<OutputFile> files;
  int64_t total = 0;
  PARLEY_RETURN_IF_ERROR(Walk(
      output_dir, "", 0, [&](const std::string& relative, const struct stat& info) -> absl::Status {
        if (S_ISDIR(info.st_mode)) return absl::OkStatus();
        if (S_ISLNK(info.st_mode)) {
          return absl::FailedPreconditionError(absl::StrCat("output ", relative, " is a link"));
        }
        if (!S_ISREG(info.st_mode)) {
          return absl::FailedPreconditionError(absl::StrCat("output ", relative, " is not a file"));
        }
        if (info.st_nlink != 1) {
          return absl::FailedPreconditionError(
              absl::StrCat("output ", relative, " is a hard link"));
        }
        if (static_cast<int>(files.size()) >= max_files) {
          return absl::FailedPreconditionError(
              absl::StrCat("more than ", max_files, " output files"));
        }
        total += info.st_size;
        if (total > max_bytes) {
          return absl::FailedPreconditionError(
              absl::StrCat("output larger than ", max_bytes, " bytes"));
        }
        std::string path = output_dir + "/" + relative;
        // O_NOFOLLOW: a link swapped in after the walk is refused, not followed.
        int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
          return absl::FailedPreconditionError(absl::StrCat("cannot read output ", relative));
        struct stat opened;
        if (fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode) || opened.st_nlink != 1 ||
            opened.st_ino != info.st_ino) {
          close(fd);
          return absl::FailedPreconditionError(absl::StrCat("output ", relative, " changed"));
        }
        OutputFile file{relative, std::string()};
        file.bytes.resize(static_cast<size_t>(opened.st_size));
        size_t done = 0;
        while (done < file.bytes.size()) {
          ssize_t n = read(fd, file.bytes.data() + done, file.bytes.size() - done);
          if (n <= 0) break;
          done += static_cast<size_t>(n);
        }
        close(fd);
        file.bytes.resize(done);
        files.push_back(std::move(file));
        return absl::OkStatus();
      }));
  std::sort(files.begin(), files.end(), [](const OutputFile& a, const OutputFile& b) {
    return a.relative_path < b.relative_path;
  });
  return files;
}

}  // namespace parley::jobs
