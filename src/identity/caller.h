// Who acts. Every use case of the service receives a Caller from its front end and asks the
// access module (identity/access.h) whether that caller may do what it asks; the service never
// takes a bare name.
//
// How the caller was authenticated is part of it, so that a rule (or the audit log) can tell an
// embedded caller from a remote one. Embedded mode (the CLI's `--as NAME` on the machine that
// owns the home) is trusted by design: whoever runs the binary can read the home anyway. Server
// mode will authenticate a token and build the Caller from it.
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
  kToken,     // a bearer token checked by the server (later)
};
std::string_view AuthenticationName(Authentication authentication);  // "embedded" | "token"

class Caller {
 public:
  // A caller named by an embedded front end (`--as`), trusted as named.
  static Caller Embedded(std::string member) {
    return Caller(std::move(member), Authentication::kEmbedded);
  }

  // The member (organisation) name the caller acts as in a collaboration.
  const std::string& member() const { return member_; }
  Authentication authentication() const { return authentication_; }

 private:
  Caller(std::string member, Authentication authentication)
      : member_(std::move(member)), authentication_(authentication) {}
  std::string member_;
  Authentication authentication_;
};

}  // namespace parley::identity
