// Encrypted columns in queries (docs/formats/encrypted-columns.md, docs/rules.md "Encrypted
// columns"): the engine knows each column's kind from registration, and a query may use an
// encrypted column only in the shapes whose answer stays right on keyed hashes and ciphertexts:
//
//   fingerprint  joined with `=` to a fingerprint of the same name (unless the collaboration
//                allows different names) made with the same keys, in a chain of ANDs of JOIN ON or
//                WHERE; counted (COUNT, COUNT(DISTINCT)); grouped, made DISTINCT or tested for NULL
//                only with preserve_nulls (without it each NULL was encrypted as its own value);
//                output as a column;
//   sealed       output as a column of the final SELECT list (and NULL-tested with
//                preserve_nulls); nothing else — every cell has a fresh nonce;
//
// and never inside a function, operator, cast, CASE, comparison, window, ORDER BY, set operation
// or subquery value. Columns of CTEs and derived tables carry the kind of the base column they
// pass through unchanged, so an alias or a CTE does not launder one. Everything else is a
// violation naming the column, its table and the clause — never run to a wrong answer.
//
// Thread safety: pure function of its inputs.
#pragma once

#include <map>
#include <string>

#include "policy/verdict.h"
#include "sql/ir.h"

namespace parley::policy {

enum class ColumnEncryption { kCleartext, kFingerprint, kSealed };

struct EncryptedColumn {
  ColumnEncryption kind = ColumnEncryption::kCleartext;
  std::string key_id;  // "<secret id>.<key id>" of its cells
};

// What the checker needs to know: the collaboration's settings that act on queries, and the
// encrypted columns of each table (by lower-cased table name, then lower-cased column name;
// a column not listed is cleartext).
struct EncryptionPolicy {
  std::string collaboration;
  bool preserve_nulls = false;
  bool allow_joins_on_columns_with_different_names = false;
  std::map<std::string, std::map<std::string, EncryptedColumn>> tables;

  bool empty() const { return tables.empty(); }
  const EncryptedColumn* Find(const std::string& table, const std::string& column) const;
};

// Appends a violation to `verdict` for every use of an encrypted column the shapes above do not
// allow.
void CheckEncryptedColumns(const sql::BoundQuery& query, const EncryptionPolicy& policy,
                           Verdict& verdict);

}  // namespace parley::policy
