#include "connectors/files/inspector.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::connectors::files {

absl::StatusOr<Inspector> Inspector::Open(const std::vector<std::string>& files) {
  // Every core: registration reads the whole source once (PinSource), and DuckDB reads a CSV
  // with pinned options, or Parquet, in parallel.
  engine::duckdb::DatabaseOptions options;
  PARLEY_ASSIGN_OR_RETURN(engine::duckdb::InMemoryDatabase db,
                          engine::duckdb::OpenInMemoryDatabase(options));
  std::string allow = AllowedPaths(files);
  for (const std::string& statement : {allow, std::string("SET enable_external_access=false"),
                                       std::string("SET lock_configuration=true")}) {
    absl::Status status = engine::duckdb::ExecuteStatement(db.connection.get(), statement,
                                                           "cannot prepare a DuckDB database");
    if (!status.ok()) return absl::InternalError(status.message());
  }
  return Inspector(std::move(db));
}

std::optional<Inspector::Failure> Inspector::Query(const std::string& sql,
                                                   engine::duckdb::DuckResult* result) {
  if (duckdb_query(db_.connection.get(), sql.c_str(), result->out()) == DuckDBError) {
    const char* message = duckdb_result_error(&result->get());
    return Failure{message == nullptr ? "" : message,
                   engine::duckdb::ClassifyError(duckdb_result_error_type(&result->get())).name};
  }
  return std::nullopt;
}

std::string Cell(engine::duckdb::DuckResult& result, idx_t column, idx_t row) {
  if (duckdb_value_is_null(&result.get(), column, row)) return "";
  engine::duckdb::DuckString text(duckdb_value_varchar(&result.get(), column, row));
  return text == nullptr ? "" : text.get();
}

bool IsNull(engine::duckdb::DuckResult& result, idx_t column, idx_t row) {
  return duckdb_value_is_null(&result.get(), column, row);
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(engine::duckdb::QuoteString(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string AllowedPaths(const std::vector<std::string>& files) {
  return absl::StrCat("SET allowed_paths=", QuotedList(files));
}

}  // namespace parley::connectors::files
