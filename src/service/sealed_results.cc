// Results sealed to their receivers' keys (issue 8 §3): a member registers an X25519 public key;
// from then on every result it receives is stored sealed (results/sealed.h) to the keys of all of
// the query's receivers that have one, so the server's disk never holds it in the clear, and only
// the receivers' clients open it. A receiver without a key cannot open a result sealed for the
// others; docs/formats/sealed-results.md. Also here: a collaboration's result retention.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "engine/result_codec.h"
#include "results/sealed.h"
#include "service/home.h"
#include "service/service_impl.h"

namespace parley::service {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The sealed content: the result as {"columns": [{name, type}], "rows": [[text|null]]}, the form
// results had before Parquet (ReadStoredResult still reads it), so a client decodes it as the
// API's result.
std::string ResultJson(const engine::ResultTable& result) {
  Json columns = Json::array();
  for (const auto& column : result.columns) {
    columns.push_back({{"name", column.name}, {"type", column.type}});
  }
  Json rows = Json::array();
  for (const auto& row : result.rows) {
    Json values = Json::array();
    for (const auto& value : row) values.push_back(value ? Json(*value) : Json(nullptr));
    rows.push_back(std::move(values));
  }
  return Json{{"columns", columns}, {"rows", rows}}.dump(-1, ' ', false,
                                                         Json::error_handler_t::replace);
}

absl::Status WriteNewPrivateFile(const fs::path& path, std::string_view bytes) {
  PARLEY_RETURN_IF_ERROR(CreatePrivateDirectories(path.parent_path().string()));
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError("cannot write the sealed result");
  bool ok = true;
  while (ok && !bytes.empty()) {
    ssize_t written = write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    ok = written > 0;
    if (ok) bytes.remove_prefix(static_cast<size_t>(written));
  }
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::InternalError("cannot write the sealed result");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Service::Impl::StoreResult(const fs::path& path,
                                        const std::vector<std::string>& receivers,
                                        const engine::ResultTable& result,
                                        catalog::QueryRecord& finished) {
  finished.result_path.clear();
  finished.inline_result.reset();
  finished.result_sealed = false;
  PARLEY_ASSIGN_OR_RETURN(auto keys, store->GetMemberKeys(receivers));
  if (keys.empty()) {
    finished.inline_result = engine::EncodeResult(result, options.inline_result_bytes);
    if (finished.inline_result.has_value()) return absl::OkStatus();
    PARLEY_RETURN_IF_ERROR(internal::WriteStoredResult(path, result));
    finished.result_path = path.string();
    return absl::OkStatus();
  }
  std::vector<std::string> public_keys;
  for (const auto& [member, key] : keys) public_keys.push_back(key);
  // Sealed in memory and written once: no plaintext copy ever reaches the disk (nor the catalog).
  PARLEY_ASSIGN_OR_RETURN(std::string bytes, results::Seal(ResultJson(result), public_keys));
  finished.result_sealed = true;
  if (bytes.size() <= options.inline_result_bytes) {
    finished.inline_result = std::move(bytes);
    return absl::OkStatus();
  }
  fs::path sealed_path = path;
  sealed_path.replace_extension(".sealed");
  PARLEY_RETURN_IF_ERROR(WriteNewPrivateFile(sealed_path, bytes));
  finished.result_path = sealed_path.string();
  return absl::OkStatus();
}

absl::Status Service::SetMemberKey(const identity::Caller& caller,
                                   const std::string& public_key_hex) {
  if (!results::IsKeyHex(public_key_hex)) {
    return absl::InvalidArgumentError(
        "a public key is 64 lowercase hex digits (an X25519 key, as `parley key new` writes)");
  }
  return impl_->store->SetMemberKey(caller.member(), public_key_hex, caller.member());
}

absl::StatusOr<std::optional<std::string>> Service::MemberKey(const identity::Caller& caller) {
  PARLEY_ASSIGN_OR_RETURN(auto keys, impl_->store->GetMemberKeys({caller.member()}));
  if (keys.empty()) return std::nullopt;
  return keys.begin()->second;
}

absl::StatusOr<std::optional<std::string>> Service::SealedResult(const identity::Caller& caller,
                                                                 const std::string& collaboration,
                                                                 int64_t query_id) {
  // The same checks, in the same order, as reading a result in the clear.
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto record, impl_->store->GetQuery(collaboration, query_id));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kReadResult,
                                        {.query_id = query_id, .receivers = record.receivers}));
  if (record.status != catalog::QueryStatus::kSucceeded || !internal::IsSealedResult(record)) {
    return std::nullopt;
  }
  if (record.result_inline) {
    PARLEY_ASSIGN_OR_RETURN(std::string bytes,
                            impl_->store->GetInlineResult(collaboration, query_id));
    return bytes;
  }
  std::ifstream in(record.result_path, std::ios::binary);
  if (!in)
    return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

absl::Status Service::SetCollaborationRetention(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                std::optional<int64_t> days) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  if (found.creator != caller.member()) {
    return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '",
                                                    collaboration, "' sets its result retention"));
  }
  PARLEY_RETURN_IF_ERROR(impl_->store->SetResultRetention(collaboration, days, caller.member()));
  return impl_->PruneResults();
}

absl::StatusOr<std::optional<int64_t>> Service::CollaborationRetention(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  return impl_->store->GetResultRetention(collaboration);
}

absl::Status Service::PruneResults() { return impl_->PruneResults(); }

}  // namespace parley::service
