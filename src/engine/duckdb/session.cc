#include "engine/duckdb/session.h"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/scan_function.h"

namespace parley::engine::duckdb {

namespace {

// The number after `marker` in `message`, or 0.
int64_t NumberAfter(const std::string& message, std::string_view marker) {
  size_t at = message.find(marker);
  if (at == std::string::npos) return 0;
  size_t start = at + marker.size(), end = start;
  while (end < message.size() && absl::ascii_isdigit(message[end])) ++end;
  int64_t number = 0;
  if (end == start || !absl::SimpleAtoi(message.substr(start, end - start), &number)) return 0;
  return number;
}

// The text between `open` and the next `close`, or "".
std::string Between(const std::string& message, std::string_view open, std::string_view close) {
  size_t at = message.find(open);
  if (at == std::string::npos) return "";
  size_t start = at + open.size();
  size_t end = message.find(close, start);
  return end == std::string::npos ? "" : message.substr(start, end - start);
}

// A failure reading a CSV or JSON-lines file: DuckDB's message names the file, the line and the
// column it was converting (and quotes the line, which is not kept).
void AttachSourceReadError(const char* message, absl::Status& status) {
  if (message == nullptr) return;
  std::string text = message;
  SourceReadError error;
  if (absl::StrContains(text, "CSV Error on Line: ")) {
    error.line = NumberAfter(text, "CSV Error on Line: ");
    error.file = Between(text, "\n  file = ", "\n");
    error.column = Between(text, "Error when converting column \"", "\".");
  } else if (absl::StrContains(text, "JSON") && absl::StrContains(text, " in file \"")) {
    error.line = NumberAfter(text, " in line ");
    error.file = Between(text, " in file \"", "\"");
  } else {
    return;
  }
  if (error.file.empty()) return;
  SetSourceReadError(status, error);
}

std::string QuotedList(const std::set<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(QuoteString(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string SecondsText(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000);
  return absl::StrFormat("%.3g", static_cast<double>(timeout.count()) / 1000.0);
}

// Calls duckdb_interrupt on the connection if the armed query outlives its timeout, or once the
// cancel flag is set (checked every 50 ms). Once fired it interrupts again every 50 ms until the
// query is disarmed: DuckDB clears the flag when a statement starts, so an interrupt that lands
// between two steps of a run (prepare, then execute) would otherwise be lost. The mutex makes
// "the query finished" and "interrupt it" mutually exclusive, so a query that completed is never
// interrupted after the fact (which would leave the flag set for the next one).
// One thread per session, started once: starting and joining a thread per query cost ~0.5–1 ms
// on a loaded machine, a tenth of a small query. Disarm does not wait for the thread.
class Watchdog {
 public:
  enum class Fired { kNo, kTimeout, kCancel };

  explicit Watchdog(duckdb_connection connection)
      : connection_(connection), thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Arm(std::chrono::milliseconds timeout, const std::atomic<bool>* cancel,
           RunControl* control) {
    {
      std::lock_guard lock(mutex_);
      armed_ = true;
      fired_ = Fired::kNo;
      deadline_ = std::chrono::steady_clock::now() + timeout;
      cancel_ = cancel;
      control_ = control;
    }
    // Waking the thread costs a context switch on every query, and on a busy machine the query's
    // thread may then wait a whole time slice for its core: the idle thread looks every
    // kIdleTick anyway, and a timeout at least that long is still met on time (the thread then
    // waits until the deadline itself). A cancel flag is polled from the start.
    if (timeout < kIdleTick || cancel != nullptr || control != nullptr) wake_.notify_all();
  }

  // Whether, and why, the watchdog interrupted the query since Arm.
  Fired Disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;
    return fired_;
  }

 private:
  static constexpr std::chrono::milliseconds kIdleTick{1000};

  void Loop() {
    constexpr std::chrono::milliseconds kPoll(50);
    std::unique_lock lock(mutex_);
    while (!shutdown_) {
      if (!armed_) {
        wake_.wait_for(lock, kIdleTick);
        continue;
      }
      auto now = std::chrono::steady_clock::now();
      bool polled = cancel_ != nullptr || control_ != nullptr;
      if (control_ != nullptr) {
        // DuckDB keeps the running query's progress in its client context (atomics), readable
        // from another thread; -1 until its pipelines can estimate it.
        duckdb_query_progress_type progress = duckdb_query_progress(connection_);
        if (progress.percentage >= 0) control_->progress.store(progress.percentage);
      }
      if (fired_ == Fired::kNo && ((cancel_ != nullptr && cancel_->load()) ||
                                   (control_ != nullptr && control_->cancel.load()))) {
        fired_ = Fired::kCancel;
      } else if (fired_ == Fired::kNo && now >= deadline_) {
        fired_ = Fired::kTimeout;
      }
      if (fired_ != Fired::kNo) duckdb_interrupt(connection_);
      auto wake = fired_ == Fired::kNo && !polled ? deadline_
                  : fired_ == Fired::kNo          ? std::min(deadline_, now + kPoll)
                                                  : now + kPoll;
      // Also woken by shutdown, and by Arm when it must be (see Arm). Disarm needs no wake-up:
      // the loop finds the watchdog disarmed when it next looks. A later Arm of the same session
      // has a later deadline (its timeout is the session's), so sleeping until this one's
      // deadline never misses the next.
      wake_.wait_until(lock, wake);
    }
  }

  duckdb_connection connection_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool shutdown_ = false;
  bool armed_ = false;
  Fired fired_ = Fired::kNo;
  std::chrono::steady_clock::time_point deadline_;
  const std::atomic<bool>* cancel_ = nullptr;
  RunControl* control_ = nullptr;
  std::thread thread_;  // last: starts after the state above exists
};

// Whether DuckDB's C API renders a value of `type` as text exactly as CAST(value AS VARCHAR)
// does (duckdb_value_varchar; checked value by value in session_test.cc, RendersEveryTypeAsCast).
// Other types (TIMESTAMP WITH TIME ZONE, TIMESTAMP_S/MS/NS, TIME WITH TIME ZONE, UUID, ENUM, BIT,
// VARINT, nested types) come back empty from it, so their results are cast by DuckDB.
bool RenderedAsCast(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIME:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_INTERVAL:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB:
      return true;
    default:
      return false;
  }
}

std::string StripTrailingSemicolons(const std::string& sql) {
  size_t end = sql.find_last_not_of(" \t\r\n;");
  return end == std::string::npos ? std::string() : sql.substr(0, end + 1);
}

}  // namespace

// A folder of the session's own for DuckDB's spill files, made 0700 by mkdtemp inside
// Limits::temp_directory and removed with everything in it when the session closes. One folder
// per session: DuckDB names its spill files by number, so two databases sharing a folder would
// overwrite each other's.
class SpillDirectory {
 public:
  static absl::StatusOr<SpillDirectory> Create(const std::string& parent) {
    SpillDirectory directory;
    if (parent.empty()) return directory;
    std::string pattern = (std::filesystem::path(parent) / "session-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot create a temporary directory in '", parent, "'"));
    }
    directory.path_ = pattern;
    return directory;
  }
  SpillDirectory() = default;
  SpillDirectory(SpillDirectory&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  SpillDirectory& operator=(SpillDirectory&& other) noexcept {
    Remove();
    path_ = std::exchange(other.path_, "");
    return *this;
  }
  ~SpillDirectory() { Remove(); }

  const std::string& path() const { return path_; }

 private:
  void Remove() {
    if (path_.empty()) return;
    std::error_code ignored;  // a folder that cannot be removed is left, never an error
    std::filesystem::remove_all(path_, ignored);
    path_.clear();
  }
  std::string path_;
};

// Members in this order so that the database closes (and stops writing spill files) before its
// spill folder is removed.
struct Session::Impl {
  SpillDirectory spill;
  InMemoryDatabase db;
  Limits limits;
  std::unique_ptr<Watchdog> watchdog;  // stopped before the database closes
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Open(const std::vector<SourceView>& views,
                                                       const Limits& limits,
                                                       bool estimate_progress) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  // The spill folder is part of the configuration given at open, so lock_configuration below
  // fixes it: generated SQL cannot point DuckDB's writes elsewhere.
  PARLEY_ASSIGN_OR_RETURN(impl->spill, SpillDirectory::Create(limits.temp_directory));
  PARLEY_ASSIGN_OR_RETURN(impl->db, OpenInMemoryDatabase({.memory_limit = limits.memory_limit,
                                                          .threads = limits.threads,
                                                          .temp_directory = impl->spill.path()}));
  duckdb_connection connection = impl->db.connection.get();

  std::set<std::string> paths;
  std::set<std::string> directories;
  for (const SourceView& view : views) {
    if (view.scan != nullptr) {
      const auto* function = dynamic_cast<const ScanFunction*>(view.scan.get());
      if (function == nullptr) {
        return absl::InternalError(
            absl::StrCat("view '", view.name, "' needs a reader the DuckDB engine does not have"));
      }
      PARLEY_RETURN_IF_ERROR(function->Register(connection));
    }
    // Creating the view binds its query, which reads the source's header or metadata: a missing
    // file or a column that disappeared fails here. DuckDB's message may quote the file, so only
    // the class is kept.
    absl::Status created = ExecuteStatement(
        connection,
        absl::StrCat("CREATE VIEW ", QuoteIdentifier(view.name), " AS ", view.select_sql),
        absl::StrCat("cannot create view '", view.name, "'"));
    if (!created.ok()) {
      return absl::InvalidArgumentError(created.message());
    }
    paths.insert(view.allowed_paths.begin(), view.allowed_paths.end());
    directories.insert(view.allowed_directories.begin(), view.allowed_directories.end());
  }

  // The order matters: the allow-lists can only be set while external access is on, and the
  // lock must come last so that nothing — including generated SQL — can undo the settings.
  std::vector<std::string> lockdown;
  if (!paths.empty()) lockdown.push_back(absl::StrCat("SET allowed_paths=", QuotedList(paths)));
  if (!directories.empty()) {
    lockdown.push_back(absl::StrCat("SET allowed_directories=", QuotedList(directories)));
  }
  // Results render TIMESTAMP WITH TIME ZONE in the session's zone; fix it so output does not
  // depend on the server's locale.
  lockdown.push_back("SET TimeZone='UTC'");
  // Progress is estimated only with the progress bar on (duckdb_query_progress reads it); it is
  // never printed, and estimated from the start (progress_bar_time: not after 2 s). Off, DuckDB
  // skips the estimate after each task (ProgressBar::Update), which a small query pays for.
  lockdown.push_back(estimate_progress ? "SET enable_progress_bar=true"
                                       : "SET enable_progress_bar=false");
  lockdown.push_back("SET enable_progress_bar_print=false");
  lockdown.push_back("SET progress_bar_time=0");
  lockdown.push_back("SET enable_external_access=false");
  lockdown.push_back("SET lock_configuration=true");
  for (const std::string& statement : lockdown) {
    absl::Status status =
        ExecuteStatement(connection, statement, "cannot lock the DuckDB session down");
    if (!status.ok()) return absl::InternalError(status.message());
  }
  impl->watchdog = std::make_unique<Watchdog>(connection);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

absl::StatusOr<ResultTable> Session::Run(const std::string& sql, RunControl* control) {
  duckdb_connection connection = impl_->db.connection.get();
  // Exactly one statement may run: a renderer bug must not turn into a batch.
  DuckExtracted statements;
  idx_t count = duckdb_extract_statements(connection, sql.c_str(), statements.out());
  if (count == 0) return absl::InvalidArgumentError("query failed: parser error");
  if (count > 1) return absl::InvalidArgumentError("query failed: expected exactly one statement");

  ResultTable table;
  DuckResult result;
  bool failed = false;
  std::chrono::milliseconds timeout =
      control != nullptr && control->timeout.count() > 0 ? control->timeout : impl_->limits.timeout;
  impl_->watchdog->Arm(timeout, impl_->limits.cancel, control);
  // The statement runs as text, planned once: a prepared statement is planned when prepared and
  // bound again when it executes (~1 ms a query, a tenth of a small query's whole cost). The
  // result's columns' types name the result's columns, and the values are rendered as text from
  // the typed result.
  failed = duckdb_query(connection, sql.c_str(), result.out()) == DuckDBError;
  if (!failed && duckdb_result_statement_type(result.get()) == DUCKDB_STATEMENT_TYPE_SELECT) {
    idx_t column_count = duckdb_column_count(&result.get());
    bool all_rendered = true;
    for (idx_t column = 0; column < column_count; ++column) {
      DuckLogicalType type;
      *type.out() = duckdb_column_logical_type(&result.get(), column);
      all_rendered = all_rendered && RenderedAsCast(duckdb_get_type_id(type.get()));
      table.columns.push_back({duckdb_column_name(&result.get(), column), TypeName(type.get())});
    }
    if (!all_rendered) {
      // A column the C API cannot render (see RenderedAsCast): DuckDB casts every column to
      // VARCHAR itself, which runs the query a second time. A projection over a subquery keeps
      // the subquery's row order (DuckDB's documented order preservation), so ORDER BY survives.
      // The line break keeps a trailing "-- comment" from swallowing the closing parenthesis.
      std::string as_text = absl::StrCat("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (",
                                         StripTrailingSemicolons(sql), "\n) AS parley_result");
      failed = duckdb_query(connection, as_text.c_str(), result.out()) == DuckDBError;
    }
  }
  Watchdog::Fired interrupted = impl_->watchdog->Disarm();
  if (failed) {
    duckdb_error_type type = duckdb_result_error_type(&result.get());
    // Whatever DuckDB reports for a query the watchdog stopped, the cause is the time limit or
    // the interrupt.
    if (interrupted == Watchdog::Fired::kCancel) return absl::CancelledError("query interrupted");
    if (interrupted == Watchdog::Fired::kTimeout) {
      return absl::DeadlineExceededError(
          absl::StrCat("query exceeded the time limit of ", SecondsText(timeout), " s"));
    }
    ErrorClass error = ClassifyError(type);
    if (error.code == absl::StatusCode::kResourceExhausted) {
      return absl::ResourceExhaustedError(
          absl::StrCat("query exceeded the memory limit of ", impl_->limits.memory_limit));
    }
    absl::Status status(error.code, absl::StrCat("query failed during execution: ", error.name));
    AttachSourceReadError(duckdb_result_error(&result.get()), status);
    return status;
  }

  duckdb_result* raw = &result.get();
  idx_t column_count = duckdb_column_count(raw);
  if (table.columns.empty()) {
    // Statements other than SELECT (DESCRIBE, EXPLAIN, SET, ...): only plain text results.
    for (idx_t column = 0; column < column_count; ++column) {
      if (duckdb_column_type(raw, column) != DUCKDB_TYPE_VARCHAR &&
          duckdb_column_type(raw, column) != DUCKDB_TYPE_BIGINT &&
          duckdb_column_type(raw, column) != DUCKDB_TYPE_BOOLEAN) {
        return absl::InvalidArgumentError("query returned a type that cannot be read as text");
      }
      DuckLogicalType type;
      *type.out() = duckdb_column_logical_type(raw, column);
      table.columns.push_back({duckdb_column_name(raw, column), TypeName(type.get())});
    }
  }
  if (table.columns.size() != column_count) {
    return absl::InternalError("query result has an unexpected number of columns");
  }
  idx_t row_count = duckdb_row_count(raw);
  table.rows.reserve(row_count);
  for (idx_t row = 0; row < row_count; ++row) {
    std::vector<std::optional<std::string>>& values = table.rows.emplace_back();
    values.reserve(column_count);
    for (idx_t column = 0; column < column_count; ++column) {
      if (duckdb_value_is_null(raw, column, row)) {
        values.emplace_back(std::nullopt);
      } else {
        DuckString text(duckdb_value_varchar(raw, column, row));
        values.emplace_back(text == nullptr ? std::string() : std::string(text.get()));
      }
    }
  }
  return table;
}

absl::StatusOr<std::vector<ResultColumn>> Session::Describe(const std::string& view_name) {
  // DESCRIBE prints DuckDB's own type names, the same text InferSchema pinned.
  DuckResult result;
  std::string sql = absl::StrCat("DESCRIBE ", QuoteIdentifier(view_name));
  if (duckdb_query(impl_->db.connection.get(), sql.c_str(), result.out()) == DuckDBError) {
    ErrorClass error = ClassifyError(duckdb_result_error_type(&result.get()));
    if (duckdb_result_error_type(&result.get()) == DUCKDB_ERROR_CATALOG) {
      return absl::NotFoundError(absl::StrCat("no view named '", view_name, "'"));
    }
    return absl::Status(error.code,
                        absl::StrCat("cannot describe view '", view_name, "': ", error.name));
  }
  std::vector<ResultColumn> columns;
  duckdb_result* raw = &result.get();
  for (idx_t row = 0; row < duckdb_row_count(raw); ++row) {
    DuckString name(duckdb_value_varchar(raw, 0, row));
    DuckString type(duckdb_value_varchar(raw, 1, row));
    columns.push_back({name.get(), type.get()});
  }
  return columns;
}

}  // namespace parley::engine::duckdb
