#include "connectors/files/pinned_source.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "connectors/files/inspector.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::connectors::files {
namespace {

using engine::duckdb::QuoteIdentifier;
using engine::duckdb::QuoteString;

std::vector<std::string> NullStrings(const ReadOptions& options) {
  if (options.null_strings) return *options.null_strings;
  return {"", "NULL", "\\N"};
}

std::string ColumnsStruct(const std::vector<catalog::Column>& columns, bool all_varchar = false) {
  std::vector<std::string> fields;
  for (const catalog::Column& column : columns) {
    fields.push_back(absl::StrCat(QuoteString(column.name), ": ",
                                  QuoteString(all_varchar ? "VARCHAR" : column.type)));
  }
  return absl::StrCat("{", absl::StrJoin(fields, ", "), "}");
}

// The reader's options. `columns` forces the columns and turns detection off (a pinned read);
// without them DuckDB detects the types (with the owner's `types` applied by PinSource later).
std::string CsvOptions(const ReadOptions& options, const std::vector<catalog::Column>* columns,
                       bool all_varchar = false) {
  std::vector<std::string> parts = {
      absl::StrCat("header=", options.header ? "true" : "false"),
      "skip=0",
      absl::StrCat("quote=", QuoteString(options.quote.value_or("\""))),
      absl::StrCat("escape=", QuoteString(options.escape.value_or("\""))),
      absl::StrCat("nullstr=", QuotedList(NullStrings(options))),
      "strict_mode=true"};
  if (options.delimiter) parts.push_back(absl::StrCat("delim=", QuoteString(*options.delimiter)));
  if (options.decimal_separator) {
    parts.push_back(absl::StrCat("decimal_separator=", QuoteString(*options.decimal_separator)));
  }
  if (options.thousands_separator) {
    parts.push_back(absl::StrCat("thousands=", QuoteString(*options.thousands_separator)));
  }
  if (options.date_format) {
    parts.push_back(absl::StrCat("dateformat=", QuoteString(*options.date_format)));
  }
  if (options.timestamp_format) {
    parts.push_back(absl::StrCat("timestampformat=", QuoteString(*options.timestamp_format)));
  }
  if (columns != nullptr) {
    parts.push_back("auto_detect=false");
    parts.push_back(absl::StrCat("columns=", ColumnsStruct(*columns, all_varchar)));
  } else {
    parts.push_back("auto_detect=true");
    if (all_varchar) parts.push_back("all_varchar=true");
  }
  return absl::StrJoin(parts, ", ");
}

std::string JsonOptions(const ReadOptions& options, const std::vector<catalog::Column>* columns) {
  std::vector<std::string> parts = {"format='newline_delimited'"};
  if (options.date_format) {
    parts.push_back(absl::StrCat("dateformat=", QuoteString(*options.date_format)));
  }
  if (options.timestamp_format) {
    parts.push_back(absl::StrCat("timestampformat=", QuoteString(*options.timestamp_format)));
  }
  if (columns != nullptr) parts.push_back(absl::StrCat("columns=", ColumnsStruct(*columns)));
  return absl::StrJoin(parts, ", ");
}

std::string ReaderCall(const FileDescription& source, const std::vector<std::string>& files,
                       const std::vector<catalog::Column>* columns, bool all_varchar = false) {
  // Parquet carries its own types: nothing to pin (Preview describes it through here).
  if (source.format == Format::kParquet)
    return absl::StrCat("read_parquet(", QuotedList(files), ")");
  if (source.format == Format::kJsonLines) {
    return absl::StrCat("read_json(", QuotedList(files), ", ", JsonOptions(source.options, columns),
                        ")");
  }
  return absl::StrCat("read_csv(", QuotedList(files), ", ",
                      CsvOptions(source.options, columns, all_varchar), ")");
}

std::string Title(Format format) {
  return format == Format::kJsonLines ? "JSON lines"
         : format == Format::kParquet ? "Parquet"
                                      : "CSV";
}

absl::Status Problem(const FileDescription& source, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot read '", source.path, "' as ", Title(source.format), ": ", what));
}

// The number after `marker` in `message`, or 0.
int64_t NumberAfter(const std::string& message, std::string_view marker) {
  size_t at = message.find(marker);
  if (at == std::string::npos) return 0;
  size_t start = at + marker.size();
  size_t end = start;
  while (end < message.size() && absl::ascii_isdigit(message[end])) ++end;
  int64_t number = 0;
  if (end == start || !absl::SimpleAtoi(message.substr(start, end - start), &number)) return 0;
  return number;
}

// The text between `open` and the next `close` after it, or "".
std::string Between(const std::string& message, std::string_view open, std::string_view close) {
  size_t at = message.find(open);
  if (at == std::string::npos) return "";
  size_t start = at + open.size();
  size_t end = message.find(close, start);
  if (end == std::string::npos) return "";
  return message.substr(start, end - start);
}

const catalog::Column* FindColumn(const std::vector<catalog::Column>& columns,
                                  const std::string& name, bool ignore_case = false) {
  for (const catalog::Column& column : columns) {
    if (column.name == name || (ignore_case && absl::EqualsIgnoreCase(column.name, name))) {
      return &column;
    }
  }
  return nullptr;
}

// Reads every value of every column (count(*) alone converts nothing), so that a row anywhere that
// does not fit is found now. For JSON lines DuckDB does not say which key failed: the columns are
// then read one at a time to name it.
absl::Status ReadEveryRow(Inspector& inspector, const FileDescription& source,
                          const std::vector<std::string>& files) {
  const std::vector<catalog::Column>& columns = source.options.columns;
  std::vector<std::string> counts;
  for (const catalog::Column& column : columns) {
    counts.push_back(absl::StrCat("count(", QuoteIdentifier(column.name), ")"));
  }
  engine::duckdb::DuckResult result;
  auto failure = inspector.Query(absl::StrCat("SELECT ", absl::StrJoin(counts, ", "), " FROM ",
                                              ReaderCall(source, files, &columns)),
                                 &result);
  if (!failure) return absl::OkStatus();
  ReadProblem problem = ClassifyReadProblem(source, files, failure->message, failure->error_class);
  if (source.format == Format::kJsonLines && problem.column.empty() &&
      absl::StrContains(failure->message, "transform error")) {
    for (const catalog::Column& column : columns) {
      FileDescription one = source;
      one.options.columns = {column};
      engine::duckdb::DuckResult probe;
      if (inspector.Query(absl::StrCat("SELECT count(", QuoteIdentifier(column.name), ") FROM ",
                                       ReaderCall(one, files, &one.options.columns)),
                          &probe)) {
        problem.column = column.name;
        problem.what = absl::StrCat("the value is not a ", column.type);
        break;
      }
    }
  }
  return Problem(source, DescribeProblem(problem, files.size() > 1));
}

constexpr char kQuoteNotClosed[] = "a quote is not closed";

// A sniff that failed (DuckDB says only that it found no dialect): reads the file with the
// delimiter that splits its first line into the most columns, every column as text, to find the
// line that does not fit.
// `only_if_wider`: OK when no delimiter splits the first line (a file of one column).
absl::Status LocateCsvProblem(Inspector& inspector, const FileDescription& source,
                              const std::vector<std::string>& files, bool only_if_wider = false) {
  std::vector<std::string> candidates = {",", ";", "\t", "|"};
  if (source.options.delimiter) candidates = {*source.options.delimiter};
  std::string best = candidates.front();
  idx_t widest = 0;
  for (const std::string& delimiter : candidates) {
    FileDescription probe = source;
    probe.options.delimiter = delimiter;
    probe.options.header = false;
    engine::duckdb::DuckResult result;
    std::string sql = absl::StrCat("SELECT * FROM read_csv(", QuoteString(files.front()), ", ",
                                   CsvOptions(probe.options, nullptr, /*all_varchar=*/true),
                                   ", null_padding=true) LIMIT 1");
    if (inspector.Query(sql, &result)) continue;
    if (duckdb_column_count(&result.get()) > widest) {
      widest = duckdb_column_count(&result.get());
      best = delimiter;
    }
  }
  {
    // A quote opened and never closed makes DuckDB's sniff fail with the right delimiter (and
    // read one column with the others): the fields of the first line, quotes respected, give the
    // columns of a strict read, which names the line where the file breaks.
    std::ifstream in(files.front(), std::ios::binary);
    std::string first;
    std::getline(in, first);
    bool plain = !absl::EndsWith(files.front(), ".gz") && !absl::EndsWith(files.front(), ".zst");
    const char quote =
        source.options.quote.value_or("\"").empty() ? '\0' : source.options.quote.value_or("\"")[0];
    for (const std::string& delimiter : candidates) {
      if (!plain || delimiter.size() != 1) continue;
      idx_t fields = 1;
      bool quoted = false;
      for (char c : first) {
        if (quote != '\0' && c == quote) quoted = !quoted;
        if (!quoted && c == delimiter[0]) ++fields;
      }
      if (fields > 1 && fields > widest) {
        widest = fields;
        best = delimiter;
      }
    }
  }
  if (only_if_wider && widest <= 1) return absl::OkStatus();
  FileDescription strict = source;
  strict.options.delimiter = best;
  for (idx_t i = 0; i < widest; ++i) {
    strict.options.columns.push_back({absl::StrCat("column", i), "VARCHAR"});
  }
  if (widest > 0) {
    Inspector::Failure failure;
    engine::duckdb::DuckResult result;
    if (auto failed =
            inspector.Query(absl::StrCat("SELECT count(*) FROM (SELECT * FROM ",
                                         ReaderCall(strict, files, &strict.options.columns), ")"),
                            &result)) {
      return Problem(source, DescribeProblem(ClassifyReadProblem(strict, files, failed->message,
                                                                 failed->error_class),
                                             files.size() > 1));
    }
  }
  return Problem(source,
                 "its delimiter could not be detected (rows have different numbers of columns, or "
                 "a quote is not closed): give it with --delimiter");
}

// The format that reads day and month the other way round, or "" when `format` is not one of
// those (ISO dates, year first, are never ambiguous).
std::string SwappedDayMonth(const std::string& format) {
  if (absl::StartsWith(format, "%Y") || absl::StartsWith(format, "%y")) return "";
  if (!absl::StrContains(format, "%d") || !absl::StrContains(format, "%m")) return "";
  return absl::StrReplaceAll(format, {{"%d", "%m"}, {"%m", "%d"}});
}

// Refuses a detected day/month format that every value of a column also reads in the other
// order, and differently for some: 01/02/2024 is 1 February or 2 January, and only the owner
// knows which.
absl::Status CheckAmbiguousDates(Inspector& inspector, const FileDescription& source,
                                 const std::vector<std::string>& files, bool date_given,
                                 bool timestamp_given) {
  for (const catalog::Column& column : source.options.columns) {
    bool is_date = column.type == "DATE";
    bool is_timestamp = absl::StartsWith(column.type, "TIMESTAMP");
    if (!(is_date && !date_given) && !(is_timestamp && !timestamp_given)) continue;
    std::optional<std::string> format =
        is_date ? source.options.date_format : source.options.timestamp_format;
    if (!format) continue;
    std::string swapped = SwappedDayMonth(*format);
    if (swapped.empty()) continue;
    std::string value = QuoteIdentifier(column.name);
    std::string reader = ReaderCall(source, files, &source.options.columns, /*all_varchar=*/true);
    // Two scans that stop at the first row found: one value that does not read the other way
    // round settles it (the usual case, found early); only an ambiguous file is read in full.
    auto exists = [&](const std::string& condition) -> std::optional<bool> {
      engine::duckdb::DuckResult result;
      if (inspector.Query(
              absl::StrCat("SELECT EXISTS (SELECT 1 FROM ", reader, " WHERE ", condition, ")"),
              &result)) {
        return std::nullopt;  // the full read reports any problem
      }
      return duckdb_value_boolean(&result.get(), 0, 0);
    };
    std::optional<bool> one_way = exists(absl::StrCat(
        value, " IS NOT NULL AND try_strptime(", value, ", ", QuoteString(swapped), ") IS NULL"));
    if (!one_way || *one_way) continue;
    std::optional<bool> differ =
        exists(absl::StrCat("try_strptime(", value, ", ", QuoteString(swapped),
                            ") <> try_strptime(", value, ", ", QuoteString(*format), ")"));
    if (differ && *differ) {
      return Problem(
          source, absl::StrCat("column '", column.name, "' has ", is_date ? "dates" : "timestamps",
                               " that read both as day/month and as month/day (", *format, " or ",
                               swapped, "): give the format with ",
                               is_date ? "--date-format" : "--timestamp-format"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<catalog::Column>> Describe(Inspector& inspector,
                                                      const FileDescription& source,
                                                      const std::vector<std::string>& files,
                                                      const std::vector<catalog::Column>* columns) {
  engine::duckdb::DuckResult described;
  if (auto failure = inspector.Query(
          absl::StrCat("DESCRIBE SELECT * FROM ", ReaderCall(source, files, columns)),
          &described)) {
    if (columns != nullptr && absl::StrContains(failure->message, "Type with name")) {
      return Problem(source, "a type given with --types is not a type DuckDB knows");
    }
    if (source.format == Format::kCsv && absl::StrContains(failure->message, "sniffing")) {
      return LocateCsvProblem(inspector, source, files);
    }
    return Problem(source, DescribeProblem(ClassifyReadProblem(source, files, failure->message,
                                                               failure->error_class),
                                           files.size() > 1));
  }
  std::vector<catalog::Column> result;
  for (idx_t row = 0; row < duckdb_row_count(&described.get()); ++row) {
    result.push_back({Cell(described, 0, row), Cell(described, 1, row)});
  }
  if (result.empty()) return Problem(source, "no columns");
  return result;
}

}  // namespace

absl::Status CheckCsvHeader(const std::string& table, const FileDescription& pinned,
                            const std::string& file) {
  const ReadOptions& options = pinned.options;
  std::string lower = absl::AsciiStrToLower(file);
  if (pinned.format != Format::kCsv || !options.header || options.columns.empty() ||
      absl::EndsWith(lower, ".gz") || absl::EndsWith(lower, ".zst")) {
    return absl::OkStatus();
  }
  auto changed = [&](size_t position) {
    return absl::FailedPreconditionError(absl::StrCat(
        "table '", table,
        "': the header of its source file no longer names the columns pinned "
        "when the table was added (column ",
        position + 1,
        " differs); its owner can point it at a file of the same layout with 'parley table "
        "update'"));
  };
  std::ifstream in(file, std::ios::binary);
  std::string buffer(64 * 1024, '\0');
  in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  buffer.resize(static_cast<size_t>(in.gcount()));
  if (absl::StartsWith(buffer, "\xEF\xBB\xBF")) buffer.erase(0, 3);
  // The header's fields, split as RFC 4180 with the pinned delimiter, quote and escape.
  std::string delimiter = options.delimiter.value_or(",");
  std::string quote = options.quote.value_or("\"");
  std::string escape = options.escape.value_or("\"");
  std::vector<std::string> fields(1);
  bool quoted = false;
  bool ended = false;
  for (size_t i = 0; i < buffer.size() && !ended; ++i) {
    char c = buffer[i];
    if (quoted) {
      if (!escape.empty() && c == escape[0] && i + 1 < buffer.size() && buffer[i + 1] == quote[0]) {
        fields.back() += quote[0];  // an escaped quote
        ++i;
        continue;
      }
      if (!quote.empty() && c == quote[0]) {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (!quote.empty() && c == quote[0]) {
      quoted = true;
    } else if (buffer.compare(i, delimiter.size(), delimiter) == 0) {
      fields.emplace_back();
      i += delimiter.size() - 1;
    } else if (c == '\n' || c == '\r') {
      ended = true;
    } else {
      fields.back() += c;
    }
  }
  if (!ended) return absl::OkStatus();  // a header longer than the buffer: left to the read
  for (size_t i = 0; i < options.columns.size(); ++i) {
    if (i >= fields.size() || absl::StripAsciiWhitespace(fields[i]) !=
                                  absl::StripAsciiWhitespace(options.columns[i].name)) {
      return changed(i);
    }
  }
  if (fields.size() > options.columns.size()) return changed(options.columns.size());
  return absl::OkStatus();
}

std::string PinnedReaderCall(const FileDescription& pinned, const std::vector<std::string>& files) {
  return ReaderCall(pinned, files, &pinned.options.columns);
}

absl::StatusOr<FileDescription> PinSource(const FileDescription& described) {
  if (described.format == Format::kParquet) return described;
  // A description pinned already (a source repointed, or pinned twice) keeps its columns' types:
  // they are the owner's types for the new read.
  FileDescription given = described;
  std::set<std::string> from_columns;  // types that are the old pinned columns' own
  for (const catalog::Column& column : described.options.columns) {
    if (FindColumn(given.options.types, column.name, /*ignore_case=*/true) == nullptr) {
      given.options.types.push_back(column);
      from_columns.insert(column.name);
    }
  }
  given.options.columns.clear();
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, SourcePaths(given.path));
  for (const std::string& file : files) {
    std::error_code error;
    if (std::filesystem::file_size(file, error) == 0 && !error) {
      return absl::InvalidArgumentError(absl::StrCat("'", file, "' is empty"));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  FileDescription pinned = given;
  pinned.options.columns.clear();
  if (given.format == Format::kCsv) {
    // The dialect and formats, from the first file (a glob's files are one export).
    engine::duckdb::DuckResult sniffed;
    if (auto failure = inspector.Query(
            absl::StrCat("SELECT Delimiter, DateFormat, TimestampFormat FROM sniff_csv(",
                         QuoteString(files.front()), ", ", CsvOptions(given.options, nullptr), ")"),
            &sniffed)) {
      if (absl::StrContains(failure->message, "sniffing")) {
        return LocateCsvProblem(inspector, given, files);
      }
      return Problem(given, DescribeProblem(ClassifyReadProblem(given, files, failure->message,
                                                                failure->error_class),
                                            files.size() > 1));
    }
    if (!pinned.options.delimiter) pinned.options.delimiter = Cell(sniffed, 0, 0);
    if (!pinned.options.date_format && !IsNull(sniffed, 1, 0)) {
      pinned.options.date_format = Cell(sniffed, 1, 0);
    }
    if (!pinned.options.timestamp_format && !IsNull(sniffed, 2, 0)) {
      pinned.options.timestamp_format = Cell(sniffed, 2, 0);
    }
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Column> columns,
                          Describe(inspector, pinned, files, nullptr));
  // Left to guess, DuckDB reads a file whose rows disagree (a ragged row, a quote not closed) as
  // one wide text column: a first line that one of the usual delimiters splits is then found
  // where it breaks.
  if (given.format == Format::kCsv && !given.options.delimiter && columns.size() == 1) {
    FileDescription guess = given;
    guess.options.delimiter.reset();
    absl::Status located = LocateCsvProblem(inspector, guess, files, /*only_if_wider=*/true);
    if (!located.ok()) return located;
    // A header that one of the usual delimiters splits is not one column's name.
    if (given.options.header && columns.front().name.find_first_of(",;\t|") != std::string::npos) {
      return LocateCsvProblem(inspector, guess, files);
    }
  }
  if (pinned.options.header || pinned.format == Format::kJsonLines) {
    PARLEY_RETURN_IF_ERROR(CheckColumnNames(
        inspector, pinned.format, files.front(), pinned.options.delimiter.value_or(","), columns,
        absl::StrCat("cannot read '", given.path, "' as ", Title(given.format), ": ")));
  }
  // The owner's types replace the detected ones.
  for (const catalog::Column& wanted : given.options.types) {
    const catalog::Column* found = FindColumn(columns, wanted.name, /*ignore_case=*/true);
    if (found == nullptr && from_columns.contains(wanted.name)) continue;  // the caller compares
    if (found == nullptr) {
      return Problem(given, absl::StrCat("--types names column '", wanted.name,
                                         "', which the source does not have"));
    }
    const_cast<catalog::Column*>(found)->type = wanted.type;
  }
  pinned.options.columns = columns;
  // Canonical type names (DuckDB's), and a check that the owner's types exist.
  PARLEY_ASSIGN_OR_RETURN(pinned.options.columns,
                          Describe(inspector, pinned, files, &pinned.options.columns));
  pinned.options.types.clear();
  if (given.format == Format::kCsv) {
    PARLEY_RETURN_IF_ERROR(CheckAmbiguousDates(inspector, pinned, files,
                                               given.options.date_format.has_value(),
                                               given.options.timestamp_format.has_value()));
  }
  PARLEY_RETURN_IF_ERROR(ReadEveryRow(inspector, pinned, files));
  return pinned;
}

absl::StatusOr<std::vector<catalog::Column>> CheckPinnedSource(const FileDescription& pinned) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, SourcePaths(pinned.path));
  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  // The rows were read in full by PinSource, which every description goes through before it is
  // stored (service: Pin, then InferSchema): reading them again here doubled a registration's time.
  return Describe(inspector, pinned, files, &pinned.options.columns);
}

absl::StatusOr<PreviewRows> Preview(const FileDescription& pinned, int limit) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, SourcePaths(pinned.path));
  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  PreviewRows preview;
  preview.columns = pinned.options.columns;
  if (pinned.format == Format::kParquet) {
    PARLEY_ASSIGN_OR_RETURN(preview.columns, Describe(inspector, pinned, files, nullptr));
  }
  std::string reader = pinned.format == Format::kParquet
                           ? absl::StrCat("read_parquet(", QuotedList(files), ")")
                           : PinnedReaderCall(pinned, files);
  engine::duckdb::DuckResult result;
  if (auto failure = inspector.Query(
          absl::StrCat("SELECT * FROM ", reader, " LIMIT ", std::max(limit, 0)), &result)) {
    return Problem(pinned, DescribeProblem(ClassifyReadProblem(pinned, files, failure->message,
                                                               failure->error_class),
                                           files.size() > 1));
  }
  for (idx_t row = 0; row < duckdb_row_count(&result.get()); ++row) {
    std::vector<std::optional<std::string>> values;
    for (idx_t column = 0; column < duckdb_column_count(&result.get()); ++column) {
      if (IsNull(result, column, row)) {
        values.push_back(std::nullopt);
      } else {
        values.push_back(Cell(result, column, row));
      }
    }
    preview.rows.push_back(std::move(values));
  }
  return preview;
}

struct RowStream::State {
  FileDescription pinned;
  std::vector<std::string> files;
  Inspector inspector;
  engine::duckdb::DuckPrepared prepared;
  engine::duckdb::DuckHandle<duckdb_pending_result, duckdb_destroy_pending> pending;
  engine::duckdb::DuckResult result;
  engine::duckdb::DuckHandle<duckdb_data_chunk, duckdb_destroy_data_chunk> chunk;
  idx_t chunk_rows = 0;
  idx_t next_row = 0;
  bool finished = false;
  int64_t expected_rows = 0;  // counted by the first pass
  int64_t streamed_rows = 0;

  absl::Status ReadFailure(const std::string& message, const char* error_class) {
    return Problem(pinned, DescribeProblem(ClassifyReadProblem(pinned, files, message, error_class),
                                           files.size() > 1));
  }
};

RowStream::RowStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
RowStream::~RowStream() = default;

absl::StatusOr<std::unique_ptr<RowStream>> RowStream::Open(const FileDescription& pinned) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, SourcePaths(pinned.path));
  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  std::vector<catalog::Column> columns = pinned.options.columns;
  if (pinned.format == Format::kParquet) {
    PARLEY_ASSIGN_OR_RETURN(columns, Describe(inspector, pinned, files, nullptr));
  }
  std::string reader = pinned.format == Format::kParquet
                           ? absl::StrCat("read_parquet(", QuotedList(files), ")")
                           : PinnedReaderCall(pinned, files);
  auto state = std::unique_ptr<State>(new State{pinned, files, std::move(inspector)});
  // Which columns hold a NULL, and how many rows there are: one aggregate over the source.
  std::vector<std::string> nulls = {"count(*)"}, texts;
  for (const catalog::Column& column : columns) {
    std::string name = engine::duckdb::QuoteIdentifier(column.name);
    nulls.push_back(absl::StrCat("bool_or(", name, " IS NULL)"));
    texts.push_back(absl::StrCat("CAST(", name, " AS VARCHAR)"));
  }
  std::vector<bool> has_null(columns.size(), false);
  {
    engine::duckdb::DuckResult result;
    if (auto failure = state->inspector.Query(
            absl::StrCat("SELECT ", absl::StrJoin(nulls, ", "), " FROM ", reader), &result)) {
      return state->ReadFailure(failure->message, failure->error_class);
    }
    if (!absl::SimpleAtoi(Cell(result, 0, 0), &state->expected_rows)) {
      return absl::InternalError("counting a source's rows gave no count");
    }
    for (size_t i = 0; i < columns.size(); ++i) has_null[i] = Cell(result, i + 1, 0) == "true";
  }
  std::string sql =
      absl::StrCat("SELECT ", columns.empty() ? "*" : absl::StrJoin(texts, ", "), " FROM ", reader);
  auto failed = [&](const char* error) {
    return state->ReadFailure(error == nullptr ? "" : error, "Invalid Input Error");
  };
  if (duckdb_prepare(state->inspector.connection(), sql.c_str(), state->prepared.out()) ==
      DuckDBError) {
    return failed(duckdb_prepare_error(state->prepared.get()));
  }
  if (duckdb_pending_prepared_streaming(state->prepared.get(), state->pending.out()) ==
      DuckDBError) {
    return failed(duckdb_pending_error(state->pending.get()));
  }
  if (duckdb_execute_pending(state->pending.get(), state->result.out()) == DuckDBError) {
    const char* message = duckdb_result_error(&state->result.get());
    return state->ReadFailure(
        message == nullptr ? "" : message,
        engine::duckdb::ClassifyError(duckdb_result_error_type(&state->result.get())).name);
  }
  auto stream = std::unique_ptr<RowStream>(new RowStream(std::move(state)));
  stream->columns_ = std::move(columns);
  stream->has_null_ = std::move(has_null);
  return stream;
}

absl::StatusOr<bool> RowStream::Next(std::vector<std::optional<std::string>>& row) {
  State& state = *state_;
  while (state.next_row >= state.chunk_rows) {
    if (state.finished) return false;
    state.chunk.Reset();
    *state.chunk.out() = duckdb_fetch_chunk(state.result.get());
    if (state.chunk.get() == nullptr) {
      state.finished = true;
      const char* message = duckdb_result_error(&state.result.get());
      if (message != nullptr) {
        return state.ReadFailure(
            message,
            engine::duckdb::ClassifyError(duckdb_result_error_type(&state.result.get())).name);
      }
      // An end that is not the end (a read that stopped without saying why, or a file changed
      // between the two passes) must not pass for the whole source.
      if (state.streamed_rows != state.expected_rows) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the source '", state.pinned.path, "' changed while it was read: ", state.expected_rows,
            " rows counted, ", state.streamed_rows, " read"));
      }
      return false;
    }
    state.chunk_rows = duckdb_data_chunk_get_size(state.chunk.get());
    state.next_row = 0;
  }
  idx_t count = duckdb_data_chunk_get_column_count(state.chunk.get());
  row.assign(count, std::nullopt);
  for (idx_t column = 0; column < count; ++column) {
    duckdb_vector vector = duckdb_data_chunk_get_vector(state.chunk.get(), column);
    uint64_t* validity = duckdb_vector_get_validity(vector);
    if (validity != nullptr && !duckdb_validity_row_is_valid(validity, state.next_row)) continue;
    auto* strings = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
    duckdb_string_t& value = strings[state.next_row];
    if (duckdb_string_is_inlined(value)) {
      row[column] = std::string(value.value.inlined.inlined, value.value.inlined.length);
    } else {
      row[column] = std::string(value.value.pointer.ptr, value.value.pointer.length);
    }
  }
  ++state.next_row;
  ++state.streamed_rows;
  return true;
}

absl::StatusOr<int64_t> CountRows(const FileDescription& pinned,
                                  const std::vector<std::string>& files) {
  PARLEY_ASSIGN_OR_RETURN(Inspector inspector, Inspector::Open(files));
  std::string reader = pinned.format == Format::kParquet
                           ? absl::StrCat("read_parquet(", QuotedList(files), ")")
                       : pinned.options.columns.empty() ? ReaderCall(pinned, files, nullptr)
                                                        : PinnedReaderCall(pinned, files);
  engine::duckdb::DuckResult result;
  if (auto failure = inspector.Query(absl::StrCat("SELECT count(*) FROM ", reader), &result)) {
    return Problem(pinned, DescribeProblem(ClassifyReadProblem(pinned, files, failure->message,
                                                               failure->error_class),
                                           files.size() > 1));
  }
  int64_t rows = 0;
  if (duckdb_row_count(&result.get()) != 1 || !absl::SimpleAtoi(Cell(result, 0, 0), &rows)) {
    return absl::InternalError("counting a source's rows gave no count");
  }
  return rows;
}

ReadProblem ClassifyReadProblem(const FileDescription& pinned,
                                const std::vector<std::string>& files, const std::string& message,
                                const char* error_class) {
  ReadProblem problem;
  // The file: only as one of the files the source reads (DuckDB's message could say anything).
  for (const std::string& candidate :
       {Between(message, "file = ", "\n"), Between(message, "in file \"", "\"")}) {
    for (const std::string& file : files) {
      if (!candidate.empty() && candidate == file) problem.file = file;
    }
  }
  problem.line = NumberAfter(message, "CSV Error on Line: ");
  if (problem.line == 0) problem.line = NumberAfter(message, " in line ");
  // The column: only as a pinned column's name.
  std::string column = Between(message, "Error when converting column \"", "\".");
  if (const catalog::Column* found = FindColumn(pinned.options.columns, column)) {
    problem.column = found->name;
  }
  if (absl::StrContains(message, "Expected Number of Columns")) {
    int64_t expected = NumberAfter(message, "Expected Number of Columns: ");
    int64_t found = NumberAfter(message, " Found: ");
    problem.what =
        absl::StrCat("it has ", found, " columns where the ",
                     pinned.options.header ? "header has " : "first line has ", expected);
  } else if (absl::StrContains(message, "unterminated quote")) {
    problem.what = kQuoteNotClosed;
  } else if (absl::StrContains(message, "Invalid unicode") ||
             absl::StrContains(message, "not utf-8")) {
    problem.what = "it is not valid UTF-8 (Parley reads UTF-8 text only)";
  } else if (absl::StrContains(message, "Maximum line size")) {
    problem.what = "it is too long";
  } else if (absl::StrContains(message, "Malformed JSON")) {
    problem.what = "it is not a JSON object";
  } else if (absl::StrContains(message, "Could not convert") ||
             absl::StrContains(message, "Error when converting") ||
             absl::StrContains(message, "transform error")) {
    const catalog::Column* found = FindColumn(pinned.options.columns, problem.column);
    problem.what = found == nullptr ? "a value does not match its column's type"
                                    : absl::StrCat("the value is not a ", found->type);
  } else {
    problem.what = absl::StrCat("(", error_class, ")");
  }
  return problem;
}

std::string DescribeProblem(const ReadProblem& problem, bool with_file) {
  std::string where;
  if (with_file && !problem.file.empty()) where = absl::StrCat("file '", problem.file, "' ");
  if (problem.line > 0) absl::StrAppend(&where, "line ", problem.line);
  if (!problem.column.empty()) {
    absl::StrAppend(&where, where.empty() ? "" : ", ", "column '", problem.column, "'");
  }
  if (where.empty()) return problem.what;
  return absl::StrCat(where, ": ", problem.what);
}

}  // namespace parley::connectors::files
