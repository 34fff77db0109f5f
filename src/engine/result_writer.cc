// Result output: CSV, JSON and Parquet files, and the terminal table. Files are written to a
// temporary beside the destination and renamed into place, so a reader never sees half a file.
#include "engine/result_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
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

// A temporary file beside the destination, removed on destruction unless committed.
class TemporaryFile {
 public:
  static absl::StatusOr<TemporaryFile> Create(const std::string& destination) {
    std::filesystem::path target(destination);
    std::string pattern =
        (target.parent_path() / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    int fd = mkstemp(buffer.data());
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("cannot write '", destination,
                       "': cannot create a temporary file: ", std::strerror(errno)));
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

  const std::string& path() const { return path_; }

  absl::Status Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) return Errno("write");
      data.remove_prefix(static_cast<size_t>(written));
    }
    return absl::OkStatus();
  }

  // Flushes, closes and renames over the destination; afterwards there is nothing to remove.
  absl::Status CommitTo(const std::string& destination) {
    if (fsync(fd_) != 0) return Errno("sync");
    int fd = std::exchange(fd_, -1);
    if (close(fd) != 0) return Errno("close");
    if (std::rename(path_.c_str(), destination.c_str()) != 0) return Errno("rename");
    path_.clear();
    return absl::OkStatus();
  }

  // Lets another writer (DuckDB's COPY) replace the file's contents by path.
  void CloseDescriptor() {
    if (fd_ >= 0) close(std::exchange(fd_, -1));
  }
  absl::Status CommitClosedTo(const std::string& destination) {
    int fd = open(path_.c_str(), O_RDONLY);
    if (fd < 0) return Errno("open");
    fd_ = fd;
    return CommitTo(destination);
  }

 private:
  TemporaryFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status Errno(const char* what) const {
    return absl::InternalError(
        absl::StrCat("cannot ", what, " '", path_, "': ", std::strerror(errno)));
  }

  int fd_ = -1;
  std::string path_;
};

// Parquet goes through a private, unlocked DuckDB: the session that ran the query may not write
// files. Values arrive as text and are cast back to the result's types, so the file carries the
// same types the query produced. DuckDB's own temporary file is turned off: ours already gives the
// all-or-nothing rename, and DuckDB would leave its "tmp_" file behind when the COPY fails.
absl::Status WriteParquet(const ResultTable& result, const std::string& temporary_path) {
  DatabaseOptions options;
  options.threads = 1;
  PARLEY_ASSIGN_OR_RETURN(InMemoryDatabase db, OpenInMemoryDatabase(options));
  duckdb_connection connection = db.connection.get();
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
  PARLEY_RETURN_IF_ERROR(ExecuteStatement(
      connection, absl::StrCat("CREATE TABLE staging (", absl::StrJoin(staging_columns, ", "), ")"),
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
      absl::StrCat("COPY (SELECT ", absl::StrJoin(casts, ", "), " FROM staging) TO ",
                   QuoteString(temporary_path), " (FORMAT parquet, USE_TMP_FILE false)"),
      "cannot write Parquet");
}

// Terminal cells: control characters (line breaks, escape sequences) would break the layout or
// drive the terminal, so they are shown escaped.
std::string PrintableCell(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Display width in code points; good enough for the text Parley prints (no wide-glyph tables).
size_t DisplayWidth(const std::string& text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
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

absl::Status WriteResult(const ResultTable& result, const std::string& path, OutputFormat format) {
  PARLEY_ASSIGN_OR_RETURN(TemporaryFile temporary, TemporaryFile::Create(path));
  absl::Status status;
  switch (format) {
    case OutputFormat::kCsv:
      status = temporary.Write(RenderCsv(result));
      break;
    case OutputFormat::kJson:
      status = temporary.Write(RenderJson(result));
      break;
    case OutputFormat::kParquet:
      temporary.CloseDescriptor();
      status = WriteParquet(result, temporary.path());
      break;
  }
  if (status.ok()) {
    status = format == OutputFormat::kParquet ? temporary.CommitClosedTo(path)
                                              : temporary.CommitTo(path);
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot write '", path, "': ", status.message()));
  }
  return absl::OkStatus();
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
      line.push_back(row[i] ? PrintableCell(*row[i]) : "NULL");
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
