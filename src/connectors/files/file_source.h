// File sources, the mechanics behind the files connector (files_connector.h): CSV and Parquet
// files (a path or a glob). A schema is inferred once (when the table is added, to be pinned in
// the catalog); before every query the exact files are resolved again and the view the engine
// creates over them exposes only the allowed columns. The live schema is then compared with the
// pinned one (connectors::CheckPinnedSchema) so a file that changed shape fails with a clear
// error instead of a wrong answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/records.h"
#include "engine/duckdb/session.h"

namespace parley::connectors::files {

// How the files are read. One name table, here: "csv" | "parquet" | "jsonl" (JSON lines).
enum class Format { kCsv, kParquet, kJsonLines };
std::string FormatName(Format format);
// InvalidArgument for any other name.
absl::StatusOr<Format> ParseFormat(std::string_view name);

// Resolves `location` to an absolute path or glob. NotFound when no file matches (the message
// names the location); InvalidArgument for a folder.
absl::StatusOr<std::string> ResolveLocation(const std::string& location);
// The format a location's extension names (.csv, .tsv, either with .gz or .zst; .jsonl, .ndjson,
// either with .gz or .zst; .parquet); InvalidArgument for another or no extension.
absl::StatusOr<Format> FormatFromLocation(const std::string& location);

// Reads the source's header / metadata and returns its columns. InvalidArgument for a file
// DuckDB cannot read in that format (malformed CSV, not a Parquet file), naming the location but
// never quoting its contents; also for an empty file and for column names that repeat ignoring
// case. NotFound when the location matches no file. A CSV file is read in full once, so a
// malformed line anywhere is reported now rather than at query time.
// How a CSV or JSON-lines source is read. What the owner gives (`table add --delimiter ...`) is
// completed when the table is added (PinSource: pinned_source.h) and stored in the description,
// so that every query reads the files exactly as they were checked, without sniffing them again.
struct ReadOptions {
  std::optional<std::string> delimiter;  // CSV; sniffed when not given
  std::optional<std::string> quote;      // CSV; '"' when not given ("" for none)
  std::optional<std::string> escape;     // CSV; '"' when not given
  bool header = true;                    // CSV: the first line names the columns
  // The texts read as NULL; when not given: "", "NULL" and "\N" (what exports write).
  std::optional<std::vector<std::string>> null_strings;
  std::optional<std::string> decimal_separator;    // CSV: "," for 7,5
  std::optional<std::string> thousands_separator;  // CSV: "." for 1.234,5; "," for 1,234.5
  std::optional<std::string> date_format;          // strptime format; sniffed when not given
  std::optional<std::string> timestamp_format;     // likewise
  std::vector<catalog::Column> types;              // the owner's types for some columns
  // The pinned columns with their types. Empty: not pinned (a description stored before
  // sources were pinned; such a source is sniffed on every read, as it always was).
  std::vector<catalog::Column> columns;
};

// A validated files source description.
struct FileDescription {
  Format format = Format::kCsv;
  std::string path;  // absolute path or glob
  ReadOptions options;
};

absl::StatusOr<std::vector<catalog::Column>> InferSchema(Format format,
                                                         const std::string& location);

// The exact files a source reads now, as canonical paths (symbolic links resolved): the file, or
// what the glob matches under glob(3) — `*`, `?` and `[…]` within one folder, no recursive `**`,
// no hidden files. These, and only these, are what a query reads. NotFound when none.
absl::StatusOr<std::vector<std::string>> SourcePaths(const std::string& location);

// The view over `table` exposing its allowed columns, and the hidden row identity
// (base/row_identity.h) that only the rewrite refers to. Types are detected again on every read
// (not forced to the pinned ones), so a file that changed shape is visible to CheckPinnedSchema.
// CSV is read as RFC 4180 with a header (tab-separated for .tsv); Parquet as is.
// `files` are the table's SourcePaths, resolved (and checked) just before the query runs: DuckDB
// reads exactly those and may open no other path.
engine::SourceView ViewFor(const catalog::Table& table, Format format,
                           const std::vector<std::string>& files);
// The same for a description: a pinned one (ReadOptions::columns) is read with its pinned options
// and columns (PinnedReaderCall), nothing detected again.
engine::SourceView ViewFor(const catalog::Table& table, const FileDescription& source,
                           const std::vector<std::string>& files);

}  // namespace parley::connectors::files
