// A result (api::Result) written to a file or shown as a text table, for front ends: the CLI's
// `--output` and its terminal output. The work is done by the engine's result writers
// (engine/result_writer.h: CSV, JSON, Parquet through a private DuckDB, written beside the path
// and renamed into place); this header lets a front end use them without an engine type.
// Thread safety: free functions without shared state.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/queries.h"

namespace parley::api {

enum class OutputFormat { kCsv, kJson, kParquet };

// From the extension of `path` (.csv, .json, .parquet); InvalidArgument otherwise.
absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path);
absl::Status WriteResultFile(const Result& result, const std::string& path, OutputFormat format);
// A text table for the terminal (header, separator, rows; numbers right-aligned).
std::string FormatResultTable(const Result& result);

}  // namespace parley::api
