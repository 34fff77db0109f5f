#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crypto/sha256.h"
#include "dp/budget.h"
#include "policy/checker.h"
#include "query/compile.h"
#include "service/run_lock.h"
#include "service/service_impl.h"
#include "sql/duckdb_types.h"

namespace parley::service {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using namespace internal;

namespace {

// The tables of `tables` whose names the text of a query that did not parse or bind mentions as
// a word (case-insensitively, quoted or not): a best guess at what it meant to read, so that the
// owners of those tables see the attempt in their query logs.
std::vector<std::string> TablesNamedIn(const std::string& sql,
                                       const std::vector<catalog::Table>& tables) {
  std::set<std::string> words;
  std::string word;
  for (char c : sql + " ") {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word += absl::ascii_tolower(static_cast<unsigned char>(c));
    } else if (!word.empty()) {
      words.insert(std::move(word));
      word.clear();
    }
  }
  std::vector<std::string> named;
  for (const catalog::Table& table : tables) {
    if (words.contains(table.name)) named.push_back(table.name);
  }
  return named;
}

}  // namespace

query::SnapshotSource internal::SnapshotSourceOf(const catalog::Collaboration& collaboration,
                                                 const std::vector<catalog::Table>& tables,
                                                 const std::string& digest) {
  query::SnapshotSource source;
  source.collaboration = collaboration.name;
  source.digest = digest;
  source.preserve_nulls = collaboration.encryption.preserve_nulls;
  source.allow_joins_on_columns_with_different_names =
      collaboration.encryption.allow_joins_on_columns_with_different_names;
  for (const catalog::Member& member : collaboration.members) {
    source.members.push_back({member.name, member.can_query, member.can_receive,
                              member.status == catalog::MemberStatus::kActive});
  }
  for (const catalog::Table& table : tables) {
    query::SnapshotTable entry{table.name, table.owner, {}, table.rule_json};
    for (const std::string& column : table.allowed_columns) {
      for (const catalog::Column& pinned : table.source_schema) {
        if (pinned.name == column) {
          entry.columns.push_back({pinned.name, sql::TypeFromDuckDbName(pinned.type)});
          if (!pinned.kind.empty()) {
            entry.encrypted_columns[pinned.name] = policy::EncryptedColumn{
                pinned.kind == "sealed" ? policy::ColumnEncryption::kSealed
                                        : policy::ColumnEncryption::kFingerprint,
                pinned.key_id};
          }
        }
      }
    }
    source.tables.push_back(std::move(entry));
  }
  return source;
}

int64_t internal::ResultBytes(const engine::ResultTable& result) {
  int64_t bytes = 0;
  for (const auto& row : result.rows) {
    for (const std::optional<std::string>& value : row) {
      if (value.has_value()) bytes += static_cast<int64_t>(value->size());
    }
  }
  return bytes;
}

int64_t internal::MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

absl::StatusOr<Service::Impl::QueryContext> Service::Impl::LoadQueryContext(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<const catalog::PolicySnapshot> records,
                          store->SharedPolicySnapshot(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, records->collaboration, identity::Action::kQuery));
  std::shared_ptr<const LoadedPolicy> loaded;
  {
    // Queries of several threads share the cache; the states themselves are immutable.
    std::lock_guard<std::mutex> lock(snapshots_mutex);
    std::shared_ptr<const LoadedPolicy>& cached = snapshots[collaboration];
    if (cached == nullptr || cached->records->digest != records->digest) {
      auto built = std::make_shared<LoadedPolicy>();
      built->records = records;
      built->tables = TablesOfActiveMembers(records->collaboration, records->tables);
      // Rules whose text did not change since the last state are not parsed again.
      const query::Snapshot* previous = cached != nullptr ? cached->snapshot.get() : nullptr;
      built->snapshot = query::Snapshot::Build(
          SnapshotSourceOf(records->collaboration, built->tables, records->digest), previous);
      cached = std::move(built);
    }
    loaded = cached;
  }
  QueryContext context(std::move(loaded));
  for (const catalog::Member& member : context.collaboration.members) {
    if (member.name == caller.member()) context.member = member;
  }
  return context;
}

absl::StatusOr<Explanation> Service::Impl::Analyze(const QueryContext& context,
                                                   const Request& request) {
  query::Request compile{request.parse_sql, request.bind, context.member.name, request.template_id,
                         request.receivers};
  PARLEY_ASSIGN_OR_RETURN(std::tie(compile.privacy_epsilon, compile.privacy_delta),
                          PrivacySpendOf(context, request));
  // A repeat of a request on the same policy state is not compiled again (query/plan_cache.h).
  PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled,
                          plan_cache->Compile(*context.snapshot, compile));
  PARLEY_ASSIGN_OR_RETURN(std::string engine_name, RouteQuery(context, compile, compiled));
  Explanation explanation;
  explanation.engine = std::move(engine_name);
  explanation.verdict = std::move(compiled.verdict);
  explanation.rendered_sql = std::move(compiled.plan.rendered_sql);
  explanation.postgres_filters = std::move(compiled.plan.postgres_filters);
  explanation.tables = std::move(compiled.tables);
  explanation.front_end_micros = compiled.front_end_micros;
  explanation.noise = std::move(compiled.plan.noise);
  explanation.conversions = std::move(compiled.conversions);
  if (!request.accuracy.accuracy.empty()) {
    if (!explanation.verdict.allowed()) return explanation;
    if (!explanation.noise.has_value()) {
      return absl::InvalidArgumentError(
          "--accuracy: this query reads no table with differential privacy, so it adds no noise "
          "and has no accuracy to ask for");
    }
    PARLEY_RETURN_IF_ERROR(SpendForAccuracy(context, request.accuracy, *explanation.noise));
  }
  return explanation;
}

absl::Status Service::Impl::PolicyChanged(const std::string& collaboration, int64_t query_id) {
  return absl::AbortedError(absl::StrCat(
      "query ", query_id, " failed: the policy of collaboration '", collaboration,
      "' changed during the run (a rule, table, member or template), so nothing was released; "
      "run it again to have it checked against the policy now in force"));
}

absl::Status Service::Impl::RecordRejection(const QueryContext& context, const Request& request,
                                            const std::string& verdict_json,
                                            const std::vector<std::string>& tables,
                                            const std::string& submitted_details, int64_t* id) {
  catalog::QueryRecord record;
  record.collaboration = context.collaboration.name;
  record.runner = context.member.name;
  record.sql = request.sql;
  record.template_id = request.template_id;
  record.status = catalog::QueryStatus::kRejected;
  record.verdict_json = verdict_json;
  record.tables = tables;
  record.receivers = request.receivers;
  PARLEY_ASSIGN_OR_RETURN(*id, store->RecordQuery(record, submitted_details));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Service::Impl::ValidateReceivers(
    const identity::Caller& caller, const QueryContext& context,
    std::vector<std::string> receivers) {
  return identity::Receivers(caller, RoomOf(context.collaboration), std::move(receivers));
}

absl::StatusOr<Explanation> Service::Impl::Explain(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const std::string& sql,
                                                   std::vector<std::string> receivers,
                                                   const std::string& epsilon,
                                                   const AccuracyRequest& accuracy) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  Request request{sql, sql, {}, "", {}, epsilon, accuracy};
  // Explain judges the receivers a run would have; a runner who cannot receive and names none
  // gets the verdict on everything else.
  if (!receivers.empty() || context.member.can_receive) {
    PARLEY_ASSIGN_OR_RETURN(request.receivers,
                            ValidateReceivers(caller, context, std::move(receivers)));
  }
  absl::StatusOr<Explanation> explanation = Analyze(context, request);
  if (explanation.ok() && explanation->noise.has_value() && explanation->verdict.allowed()) {
    PARLEY_ASSIGN_OR_RETURN(explanation->epsilon_left, EpsilonLeft(context.collaboration));
  }
  Json details = {{"sql_sha256", crypto::Sha256Hex(sql)},
                  {"allowed", explanation.ok() && explanation->verdict.allowed()}};
  PARLEY_RETURN_IF_ERROR(
      store->AppendAudit(collaboration, actor, "query.explained", details.dump()));
  return explanation;
}

absl::StatusOr<QueryOutcome> Service::Impl::Run(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                const std::string& sql,
                                                std::vector<std::string> receivers,
                                                const std::string& epsilon,
                                                const AccuracyRequest& accuracy) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  Request request{sql, sql, {}, "", {}, epsilon, accuracy};
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          ValidateReceivers(caller, context, std::move(receivers)));
  return RunRequest(context, request);
}

absl::StatusOr<QueryOutcome> Service::Impl::RunRequest(const QueryContext& context,
                                                       const Request& request) {
  PARLEY_ASSIGN_OR_RETURN(Submission submission, PrepareRun(context, request, /*may_defer=*/true));
  if (submission.finished) return *std::move(submission.finished);
  return ExecutePrepared(submission.run->state(), nullptr);
}

absl::StatusOr<Submission> Service::Impl::PrepareRun(const QueryContext& context,
                                                     const Request& request, bool may_defer) {
  const std::string& actor = context.member.name;
  const std::string& collaboration = context.collaboration.name;
  Json submitted = {{"sql_sha256", crypto::Sha256Hex(request.sql)},
                    {"receivers", request.receivers}};
  if (!request.template_id.empty()) submitted["template_id"] = request.template_id;
  // The "query.submitted" entry is written in the transaction that records the query (rejected,
  // or running before it executes): one durable write, the same entries in the same order.

  QueryOutcome outcome;
  outcome.receivers = request.receivers;
  absl::StatusOr<Explanation> explanation = Analyze(context, request);
  if (!explanation.ok()) {
    if (!absl::IsInvalidArgument(explanation.status())) {
      PARLEY_RETURN_IF_ERROR(
          store->AppendAudit(collaboration, actor, "query.submitted", submitted.dump()));
      return explanation.status();
    }
    Json verdict = Json::array(
        {{{"code", "invalid_query"}, {"message", std::string(explanation.status().message())}}});
    PARLEY_RETURN_IF_ERROR(RecordRejection(context, request, verdict.dump(),
                                           TablesNamedIn(request.sql, context.tables),
                                           submitted.dump(), &outcome.query_id));
    return explanation.status();
  }
  outcome.explanation = *std::move(explanation);
  if (!outcome.explanation.verdict.allowed()) {
    PARLEY_RETURN_IF_ERROR(RecordRejection(
        context, request, policy::ViolationsJson(outcome.explanation.verdict.violations),
        outcome.explanation.tables, submitted.dump(), &outcome.query_id));
    return Submission{std::move(outcome), nullptr};
  }

  // Recorded as running before it executes (or, deferred, in the run journal until it is
  // recorded when it ends), so that a run whose process dies still shows in the owners' logs: as
  // killed, once its journal's lock is found free.
  absl::StatusOr<RunJournal*> runs = Journal();
  if (!runs.ok()) {
    PARLEY_RETURN_IF_ERROR(
        store->AppendAudit(collaboration, actor, "query.submitted", submitted.dump()));
    return runs.status();
  }
  std::string token = (*runs)->NewToken();
  catalog::QueryRecord record;
  record.collaboration = collaboration;
  record.runner = actor;
  record.sql = request.sql;
  record.template_id = request.template_id;
  record.rendered_sql = outcome.explanation.rendered_sql;
  record.receivers = request.receivers;
  record.tables = outcome.explanation.tables;
  record.status = catalog::QueryStatus::kRunning;
  record.run_lock = token;
  // Metered: charged to the payer in force, its estimate checked against the payer's limits and
  // reserved in the transaction that records it as running (refused there, spending nothing).
  record.usage = catalog::QueryUsage{};
  // A cluster's tables are measured again now: their owners may load rows into them in place.
  if (!outcome.explanation.engine.empty()) {
    RefreshEngineTableSizes(context, outcome.explanation.tables);
  }
  if (outcome.explanation.noise.has_value()) {
    // Spent in the transaction that records the query as running: refused there (and recorded
    // as rejected, spending nothing) when the month's budget cannot cover it.
    record.privacy_epsilon = outcome.explanation.noise->epsilon;
    record.privacy_delta = outcome.explanation.noise->delta;
  }
  if (may_defer && !outcome.explanation.noise.has_value()) {
    PARLEY_ASSIGN_OR_RETURN(bool limited, store->UsageLimited(collaboration, actor));
    if (!limited) {
      // Recorded only when it ends: the check that recording it now would make (a collaboration
      // changed outside Parley runs nothing) is made before it executes.
      PARLEY_RETURN_IF_ERROR(store->CheckPolicyIntact(collaboration));
      PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<internal::DeferredRecord> deferred,
                              Defer(std::move(record), submitted.dump()));
      auto state = std::make_unique<PreparedRun::State>(
          PreparedRun::State{context, request, std::move(outcome), token, std::move(deferred)});
      return Submission{std::nullopt, std::make_unique<PreparedRun>(std::move(state))};
    }
  }
  absl::StatusOr<int64_t> recorded = store->RecordQuery(record, submitted.dump());
  if (catalog::IsUsageRefusal(recorded.status())) {
    Json verdict = Json::array({{{"code", "usage_limit_exceeded"},
                                 {"message", std::string(recorded.status().message())}}});
    PARLEY_RETURN_IF_ERROR(RecordRejection(context, request, verdict.dump(),
                                           outcome.explanation.tables, submitted.dump(),
                                           &outcome.query_id));
    return recorded.status();
  }
  if (absl::IsResourceExhausted(recorded.status()) && outcome.explanation.noise.has_value()) {
    if (!outcome.explanation.noise->accuracy.empty()) {
      // The runner asked for accuracy, not for an ε: say what that accuracy costs.
      recorded = absl::ResourceExhaustedError(
          absl::StrCat(recorded.status().message(), "; the accuracy target ",
                       outcome.explanation.noise->accuracy, " needs epsilon ",
                       dp::FormatEpsilon(outcome.explanation.noise->epsilon)));
    }
    Json verdict = Json::array({{{"code", "privacy_budget_exhausted"},
                                 {"message", std::string(recorded.status().message())}}});
    PARLEY_RETURN_IF_ERROR(RecordRejection(context, request, verdict.dump(),
                                           outcome.explanation.tables, submitted.dump(),
                                           &outcome.query_id));
    return recorded.status();
  }
  PARLEY_ASSIGN_OR_RETURN(outcome.query_id, std::move(recorded));
  Emit(collaboration, "query.submitted", {{"query_id", outcome.query_id}});
  auto state = std::make_unique<PreparedRun::State>(
      PreparedRun::State{context, request, std::move(outcome), token, nullptr});
  return Submission{std::nullopt, std::make_unique<PreparedRun>(std::move(state))};
}

absl::StatusOr<QueryOutcome> Service::Impl::ExecutePrepared(PreparedRun::State& run,
                                                            engine::RunControl* control) {
  const QueryContext& context = run.context;
  const Request& request = run.request;
  const std::string& collaboration = context.collaboration.name;
  QueryOutcome outcome = std::move(run.outcome);
  auto start = std::chrono::steady_clock::now();
  catalog::QueryUsage usage;
  // The collaboration's time limit, when shorter than the server's (and than the run's own).
  engine::RunControl own_control;
  std::optional<std::chrono::milliseconds> room_limit = RoomTimeLimit(context.collaboration);
  if (room_limit && control == nullptr) control = &own_control;
  if (room_limit && (control->timeout.count() == 0 || *room_limit < control->timeout)) {
    control->timeout = *room_limit;
  } else {
    room_limit.reset();
  }
  absl::StatusOr<engine::ResultTable> result =
      Execute(context, outcome.explanation, control, &usage.scans);
  if (room_limit && absl::IsDeadlineExceeded(result.status())) {
    result = absl::DeadlineExceededError(
        absl::StrCat("the query ran longer than the time limit of collaboration '", collaboration,
                     "' (", *context.collaboration.time_limit_seconds, " s) and was cancelled"));
  }
  if (!result.ok()) {
    result = DiagnoseConversion(context, request, outcome.explanation, result.status());
  }
  if (result.ok() && outcome.explanation.noise.has_value()) {
    // Nothing exact leaves: the bounded aggregates are noised before they are stored or
    // delivered. A failure here is reported like a failure of the run.
    result = Noise(*outcome.explanation.noise, *result);
  }
  outcome.run_micros = MicrosSince(start);
  usage.duration_micros = outcome.run_micros;
  if (result.ok()) {
    usage.result_rows = static_cast<int64_t>(result->rows.size());
    usage.result_bytes = ResultBytes(*result);
  }
  if (options.before_delivery) options.before_delivery();
  absl::Status finished = FinishRun(context, request, outcome.query_id, result, usage,
                                    &outcome.sealed, run.deferred.get());
  // A deferred run has its id, and is submitted as far as anyone else can tell, only now.
  if (run.deferred != nullptr && outcome.query_id != 0) {
    Emit(collaboration, "query.submitted", {{"query_id", outcome.query_id}});
  }
  // How it ended is for its receivers only (as in the query list).
  EmitRunEnded(collaboration, outcome.query_id, request.receivers,
               finished.ok() ? result.status() : finished);
  PARLEY_RETURN_IF_ERROR(finished);
  return Deliver(context, request, std::move(outcome), std::move(result));
}

std::optional<std::chrono::milliseconds> Service::Impl::RoomTimeLimit(
    const catalog::Collaboration& collaboration) const {
  if (!collaboration.time_limit_seconds) return std::nullopt;
  std::chrono::milliseconds limit = std::chrono::seconds(*collaboration.time_limit_seconds);
  // Bounded by the server's own limit: the shorter one applies.
  if (options.limits.timeout.count() > 0 && options.limits.timeout <= limit) return std::nullopt;
  return limit;
}

absl::Status Service::Impl::CheckTimeLimit(std::optional<int64_t> seconds) const {
  if (!seconds) return absl::OkStatus();
  int64_t server = std::chrono::duration_cast<std::chrono::seconds>(options.limits.timeout).count();
  if (*seconds < 1 || (server > 0 && *seconds > server) ||
      *seconds > catalog::kMaxTimeLimitSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a collaboration's time limit is a number of seconds from 1 to the server's own limit (",
        server > 0 ? server : catalog::kMaxTimeLimitSeconds, " s); ", *seconds, " is not"));
  }
  return absl::OkStatus();
}

absl::Status Service::Impl::FinishRun(const QueryContext& context, const Request& request,
                                      int64_t& query_id,
                                      const absl::StatusOr<engine::ResultTable>& result,
                                      const catalog::QueryUsage& usage, bool* sealed,
                                      internal::DeferredRecord* deferred) {
  const std::string& collaboration = context.collaboration.name;
  // Delivery: the outcome is recorded, and released, only if the policy the query was checked
  // against is still the policy now — the store compares the digests in the transaction that
  // ends the query. A failure is an outcome too: its message came from a run the policy may no
  // longer allow.
  auto finish = [&](const catalog::QueryRecord& finished) -> absl::Status {
    catalog::Delivery delivery;
    if (deferred != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(std::tie(query_id, delivery),
                              RecordDeferred(*deferred, finished, context.policy_digest));
    } else {
      PARLEY_ASSIGN_OR_RETURN(
          delivery, store->FinishQuery(collaboration, query_id, finished, context.policy_digest));
    }
    if (delivery.policy_changed) return PolicyChanged(collaboration, query_id);
    return absl::OkStatus();
  };
  catalog::QueryRecord finished;
  finished.usage = usage;
  if (!result.ok()) {
    // The time limit or an interrupt stopped it: cancelled, not failed.
    bool cancelled =
        absl::IsDeadlineExceeded(result.status()) || absl::IsCancelled(result.status());
    finished.status = cancelled ? catalog::QueryStatus::kCancelled : catalog::QueryStatus::kFailed;
    finished.error = std::string(result.status().message());
    return finish(finished);
  }
  // The result is stored once, for its receivers.
  // A deferred run has no id yet: its name then carries its journal token's counter instead.
  std::string run =
      deferred == nullptr
          ? absl::StrCat(query_id)
          : absl::StrCat(
                "r", deferred->record.run_lock.substr(deferred->record.run_lock.rfind('#') + 1));
  std::string stem = absl::StrCat(
      "result-", run, "-", std::chrono::system_clock::now().time_since_epoch().count(), "-",
      crypto::Sha256Hex(absl::StrCat(request.sql, context.member.name)).substr(0, 8));
  absl::Status written =
      StoreResult(ResultPath(collaboration, stem), request.receivers, *result, finished);
  if (sealed != nullptr) *sealed = finished.result_sealed;
  if (!written.ok()) {
    finished.status = catalog::QueryStatus::kFailed;
    finished.error = std::string(written.message());
    finished.inline_result.reset();
    finished.result_sealed = false;
    PARLEY_RETURN_IF_ERROR(finish(finished));
    return written;
  }
  finished.status = catalog::QueryStatus::kSucceeded;
  finished.row_count = static_cast<int64_t>(result->rows.size());
  // A small result goes into the catalog with this record (no file); a large one was written to
  // its file first, and is removed when the record is not written or not released.
  absl::Status recorded = finish(finished);
  if (!recorded.ok() && !finished.result_path.empty()) {
    std::error_code ignored;
    fs::remove(finished.result_path, ignored);  // no record of it or no release: nothing is left
  }
  return recorded;
}

QueryOutcome Service::Impl::WithheldOutcome(QueryOutcome outcome) {
  outcome.result.reset();
  outcome.row_count.reset();
  outcome.run_micros = 0;
  return outcome;
}

absl::StatusOr<QueryOutcome> Service::Impl::Deliver(const QueryContext& context,
                                                    const Request& request, QueryOutcome outcome,
                                                    absl::StatusOr<engine::ResultTable> result) {
  const std::string& actor = context.member.name;
  bool receives = std::find(request.receivers.begin(), request.receivers.end(), actor) !=
                  request.receivers.end();
  if (!receives) {
    // Under a custom rule (or a template) an error can depend on any value of the tables read —
    // there is no threshold whose guards make failures data-independent — so a runner who does
    // not receive the result gets the same answer whether the run succeeded or failed.
    bool custom = !request.template_id.empty() ||
                  outcome.explanation.verdict.rule_kind == policy::RuleKind::kCustom;
    if (!result.ok() && !custom) return result.status();
    return WithheldOutcome(std::move(outcome));
  }
  if (!result.ok()) return result.status();
  outcome.row_count = static_cast<int64_t>(result->rows.size());
  outcome.result = *std::move(result);
  return outcome;
}

}  // namespace parley::service
