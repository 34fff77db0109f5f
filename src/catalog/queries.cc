// Queries and their results: recording a rejected or started query, finishing a running one
// (releasing its result only if the policy it was checked against is still in force), marking
// queries whose process died, and reading them.
#include <sqlite3.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/audit.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace {

using internal::Blob;
using internal::Canonical;
using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::ReadStringArray;
using internal::Statement;
using internal::StringArray;
using internal::Transaction;
using internal::Write;

constexpr const char* kQueryColumns =
    "SELECT q.id, c.name, q.runner, q.sql_text, q.status, q.verdict_json, q.rendered_sql, "
    "q.receivers, q.table_names, q.result_path, q.row_count, q.error, q.created_at, "
    "q.template_id, q.run_lock, length(q.result_data), q.result_sealed "
    "FROM queries q JOIN collaborations c ON c.id = q.collaboration_id ";

absl::StatusOr<QueryRecord> ReadQuery(const Statement& statement) {
  QueryRecord query;
  query.id = statement.Int(0);
  query.collaboration = statement.Text(1);
  query.runner = statement.Text(2);
  query.sql = statement.Text(3);
  PARLEY_ASSIGN_OR_RETURN(query.status, ParseQueryStatus(statement.Text(4)));
  query.verdict_json = statement.Text(5);
  query.rendered_sql = statement.Text(6);
  PARLEY_ASSIGN_OR_RETURN(query.receivers, ReadStringArray(statement.Text(7), "receivers"));
  PARLEY_ASSIGN_OR_RETURN(query.tables, ReadStringArray(statement.Text(8), "query tables"));
  query.result_path = statement.Text(9);
  query.row_count = statement.Int(10);
  query.error = statement.Text(11);
  query.created_at = statement.Int(12);
  query.template_id = statement.Text(13);
  query.run_lock = statement.Text(14);
  // length() reads the size from the record header: a listing never loads a result's bytes.
  query.result_inline = !statement.IsNull(15);
  query.inline_result_bytes = query.result_inline ? statement.Int(15) : 0;
  query.result_sealed = statement.Bool(16);
  return query;
}

// The audit action recording a query: whether it was refused, started, killed or ended —
// never how it ended, which is for its receivers (the record keeps it).
std::string QueryAuditAction(QueryStatus status) {
  switch (status) {
    case QueryStatus::kRejected:
      return "query.rejected";
    case QueryStatus::kRunning:
      return "query.started";
    case QueryStatus::kKilled:
      return "query.killed";
    case QueryStatus::kSucceeded:
    case QueryStatus::kFailed:
    case QueryStatus::kCancelled:
      return "query.finished";
  }
  return "query.finished";
}

// What recording a query starts with, whichever way it is recorded (RecordQuery, RecordRun,
// RecordKilledRun): the runner's name checked, its "query.submitted" details parsed (when it
// has them), the receivers and tables in canonical form, the collaboration's write transaction
// begun and the runner found a member of it.
struct QueryWrite {
  CollaborationWrite write;
  std::optional<Json> submitted;
  std::string receivers;
  std::string tables;
};

absl::StatusOr<QueryWrite> BeginQueryWrite(Store::Impl& impl, const QueryRecord& query,
                                           const std::optional<std::string>& submitted_details,
                                           internal::Durability durability) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", query.runner));
  std::optional<Json> submitted;
  if (submitted_details.has_value()) {
    submitted = internal::ParseObject(submitted_details->empty() ? "{}" : *submitted_details);
    if (!submitted.has_value()) {
      return absl::InvalidArgumentError(
          "the details of audit action 'query.submitted' are not a JSON object");
    }
  }
  PARLEY_ASSIGN_OR_RETURN(std::string receivers,
                          Canonical(StringArray(query.receivers), "the receivers"));
  PARLEY_ASSIGN_OR_RETURN(std::string tables, Canonical(StringArray(query.tables), "the tables"));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(impl, query.collaboration,
                                                    /*must_exist=*/true, durability));
  PARLEY_RETURN_IF_ERROR(
      internal::GetMember(write.db(), write.id(), query.collaboration, query.runner).status());
  return QueryWrite{std::move(write), std::move(submitted), std::move(receivers),
                    std::move(tables)};
}

absl::Status InsertQuery(sqlite3* db, int64_t collaboration_id, const QueryRecord& query,
                         const std::string& receivers, const std::string& tables, int64_t now) {
  return Write(db,
               "INSERT INTO queries (collaboration_id, runner, sql_text, status, "
               "verdict_json, rendered_sql, receivers, table_names, result_path, "
               "row_count, error, created_at, template_id, run_lock, result_data, "
               "result_sealed) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               collaboration_id, query.runner, query.sql, QueryStatusName(query.status),
               query.verdict_json, query.rendered_sql, receivers, tables, query.result_path,
               query.row_count, query.error, now, query.template_id, query.run_lock,
               Blob{query.inline_result}, query.result_sealed);
}

// The details of a query's "query.started" (and rejected, killed, finished-in-one) entry:
// metadata only. The SQL text, the verdict and the error message can all quote data values
// (literals, DuckDB conversion errors), so none of them enters the shared log; nor do the row
// count or whether the run succeeded, which only the receivers may learn.
Json StartedDetails(int64_t id, const QueryRecord& query) {
  Json details = {{"query_id", id},
                  {"tables", StringArray(query.tables)},
                  {"receivers", StringArray(query.receivers)}};
  if (!query.template_id.empty()) details["template_id"] = query.template_id;
  return details;
}

// A finished outcome whose policy moved under the run releases nothing: no result (file or
// inline bytes), no row count, the policy-changed error.
void Withhold(QueryRecord& finished) {
  finished.status = QueryStatus::kFailed;
  finished.error = kPolicyChangedError;
  finished.result_path.clear();
  finished.inline_result.reset();
  finished.result_sealed = false;
  finished.row_count = 0;
}

// The statuses a run ends in (FinishQuery, RecordRun): killed is RecordKilledRun's alone.
absl::Status CheckFinalStatus(QueryStatus status) {
  if (status == QueryStatus::kSucceeded || status == QueryStatus::kFailed ||
      status == QueryStatus::kCancelled) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "a query finishes succeeded, failed or cancelled, not ", QueryStatusName(status)));
}

}  // namespace

absl::StatusOr<int64_t> Store::RecordQuery(const QueryRecord& query,
                                           const std::optional<std::string>& submitted_details) {
  if (query.inline_result.has_value()) {
    return absl::InvalidArgumentError("a result is stored when its query finishes");
  }
  PARLEY_ASSIGN_OR_RETURN(
      QueryWrite begun,
      BeginQueryWrite(*impl_, query, submitted_details,
                      // A privacy spend is synced: a power loss that undid it would let the
                      // same budget be spent twice (docs/audit.md).
                      query.status == QueryStatus::kRunning && query.privacy_epsilon > 0
                          ? internal::Durability::kSynced
                          : internal::Durability::kWritten));
  CollaborationWrite& write = begun.write;
  // Checked again here, in the write transaction: a close that landed after the service's own
  // check still stops the query before it runs.
  PARLEY_RETURN_IF_ERROR(write.RequireOpen());
  sqlite3* db = write.db();
  int64_t now = write.now();
  int64_t collaboration_id = write.id();
  // Submitting changes no policy either: both entries record the state checked at Begin.
  if (begun.submitted.has_value()) {
    PARLEY_RETURN_IF_ERROR(write.Append(query.runner, "query.submitted", *begun.submitted,
                                        PolicyEffect::kKeepsPolicy));
  }
  PARLEY_RETURN_IF_ERROR(
      InsertQuery(db, collaboration_id, query, begun.receivers, begun.tables, now));
  int64_t id = sqlite3_last_insert_rowid(db);
  if (query.status == QueryStatus::kRunning && query.privacy_epsilon > 0) {
    PARLEY_RETURN_IF_ERROR(
        internal::SpendPrivacy(db, collaboration_id, query.collaboration, id, query, now));
  }
  if (query.status == QueryStatus::kRunning && query.usage.has_value()) {
    PARLEY_RETURN_IF_ERROR(internal::MeterQuery(db, collaboration_id, id, query, now));
  }
  // Recording a query changes no policy: the state checked is the state the entry records.
  PARLEY_RETURN_IF_ERROR(write.Append(query.runner, QueryAuditAction(query.status),
                                      StartedDetails(id, query), PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return id;
}

absl::StatusOr<Delivery> Store::FinishQuery(const std::string& collaboration, int64_t id,
                                            const QueryRecord& outcome,
                                            const std::string& checked_policy) {
  PARLEY_RETURN_IF_ERROR(CheckFinalStatus(outcome.status));
  // Finishing a query changes no policy: the state checked at Begin is the state the entry
  // records, and the state the delivery is compared with.
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration, /*must_exist=*/true,
                                                    internal::Durability::kWritten));
  sqlite3* db = write.db();
  int64_t collaboration_id = write.id();
  PARLEY_ASSIGN_OR_RETURN(
      Statement running,
      Statement::Prepare(
          db, "SELECT runner, status FROM queries WHERE collaboration_id = ? AND id = ?"));
  PARLEY_RETURN_IF_ERROR(running.Bind(collaboration_id, id));
  PARLEY_ASSIGN_OR_RETURN(bool found, running.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("query ", id, " not found in collaboration ", Quote(collaboration)));
  }
  std::string runner = running.Text(0);
  if (running.Text(1) != QueryStatusName(QueryStatus::kRunning)) {
    return absl::FailedPreconditionError(
        absl::StrCat("query ", id, " is ", running.Text(1), ", not running"));
  }
  QueryRecord finished = outcome;
  Delivery delivery;
  // Same transaction as the update below: no change can land between this comparison and the
  // record that releases the result.
  if (write.checked_state().digest != checked_policy) {
    delivery.policy_changed = true;
    Withhold(finished);
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "UPDATE queries SET status = ?, row_count = ?, error = ?, "
                               "result_path = ?, run_lock = '', result_data = ?, "
                               "result_sealed = ? WHERE id = ?",
                               QueryStatusName(finished.status), finished.row_count, finished.error,
                               finished.result_path, Blob{finished.inline_result},
                               finished.result_sealed, id));
  // What the run scanned is recorded whatever was released: it was read, and is paid for.
  if (outcome.usage.has_value()) {
    PARLEY_RETURN_IF_ERROR(internal::FinishUsage(db, id, *outcome.usage));
  }
  Json details = {{"query_id", id}};
  // The one outcome the log tells every member, since its cause is not data: the policy moved
  // under the run.
  if (delivery.policy_changed) details["policy_changed"] = true;
  PARLEY_RETURN_IF_ERROR(
      write.Append(runner, "query.finished", details, PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return delivery;
}

absl::StatusOr<std::pair<int64_t, Delivery>> Store::RecordRun(const QueryRecord& query,
                                                              const std::string& submitted_details,
                                                              const QueryRecord& outcome,
                                                              const std::string& checked_policy) {
  PARLEY_RETURN_IF_ERROR(CheckFinalStatus(outcome.status));
  if (query.privacy_epsilon > 0) {
    return absl::InvalidArgumentError(
        "a query that spends privacy budget is recorded as running before it runs");
  }
  PARLEY_ASSIGN_OR_RETURN(
      QueryWrite begun,
      BeginQueryWrite(*impl_, query, std::optional<std::string>(submitted_details),
                      internal::Durability::kWritten));
  CollaborationWrite& write = begun.write;
  sqlite3* db = write.db();
  int64_t now = write.now();
  int64_t collaboration_id = write.id();
  PARLEY_RETURN_IF_ERROR(
      write.Append(query.runner, "query.submitted", *begun.submitted, PolicyEffect::kKeepsPolicy));
  QueryRecord finished = query;
  finished.status = outcome.status;
  finished.row_count = outcome.row_count;
  finished.error = outcome.error;
  finished.result_path = outcome.result_path;
  finished.inline_result = outcome.inline_result;
  finished.result_sealed = outcome.result_sealed;
  Delivery delivery;
  // As FinishQuery: compared in the transaction that records the outcome, so no change can land
  // between this comparison and the record that releases the result. (A close changes the
  // digest too: a run that ends after its collaboration closed releases nothing.)
  if (write.checked_state().digest != checked_policy) {
    delivery.policy_changed = true;
    Withhold(finished);
  }
  PARLEY_RETURN_IF_ERROR(
      InsertQuery(db, collaboration_id, finished, begun.receivers, begun.tables, now));
  int64_t id = sqlite3_last_insert_rowid(db);
  if (outcome.usage.has_value()) {
    PARLEY_RETURN_IF_ERROR(internal::MeterQuery(db, collaboration_id, id, query, now,
                                                /*enforce_limits=*/false));
    PARLEY_RETURN_IF_ERROR(internal::FinishUsage(db, id, *outcome.usage));
  }
  PARLEY_RETURN_IF_ERROR(write.Append(query.runner, "query.started", StartedDetails(id, query),
                                      PolicyEffect::kKeepsPolicy));
  Json details = {{"query_id", id}};
  if (delivery.policy_changed) details["policy_changed"] = true;
  PARLEY_RETURN_IF_ERROR(
      write.Append(query.runner, "query.finished", details, PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return std::make_pair(id, delivery);
}

absl::Status Store::RecordKilledRun(const QueryRecord& query,
                                    const std::string& submitted_details) {
  if (query.run_lock.empty()) {
    return absl::InvalidArgumentError("a run found in a run journal has a token");
  }
  PARLEY_ASSIGN_OR_RETURN(
      QueryWrite begun,
      BeginQueryWrite(*impl_, query, std::optional<std::string>(submitted_details),
                      internal::Durability::kWritten));
  CollaborationWrite& write = begun.write;
  sqlite3* db = write.db();
  {
    PARLEY_ASSIGN_OR_RETURN(Statement recorded,
                            Statement::Prepare(db, "SELECT 1 FROM queries WHERE run_lock = ?"));
    PARLEY_RETURN_IF_ERROR(recorded.Bind(query.run_lock));
    PARLEY_ASSIGN_OR_RETURN(bool found, recorded.Step());
    if (found) return absl::OkStatus();  // rolled back: nothing was written
  }
  int64_t now = write.now();
  int64_t collaboration_id = write.id();
  PARLEY_RETURN_IF_ERROR(
      write.Append(query.runner, "query.submitted", *begun.submitted, PolicyEffect::kKeepsPolicy));
  QueryRecord killed = query;
  killed.status = QueryStatus::kKilled;
  killed.inline_result.reset();  // a killed run stored nothing
  killed.result_sealed = false;
  PARLEY_RETURN_IF_ERROR(
      InsertQuery(db, collaboration_id, killed, begun.receivers, begun.tables, now));
  int64_t id = sqlite3_last_insert_rowid(db);
  // As a run recorded running whose process died: it keeps its reservation.
  PARLEY_RETURN_IF_ERROR(internal::MeterQuery(db, collaboration_id, id, query, now,
                                              /*enforce_limits=*/false));
  PARLEY_RETURN_IF_ERROR(write.Append(query.runner, "query.started", StartedDetails(id, query),
                                      PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Append(query.runner, "query.killed", Json{{"query_id", id}},
                                      PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<bool> Store::UsageLimited(const std::string& collaboration,
                                         const std::string& runner) {
  PARLEY_RETURN_IF_ERROR(internal::RefreshQueryReadCache(*impl_));
  std::string key = absl::StrCat(collaboration, "\n", runner);
  auto cached = impl_->read_cache.limited_payers.find(key);
  if (cached != impl_->read_cache.limited_payers.end()) return cached->second;
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(bool limited, internal::PayerHasLimits(db, collaboration_id, runner));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  impl_->read_cache.limited_payers[key] = limited;
  return limited;
}

absl::Status Store::CheckPolicyIntact(const std::string& collaboration) {
  PARLEY_RETURN_IF_ERROR(internal::RefreshQueryReadCache(*impl_));
  if (impl_->read_cache.intact.count(collaboration)) return absl::OkStatus();
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id,
                          internal::FindCollaborationId(db, collaboration));
  if (!id.has_value()) return internal::CollaborationNotFound(collaboration);
  PARLEY_RETURN_IF_ERROR(internal::CheckStateMatchesAudit(db, collaboration, id, nullptr));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  impl_->read_cache.intact.insert(collaboration);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> Store::MarkKilledQueries(
    const std::function<bool(const QueryRecord&)>& abandoned) {
  sqlite3* db = impl_->handle();
  std::vector<QueryRecord> candidates;
  {
    PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(
            db, absl::StrCat(kQueryColumns, "WHERE q.status = 'running' ORDER BY q.id")));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
      candidates.push_back(std::move(query));
    }
    PARLEY_RETURN_IF_ERROR(transaction.Commit());
  }
  std::vector<const QueryRecord*> dead;
  for (const QueryRecord& query : candidates) {
    if (abandoned(query)) dead.push_back(&query);
  }
  std::vector<int64_t> killed;
  if (dead.empty()) return killed;
  int64_t now = impl_->clock();
  // A record of queries, like RecordQuery and FinishQuery.
  PARLEY_RETURN_IF_ERROR(internal::SetDurability(*impl_, internal::Durability::kWritten));
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/true));
  // Marking a query killed changes no policy: each collaboration's state is checked once and
  // recorded by its entries. A collaboration changed outside Parley is skipped, not an error:
  // this runs before listings and when the service opens, which must keep working for the other
  // collaborations (and for reading this one's log).
  std::map<std::string, std::optional<internal::PolicyState>> states;
  for (const QueryRecord* query : dead) {
    auto [state, inserted] = states.try_emplace(query->collaboration);
    if (inserted) {
      // Resolved once per collaboration, not once per query.
      PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> id,
                              internal::FindCollaborationId(db, query->collaboration));
      internal::PolicyState checked;
      absl::Status matches =
          internal::CheckStateMatchesAudit(db, query->collaboration, id, &checked);
      if (matches.ok()) {
        state->second = std::move(checked);
      } else if (!absl::IsFailedPrecondition(matches)) {
        return matches;
      }
    }
    if (!state->second.has_value()) continue;
    // Still running under the same lock: another process may have marked it in the meantime.
    PARLEY_RETURN_IF_ERROR(Write(db,
                                 "UPDATE queries SET status = 'killed', run_lock = '' "
                                 "WHERE id = ? AND status = 'running' AND run_lock = ?",
                                 query->id, query->run_lock));
    if (sqlite3_changes(db) == 0) continue;
    Json details = {{"query_id", query->id}};
    PARLEY_RETURN_IF_ERROR(internal::AppendEntry(db, now, query->collaboration, query->runner,
                                                 "query.killed", details, *state->second));
    killed.push_back(query->id);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return killed;
}

absl::StatusOr<QueryRecord> Store::GetQuery(const std::string& collaboration, int64_t id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         absl::StrCat(kQueryColumns, "WHERE q.collaboration_id = ? AND q.id = ?")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("query ", id, " not found in collaboration ", Quote(collaboration)));
  }
  PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return query;
}

absl::StatusOr<std::vector<QueryRecord>> Store::ListQueries(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kQueryColumns, "WHERE q.collaboration_id = ? ORDER BY q.id")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<QueryRecord> queries;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(QueryRecord query, ReadQuery(statement));
    queries.push_back(std::move(query));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return queries;
}

}  // namespace parley::catalog

namespace parley::catalog {

absl::StatusOr<std::string> Store::ForgetResult(const std::string& collaboration, int64_t id,
                                                const std::string& actor) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration, /*must_exist=*/true));
  sqlite3* db = write.db();
  std::string path;
  bool in_catalog = false;
  {
    // Scoped: the statement is finished before the update below.
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(db,
                           "SELECT result_path, result_data IS NOT NULL "
                           "FROM queries WHERE collaboration_id = ? AND id = ?"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(write.id(), id));
    PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat("query ", id, " not found in collaboration ", Quote(collaboration)));
    }
    path = statement.Text(0);
    in_catalog = statement.Bool(1);
  }
  if (path.empty() && !in_catalog) {
    return absl::FailedPreconditionError(absl::StrCat("query ", id, " has no stored result"));
  }
  PARLEY_RETURN_IF_ERROR(Write(db,
                               "UPDATE queries SET result_path = '', result_data = NULL, "
                               "result_sealed = 0 WHERE id = ?",
                               id));
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "result.deleted", Json{{"query_id", id}}, PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  if (in_catalog) {
    // secure_delete zeroed the bytes in the catalog's pages, but the write-ahead log still holds
    // the frames written before: copied back and truncated now, so a deleted result is gone from
    // both files. Best effort: while another connection reads, the log is truncated by a later
    // checkpoint instead.
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }
  return path;
}

absl::StatusOr<std::string> Store::GetInlineResult(const std::string& collaboration, int64_t id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  std::string bytes;
  {
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(db,
                           "SELECT result_data FROM queries WHERE collaboration_id = ? AND id = ? "
                           "AND result_data IS NOT NULL"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id, id));
    PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("query ", id, " of collaboration ",
                                              Quote(collaboration),
                                              " has no result in the catalog"));
    }
    bytes = statement.BlobBytes(0);
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return bytes;
}

}  // namespace parley::catalog
