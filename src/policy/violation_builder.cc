#include "policy/violation_builder.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_join.h"

namespace parley::policy {

Attribution AttributeTo(const sql::TableSchema& table) { return {table.name, table.owner}; }

Attribution AttributeToAll(const sql::BoundQuery& query) {
  std::vector<std::string> tables, owners;
  for (const sql::BoundTable* table : query.BaseTables()) {
    if (std::find(tables.begin(), tables.end(), table->schema->name) != tables.end()) continue;
    tables.push_back(table->schema->name);
    if (std::find(owners.begin(), owners.end(), table->schema->owner) == owners.end()) {
      owners.push_back(table->schema->owner);
    }
  }
  return {absl::StrJoin(tables, ", "), absl::StrJoin(owners, ", ")};
}

Violation MakeViolation(std::string rule, std::string code, Attribution who, std::string column,
                        std::string clause, int location, std::string message, std::string hint) {
  Violation violation;
  violation.code = std::move(code);
  violation.rule = std::move(rule);
  violation.table = std::move(who.table);
  violation.owner = std::move(who.owner);
  violation.column = std::move(column);
  violation.clause = std::move(clause);
  violation.location = location;
  violation.message = std::move(message);
  violation.hint = std::move(hint);
  return violation;
}

}  // namespace parley::policy
