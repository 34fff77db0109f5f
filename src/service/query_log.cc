#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "service/run_lock.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

bool internal::Receives(const std::vector<std::string>& receivers, const std::string& member) {
  return std::find(receivers.begin(), receivers.end(), member) != receivers.end();
}

QueryView internal::ViewOfQuery(const catalog::QueryRecord& record, const std::string& member) {
  QueryView view;
  view.id = record.id;
  view.created_at = record.created_at;
  view.runner = record.runner;
  view.sql = record.sql;
  view.template_id = record.template_id;
  view.receivers = record.receivers;
  view.tables = record.tables;
  view.status = catalog::QueryStatusName(record.status);
  switch (record.status) {
    case catalog::QueryStatus::kRejected:
      view.verdict_json = record.verdict_json;
      break;
    case catalog::QueryStatus::kRunning:
    case catalog::QueryStatus::kKilled:
      break;
    case catalog::QueryStatus::kSucceeded:
    case catalog::QueryStatus::kFailed:
    case catalog::QueryStatus::kCancelled:
      if (record.status == catalog::QueryStatus::kFailed &&
          record.error == catalog::kPolicyChangedError) {
        // Only the store writes this error (engine errors are "query failed during execution:
        // <category>"), and the cause is not data: the policy changed during the run, which the
        // audit log shows every member ("policy_changed") and the runner was told.
        view.error = record.error;
      } else if (!Receives(record.receivers, member)) {
        view.status = kFinishedStatus;
      } else if (record.status == catalog::QueryStatus::kSucceeded) {
        view.row_count = record.row_count;
      } else {
        view.error = record.error;
      }
      break;
  }
  return view;
}

absl::Status Service::Impl::MarkKilledRuns() {
  std::filesystem::path directory = RunLockDirectory();
  // First the runs only a dead process's journal lists; the journal is removed then, and with it
  // the lock of that process's runs recorded running, which are marked below.
  RecordAbandonedJournals();
  return store
      ->MarkKilledQueries([&](const catalog::QueryRecord& query) {
        bool abandoned = RunLock::Abandoned(directory, query.run_lock);
        // A journal ("NAME#N") is removed by RecordAbandonedJournals, once its runs are recorded.
        if (abandoned && query.run_lock.find('#') == std::string::npos) {
          RunLock::Remove(directory, query.run_lock);
        }
        return abandoned;
      })
      .status();
}

absl::StatusOr<std::vector<QueryView>> Service::Impl::ListQueries(
    const identity::Caller& caller, const std::string& collaboration) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_RETURN_IF_ERROR(MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(auto all, store->ListQueries(collaboration));
  std::vector<QueryView> mine;
  for (const catalog::QueryRecord& record : all) {
    if (identity::ListsQuery(caller, record.runner, record.receivers)) {
      mine.push_back(ViewOfQuery(record, actor));
    }
  }
  return mine;
}

absl::StatusOr<std::vector<QueryView>> Service::Impl::QueryLog(const identity::Caller& caller,
                                                               const std::string& collaboration) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kReadQueryLog));
  if (!found.query_logging) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collaboration '", collaboration,
        "' does not log queries; query logging is chosen when the collaboration is created"));
  }
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  std::set<std::string> owned;
  for (const catalog::Table& table : tables) {
    if (table.owner == actor) owned.insert(table.name);
  }
  PARLEY_RETURN_IF_ERROR(MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(auto queries, store->ListQueries(collaboration));
  std::vector<QueryView> touching;
  for (const catalog::QueryRecord& query : queries) {
    bool touches = false;
    for (const std::string& table : query.tables) touches |= owned.contains(table);
    if (touches) touching.push_back(ViewOfQuery(query, actor));
  }
  return touching;
}

}  // namespace parley::service
