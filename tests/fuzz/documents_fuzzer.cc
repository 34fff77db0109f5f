// libFuzzer harness for the other hand-written readers of untrusted text: rule documents
// (ParseRule, CanonicalRuleJson round trip) and the template parameter scanner (PositionalSql).
// Run with tests/fuzz/run.sh documents [SECONDS].
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/rule.h"
#include "service/analysis_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  std::string text(reinterpret_cast<const char*>(data), size);
  static const std::vector<std::string> kColumns = {"household_id", "hashed_email", "age_band"};
  auto rule = policy::ParseRule(text, kColumns);
  if (rule.ok()) {
    // What was accepted must be written back in a form that reads back to the same rule.
    std::string canonical = policy::CanonicalRuleJson(*rule);
    auto again = policy::ParseRule(canonical, kColumns);
    if (!again.ok() || policy::CanonicalRuleJson(*again) != canonical) __builtin_trap();
  }
  static const std::vector<service::TemplateParameter> kParameters = {
      *service::ParseParameterSpec("n:integer"), *service::ParseParameterSpec("region:text")};
  auto positional = service::PositionalSql(text, kParameters);
  if (positional.ok() && positional->size() < text.size()) __builtin_trap();  // offsets kept
  (void)service::ParseParameterSpec(text);
  return 0;
}
