#include "server/console.h"

#include <openssl/sha.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/codec.h"
#include "api/http_status.h"
#include "api/routes.h"
#include "base/status.h"
#include "server/compression.h"

namespace parley::server {
namespace {

namespace fs = std::filesystem;

constexpr char kJson[] = "application/json";

// The console's pages: scripts and styles only from files of this server (no inline code, no
// eval), data only from its API, nothing may frame them. The only frames are the sandboxed blob:
// frames in which a job's HTML report is shown (no script, an origin of its own).
constexpr char kConsolePolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";
// API responses are data, never a document to render.
constexpr char kApiPolicy[] = "default-src 'none'; frame-ancestors 'none'";

// Everything the bundle holds; anything else is served as bytes to download, never rendered.
std::string ContentType(const fs::path& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}};
  auto it = kTypes.find(absl::AsciiStrToLower(path.extension().string()));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// A strong validator: the first 16 bytes of the file's SHA-256, quoted.
std::string ETagOf(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int i = 0; i < 16; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 15];
  }
  return tag + "\"";
}

// Whether If-None-Match names `etag` (or is "*").
bool IfNoneMatch(const httplib::Request& request, const std::string& etag) {
  std::string header = request.get_header_value("If-None-Match");
  if (header.empty()) return false;
  for (absl::string_view candidate : absl::StrSplit(header, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    if (absl::StartsWith(candidate, "W/")) candidate.remove_prefix(2);
    if (candidate == etag || candidate == "*") return true;
  }
  return false;
}

int Error(httplib::Response& response, const absl::Status& status) {
  int http = api::HttpStatus(status.code());
  response.status = http;
  if (http == 401) response.set_header("WWW-Authenticate", "Bearer");
  response.set_content(api::Dump(api::ErrorJson(status)), kJson);
  return http;
}

std::string CookieValue(const httplib::Request& request) {
  // Cookie: a=b; parley_session=ID; c=d  (the first of the name counts)
  std::string header = request.get_header_value("Cookie");
  std::string_view rest = header;
  std::string prefix = absl::StrCat(kSessionCookie, "=");
  while (!rest.empty()) {
    size_t semicolon = rest.find(';');
    std::string_view pair = rest.substr(0, semicolon);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.substr(0, prefix.size()) == prefix) return std::string(pair.substr(prefix.size()));
    if (semicolon == std::string_view::npos) break;
    rest.remove_prefix(semicolon + 1);
  }
  return "";
}

bool ChangesState(const std::string& method) { return method != "GET" && method != "HEAD"; }

bool IsJson(const std::string& content_type) {
  std::string type = absl::AsciiStrToLower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == kJson;
}

}  // namespace

Console::Console(api::LocalService& service, std::chrono::seconds lifetime, Clock clock, bool tls)
    : service_(service), lifetime_(lifetime), tls_(tls), sessions_(lifetime, std::move(clock)) {}

absl::StatusOr<std::unique_ptr<Console>> Console::Create(api::LocalService& service,
                                                         const std::string& directory,
                                                         std::chrono::seconds session_lifetime,
                                                         Clock clock, bool tls) {
  std::unique_ptr<Console> console(new Console(service, session_lifetime, std::move(clock), tls));
  if (directory.empty()) return console;
  std::error_code error;
  fs::path root = fs::weakly_canonical(directory, error);
  if (error || !fs::is_regular_file(root / "index.html")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the console's directory '", directory,
        "' holds no index.html (build it with scripts/bootstrap.sh, or give --console DIR)"));
  }
  // The files are read once, here: a request can only name one of them (no path is ever joined
  // to the directory), and what is served cannot change under a running server.
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    std::string relative = it->path().lexically_relative(root).generic_string();
    if (relative.rfind("api/", 0) == 0) continue;  // never shadow the API
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    total += body.str().size();
    if (!in || total > (64u << 20)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load the console's file '", relative,
                                                     "' (unreadable, or over 64 MiB in all)"));
    }
    std::string bytes = body.str();
    File file{ContentType(it->path()), nullptr, nullptr, ETagOf(bytes)};
    std::string gzipped = Gzip(bytes, 9);
    if (!gzipped.empty() && gzipped.size() < bytes.size()) {
      file.gzipped = std::make_shared<const std::string>(std::move(gzipped));
    }
    file.body = std::make_shared<const std::string>(std::move(bytes));
    console->files_["/" + relative] = std::move(file);
  }
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot list the console's directory '", directory, "'"));
  }
  console->files_["/"] = console->files_["/index.html"];
  return console;
}

void Console::SetSecurityHeaders(const httplib::Request& request,
                                 httplib::Response& response) const {
  bool api = request.path.rfind("/api/", 0) == 0;
  response.set_header("Content-Security-Policy", api ? kApiPolicy : kConsolePolicy);
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cross-Origin-Opener-Policy", "same-origin");
  response.set_header("Cache-Control", api ? "no-store" : "no-cache");
}

std::optional<int> Console::Answer(const httplib::Request& request, const std::string& body,
                                   httplib::Response& response) {
  if (request.path == api::kSignIn.route.path) {
    if (request.method == "POST") return SignIn(request, body, response);
    if (request.method == "GET") return ShowSession(request, response);
    if (request.method == "DELETE") return SignOut(request, response);
    response.set_header("Allow", "POST, GET, DELETE");
    response.status = 405;
    response.set_content(
        api::Dump(api::ErrorJson(absl::InvalidArgumentError(
            absl::StrCat(request.method, " is not allowed here (allowed: POST, GET, DELETE)")))),
        kJson);
    return 405;
  }
  if (request.method != "GET" || request.path.rfind("/api/", 0) == 0) return std::nullopt;
  auto file = files_.find(request.path);
  if (file == files_.end()) return std::nullopt;
  const File& served = file->second;
  response.set_header("ETag", served.etag);
  response.set_header("Vary", "Accept-Encoding");
  if (IfNoneMatch(request, served.etag)) {
    response.status = 304;
    return 304;
  }
  response.status = 200;
  bool gzip = served.gzipped != nullptr && AcceptsGzip(request);
  SendPrepared(response, gzip ? served.gzipped : served.body, served.content_type,
               gzip ? "gzip" : "");
  return 200;
}

absl::Status Console::CheckOrigin(const httplib::Request& request) const {
  // Browsers name where a request comes from; a request from another site is refused whatever
  // it carries. (Clients that are not browsers send neither header and rely on the CSRF secret.)
  std::string site = request.get_header_value("Sec-Fetch-Site");
  if (!site.empty() && site != "same-origin" && site != "none") {
    return absl::PermissionDeniedError(
        "cross-site request refused: the console's session works only from its own pages");
  }
  std::string origin = request.get_header_value("Origin");
  if (origin.empty()) return absl::OkStatus();
  std::string expected = absl::StrCat(tls_ ? "https://" : "http://",
                                      absl::AsciiStrToLower(request.get_header_value("Host")));
  if (absl::AsciiStrToLower(origin) != expected) {
    return absl::PermissionDeniedError(
        "cross-origin request refused: the console's session works only from its own pages");
  }
  return absl::OkStatus();
}

absl::StatusOr<Session> Console::LiveSession(const httplib::Request& request) {
  std::string id = CookieValue(request);
  std::optional<Session> session = sessions_.Find(id);
  if (!session) {
    return absl::UnauthenticatedError("no session, or it has expired: sign in again");
  }
  if (ChangesState(request.method)) {
    PARLEY_RETURN_IF_ERROR(CheckOrigin(request));
    if (!ConstantTimeEquals(request.get_header_value(kCsrfHeader), session->csrf_token)) {
      return absl::PermissionDeniedError(
          "request refused: a change made with the console's session must carry its CSRF token "
          "(X-Parley-CSRF)");
    }
  }
  // The token is checked again: a revoked token ends its sessions at once.
  if (!service_.Authenticate(session->token).ok()) {
    sessions_.Close(id);
    return absl::UnauthenticatedError("no session, or it has expired: sign in again");
  }
  return *session;
}

bool Console::HasSessionCookie(const httplib::Request& request) {
  return !CookieValue(request).empty();
}

absl::StatusOr<identity::Caller> Console::CallerFromCookie(const httplib::Request& request) {
  PARLEY_ASSIGN_OR_RETURN(Session session, LiveSession(request));
  return service_.Authenticate(session.token);
}

int Console::SignIn(const httplib::Request& request, const std::string& body,
                    httplib::Response& response) {
  absl::Status origin = CheckOrigin(request);
  if (!origin.ok()) return Error(response, origin);
  if (!IsJson(request.get_header_value("Content-Type"))) {
    response.status = 415;
    response.set_content(api::Dump(api::ErrorJson(absl::InvalidArgumentError(
                             "the request body must be JSON (Content-Type: application/json)"))),
                         kJson);
    return 415;
  }
  absl::StatusOr<nlohmann::json> fields = api::RequestJson(api::kSignIn.route, {}, body);
  if (!fields.ok()) return Error(response, fields.status());
  absl::StatusOr<api::SignInRequest> sign_in = api::FromJson<api::SignInRequest>(*fields);
  if (!sign_in.ok()) return Error(response, sign_in.status());
  absl::StatusOr<identity::Caller> caller = service_.Authenticate(sign_in->token);
  if (!caller.ok()) return Error(response, caller.status());
  // A session already in this browser ends: one browser, one organisation at a time.
  sessions_.Close(CookieValue(request));
  Session session = sessions_.Open(sign_in->token, caller->member(), caller->administers());
  response.set_header(
      "Set-Cookie",
      absl::StrCat(kSessionCookie, "=", session.id, "; Path=/; Max-Age=", lifetime_.count(),
                   "; HttpOnly; SameSite=Strict", tls_ ? "; Secure" : ""));
  api::SessionResponse opened{session.organisation, session.admin, session.csrf_token,
                              session.expires_at};
  response.status = 200;
  response.set_content(api::Dump(api::ToJson(opened)), kJson);
  return 200;
}

int Console::ShowSession(const httplib::Request& request, httplib::Response& response) {
  absl::StatusOr<Session> session = LiveSession(request);
  if (!session.ok()) return Error(response, session.status());
  api::SessionResponse body{session->organisation, session->admin, session->csrf_token,
                            session->expires_at};
  response.status = 200;
  response.set_content(api::Dump(api::ToJson(body)), kJson);
  return 200;
}

int Console::SignOut(const httplib::Request& request, httplib::Response& response) {
  absl::StatusOr<Session> session = LiveSession(request);
  if (!session.ok()) return Error(response, session.status());
  sessions_.Close(CookieValue(request));
  response.set_header(
      "Set-Cookie", absl::StrCat(kSessionCookie, "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                                 tls_ ? "; Secure" : ""));
  response.status = 200;
  response.set_content(api::Dump(api::ToJson(api::SignOutResponse{session->organisation})), kJson);
  return 200;
}

}  // namespace parley::server
