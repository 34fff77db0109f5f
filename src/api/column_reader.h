// One column of a member's own CSV or Parquet file, read as text in batches: what `parley psi`
// matches. It reads through a private DuckDB (the engine's file readers), streaming, so memory
// stays bounded whatever the file's size; a front end uses it without an engine type.
//
//   PARLEY_RETURN_IF_ERROR(ReadColumn("a.csv", "email", [&](const ColumnBatch& batch) {
//     ...;
//     return absl::OkStatus();
//   }));
//
// Thread safety: free function without shared state.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace parley::api {

// Values of one batch (nullopt for NULL), with the 1-based row number of the first.
struct ColumnBatch {
  uint64_t first_row = 1;
  std::vector<std::optional<std::string>> values;
};

// Calls `batch` for each batch of the column's values in file order; its error stops the read
// and is returned. The format comes from the extension: .csv (header row, values read as text),
// .parquet (values cast to text). InvalidArgument for another extension; NotFound for a missing
// file or a column it does not have (the message lists the file's columns); errors of reading
// name the file and DuckDB's error class, never DuckDB's message (it can quote data).
absl::Status ReadColumn(const std::string& path, const std::string& column,
                        const std::function<absl::Status(const ColumnBatch&)>& batch);

}  // namespace parley::api
