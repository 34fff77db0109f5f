// Building violations, shared by the rule checkers (internal to the policy module): whom a
// violation is attributed to — one table occurrence, or every base table of the statement —
// and the violation itself. Metadata only: names, positions, never data values.
#pragma once

#include <string>

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

struct Attribution {
  std::string table;  // "retail", or "retail, loyalty"
  std::string owner;  // "retailer", or "retailer, supplier"
};

Attribution AttributeTo(const sql::TableSchema& table);
// Every base table of the statement once, in order of appearance, and their distinct owners.
Attribution AttributeToAll(const sql::BoundQuery& query);

Violation MakeViolation(std::string rule, std::string code, Attribution who, std::string column,
                        std::string clause, int location, std::string message,
                        std::string hint = "");

}  // namespace parley::policy
