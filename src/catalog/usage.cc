// Metering: what each query scanned, who paid for it, and the limits members set on what the
// queries they pay for may scan. A query is charged when it is recorded as running, in that write
// transaction (BEGIN IMMEDIATE: one writer at a time, across processes): its estimate is checked
// against its payer's per-query limit and against what the payer has used and reserved this month,
// and reserved — so two queries racing for the last of a budget cannot both pass, as with the
// privacy budget (privacy_budget.cc). When it finishes, its measured scans replace the estimate,
// in the transaction that finishes the query. A query refused here writes nothing: it spends
// nothing.
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 1000) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1000 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

namespace internal {
namespace {

std::string Amount(int64_t bytes) {
  return absl::StrCat(FormatBytes(bytes), " (", bytes, " bytes)");
}

absl::StatusOr<UsageLimits> ReadLimits(sqlite3* db, int64_t collaboration_id,
                                       std::string_view member) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db,
                                             "SELECT per_query_bytes, monthly_bytes FROM "
                                             "usage_limits WHERE collaboration_id = ? AND "
                                             "member = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, member));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  UsageLimits limits;
  if (!found) return limits;
  if (!statement.IsNull(0)) limits.per_query_bytes = statement.Int(0);
  if (!statement.IsNull(1)) limits.monthly_bytes = statement.Int(1);
  return limits;
}

}  // namespace

absl::StatusOr<bool> PayerHasLimits(sqlite3* db, int64_t collaboration_id,
                                    std::string_view runner) {
  Collaboration terms;
  PARLEY_RETURN_IF_ERROR(ReadTerms(db, collaboration_id, terms));
  std::string payer = terms.payer == kRunnerPays ? std::string(runner) : terms.payer;
  PARLEY_ASSIGN_OR_RETURN(UsageLimits limits, ReadLimits(db, collaboration_id, payer));
  return limits.per_query_bytes.has_value() || limits.monthly_bytes.has_value();
}

absl::Status MeterQuery(sqlite3* db, int64_t collaboration_id, int64_t query_id,
                        const QueryRecord& query, int64_t now, bool enforce_limits) {
  // The payer in force now, in the transaction that starts the query: a payer change committed
  // later does not move this query's cost.
  Collaboration terms;
  PARLEY_RETURN_IF_ERROR(ReadTerms(db, collaboration_id, terms));
  std::string payer = terms.payer == kRunnerPays ? query.runner : terms.payer;
  // The estimate: the sizes recorded for the tables the checked query reads. Only sizes, which
  // every member sees in the tables' metadata, go into a refusal.
  int64_t estimate = 0;
  std::vector<std::string> parts;
  std::vector<std::string> tables = query.tables;  // named in order in a refusal
  std::sort(tables.begin(), tables.end());
  for (const std::string& table : tables) {
    PARLEY_ASSIGN_OR_RETURN(Statement size,
                            Statement::Prepare(db,
                                               "SELECT bytes FROM table_sizes WHERE "
                                               "collaboration_id = ? AND table_name = ?"));
    PARLEY_RETURN_IF_ERROR(size.Bind(collaboration_id, table));
    PARLEY_ASSIGN_OR_RETURN(bool found, size.Step());
    int64_t bytes = found ? size.Int(0) : 0;
    estimate += bytes;
    parts.push_back(absl::StrCat(table, " ", found ? FormatBytes(bytes) : "size not known"));
  }
  std::string period = PeriodOf(now);
  UsageLimits limits;
  if (enforce_limits) {
    PARLEY_ASSIGN_OR_RETURN(limits, ReadLimits(db, collaboration_id, payer));
  }
  std::string estimated =
      absl::StrCat("it would scan an estimated ", Amount(estimate), " (",
                   parts.empty() ? "no table" : absl::StrJoin(parts, ", "), ")");
  std::string whose =
      payer == query.runner ? "you pay for it" : absl::StrCat(Quote(payer), " pays for it");
  if (limits.per_query_bytes.has_value() && estimate > *limits.per_query_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(kUsageRefused, estimated, ", over the per-query scan limit of ",
                     Amount(*limits.per_query_bytes), " set by ", Quote(payer), " (", whose, ")"));
  }
  if (limits.monthly_bytes.has_value()) {
    // Finished queries count what they measured; running ones (and runs whose process died)
    // what was reserved for them.
    PARLEY_ASSIGN_OR_RETURN(
        Statement used,
        Statement::Prepare(db,
                           "SELECT COALESCE(SUM(CASE WHEN finished = 1 THEN bytes_scanned ELSE "
                           "estimated_bytes END), 0) FROM query_usage WHERE collaboration_id = ? "
                           "AND payer = ? AND period = ?"));
    PARLEY_RETURN_IF_ERROR(used.Bind(collaboration_id, payer, period));
    PARLEY_ASSIGN_OR_RETURN(bool row, used.Step());
    int64_t spent = row ? used.Int(0) : 0;
    if (spent + estimate > *limits.monthly_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(kUsageRefused, estimated, ", and ", Quote(payer), " (", whose, ") has used ",
                       Amount(spent), " of its monthly scan budget of ",
                       Amount(*limits.monthly_bytes), " for ", period));
    }
  }
  return Write(db,
               "INSERT INTO query_usage (query_id, collaboration_id, runner, payer, period, "
               "created_at, finished, estimated_bytes, rows_scanned, bytes_scanned, "
               "duration_micros, result_rows, result_bytes) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0, "
               "0, 0, 0, 0)",
               query_id, collaboration_id, query.runner, payer, period, now, estimate);
}

absl::Status FinishUsage(sqlite3* db, int64_t query_id, const QueryUsage& usage) {
  int64_t rows = 0, bytes = 0;
  for (const TableScan& scan : usage.scans) {
    if (scan.rows < 0 || scan.bytes < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("table '", scan.table, "': a scan cannot be negative"));
    }
    rows += scan.rows;
    bytes += scan.bytes;
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "INSERT OR REPLACE INTO query_scans (query_id, table_name, "
                                 "rows_scanned, bytes_scanned) VALUES (?, ?, ?, ?)",
                                 query_id, scan.table, scan.rows, scan.bytes));
  }
  // A query recorded before metering existed has no row: nothing to update.
  return Write(db,
               "UPDATE query_usage SET finished = 1, rows_scanned = ?, bytes_scanned = ?, "
               "duration_micros = ?, result_rows = ?, result_bytes = ? WHERE query_id = ?",
               rows, bytes, std::max<int64_t>(usage.duration_micros, 0),
               std::max<int64_t>(usage.result_rows, 0), std::max<int64_t>(usage.result_bytes, 0),
               query_id);
}

}  // namespace internal

absl::Status Store::SetUsageLimits(const std::string& collaboration, const std::string& member,
                                   const UsageLimits& limits) {
  if ((limits.per_query_bytes.has_value() && *limits.per_query_bytes < 0) ||
      (limits.monthly_bytes.has_value() && *limits.monthly_bytes < 0)) {
    return absl::InvalidArgumentError("a scan limit cannot be negative");
  }
  PARLEY_ASSIGN_OR_RETURN(internal::CollaborationWrite write,
                          internal::CollaborationWrite::Begin(*impl_, collaboration));
  sqlite3* db = write.db();
  PARLEY_RETURN_IF_ERROR(internal::GetMember(db, write.id(), collaboration, member).status());
  PARLEY_RETURN_IF_ERROR(internal::Write(
      db,
      "INSERT OR REPLACE INTO usage_limits (collaboration_id, member, per_query_bytes, "
      "monthly_bytes) VALUES (?, ?, ?, ?)",
      write.id(), member, limits.per_query_bytes, limits.monthly_bytes));
  internal::Json details = {{"member", member}};
  details["per_query_bytes"] =
      limits.per_query_bytes ? internal::Json(*limits.per_query_bytes) : internal::Json(nullptr);
  details["monthly_bytes"] =
      limits.monthly_bytes ? internal::Json(*limits.monthly_bytes) : internal::Json(nullptr);
  // A member's own limits are no part of the room's policy: queries checked before the change
  // still deliver.
  PARLEY_RETURN_IF_ERROR(
      write.Append(member, "usage.limits", details, internal::PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<UsageLimits> Store::GetUsageLimits(const std::string& collaboration,
                                                  const std::string& member) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(UsageLimits limits, internal::ReadLimits(db, id, member));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return limits;
}

absl::StatusOr<std::vector<UsageRecord>> Store::ListUsage(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  std::vector<UsageRecord> records;
  {
    PARLEY_ASSIGN_OR_RETURN(
        internal::Statement statement,
        internal::Statement::Prepare(
            db,
            "SELECT query_id, runner, payer, period, created_at, finished, estimated_bytes, "
            "rows_scanned, CASE WHEN finished = 1 THEN bytes_scanned ELSE estimated_bytes END, "
            "duration_micros, result_rows, result_bytes FROM query_usage WHERE "
            "collaboration_id = ? ORDER BY query_id"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(id));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      UsageRecord record;
      record.query_id = statement.Int(0);
      record.runner = statement.Text(1);
      record.payer = statement.Text(2);
      record.period = statement.Text(3);
      record.created_at = statement.Int(4);
      record.finished = statement.Bool(5);
      record.estimated_bytes = statement.Int(6);
      record.rows_scanned = statement.Int(7);
      record.bytes_scanned = statement.Int(8);
      record.duration_micros = statement.Int(9);
      record.result_rows = statement.Int(10);
      record.result_bytes = statement.Int(11);
      records.push_back(std::move(record));
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return records;
}

absl::StatusOr<std::vector<TableScan>> Store::ListQueryScans(const std::string& collaboration,
                                                             int64_t query_id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  std::vector<TableScan> scans;
  {
    PARLEY_ASSIGN_OR_RETURN(
        internal::Statement statement,
        internal::Statement::Prepare(
            db,
            "SELECT s.table_name, s.rows_scanned, s.bytes_scanned FROM query_scans s JOIN "
            "query_usage u ON u.query_id = s.query_id WHERE u.collaboration_id = ? AND "
            "s.query_id = ? ORDER BY s.table_name"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(id, query_id));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      scans.push_back({statement.Text(0), statement.Int(1), statement.Int(2)});
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return scans;
}

absl::Status Store::SetTableSize(const std::string& collaboration, const std::string& table,
                                 const TableSize& size) {
  if (size.bytes < 0) return absl::InvalidArgumentError("a table's size cannot be negative");
  sqlite3* db = impl_->handle();
  PARLEY_RETURN_IF_ERROR(internal::SetDurability(*impl_, internal::Durability::kWritten));
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/true));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  PARLEY_RETURN_IF_ERROR(internal::Write(db,
                                         "INSERT OR REPLACE INTO table_sizes (collaboration_id, "
                                         "table_name, rows, bytes, measured_at) VALUES (?, ?, ?, "
                                         "?, ?)",
                                         id, table, size.rows, size.bytes, impl_->clock()));
  return transaction.Commit();
}

absl::StatusOr<std::map<std::string, TableSize>> Store::ListTableSizes(
    const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  std::map<std::string, TableSize> sizes;
  {
    PARLEY_ASSIGN_OR_RETURN(internal::Statement statement,
                            internal::Statement::Prepare(db,
                                                         "SELECT table_name, rows, bytes FROM "
                                                         "table_sizes WHERE collaboration_id = ?"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(id));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      sizes[statement.Text(0)] = TableSize{statement.Int(1), statement.Int(2)};
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return sizes;
}

}  // namespace parley::catalog
