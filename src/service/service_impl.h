// The private half of the service: the state a Service owns (home, store, engine) and
// the use cases behind the facade, one source file each:
//
//   collaborations.cc  create, list, show        members.cc    add, remove, leave
//   changes.cc         change requests (propose, vote, cancel, list) and invitations (invite, join)
//   tables.cc          add, list, show; whose files a table may read
//   rules.cc           set a rule; the rules of a snapshot of tables
//   queries.cc         explain, run: check, record, execute, deliver
//   execution.cc       the plan a checked query runs as, on the engine
//   deferred_runs.cc   a synchronous run recorded in one write when it ends; the run journal
//   results.cc         the stored result of a query, for its receivers
//   query_log.cc       the queries a member ran, receives, or may see in its query log
//   templates.cc       analysis templates: author, review, approve, revoke, run
//   audit.cc           the audit log and its verification
//   policy_summary.cc  what a member may do, before it asks
//   usage.cc           metering: usage reports, members' scan limits, tables' sizes
//
// Only the service's own sources include this header; front ends see service.h alone.
// Thread safety: as Service — any number of threads; the store and the session cache lock
// themselves, everything else in Impl is set by Open and then only read.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catalog/store.h"
#include "connectors/clickhouse/clickhouse_connector.h"
#include "connectors/connector.h"
#include "dp/noise.h"
#include "dp/random_source.h"
#include "engine/engine.h"
#include "identity/access.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "query/plan_cache.h"
#include "query/snapshot.h"
#include "service/impl_parts.h"
#include "service/run_lock.h"
#include "service/service.h"
#include "sql/binder.h"

namespace parley::service {

struct Service::Impl {
  // Set by Open, then only read.
  std::filesystem::path home;
  Options options;
  SerializedStore store;
  // Never null: options.connectors or own_connectors.
  const connectors::Registry* connectors = nullptr;
  // The built-in connectors and the clickhouse connector over this home's engines.
  std::unique_ptr<connectors::Registry> own_connectors;

  // The connector of a table's kind of source. InvalidArgument naming the table and the kind for
  // a kind this build has no connector for (a catalog written by a build with more connectors).
  absl::StatusOr<const connectors::Connector*> ConnectorOf(const catalog::Table& table) const {
    absl::StatusOr<const connectors::Connector*> found = connectors->Find(table.source_kind);
    if (found.ok()) return found;
    return absl::InvalidArgumentError(
        absl::StrCat("table '", table.name, "': ", found.status().message()));
  }

  // Runs the rendered plans; owns the pool of locked-down sessions (engine/duckdb/duckdb_engine.h,
  // safe for concurrent runs).
  std::unique_ptr<engine::Engine> engine;
  // By collaboration and table ("collaboration\ntable"): the version of the files and pinned
  // schema the last pinned-schema check passed for (execution.cc).
  std::mutex checked_mutex;
  std::map<std::string, internal::CheckedSource> checked_sources;  // guarded by checked_mutex
  // Compiled queries by policy state and request (Options::plan_cache_entries); locks itself.
  std::unique_ptr<query::PlanCache> plan_cache;

  // --- The use cases, as the facade calls them (see service.h for their contracts). ---

  // collaborations.cc
  absl::Status CreateCollaboration(const identity::Caller& caller, const NewCollaboration& request);
  absl::StatusOr<std::vector<catalog::Collaboration>> ListCollaborations(
      const identity::Caller& caller);
  absl::StatusOr<catalog::Collaboration> ShowCollaboration(const identity::Caller& caller,
                                                           const std::string& collaboration);
  absl::StatusOr<catalog::Collaboration> CloseCollaboration(const identity::Caller& caller,
                                                            const std::string& collaboration);
  // members.cc
  absl::StatusOr<ChangeView> AddMember(const identity::Caller& caller,
                                       const std::string& collaboration, const NewMember& member);
  absl::Status RemoveMember(const identity::Caller& caller, const std::string& collaboration,
                            const std::string& member);
  absl::Status Leave(const identity::Caller& caller, const std::string& collaboration);
  // changes.cc
  absl::StatusOr<InvitationView> InviteMember(const identity::Caller& caller,
                                              const std::string& collaboration,
                                              const NewMember& member, int64_t valid_seconds);
  absl::StatusOr<ChangeView> Join(const identity::Caller& caller, const std::string& code);
  absl::StatusOr<ChangeView> ProposeChange(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const catalog::Change& change);
  absl::StatusOr<std::vector<ChangeView>> ListChanges(const identity::Caller& caller,
                                                      const std::string& collaboration);
  absl::StatusOr<ChangeView> ShowChange(const identity::Caller& caller,
                                        const std::string& collaboration, int64_t id);
  absl::StatusOr<ChangeView> VoteOnChange(const identity::Caller& caller,
                                          const std::string& collaboration, int64_t id,
                                          bool approve);
  absl::StatusOr<ChangeView> CancelChange(const identity::Caller& caller,
                                          const std::string& collaboration, int64_t id);
  // The view of a change request: whom a pending one still waits for.
  static ChangeView ViewOf(const catalog::Collaboration& collaboration,
                           catalog::ChangeRequest request);
  absl::StatusOr<ChangeView> ViewOf(catalog::ChangeRequest request);
  // tables.cc
  // `saved_result`: the table of a saved query result (saved_results.cc), whose file lives under
  // SavedDirectory(); any other table reading a file there is refused.
  absl::Status AddTable(const identity::Caller& caller, const NewTable& request,
                        bool saved_result = false);
  absl::StatusOr<TablePreview> PreviewTable(const identity::Caller& caller, const NewTable& request,
                                            int limit);
  // A table as AddTable would store it, every check passed (the source validated, the caller's
  // own, pinned, its schema read), with the files it reads and the source as messages name it.
  struct PreparedTable {
    catalog::Table table;
    std::vector<std::string> files;
    std::vector<connectors::FileId> remote;  // what a remote source claims (Connector::Claims)
    std::string named;
  };
  // table_lifecycle.cc
  absl::Status UpdateTableSource(const identity::Caller& caller, const NewTable& request);
  absl::Status RemoveTable(const identity::Caller& caller, const std::string& collaboration,
                           const std::string& table);
  absl::StatusOr<PreparedTable> PrepareTable(const identity::Caller& caller,
                                             const NewTable& request, bool saved_result);
  absl::StatusOr<std::vector<TableView>> ListTables(const identity::Caller& caller,
                                                    const std::string& collaboration);
  absl::StatusOr<TableView> ShowTable(const identity::Caller& caller,
                                      const std::string& collaboration, const std::string& table);
  // rules.cc
  absl::Status SetRule(const identity::Caller& caller, const std::string& collaboration,
                       const std::string& table, const std::string& rule_json, bool dry_run);
  // saved_results.cc
  absl::StatusOr<Submission> SubmitSave(const identity::Caller& caller,
                                        const std::string& collaboration, const std::string& sql,
                                        std::vector<std::string> receivers,
                                        const std::string& save_as);
  absl::StatusOr<QueryOutcome> RunAndSave(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers,
                                          const std::string& save_as);
  // RunAndSave's last step, after a successful run: the result written as the saved table's
  // file, the table registered with its derived rule, audited as "table.saved". Nothing for an
  // outcome without a result.
  absl::StatusOr<QueryOutcome> SaveResult(const identity::Caller& caller,
                                          const std::string& collaboration,
                                          const std::string& save_as, const policy::Rule& rule,
                                          QueryOutcome outcome);
  absl::StatusOr<SavePreview> PreviewSave(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers,
                                          const std::string& save_as);
  std::filesystem::path SavedDirectory() const;
  // PermissionDenied when any of `files` is a saved result (under SavedDirectory()).
  absl::Status CheckNotSaved(const std::vector<std::string>& files, const std::string& named) const;
  absl::Status CheckDerivedRule(const catalog::Table& record, policy::Rule& rule);
  // queries.cc
  absl::StatusOr<Explanation> Explain(const identity::Caller& caller,
                                      const std::string& collaboration, const std::string& sql,
                                      std::vector<std::string> receivers,
                                      const std::string& epsilon, const AccuracyRequest& accuracy);
  absl::StatusOr<QueryOutcome> Run(const identity::Caller& caller, const std::string& collaboration,
                                   const std::string& sql, std::vector<std::string> receivers,
                                   const std::string& epsilon, const AccuracyRequest& accuracy);
  // privacy.cc
  absl::StatusOr<BudgetView> Budget(const identity::Caller& caller,
                                    const std::string& collaboration);
  // results.cc
  absl::StatusOr<std::vector<StoredResultView>> ListResults(const identity::Caller& caller,
                                                            const std::string& collaboration);
  absl::Status DeleteResult(const identity::Caller& caller, const std::string& collaboration,
                            int64_t query_id);
  absl::StatusOr<engine::ResultTable> Result(const identity::Caller& caller,
                                             const std::string& collaboration, int64_t query_id);
  // query_log.cc
  absl::StatusOr<std::vector<QueryView>> ListQueries(const identity::Caller& caller,
                                                     const std::string& collaboration);
  absl::StatusOr<std::vector<QueryView>> QueryLog(const identity::Caller& caller,
                                                  const std::string& collaboration);
  // templates.cc
  absl::StatusOr<std::string> CreateTemplate(const identity::Caller& caller,
                                             const NewTemplate& request);
  absl::StatusOr<TemplateView> ShowTemplate(const identity::Caller& caller,
                                            const std::string& collaboration,
                                            const std::string& template_id);
  absl::StatusOr<std::vector<TemplateView>> ListTemplates(const identity::Caller& caller,
                                                          const std::string& collaboration);
  // Adds the template to (or removes it from) the allowed_analyses of the table's custom rule.
  absl::Status SetApproval(const identity::Caller& caller, const std::string& collaboration,
                           const std::string& template_id, const std::string& table_name,
                           bool approve);
  absl::StatusOr<QueryOutcome> RunTemplate(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const std::string& template_id,
                                           const std::map<std::string, std::string>& values,
                                           std::vector<std::string> receivers,
                                           const std::string& epsilon,
                                           const AccuracyRequest& accuracy);
  // audit.cc
  absl::StatusOr<std::vector<catalog::AuditEntry>> ListAudit(const identity::Caller& caller,
                                                             const std::string& collaboration);
  absl::StatusOr<catalog::AuditPage> ListAuditPage(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const catalog::AuditPageQuery& query);
  absl::StatusOr<catalog::AuditVerification> VerifyAudit(const identity::Caller& caller,
                                                         const std::string& collaboration,
                                                         const std::string& expected_head);
  // policy_summary.cc
  absl::StatusOr<PolicyView> Policy(const identity::Caller& caller,
                                    const std::string& collaboration);

  // usage.cc
  absl::StatusOr<UsageReport> Usage(const identity::Caller& caller,
                                    const std::string& collaboration, const std::string& month,
                                    const std::string& by);
  absl::StatusOr<UsageReport> SetUsageLimits(const identity::Caller& caller,
                                             const std::string& collaboration,
                                             const catalog::UsageLimits& limits);
  // A source's size as its connector measures it now (tables.cc and table_lifecycle.cc record it
  // when a table is added or repointed).
  absl::StatusOr<catalog::TableSize> MeasureTable(const catalog::Table& table,
                                                  const std::vector<std::string>& files);

  // --- Shared by the use cases. ---

  // Asks the access module whether `caller` may take `action` in `collaboration`: the one
  // authorization check of each use case (collaborations.cc).
  absl::Status Require(const identity::Caller& caller, const catalog::Collaboration& collaboration,
                       identity::Action action, const identity::Target& target = {});

  // The tables of a collaboration whose owners are active members: the tables of members who
  // left or were removed are out of the room with their owner — not listed, shown, bound or run
  // (tables.cc).
  absl::StatusOr<std::vector<catalog::Table>> ActiveTables(
      const catalog::Collaboration& collaboration);
  absl::StatusOr<std::vector<catalog::Table>> ActiveTables(const std::string& collaboration);
  static std::vector<catalog::Table> TablesOfActiveMembers(
      const catalog::Collaboration& collaboration, std::vector<catalog::Table> tables);

  // The parsed rules of `tables`; Internal when a stored rule no longer validates (rules.cc).
  absl::StatusOr<internal::CatalogRules> LoadRules(const std::vector<catalog::Table>& tables);

  // One policy state of a collaboration as queries use it, built once per state and shared by
  // every query of that state (immutable): the store's records, the tables of active members,
  // and the compiler's snapshot.
  struct LoadedPolicy {
    std::shared_ptr<const catalog::PolicySnapshot> records;  // never null
    std::vector<catalog::Table> tables;                      // of active members
    std::shared_ptr<const query::Snapshot> snapshot;
  };
  struct QueryContext {
    explicit QueryContext(std::shared_ptr<const LoadedPolicy> loaded)
        : policy(std::move(loaded)),
          collaboration(policy->records->collaboration),
          tables(policy->tables),
          policy_digest(policy->records->digest),
          snapshot(policy->snapshot) {}
    std::shared_ptr<const LoadedPolicy> policy;  // owns what the references below point to
    const catalog::Collaboration& collaboration;
    const std::vector<catalog::Table>& tables;
    // The digest of the policy state `collaboration` and `tables` were read from (one
    // transaction): the result is released only if it is still the digest at delivery.
    const std::string& policy_digest;
    // The compiler's view of that state, shared with other queries of the same digest.
    const std::shared_ptr<const query::Snapshot>& snapshot;
    catalog::Member member;  // the caller's membership
  };
  // The last policy state loaded per collaboration: rebuilt only when the store hands out
  // another snapshot (a policy record changed), and then rules whose text did not change are not
  // parsed again.
  std::mutex snapshots_mutex;
  std::map<std::string, std::shared_ptr<const LoadedPolicy>> snapshots;  // guarded
  absl::StatusOr<QueryContext> LoadQueryContext(const identity::Caller& caller,
                                                const std::string& collaboration);

  // What is analysed: the text recorded for the query, the text parsed (a template's with `$n`
  // for its parameters), typed parameter values, and who asks for whom.
  struct Request {
    std::string sql;        // as submitted (a template's own text)
    std::string parse_sql;  // what the parser reads
    sql::BindOptions bind;
    std::string template_id;
    std::vector<std::string> receivers;
    std::string epsilon;       // as the runner asked ("0.5"); empty: the collaboration's default
    AccuracyRequest accuracy;  // or a target the ε is computed from (privacy.cc)
  };

  // saved_results.cc, shared by RunAndSave and PreviewSave: the checks on the name and the
  // receivers, then the query's verdict and the rule the saved table would get
  // (FailedPrecondition when its inputs' rules cannot be carried forward).
  struct PreparedSave {
    Request request;
    absl::StatusOr<Explanation> explanation = absl::UnknownError("not analysed");
    absl::StatusOr<policy::Rule> rule = absl::UnknownError("not derived");
  };
  absl::StatusOr<PreparedSave> PrepareSave(const identity::Caller& caller,
                                           const QueryContext& context, const std::string& sql,
                                           std::vector<std::string> receivers,
                                           const std::string& save_as);

  // privacy.cc: what a query of `request` may spend (ε millionths, δ 10^-15): the runner's ε or
  // the collaboration's default, and δ in proportion of the month's. {0, 0} without a budget.
  // InvalidArgument for an ε that does not parse or is above the maximum per query.
  absl::StatusOr<std::pair<int64_t, int64_t>> PrivacySpendOf(const QueryContext& context,
                                                             const Request& request);
  // privacy.cc: with an accuracy target, sets `plan`'s ε (and δ) to the smallest that meets it
  // and its scales accordingly. InvalidArgument (naming --accuracy) when it cannot be met within
  // the collaboration's maximum per query.
  absl::Status SpendForAccuracy(const QueryContext& context, const AccuracyRequest& accuracy,
                                dp::NoisePlan& plan);
  // privacy.cc: the calendar month (UTC) spends count against, "2026-11", by options.clock.
  std::string CurrentPeriod() const;
  // privacy.cc: what is left of this month's ε; nullopt without a budget.
  absl::StatusOr<std::optional<int64_t>> EpsilonLeft(const catalog::Collaboration& collaboration);
  // privacy.cc: the engine's exact bounded aggregates, noised (dp::ApplyNoise) under `plan`.
  absl::StatusOr<engine::ResultTable> Noise(const dp::NoisePlan& plan,
                                            const engine::ResultTable& exact);
  std::mutex noise_mutex;  // serialises use of options.noise_random_for_tests
  dp::SystemRandomSource system_random;

  // query::Compile against the context's snapshot. A rejection is in the verdict; a query that
  // does not parse or bind is an InvalidArgument error.
  absl::StatusOr<Explanation> Analyze(const QueryContext& context, const Request& request);
  static absl::Status PolicyChanged(const std::string& collaboration, int64_t query_id);
  absl::Status RecordRejection(const QueryContext& context, const Request& request,
                               const std::string& verdict_json,
                               const std::vector<std::string>& tables,
                               const std::string& submitted_details, int64_t* id);
  absl::StatusOr<std::vector<std::string>> ValidateReceivers(const identity::Caller& caller,
                                                             const QueryContext& context,
                                                             std::vector<std::string> receivers);

  // Checks and runs a request whose receivers are validated; records and audits the outcome.
  // PrepareRun is its first half (up to the record as running; a rejection ends it), and
  // ExecutePrepared the second (run.cc's asynchronous runs call them apart).
  // With `may_defer` (a synchronous run, whose id nobody needs before it ends), a query that
  // spends no privacy budget and whose payer has no scan limit is recorded once, when it ends
  // (deferred_runs.cc); meanwhile its record is in the run journal.
  absl::StatusOr<QueryOutcome> RunRequest(const QueryContext& context, const Request& request);
  absl::StatusOr<Submission> PrepareRun(const QueryContext& context, const Request& request,
                                        bool may_defer = false);
  absl::StatusOr<QueryOutcome> ExecutePrepared(PreparedRun::State& run,
                                               engine::RunControl* control);
  // run.cc: Service::Submit(Awaited)Query/Template — the context loaded, the request made (the
  // receivers validated), then PrepareRun.
  absl::StatusOr<Submission> SubmitSql(const identity::Caller& caller,
                                       const std::string& collaboration, const std::string& sql,
                                       std::vector<std::string> receivers,
                                       const std::string& epsilon, const AccuracyRequest& accuracy,
                                       bool may_defer);
  absl::StatusOr<Submission> SubmitTemplateRun(const identity::Caller& caller,
                                               const std::string& collaboration,
                                               const std::string& template_id,
                                               const std::map<std::string, std::string>& values,
                                               std::vector<std::string> receivers,
                                               const std::string& epsilon,
                                               const AccuracyRequest& accuracy, bool may_defer);
  // templates.cc: the request of a template run (its text with positional parameters, the
  // values typed), receivers validated.
  absl::StatusOr<Request> TemplateRequest(
      const identity::Caller& caller, const QueryContext& context, const std::string& template_id,
      const std::map<std::string, std::string>& values, std::vector<std::string> receivers,
      const std::string& epsilon, const AccuracyRequest& accuracy);
  // Ends the running record of `query_id` with the run's outcome (storing the result for the
  // receivers); an error when the result or the record cannot be written, or PolicyChanged
  // (Aborted) when the policy changed since the query was checked — then nothing is stored or
  // released, and every runner is told so, receiver or not: a policy change does not depend on
  // the data, and the log shows it to every member anyway.
  // `usage`: what the run measured (recorded with its outcome, whatever is released).
  // A deferred run (`deferred` not null) is recorded here in one write (or finished, if the
  // promoter recorded it running meanwhile); `query_id` is then set.
  absl::Status FinishRun(const QueryContext& context, const Request& request, int64_t& query_id,
                         const absl::StatusOr<engine::ResultTable>& result,
                         const catalog::QueryUsage& usage, bool* sealed = nullptr,
                         internal::DeferredRecord* deferred = nullptr);
  // deferred_runs.cc. The run journal of this Service (created by the first run); the record of
  // a deferred run, written to the journal; the promoter's step (a deferred run still running
  // after Options::promote_after is recorded running, so that listings show it as they show
  // others).
  absl::StatusOr<RunJournal*> Journal();
  absl::StatusOr<std::shared_ptr<internal::DeferredRecord>> Defer(catalog::QueryRecord record,
                                                                  std::string submitted);
  void Promote(internal::DeferredRecord& deferred);
  // Records and finishes a deferred run with `finished` (under its mutex): the catalog id and
  // whether the policy changed.
  absl::StatusOr<std::pair<int64_t, catalog::Delivery>> RecordDeferred(
      internal::DeferredRecord& deferred, const catalog::QueryRecord& finished,
      const std::string& checked_policy);
  // Records, as killed, the runs of journals whose process died (MarkKilledRuns).
  void RecordAbandonedJournals();
  // What the actor is told of a finished run (see QueryOutcome).
  absl::StatusOr<QueryOutcome> Deliver(const QueryContext& context, const Request& request,
                                       QueryOutcome outcome,
                                       absl::StatusOr<engine::ResultTable> result);
  static QueryOutcome WithheldOutcome(QueryOutcome outcome);

  // execution.cc: runs a checked query's rendered SQL on the engine over the files of the tables
  // it reads, checked now against their owners' claims (the engine checks the pinned schemas,
  // once per version of the files).
  // With `scans`, also measures what the run reads of each table (metering), appended when the
  // run got past its sources: a table of files, the rows and bytes of the files given to the
  // engine (MeasureFiles); a remote table, what its scan streamed.
  absl::StatusOr<engine::ResultTable> Execute(const QueryContext& context,
                                              const Explanation& explanation,
                                              engine::RunControl* control = nullptr,
                                              std::vector<catalog::TableScan>* scans = nullptr);

  // engine_routing.cc. The registered engine named `name`, its passwords read now (NotFound).
  absl::StatusOr<connectors::clickhouse::EngineAccess> EngineAccessOf(
      const std::string& name) const;
  // After `compiled` was compiled for DuckDB: "" when the query's tables are local; the engine's
  // name when they all live on one registered engine, with `compiled` recompiled for its dialect;
  // InvalidArgument naming the tables and their engines when they live on several.
  absl::StatusOr<std::string> RouteQuery(const QueryContext& context, query::Request& request,
                                         query::Compiled& compiled);
  // Execute for a query routed to a registered engine: the pinned columns of every table checked
  // on the cluster now (FailedPrecondition naming the table and its owner), then the run. With
  // `scans`: what the cluster reported its shards read for the query, split among its tables
  // (SplitEngineRead); for a run that failed while it ran, which reports nothing, the tables'
  // sizes (the estimate).
  absl::StatusOr<engine::ResultTable> ExecuteOnEngine(const QueryContext& context,
                                                      const Explanation& explanation,
                                                      engine::RunControl* control,
                                                      std::vector<catalog::TableScan>* scans);
  // Metering's estimate for a query routed to an engine: each of `tables` that lives on a cluster
  // measured again now (its rows and bytes change as its owner loads data into it in place), the
  // catalog's size replaced when it changed, so that the limits are checked against the table as
  // it is. A measurement that fails leaves the size recorded before (the run itself then reports
  // the cluster's failure).
  void RefreshEngineTableSizes(const QueryContext& context, const std::vector<std::string>& tables);
  // The rows and bytes of `files` now: bytes from their sizes, rows counted by the connector once
  // per version of the files (cached by table in measured_files).
  absl::StatusOr<catalog::TableScan> MeasureFiles(const std::string& collaboration,
                                                  const catalog::Table& table,
                                                  const connectors::Connector& connector,
                                                  const std::vector<std::string>& files);
  std::mutex measured_mutex;
  // "collaboration\ntable" → the versions of the files counted and their rows.
  std::map<std::string, std::pair<std::vector<internal::FileVersion>, int64_t>>
      measured_files;  // guarded by measured_mutex
  // conversion_errors.cc: a run that failed converting a value, in a query that reads only the
  // runner's own tables, is told which conversion failed (position and columns, never the
  // value); any other failure is returned as it is.
  absl::Status DiagnoseConversion(const QueryContext& context, const Request& request,
                                  const Explanation& explanation, absl::Status failure);

  std::filesystem::path RunLockDirectory() const { return home / "running"; }
  // Marks killed the queries recorded as running whose process has died (nobody holds their
  // run lock), and removes their lock files. Called when a Service opens and before listings,
  // so a killed run shows as killed wherever queries are listed (query_log.cc).
  absl::Status MarkKilledRuns();
  // Deletes the results older than the home's retention setting (results.cc).
  absl::Status PruneResults();

  // What AllRegisteredFiles reads from the catalog, kept while Store::PolicyVersion is
  // `registered_version`.
  struct RegisteredSources {
    struct Source {
      std::string owner;
      std::string source_kind;
      std::string source_json;
    };
    std::map<catalog::FileIdentity, std::string> claims;
    std::vector<Source> tables;
  };
  // Every file any table reads now — in any collaboration, whatever its owner's status — with
  // the owners of those tables, consulted by CheckOwnFiles (tables.cc). The claims come from the
  // catalog (cached per policy version); the readers are found by resolving and examining every
  // table's files, which costs O(tables in the home) — so only when a file without a claim is
  // checked (a claimed file is its claimant's whatever else reads it), at most once per object.
  class RegisteredFiles {
   public:
    RegisteredFiles(std::shared_ptr<const RegisteredSources> sources,
                    const connectors::Registry* connectors)
        : sources_(std::move(sources)), connectors_(connectors) {}
    const std::map<catalog::FileIdentity, std::string>& claims() const { return sources_->claims; }
    // File → owners of the tables that read it now.
    const std::map<connectors::FileId, std::set<std::string>>& readers() const;

   private:
    std::shared_ptr<const RegisteredSources> sources_;
    const connectors::Registry* connectors_;
    mutable std::optional<std::map<connectors::FileId, std::set<std::string>>> readers_;
  };
  absl::StatusOr<RegisteredFiles> AllRegisteredFiles();
  std::mutex registered_mutex;
  std::shared_ptr<const RegisteredSources> registered_sources;  // guarded by registered_mutex
  std::string registered_version;                               // guarded by registered_mutex
  // The refusal of a registration that reads another member's file.
  static absl::Status OwnershipRefusal(const std::string& location);
  // An error when any of `files` was registered by another member or, for a file nobody claimed
  // (a table registered before claims were recorded, or a file a glob matches since), is also
  // read by a table of another member: nobody can make another member's data their own by path,
  // glob or link. A file its owner claimed stays its owner's whatever other tables match it
  // since, so no one can make an owner's table unqueryable by pointing a table at its file.
  // `table` names the table (FailedPrecondition before a query); when adding one it is empty and
  // `location`, as the member gave it, is named instead (PermissionDenied).
  static absl::Status CheckOwnFiles(const std::string& owner, const std::vector<std::string>& files,
                                    const RegisteredFiles& registered, const std::string& table,
                                    const std::string& location = "");

  // templates.cc
  // The tables a template reads, found by binding it with placeholder values; InvalidArgument
  // when it does not parse or bind.
  absl::StatusOr<std::vector<std::string>> TemplateTables(
      const std::vector<catalog::Table>& tables, const std::string& text,
      const std::vector<TemplateParameter>& parameters);
  // A stored template, refused if its content no longer hashes to its id.
  struct LoadedTemplate {
    catalog::AnalysisTemplate record;
    std::vector<TemplateParameter> parameters;
  };
  absl::StatusOr<LoadedTemplate> LoadTemplate(const std::string& collaboration,
                                              const std::string& template_id);
  absl::StatusOr<TemplateView> ViewOfTemplate(const catalog::AnalysisTemplate& record,
                                              const std::vector<TemplateParameter>& parameters,
                                              const std::vector<catalog::Table>& tables);
  absl::StatusOr<std::vector<TemplateView>> TemplateViews(const std::string& collaboration);

  // Stores a run's result for `finished` (the record that ends its query): sealed to the
  // receivers' registered keys when any has one (result_sealed), else in the clear; up to
  // options.inline_result_bytes as `finished.inline_result` (written into the catalog with the
  // record), larger as a file at `path` (Parquet, or with the extension ".sealed"), named by
  // `finished.result_path`.
  absl::Status StoreResult(const std::filesystem::path& path,
                           const std::vector<std::string>& receivers,
                           const engine::ResultTable& result, catalog::QueryRecord& finished);
  // Webhook events (webhooks.cc): queued for every live webhook of an active member of the
  // collaboration (of `only` when given); never fails or blocks the action that emits it.
  std::unique_ptr<WebhookDispatcher> webhooks;
  void Emit(const std::string& collaboration, const std::string& event, const nlohmann::json& ids,
            const std::vector<std::string>* only = nullptr);
  void EmitChange(const catalog::ChangeRequest& request, bool opened);
  // PSI sessions relayed between two members (psi_sessions.cc); in memory, as the sessions are.
  PsiRelay psi_relay;
  // The audit entry of a relayed PSI session that has just ended, once.
  void AuditPsiEnd(const std::string& collaboration, const std::string& id);
  // queries.cc: a collaboration's time limit for its queries when it is shorter than the
  // server's (which otherwise applies alone); CheckTimeLimit: InvalidArgument for a limit of
  // less than 1 s or more than the server's.
  std::optional<std::chrono::milliseconds> RoomTimeLimit(
      const catalog::Collaboration& collaboration) const;
  absl::Status CheckTimeLimit(std::optional<int64_t> seconds) const;
  // How run `query_id` ended, to its receivers only (as the query list tells it):
  // "query.succeeded"; "query.cancelled" when its runner cancelled it, its time limit stopped it
  // or the server's drain abandoned it (Cancelled, DeadlineExceeded); else "query.failed".
  void EmitRunEnded(const std::string& collaboration, int64_t query_id,
                    const std::vector<std::string>& receivers, const absl::Status& ended);
  // The data root of server mode: options.data_root, or HOME/data.
  std::filesystem::path DataRoot() const {
    return options.data_root.empty() ? home / "data" : std::filesystem::path(options.data_root);
  }

  std::filesystem::path ResultPath(const std::string& collaboration,
                                   const std::string& stem) const {
    return home / "results" / collaboration / (stem + ".parquet");
  }

  std::mutex journal_mutex;
  std::unique_ptr<RunJournal> journal;  // created under journal_mutex, then never replaced
  // Last: stopped (its thread joined) before anything it uses is destroyed.
  std::unique_ptr<internal::RunPromoter> promoter;  // created with the journal
};

// A prepared run (service.h): what its execution needs, and its token in the run journal.
struct PreparedRun::State {
  Service::Impl::QueryContext context;
  Service::Impl::Request request;
  QueryOutcome outcome;  // query_id and explanation so far
  // The run's token in the run journal (recorded as the query's run_lock).
  std::string run_token;
  // A synchronous run recorded when it ends (null: recorded running already).
  std::shared_ptr<internal::DeferredRecord> deferred;
  // What follows a successful execution, with its outcome (RunAndSave's saving); none: nothing.
  std::function<absl::StatusOr<QueryOutcome>(QueryOutcome)> then;
};

}  // namespace parley::service
