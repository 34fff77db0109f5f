#include "server/uploads.h"

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/http_status.h"
#include "api/routes.h"
#include "server/disconnect.h"

namespace parley::server {
namespace {

void Answer(httplib::Response& response, int status, const std::string& body, bool close) {
  response.status = status;
  if (status == 401) response.set_header("WWW-Authenticate", "Bearer");
  // The rest of the body was not read: the connection cannot carry another request.
  if (close) response.set_header("Connection", "close");
  response.set_content(body, "application/json");
}

void Fail(httplib::Response& response, const absl::Status& status, bool close) {
  // Too large is 413 here (RESOURCE_EXHAUSTED is otherwise 429, a rate limit).
  int http =
      status.code() == absl::StatusCode::kResourceExhausted ? 413 : api::HttpStatus(status.code());
  Answer(response, http, api::Dump(api::ErrorJson(status)), close);
}

void HandleUpload(api::LocalService& service, const UploadAuthenticator& authenticate,
                  const httplib::Request& request, httplib::Response& response,
                  const httplib::ContentReader& reader) {
  std::optional<std::map<std::string, std::string>> parameters =
      api::MatchPath(api::kUpload.route.path, request.path);
  if (!parameters) {
    return Fail(response, absl::NotFoundError("no such route in the Parley API"), true);
  }
  absl::StatusOr<identity::Caller> caller = authenticate(request, response);
  if (!caller.ok()) return Fail(response, caller.status(), true);
  std::string type = absl::AsciiStrToLower(request.get_header_value("Content-Type"));
  if (type.substr(0, type.find(';')) != "application/octet-stream") {
    return Answer(response, 415,
                  api::Dump(api::ErrorJson(absl::InvalidArgumentError(
                      "an upload's body is the file's bytes (Content-Type: "
                      "application/octet-stream)"))),
                  true);
  }
  api::UploadRequest upload;
  upload.name = (*parameters)["name"];
  upload.sha256 = request.get_header_value("X-Parley-Sha256");
  for (const char* header : {"X-Parley-Upload-Bytes", "Content-Length"}) {
    if (!request.has_header(header)) continue;
    int64_t bytes = 0;
    if (!absl::SimpleAtoi(request.get_header_value(header), &bytes) || bytes < 0) {
      return Fail(response,
                  absl::InvalidArgumentError(absl::StrCat(header, ": expected a byte count")),
                  true);
    }
    if (upload.bytes && *upload.bytes != bytes) {
      return Fail(response,
                  absl::InvalidArgumentError("X-Parley-Upload-Bytes and Content-Length disagree"),
                  true);
    }
    upload.bytes = bytes;
  }
  absl::StatusOr<std::unique_ptr<api::UploadSink>> sink = service.StartUpload(*caller, upload);
  if (!sink.ok()) return Fail(response, sink.status(), true);
  absl::Status written = absl::OkStatus();
  bool read = reader([&](const char* data, size_t length) {
    written = (*sink)->Write(std::string_view(data, length));
    return written.ok();
  });
  if (!written.ok()) return Fail(response, written, true);
  if (!read) {
    // The client stopped sending (or sent a malformed chunk) before the end.
    return Fail(response,
                absl::InvalidArgumentError(absl::StrCat("the upload of '", upload.name,
                                                        "' was cut short; nothing was kept")),
                true);
  }
  absl::StatusOr<api::UploadResponse> stored = (*sink)->Commit();
  if (!stored.ok()) return Fail(response, stored.status(), false);
  Answer(response, 200, api::Dump(api::ToJson(*stored)), false);
}

}  // namespace

void RegisterUploads(httplib::Server& http, api::LocalService& service,
                     UploadAuthenticator authenticate,
                     std::function<void(const std::string&)> log) {
  http.Put("/api/v1/uploads/[^/]+", [&service, authenticate, log](
                                        const httplib::Request& request,
                                        httplib::Response& response,
                                        const httplib::ContentReader& reader) {
    auto start = std::chrono::steady_clock::now();
    HandleUpload(service, authenticate, request, response, reader);
    // An answer before the whole body was read: the rest must not be parsed as more requests.
    if (response.get_header_value("Connection") == "close") DisconnectAfterAnswer(request);
    if (log) {
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
      log(absl::StrCat(request.method, " ", request.path, " ", response.status, " ", micros, "us"));
    }
  });
}

}  // namespace parley::server
