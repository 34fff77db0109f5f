// The upload route of `parley serve` (PUT /api/v1/uploads/{name}, api/server_data.h): the body is
// the file's bytes, read as they arrive (a content receiver: never held whole in memory) into
// the caller's own folder of the data root through api::LocalService::StartUpload. Internal to
// src/server.
//
// Answers: 200 with the stored file; 401 without a valid token; 415 unless the body is
// application/octet-stream; 400 for a bad name or checksum header, a checksum that does not match
// what arrived, or a body cut short (nothing is kept); 409 when the name is taken; 413 naming the
// limit for a body larger than it (declared or sent). A response sent before the whole body was
// read closes the connection.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "api/local_service.h"
#include "identity/caller.h"

namespace parley::server {

// The caller a request's bearer token authenticates (server.cc).
absl::StatusOr<identity::Caller> AuthenticateRequest(api::LocalService& service,
                                                     const httplib::Request& request);

void RegisterUploads(httplib::Server& http, api::LocalService& service,
                     std::function<void(const std::string&)> log);

}  // namespace parley::server
