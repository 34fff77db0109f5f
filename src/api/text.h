// Wording that front ends take from the lower layers, over API types: the numbered violations
// as the policy checker words them, and a rule document read from text with the rule parser's
// own error (which names a byte offset, never the text). Kept here so that a front end needs
// no policy type to print a rejection or to refuse a rule that is not JSON.
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/queries.h"

namespace parley::api {

// "  1. MESSAGE (in CLAUSE, at POSITION)\n     rule: ...\n     hint: ...\n" per violation, as
// policy::FormatViolations words them (hints as given in each violation).
std::string FormatViolations(const std::vector<Violation>& violations);

// The rule document as the API carries it (a JSON object). InvalidArgument when the text is not
// a JSON object, with the rule parser's message ("rule: not valid JSON (error at byte N)").
// The rule's content is checked by the service, not here.
absl::StatusOr<nlohmann::json> ParseRuleDocument(std::string_view text);

}  // namespace parley::api
