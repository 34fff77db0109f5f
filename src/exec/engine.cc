#include "exec/engine.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "exec/duckdb_api.h"

namespace parley::exec {

std::string DefaultMemoryLimit() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return "4GB";
  int64_t megabytes = static_cast<int64_t>(pages) * page_size / (1024 * 1024);
  return absl::StrCat(megabytes * 3 / 4, "MB");
}

namespace {

std::string QuotedList(const std::set<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(QuoteString(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string SecondsText(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000);
  return absl::StrFormat("%.3g", static_cast<double>(timeout.count()) / 1000.0);
}

// Calls duckdb_interrupt on the connection if the query outlives the timeout, or once the
// cancel flag is set (checked every 50 ms). Once fired it interrupts again every 50 ms until the
// query returns: DuckDB clears the flag when a statement starts, so an interrupt that lands
// between two steps of a run (prepare, then execute) would otherwise be lost. The mutex makes
// "the query finished" and "interrupt it" mutually exclusive, so a query that completed is never
// interrupted after the fact (which would leave the flag set for the next one).
class Watchdog {
 public:
  enum class Fired { kNo, kTimeout, kCancel };

  Watchdog(duckdb_connection connection, std::chrono::milliseconds timeout,
           const std::atomic<bool>* cancel)
      : thread_([this, connection, timeout, cancel] {
          constexpr std::chrono::milliseconds kPoll(50);
          auto deadline = std::chrono::steady_clock::now() + timeout;
          std::unique_lock lock(mutex_);
          while (!done_) {
            auto now = std::chrono::steady_clock::now();
            if (fired_ == Fired::kNo && cancel != nullptr && cancel->load()) {
              fired_ = Fired::kCancel;
            } else if (fired_ == Fired::kNo && now >= deadline) {
              fired_ = Fired::kTimeout;
            }
            if (fired_ != Fired::kNo) duckdb_interrupt(connection);
            auto wake = fired_ == Fired::kNo && cancel == nullptr ? deadline
                        : fired_ == Fired::kNo                    ? std::min(deadline, now + kPoll)
                                                                  : now + kPoll;
            done_cv_.wait_until(lock, wake, [this] { return done_; });
          }
        }) {}
  ~Watchdog() { Stop(); }

  // Whether, and why, the watchdog interrupted the query.
  Fired Stop() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  Fired fired_ = Fired::kNo;
  std::thread thread_;  // last: starts after the state above exists
};

std::string StripTrailingSemicolons(const std::string& sql) {
  size_t end = sql.find_last_not_of(" \t\r\n;");
  return end == std::string::npos ? std::string() : sql.substr(0, end + 1);
}

}  // namespace

struct Session::Impl {
  InMemoryDatabase db;
  Limits limits;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Open(const std::vector<SourceView>& views,
                                                       const Limits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  PARLEY_ASSIGN_OR_RETURN(impl->db,
                          OpenInMemoryDatabase({.memory_limit = limits.memory_limit,
                                                .threads = limits.threads,
                                                .temp_directory = limits.temp_directory}));
  duckdb_connection connection = impl->db.connection.get();

  std::set<std::string> paths;
  std::set<std::string> directories;
  for (const SourceView& view : views) {
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
  lockdown.push_back("SET enable_external_access=false");
  lockdown.push_back("SET lock_configuration=true");
  for (const std::string& statement : lockdown) {
    absl::Status status =
        ExecuteStatement(connection, statement, "cannot lock the DuckDB session down");
    if (!status.ok()) return absl::InternalError(status.message());
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

absl::StatusOr<ResultTable> Session::Run(const std::string& sql) {
  duckdb_connection connection = impl_->db.connection.get();
  // Exactly one statement may run: a renderer bug must not turn into a batch.
  {
    DuckExtracted statements;
    idx_t count = duckdb_extract_statements(connection, sql.c_str(), statements.out());
    if (count == 0) return absl::InvalidArgumentError("query failed: parser error");
    if (count > 1) {
      return absl::InvalidArgumentError("query failed: expected exactly one statement");
    }
  }

  ResultTable table;
  DuckResult result;
  bool failed = false;
  Watchdog::Fired interrupted = Watchdog::Fired::kNo;
  {
    Watchdog watchdog(connection, impl_->limits.timeout, impl_->limits.cancel);
    DuckPrepared prepared;
    if (duckdb_prepare(connection, sql.c_str(), prepared.out()) == DuckDBError) {
      // A failed prepare reports only DuckDB's message, which may quote literals. Running the
      // statement fails the same way and reports the error's class.
      failed = duckdb_query(connection, sql.c_str(), result.out()) == DuckDBError;
    } else if (duckdb_prepared_statement_type(prepared.get()) == DUCKDB_STATEMENT_TYPE_SELECT) {
      // DuckDB's C API cannot fetch every type as text (TIMESTAMP WITH TIME ZONE, UUID, lists,
      // structs come back empty), so DuckDB casts each column to VARCHAR itself. A projection over
      // a subquery keeps the subquery's row order (DuckDB's documented order preservation), so
      // ORDER BY survives. The names and types come from the original statement.
      idx_t column_count = duckdb_prepared_statement_column_count(prepared.get());
      for (idx_t column = 0; column < column_count; ++column) {
        DuckLogicalType type;
        *type.out() = duckdb_prepared_statement_column_logical_type(prepared.get(), column);
        table.columns.push_back(
            {duckdb_prepared_statement_column_name(prepared.get(), column), TypeName(type.get())});
      }
      // The line break keeps a trailing "-- comment" from swallowing the closing parenthesis.
      std::string as_text = absl::StrCat("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (",
                                         StripTrailingSemicolons(sql), "\n) AS parley_result");
      failed = duckdb_query(connection, as_text.c_str(), result.out()) == DuckDBError;
    } else {
      failed = duckdb_execute_prepared(prepared.get(), result.out()) == DuckDBError;
    }
    interrupted = watchdog.Stop();
  }
  if (failed) {
    duckdb_error_type type = duckdb_result_error_type(&result.get());
    // Whatever DuckDB reports for a query the watchdog stopped, the cause is the time limit or
    // the interrupt.
    if (interrupted == Watchdog::Fired::kCancel) return absl::CancelledError("query interrupted");
    if (interrupted == Watchdog::Fired::kTimeout) {
      return absl::DeadlineExceededError(absl::StrCat("query exceeded the time limit of ",
                                                      SecondsText(impl_->limits.timeout), " s"));
    }
    ErrorClass error = ClassifyError(type);
    if (error.code == absl::StatusCode::kResourceExhausted) {
      return absl::ResourceExhaustedError(
          absl::StrCat("query exceeded the memory limit of ", impl_->limits.memory_limit));
    }
    return absl::Status(error.code, absl::StrCat("query failed during execution: ", error.name));
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

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string QuoteString(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace parley::exec
