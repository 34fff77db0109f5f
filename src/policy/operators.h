// The operators each kind of rule admits, in one table so the kinds cannot drift apart by
// accident. IS NULL, BETWEEN and IN (…) are expression kinds of their own, allowed everywhere.
#pragma once

#include <string>

#include "policy/rule.h"

namespace parley::policy {

// Arithmetic, comparisons, boolean logic, LIKE and IS [NOT] DISTINCT FROM for every kind;
// aggregation and custom queries also ILIKE; custom queries also string concatenation (||).
bool IsOperatorAllowed(RuleKind kind, const std::string& op);

}  // namespace parley::policy
