#include "api/column_reader.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::api {
namespace {

namespace duck = engine::duckdb;

void DestroyPending(duckdb_pending_result* pending) { duckdb_destroy_pending(pending); }
void DestroyChunk(duckdb_data_chunk* chunk) { duckdb_destroy_data_chunk(chunk); }
using DuckPending = duck::DuckHandle<duckdb_pending_result, DestroyPending>;
using DuckChunk = duck::DuckHandle<duckdb_data_chunk, DestroyChunk>;

absl::Status ReadError(const std::string& path, duckdb_error_type type) {
  duck::ErrorClass error = duck::ClassifyError(type);
  return absl::Status(error.code, absl::StrCat("cannot read '", path, "': ", error.name));
}

}  // namespace

absl::Status ReadColumn(const std::string& path, const std::string& column,
                        const std::function<absl::Status(const ColumnBatch&)>& batch) {
  std::string extension = absl::AsciiStrToLower(std::filesystem::path(path).extension().string());
  std::string source;
  if (extension == ".csv") {
    source =
        absl::StrCat("read_csv(", duck::QuoteString(path), ", header = true, all_varchar = true)");
  } else if (extension == ".parquet") {
    source = absl::StrCat("read_parquet(", duck::QuoteString(path), ")");
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot tell the format of '", path, "': give a .csv or .parquet file"));
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat("cannot read the file '", path, "'"));
  }
  PARLEY_ASSIGN_OR_RETURN(duck::InMemoryDatabase db, duck::OpenInMemoryDatabase({}));
  duckdb_connection connection = db.connection.get();

  // The file's columns first, to name them when the one asked for is missing.
  {
    duck::DuckResult described;
    if (duckdb_query(connection, absl::StrCat("DESCRIBE SELECT * FROM ", source).c_str(),
                     described.out()) != DuckDBSuccess) {
      return ReadError(path, duckdb_result_error_type(&described.get()));
    }
    std::vector<std::string> names;
    bool found = false;
    for (idx_t row = 0; row < duckdb_row_count(&described.get()); ++row) {
      duck::DuckString name(duckdb_value_varchar(&described.get(), 0, row));
      names.emplace_back(name ? name.get() : "");
      if (names.back() == column) found = true;
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat("the file '", path, "' has no column '", column,
                                              "' (its columns: ", absl::StrJoin(names, ", "), ")"));
    }
  }

  duck::DuckPrepared prepared;
  std::string sql =
      absl::StrCat("SELECT CAST(", duck::QuoteIdentifier(column), " AS VARCHAR) FROM ", source);
  if (duckdb_prepare(connection, sql.c_str(), prepared.out()) != DuckDBSuccess) {
    return absl::InternalError(absl::StrCat("cannot read '", path, "': the read did not prepare"));
  }
  DuckPending pending;
  if (duckdb_pending_prepared_streaming(prepared.get(), pending.out()) != DuckDBSuccess) {
    return absl::InternalError(absl::StrCat("cannot read '", path, "': the read did not start"));
  }
  duck::DuckResult result;
  if (duckdb_execute_pending(pending.get(), result.out()) != DuckDBSuccess) {
    return ReadError(path, duckdb_result_error_type(&result.get()));
  }
  ColumnBatch values;
  for (;;) {
    DuckChunk chunk;
    *chunk.out() = duckdb_fetch_chunk(result.get());
    if (chunk.get() == nullptr) break;
    idx_t size = duckdb_data_chunk_get_size(chunk.get());
    if (size == 0) break;
    duckdb_vector vector = duckdb_data_chunk_get_vector(chunk.get(), 0);
    auto* strings = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
    uint64_t* validity = duckdb_vector_get_validity(vector);
    values.values.clear();
    values.values.reserve(size);
    for (idx_t row = 0; row < size; ++row) {
      if (validity != nullptr && !duckdb_validity_row_is_valid(validity, row)) {
        values.values.emplace_back(std::nullopt);
        continue;
      }
      duckdb_string_t& text = strings[row];
      values.values.emplace_back(
          std::string(duckdb_string_t_data(&text), duckdb_string_t_length(text)));
    }
    PARLEY_RETURN_IF_ERROR(batch(values));
    values.first_row += size;
  }
  if (duckdb_result_error(&result.get()) != nullptr) {
    return ReadError(path, duckdb_result_error_type(&result.get()));
  }
  return absl::OkStatus();
}

}  // namespace parley::api
