// API types (see api/types.h for the conventions every type follows): The error object a failed
// call answers instead of a response.
#pragma once

#include <string>

namespace parley::api {

// What a failed call answers instead of a response: the canonical code name ("NOT_FOUND", see
// absl::StatusCodeToString) and a message a user can act on.
struct Error {
  std::string code;
  std::string message;
  template <class V>
  void Visit(V& v) {
    v.Required("code", code);
    v.Required("message", message);
  }
};

}  // namespace parley::api
