#include "connectors/files/file_source.h"

#include <glob.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "connectors/files/inspector.h"
#include "connectors/files/pinned_source.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::connectors::files {
namespace {

bool IsGlob(const std::string& location) {
  return location.find_first_of("*?[") != std::string::npos;
}

// The format as messages name it.
std::string FormatTitle(Format format) {
  switch (format) {
    case Format::kParquet:
      return "Parquet";
    case Format::kJsonLines:
      return "JSON lines";
    case Format::kCsv:
      break;
  }
  return "CSV";
}

// Files matching a glob, sorted (glob(3) sorts by default).
std::vector<std::string> GlobMatches(const std::string& pattern) {
  std::vector<std::string> matches;
  glob_t result{};
  if (glob(pattern.c_str(), 0, nullptr, &result) == 0) {
    for (size_t i = 0; i < result.gl_pathc; ++i) {
      std::error_code error;
      if (std::filesystem::is_regular_file(result.gl_pathv[i], error)) {
        matches.push_back(result.gl_pathv[i]);
      }
    }
  }
  globfree(&result);
  return matches;
}

bool IsTsv(const std::string& location) {
  std::string lower = absl::AsciiStrToLower(location);
  return absl::EndsWith(lower, ".tsv") || absl::EndsWith(lower, ".tsv.gz") ||
         absl::EndsWith(lower, ".tsv.zst");
}

// The reader call for a source. The CSV dialect is fixed (RFC 4180 with a header; tabs for
// .tsv) and only the column types are auto-detected: left to guess the dialect, DuckDB reads a
// malformed file as one wide text column instead of reporting it. The header is the first line
// (skip=0): left to guess, DuckDB skips the lines before a row wider than the rest and takes that
// row — data values — as the column names. Detected types are deliberate: a file that changed
// shape then shows up as a different schema, which CheckPinnedSchema reports.
// DuckDB is given the exact files Parley resolved (never a glob of its own to expand, whose
// rules differ from glob(3) and which it would expand later, after our checks).
std::string ReaderCall(Format format, const std::vector<std::string>& files) {
  std::vector<std::string> quoted;
  for (const std::string& file : files) quoted.push_back(engine::duckdb::QuoteString(file));
  std::string list = absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
  if (format == Format::kParquet) return absl::StrCat("read_parquet(", list, ")");
  if (format == Format::kJsonLines) {
    return absl::StrCat("read_json(", list, ", format='newline_delimited')");
  }
  return absl::StrCat("read_csv(", list, ", header=true, skip=0, auto_detect=true, delim=",
                      !files.empty() && IsTsv(files.front()) ? "'\\t'" : "','",
                      ", quote='\"', escape='\"')");
}

// The value of the hidden kRowIdColumn (base/row_identity.h) for a source: unique per row within
// one scan, and pruned by DuckDB (with the virtual columns it reads) from every scan that does not
// use it, so the view costs nothing more to queries that do not deduplicate. Parquet numbers its
// rows (file_row_number, file_index: virtual columns of the reader); one file needs only the row
// number, a BIGINT (partitioning by it was about 5% faster than by the HUGEINT that several files
// need). The CSV reader of DuckDB 1.4.4 has no row number: a window or WITH ORDINALITY would
// number the rows, but neither is pruned when unused (they doubled the time of plain scans,
// measured), so CSV rows get a random UUID (122 random bits: a collision among 10^9 rows has
// probability below 10^-19). A Parquet file with a real column named like a virtual one hides it,
// so such a source is numbered the CSV way too.
std::string RowIdExpression(const catalog::Table& table, Format format,
                            const std::vector<std::string>& files) {
  bool shadowed = false;
  for (const catalog::Column& column : table.source_schema) {
    shadowed |= absl::EqualsIgnoreCase(column.name, "file_row_number") ||
                absl::EqualsIgnoreCase(column.name, "file_index");
  }
  if (format != Format::kParquet || shadowed) return "gen_random_uuid()";
  if (files.size() == 1) return "file_row_number";
  return "(CAST(file_index AS HUGEINT) << 64) + file_row_number";
}

// Why DuckDB could not read a CSV file, in words that never quote the file: DuckDB's messages
// include the offending line ("Original Line: ..."), so only fixed phrases and the line number
// are taken from them.
std::string CsvProblem(const std::string& message, const char* error_class) {
  std::string line;
  constexpr std::string_view kLineMarker = "CSV Error on Line: ";
  size_t at = message.find(kLineMarker);
  if (at != std::string::npos) {
    size_t start = at + kLineMarker.size();
    size_t end = start;
    while (end < message.size() && absl::ascii_isdigit(message[end])) ++end;
    uint64_t number = 0;
    if (end > start && absl::SimpleAtoi(message.substr(start, end - start), &number)) {
      line = absl::StrCat("line ", number, " ");
    }
  }
  if (absl::StrContains(message, "Error when sniffing file")) {
    return "it is not comma-separated text with a header (a quote is not closed, or rows have "
           "different numbers of columns)";
  }
  if (absl::StrContains(message, "Expected Number of Columns")) {
    return absl::StrCat(line, "has a different number of columns than the header");
  }
  if (absl::StrContains(message, "unterminated quote")) {
    return absl::StrCat(line, "has a quote that is not closed");
  }
  if (absl::StrContains(message, "Invalid unicode") || absl::StrContains(message, "UTF")) {
    return absl::StrCat(line, "is not valid UTF-8");
  }
  if (absl::StrContains(message, "Maximum line size")) {
    return absl::StrCat(line, "is too long");
  }
  if (absl::StrContains(message, "Could not convert")) {
    return absl::StrCat(line, "has a value that does not match its column's type");
  }
  return line.empty() ? std::string(error_class) : absl::StrCat(line, "(", error_class, ")");
}

std::string ParquetProblem(const std::string& message, const char* error_class) {
  if (absl::StrContains(message, "too small to be a Parquet file") ||
      absl::StrContains(message, "No magic bytes")) {
    return "it is not a Parquet file";
  }
  return error_class;
}

// The source's own column names, before DuckDB renames duplicates ("a", "A" becomes "a", "A_1").
absl::StatusOr<std::vector<std::string>> RawColumnNames(Inspector& inspector, Format format,
                                                        const std::string& first_file,
                                                        const std::string& delimiter) {
  engine::duckdb::DuckResult result;
  std::vector<std::string> names;
  if (format == Format::kJsonLines) return names;  // the keys, as DuckDB read them
  if (format == Format::kCsv) {
    std::string sql =
        absl::StrCat("SELECT * FROM read_csv(", engine::duckdb::QuoteString(first_file),
                     ", header=false, auto_detect=true, all_varchar=true, delim=",
                     engine::duckdb::QuoteString(delimiter),
                     ", quote='\"', escape='\"', null_padding=true) LIMIT 1");
    if (inspector.Query(sql, &result)) return names;  // the full read reports the problem
    if (duckdb_row_count(&result.get()) == 0) return names;
    for (idx_t column = 0; column < duckdb_column_count(&result.get()); ++column) {
      names.push_back(Cell(result, column, 0));
    }
    return names;
  }
  // parquet_schema lists the schema tree depth first: the root, then each top-level column
  // followed by its nested fields.
  std::string sql = absl::StrCat("SELECT name, coalesce(num_children, 0) FROM parquet_schema(",
                                 engine::duckdb::QuoteString(first_file), ")");
  if (inspector.Query(sql, &result)) return names;
  idx_t rows = duckdb_row_count(&result.get());
  std::vector<std::pair<std::string, int64_t>> tree;
  for (idx_t row = 0; row < rows; ++row) {
    tree.emplace_back(Cell(result, 0, row), duckdb_value_int64(&result.get(), 1, row));
  }
  if (tree.empty()) return names;
  // Skips one subtree starting at `index`; returns the index after it.
  auto skip = [&tree](size_t index, auto&& self) -> size_t {
    int64_t children = tree[index].second;
    ++index;
    for (int64_t i = 0; i < children && index < tree.size(); ++i) index = self(index, self);
    return index;
  };
  size_t index = 1;
  for (int64_t i = 0; i < tree[0].second && index < tree.size(); ++i) {
    names.push_back(tree[index].first);
    index = skip(index, skip);
  }
  return names;
}

}  // namespace

absl::Status CheckColumnNames(Inspector& inspector, Format format, const std::string& first_file,
                              const std::string& delimiter,
                              const std::vector<catalog::Column>& columns,
                              const std::string& cannot_read) {
  // Column names must be unique ignoring case: SQL folds unquoted names, so "Age" and "age" could
  // not be told apart in a rule or a query.
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> raw_names,
                          RawColumnNames(inspector, format, first_file, delimiter));
  if (raw_names.empty()) {
    for (const catalog::Column& column : columns) raw_names.push_back(column.name);
  }
  std::set<std::string> seen;
  for (const std::string& name : raw_names) {
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(cannot_read, "a column has an empty name"));
    }
    if (IsReservedColumnName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(cannot_read, "column '", name,
                                                     "' starts with '", kReservedColumnPrefix,
                                                     "', which Parley reserves for its own use"));
    }
    if (!seen.insert(absl::AsciiStrToLower(name)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(cannot_read, "column '", name,
                       "' appears more than once (names are compared ignoring "
                       "case)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveLocation(const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("the location is empty");
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(location, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve '", location, "'"));
  }
  std::string resolved = absolute.lexically_normal().string();
  if (IsGlob(resolved)) {
    if (GlobMatches(resolved).empty()) {
      return absl::NotFoundError(absl::StrCat("no file matches '", location, "'"));
    }
    return resolved;
  }
  if (!std::filesystem::exists(resolved, error)) {
    return absl::NotFoundError(absl::StrCat("file '", resolved, "' not found"));
  }
  if (!std::filesystem::is_regular_file(resolved, error)) {
    return absl::InvalidArgumentError(absl::StrCat("'", resolved, "' is not a regular file"));
  }
  return resolved;
}

absl::StatusOr<Format> FormatFromLocation(const std::string& location) {
  std::string lower = absl::AsciiStrToLower(location);
  for (const char* suffix : {".csv", ".csv.gz", ".csv.zst", ".tsv", ".tsv.gz", ".tsv.zst"}) {
    if (absl::EndsWith(lower, suffix)) return Format::kCsv;
  }
  for (const char* suffix :
       {".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson", ".ndjson.gz", ".ndjson.zst"}) {
    if (absl::EndsWith(lower, suffix)) return Format::kJsonLines;
  }
  if (absl::EndsWith(lower, ".parquet")) return Format::kParquet;
  std::string name = std::filesystem::path(location).filename().string();
  size_t dot = name.find('.');
  std::string extension = dot == std::string::npos ? "" : name.substr(dot);
  if (extension.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", location,
                     "' has no file extension: use .csv, .tsv, .jsonl or .ndjson (each also with "
                     ".gz or .zst), or .parquet"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unsupported file extension '", extension, "' in '", location,
      "': use .csv, .tsv, .jsonl or .ndjson (each also with .gz or .zst), or .parquet"));
}

absl::StatusOr<std::vector<catalog::Column>> InferSchema(Format format,
                                                         const std::string& location) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, SourcePaths(location));
  for (const std::string& file : files) {
    std::error_code error;
    if (std::filesystem::file_size(file, error) == 0 && !error) {
      return absl::InvalidArgumentError(absl::StrCat("'", file, "' is empty"));
    }
  }
  std::string cannot_read =
      absl::StrCat("cannot read '", location, "' as ", FormatTitle(format), ": ");
  auto problem = [&](const Inspector::Failure& failure) {
    return absl::InvalidArgumentError(
        absl::StrCat(cannot_read, format == Format::kCsv
                                      ? CsvProblem(failure.message, failure.error_class)
                                      : ParquetProblem(failure.message, failure.error_class)));
  };

  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  engine::duckdb::DuckResult described;
  std::string reader = ReaderCall(format, files);
  if (auto failure = inspector.Query(absl::StrCat("DESCRIBE SELECT * FROM ", reader), &described)) {
    return problem(*failure);
  }
  // DESCRIBE only samples the file; reading every row finds a malformed line anywhere in it.
  {
    engine::duckdb::DuckResult counted;
    if (auto failure = inspector.Query(absl::StrCat("SELECT count(*) FROM ", reader), &counted)) {
      return problem(*failure);
    }
  }

  std::vector<catalog::Column> columns;
  for (idx_t row = 0; row < duckdb_row_count(&described.get()); ++row) {
    columns.push_back({Cell(described, 0, row), Cell(described, 1, row)});
  }
  if (columns.empty()) return absl::InvalidArgumentError(absl::StrCat(cannot_read, "no columns"));

  PARLEY_RETURN_IF_ERROR(CheckColumnNames(inspector, format, files.front(),
                                          IsTsv(files.front()) ? "\t" : ",", columns, cannot_read));
  return columns;
}

absl::StatusOr<std::vector<std::string>> SourcePaths(const std::string& location) {
  PARLEY_ASSIGN_OR_RETURN(std::string resolved, ResolveLocation(location));
  std::vector<std::string> matches =
      IsGlob(resolved) ? GlobMatches(resolved) : std::vector<std::string>{resolved};
  std::vector<std::string> files;
  for (const std::string& match : matches) {
    std::error_code error;
    std::filesystem::path canonical = std::filesystem::canonical(match, error);
    if (error || !std::filesystem::is_regular_file(canonical, error)) continue;
    if (std::find(files.begin(), files.end(), canonical.string()) == files.end()) {
      files.push_back(canonical.string());
    }
  }
  if (files.empty()) return absl::NotFoundError(absl::StrCat("no file matches '", location, "'"));
  return files;
}

engine::SourceView ViewFor(const catalog::Table& table, Format format,
                           const std::vector<std::string>& files) {
  return ViewFor(table, FileDescription{format, "", {}}, files);
}

engine::SourceView ViewFor(const catalog::Table& table, const FileDescription& source,
                           const std::vector<std::string>& files) {
  Format format = source.format;
  std::vector<std::string> columns;
  for (const std::string& name : table.allowed_columns) {
    columns.push_back(engine::duckdb::QuoteIdentifier(name));
  }
  engine::SourceView view;
  view.name = table.name;
  columns.push_back(absl::StrCat(RowIdExpression(table, format, files), " AS ",
                                 engine::duckdb::QuoteIdentifier(kRowIdColumn)));
  view.select_sql = absl::StrCat(
      "SELECT ", absl::StrJoin(columns, ", "), " FROM ",
      source.options.columns.empty() ? ReaderCall(format, files) : PinnedReaderCall(source, files));
  view.allowed_paths = files;
  return view;
}

std::string FormatName(Format format) {
  switch (format) {
    case Format::kParquet:
      return "parquet";
    case Format::kJsonLines:
      return "jsonl";
    case Format::kCsv:
      break;
  }
  return "csv";
}

absl::StatusOr<Format> ParseFormat(std::string_view name) {
  for (Format format : {Format::kCsv, Format::kParquet, Format::kJsonLines}) {
    if (name == FormatName(format)) return format;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown file format '", std::string(name), "'"));
}

}  // namespace parley::connectors::files
