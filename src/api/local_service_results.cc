// LocalService: results kept in the home (list, delete) and the home itself (its size, its
// result retention), in API terms.
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {

namespace {

HomeInfoResponse FromService(const service::HomeInfo& info) {
  return {info.path,         info.total_bytes,  info.catalog_bytes,
          info.result_count, info.result_bytes, info.result_retention_days};
}

}  // namespace

absl::StatusOr<ListResultsResponse> LocalService::ListResults(const identity::Caller& caller,
                                                              const ListResultsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto results, service->ListResults(caller, request.collaboration));
  ListResultsResponse response;
  for (const service::StoredResultView& r : results) {
    response.results.push_back(
        {r.query_id, r.created_at, r.runner, r.receivers, r.row_count, r.bytes});
  }
  return response;
}

absl::StatusOr<DeleteResultResponse> LocalService::DeleteResult(
    const identity::Caller& caller, const DeleteResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->DeleteResult(caller, request.collaboration, request.query_id));
  return DeleteResultResponse{request.collaboration, request.query_id};
}

absl::StatusOr<HomeInfoResponse> LocalService::HomeInfo(const identity::Caller& caller,
                                                        const HomeInfoRequest&) {
  PARLEY_RETURN_IF_ERROR(RequireOperator(caller));
  // Like audit verify without -c: a mistyped --home is not made into a new, empty home.
  PARLEY_RETURN_IF_ERROR(RequireExistingHome());
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::HomeInfo info, service->Home());
  return FromService(info);
}

absl::StatusOr<HomeInfoResponse> LocalService::SetResultRetention(
    const identity::Caller& caller, const SetResultRetentionRequest& request) {
  PARLEY_RETURN_IF_ERROR(RequireOperator(caller));
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->SetResultRetention(request.days));
  PARLEY_ASSIGN_OR_RETURN(service::HomeInfo info, service->Home());
  return FromService(info);
}

absl::Status LocalService::RequireOperator(const identity::Caller& caller) {
  if (caller.authentication() != identity::Authentication::kEmbedded) {
    return absl::PermissionDeniedError("the home's settings and size are for its operator");
  }
  return absl::OkStatus();
}

absl::Status LocalService::RequireExistingHome() {
  {
    std::lock_guard<std::mutex> lock(open_mutex_);
    if (service_ != nullptr) return absl::OkStatus();
  }
  std::error_code error;
  if (!std::filesystem::exists(std::filesystem::path(home_) / "catalog.db", error)) {
    return absl::NotFoundError(
        absl::StrCat("'", home_, "' is not a Parley home (it has no catalog.db)"));
  }
  return absl::OkStatus();
}

}  // namespace parley::api
