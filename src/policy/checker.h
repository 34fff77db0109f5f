// The policy checker: judges a bound query against the analysis rules of every table it
// touches. Strictest wins: every table's rule must hold, thresholds add up per table
// occurrence, a scalar function must be allowed by every table's rule, a join operator by every
// table's rule. A table without a rule cannot be queried, nor can a query that reads no table.
//
//   policy::Verdict verdict = policy::Check(bound_query, rules, "supplier", sql_text);
//   if (!verdict.allowed()) ... verdict.violations ...
//
// Thread safety: pure function of its inputs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/encryption_check.h"
#include "policy/rule.h"
#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

// Looks up a table's rule by the table's catalog name; nullptr when the table has none.
class RuleProvider {
 public:
  virtual ~RuleProvider() = default;
  virtual const Rule* RuleFor(const std::string& table) const = 0;
  // The encrypted columns of the collaboration's tables and the settings that act on queries
  // (policy/encryption_check.h); nullptr when there are none.
  virtual const EncryptionPolicy* Encryption() const { return nullptr; }
};

// Who asks, and how. `template_id` is set when the query is a run of an analysis template;
// `receivers` are the members the result goes to (custom rules restrict them).
struct CheckContext {
  std::string runner;
  std::string template_id;
  std::vector<std::string> receivers;
};

Verdict Check(const sql::BoundQuery& query, const RuleProvider& rules, const CheckContext& context,
              std::string_view source_text);

// Shorthand for a free-form query by `runner` with no receivers named.
Verdict Check(const sql::BoundQuery& query, const RuleProvider& rules, const std::string& runner,
              std::string_view source_text);

}  // namespace parley::policy
