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
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // now. A name that is not one this class made (empty, or with a '/') is abandoned. `name` may
  // be a RunJournal token ("NAME#N"): its journal's lock is meant.
  static bool Abandoned(const std::filesystem::path& directory, const std::string& name);
  // Removes the file of an abandoned lock (nothing when it is absent).
  static void Remove(const std::filesystem::path& directory, const std::string& name);

  // Appends `bytes` to the lock's file (one write(2), O_APPEND); Internal when it fails.
  absl::Status Append(std::string_view bytes);
  // Empties the file (nothing else holds a record in it).
  void Truncate();
  // Makes the destructor leave the file in place (unlocked), for another process to find.
  void KeepFile() { keep_file_ = true; }
  int64_t size() const { return size_; }

 private:
  RunLock(std::filesystem::path path, std::string name, int fd)
      : path_(std::move(path)), name_(std::move(name)), fd_(fd) {}
  std::filesystem::path path_;
  std::string name_;
  int fd_ = -1;
  int64_t size_ = 0;
  bool keep_file_ = false;
};

// The run journal of one Service (the fast path of synchronous queries, issue 7): one RunLock
// held for the Service's life, whose file lists the runs that are not recorded in the catalog
// yet. A synchronous query is recorded once, when it ends (Store::RecordRun: one write instead
// of one when it starts and one when it ends); meanwhile its record lives here, so that if the
// process dies mid-run, the next process that looks (RecordAbandoned) records it as killed, as
// the catalog's "running" records are. A line "S TOKEN JSON" when a run starts, "E TOKEN" once
// the catalog holds its record; the file is emptied when it has grown and no run is open.
//
// Why one file per Service and not per run: creating and removing a file per query (an inode
// allocated and freed) cost more than the rest of the lock; a lock held by a live process means
// all its runs are live. Thread safety: Started and Ended may be called from any thread.
class RunJournal {
 public:
  // Creates and locks the journal's file in `directory` (RunLock::Acquire).
  static absl::StatusOr<std::unique_ptr<RunJournal>> Open(const std::filesystem::path& directory);
  // Removes the journal, unless a run it lists never ended (its record failed): then the file
  // stays, unlocked, and the next process that looks records that run as killed.
  ~RunJournal();

  // A token naming one run, unique over processes: "LOCKNAME#N". RunLock::Abandoned(directory,
  // token) tells whether its journal's process is gone.
  std::string NewToken();
  // Records that the run `token` started, with what is needed to record it (`record`: one line
  // of JSON, no newline). Internal when the file cannot be written.
  absl::Status Started(const std::string& token, const std::string& record);
  // The catalog holds the run's record now (a failure to write is ignored: the token in the
  // record keeps it from being recorded twice).
  void Ended(const std::string& token);

  // For each journal in `directory` whose process is gone (its lock is free): `record` is called
  // with each run that started and did not end (its token and JSON), then the file is removed —
  // unless `record` failed for one of them (then the journal is kept, to be tried again later).
  // A journal still empty or held is left alone.
  static void RecordAbandoned(const std::filesystem::path& directory,
                              const std::function<absl::Status(const std::string& token,
                                                               const std::string& record)>& record);

 private:
  explicit RunJournal(RunLock lock) : lock_(std::move(lock)) {}
  std::mutex mutex_;
  RunLock lock_;  // guarded by mutex_
  int64_t next_ = 0;
  int open_runs_ = 0;
};

}  // namespace parley::service
