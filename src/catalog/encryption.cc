// A collaboration's client-side encryption settings (catalog::EncryptionSettings): one row of
// collaboration_encryption, written at creation and never changed (the cells of registered files
// depend on them).
#include "catalog/internal.h"
#include "catalog/store_impl.h"

namespace parley::catalog::internal {

absl::Status ReadEncryption(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration) {
  collaboration.encryption = EncryptionSettings{};
  // During the migrations of an older catalog the table may not exist yet.
  PARLEY_ASSIGN_OR_RETURN(Statement exists,
                          Statement::Prepare(db,
                                             "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                             "name = 'collaboration_encryption'"));
  PARLEY_ASSIGN_OR_RETURN(bool has_table, exists.Step());
  if (!has_table) return absl::OkStatus();
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT allow_cleartext, allow_duplicates, "
                         "allow_joins_on_columns_with_different_names, preserve_nulls FROM "
                         "collaboration_encryption WHERE collaboration_id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return absl::OkStatus();
  collaboration.encryption.allow_cleartext = statement.Bool(0);
  collaboration.encryption.allow_duplicates = statement.Bool(1);
  collaboration.encryption.allow_joins_on_columns_with_different_names = statement.Bool(2);
  collaboration.encryption.preserve_nulls = statement.Bool(3);
  return absl::OkStatus();
}

absl::Status WriteEncryption(sqlite3* db, int64_t collaboration_id,
                             const Collaboration& collaboration) {
  const EncryptionSettings& e = collaboration.encryption;
  return Write(db,
               "INSERT INTO collaboration_encryption (collaboration_id, allow_cleartext, "
               "allow_duplicates, allow_joins_on_columns_with_different_names, preserve_nulls) "
               "VALUES (?, ?, ?, ?, ?)",
               collaboration_id, e.allow_cleartext, e.allow_duplicates,
               e.allow_joins_on_columns_with_different_names, e.preserve_nulls);
}

}  // namespace parley::catalog::internal
