#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/result_codec.h"
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
  // The folder exists after the collaboration's first result: one stat, not a mkdir of every
  // component of the path on every query.
  std::error_code error;
  if (!fs::is_directory(path.parent_path(), error)) {
    PARLEY_RETURN_IF_ERROR(CreatePrivateDirectories(path.parent_path().string()));
  }
  // Not synced: the query record pointing at the file is not fsynced either (synchronous=NORMAL
  // in the catalog), and an fsync costs more than a small query's whole overhead (docs/audit.md,
  // "Durability").
  return engine::WriteResult(result, path.string(), engine::OutputFormat::kParquet,
                             /*replace=*/false, engine::Sync::kNo);
}

absl::StatusOr<engine::ResultTable> internal::ReadStoredResult(const fs::path& path) {
  if (path.extension() != ".json") return engine::ReadParquetResult(path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::DataLossError("the stored result is missing");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ResultFromJson(text);
}

bool internal::IsSealedResult(const catalog::QueryRecord& record) {
  return record.result_sealed ||
         (!record.result_path.empty() && fs::path(record.result_path).extension() == ".sealed");
}

absl::StatusOr<engine::ResultTable> Service::Impl::Result(const identity::Caller& caller,
                                                          const std::string& collaboration,
                                                          int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto record, store->GetQuery(collaboration, query_id));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kReadResult,
                                 {.query_id = query_id, .receivers = record.receivers}));
  if (record.status != catalog::QueryStatus::kSucceeded || !record.HasResult()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "query ", query_id, " has no result (", catalog::QueryStatusName(record.status), ")"));
  }
  if (!record.result_inline) {
    std::error_code error;
    if (!fs::exists(record.result_path, error)) {
      return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
    }
  }
  if (IsSealedResult(record)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the result of query ", query_id,
        " is sealed to its receivers' public keys: only a receiver's client opens it"));
  }
  if (!record.result_inline) return ReadStoredResult(record.result_path);
  absl::StatusOr<std::string> bytes = store->GetInlineResult(collaboration, query_id);
  // Deleted between the two reads: as missing as a file removed in between.
  if (absl::IsNotFound(bytes.status())) {
    return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
  }
  PARLEY_RETURN_IF_ERROR(bytes.status());
  return engine::DecodeResult(*bytes);
}

}  // namespace parley::service

namespace parley::service {

namespace {

int64_t FileBytes(const std::string& path) {
  std::error_code error;
  auto size = fs::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// What a stored result takes: its bytes in the catalog, or its file's size.
int64_t StoredBytes(const catalog::QueryRecord& record) {
  return record.result_inline ? record.inline_result_bytes : FileBytes(record.result_path);
}

// Removes the file a forgotten result was stored in (none for a result kept in the catalog,
// whose bytes went with the record's update).
void RemoveResultFile(const std::string& path) {
  if (path.empty()) return;
  std::error_code ignored;
  fs::remove(path, ignored);
}

}  // namespace

absl::StatusOr<std::vector<StoredResultView>> Service::Impl::ListResults(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto records, store->ListQueries(collaboration));
  std::vector<StoredResultView> views;
  for (const catalog::QueryRecord& record : records) {
    if (record.status != catalog::QueryStatus::kSucceeded || !record.HasResult()) continue;
    if (!Require(caller, found, identity::Action::kReadResult,
                 {.query_id = record.id, .receivers = record.receivers})
             .ok()) {
      continue;
    }
    views.push_back({record.id, record.created_at, record.runner, record.receivers,
                     record.row_count, StoredBytes(record)});
  }
  return views;
}

absl::Status Service::Impl::DeleteResult(const identity::Caller& caller,
                                         const std::string& collaboration, int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  // A result is visible to its receivers only: to anyone else, a query that exists is answered
  // word for word as one that does not, or one whose result is gone.
  absl::Status missing = absl::NotFoundError(absl::StrCat(
      "no stored result of query ", query_id, " in collaboration '", collaboration, "'"));
  absl::StatusOr<catalog::QueryRecord> record = store->GetQuery(collaboration, query_id);
  if (absl::IsNotFound(record.status())) return missing;
  PARLEY_RETURN_IF_ERROR(record.status());
  if (!Require(caller, found, identity::Action::kReadResult,
               {.query_id = query_id, .receivers = record->receivers})
           .ok() ||
      !record->HasResult()) {
    return missing;
  }
  PARLEY_ASSIGN_OR_RETURN(std::string path,
                          store->ForgetResult(collaboration, query_id, caller.member()));
  RemoveResultFile(path);
  return absl::OkStatus();
}

absl::Status Service::Impl::PruneResults() {
  PARLEY_ASSIGN_OR_RETURN(HomeSettings settings, ReadHomeSettings(home.string()));
  int64_t now = options.clock ? options.clock() : static_cast<int64_t>(time(nullptr));
  PARLEY_ASSIGN_OR_RETURN(auto collaborations, store->ListCollaborations());
  for (const catalog::Collaboration& collaboration : collaborations) {
    // The shorter of the home's retention and the collaboration's own.
    std::optional<int64_t> days = settings.result_retention_days;
    PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> own,
                            store->GetResultRetention(collaboration.name));
    if (own && (!days || *own < *days)) days = own;
    if (!days) continue;
    int64_t cutoff = now - *days * 86400;
    PARLEY_ASSIGN_OR_RETURN(auto records, store->ListQueries(collaboration.name));
    for (const catalog::QueryRecord& record : records) {
      if (!record.HasResult() || record.created_at >= cutoff) continue;
      absl::StatusOr<std::string> path =
          store->ForgetResult(collaboration.name, record.id, "retention");
      // A collaboration changed outside Parley keeps its results until it is restored.
      if (absl::IsFailedPrecondition(path.status())) break;
      PARLEY_RETURN_IF_ERROR(path.status());
      RemoveResultFile(*path);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredResultView>> Service::ListResults(
    const identity::Caller& caller, const std::string& collaboration) {
  return impl_->ListResults(caller, collaboration);
}

absl::Status Service::DeleteResult(const identity::Caller& caller, const std::string& collaboration,
                                   int64_t query_id) {
  return impl_->DeleteResult(caller, collaboration, query_id);
}

absl::StatusOr<HomeInfo> Service::Home() {
  HomeInfo info;
  info.path = impl_->home.string();
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(impl_->home, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error)) info.total_bytes += FileBytes(it->path().string());
  }
  for (const char* name : {"catalog.db", "catalog.db-wal", "catalog.db-shm"}) {
    info.catalog_bytes += FileBytes((impl_->home / name).string());
  }
  PARLEY_ASSIGN_OR_RETURN(auto collaborations, impl_->store->ListCollaborations());
  for (const catalog::Collaboration& collaboration : collaborations) {
    PARLEY_ASSIGN_OR_RETURN(auto records, impl_->store->ListQueries(collaboration.name));
    for (const catalog::QueryRecord& record : records) {
      if (!record.HasResult()) continue;
      ++info.result_count;
      info.result_bytes += StoredBytes(record);
    }
  }
  PARLEY_ASSIGN_OR_RETURN(HomeSettings settings, ReadHomeSettings(info.path));
  info.result_retention_days = settings.result_retention_days;
  return info;
}

absl::Status Service::SetResultRetention(std::optional<int64_t> days) {
  if (days && *days < 1) {
    return absl::InvalidArgumentError("a result retention is a whole number of days, at least 1");
  }
  PARLEY_ASSIGN_OR_RETURN(HomeSettings settings, ReadHomeSettings(impl_->home.string()));
  settings.result_retention_days = days;
  PARLEY_RETURN_IF_ERROR(WriteHomeSettings(impl_->home.string(), settings));
  return impl_->PruneResults();
}

}  // namespace parley::service
