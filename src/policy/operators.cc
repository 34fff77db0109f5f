#include "policy/operators.h"

#include <set>

namespace parley::policy {

bool IsOperatorAllowed(RuleKind kind, const std::string& op) {
  static const std::set<std::string> kEveryKind = {"+",
                                                   "-",
                                                   "*",
                                                   "/",
                                                   "%",
                                                   "=",
                                                   "<>",
                                                   "!=",
                                                   "<",
                                                   ">",
                                                   "<=",
                                                   ">=",
                                                   "AND",
                                                   "OR",
                                                   "NOT",
                                                   "LIKE",
                                                   "IS DISTINCT FROM",
                                                   "IS NOT DISTINCT FROM"};
  if (kEveryKind.contains(op)) return true;
  switch (kind) {
    case RuleKind::kAggregation:
      return op == "ILIKE";
    case RuleKind::kList:
      return false;  // only what the list rule's reference allows: no ILIKE
    case RuleKind::kCustom:
      return op == "ILIKE" || op == "||";
  }
  return false;
}

}  // namespace parley::policy
