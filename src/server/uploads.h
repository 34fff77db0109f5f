// The upload route of `parley serve` (PUT /api/v1/uploads/{name}, api/server_data.h): the body is
// the file's bytes, read as they arrive (a content receiver: never held whole in memory) into
// the caller's own folder of the data root through api::LocalService::StartUpload. Internal to
// src/server.
//
// Answers: 200 with the stored file; 401 without a valid token or console session; 403 for a
// console session's upload without its CSRF token or from another origin; 415 unless the body is
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

// `authenticate` names the request's caller (a bearer token, or the console's CSRF-checked
// session) and sets the headers every response carries; it runs before any of the body is read.
using UploadAuthenticator = std::function<absl::StatusOr<identity::Caller>(
    const httplib::Request& request, httplib::Response& response)>;

void RegisterUploads(httplib::Server& http, api::LocalService& service,
                     UploadAuthenticator authenticate, std::function<void(const std::string&)> log);

}  // namespace parley::server
