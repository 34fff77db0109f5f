#include "connectors/files/files_connector.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "connectors/files/pinned_source.h"
#include "nlohmann/json.hpp"

namespace parley::connectors::files {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(std::string_view at, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("invalid files source description at ",
                                                 std::string(at), ": ", std::string(problem)));
}

// The JSON pointer (RFC 6901) of a top-level field, escaped for a message.
std::string PointerTo(const std::string& key) {
  std::string pointer = "/";
  for (char c : key) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
  return absl::CHexEscape(pointer);
}

}  // namespace

namespace {

constexpr const char* kFields =
    "(a files source has \"path\", \"format\", \"delimiter\", \"quote\", \"escape\", "
    "\"header\", \"null_strings\", \"decimal_separator\", \"thousands_separator\", "
    "\"date_format\", \"timestamp_format\", "
    "\"types\" and "
    "\"columns\")";

// A type name as DuckDB spells one: letters, digits, spaces, and a (width[, scale]) suffix. The
// reader checks that the type exists; this keeps anything else out of the generated SQL's text.
bool IsTypeName(const std::string& type) {
  if (type.empty() || type.size() > 64 || !absl::ascii_isalpha(type[0])) return false;
  size_t i = 0;
  while (i < type.size() && (absl::ascii_isalnum(type[i]) || type[i] == '_' || type[i] == ' ')) ++i;
  if (i == type.size()) return true;
  if (type[i] != '(' || type.back() != ')') return false;
  for (size_t j = i + 1; j + 1 < type.size(); ++j) {
    if (!absl::ascii_isdigit(type[j]) && type[j] != ',') return false;
  }
  return true;
}

absl::StatusOr<std::string> TextField(const Json& value, const std::string& key, size_t min_size,
                                      size_t max_size) {
  if (!value.is_string()) return Invalid(PointerTo(key), "expected a string");
  std::string text = value.get<std::string>();
  if (text.size() < min_size || text.size() > max_size ||
      text.find_first_of("\r\n") != std::string::npos) {
    return Invalid(PointerTo(key), absl::StrCat("expected ", min_size, " to ", max_size,
                                                " characters, no line break"));
  }
  return text;
}

absl::StatusOr<std::vector<catalog::Column>> ColumnList(const Json& value, const std::string& key) {
  std::vector<catalog::Column> columns;
  auto add = [&](const std::string& at, const Json& name, const Json& type) -> absl::Status {
    if (!name.is_string() || name.get<std::string>().empty() || !type.is_string() ||
        !IsTypeName(type.get<std::string>())) {
      return Invalid(at, "expected a column name and a type name such as BIGINT or DECIMAL(18,2)");
    }
    columns.push_back({name.get<std::string>(), type.get<std::string>()});
    return absl::OkStatus();
  };
  if (key == "types" && value.is_object()) {
    for (const auto& [name, type] : value.items()) {
      PARLEY_RETURN_IF_ERROR(add(PointerTo(key), Json(name), type));
    }
    return columns;
  }
  if (key == "columns" && value.is_array() && !value.empty()) {
    for (size_t i = 0; i < value.size(); ++i) {
      const Json& item = value[i];
      std::string at = absl::StrCat(PointerTo(key), "/", i);
      if (!item.is_object() || item.size() != 2 || !item.contains("name") ||
          !item.contains("type")) {
        return Invalid(at, "expected {\"name\", \"type\"}");
      }
      PARLEY_RETURN_IF_ERROR(add(at, item["name"], item["type"]));
    }
    return columns;
  }
  return Invalid(PointerTo(key), key == "types" ? "expected an object of column names to types"
                                                : "expected a non-empty array of columns");
}

absl::Status ParseOptions(const Json& value, FileDescription& parsed) {
  ReadOptions& options = parsed.options;
  for (const auto& [key, item] : value.items()) {
    if (key == "path" || key == "format") continue;
    bool csv_only = key == "delimiter" || key == "quote" || key == "escape" || key == "header" ||
                    key == "null_strings" || key == "decimal_separator" ||
                    key == "thousands_separator";
    bool known = csv_only || key == "date_format" || key == "timestamp_format" || key == "types" ||
                 key == "columns";
    if (!known) return Invalid(PointerTo(key), absl::StrCat("unknown field ", kFields));
    if (parsed.format == Format::kParquet || (csv_only && parsed.format != Format::kCsv)) {
      return Invalid(PointerTo(key),
                     absl::StrCat("not an option of ", FormatName(parsed.format), " sources"));
    }
    if (key == "delimiter") {
      PARLEY_ASSIGN_OR_RETURN(options.delimiter, TextField(item, key, 1, 4));
    } else if (key == "quote") {
      PARLEY_ASSIGN_OR_RETURN(options.quote, TextField(item, key, 0, 1));
    } else if (key == "escape") {
      PARLEY_ASSIGN_OR_RETURN(options.escape, TextField(item, key, 0, 1));
    } else if (key == "header") {
      if (!item.is_boolean()) return Invalid(PointerTo(key), "expected true or false");
      options.header = item.get<bool>();
    } else if (key == "null_strings") {
      if (!item.is_array()) return Invalid(PointerTo(key), "expected an array of strings");
      options.null_strings.emplace();
      for (const Json& text : item) {
        PARLEY_ASSIGN_OR_RETURN(std::string null_string, TextField(text, key, 0, 32));
        options.null_strings->push_back(null_string);
      }
    } else if (key == "decimal_separator") {
      if (!item.is_string() || (item != "," && item != ".")) {
        return Invalid(PointerTo(key), "expected \",\" or \".\"");
      }
      options.decimal_separator = item.get<std::string>();
    } else if (key == "thousands_separator") {
      // The separators exports use: 1,234.5 / 1.234,5 / 1 234,5 / 1'234.5.
      if (!item.is_string() || (item != "," && item != "." && item != " " && item != "'")) {
        return Invalid(PointerTo(key), "expected \",\", \".\", \" \" or \"'\"");
      }
      options.thousands_separator = item.get<std::string>();
    } else if (key == "date_format") {
      PARLEY_ASSIGN_OR_RETURN(options.date_format, TextField(item, key, 1, 64));
    } else if (key == "timestamp_format") {
      PARLEY_ASSIGN_OR_RETURN(options.timestamp_format, TextField(item, key, 1, 64));
    } else {
      PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Column> columns, ColumnList(item, key));
      (key == "types" ? options.types : options.columns) = std::move(columns);
    }
  }
  if (options.thousands_separator &&
      *options.thousands_separator == options.decimal_separator.value_or(".")) {
    return Invalid("/thousands_separator", "the same as the decimal separator");
  }
  if (options.delimiter && options.quote && !options.quote->empty() &&
      *options.delimiter == *options.quote) {
    return Invalid("/quote", "the same as the delimiter");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FileDescription> ParseDescription(std::string_view description,
                                                 bool format_required) {
  Json value = Json::parse(description, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return Invalid("/", "expected a JSON object with \"path\" and \"format\"");
  }
  // Field names are ours; they may be echoed (escaped by the JSON pointer form). Values are not:
  // a description names the owner's files, and the message goes back to the same owner, but a
  // stray value could still be anything.
  FileDescription parsed;
  if (!value.contains("path")) return Invalid("/path", "missing");
  if (!value["path"].is_string() || value["path"].get<std::string>().empty()) {
    return Invalid("/path", "expected a non-empty string");
  }
  parsed.path = value["path"].get<std::string>();
  if (!value.contains("format")) {
    if (format_required) return Invalid("/format", "missing");
    PARLEY_ASSIGN_OR_RETURN(parsed.format, FormatFromLocation(parsed.path));
  } else {
    absl::StatusOr<Format> format = value["format"].is_string()
                                        ? ParseFormat(value["format"].get<std::string>())
                                        : absl::InvalidArgumentError("");
    if (!format.ok()) return Invalid("/format", "expected \"csv\", \"jsonl\" or \"parquet\"");
    parsed.format = *format;
  }
  PARLEY_RETURN_IF_ERROR(ParseOptions(value, parsed));
  return parsed;
}

std::string DescriptionText(const FileDescription& description) {
  Json value = {{"format", FormatName(description.format)}, {"path", description.path}};
  const ReadOptions& options = description.options;
  if (options.delimiter) value["delimiter"] = *options.delimiter;
  if (options.quote) value["quote"] = *options.quote;
  if (options.escape) value["escape"] = *options.escape;
  if (!options.header) value["header"] = false;
  if (options.null_strings) value["null_strings"] = *options.null_strings;
  if (options.decimal_separator) value["decimal_separator"] = *options.decimal_separator;
  if (options.thousands_separator) value["thousands_separator"] = *options.thousands_separator;
  if (options.date_format) value["date_format"] = *options.date_format;
  if (options.timestamp_format) value["timestamp_format"] = *options.timestamp_format;
  if (!options.types.empty()) {
    Json types = Json::object();
    for (const catalog::Column& column : options.types) types[column.name] = column.type;
    value["types"] = types;
  }
  if (!options.columns.empty()) {
    Json columns = Json::array();
    for (const catalog::Column& column : options.columns) {
      columns.push_back({{"name", column.name}, {"type", column.type}});
    }
    value["columns"] = columns;
  }
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::string> FilesConnector::Validate(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed,
                          ParseDescription(description, /*format_required=*/false));
  PARLEY_ASSIGN_OR_RETURN(parsed.path, ResolveLocation(parsed.path));
  return DescriptionText(parsed);
}

absl::StatusOr<std::string> FilesConnector::Pin(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  PARLEY_ASSIGN_OR_RETURN(FileDescription pinned, PinSource(parsed));
  return DescriptionText(pinned);
}

absl::StatusOr<std::vector<catalog::Column>> FilesConnector::InferSchema(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  if (!parsed.options.columns.empty()) return CheckPinnedSource(parsed);
  return files::InferSchema(parsed.format, parsed.path);
}

absl::StatusOr<SourcePreview> FilesConnector::Preview(std::string_view description,
                                                      int limit) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  PARLEY_ASSIGN_OR_RETURN(PreviewRows rows, files::Preview(parsed, limit));
  return SourcePreview{std::move(rows.columns), std::move(rows.rows)};
}

absl::StatusOr<catalog::TableSize> FilesConnector::Measure(
    std::string_view description, const std::vector<std::string>& files) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  catalog::TableSize size{-1, FileBytes(files)};
  if (files.empty()) return catalog::TableSize{0, 0};
  PARLEY_ASSIGN_OR_RETURN(size.rows, CountRows(parsed, files));
  return size;
}

absl::StatusOr<std::vector<std::string>> FilesConnector::ResolveFiles(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  return SourcePaths(parsed.path);
}

absl::StatusOr<engine::SourceView> FilesConnector::ViewFor(
    const catalog::Table& table, const std::vector<std::string>& files) const {
  absl::StatusOr<FileDescription> parsed = ParseDescription(table.source_json);
  if (!parsed.ok()) {
    return absl::InternalError(absl::StrCat(
        "table '", table.name,
        "': its stored source description does not read: ", parsed.status().message()));
  }
  for (const std::string& file : files) {
    PARLEY_RETURN_IF_ERROR(CheckCsvHeader(table.name, *parsed, file));
  }
  return files::ViewFor(table, *parsed, files);
}

SourceSummary FilesConnector::Summarize(std::string_view description) const {
  absl::StatusOr<FileDescription> parsed = ParseDescription(description);
  if (!parsed.ok()) return {};
  return {FormatName(parsed->format), parsed->path};
}

}  // namespace parley::connectors::files
