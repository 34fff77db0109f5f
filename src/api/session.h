// The web console's sign-in (docs/console.md): an organisation trades its API token for a session
// held in an HttpOnly cookie, so that the token never sits where a page's scripts could read it.
// Same conventions as api/types.h (each field once, in Visit; strict decoding by api/codec.h).
//
// A session answers only for the organisation whose token opened it. `csrf_token` is the
// per-session secret a page echoes in the X-Parley-CSRF header of every request that changes
// something; it is returned to the signed-in page only (a cross-site page cannot read
// responses), never put in a cookie.
#pragma once

#include <cstdint>
#include <string>

namespace parley::api {

struct SignInRequest {
  std::string token;  // the organisation's API token (pt_...)
  template <class V>
  void Visit(V& v) {
    v.Required("token", token);
  }
};
struct ShowSessionRequest {
  template <class V>
  void Visit(V&) {}
};
struct SessionResponse {
  std::string organisation;
  bool admin = false;
  std::string csrf_token;  // echo it in X-Parley-CSRF on POST, PUT and DELETE
  int64_t expires_at = 0;  // seconds since the epoch; the session ends then whatever happens
  template <class V>
  void Visit(V& v) {
    v.Required("organisation", organisation);
    v.Required("admin", admin);
    v.Required("csrf_token", csrf_token);
    v.Required("expires_at", expires_at);
  }
};
struct SignOutRequest {
  template <class V>
  void Visit(V&) {}
};
struct SignOutResponse {
  std::string organisation;
  template <class V>
  void Visit(V& v) {
    v.Required("organisation", organisation);
  }
};

}  // namespace parley::api
