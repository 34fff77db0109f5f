// Result output: CSV, JSON and Parquet files, and the terminal table. Files are written to an
// unnamed temporary in the destination's folder and named when complete, so a reader never sees
// half a file and a killed run leaves none.
#include "engine/result_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/display_width.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "engine/parquet_encoder.h"
#include "nlohmann/json.hpp"

namespace parley::engine {

using duckdb::DatabaseOptions;
using duckdb::DuckAppender;
using duckdb::ExecuteStatement;
using duckdb::InMemoryDatabase;
using duckdb::OpenInMemoryDatabase;
using duckdb::QuoteIdentifier;
using duckdb::QuoteString;
namespace {

bool IsNumericType(const std::string& type) {
  static const char* const kNumeric[] = {"TINYINT",  "SMALLINT",  "INTEGER",  "BIGINT",  "HUGEINT",
                                         "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                                         "FLOAT",    "DOUBLE",    "BIGNUM"};
  for (const char* name : kNumeric) {
    if (type == name) return true;
  }
  return absl::StartsWith(type, "DECIMAL(");
}

// The JSON number grammar (RFC 8259). DuckDB renders non-finite floats as "inf" or "nan", which
// JSON cannot express as numbers; those become strings instead.
bool IsJsonNumber(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

std::string JsonString(const std::string& text) {
  // Replace rather than throw on invalid UTF-8 (a BLOB rendered as text could contain any byte).
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CsvField(const std::string& text) {
  // RFC 4180: quote fields holding a separator, a quote or a line break; double the quotes.
  // An empty string is quoted too, so that it differs from NULL (an empty field).
  if (!text.empty() && text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string RenderCsv(const ResultTable& result) {
  std::string out;
  for (size_t i = 0; i < result.columns.size(); ++i) {
    absl::StrAppend(&out, i > 0 ? "," : "", CsvField(result.columns[i].name));
  }
  out += "\n";
  for (const auto& row : result.rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&out, i > 0 ? "," : "", row[i] ? CsvField(*row[i]) : "");
    }
    out += "\n";
  }
  return out;
}

std::string RenderJson(const ResultTable& result) {
  if (result.rows.empty()) return "[]\n";
  std::vector<std::string> keys;
  std::vector<bool> numeric;
  for (const ResultColumn& column : result.columns) {
    keys.push_back(JsonString(column.name));
    numeric.push_back(IsNumericType(column.type));
  }
  std::string out = "[\n";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const auto& row = result.rows[r];
    out += "  {";
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&out, i > 0 ? ", " : "", keys[i], ": ");
      if (!row[i]) {
        out += "null";
      } else if (result.columns[i].type == "BOOLEAN") {
        out += *row[i] == "true" ? "true" : "false";
      } else if (numeric[i] && IsJsonNumber(*row[i])) {
        // Written as DuckDB printed it: no round trip through double, so BIGINT, HUGEINT and
        // DECIMAL values keep every digit.
        out += *row[i];
      } else {
        out += JsonString(*row[i]);
      }
    }
    out += r + 1 < result.rows.size() ? "},\n" : "}\n";
  }
  return out + "]\n";
}

// The file a result is written to before it becomes the destination. Where the file system
// allows it (O_TMPFILE: ext4, xfs, btrfs, tmpfs), the file has no name until it is committed, so
// a run killed at any moment leaves nothing behind; elsewhere it is a hidden file beside the
// destination (".NAME.tmp-XXXXXX"), removed on every path but a kill.
class TemporaryFile {
 public:
  static absl::StatusOr<TemporaryFile> Create(const std::string& destination) {
    std::filesystem::path target(destination);
    std::filesystem::path folder = target.parent_path();
    if (folder.empty()) folder = ".";
    int fd = open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) return TemporaryFile(fd, "");
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return absl::InternalError(
          absl::StrCat("cannot create a temporary file: ", std::strerror(errno)));
    }
    std::string pattern = (folder / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    fd = mkstemp(buffer.data());
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("cannot create a temporary file: ", std::strerror(errno)));
    }
    return TemporaryFile(fd, buffer.data());
  }
  TemporaryFile(TemporaryFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), path_(std::exchange(other.path_, "")) {}
  TemporaryFile& operator=(TemporaryFile&&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }

  // A path another writer (DuckDB's COPY) can open to write the file's contents: the hidden
  // file's, or /proc/self/fd/N, which reopens the unnamed file.
  std::string WritablePath() const {
    return path_.empty() ? absl::StrCat("/proc/self/fd/", fd_) : path_;
  }

  absl::Status Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) return Errno("write");
      data.remove_prefix(static_cast<size_t>(written));
    }
    return absl::OkStatus();
  }

  // Flushes the file and gives it the destination's name: atomically, so that a reader sees the
  // old file or the whole new one. Without `replace`, an existing destination (even one created
  // since the caller checked) fails with AlreadyExists and is left as it was.
  absl::Status CommitTo(const std::string& destination, bool replace, Sync sync) {
    if (sync == Sync::kYes && fsync(fd_) != 0) return Errno("sync");
    if (path_.empty()) {
      std::string self = absl::StrCat("/proc/self/fd/", fd_);
      if (!replace) {
        if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, destination.c_str(), AT_SYMLINK_FOLLOW) != 0) {
          return errno == EEXIST ? Exists(destination) : Errno("name");
        }
      } else {
        // link() cannot replace: name it beside the destination, then rename over it.
        std::string hidden = HiddenName(destination);
        if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, hidden.c_str(), AT_SYMLINK_FOLLOW) != 0) {
          return Errno("name");
        }
        if (std::rename(hidden.c_str(), destination.c_str()) != 0) {
          absl::Status status = Errno("rename");
          unlink(hidden.c_str());
          return status;
        }
      }
    } else if (!replace) {
      if (link(path_.c_str(), destination.c_str()) != 0) {
        return errno == EEXIST ? Exists(destination) : Errno("name");
      }
      unlink(path_.c_str());
    } else if (std::rename(path_.c_str(), destination.c_str()) != 0) {
      return Errno("rename");
    }
    path_.clear();
    close(std::exchange(fd_, -1));
    if (sync == Sync::kYes) SyncFolderOf(destination);
    return absl::OkStatus();
  }

 private:
  TemporaryFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static std::string HiddenName(const std::string& destination) {
    std::filesystem::path target(destination);
    return (target.parent_path() /
            absl::StrCat(".", target.filename().string(), ".tmp-", getpid(), "-", rand()))
        .string();
  }
  // The new name is durable once its folder is synced (a crash right after would otherwise lose
  // it on some file systems).
  static void SyncFolderOf(const std::string& destination) {
    std::filesystem::path folder = std::filesystem::path(destination).parent_path();
    if (folder.empty()) folder = ".";
    int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
  }
  absl::Status Exists(const std::string& destination) const {
    return absl::AlreadyExistsError(absl::StrCat("'", destination, "' already exists"));
  }
  absl::Status Errno(const char* what) const {
    return absl::InternalError(
        absl::StrCat("cannot ", what, " the temporary file: ", std::strerror(errno)));
  }

  int fd_ = -1;
  std::string path_;  // empty for an unnamed (O_TMPFILE) file
};

constexpr char kTypesKey[] = "parley_types";

// The result's own type names, kept in the file's metadata so that reading it back
// (ReadParquetResult) gives the types the query produced, not the ones Parquet could store.
std::string TypesMetadata(const ResultTable& result) {
  nlohmann::json types = nlohmann::json::array();
  for (const ResultColumn& column : result.columns) types.push_back(column.type);
  return types.dump();
}

// Parquet goes through a private, unlocked DuckDB: the session that ran the query may not write
// files. Values arrive as text and are cast back to the result's types, so the file carries the
// same types the query produced. DuckDB's own temporary file is turned off: ours already gives the
// all-or-nothing rename, and DuckDB would leave its "tmp_" file behind when the COPY fails.
//
// Opening a database costs more than a small query (~15 ms), so the process keeps one private
// database for result files and writes or reads through it one file at a time. A small result
// (kInlineCells values, kInlineBytes of text, all UTF-8 without NUL) is written by one COPY that
// reads its values as string literals (VALUES): creating, filling and dropping a staging table
// cost three times the COPY itself, more than a small query's whole overhead. A larger one goes
// through a staging table filled by an appender, which is dropped after each write, so no
// result's values stay in it. Both give the same file: the values are text either way, cast to
// the same types.
struct ParquetWriter {
  std::mutex mutex;
  absl::StatusOr<InMemoryDatabase> db = absl::UnavailableError("not opened");
};

ParquetWriter& SharedParquetWriter() {
  static ParquetWriter* writer = [] {
    auto* created = new ParquetWriter();
    DatabaseOptions options;
    options.threads = 1;
    created->db = OpenInMemoryDatabase(options);
    return created;
  }();
  return *writer;
}

constexpr size_t kInlineCells = 4096;
constexpr size_t kInlineBytes = 64 * 1024;

// Whether `result` is small enough, and its text plain enough, to be written as literals: the
// statement is text, so a value with a NUL byte or bytes that are not UTF-8 goes through the
// appender, as does a result without rows (VALUES needs one).
bool WritableInline(const ResultTable& result) {
  if (result.rows.empty() || result.rows.size() * result.columns.size() > kInlineCells) {
    return false;
  }
  size_t bytes = 0;
  for (const auto& row : result.rows) {
    if (row.size() != result.columns.size()) return false;
    for (const auto& value : row) {
      if (!value) continue;
      bytes += value->size();
      if (bytes > kInlineBytes || value->find('\0') != std::string::npos) return false;
      size_t offset = 0;
      char32_t c = 0;
      while (offset < value->size()) {
        if (!NextCodePoint(*value, &offset, &c)) return false;
      }
    }
  }
  return true;
}

// Writes `result` through `connection`; `*staged` tells whether a staging table was created.
absl::Status WriteParquetWith(duckdb_connection connection, const ResultTable& result,
                              const std::string& temporary_path, bool* staged);

absl::Status WriteParquet(const ResultTable& result, const std::string& temporary_path) {
  ParquetWriter& writer = SharedParquetWriter();
  std::lock_guard<std::mutex> lock(writer.mutex);
  if (!writer.db.ok()) return writer.db.status();
  duckdb_connection connection = writer.db->connection.get();
  bool staged = false;
  absl::Status written = WriteParquetWith(connection, result, temporary_path, &staged);
  if (!staged) return written;
  absl::Status dropped =
      ExecuteStatement(connection, "DROP TABLE IF EXISTS staging", "cannot drop the staging table");
  PARLEY_RETURN_IF_ERROR(written);
  return dropped;
}

absl::Status WriteParquetWith(duckdb_connection connection, const ResultTable& result,
                              const std::string& temporary_path, bool* staged) {
  std::vector<std::string> staging_columns;
  std::vector<std::string> casts;
  for (size_t i = 0; i < result.columns.size(); ++i) {
    const ResultColumn& column = result.columns[i];
    std::string staging = absl::StrCat("c", i);
    staging_columns.push_back(absl::StrCat(staging, " VARCHAR"));
    // ENUM and the NULL type are not writable type names; their text is kept as VARCHAR.
    std::string type = column.type == "ENUM" || column.type == "\"NULL\"" ? "VARCHAR" : column.type;
    // Parquet has no 128-bit integer: DuckDB would write HUGEINT (what SUM of a BIGINT column
    // returns) as DOUBLE and drop digits past 2^53. DECIMAL(38,0) keeps every digit; a value
    // beyond 38 digits fails the write rather than being rounded.
    if (type == "HUGEINT" || type == "UHUGEINT") type = "DECIMAL(38,0)";
    casts.push_back(
        absl::StrCat("CAST(", staging, " AS ", type, ") AS ", QuoteIdentifier(column.name)));
  }
  if (result.columns.empty()) return absl::InvalidArgumentError("the result has no columns");
  std::string destination =
      absl::StrCat(" TO ", QuoteString(temporary_path),
                   " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false, KV_METADATA {",
                   kTypesKey, ": ", QuoteString(TypesMetadata(result)), "})");
  if (WritableInline(result)) {
    // NULL is typed VARCHAR, as in the staging table: a column of NULLs casts the same way.
    std::string values;
    for (const auto& row : result.rows) {
      absl::StrAppend(&values, values.empty() ? "(" : ", (");
      for (size_t i = 0; i < row.size(); ++i) {
        absl::StrAppend(&values, i > 0 ? ", " : "",
                        row[i] ? QuoteString(*row[i]) : "CAST(NULL AS VARCHAR)");
      }
      values += ")";
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < result.columns.size(); ++i) names.push_back(absl::StrCat("c", i));
    return ExecuteStatement(
        connection,
        absl::StrCat("COPY (SELECT ", absl::StrJoin(casts, ", "), " FROM (VALUES ", values,
                     ") AS staging(", absl::StrJoin(names, ", "), "))", destination),
        "cannot write Parquet");
  }
  *staged = true;
  PARLEY_RETURN_IF_ERROR(ExecuteStatement(
      connection,
      absl::StrCat("CREATE OR REPLACE TABLE staging (", absl::StrJoin(staging_columns, ", "), ")"),
      "cannot create the staging table"));
  {
    DuckAppender appender;
    if (duckdb_appender_create(connection, nullptr, "staging", appender.out()) == DuckDBError) {
      return absl::InternalError("cannot create an appender");
    }
    for (const auto& row : result.rows) {
      for (const auto& value : row) {
        duckdb_state state =
            value ? duckdb_append_varchar_length(appender.get(), value->data(), value->size())
                  : duckdb_append_null(appender.get());
        if (state == DuckDBError) return absl::InternalError("cannot append a value");
      }
      if (duckdb_appender_end_row(appender.get()) == DuckDBError) {
        return absl::InternalError("cannot append a row");
      }
    }
    if (duckdb_appender_close(appender.get()) == DuckDBError) {
      return absl::InternalError("cannot flush the appender");
    }
  }
  return ExecuteStatement(
      connection,
      absl::StrCat("COPY (SELECT ", absl::StrJoin(casts, ", "), " FROM staging)", destination),
      "cannot write Parquet");
}

// A small result of common types is encoded in-process (engine/parquet_encoder.h: a COPY through
// DuckDB costs about 1 ms, as much as the rest of a small query's overhead); anything else is
// written through DuckDB.
absl::Status WriteParquetFile(const ResultTable& result, TemporaryFile& file) {
  absl::StatusOr<std::string> encoded = EncodeParquet(result, {{kTypesKey, TypesMetadata(result)}});
  if (encoded.ok()) return file.Write(*encoded);
  if (!absl::IsUnimplemented(encoded.status())) return encoded.status();
  return WriteParquet(result, file.WritablePath());
}

// Terminal cells: control characters (line breaks, escape sequences, the C1 controls some
// terminals obey, bidirectional overrides that reorder what is shown) would break the layout or
// drive the terminal, so they are shown escaped, as are bytes that are not UTF-8. A backslash is
// doubled, so that every escape reads one way.
std::string PrintableCell(const std::string& text) {
  std::string out;
  size_t offset = 0;
  while (offset < text.size()) {
    size_t start = offset;
    char32_t c = 0;
    if (!NextCodePoint(text, &offset, &c)) {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned>(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned>(c));
    } else if ((c >= 0x80 && c < 0xA0) || (c >= 0x202A && c <= 0x202E) ||
               (c >= 0x2066 && c <= 0x2069)) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned>(c));
    } else {
      out.append(text, start, offset - start);
    }
  }
  return out;
}

// A value as a terminal cell. NULL is shown as NULL; so that text can never be mistaken for it,
// a text that reads NULL (in any case) or starts with a quote is shown as a SQL string literal
// ('NULL', '''quoted''').
std::string TerminalCell(const std::optional<std::string>& value) {
  if (!value) return "NULL";
  std::string cell = PrintableCell(*value);
  if (!absl::EqualsIgnoreCase(cell, "NULL") && !absl::StartsWith(cell, "'")) return cell;
  std::string quoted = "'";
  for (char c : cell) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace

absl::StatusOr<OutputFormat> OutputFormatFromPath(const std::string& path) {
  std::string extension = absl::AsciiStrToLower(std::filesystem::path(path).extension().string());
  if (extension == ".csv") return OutputFormat::kCsv;
  if (extension == ".json") return OutputFormat::kJson;
  if (extension == ".parquet") return OutputFormat::kParquet;
  return absl::InvalidArgumentError(absl::StrCat("cannot tell the output format of '", path,
                                                 "': use a .csv, .json or .parquet extension"));
}

absl::StatusOr<OutputFormat> OutputFormatFromName(const std::string& name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "csv") return OutputFormat::kCsv;
  if (lower == "json") return OutputFormat::kJson;
  if (lower == "parquet") return OutputFormat::kParquet;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown output format '", name, "' (expected csv, json or parquet)"));
}

absl::Status CheckDestination(const std::string& path, bool replace) {
  std::filesystem::path target(path);
  std::filesystem::path folder = target.parent_path();
  if (folder.empty()) folder = ".";
  struct stat info {};
  if (stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat("cannot write '", path, "': the folder '",
                                            folder.string(), "' does not exist"));
  }
  // Probing is the only answer that holds for every user (root included) and file system (a
  // read-only mount): an unnamed file vanishes when closed; a named probe is removed at once.
  int probe = open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (probe < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string pattern = (folder / ".parley-probe-XXXXXX").string();
    probe = mkstemp(pattern.data());
    if (probe >= 0) unlink(pattern.c_str());
  }
  if (probe < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write '", path, "': the folder '",
                                                    folder.string(), "' is not writable"));
  }
  close(probe);
  if (lstat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write '", path, "': it is a folder"));
    }
    if (!replace) return absl::AlreadyExistsError(absl::StrCat("'", path, "' already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderResult(const ResultTable& result, OutputFormat format) {
  switch (format) {
    case OutputFormat::kCsv:
      return RenderCsv(result);
    case OutputFormat::kJson:
      return RenderJson(result);
    case OutputFormat::kParquet:
      break;
  }
  return absl::InvalidArgumentError("Parquet is a file format: write it to a file");
}

absl::Status WriteResult(const ResultTable& result, const std::string& path, OutputFormat format,
                         bool replace, Sync sync) {
  absl::Status status;
  absl::StatusOr<TemporaryFile> temporary = TemporaryFile::Create(path);
  if (!temporary.ok()) {
    status = temporary.status();
  } else {
    switch (format) {
      case OutputFormat::kCsv:
        status = temporary->Write(RenderCsv(result));
        break;
      case OutputFormat::kJson:
        status = temporary->Write(RenderJson(result));
        break;
      case OutputFormat::kParquet:
        status = WriteParquetFile(result, *temporary);
        break;
    }
    if (status.ok()) status = temporary->CommitTo(path, replace, sync);
  }
  if (status.code() == absl::StatusCode::kAlreadyExists) return status;
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot write '", path, "': ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResultTable> ReadParquetResult(const std::string& path) {
  ParquetWriter& files = SharedParquetWriter();
  std::lock_guard<std::mutex> lock(files.mutex);
  if (!files.db.ok()) return files.db.status();
  duckdb_connection connection = files.db->connection.get();
  auto unreadable = [&] {
    return absl::DataLossError(absl::StrCat("the result file '", path, "' is unreadable"));
  };
  ResultTable table;
  {
    duckdb::DuckResult result;
    std::string sql =
        absl::StrCat("SELECT decode(value) FROM parquet_kv_metadata(", QuoteString(path),
                     ") WHERE CAST(key AS VARCHAR) = ", QuoteString(kTypesKey));
    if (duckdb_query(connection, sql.c_str(), result.out()) == DuckDBError) return unreadable();
    std::optional<nlohmann::json> types;
    if (duckdb_row_count(&result.get()) == 1) {
      duckdb::DuckString text(duckdb_value_varchar(&result.get(), 0, 0));
      types = nlohmann::json::parse(text ? text.get() : "", nullptr, false);
    }
    duckdb::DuckResult described;
    std::string describe =
        absl::StrCat("DESCRIBE SELECT * FROM read_parquet(", QuoteString(path), ")");
    if (duckdb_query(connection, describe.c_str(), described.out()) == DuckDBError) {
      return unreadable();
    }
    idx_t count = duckdb_row_count(&described.get());
    for (idx_t i = 0; i < count; ++i) {
      duckdb::DuckString name(duckdb_value_varchar(&described.get(), 0, i));
      duckdb::DuckString type(duckdb_value_varchar(&described.get(), 1, i));
      if (!name || !type) return unreadable();
      std::string type_name = type.get();
      if (types && types->is_array() && types->size() == count && (*types)[i].is_string()) {
        type_name = (*types)[i].get<std::string>();
      }
      table.columns.push_back({name.get(), type_name});
    }
  }
  duckdb::DuckResult rows;
  std::string sql =
      absl::StrCat("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet(", QuoteString(path), ")");
  if (duckdb_query(connection, sql.c_str(), rows.out()) == DuckDBError) return unreadable();
  idx_t column_count = duckdb_column_count(&rows.get());
  if (column_count != table.columns.size()) return unreadable();
  idx_t row_count = duckdb_row_count(&rows.get());
  table.rows.reserve(row_count);
  for (idx_t row = 0; row < row_count; ++row) {
    auto& values = table.rows.emplace_back();
    values.reserve(column_count);
    for (idx_t column = 0; column < column_count; ++column) {
      if (duckdb_value_is_null(&rows.get(), column, row)) {
        values.emplace_back();
      } else {
        duckdb::DuckString text(duckdb_value_varchar(&rows.get(), column, row));
        values.emplace_back(text ? text.get() : "");
      }
    }
  }
  return table;
}

std::string FormatTable(const ResultTable& result) {
  size_t column_count = result.columns.size();
  std::vector<size_t> widths(column_count);
  std::vector<bool> right(column_count);
  std::vector<std::string> header(column_count);
  for (size_t i = 0; i < column_count; ++i) {
    header[i] = PrintableCell(result.columns[i].name);
    widths[i] = DisplayWidth(header[i]);
    right[i] = IsNumericType(result.columns[i].type);
  }
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : result.rows) {
    std::vector<std::string>& line = cells.emplace_back();
    for (size_t i = 0; i < column_count && i < row.size(); ++i) {
      line.push_back(TerminalCell(row[i]));
      widths[i] = std::max(widths[i], DisplayWidth(line.back()));
    }
  }
  auto pad = [&](const std::string& text, size_t i, bool align_right) {
    std::string padding(widths[i] - DisplayWidth(text), ' ');
    return align_right ? padding + text : text + padding;
  };
  auto emit = [&](const std::vector<std::string>& line, bool is_header, std::string* out) {
    std::vector<std::string> padded;
    for (size_t i = 0; i < line.size(); ++i)
      padded.push_back(pad(line[i], i, !is_header && right[i]));
    std::string text = absl::StrJoin(padded, " | ");
    // No trailing blanks: they make copied output and byte-exact tests fragile.
    text.erase(text.find_last_not_of(' ') + 1);
    absl::StrAppend(out, text, "\n");
  };

  std::string out;
  emit(header, true, &out);
  std::vector<std::string> dashes;
  for (size_t width : widths) dashes.push_back(std::string(width, '-'));
  absl::StrAppend(&out, absl::StrJoin(dashes, "-+-"), "\n");
  for (const auto& line : cells) emit(line, false, &out);
  absl::StrAppend(&out, "(", result.rows.size(), result.rows.size() == 1 ? " row)" : " rows)",
                  "\n");
  return out;
}

}  // namespace parley::engine
