// Who acts. Every use case of the service receives a Caller from its front end and asks the
// access module (identity/access.h) whether that caller may do what it asks; the service never
// takes a bare name.
//
// How the caller was authenticated is part of it, so that a rule (or the audit log) can tell an
// embedded caller from a remote one. Embedded mode (the CLI's `--as NAME` on the machine that
// owns the home) is trusted by design: whoever runs the binary can read the home anyway. Server
// mode authenticates a bearer token (identity/token.h) and builds the Caller of the organisation
// that holds it: an organisation acts in collaborations as the member of its own name, only.
//
//   identity::Caller caller = identity::Caller::Embedded("retailer");
//   PARLEY_RETURN_IF_ERROR(service->AddTable(caller, {...}));
//
// Thread safety: an immutable value; copy it freely.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace parley::identity {

enum class Authentication {
  kEmbedded,  // named on the command line of a process that can read the home: trusted
  kToken,     // a bearer token checked by the server
};
std::string_view AuthenticationName(Authentication authentication);  // "embedded" | "token"

class Caller {
 public:
  // A caller named by an embedded front end (`--as`), trusted as named.
  static Caller Embedded(std::string member) {
    return Caller(std::move(member), Authentication::kEmbedded);
  }

  // An organisation authenticated by one of its API tokens (`token_id`); `admin` for the
  // server's operator organisation, which may add organisations.
  static Caller Token(std::string organisation, std::string token_id, bool admin) {
    Caller caller(std::move(organisation), Authentication::kToken);
    caller.token_id_ = std::move(token_id);
    caller.admin_ = admin;
    return caller;
  }

  // The member (organisation) name the caller acts as in a collaboration.
  const std::string& member() const { return member_; }
  Authentication authentication() const { return authentication_; }
  // The token that authenticated a kToken caller; empty for an embedded one.
  const std::string& token_id() const { return token_id_; }
  // Whether the caller administers the server: the operator's organisation, or an embedded
  // caller (who can read the home anyway).
  bool administers() const { return authentication_ == Authentication::kEmbedded || admin_; }

 private:
  Caller(std::string member, Authentication authentication)
      : member_(std::move(member)), authentication_(authentication) {}
  std::string member_;
  Authentication authentication_;
  std::string token_id_;
  bool admin_ = false;
};

}  // namespace parley::identity
