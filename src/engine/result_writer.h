// Writing results, for every engine's ResultTable. Format from the extension of `path` (.csv,
// .json, .parquet) unless given. Writes to a temporary file beside `path` and renames it into
// place, so a failure leaves no half-written file. JSON is an array of objects with numbers as
// JSON numbers. Parquet is written through a private DuckDB database (engine/duckdb).
// Thread safety: free functions without shared state.
#pragma once

#include <string>

#include "base/status.h"
#include "engine/engine.h"

namespace parley::engine {

enum class OutputFormat { kCsv, kJson, kParquet };
absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path);  // InvalidArgument
absl::Status WriteResult(const ResultTable& result, const std::string& path, OutputFormat format);

// A text table for the terminal (header, separator, rows; numbers right-aligned).
std::string FormatTable(const ResultTable& result);

}  // namespace parley::engine
