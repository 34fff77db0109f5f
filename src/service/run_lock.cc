#include "service/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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

// A RunJournal token names its journal's lock: "NAME#N".
std::string LockNameOf(const std::string& name) { return name.substr(0, name.find('#')); }

bool IsLockName(const std::string& name) {
  return name.size() > 4 && name.rfind("run-", 0) == 0 &&
         name.find_first_of("/\\") == std::string::npos && name.find("..") == std::string::npos;
}

}  // namespace

absl::StatusOr<RunLock> RunLock::Acquire(const fs::path& directory) {
  std::string name = NewName();
  fs::path path = directory / name;
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    // The folder is made (owner only) by the first run, not looked at by every run.
    std::error_code error;
    fs::create_directories(directory, error);
    if (error) return absl::InternalError(absl::StrCat("cannot create ", directory.string()));
    fs::permissions(directory, fs::perms::owner_all, error);
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
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
      fd_(std::exchange(other.fd_, -1)),
      size_(std::exchange(other.size_, 0)),
      keep_file_(other.keep_file_) {}

absl::Status RunLock::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t written = ::write(fd_, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return absl::InternalError(absl::StrCat("cannot write ", path_.string()));
    bytes.remove_prefix(static_cast<size_t>(written));
    size_ += written;
  }
  return absl::OkStatus();
}

void RunLock::Truncate() {
  if (::ftruncate(fd_, 0) == 0) size_ = 0;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // Removed while still locked, so nobody can find the file unlocked and take it for abandoned
  // before the record says the query finished (the caller finishes the record first).
  std::error_code ignored;
  if (!keep_file_) fs::remove(path_, ignored);
  ::close(fd_);
}

bool RunLock::Abandoned(const fs::path& directory, const std::string& token) {
  std::string name = LockNameOf(token);
  if (!IsLockName(name)) return true;
  int fd = ::open((directory / name).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return true;
  // A separate open file description: it conflicts with the holder's lock even in the same
  // process (two Service instances), and is released by close.
  bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

void RunLock::Remove(const fs::path& directory, const std::string& token) {
  std::string name = LockNameOf(token);
  if (!IsLockName(name)) return;
  std::error_code ignored;
  fs::remove(directory / name, ignored);
}

// --- RunJournal ---------------------------------------------------------------------------

namespace {

// The first line of every journal, written as soon as its lock is held: a journal that is still
// empty may be one whose lock is about to be taken, and is never locked by RecordAbandoned.
constexpr std::string_view kJournalHeader = "parley run journal 1\n";
// Emptied once it has grown past this and no run is open (not after every run: allocating the
// file's first block again on every query costs what the journal saves).
constexpr int64_t kJournalTruncateBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<RunJournal>> RunJournal::Open(const fs::path& directory) {
  PARLEY_ASSIGN_OR_RETURN(RunLock lock, RunLock::Acquire(directory));
  PARLEY_RETURN_IF_ERROR(lock.Append(kJournalHeader));
  return std::unique_ptr<RunJournal>(new RunJournal(std::move(lock)));
}

RunJournal::~RunJournal() {
  if (open_runs_ > 0) lock_.KeepFile();
}

std::string RunJournal::NewToken() {
  std::lock_guard<std::mutex> guard(mutex_);
  return absl::StrCat(lock_.name(), "#", ++next_);
}

absl::Status RunJournal::Started(const std::string& token, const std::string& record) {
  if (record.find('\n') != std::string::npos) {
    return absl::InternalError("a run journal record is one line");
  }
  std::lock_guard<std::mutex> guard(mutex_);
  PARLEY_RETURN_IF_ERROR(lock_.Append(absl::StrCat("S ", token, " ", record, "\n")));
  ++open_runs_;
  return absl::OkStatus();
}

void RunJournal::Ended(const std::string& token) {
  std::lock_guard<std::mutex> guard(mutex_);
  --open_runs_;
  if (open_runs_ == 0 && lock_.size() > kJournalTruncateBytes) {
    // Nothing in it is needed any more: every run it lists is in the catalog.
    lock_.Truncate();
    (void)lock_.Append(kJournalHeader);
    return;
  }
  (void)lock_.Append(absl::StrCat("E ", token, "\n"));
}

void RunJournal::RecordAbandoned(
    const fs::path& directory,
    const std::function<absl::Status(const std::string&, const std::string&)>& record) {
  std::error_code error;
  fs::directory_iterator entries(directory, error);
  if (error) return;  // no folder: no run was ever journalled here
  std::vector<fs::path> journals;
  for (const fs::directory_entry& entry : entries) {
    std::string name = entry.path().filename().string();
    if (IsLockName(name)) journals.push_back(entry.path());
  }
  for (const fs::path& path : journals) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    struct stat info;
    // Empty: its lock may be about to be taken (or a RunLock with no journal): not ours to take.
    if (::fstat(fd, &info) != 0 || info.st_size == 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;
    }
    std::string content;
    char buffer[65536];
    while (true) {
      ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      content.append(buffer, static_cast<size_t>(got));
    }
    // Started and not ended, in the order they started.
    std::vector<std::pair<std::string, std::string>> open;
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      if (end == std::string::npos) break;  // a last line cut short: its run had not started
      std::string_view line(content.data() + start, end - start);
      start = end + 1;
      if (line.size() > 2 && line.substr(0, 2) == "S ") {
        size_t space = line.find(' ', 2);
        if (space == std::string_view::npos) continue;
        open.emplace_back(std::string(line.substr(2, space - 2)),
                          std::string(line.substr(space + 1)));
      } else if (line.size() > 2 && line.substr(0, 2) == "E ") {
        std::string token(line.substr(2));
        std::erase_if(open, [&](const auto& run) { return run.first == token; });
      }
    }
    bool recorded = true;
    for (const auto& [token, json] : open) recorded = record(token, json).ok() && recorded;
    // Removed while still locked, as RunLock does.
    if (recorded) fs::remove(path, error);
    ::close(fd);
  }
}

}  // namespace parley::service
