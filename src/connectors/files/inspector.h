// A private DuckDB database that may read only the given files: how the files connector looks at a
// source the catalog does not know yet (to sniff, pin and check it) or shows its owner a preview.
// Internal to the files connector.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "catalog/records.h"
#include "connectors/files/file_source.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::connectors::files {

class Inspector {
 public:
  static absl::StatusOr<Inspector> Open(const std::vector<std::string>& files);

  // Why a query failed: DuckDB's message (for classification only, never shown: it quotes data)
  // and its error class (safe to show).
  struct Failure {
    std::string message;
    const char* error_class;
  };
  // Runs `sql`; nullopt on success.
  std::optional<Failure> Query(const std::string& sql, engine::duckdb::DuckResult* result);
  // The database's one connection, for a streamed read (RowStream).
  duckdb_connection connection() { return db_.connection.get(); }

 private:
  explicit Inspector(engine::duckdb::InMemoryDatabase db) : db_(std::move(db)) {}
  engine::duckdb::InMemoryDatabase db_;
};

// A result's value as text; "" for NULL.
std::string Cell(engine::duckdb::DuckResult& result, idx_t column, idx_t row);
bool IsNull(engine::duckdb::DuckResult& result, idx_t column, idx_t row);

// `SET allowed_paths=[...]` for exactly `files`.
std::string AllowedPaths(const std::vector<std::string>& files);
// `['a', 'b']`, quoted.
std::string QuotedList(const std::vector<std::string>& items);

// Refuses column names that are empty, repeat ignoring case or use Parley's reserved prefix, as
// the source itself spells them (DuckDB renames duplicates). `delimiter` splits a CSV header.
// Defined in file_source.cc.
absl::Status CheckColumnNames(Inspector& inspector, Format format, const std::string& first_file,
                              const std::string& delimiter,
                              const std::vector<catalog::Column>& columns,
                              const std::string& cannot_read);

}  // namespace parley::connectors::files
