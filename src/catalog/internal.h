// What the catalog's translation units (the store and its audit chain) share: RAII wrappers for
// SQLite handles, statements and transactions, the quoting of names in messages, and canonical
// JSON. Internal to src/catalog; nothing outside the folder includes it.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace parley::catalog::internal {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// SQLite handles.

// Prepared statements kept per connection (Statement::Prepare): a catalog call runs the same
// dozen statements on every query, and preparing one costs about as much as running it. Each
// connection keeps up to kMaxCachedStatements, one per SQL text; a statement is handed to one
// Statement at a time (a second Statement of the same text, while the first is alive, prepares
// its own) and is reset with its bindings cleared when handed back, so a cached statement holds
// no read open and no value of a previous call. The cache of a connection is finalized before it
// closes (CloseDatabase). Thread safety: the registry locks itself; one connection's statements
// are used only by the thread that holds the connection, as every use of a connection is.
class StatementCache {
 public:
  static constexpr size_t kMaxCachedStatements = 128;
  struct Entry {
    sqlite3_stmt* statement = nullptr;
    bool in_use = false;
  };
  // The cached, now reserved, statement of `sql` on `db`, preparing it if needed; nullptr when
  // it is in use or the cache is full (then the caller prepares its own), or an error.
  static absl::StatusOr<Entry*> Take(sqlite3* db, std::string_view sql);
  // Resets `entry`'s statement, clears its bindings and makes it available again.
  static void Release(Entry* entry);
  // Finalizes every cached statement of `db` (before it closes).
  static void Forget(sqlite3* db);
  // How many statements `db` has cached (for tests).
  static size_t CachedCount(sqlite3* db);
};

struct CloseDatabase {
  void operator()(sqlite3* db) const {
    StatementCache::Forget(db);
    sqlite3_close_v2(db);
  }
};
using DatabaseHandle = std::unique_ptr<sqlite3, CloseDatabase>;

struct FinalizeStatement {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementHandle = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// SQLite's messages describe the failure (constraint names, "database is locked", ...) and never
// contain bound values, so they are safe to surface.
inline absl::Status SqliteError(sqlite3* db, absl::string_view context) {
  return absl::InternalError(absl::StrCat("catalog: ", context, ": ", sqlite3_errmsg(db)));
}

inline absl::Status Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status status = absl::InternalError(
        absl::StrCat("catalog: ", message != nullptr ? message : sqlite3_errmsg(db)));
    sqlite3_free(message);
    return status;
  }
  return absl::OkStatus();
}

// Bytes bound as a BLOB (STRICT tables refuse TEXT in a BLOB column), or NULL when absent.
struct Blob {
  const std::optional<std::string>& bytes;
};

// A prepared statement. Parameters are bound positionally (?1, ?2, ...) in one Bind call. The
// statement comes from the connection's StatementCache when it is free there, and goes back to
// it (reset, bindings cleared) when this object is destroyed.
class Statement {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql) {
    PARLEY_ASSIGN_OR_RETURN(StatementCache::Entry * cached, StatementCache::Take(db, sql));
    if (cached != nullptr) return Statement(db, cached->statement, cached);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
        SQLITE_OK) {
      sqlite3_finalize(raw);
      return SqliteError(db, "preparing a statement");
    }
    return Statement(db, raw, nullptr);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_),
        statement_(std::exchange(other.statement_, nullptr)),
        cached_(std::exchange(other.cached_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (cached_ != nullptr) {
      StatementCache::Release(cached_);
    } else if (statement_ != nullptr) {
      sqlite3_finalize(statement_);
    }
  }

  template <typename... Args>
  absl::Status Bind(const Args&... args) {
    int index = 0;
    absl::Status status;
    ((status.ok() ? status = BindOne(++index, args) : status), ...);
    return status;
  }

  // Returns true when a row is available, false when the statement is done.
  absl::StatusOr<bool> Step() {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    return SqliteError(db_, "executing a statement");
  }

  // Runs a statement that returns no rows.
  absl::Status Run() {
    PARLEY_ASSIGN_OR_RETURN(bool row, Step());
    if (row) return absl::InternalError("catalog: a write statement returned a row");
    return absl::OkStatus();
  }

  int64_t Int(int column) const { return sqlite3_column_int64(statement_, column); }
  bool Bool(int column) const { return Int(column) != 0; }
  bool IsNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
  }
  std::string BlobBytes(int column) const {
    const void* bytes = sqlite3_column_blob(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    if (bytes == nullptr) return "";
    return std::string(static_cast<const char*>(bytes), static_cast<size_t>(size));
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* statement, StatementCache::Entry* cached)
      : db_(db), statement_(statement), cached_(cached) {}

  absl::Status Check(int code) {
    if (code != SQLITE_OK) return SqliteError(db_, "binding a parameter");
    return absl::OkStatus();
  }
  absl::Status BindOne(int index, int64_t value) {
    return Check(sqlite3_bind_int64(statement_, index, value));
  }
  absl::Status BindOne(int index, int value) { return BindOne(index, int64_t{value}); }
  absl::Status BindOne(int index, bool value) { return BindOne(index, int64_t{value ? 1 : 0}); }
  absl::Status BindOne(int index, std::string_view value) {
    return Check(sqlite3_bind_text64(statement_, index, value.data(), value.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  absl::Status BindOne(int index, const std::string& value) {
    return BindOne(index, std::string_view(value));
  }
  // Without this overload a string literal would convert to bool.
  absl::Status BindOne(int index, const char* value) {
    return BindOne(index, std::string_view(value));
  }
  absl::Status BindOne(int index, const std::optional<int64_t>& value) {
    if (!value.has_value()) return Check(sqlite3_bind_null(statement_, index));
    return BindOne(index, *value);
  }
  absl::Status BindOne(int index, const std::optional<std::string>& value) {
    if (!value.has_value()) return Check(sqlite3_bind_null(statement_, index));
    return BindOne(index, *value);
  }
  absl::Status BindOne(int index, const Blob& value) {
    if (!value.bytes.has_value()) return Check(sqlite3_bind_null(statement_, index));
    return Check(sqlite3_bind_blob64(statement_, index, value.bytes->data(), value.bytes->size(),
                                     SQLITE_TRANSIENT));
  }

  sqlite3* db_;
  sqlite3_stmt* statement_;
  StatementCache::Entry* cached_;  // null for a statement prepared for this object alone
};

// Prepares, binds and runs a statement that returns no rows.
template <typename... Args>
inline absl::Status Write(sqlite3* db, std::string_view sql, const Args&... args) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(db, sql));
  PARLEY_RETURN_IF_ERROR(statement.Bind(args...));
  return statement.Run();
}

// A transaction that rolls back unless Commit succeeds, so every early return on an error path
// leaves the catalog untouched.
class Transaction {
 public:
  // Writers take the write lock up front (BEGIN IMMEDIATE): an existence check and the insert
  // that relies on it then see the same state, and a busy database fails at BEGIN instead of
  // half-way through.
  static absl::StatusOr<Transaction> Begin(sqlite3* db, bool write) {
    PARLEY_RETURN_IF_ERROR(Exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN"));
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  absl::Status Commit() {
    // A statement that returned a row and was not stepped to its end keeps a read open, which
    // makes COMMIT fail; callers have read what they need by now, so end them here.
    for (sqlite3_stmt* statement = sqlite3_next_stmt(db_, nullptr); statement != nullptr;
         statement = sqlite3_next_stmt(db_, statement)) {
      if (sqlite3_stmt_busy(statement)) sqlite3_reset(statement);
    }
    PARLEY_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    db_ = nullptr;
    return absl::OkStatus();
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// ---------------------------------------------------------------------------------------------
// Names and JSON in messages and records.

// Names may be echoed in messages, but escaped so that a hostile name cannot forge extra lines.
inline std::string Quote(std::string_view name) {
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(name.data(), name.size())), "'");
}

// Canonical text of a JSON value: nlohmann objects are ordered maps, so keys come out sorted and
// the same value always dumps to the same bytes. Dump throws on invalid UTF-8; that exception is
// turned into a status here, at the edge.
inline absl::StatusOr<std::string> Canonical(const Json& value, absl::string_view what) {
  try {
    return value.dump();
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat(what, " contains text that is not UTF-8"));
  }
}

// Parses `text` as a JSON object (the parser rejects invalid UTF-8 too).
inline std::optional<Json> ParseObject(std::string_view text) {
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

}  // namespace parley::catalog::internal
