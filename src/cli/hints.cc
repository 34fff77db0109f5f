#include "cli/hints.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::cli {
namespace {

struct ViolationHint {
  const char* code;         // the violation code
  const char* hint_prefix;  // the domain hint it extends ("" matches any)
  const char* command;      // appended as " with 'COMMAND'"
};

constexpr ViolationHint kViolationHints[] = {
    {"no_rule", "its owner ", "parley rule set"},
    {"analysis_not_approved", "its owner ", "parley template approve"},
    {"query_not_allowed", "run an approved template", "parley template run"},
};

}  // namespace

std::string HintForTerminal(const api::Violation& violation) {
  // Hints stored with queries recorded by earlier versions already name the command.
  if (absl::StrContains(violation.hint, "'parley ")) return violation.hint;
  for (const ViolationHint& entry : kViolationHints) {
    if (violation.code == entry.code && absl::StartsWith(violation.hint, entry.hint_prefix)) {
      return absl::StrCat(violation.hint, " with '", entry.command, "'");
    }
  }
  return violation.hint;
}

absl::Status WithCommandHint(const absl::Status& status, const std::string& collaboration) {
  absl::string_view message = status.message();
  std::string suffix;
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      absl::EndsWith(message, "name a receiver with the 'receive' ability")) {
    suffix = " (--receiver)";
  } else if (status.code() == absl::StatusCode::kFailedPrecondition &&
             absl::StrContains(message, "was changed outside Parley") &&
             absl::EndsWith(message, "until the catalog is restored") && !collaboration.empty()) {
    suffix = absl::StrCat(" (see 'parley audit verify -c ", collaboration, "')");
  }
  if (suffix.empty()) return status;
  return absl::Status(status.code(), absl::StrCat(message, suffix));
}

}  // namespace parley::cli
