// One table from absl status codes to HTTP statuses and to the code names the API sends
// ("NOT_FOUND"), so the server, the CLI's JSON errors and a remote client agree.
//
//   response.status = api::HttpStatus(status.code());   // NotFound -> 404
//
// The mapping is google.rpc.Code's (the one gRPC-HTTP gateways use): user errors are 4xx —
// InvalidArgument, FailedPrecondition and OutOfRange 400, PermissionDenied 403, NotFound 404,
// AlreadyExists and Aborted 409 — and internal failures 5xx. An OK status is 200.
// Thread safety: pure functions over a constant table.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace parley::api {

struct StatusMapping {
  absl::StatusCode code;
  std::string_view name;  // absl::StatusCodeToString's spelling
  int http_status;
};

// Every absl::StatusCode, once.
extern const StatusMapping kStatusMappings[17];

// 500 for a code outside the table (never produced by absl).
int HttpStatus(absl::StatusCode code);
std::string_view StatusCodeName(absl::StatusCode code);
// absl::StatusCode::kUnknown for a name outside the table.
absl::StatusCode StatusCodeFromName(std::string_view name);

}  // namespace parley::api
