// Telling a query that is still running from one whose process died. While a query runs, its
// process holds an exclusive flock(2) on a file of its own under HOME/running; the kernel drops
// that lock the moment the process ends, however it ends (SIGKILL, a crash, the machine's OOM
// killer). Another process that finds the query still "running" in the catalog but can take its
// lock knows that nobody is running it any more, and marks it killed.
//
// Why a lock and not a process id: a pid is reused, and means nothing across the PID namespaces
// of a container and its host that may share one home; a lock on a file is released by exactly
// the death of its holder. The lock file is created and locked before the query is recorded, so
// a record whose lock file is missing was abandoned too.
//
//   PARLEY_ASSIGN_OR_RETURN(RunLock lock, RunLock::Acquire(home / "running"));
//   record.run_lock = lock.name();  // ... run, then finish the record; the lock goes with `lock`
//
// Thread safety: a RunLock is owned by the thread running its query; Abandoned may be called
// from any thread or process.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace parley::service {

class RunLock {
 public:
  // Creates a new lock file in `directory` (created 0700 if absent) and locks it. Internal when
  // the file cannot be created or locked.
  static absl::StatusOr<RunLock> Acquire(const std::filesystem::path& directory);
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&&) = delete;
  // Unlocks and removes the file.
  ~RunLock();

  // The file's name: what the catalog records to find the lock again.
  const std::string& name() const { return name_; }

  // True when nobody holds the lock `name` in `directory`: its file is gone or can be locked
  // now. A name that is not one this class made (empty, or with a '/') is abandoned.
  static bool Abandoned(const std::filesystem::path& directory, const std::string& name);
  // Removes the file of an abandoned lock (nothing when it is absent).
  static void Remove(const std::filesystem::path& directory, const std::string& name);

 private:
  RunLock(std::filesystem::path path, std::string name, int fd)
      : path_(std::move(path)), name_(std::move(name)), fd_(fd) {}
  std::filesystem::path path_;
  std::string name_;
  int fd_ = -1;
};

}  // namespace parley::service
