#include "service/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;

// 128 random bits drawn once per process, then a counter: names never collide between processes
// or within one, and are not guessable paths. (Drawing 128 fresh bits for every query cost more
// than the lock itself.)
std::string NewName() {
  static const std::string* const kProcessPrefix = [] {
    std::random_device random;
    auto* prefix = new std::string("run-");
    for (int i = 0; i < 4; ++i) absl::StrAppendFormat(prefix, "%08x", random());
    return prefix;
  }();
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(*kProcessPrefix, "-", counter.fetch_add(1, std::memory_order_relaxed),
                      ".lock");
}

bool IsLockName(const std::string& name) {
  return name.size() > 4 && name.rfind("run-", 0) == 0 &&
         name.find_first_of("/\\") == std::string::npos && name.find("..") == std::string::npos;
}

}  // namespace

absl::StatusOr<RunLock> RunLock::Acquire(const fs::path& directory) {
  std::string name = NewName();
  fs::path path = directory / name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    // The folder is made (owner only) by the first run, not looked at by every run.
    std::error_code error;
    fs::create_directories(directory, error);
    if (error) return absl::InternalError(absl::StrCat("cannot create ", directory.string()));
    fs::permissions(directory, fs::perms::owner_all, error);
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", path.string()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    std::error_code error;
    fs::remove(path, error);
    return absl::InternalError(absl::StrCat("cannot lock ", path.string()));
  }
  return RunLock(std::move(path), std::move(name), fd);
}

RunLock::RunLock(RunLock&& other) noexcept
    : path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      fd_(std::exchange(other.fd_, -1)) {}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // Removed while still locked, so nobody can find the file unlocked and take it for abandoned
  // before the record says the query finished (the caller finishes the record first).
  std::error_code ignored;
  fs::remove(path_, ignored);
  ::close(fd_);
}

bool RunLock::Abandoned(const fs::path& directory, const std::string& name) {
  if (!IsLockName(name)) return true;
  int fd = ::open((directory / name).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return true;
  // A separate open file description: it conflicts with the holder's lock even in the same
  // process (two Service instances), and is released by close.
  bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

void RunLock::Remove(const fs::path& directory, const std::string& name) {
  if (!IsLockName(name)) return;
  std::error_code ignored;
  fs::remove(directory / name, ignored);
}

}  // namespace parley::service
