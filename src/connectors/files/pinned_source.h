// Pinned sources: a CSV or JSON-lines source is looked at once, when its table is added — its
// dialect (delimiter), date and timestamp formats and column types detected, the owner's options
// and types applied, every row read to find a malformed one — and the result is stored in the
// source description (ReadOptions::columns and the rest). Queries then read the files with exactly
// those options (auto_detect=false): nothing is sniffed again, a value that no longer fits its
// pinned type fails the read instead of silently changing the column's type, and the cost of
// sniffing is paid once (bench/README.md has the measurement).
//
// Errors name the location, the line and the column, never a value: "cannot read 'x.csv' as CSV:
// line 3, column 'amount': the value is not a BIGINT".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "connectors/files/file_source.h"

namespace parley::connectors::files {

// Completes `given` (a CSV or JSON-lines description with the owner's options) into the pinned
// description to store. InvalidArgument naming the line and column of a malformed row, a column
// named in `types` that the source does not have, a type DuckDB does not know, dates that read
// both as day/month and month/day when no format was given, text that is not UTF-8. Parquet
// descriptions are returned as given (Parquet files carry their own schema).
absl::StatusOr<FileDescription> PinSource(const FileDescription& given);

// The columns of a pinned source read with its pinned options (as DuckDB names their types): the
// files' layout is checked, not every row — PinSource, which produced `pinned`, read them all.
// Errors as PinSource.
absl::StatusOr<std::vector<catalog::Column>> CheckPinnedSource(const FileDescription& pinned);

// The reader call (`read_csv(...)`, `read_json(...)`) for a pinned source over `files`.
std::string PinnedReaderCall(const FileDescription& pinned, const std::vector<std::string>& files);

// A pinned read takes a CSV file's columns by position: this checks, before a query reads `file`,
// that its header still names the pinned columns in order (a file rewritten with its columns
// swapped would otherwise be read silently wrong). FailedPrecondition naming the table and the
// column's position only (its name could be one the table does not show). Compressed files and
// files without a header are not checked here.
absl::Status CheckCsvHeader(const std::string& table, const FileDescription& pinned,
                            const std::string& file);

// Every row of a pinned source in order, as text (nullopt for NULL), read a DuckDB chunk (2048
// rows) at a time: how a file is copied elsewhere (loaded into a ClickHouse cluster) with memory
// bounded by one chunk whatever the file's size. Values are the text Preview shows (DuckDB's
// VARCHAR cast of the pinned type).
//
// Thread safety: one thread at a time.
class RowStream {
 public:
  // Opens the read. It also reads the source once first to learn which columns hold a NULL (a
  // target that has no NULL type per column, as ClickHouse's, needs to know before the first
  // row). Errors as Preview.
  static absl::StatusOr<std::unique_ptr<RowStream>> Open(const FileDescription& pinned);
  ~RowStream();

  const std::vector<catalog::Column>& columns() const { return columns_; }
  const std::vector<bool>& has_null() const { return has_null_; }
  // The next row into `row`; false at the end. A row that no longer reads with the pinned options
  // (the file changed since it was pinned): InvalidArgument naming the line and column, never a
  // value (as Preview).
  absl::StatusOr<bool> Next(std::vector<std::optional<std::string>>& row);

 private:
  struct State;
  explicit RowStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::vector<catalog::Column> columns_;
  std::vector<bool> has_null_;
};

// The first rows of a pinned source, as text (nullopt for NULL): what `table add --preview` shows
// the owner.
struct PreviewRows {
  std::vector<catalog::Column> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};
absl::StatusOr<PreviewRows> Preview(const FileDescription& pinned, int limit);

// The rows of `files` read as `pinned` says (Parquet: from the files' metadata). Errors as
// Preview's: where the files do not read, never their contents.
absl::StatusOr<int64_t> CountRows(const FileDescription& pinned,
                                  const std::vector<std::string>& files);

// What a failed read of a pinned source says, from DuckDB's message: the line and the column
// (a pinned column's name, never text taken from the file). `file` is the file DuckDB named, when
// it is one of `files`.
struct ReadProblem {
  std::string file;
  int64_t line = 0;    // 0: unknown
  std::string column;  // "": unknown
  std::string what;    // e.g. "the value is not a BIGINT", "is not valid UTF-8"
};
ReadProblem ClassifyReadProblem(const FileDescription& pinned,
                                const std::vector<std::string>& files, const std::string& message,
                                const char* error_class);
// "line 3, column 'amount': the value is not a BIGINT" (with "file '…' " first when `with_file`).
std::string DescribeProblem(const ReadProblem& problem, bool with_file);

}  // namespace parley::connectors::files
