#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/result_writer.h"
#include "service/home.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using namespace internal;

namespace {

// Results stored by versions before Parquet: a JSON document of columns and rows.
absl::StatusOr<engine::ResultTable> ResultFromJson(const std::string& text) {
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

}  // namespace

absl::Status internal::WriteStoredResult(const fs::path& path, const engine::ResultTable& result) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirectories(path.parent_path().string()));
  return engine::WriteResult(result, path.string(), engine::OutputFormat::kParquet,
                             /*replace=*/false);
}

absl::StatusOr<engine::ResultTable> internal::ReadStoredResult(const fs::path& path) {
  if (path.extension() != ".json") return engine::ReadParquetResult(path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::DataLossError("the stored result is missing");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ResultFromJson(text);
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
  std::error_code error;
  if (!fs::exists(record.result_path, error)) {
    return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
  }
  return ReadStoredResult(record.result_path);
}

}  // namespace parley::service
