// The catalog: everything Parley remembers about collaborations, members, tables, analysis
// rules, queries and the audit log, in one SQLite file (WAL mode) under the home directory.
//
// The store is a plain record keeper: it checks integrity (unique names, foreign keys) but not
// permissions — the service layer decides who may do what. Every mutating call appends an audit
// entry in the same SQLite transaction, so a change and its audit record land together or not
// at all. Each entry also records the digest of its collaboration's policy state after the
// change, and every mutating call first checks that the state still matches the one its
// collaboration's audit head records: a catalog whose members, tables, rules or templates were
// edited behind Parley's back (with the sqlite3 shell, say) is refused with FailedPrecondition
// until it is restored, instead of the next action laundering the edit into the log.
//
//   PARLEY_ASSIGN_OR_RETURN(auto store,
//                           catalog::Store::Open("/home/me/.parley/catalog.db", clock));
//   PARLEY_RETURN_IF_ERROR(store->CreateCollaboration(
//       {.name = "campaign", .creator = "retailer", .members = {{.name = "retailer"}}}));
//
// Thread safety: a Store is used by one thread at a time (the CLI is single-threaded; the
// server will hold one Store per request or serialise access).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "catalog/job_records.h"
#include "catalog/records.h"

namespace parley::catalog {

// Seconds since the Unix epoch, injectable so tests are deterministic.
using Clock = std::function<int64_t()>;
int64_t SystemClockSeconds();

// The catalog schema version this binary creates and understands (PRAGMA user_version).
int SchemaVersion();

// A number of bytes as metering's messages write it: decimal units, one decimal ("1.5 MB",
// "999 B"), as storage and cloud prices count them (1 TB = 10^12 bytes).
std::string FormatBytes(int64_t bytes);
// How a refusal by metering's limits begins (ResourceExhausted from RecordQuery), and the test
// for one: the service records the query as rejected with its own verdict code.
inline constexpr char kUsageRefused[] = "query refused before it ran: ";
inline bool IsUsageRefusal(const absl::Status& status) {
  return absl::IsResourceExhausted(status) && status.message().rfind(kUsageRefused, 0) == 0;
}

class Store {
 public:
  // Opens (creating if absent) the catalog at `path`, applies pending schema migrations.
  // Errors: Internal for SQLite failures; FailedPrecondition when the file's schema version is
  // newer than this binary knows. An empty `clock` means SystemClockSeconds.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, Clock clock);
  ~Store();

  // Collaborations. Create fails with AlreadyExists for a taken name; the creator becomes an
  // active member with the abilities given in `collaboration.members` (it must be listed there,
  // once, else InvalidArgument) and is the actor of the "collaboration.create" audit entry.
  // ListCollaborations orders by name; members come in the order they were added. A
  // privacy_budget given at creation is stored with it (InvalidArgument when its default ε is
  // zero, exceeds its maximum, or the maximum exceeds the period's ε).
  absl::Status CreateCollaboration(const Collaboration& collaboration);
  absl::StatusOr<Collaboration> GetCollaboration(const std::string& name);  // NotFound
  absl::StatusOr<std::vector<Collaboration>> ListCollaborations();
  // The collaboration, its tables and its policy digest from one read transaction (NotFound).
  absl::StatusOr<PolicySnapshot> GetPolicySnapshot(const std::string& name);
  // The same, shared and immutable: the store hands out the snapshot it caches (while no policy
  // record changed, every call returns the same object), so a query does not copy the records.
  absl::StatusOr<std::shared_ptr<const PolicySnapshot>> SharedPolicySnapshot(
      const std::string& name);

  // Members: AlreadyExists (an active member) / NotFound. Adding a member who left or was
  // removed makes it a member again with the abilities given; the rules of its tables are cleared
  // (audited in the member.add entry as "rules_cleared"), so its data is queried again only once
  // it sets them anew.
  absl::Status AddMember(const std::string& collaboration, const Member& member,
                         const std::string& actor);
  absl::Status SetMemberStatus(const std::string& collaboration, const std::string& member,
                               MemberStatus status, const std::string& actor);
  // Closes the collaboration for good (there is no reopening): from then on the catalog refuses
  // every policy change and every new query in it (FailedPrecondition naming it as closed), while
  // its records, results and audit log stay readable. Appends "collaboration.close" by `actor`
  // (the service checks it is the creator). FailedPrecondition when it is closed already.
  absl::Status CloseCollaboration(const std::string& collaboration, const std::string& actor);

  // Tables: AlreadyExists / NotFound (collaboration, owner or table). InvalidArgument for a bad
  // name, an allowed column missing from `source_schema`, a duplicate column, or a rule that is
  // not a JSON object. Rules are stored canonicalised (keys sorted, no whitespace); the store
  // does not judge their content. `SetRule` replaces the rule (audit records old and new rule
  // hashes). ListTables orders by name.
  //
  // `files` are the files the table reads now. Each is claimed for the table's owner in the same
  // write transaction as the insert: a file already claimed by another member (under the same
  // member name in any collaboration counts as the same member) is PermissionDenied and nothing
  // is written. Two registrations of one file by different members, even from two processes at
  // the same moment, therefore cannot both succeed.
  absl::Status AddTable(const Table& table, const std::string& actor,
                        const std::vector<FileIdentity>& files = {});
  // Every claimed file with the member who claimed it.
  absl::StatusOr<std::map<FileIdentity, std::string>> ListFileClaims();
  // A token that changes whenever a policy record (collaborations, members, tables, file claims,
  // templates) may have changed: another connection committed anything (PRAGMA data_version), or
  // this store committed a policy change. Equal tokens: what was read from those records then is
  // still what they hold, so a caller may keep what it derived from them.
  absl::StatusOr<std::string> PolicyVersion();
  absl::StatusOr<Table> GetTable(const std::string& collaboration, const std::string& name);
  absl::StatusOr<std::vector<Table>> ListTables(const std::string& collaboration);
  absl::Status SetRule(const std::string& collaboration, const std::string& table,
                       const std::string& rule_json, const std::string& actor);
  // Repoints `table` to another source of the same kind: its description and pinned schema are
  // replaced (allowed columns and rule are kept; every allowed column must be in the new schema),
  // `files` are claimed for its owner as in AddTable (PermissionDenied when another member's),
  // audited as "table.update_source" — a policy change, so a query checked before it is not
  // delivered. The description stays out of the audit log, as in AddTable.
  absl::Status UpdateTableSource(const std::string& collaboration, const std::string& table,
                                 const std::string& source_json,
                                 const std::vector<Column>& source_schema, const std::string& actor,
                                 const std::vector<FileIdentity>& files = {});
  // Removes `table` (NotFound when absent), audited as "table.remove" — a policy change. Its
  // files stay claimed by its owner: no other member can register them later.
  absl::Status RemoveTable(const std::string& collaboration, const std::string& table,
                           const std::string& actor);

  // Queries. RecordQuery assigns and returns the id (unique over the catalog) and appends an
  // audit entry: "query.rejected", "query.started" (kRunning), "query.killed", or
  // "query.finished" for the other statuses; the runner must be a member (NotFound). The audit
  // details name the query, its tables, receivers and template — never its status beyond that
  // action, its row count or its error: the log is read by every member, and whether a run
  // succeeded (and how many rows it gave) is for its receivers only. The query record keeps
  // them; the service shows them to whom it may. GetQuery answers NotFound for an id that
  // belongs to another collaboration. ListQueries orders by id. The service records rejected
  // and running queries this way; an outcome it releases goes through FinishQuery, which checks
  // the policy.
  //
  // `submitted_details`, when given, is a JSON object appended first as the runner's
  // "query.submitted" entry in the same write transaction: the service records a submission and
  // its verdict (rejected, or running before it executes) with one durable write instead of two.
  // InvalidArgument when it is not a JSON object.
  absl::StatusOr<int64_t> RecordQuery(
      const QueryRecord& query, const std::optional<std::string>& submitted_details = std::nullopt);
  // Ends a running query with `outcome`'s status (succeeded, failed or cancelled), row count,
  // error and result (path, or inline bytes and whether they are sealed), audited as
  // "query.finished" with its id — but only as given if the collaboration's policy digest is still
  // `checked_policy` (PolicySnapshot::digest when the query was checked). Otherwise, in the same
  // transaction, the query ends failed with kPolicyChangedError, no result and row count 0, and its
  // audit entry adds "policy_changed": true (Delivery::policy_changed). FailedPrecondition when the
  // query is not running (for instance it was already marked killed).
  absl::StatusOr<Delivery> FinishQuery(const std::string& collaboration, int64_t id,
                                       const QueryRecord& outcome,
                                       const std::string& checked_policy);
  // One write for a whole run (the fast path of a synchronous query): in one transaction the
  // runner's "query.submitted" entry (`submitted_details`, a JSON object), the query's record —
  // `query` as RecordQuery would record it running, ended with `outcome`'s status, row count,
  // error, result (as FinishQuery) and usage — and its "query.started" and "query.finished"
  // entries, with FinishQuery's policy check: if the digest is no longer `checked_policy` the query
  // is recorded failed with kPolicyChangedError and no result (Delivery::policy_changed). The scan
  // limits are not checked (the caller asked UsageLimited before the run); the payer in force
  // now is charged. `query.run_lock` is the run's token in the service's run journal, kept in
  // the record so that a journal found abandoned does not record the run again. InvalidArgument
  // for a privacy spend (those are recorded before they run) or an outcome that is not an end.
  absl::StatusOr<std::pair<int64_t, Delivery>> RecordRun(const QueryRecord& query,
                                                         const std::string& submitted_details,
                                                         const QueryRecord& outcome,
                                                         const std::string& checked_policy);
  // Records a run found in an abandoned run journal (its process died before the run was
  // recorded): "query.submitted", the record as killed, "query.started" and "query.killed",
  // the payer charged the estimate. Nothing when a query with `query.run_lock` is recorded
  // already (the process died after recording it). FailedPrecondition as any write for a
  // collaboration changed outside Parley.
  absl::Status RecordKilledRun(const QueryRecord& query, const std::string& submitted_details);
  // Whether a query of `runner` in the collaboration is metered against a scan limit (its
  // payer has one): such a query is recorded, and its estimate reserved, before it runs.
  // Cached while nothing else writes to the catalog (a few reads otherwise).
  absl::StatusOr<bool> UsageLimited(const std::string& collaboration, const std::string& runner);
  // FailedPrecondition, as every write of the collaboration would answer, when its catalog
  // records no longer match its audit log (changed outside Parley). A run recorded only when it
  // ends (RecordRun) asks this before it executes, so that nothing runs in such a collaboration.
  // Cached while nothing else writes to the catalog.
  absl::Status CheckPolicyIntact(const std::string& collaboration);
  // Marks killed every running query for which `abandoned` answers true (its process is gone),
  // each audited as "query.killed"; returns their ids. Reads first and takes the write lock only
  // when there is something to mark. A query of a collaboration changed outside Parley (see
  // above) is left running: nothing is appended to its chain until the catalog is restored.
  absl::StatusOr<std::vector<int64_t>> MarkKilledQueries(
      const std::function<bool(const QueryRecord&)>& abandoned);
  absl::StatusOr<QueryRecord> GetQuery(const std::string& collaboration, int64_t id);
  // A running query with privacy_epsilon > 0 also spends (privacy_epsilon, privacy_delta) of
  // its collaboration's budget for the current month (UTC), in the same transaction: when the
  // month's spending plus this would exceed the budget in ε or δ, RecordQuery writes nothing and
  // fails with ResourceExhausted ("privacy budget ... exhausted"); FailedPrecondition when the
  // collaboration has no budget. ListPrivacySpends: what was spent, by month, newest first.
  absl::StatusOr<std::vector<PrivacySpend>> ListPrivacySpends(const std::string& collaboration);
  absl::StatusOr<std::vector<QueryRecord>> ListQueries(const std::string& collaboration);

  // Metering (usage.cc). A query recorded as running with `usage` set is charged to the payer in
  // force then (the runner when the runner pays): in the same transaction its estimate (the sizes
  // recorded with SetTableSize for the tables it reads; 0 for a table without one) is checked
  // against the payer's limits — over the per-query limit, or over what the payer has used and
  // reserved this month (UTC) plus the estimate, RecordQuery writes nothing and fails with
  // ResourceExhausted, a message giving the estimate by table — and reserved. FinishQuery with
  // `outcome.usage` records the measured scans in its transaction; from then on the month counts
  // them instead of the estimate (a run whose process died keeps its reservation).
  // SetUsageLimits replaces `member`'s limits in the collaboration (NotFound for a non-member,
  // InvalidArgument for a negative limit), audited as "usage.limits" by the member.
  absl::Status SetUsageLimits(const std::string& collaboration, const std::string& member,
                              const UsageLimits& limits);
  absl::StatusOr<UsageLimits> GetUsageLimits(const std::string& collaboration,
                                             const std::string& member);
  // Every metered query of the collaboration, by id.
  absl::StatusOr<std::vector<UsageRecord>> ListUsage(const std::string& collaboration);
  // What a finished query scanned, by table (none for a query without a measurement).
  absl::StatusOr<std::vector<TableScan>> ListQueryScans(const std::string& collaboration,
                                                        int64_t query_id);
  // A table's size as measured when it was added or repointed (replaces the last).
  absl::Status SetTableSize(const std::string& collaboration, const std::string& table,
                            const TableSize& size);
  absl::StatusOr<std::map<std::string, TableSize>> ListTableSizes(const std::string& collaboration);
  // Forgets a query's stored result (its record keeps its status and row count) and returns the
  // path the record held, for the caller to remove the file once this has committed (a crash in
  // between leaves a file no record names, never a record naming no file); an empty path for a
  // result kept in the catalog, whose bytes this removes in the same transaction (overwritten,
  // not just unlinked: the catalog runs with secure_delete). Audited as "result.deleted" by
  // `actor`. NotFound for an unknown query, FailedPrecondition when it has no stored result.
  absl::StatusOr<std::string> ForgetResult(const std::string& collaboration, int64_t id,
                                           const std::string& actor);
  // The bytes of a result kept in the catalog (QueryRecord::result_inline). NotFound for an
  // unknown query or one without inline bytes.
  absl::StatusOr<std::string> GetInlineResult(const std::string& collaboration, int64_t id);

  // Analysis templates. CreateTemplate: AlreadyExists for the same id in the collaboration,
  // NotFound when the author is not a member; audited as "template.create". GetTemplate takes a
  // full id or a unique prefix (InvalidArgument when ambiguous, NotFound when none matches).
  absl::Status CreateTemplate(const AnalysisTemplate& analysis, const std::string& actor);
  absl::StatusOr<AnalysisTemplate> GetTemplate(const std::string& collaboration,
                                               const std::string& id_or_prefix);
  absl::StatusOr<std::vector<AnalysisTemplate>> ListTemplates(const std::string& collaboration);

  // Jobs, assets and job runs (jobs.cc, issue 12). CreateJob: AlreadyExists for the same id,
  // audited as "job.create"; GetJob takes a full id or a unique prefix. CreateAsset: AlreadyExists
  // for a taken name ("asset.register"); SetAssetApproval adds or removes a job id from the
  // asset's allowed jobs ("asset.approve" / "asset.revoke"; FailedPrecondition when already so).
  // RecordJobRun stores a finished run and returns its id ("job.run", details without data).
  absl::Status CreateJob(const JobRecord& job, const std::string& actor);
  absl::StatusOr<JobRecord> GetJob(const std::string& collaboration,
                                   const std::string& id_or_prefix);
  absl::StatusOr<std::vector<JobRecord>> ListJobs(const std::string& collaboration);
  absl::Status CreateAsset(const AssetRecord& asset, const std::string& actor);
  absl::StatusOr<AssetRecord> GetAsset(const std::string& collaboration, const std::string& name);
  absl::StatusOr<std::vector<AssetRecord>> ListAssets(const std::string& collaboration);
  absl::Status SetAssetApproval(const std::string& collaboration, const std::string& asset,
                                const std::string& job_id, bool approve, const std::string& actor);
  absl::StatusOr<int64_t> RecordJobRun(const JobRunRecord& run);
  absl::StatusOr<JobRunRecord> GetJobRun(const std::string& collaboration, int64_t id);

  // Audit log: append-only, one hash chain per collaboration (and one for catalog-wide
  // actions); ListAudit returns entries in the order they were written. Append is used by the
  // service for actions that do not change other records (e.g. "query.submitted"); `collaboration`
  // may be empty for catalog-wide actions, `details_json` must be a JSON object (empty means {})
  // and is stored canonicalised. ListAudit("") lists every entry; otherwise the entries of one
  // collaboration (NotFound if it does not exist). An entry's hash is
  //   Sha256Hex(prev_hash + "\n" + canonical JSON of
  //             {"action","actor","collaboration","details","seq","state","time"})
  // with `details` embedded as a JSON object and `state` the entry's state_sha256, so any member
  // can recompute its collaboration's chain.
  absl::Status AppendAudit(const std::string& collaboration, const std::string& actor,
                           const std::string& action, const std::string& details_json);
  absl::StatusOr<std::vector<AuditEntry>> ListAudit(const std::string& collaboration);
  // One page of a collaboration's chain (NotFound if it does not exist), read in one
  // transaction with the head's seq; the caller checks the limit (at least 1).
  absl::StatusOr<AuditPage> ListAuditPage(const std::string& collaboration,
                                          const AuditPageQuery& query);
  // Recomputes one collaboration's chain (NotFound if it has neither a record nor a log) and
  // reports the first edited, reordered or deleted entry (a deleted tail is detected against the
  // head recorded separately), or a policy state that no longer matches the head's digest. With
  // `expected_head` (lowercase hex), the verified chain must also contain that hash — as its
  // head or followed by newer entries (expected_head_seq, entries_after_expected_head) — else
  // the log was cut back or rewritten since the head was noted.
  absl::StatusOr<AuditVerification> VerifyAudit(const std::string& collaboration,
                                                const std::string& expected_head = "");
  // Every chain of the catalog; a problem names its collaboration.
  absl::StatusOr<AuditVerification> VerifyAudit();

  // Organisations and their API tokens (organisations.cc), audited in the catalog-wide chain
  // ("organisation.create", "token.issue", "token.revoke"; details name organisations and token
  // ids, never hashes). CreateOrganisation stores the organisation with its first token:
  // AlreadyExists for a taken name; with `first`, FailedPrecondition unless it is the first
  // organisation (the server's bootstrap, so two bootstraps cannot both succeed). InvalidArgument
  // for a name that is not a member name. `actor` is the organisation acting, or "parley" for the
  // operator at the console.
  absl::Status CreateOrganisation(const Organisation& organisation, const ApiToken& token,
                                  const std::string& actor, bool first = false);
  absl::StatusOr<std::vector<Organisation>> ListOrganisations();  // by name
  // NotFound for an unknown id (revoked tokens are found, with revoked_at set).
  absl::StatusOr<ApiToken> GetToken(const std::string& id);
  // Issues `token` to its organisation (NotFound) and, when `revoke` is not empty, revokes that
  // token of the same organisation in the same transaction (a rotation): NotFound unless it is
  // one of the organisation's tokens, FailedPrecondition when it is already revoked.
  absl::Status IssueToken(const ApiToken& token, const std::string& actor,
                          const std::string& revoke = "");
  // Revokes one of `organisation`'s tokens: NotFound unless it is one, FailedPrecondition when
  // already revoked.
  absl::Status RevokeToken(const std::string& organisation, const std::string& id,
                           const std::string& actor);

  // How results are kept (result_keys.cc). SetMemberKey registers (or replaces) the X25519 public
  // key `member`'s results are sealed to (64 lowercase hex digits, else InvalidArgument), audited
  // as "member.key" in the catalog-wide chain with the key's SHA-256; GetMemberKeys: the keys of
  // those of `members` that have one. SetResultRetention sets (or, with nullopt, clears) how many
  // days a collaboration's results are kept (at least 1, else InvalidArgument), audited as
  // "collaboration.result_retention"; GetResultRetention: nullopt when none is set.
  absl::Status SetMemberKey(const std::string& member, const std::string& public_key_hex,
                            const std::string& actor);
  absl::StatusOr<std::map<std::string, std::string>> GetMemberKeys(
      const std::vector<std::string>& members);
  absl::Status SetResultRetention(const std::string& collaboration, std::optional<int64_t> days,
                                  const std::string& actor);
  absl::StatusOr<std::optional<int64_t>> GetResultRetention(const std::string& collaboration);

  // Webhooks (webhooks.cc): URLs members subscribed to a collaboration's events. AddWebhook
  // stores one for `webhook.member` (an active member: the service checks) and returns its id
  // ("webhook.add", details: id and member, never the URL's text or the secret); ListWebhooks: the
  // collaboration's live webhooks, with their secrets (for signing); RemoveWebhook: NotFound
  // unless `id` is a live webhook of `member` in the collaboration ("webhook.remove").
  absl::StatusOr<int64_t> AddWebhook(const Webhook& webhook, const std::string& actor);
  absl::StatusOr<std::vector<Webhook>> ListWebhooks(const std::string& collaboration);
  absl::Status RemoveWebhook(const std::string& collaboration, int64_t id,
                             const std::string& member);

  // Change requests (changes.cc). The store checks a change's form and that it applies (the member
  // to add is not an active or invited member, the member whose abilities change is active, the
  // payer is "runner" or an active member, a budget is well formed) when it is proposed and again
  // when it commits; who may propose, vote and cancel is the service's to decide.
  //
  // ProposeChange records a pending change with the proposer's approval ("change.propose"); a
  // change of an auto-approved kind, or one every active member has now approved (a collaboration
  // whose only active member proposes), is approved and committed in the same transaction
  // ("change.approved", the effect's own entry, "change.commit"). An add_member change with an
  // `invitation` stores the invitation (its code's hash) too; approved, it adds the member as
  // invited and waits for the code (RedeemInvitation). FailedPrecondition when another pending
  // change of the same kind concerns the same member (or setting).
  absl::StatusOr<ChangeRequest> ProposeChange(const std::string& collaboration,
                                              const std::string& proposer, const Change& change,
                                              const std::optional<Invitation>& invitation = {});
  // A vote of an active member on a pending change: FailedPrecondition when it is not pending or
  // the member has voted already. A denial ends it ("change.deny"); an approval that completes the
  // approvals of every active member approves and commits it as above.
  absl::StatusOr<ChangeRequest> VoteOnChange(const std::string& collaboration, int64_t id,
                                             const std::string& member, bool approve);
  // Cancels a pending change (or an approved invitation not yet redeemed: the invited member is
  // then removed). FailedPrecondition otherwise.
  absl::StatusOr<ChangeRequest> CancelChange(const std::string& collaboration, int64_t id,
                                             const std::string& actor);
  // After a member left or was removed, pending changes it had not voted on may now have every
  // active member's approval: they are approved and committed (actor "parley").
  absl::Status SettleChanges(const std::string& collaboration);
  // NotFound ("change request N not found in collaboration 'X'").
  absl::StatusOr<ChangeRequest> GetChange(const std::string& collaboration, int64_t id);
  absl::StatusOr<std::vector<ChangeRequest>> ListChanges(const std::string& collaboration);
  // Invitations: NotFound for an unknown id. RedeemInvitation makes the invited member active,
  // marks the invitation used and commits its change ("member.join", "change.commit");
  // FailedPrecondition when it was used, its change is not approved (still pending, denied,
  // cancelled) or it expired.
  absl::StatusOr<Invitation> GetInvitation(const std::string& id);
  absl::StatusOr<ChangeRequest> RedeemInvitation(const std::string& id);

  // The store's state; defined in store_impl.h, which only src/catalog includes (public so that
  // the catalog's internal helpers can take it).
  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::catalog
