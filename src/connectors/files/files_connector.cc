#include "connectors/files/files_connector.h"

#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<FileDescription> ParseDescription(std::string_view description,
                                                 bool format_required) {
  Json value = Json::parse(description, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return Invalid("/", "expected a JSON object with \"path\" and \"format\"");
  }
  // Field names are ours; they may be echoed (escaped by the JSON pointer form). Values are not:
  // a description names the owner's files, and the message goes back to the same owner, but a
  // stray value could still be anything.
  for (const auto& [key, item] : value.items()) {
    if (key != "path" && key != "format") {
      return Invalid(PointerTo(key), "unknown field (a files source has \"path\" and \"format\")");
    }
  }
  FileDescription parsed;
  if (!value.contains("path")) return Invalid("/path", "missing");
  if (!value["path"].is_string() || value["path"].get<std::string>().empty()) {
    return Invalid("/path", "expected a non-empty string");
  }
  parsed.path = value["path"].get<std::string>();
  if (!value.contains("format")) {
    if (format_required) return Invalid("/format", "missing");
    PARLEY_ASSIGN_OR_RETURN(parsed.format, FormatFromLocation(parsed.path));
    return parsed;
  }
  absl::StatusOr<Format> format = value["format"].is_string()
                                      ? ParseFormat(value["format"].get<std::string>())
                                      : absl::InvalidArgumentError("");
  if (!format.ok()) return Invalid("/format", "expected \"csv\" or \"parquet\"");
  parsed.format = *format;
  return parsed;
}

std::string DescriptionText(const FileDescription& description) {
  Json value = {{"format", FormatName(description.format)}, {"path", description.path}};
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::string> FilesConnector::Validate(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed,
                          ParseDescription(description, /*format_required=*/false));
  PARLEY_ASSIGN_OR_RETURN(parsed.path, ResolveLocation(parsed.path));
  return DescriptionText(parsed);
}

absl::StatusOr<std::vector<catalog::Column>> FilesConnector::InferSchema(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(FileDescription parsed, ParseDescription(description));
  return files::InferSchema(parsed.format, parsed.path);
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
  return files::ViewFor(table, parsed->format, files);
}

SourceSummary FilesConnector::Summarize(std::string_view description) const {
  absl::StatusOr<FileDescription> parsed = ParseDescription(description);
  if (!parsed.ok()) return {};
  return {FormatName(parsed->format), parsed->path};
}

}  // namespace parley::connectors::files
