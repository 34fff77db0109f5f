// Writing results, for every engine's ResultTable. Format from the extension of `path` (.csv,
// .json, .parquet) or by name. Writes to a temporary file in `path`'s folder (unnamed where the
// file system allows, so even a killed run leaves nothing) and names it `path` once complete (and
// synced, unless asked not to): a reader sees no file or the whole file, never half of one. JSON is
// an array of objects with numbers as JSON numbers. Parquet is written through a private DuckDB
// database (engine/duckdb). Thread safety: free functions without shared state.
#pragma once

#include <string>

#include "base/status.h"
#include "engine/engine.h"

namespace parley::engine {

enum class OutputFormat { kCsv, kJson, kParquet };
absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path);  // InvalidArgument
// "csv", "json" or "parquet" (any case); InvalidArgument otherwise.
absl::StatusOr<OutputFormat> OutputFormatFromName(const std::string& name);

// Whether `path` can be written, checked before a query runs so that a typo does not cost a run:
// NotFound when its folder does not exist, PermissionDenied when the folder is not writable,
// FailedPrecondition when `path` is a folder, AlreadyExists when it is a file and `replace` is
// false. The messages name the path.
absl::Status CheckDestination(const std::string& path, bool replace);

// Whether a written file is fsynced (with its folder) before WriteResult returns. kYes for a file
// the user asked for (--output): it survives a power loss once the command reports it. kNo for a
// stored result, whose catalog record is not fsynced either (docs/audit.md, "Durability"): it
// still appears whole or not at all after a kill, but a power loss may lose it.
enum class Sync { kYes, kNo };

// Writes the result to `path`. Without `replace` an existing file is never touched: AlreadyExists
// (also when the file appeared after CheckDestination). Other errors name the path.
absl::Status WriteResult(const ResultTable& result, const std::string& path, OutputFormat format,
                         bool replace = true, Sync sync = Sync::kYes);

// The bytes of a text format (CSV or JSON) for a stream such as stdout; InvalidArgument for
// Parquet.
absl::StatusOr<std::string> RenderResult(const ResultTable& result, OutputFormat format);

// A Parquet file written by WriteResult, read back with the column types the result had (kept in
// the file's metadata; a file without them gives the types Parquet stored) and every value as
// text. DataLoss naming the path when the file cannot be read as a result.
absl::StatusOr<ResultTable> ReadParquetResult(const std::string& path);

// A text table for the terminal (header, separator, rows; numbers right-aligned).
std::string FormatTable(const ResultTable& result);

}  // namespace parley::engine
