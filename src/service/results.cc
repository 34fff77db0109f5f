#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "service/home.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using namespace internal;

std::string internal::ResultToJson(const engine::ResultTable& result) {
  Json columns = Json::array();
  for (const engine::ResultColumn& column : result.columns) {
    columns.push_back({{"name", column.name}, {"type", column.type}});
  }
  Json rows = Json::array();
  for (const auto& row : result.rows) {
    Json values = Json::array();
    for (const auto& value : row) values.push_back(value ? Json(*value) : Json(nullptr));
    rows.push_back(std::move(values));
  }
  return Json{{"columns", columns}, {"rows", rows}}.dump();
}

absl::StatusOr<engine::ResultTable> internal::ResultFromJson(const std::string& text) {
  Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.contains("columns") || !json.contains("rows")) {
    return absl::DataLossError("the stored result is unreadable");
  }
  // A result file is ours, but it lives on disk: check every shape rather than trust it.
  const Json& columns = json["columns"];
  const Json& rows = json["rows"];
  if (!columns.is_array() || !rows.is_array()) {
    return absl::DataLossError("the stored result is unreadable");
  }
  engine::ResultTable result;
  for (const Json& column : columns) {
    if (!column.is_object() || !column.contains("name") || !column["name"].is_string() ||
        !column.contains("type") || !column["type"].is_string()) {
      return absl::DataLossError("the stored result is unreadable");
    }
    result.columns.push_back(
        {column["name"].get<std::string>(), column["type"].get<std::string>()});
  }
  for (const Json& row : rows) {
    if (!row.is_array() || row.size() != result.columns.size()) {
      return absl::DataLossError("the stored result is unreadable");
    }
    std::vector<std::optional<std::string>> values;
    for (const Json& value : row) {
      if (!value.is_null() && !value.is_string()) {
        return absl::DataLossError("the stored result is unreadable");
      }
      values.push_back(value.is_null() ? std::nullopt
                                       : std::optional<std::string>(value.get<std::string>()));
    }
    result.rows.push_back(std::move(values));
  }
  return result;
}

absl::Status internal::WritePrivateFile(const fs::path& path, const std::string& contents) {
  std::error_code error;
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirectories(path.parent_path().string()));
  fs::path temporary = path;
  temporary += ".tmp";
  // Created 0600 from the start (never readable by others, even briefly) and exclusively.
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", temporary.string()));
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  bool synced = written == contents.size() && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !synced) {
    fs::remove(temporary, error);
    return absl::InternalError(absl::StrCat("cannot write ", temporary.string()));
  }
  fs::rename(temporary, path, error);
  if (error) {
    fs::remove(temporary, error);
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

absl::StatusOr<engine::ResultTable> Service::Impl::Result(const identity::Caller& caller,
                                                          const std::string& collaboration,
                                                          int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto record, store->GetQuery(collaboration, query_id));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kReadResult,
                                 {.query_id = query_id, .receivers = record.receivers}));
  if (record.status != catalog::QueryStatus::kSucceeded || record.result_path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "query ", query_id, " has no result (", catalog::QueryStatusName(record.status), ")"));
  }
  std::ifstream in(record.result_path, std::ios::binary);
  if (!in)
    return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ResultFromJson(text);
}

}  // namespace parley::service
