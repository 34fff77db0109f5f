#include "identity/caller.h"

namespace parley::identity {

std::string_view AuthenticationName(Authentication authentication) {
  switch (authentication) {
    case Authentication::kEmbedded:
      return "embedded";
    case Authentication::kToken:
      return "token";
  }
  return "unknown";
}

}  // namespace parley::identity
