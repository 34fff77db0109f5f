// Differential privacy's budget and ledger: a collaboration's budget per month, and what each
// query that ran against it spent. Spending happens inside the write transaction that records
// the query as running (BEGIN IMMEDIATE: one writer at a time, across processes), so the check
// "spent + this <= budget" and the spend are atomic: concurrent queries cannot overspend.
#include <sqlite3.h>

#include <ctime>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace internal {

std::string PeriodOf(int64_t now) {
  std::time_t seconds = static_cast<std::time_t>(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return absl::StrFormat("%04d-%02d", utc.tm_year + 1900, utc.tm_mon + 1);
}

absl::StatusOr<std::optional<PrivacyBudget>> ReadPrivacyBudget(sqlite3* db,
                                                               int64_t collaboration_id) {
  absl::StatusOr<Statement> prepared =
      Statement::Prepare(db,
                         "SELECT epsilon_per_period, delta_per_period, default_epsilon, "
                         "max_epsilon FROM privacy_budgets WHERE collaboration_id = ?");
  if (!prepared.ok()) {
    // The migrations of older catalogs read collaborations (to check their audit states) before
    // the migration that creates the budget table has run: no table, no budget.
    PARLEY_ASSIGN_OR_RETURN(
        Statement exists,
        Statement::Prepare(db, "SELECT 1 FROM sqlite_master WHERE name = 'privacy_budgets'"));
    PARLEY_ASSIGN_OR_RETURN(bool has_table, exists.Step());
    if (!has_table) return std::nullopt;
    return prepared.status();
  }
  Statement statement = *std::move(prepared);
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return PrivacyBudget{statement.Int(0), statement.Int(1), statement.Int(2), statement.Int(3)};
}

absl::Status WritePrivacyBudget(sqlite3* db, int64_t collaboration_id,
                                const PrivacyBudget& budget) {
  if (budget.epsilon_per_period <= 0 || budget.default_epsilon <= 0 ||
      budget.delta_per_period < 0 || budget.max_epsilon < budget.default_epsilon ||
      budget.max_epsilon > budget.epsilon_per_period) {
    return absl::InvalidArgumentError(
        "privacy budget: need 0 < default epsilon <= max epsilon per query <= epsilon per "
        "month, and delta >= 0");
  }
  return Write(db,
               "INSERT OR REPLACE INTO privacy_budgets (collaboration_id, epsilon_per_period, "
               "delta_per_period, default_epsilon, max_epsilon) VALUES (?, ?, ?, ?, ?)",
               collaboration_id, budget.epsilon_per_period, budget.delta_per_period,
               budget.default_epsilon, budget.max_epsilon);
}

absl::Status SpendPrivacy(sqlite3* db, int64_t collaboration_id, std::string_view collaboration,
                          int64_t query_id, const QueryRecord& query, int64_t now) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<PrivacyBudget> budget,
                          ReadPrivacyBudget(db, collaboration_id));
  if (!budget.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("collaboration ", Quote(collaboration),
                     " has no privacy budget, so no query may read a table with differential "
                     "privacy"));
  }
  std::string period = PeriodOf(now);
  PARLEY_ASSIGN_OR_RETURN(Statement spent,
                          Statement::Prepare(db,
                                             "SELECT COALESCE(SUM(epsilon), 0), "
                                             "COALESCE(SUM(delta), 0) FROM privacy_spends "
                                             "WHERE collaboration_id = ? AND period = ?"));
  PARLEY_RETURN_IF_ERROR(spent.Bind(collaboration_id, period));
  PARLEY_ASSIGN_OR_RETURN(bool row, spent.Step());
  int64_t spent_epsilon = row ? spent.Int(0) : 0;
  int64_t spent_delta = row ? spent.Int(1) : 0;
  if (spent_epsilon + query.privacy_epsilon > budget->epsilon_per_period ||
      spent_delta + query.privacy_delta > budget->delta_per_period) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the privacy budget of collaboration ", Quote(collaboration), " for ", period,
        " is exhausted: this query would spend more than is left (see 'parley budget')"));
  }
  return Write(db,
               "INSERT INTO privacy_spends (collaboration_id, query_id, period, epsilon, delta, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?)",
               collaboration_id, query_id, period, query.privacy_epsilon, query.privacy_delta, now);
}

}  // namespace internal

absl::StatusOr<std::vector<PrivacySpend>> Store::ListPrivacySpends(
    const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t id, internal::CollaborationId(db, collaboration));
  std::vector<PrivacySpend> spends;
  {
    PARLEY_ASSIGN_OR_RETURN(
        internal::Statement statement,
        internal::Statement::Prepare(db,
                                     "SELECT period, SUM(epsilon), SUM(delta), COUNT(*) FROM "
                                     "privacy_spends WHERE collaboration_id = ? GROUP BY period "
                                     "ORDER BY period DESC"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(id));
    while (true) {
      PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
      if (!row) break;
      spends.push_back(
          PrivacySpend{statement.Text(0), statement.Int(1), statement.Int(2), statement.Int(3)});
    }
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return spends;
}

}  // namespace parley::catalog
