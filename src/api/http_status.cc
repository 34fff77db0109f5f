#include "api/http_status.h"

namespace parley::api {

const StatusMapping kStatusMappings[17] = {
    {absl::StatusCode::kOk, "OK", 200},
    {absl::StatusCode::kCancelled, "CANCELLED", 499},
    {absl::StatusCode::kUnknown, "UNKNOWN", 500},
    {absl::StatusCode::kInvalidArgument, "INVALID_ARGUMENT", 400},
    {absl::StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED", 504},
    {absl::StatusCode::kNotFound, "NOT_FOUND", 404},
    {absl::StatusCode::kAlreadyExists, "ALREADY_EXISTS", 409},
    {absl::StatusCode::kPermissionDenied, "PERMISSION_DENIED", 403},
    {absl::StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED", 429},
    {absl::StatusCode::kFailedPrecondition, "FAILED_PRECONDITION", 400},
    {absl::StatusCode::kAborted, "ABORTED", 409},
    {absl::StatusCode::kOutOfRange, "OUT_OF_RANGE", 400},
    {absl::StatusCode::kUnimplemented, "UNIMPLEMENTED", 501},
    {absl::StatusCode::kInternal, "INTERNAL", 500},
    {absl::StatusCode::kUnavailable, "UNAVAILABLE", 503},
    {absl::StatusCode::kDataLoss, "DATA_LOSS", 500},
    {absl::StatusCode::kUnauthenticated, "UNAUTHENTICATED", 401},
};

int HttpStatus(absl::StatusCode code) {
  for (const StatusMapping& mapping : kStatusMappings) {
    if (mapping.code == code) return mapping.http_status;
  }
  return 500;
}

std::string_view StatusCodeName(absl::StatusCode code) {
  for (const StatusMapping& mapping : kStatusMappings) {
    if (mapping.code == code) return mapping.name;
  }
  return "UNKNOWN";
}

absl::StatusCode StatusCodeFromName(std::string_view name) {
  for (const StatusMapping& mapping : kStatusMappings) {
    if (mapping.name == name) return mapping.code;
  }
  return absl::StatusCode::kUnknown;
}

}  // namespace parley::api
