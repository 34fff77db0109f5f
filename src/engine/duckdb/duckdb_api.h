// The thin C++ layer over DuckDB's C API that the engine, the result writers and the connectors
// share: an RAII owner for every duckdb_* handle, a way to open a private in-memory database, and
// the translation of DuckDB's error codes into Parley's error classes. It exists so that no other
// file calls a duckdb_destroy_* function by hand, and so that every module reduces DuckDB errors
// the same way: to a class name, never to DuckDB's message (which can quote data values).
//
//   PARLEY_ASSIGN_OR_RETURN(duckdb::InMemoryDatabase db, duckdb::OpenInMemoryDatabase({}));
//   PARLEY_RETURN_IF_ERROR(duckdb::ExecuteStatement(db.connection.get(), "CREATE TABLE t (a
//   INT)"));
//
// Thread safety: handles are plain owners; use each from one thread (duckdb_interrupt is the one
// call DuckDB allows on a connection from another thread).
#pragma once

#include <duckdb.h>

#include <memory>
#include <string>
#include <utility>

#include "base/status.h"

namespace parley::engine::duckdb {

// Owns one C handle `T` released with `Destroy(T*)`. DuckDB fills handles through out-parameters
// and requires the destroy call even when the creating call failed (e.g. a duckdb_result that
// holds an error), so `out()` marks the handle as owned before the C call runs.
template <typename T, auto Destroy>
class DuckHandle {
 public:
  DuckHandle() = default;
  ~DuckHandle() { Reset(); }
  DuckHandle(DuckHandle&& other) noexcept
      : value_(other.value_), owned_(std::exchange(other.owned_, false)) {}
  DuckHandle& operator=(DuckHandle&& other) noexcept {
    if (this != &other) {
      Reset();
      value_ = other.value_;
      owned_ = std::exchange(other.owned_, false);
    }
    return *this;
  }
  DuckHandle(const DuckHandle&) = delete;
  DuckHandle& operator=(const DuckHandle&) = delete;

  T& get() { return value_; }
  T* out() {
    Reset();
    owned_ = true;
    return &value_;
  }
  void Reset() {
    if (owned_) {
      Destroy(&value_);
      owned_ = false;
    }
    value_ = T{};
  }

 private:
  T value_{};
  bool owned_ = false;
};

namespace duckdb_internal {
inline void DestroyAppender(duckdb_appender* appender) { duckdb_appender_destroy(appender); }
struct DuckFree {
  void operator()(void* pointer) const { duckdb_free(pointer); }
};
}  // namespace duckdb_internal

using DuckDatabase = DuckHandle<duckdb_database, duckdb_close>;
using DuckConnection = DuckHandle<duckdb_connection, duckdb_disconnect>;
using DuckConfig = DuckHandle<duckdb_config, duckdb_destroy_config>;
using DuckResult = DuckHandle<duckdb_result, duckdb_destroy_result>;
using DuckPrepared = DuckHandle<duckdb_prepared_statement, duckdb_destroy_prepare>;
using DuckLogicalType = DuckHandle<duckdb_logical_type, duckdb_destroy_logical_type>;
using DuckExtracted = DuckHandle<duckdb_extracted_statements, duckdb_destroy_extracted>;
using DuckAppender = DuckHandle<duckdb_appender, duckdb_internal::DestroyAppender>;
// Strings DuckDB allocates (duckdb_value_varchar, duckdb_struct_type_child_name, ...).
using DuckString = std::unique_ptr<char, duckdb_internal::DuckFree>;

// A database and its one connection. Members are declared so that the connection is closed
// before the database.
struct InMemoryDatabase {
  DuckDatabase database;
  DuckConnection connection;
};

struct DatabaseOptions {
  std::string memory_limit;    // empty: DuckDB's default
  int threads = 0;             // 0: DuckDB's default
  std::string temp_directory;  // empty: no spilling to disk
};

// Opens a private in-memory database that never installs or auto-loads extensions (the built-in
// ones — parquet, json, icu — are all Parley needs, and nothing may be fetched from the network).
// Internal on failure, without DuckDB's message.
absl::StatusOr<InMemoryDatabase> OpenInMemoryDatabase(const DatabaseOptions& options);

// How a DuckDB error is reported to Parley's callers: a canonical code and a fixed class name
// such as "conversion error" that is safe to show to anyone.
struct ErrorClass {
  absl::StatusCode code;
  const char* name;
};
ErrorClass ClassifyError(duckdb_error_type type);

// Runs one statement whose result is not needed. On failure: a status with the class's code and
// the message "<context>: <class name>".
absl::Status ExecuteStatement(duckdb_connection connection, const std::string& sql,
                              const std::string& context);

// DuckDB's name for a type ("BIGINT", "DECIMAL(18,3)", "VARCHAR[]", "STRUCT(a INTEGER)", ...),
// matching what DESCRIBE prints for the types that file sources produce. ENUM is rendered as
// "ENUM" without its dictionary, because dictionary entries are data values.
std::string TypeName(duckdb_logical_type type);

// Quoting for generated SQL: "ident" with " doubled; 'text' with ' doubled.
std::string QuoteIdentifier(const std::string& name);
std::string QuoteString(const std::string& text);

}  // namespace parley::engine::duckdb
