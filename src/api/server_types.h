// The API of a Parley server beyond the use cases of a home (api/types.h): who the caller is,
// organisations and their API tokens. Same conventions as api/types.h (each field once, in
// Visit; strict decoding by api/codec.h).
//
// A token appears in exactly one response, the one that issued it (`token`); no other response
// and no log carries it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// Who the server takes the caller to be.
struct WhoAmIRequest {
  template <class V>
  void Visit(V&) {}
};
struct WhoAmIResponse {
  std::string organisation;
  bool admin = false;
  std::string token_id;
  // The largest upload the server accepts (bytes), for a client to check before it sends.
  std::optional<int64_t> max_upload_bytes;
  template <class V>
  void Visit(V& v) {
    v.Required("organisation", organisation);
    v.Required("admin", admin);
    v.Required("token_id", token_id);
    v.Optional("max_upload_bytes", max_upload_bytes);
  }
};

// The operator's organisation adds an organisation; the response carries its first token.
struct AddOrganisationRequest {
  std::string name;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
  }
};
// A token just issued: shown once.
struct IssuedTokenResponse {
  std::string organisation;
  std::string token_id;
  std::string token;
  std::optional<std::string> revoked_token_id;  // a rotation: the token now revoked
  template <class V>
  void Visit(V& v) {
    v.Required("organisation", organisation);
    v.Required("token_id", token_id);
    v.Required("token", token);
    v.Optional("revoked_token_id", revoked_token_id);
  }
};
using AddOrganisationResponse = IssuedTokenResponse;

struct Organisation {
  std::string name;
  bool admin = false;
  int64_t created_at = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("admin", admin);
    v.Required("created_at", created_at);
  }
};
struct ListOrganisationsRequest {
  template <class V>
  void Visit(V&) {}
};
struct ListOrganisationsResponse {
  std::vector<Organisation> organisations;
  template <class V>
  void Visit(V& v) {
    v.Required("organisations", organisations);
  }
};

// The caller's organisation gets a new token; the token the request was made with is revoked.
struct RotateTokenRequest {
  template <class V>
  void Visit(V&) {}
};
using RotateTokenResponse = IssuedTokenResponse;

// The caller's organisation revokes one of its tokens (possibly the one it is using).
struct RevokeTokenRequest {
  std::string token_id;
  template <class V>
  void Visit(V& v) {
    v.Required("token_id", token_id);
  }
};
struct RevokeTokenResponse {
  std::string organisation;
  std::string token_id;
  template <class V>
  void Visit(V& v) {
    v.Required("organisation", organisation);
    v.Required("token_id", token_id);
  }
};

}  // namespace parley::api
