// A collaboration's time limit for its queries: one row of collaboration_time_limits, set at
// creation and then by a change request of kind "time_limit" (changes.cc). Not part of the policy
// state: how long a query may run decides nothing about what it releases.
#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store_impl.h"

namespace parley::catalog::internal {

absl::Status ReadTimeLimit(sqlite3* db, int64_t collaboration_id, Collaboration& collaboration) {
  collaboration.time_limit_seconds.reset();
  // During the migrations of an older catalog the table may not exist yet.
  PARLEY_ASSIGN_OR_RETURN(Statement exists,
                          Statement::Prepare(db,
                                             "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                             "name = 'collaboration_time_limits'"));
  PARLEY_ASSIGN_OR_RETURN(bool has_table, exists.Step());
  if (!has_table) return absl::OkStatus();
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT seconds FROM collaboration_time_limits "
                                             "WHERE collaboration_id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (found) collaboration.time_limit_seconds = statement.Int(0);
  return absl::OkStatus();
}

absl::Status WriteTimeLimit(sqlite3* db, int64_t collaboration_id, std::optional<int64_t> seconds) {
  if (!seconds) {
    return Write(db, "DELETE FROM collaboration_time_limits WHERE collaboration_id = ?",
                 collaboration_id);
  }
  if (*seconds < 1 || *seconds > kMaxTimeLimitSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("a time limit is a number of seconds from 1 to ",
                                                   kMaxTimeLimitSeconds, "; ", *seconds,
                                                   " is not"));
  }
  return Write(db,
               "INSERT INTO collaboration_time_limits (collaboration_id, seconds) VALUES (?, ?) "
               "ON CONFLICT (collaboration_id) DO UPDATE SET seconds = excluded.seconds",
               collaboration_id, *seconds);
}

}  // namespace parley::catalog::internal
