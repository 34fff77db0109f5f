// A result (api::Result) written to a file or shown as a text table, for front ends: the CLI's
// `--output` and its terminal output. The work is done by the engine's result writers
// (engine/result_writer.h: CSV, JSON, Parquet through a private DuckDB, written to an unnamed
// temporary in the path's folder, fsynced and named when complete); this header lets a front end
// use them without an engine type.
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
// "csv", "json" or "parquet" (any case); InvalidArgument otherwise.
absl::StatusOr<OutputFormat> OutputFormatFromName(const std::string& name);

// Whether `path` can be written, checked before a query runs: NotFound when its folder does not
// exist, PermissionDenied when the folder is not writable, FailedPrecondition when `path` is a
// folder, AlreadyExists when it is a file and `replace` is false. The messages name the path.
absl::Status CheckDestination(const std::string& path, bool replace);

// Writes the file atomically (a reader sees no file or the whole file) and synced. Without
// `replace` an existing file is never touched: AlreadyExists, also when the file appeared after
// CheckDestination.
absl::Status WriteResultFile(const Result& result, const std::string& path, OutputFormat format,
                             bool replace = true);

// The bytes of a text format (CSV or JSON) for a stream such as stdout; InvalidArgument for
// Parquet.
absl::StatusOr<std::string> RenderResult(const Result& result, OutputFormat format);

// A text table for the terminal (header, separator, rows; numbers right-aligned and columns
// aligned by display width; NULL distinct from the text 'NULL').
std::string FormatResultTable(const Result& result);

}  // namespace parley::api
