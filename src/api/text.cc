#include "api/text.h"

#include "policy/rule.h"
#include "policy/verdict.h"

namespace parley::api {

std::string FormatViolations(const std::vector<Violation>& violations) {
  std::vector<policy::Violation> converted;
  for (const Violation& v : violations) {
    policy::Violation& out = converted.emplace_back();
    out.code = v.code;
    out.rule = v.rule;
    out.table = v.table;
    out.owner = v.owner;
    out.column = v.column;
    out.clause = v.clause;
    out.position = v.position;
    out.message = v.message;
    out.hint = v.hint;
  }
  return policy::FormatViolations(converted);
}

absl::StatusOr<nlohmann::json> ParseRuleDocument(std::string_view text) {
  nlohmann::json rule = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (rule.is_object()) return rule;
  absl::Status invalid = policy::ParseRule(text, {}).status();
  if (invalid.ok()) invalid = absl::InvalidArgumentError("rule: not a JSON object");
  return invalid;
}

}  // namespace parley::api
