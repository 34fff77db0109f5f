// What the web console adds to `parley serve` (docs/console.md): its static files at `/`, the
// sign-in session (POST/GET/DELETE /api/v1/session) that trades an organisation's token for an
// HttpOnly cookie, the cookie's authentication of API requests with CSRF protection, and the
// security headers of every response. The console itself is a client of the public API like any
// script: nothing here decides who may do what.
//
// Why each protection is there:
// - The token never reaches the browser's storage: the cookie holds a random session id only
//   (server/session_store.h), HttpOnly (scripts cannot read it), SameSite=Strict (other sites'
//   requests do not carry it), Path=/, Secure over TLS, and it expires.
// - A request that changes something with the cookie must carry the session's CSRF secret in
//   X-Parley-CSRF and, when the browser says where it comes from (Origin, Sec-Fetch-Site), come
//   from this server's own origin; else 403. Signing in is checked for its origin too (a page
//   of another site must not sign a browser in as someone else).
// - Content-Security-Policy forbids inline scripts and styles and every other origin, so an
//   injected string cannot become code; frame-ancestors and X-Frame-Options forbid framing.
// - Bearer-token clients are unaffected: a request with an Authorization header is judged by
//   it alone, and the cookie is ignored.
//
// Thread safety: every member may be called from any of the server's workers.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "api/local_service.h"
#include "identity/caller.h"
#include "server/session_store.h"

namespace parley::server {

inline constexpr char kSessionCookie[] = "parley_session";
inline constexpr char kCsrfHeader[] = "X-Parley-CSRF";

class Console {
 public:
  // Loads the console's files from `directory` into memory (empty: no files, sessions still
  // work). InvalidArgument when a directory is given but holds no index.html.
  static absl::StatusOr<std::unique_ptr<Console>> Create(api::LocalService& service,
                                                         const std::string& directory,
                                                         std::chrono::seconds session_lifetime,
                                                         Clock clock, bool tls);

  // Sets the headers every response carries (CSP, nosniff, no framing, no referrer, caching).
  void SetSecurityHeaders(const httplib::Request& request, httplib::Response& response) const;

  // Answers the session routes and the console's files; nullopt for any other request (then
  // the API answers it). Returns the HTTP status for the log.
  // `body`: the request's body as the server read it (its handlers read bodies themselves).
  std::optional<int> Answer(const httplib::Request& request, const std::string& body,
                            httplib::Response& response);

  // The caller of a request that has no Authorization header, from its session cookie.
  // Unauthenticated without a live session; PermissionDenied for a request that changes
  // something without the session's CSRF secret or from another origin.
  absl::StatusOr<identity::Caller> CallerFromCookie(const httplib::Request& request);

  // Whether the request carries the session cookie at all.
  static bool HasSessionCookie(const httplib::Request& request);

 private:
  // Each file as read, and gzip-compressed once (when that makes it smaller), with an ETag of
  // its content: a browser revalidating an unchanged file gets 304 and no body.
  struct File {
    std::string content_type;
    std::shared_ptr<const std::string> body;
    std::shared_ptr<const std::string> gzipped;  // null when compression does not pay
    std::string etag;
  };
  Console(api::LocalService& service, std::chrono::seconds lifetime, Clock clock, bool tls);
  int SignIn(const httplib::Request& request, const std::string& body, httplib::Response& response);
  int ShowSession(const httplib::Request& request, httplib::Response& response);
  int SignOut(const httplib::Request& request, httplib::Response& response);
  // PermissionDenied unless a state-changing request comes from this server's origin (when the
  // browser names it).
  absl::Status CheckOrigin(const httplib::Request& request) const;
  absl::StatusOr<Session> LiveSession(const httplib::Request& request);

  api::LocalService& service_;
  std::chrono::seconds lifetime_;
  bool tls_;
  SessionStore sessions_;
  std::map<std::string, File> files_;  // by URL path ("/", "/app.js")
};

}  // namespace parley::server
