// The use cases of a clean room, in one layer that the CLI's embedded mode (and later the HTTP
// server) calls: create a collaboration, add members and tables, set rules, explain and run
// queries, read results, read and verify the audit log.
//
// Every call names who acts (an identity::Caller, built by the front end: `--as` in embedded
// mode) and asks the one access module (identity/access.h) whether that caller may — callers
// never decide permissions. Other members' rows are never
// returned: tables are shown as metadata (name, owner, columns, types, rule), and query results
// only to their receivers.
//
//   PARLEY_ASSIGN_OR_RETURN(auto service, service::Service::Open(home, {}));
//   PARLEY_RETURN_IF_ERROR(service->CreateCollaboration("retailer", {.name = "campaign"}));
//
// Errors: NotFound (unknown collaboration, member, table, query), PermissionDenied (the actor is
// not an active member, lacks an ability, or does not own the table), InvalidArgument (bad
// names, rule documents, SQL that does not parse or bind, bad receivers), FailedPrecondition (a
// source no longer matches its pinned schema). A query that the rules reject is not an error:
// its QueryOutcome carries the violations.
// Thread safety: a Service may be called from any number of threads at once (a server holds one
// per home). Catalog calls are serialized inside it, each call one transaction; queries run in
// parallel, each on an engine session of its own. Concurrent changes are not lost, but a query
// whose collaboration's policy changes while it runs fails with Aborted and releases nothing.
// Several processes may share a home too (each CLI invocation is one): the catalog's
// transactions and run locks keep them consistent, except that two processes approving
// templates for one table at the same moment may lose one of the approvals.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/store.h"
#include "connectors/connector.h"
#include "dp/noise.h"
#include "dp/random_source.h"
#include "engine/engine.h"
#include "identity/ability.h"
#include "identity/caller.h"
#include "jobs/sandbox.h"
#include "policy/rule.h"
#include "policy/verdict.h"
#include "query/compile.h"
#include "service/analysis_template.h"
#include "service/engines.h"
#include "service/jobs.h"
#include "service/psi_relay.h"
#include "service/views.h"
#include "service/webhook_dispatcher.h"

namespace parley::service {

// Usage reports cost scans at 5.00 per TB unless the server says otherwise (what on-demand
// query engines of the public clouds charge, in their currency).
inline constexpr int64_t kDefaultPricePerTbMicros = 5'000'000;
// 64 KiB: a few hundred rows of an aggregate — what most clean-room answers are — while a result
// that size adds only 16 pages to the transaction that ends its query; a larger one is a file,
// whose inode then costs little next to writing it.
inline constexpr size_t kDefaultInlineResultBytes = 64 * 1024;

struct Options {
  catalog::Clock clock;   // defaults to the system clock
  engine::Limits limits;  // for query execution
  // Called each time an engine session is opened (sessions are reused between queries): for
  // observing that reuse, in tests and metrics.
  std::function<void()> on_session_opened;
  // Called each time a table's source files are checked against its pinned schema (once per
  // version of the files on a session, not once per query): for tests and metrics.
  std::function<void(const std::string& table)> on_schema_checked;
  // How many compiled queries the service keeps (query/plan_cache.h), keyed by the policy
  // state they were judged against and every field of the request: a repeated query on an
  // unchanged policy is not compiled again. 0 turns the cache off.
  size_t plan_cache_entries = 256;
  // Called each time a query's compiled plan comes from that cache: for tests and metrics.
  std::function<void()> on_plan_cache_hit;
  // Called after a query has run and before its outcome is recorded and released: tests change
  // the policy here to exercise the check at delivery (a query whose policy changed while it ran
  // fails and releases nothing).
  std::function<void()> before_delivery;
  // A synchronous query is recorded once, when it ends; one still running after this long is
  // recorded as running meanwhile, so that listings show it (deferred_runs.cc). Tests change it.
  std::chrono::milliseconds promote_after{200};
  // Server mode: an organisation authenticated by a token registers only files under
  // `data_root`/<its name>/ (resolved: links and globs cannot lead out of it); with no data root
  // it registers none. Embedded callers are not restricted (they can read the home anyway).
  std::string data_root;
  // The connectors tables may read, by kind of source; null means connectors::Registry::BuiltIn().
  // Must outlive the service.
  const connectors::Registry* connectors = nullptr;
  // Where differential privacy's noise draws its randomness. Tests only (a seeded source, so that
  // noisy results repeat); null — always, in the binary — means the OS CSPRNG
  // (dp::SystemRandomSource). Must outlive the service; used under a lock, one query at a time.
  dp::RandomSource* noise_random_for_tests = nullptr;
  // Metering: the price of scanning one terabyte (10^12 bytes), in millionths of the server's
  // currency unit, that usage reports cost at (`parley serve --price-per-tb`).
  int64_t price_per_tb_micros = kDefaultPricePerTbMicros;
  // How webhook events are delivered (queue size, attempts, pauses): tests shorten them.
  WebhookDispatcher::Options webhooks;
  // What a job may use in the sandbox (jobs/sandbox.h), and where its run folders are made (a
  // folder the runs' uids can traverse; empty: <temp>/parley-jobs).
  jobs::SandboxLimits job_limits;
  std::string job_runs_folder;
  // The largest result kept in the catalog, with the record that ends its query, instead of in a
  // file (docs/audit.md, "Durability"): its encoded bytes (engine/result_codec.h) or its sealed
  // box. Tests move the edge; the binary keeps the default.
  size_t inline_result_bytes = kDefaultInlineResultBytes;
};

class Service {
 public:
  // Opens the home directory (creating it and its catalog if absent).
  static absl::StatusOr<std::unique_ptr<Service>> Open(const std::string& home, Options options);
  ~Service();

  absl::Status CreateCollaboration(const identity::Caller& caller, const NewCollaboration& request);
  absl::StatusOr<std::vector<catalog::Collaboration>> ListCollaborations(
      const identity::Caller& caller);
  absl::StatusOr<catalog::Collaboration> ShowCollaboration(const identity::Caller& caller,
                                                           const std::string& collaboration);
  // Change requests (changes.cc). After creation, changes that affect everyone — adding a member,
  // changing a member's abilities, who pays, query logging, the privacy budget — are proposed by
  // an active member (adding a member: only the creator) and take effect only when every active
  // member has approved; the proposer's approval is implied, so in a collaboration whose only
  // active member proposes, and for a kind the creator declared auto-approved, the change commits
  // at once. One denial ends it; its proposer may cancel it while it is pending. The view says
  // whom it still waits for.
  //
  // AddMember proposes adding a member that is active once the change commits: for embedded
  // callers only — a token's caller is refused (PermissionDenied) and invites instead, so that
  // no organisation is put in a collaboration without its consent.
  absl::StatusOr<ChangeView> AddMember(const identity::Caller& caller,
                                       const std::string& collaboration, const NewMember& member);
  // InviteMember proposes adding `member` (an organisation) as invited, with a one-time code
  // valid `valid_seconds` (InvalidArgument beyond kMaxInvitationSeconds). Once the change is
  // approved, the invited organisation — and no other — redeems the code with Join and becomes
  // an active member; the change then commits. The code is stored only as a salted hash.
  absl::StatusOr<InvitationView> InviteMember(const identity::Caller& caller,
                                              const std::string& collaboration,
                                              const NewMember& member,
                                              int64_t valid_seconds = kInvitationSeconds);
  // Redeems an invitation's code as the caller. A code that is malformed, unknown, or made for
  // another organisation is NotFound with one message ("no such invitation"), and is not used up
  // by the attempt; the invited organisation learns FailedPrecondition when the code was used,
  // has expired, or its change is still pending (or was denied or cancelled).
  absl::StatusOr<ChangeView> Join(const identity::Caller& caller, const std::string& code);
  // Any other kind of change (change.kind "abilities", "payer", "query_logging",
  // "privacy_budget").
  absl::StatusOr<ChangeView> ProposeChange(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const catalog::Change& change);
  absl::StatusOr<std::vector<ChangeView>> ListChanges(const identity::Caller& caller,
                                                      const std::string& collaboration);
  absl::StatusOr<ChangeView> ShowChange(const identity::Caller& caller,
                                        const std::string& collaboration, int64_t id);
  // Votes of active members on a pending change (FailedPrecondition when it is not pending, or
  // the member voted already).
  absl::StatusOr<ChangeView> ApproveChange(const identity::Caller& caller,
                                           const std::string& collaboration, int64_t id);
  absl::StatusOr<ChangeView> DenyChange(const identity::Caller& caller,
                                        const std::string& collaboration, int64_t id);
  // The proposer cancels its pending change (or an approved invitation not yet redeemed).
  absl::StatusOr<ChangeView> CancelChange(const identity::Caller& caller,
                                          const std::string& collaboration, int64_t id);
  // The creator closes the collaboration for good (identity/access.h says what a closed room
  // still allows; catalog::Store::CloseCollaboration records it). Returns it as now stored.
  absl::StatusOr<catalog::Collaboration> CloseCollaboration(const identity::Caller& caller,
                                                            const std::string& collaboration);

  // The creator removes a member; a member (not the creator) leaves. Either way the member can no
  // longer act, and its tables can no longer be queried: their owner has gone.
  absl::Status RemoveMember(const identity::Caller& caller, const std::string& collaboration,
                            const std::string& member);
  absl::Status Leave(const identity::Caller& caller, const std::string& collaboration);

  absl::Status AddTable(const identity::Caller& caller, const NewTable& request);
  // Every check of AddTable, then the source's pinned columns and first `limit` rows — the
  // caller's own data, shown only to it — and nothing is stored.
  absl::StatusOr<TablePreview> PreviewTable(const identity::Caller& caller, const NewTable& request,
                                            int limit);
  // The owner repoints table `request.name` to `request.location` (or, for a files table, the
  // description `request.source_json`): read as before (for files: the pinned options and
  // types), checked as AddTable checks a source, and refused (FailedPrecondition naming each
  // differing column) unless its schema is the table's. Rule and allowed columns are kept.
  absl::Status UpdateTableSource(const identity::Caller& caller, const NewTable& request);
  // The owner removes a table; see table_lifecycle.cc for what happens to what depends on it.
  absl::Status RemoveTable(const identity::Caller& caller, const std::string& collaboration,
                           const std::string& table);
  absl::StatusOr<std::vector<TableView>> ListTables(const identity::Caller& caller,
                                                    const std::string& collaboration);
  absl::StatusOr<TableView> ShowTable(const identity::Caller& caller,
                                      const std::string& collaboration, const std::string& table);
  // Only the table's owner sets its rule; the document is validated against its columns. With
  // `dry_run`, every check runs (the same errors) and nothing is stored: the console validates a
  // rule as it is typed.
  absl::Status SetRule(const identity::Caller& caller, const std::string& collaboration,
                       const std::string& table, const std::string& rule_json,
                       bool dry_run = false);

  // Checks a query without running it: the verdict and the SQL the engine would run.
  // `epsilon` ("0.5"; empty: the collaboration's default) is what a query over a table with
  // differential privacy spends; InvalidArgument when it is above the collaboration's maximum
  // per query or the collaboration has no budget. With `accuracy` (and no `epsilon`), the ε is
  // the smallest that meets the target (dp/accuracy.h); InvalidArgument when that is above the
  // maximum per query, the target cannot be met, or the query adds no noise.
  absl::StatusOr<Explanation> Explain(const identity::Caller& caller,
                                      const std::string& collaboration, const std::string& sql,
                                      std::vector<std::string> receivers = {},
                                      const std::string& epsilon = "",
                                      const AccuracyRequest& accuracy = {});
  // Checks and runs a query for `receivers` (default: the actor). A rejected query returns an
  // outcome whose verdict lists the violations, and nothing runs. The result (or error) is
  // released only if the collaboration's policy is still the one the query was checked against;
  // otherwise the query is recorded as failed ("policy changed during the run") and the call
  // returns Aborted.
  //
  // A query over a table with differential privacy spends `epsilon` (as in Explain) of the
  // collaboration's budget when it starts — even if its delivery then fails; when the month's
  // budget cannot cover it, it is recorded as rejected, spends nothing and the call returns
  // ResourceExhausted. Its result holds noisy values, each aggregate followed by the bounds of
  // its 95% confidence interval (<name>_ci95_low, <name>_ci95_high).
  absl::StatusOr<QueryOutcome> Run(const identity::Caller& caller, const std::string& collaboration,
                                   const std::string& sql, std::vector<std::string> receivers,
                                   const std::string& epsilon = "",
                                   const AccuracyRequest& accuracy = {});
  // Run, then saves the result as table `save_as` of the collaboration, owned by the actor, with
  // the rule derived from the rules of the tables the query read (policy/derived.h; docs/rules.md
  // "Derived tables"). InvalidArgument when the actor does not receive the result or the name is
  // bad, AlreadyExists for a name in use, FailedPrecondition (before anything runs) when the
  // result cannot carry its inputs' rules. A rejected or failed run saves nothing.
  absl::StatusOr<QueryOutcome> RunAndSave(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers,
                                          const std::string& save_as);
  // RunAndSave in two steps, as SubmitQuery is Run's (the server's run queue executes it): the
  // same checks and errors before anything runs; the saving follows a successful ExecuteRun.
  absl::StatusOr<Submission> SubmitSave(const identity::Caller& caller,
                                        const std::string& collaboration, const std::string& sql,
                                        std::vector<std::string> receivers,
                                        const std::string& save_as);
  // What RunAndSave would save, without running or saving anything (`parley query explain
  // --save-as NAME`): the verdict, and the rule the table would get or why the result could not
  // be saved. The same InvalidArgument / AlreadyExists errors as RunAndSave.
  absl::StatusOr<SavePreview> PreviewSave(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers,
                                          const std::string& save_as);
  // Metering (usage.cc). Usage: a report for any active member; `by` is "member", "payer" or
  // "month" (InvalidArgument otherwise), `month` "YYYY-MM" or empty for all (InvalidArgument for
  // another form). SetUsageLimits: the caller's own limits on what the queries it pays for may
  // scan in the collaboration (unset: none), audited as "usage.limits".
  absl::StatusOr<UsageReport> Usage(const identity::Caller& caller,
                                    const std::string& collaboration, const std::string& month,
                                    const std::string& by);
  absl::StatusOr<UsageReport> SetUsageLimits(const identity::Caller& caller,
                                             const std::string& collaboration,
                                             const catalog::UsageLimits& limits);
  // The privacy budget and what is left of it, for any member of the collaboration.
  absl::StatusOr<BudgetView> Budget(const identity::Caller& caller,
                                    const std::string& collaboration);
  // A stored result, for one of its receivers.
  absl::StatusOr<engine::ResultTable> Result(const identity::Caller& caller,
                                             const std::string& collaboration, int64_t query_id);
  // The results kept for the actor (it receives them), oldest first; and the deletion of one (by
  // any of its receivers: the result is kept once for all of them). Deleting keeps the query's
  // record and is audited ("result.deleted").
  absl::StatusOr<std::vector<StoredResultView>> ListResults(const identity::Caller& caller,
                                                            const std::string& collaboration);
  absl::Status DeleteResult(const identity::Caller& caller, const std::string& collaboration,
                            int64_t query_id);
  // The home's size and settings, for its operator (whoever runs Parley on it). Results older
  // than the retention (in days; nullopt keeps them) are deleted when a Service opens the home,
  // audited as "result.deleted" by "retention". InvalidArgument for fewer than 1 day.
  absl::StatusOr<HomeInfo> Home();
  absl::Status SetResultRetention(std::optional<int64_t> days);
  // The queries the actor ran or receives, as the actor may see them (see QueryView).
  absl::StatusOr<std::vector<QueryView>> ListQueries(const identity::Caller& caller,
                                                     const std::string& collaboration);

  // Analysis templates. Any active member may author one; it is checked to parse and bind (with
  // placeholder values) and stored under its id. Ids may be abbreviated to a unique prefix.
  absl::StatusOr<std::string> CreateTemplate(const identity::Caller& caller,
                                             const NewTemplate& request);
  absl::StatusOr<TemplateView> ShowTemplate(const identity::Caller& caller,
                                            const std::string& collaboration,
                                            const std::string& template_id);
  absl::StatusOr<std::vector<TemplateView>> ListTemplates(const identity::Caller& caller,
                                                          const std::string& collaboration);
  // The owner of `table` (which must have a custom rule) adds the template to, or removes it
  // from, the rule's allowed_analyses. On a saved result's table each co-owner (an owner of an
  // input, transitively, or its owner) approves or revokes for themselves; the template runs
  // once all have approved (PermissionDenied for anyone else).
  absl::Status ApproveTemplate(const identity::Caller& caller, const std::string& collaboration,
                               const std::string& template_id, const std::string& table);
  absl::Status RevokeTemplate(const identity::Caller& caller, const std::string& collaboration,
                              const std::string& template_id, const std::string& table);
  // Runs a template with values by parameter name. DataLoss when the stored template no longer
  // hashes to its id (it was altered after it was created). A template over tables with
  // aggregation rules is judged as the same query typed freely: over a table with differential
  // privacy it is noised and spends `epsilon` or what `accuracy` costs, as in Run.
  absl::StatusOr<QueryOutcome> RunTemplate(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const std::string& template_id,
                                           const std::map<std::string, std::string>& values,
                                           std::vector<std::string> receivers,
                                           const std::string& epsilon = "",
                                           const AccuracyRequest& accuracy = {});

  // Asynchronous runs (run.cc): Run and RunTemplate in two steps, for the server's run queue.
  // SubmitQuery/SubmitTemplate do everything Run does before the engine runs — the checks, the
  // rejection recorded with its violations (or the InvalidArgument of SQL that does not parse or
  // bind), the privacy spend, the record as running — and return the run to execute.
  // ExecuteRun runs it and answers exactly what Run would have; `control` (optional) lets another
  // thread cancel the run (recorded as cancelled) and read its progress, and sets its time limit.
  // AbandonRun ends a run that will not execute: recorded as cancelled with `reason`'s message,
  // answered as Run answers a run that failed with `reason`.
  absl::StatusOr<Submission> SubmitQuery(const identity::Caller& caller,
                                         const std::string& collaboration, const std::string& sql,
                                         std::vector<std::string> receivers,
                                         const std::string& epsilon = "",
                                         const AccuracyRequest& accuracy = {});
  absl::StatusOr<Submission> SubmitTemplate(const identity::Caller& caller,
                                            const std::string& collaboration,
                                            const std::string& template_id,
                                            const std::map<std::string, std::string>& values,
                                            std::vector<std::string> receivers,
                                            const std::string& epsilon = "",
                                            const AccuracyRequest& accuracy = {});
  // SubmitQuery/SubmitTemplate for a runner that waits for the run in the call that submitted it
  // (the server's synchronous RunQuery/RunTemplate): nobody learns its id before it ends, so it
  // is recorded as Run records it — once, when it ends (ExecuteRun or AbandonRun), kept in the
  // run journal until then (a process that dies leaves it to be recorded killed), recorded
  // running only if it is still under way after Options::promote_after. The same checks, errors
  // and rejections as SubmitQuery; the run's PreparedRun::query_id() is 0 until it has ended.
  absl::StatusOr<Submission> SubmitAwaitedQuery(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                const std::string& sql,
                                                std::vector<std::string> receivers,
                                                const std::string& epsilon = "",
                                                const AccuracyRequest& accuracy = {});
  absl::StatusOr<Submission> SubmitAwaitedTemplate(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const std::string& template_id,
                                                   const std::map<std::string, std::string>& values,
                                                   std::vector<std::string> receivers,
                                                   const std::string& epsilon = "",
                                                   const AccuracyRequest& accuracy = {});
  absl::StatusOr<QueryOutcome> ExecuteRun(PreparedRun& run, engine::RunControl* control = nullptr);
  absl::StatusOr<QueryOutcome> AbandonRun(PreparedRun& run, const absl::Status& reason);
  // A query as its runner sees it in listings (QueryView). To anyone but its runner a query
  // that exists is answered word for word as one that does not: NotFound "query N not found in
  // collaboration 'C'".
  absl::StatusOr<QueryView> ShowRun(const identity::Caller& caller,
                                    const std::string& collaboration, int64_t query_id);
  // Jobs and assets (service/jobs.h; jobs.cc, job_run.cc, assets.cc). Any active member creates
  // a job (InvalidArgument for a bad bundle, NotFound for an unknown table or asset) or registers
  // an asset of its own files; every member sees them as metadata (an asset's bytes never). The
  // owner of an input table (custom rule) or asset approves or revokes a job for it
  // (PermissionDenied for anyone else, FailedPrecondition for a table without a custom rule).
  // RunJob: PermissionDenied without `run_jobs`; DataLoss for a job altered since it was created;
  // FailedPrecondition, before anything runs, when an input does not approve it or a declared
  // column is not one its table allows. A job that fails or is withheld is a run, not an error.
  // JobRun: to a member that neither ran nor receives it, a run is answered word for word as one
  // that does not exist (NotFound).
  absl::StatusOr<JobView> CreateJob(const identity::Caller& caller, const NewJob& request);
  absl::StatusOr<JobView> ShowJob(const identity::Caller& caller, const std::string& collaboration,
                                  const std::string& job_id);
  absl::StatusOr<std::vector<JobView>> ListJobs(const identity::Caller& caller,
                                                const std::string& collaboration);
  // `input` names a table or an asset of the caller's.
  absl::StatusOr<JobView> ApproveJob(const identity::Caller& caller,
                                     const std::string& collaboration, const std::string& job_id,
                                     const std::string& input, bool approve);
  absl::StatusOr<JobRunView> RunJob(const identity::Caller& caller, const RunJobRequest& request);
  absl::StatusOr<JobRunView> JobRun(const identity::Caller& caller,
                                    const std::string& collaboration, int64_t run_id);
  absl::StatusOr<AssetView> RegisterAsset(const identity::Caller& caller, const NewAsset& request);
  absl::StatusOr<std::vector<AssetView>> ListAssets(const identity::Caller& caller,
                                                    const std::string& collaboration);

  // Query logs: when the collaboration logs queries, a table owner lists every query that
  // touched one of its tables — rejected (including queries that did not parse or bind),
  // running, finished or killed — with text, runner, verdict and time, as the owner may see it
  // (see QueryView). FailedPrecondition otherwise.
  absl::StatusOr<std::vector<QueryView>> QueryLog(const identity::Caller& caller,
                                                  const std::string& collaboration);

  // The consolidated policy for the actor.
  absl::StatusOr<PolicyView> Policy(const identity::Caller& caller,
                                    const std::string& collaboration);

  // The collaboration's audit entries. Entries written by this version never carry a row count,
  // an error or how a run ended. Entries of older catalogs ("query.succeeded" with a row count,
  // "query.failed") are shown to members who do not receive that query as "query.finished"
  // without the count; those entries then no longer hash as listed (VerifyAudit checks the
  // stored chain).
  absl::StatusOr<std::vector<catalog::AuditEntry>> ListAudit(const identity::Caller& caller,
                                                             const std::string& collaboration);
  // One page of it, redacted alike (catalog::AuditPageQuery: `after` pages forward, `before`
  // back, neither gives the newest entries). InvalidArgument naming the parameter for a limit
  // outside 1..kMaxAuditPage, a negative cursor, or `after` and `before` together.
  static constexpr int64_t kMaxAuditPage = 1000;
  absl::StatusOr<catalog::AuditPage> ListAuditPage(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const catalog::AuditPageQuery& query);
  // Every chain of the catalog: for the operator of the home, who acts as no member.
  absl::StatusOr<catalog::AuditVerification> VerifyAudit();
  // One collaboration's chain, for any of its active members. With `expected_head` (a hash an
  // earlier verification printed), the chain must still contain it: as its head, or followed by
  // newer entries (reported in expected_head_seq and entries_after_expected_head); otherwise
  // the verification fails, since the log was truncated or rewritten since it was printed.
  absl::StatusOr<catalog::AuditVerification> VerifyAudit(const identity::Caller& caller,
                                                         const std::string& collaboration,
                                                         const std::string& expected_head = "");

  // Organisations and API tokens of a server (organisations.cc). InitServer bootstraps the
  // operator's organisation (admin) at the console: FailedPrecondition once any organisation
  // exists. AddOrganisation is for a caller that administers the server (the operator's
  // organisation, or an embedded caller). RotateToken issues a new token to the caller's
  // organisation and revokes the one it authenticated with (token callers only; an embedded
  // caller gets a new token for the organisation named by its member without revoking any).
  // RevokeToken revokes one of the caller's organisation's tokens.
  absl::StatusOr<IssuedToken> InitServer(const std::string& organisation);

  // The engines tables may live on besides local DuckDB (service/engines.h; engine_registry.cc):
  // the operator's, who works on the home itself, so these take no caller. AddEngine checks the
  // registration against the cluster (CheckEngine) and stores it: AlreadyExists for a taken name.
  // RemoveEngine: NotFound for no such engine, FailedPrecondition naming a table that still lives
  // on it. No result holds a password (registrations name password files).
  absl::StatusOr<EngineRegistration> AddEngine(EngineRegistration registration);
  absl::StatusOr<std::vector<EngineRegistration>> ListEngines();
  absl::Status RemoveEngine(const std::string& name);
  absl::StatusOr<IssuedToken> AddOrganisation(const identity::Caller& caller,
                                              const std::string& organisation);
  absl::StatusOr<std::vector<catalog::Organisation>> ListOrganisations(
      const identity::Caller& caller);
  absl::StatusOr<IssuedToken> RotateToken(const identity::Caller& caller);
  absl::Status RevokeToken(const identity::Caller& caller, const std::string& token_id);
  // The caller a bearer token authenticates: Unauthenticated, with one message whatever was wrong
  // (malformed, unknown, wrong secret, revoked), so a client learns nothing of which part was.
  absl::StatusOr<identity::Caller> Authenticate(std::string_view bearer_token);

  // Bringing data to a server (uploads.cc). StartUpload opens an upload of a file named `name`
  // into the caller's own folder of the data root (created 0700): InvalidArgument for a name
  // that is not a plain file name (letters, digits, '.', '_', '-'; at most 128; not starting
  // with '.'), or a checksum that is not 64 hex digits; AlreadyExists when the member already
  // has a file of that name; ResourceExhausted when `declared_bytes` exceeds `max_bytes`.
  absl::StatusOr<std::unique_ptr<Upload>> StartUpload(const identity::Caller& caller,
                                                      const std::string& name,
                                                      const std::string& sha256_hex,
                                                      std::optional<int64_t> declared_bytes,
                                                      int64_t max_bytes);
  // The folder of the data root that `member` registers files from (server mode).
  std::string DataRootOf(const std::string& member) const;

  // Sealed results (sealed_results.cc). SetMemberKey registers the X25519 public key (64 hex)
  // the caller's results are sealed to from now on; MemberKey: the caller's, if any.
  // SealedResult: for a receiver (the checks of Result), the sealed bytes of a stored result, or
  // nullopt when it is stored in the clear.
  absl::Status SetMemberKey(const identity::Caller& caller, const std::string& public_key_hex);
  absl::StatusOr<std::optional<std::string>> MemberKey(const identity::Caller& caller);
  absl::StatusOr<std::optional<std::string>> SealedResult(const identity::Caller& caller,
                                                          const std::string& collaboration,
                                                          int64_t query_id);
  // A collaboration's result retention (its creator sets it; any member reads it). Setting it
  // prunes at once; a server also prunes periodically (PruneResults). InvalidArgument for fewer
  // than 1 day.
  absl::Status SetCollaborationRetention(const identity::Caller& caller,
                                         const std::string& collaboration,
                                         std::optional<int64_t> days);
  absl::StatusOr<std::optional<int64_t>> CollaborationRetention(const identity::Caller& caller,
                                                                const std::string& collaboration);
  // Deletes every result older than its collaboration's retention or the home's (the shorter),
  // audited as "result.deleted" by "retention".
  absl::Status PruneResults();

  // Webhooks (webhooks.cc): an active member subscribes an http(s) URL to the collaboration's
  // events (change.opened|approved|committed|denied|cancelled to every subscriber;
  // query.submitted to every subscriber, query.succeeded|failed only to the query's receivers),
  // delivered asynchronously (WebhookDispatcher). AddWebhook: InvalidArgument for a URL that is
  // not http(s)://HOST[:PORT][/PATH] (at most 2048 printable characters); the secret deliveries
  // are signed with is in the answer, once. List and Remove: the caller's own webhooks
  // (NotFound for another's).
  absl::StatusOr<WebhookView> AddWebhook(const identity::Caller& caller,
                                         const std::string& collaboration, const std::string& url);
  absl::StatusOr<std::vector<WebhookView>> ListWebhooks(const identity::Caller& caller,
                                                        const std::string& collaboration);
  absl::Status RemoveWebhook(const identity::Caller& caller, const std::string& collaboration,
                             int64_t id);

  // PSI relayed through this server (psi_sessions.cc, docs/formats/psi.md "Relayed through a
  // server"). StartPsi: the caller (an active member with `query`) starts a session with `peer`
  // (another active member) as its responder; the result goes to `receivers` (each one of the two,
  // with `receive`; empty: the caller). Show: the two parties only. SendPsi/ReceivePsi pass one
  // party's frames to the other, checked (service/psi_relay.h); anyone else is PermissionDenied
  // and the session goes on. Audited: "psi.started", then "psi.completed" or "psi.failed" (with
  // the announced set sizes, never an element).
  absl::StatusOr<PsiSessionState> StartPsi(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const std::string& peer, psi::Mode mode,
                                           std::vector<std::string> receivers);
  absl::StatusOr<PsiSessionState> ShowPsi(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& id);
  absl::StatusOr<PsiSessionState> SendPsi(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& id,
                                          int64_t sequence, const std::string& frame);
  absl::StatusOr<PsiMessages> ReceivePsi(const identity::Caller& caller,
                                         const std::string& collaboration, const std::string& id,
                                         int64_t after, int64_t wait_ms);

  // Defined in service_impl.h, which only the service's own files include (a PreparedRun's state
  // names its parts).
  struct Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::service
