// The values the service's use cases take and give (requests such as NewTable, views such as
// TableView and QueryOutcome), split from service.h so that the facade reads as its list of use
// cases. Plain data: copy and move freely; no member locks or refers to the service.
#pragma once

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

// A webhook as its member sees it; `secret` only in the answer that created it.
struct WebhookView {
  int64_t id = 0;
  std::string member;
  std::string url;
  int64_t created_at = 0;
  std::string secret;
};

// A file a member uploaded into its own folder of the server's data root (Service::StartUpload).
struct UploadedFile {
  std::string path;  // absolute, under the member's folder of the data root
  std::string name;
  int64_t bytes = 0;
  std::string sha256;
};

// An upload in progress: bytes are written to a temporary file (0600) in the member's folder of
// the data root while their SHA-256 is computed; Commit checks the size and checksum the client
// declared and renames the file to its name, never replacing a file. Destroyed without a
// successful Commit, the temporary file is removed: nothing half-written is kept.
// Thread safety: one thread at a time.
class Upload {
 public:
  ~Upload();
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  // ResourceExhausted (naming the limit) once more than the limit was sent; Internal when the
  // disk refuses. After an error the upload is abandoned.
  absl::Status Write(std::string_view bytes);
  // InvalidArgument when the checksum (or the declared size) does not match what arrived;
  // AlreadyExists when a file of that name appeared meanwhile.
  absl::StatusOr<UploadedFile> Commit();

  struct State;
  explicit Upload(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
};

struct NewCollaboration {
  std::string name;
  std::string description;
  identity::AbilitySet creator_abilities = {identity::Ability::kQuery, identity::Ability::kReceive};
  bool query_logging = false;
  // Differential privacy's budget (ε and δ per calendar month, a default and a maximum ε per
  // query), set here once; tables with differential privacy can be queried only in a
  // collaboration that has one.
  std::optional<catalog::PrivacyBudget> privacy_budget;
  // Who pays for queries: catalog::kRunnerPays or a member (the creator, at creation).
  std::string payer = catalog::kRunnerPays;
  // The kinds of change request (catalog::kChangeKinds) that commit as soon as they are proposed.
  std::vector<std::string> auto_approve;
  // Days its results are kept (the retention sweep deletes older ones); nullopt: until deleted.
  std::optional<int64_t> result_retention_days;
  // Client-side column encryption's settings, fixed here (catalog::EncryptionSettings).
  catalog::EncryptionSettings encryption;
  // How long one of its queries may run (seconds, at most the server's limit); nullopt: the
  // server's limit. Later changed only by change request ("time_limit").
  std::optional<int64_t> time_limit_seconds;
};

// A change request as members review it: the record, and while it is pending the active members
// whose approval it still waits for.
struct ChangeView {
  catalog::ChangeRequest request;
  std::vector<std::string> waiting_for;
};

// An invitation just made: its one-time code (shown to its creator once, never stored), when it
// expires, and the add_member change request it is redeemed for.
struct InvitationView {
  std::string code;
  int64_t expires_at = 0;
  ChangeView change;
};
// How long an invitation's code is valid unless the creator says otherwise (7 days), and at most.
inline constexpr int64_t kInvitationSeconds = 7 * 24 * 3600;
inline constexpr int64_t kMaxInvitationSeconds = 30 * 24 * 3600;

struct NewMember {
  std::string name;
  identity::AbilitySet abilities;
  // kInvited: listed but not yet acting (no front end invites yet; kept for the store's states).
  catalog::MemberStatus status = catalog::MemberStatus::kActive;
};

struct NewTable {
  std::string collaboration;
  std::string name;
  std::string location;              // a path or a glob (the files source's shorthand)
  std::vector<std::string> columns;  // the allowed columns; empty means every column
  // The kind of source and its connector's description (JSON text). An empty description means
  // the files source {"path": location}.
  std::string source_kind = "files";
  std::string source_json;
};

// What a member sees of a table: metadata, never rows.
struct TableView {
  std::string name;
  std::string owner;
  std::string kind;                      // "csv" | "parquet"
  std::optional<std::string> location;   // only for the owner
  std::vector<catalog::Column> columns;  // the allowed columns with their pinned types
  std::optional<std::string> rule_json;
};

// A table as `table add --preview` shows it to its owner: what would be added, and its first rows.
struct TablePreview {
  TableView table;
  connectors::SourcePreview sample;
};

// Accuracy first (dp/accuracy.h): instead of an ε, a target each noisy value must meet; the
// query then spends the smallest ε that meets it. Empty accuracy: none.
struct AccuracyRequest {
  std::string accuracy;    // "50": counts within ±50, sums within ±50 × their column's bound
  std::string confidence;  // "0.95" or "95%"; empty: 0.95
};

struct Explanation {
  policy::Verdict verdict;
  std::string rendered_sql;  // empty when rejected
  // A query over a table with differential privacy: what it spends and each measure's noise
  // scale (dp/noise.h); the rendered SQL computes the exact bounded aggregates it noises.
  std::optional<dp::NoisePlan> noise;
  // Explain of such a query in a collaboration with a budget: the ε left this month before it.
  std::optional<int64_t> epsilon_left;
  std::vector<std::string> tables;
  // The registered engine the query runs on (service/engines.h), when its tables live on one;
  // empty: local DuckDB.
  std::string engine;
  // Conditions a connector reading from PostgreSQL may push into its remote query, by table
  // (query::Plan::postgres_filters).
  std::map<std::string, std::string> postgres_filters;
  int64_t front_end_micros = 0;                // parse + bind + check + rewrite + render
  std::vector<query::Conversion> conversions;  // explicit conversions of data (CAST, ::)
};

// What a run tells the member who ran it. A runner who is not among the receivers learns that
// the query was accepted and finished, and nothing of how: no row count, no run time, and — for
// a query under a custom rule or a template, whose errors may depend on data no threshold
// protects — no error either: a run that failed returns the same outcome as one that succeeded.
// (Aggregation and list queries fail only with a message that does not depend on the data, so
// their runners still see it.) What remains observable is the wall-clock time of the call.
struct QueryOutcome {
  int64_t query_id = 0;
  Explanation explanation;
  std::vector<std::string> receivers;
  std::optional<engine::ResultTable> result;  // present when the actor is a receiver
  std::optional<int64_t> row_count;           // present when the actor is a receiver
  int64_t run_micros = 0;  // engine time, including opening the locked session; 0 unless the
                           // actor is a receiver
  // The stored result is sealed to its receivers' keys (docs/formats/sealed-results.md): front
  // ends then hand out the sealed bytes (SealedResult), never `result`, which only --save-as reads.
  bool sealed = false;
};

// A query checked and recorded as running, not executed yet (Service::SubmitQuery): the server's
// run queue (service/run_queue.h) holds it until a worker executes it (Service::ExecuteRun) or
// it is abandoned (Service::AbandonRun). While it exists it holds the query's run lock, so the
// catalog shows the query running; if the process ends before it is executed, the record is found
// killed (run_lock.h). Execute or abandon it once.
class PreparedRun {
 public:
  ~PreparedRun();
  int64_t query_id() const;
  const std::string& collaboration() const;
  const std::string& runner() const;  // the member who submitted it

  // What the service keeps of it (service_impl.h): opaque to everyone else.
  struct State;
  explicit PreparedRun(std::unique_ptr<State> state);
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// What a submission answers: `finished` when it ended at once (a query the rules reject: its
// verdict lists the violations, and it is recorded as rejected), otherwise the run to execute.
struct Submission {
  std::optional<QueryOutcome> finished;
  std::unique_ptr<PreparedRun> run;
};

// What is left of a collaboration's privacy budget: the budget, and what was spent per month
// (newest first; a month without queries is not listed and has the whole budget).
struct BudgetView {
  std::optional<catalog::PrivacyBudget> budget;
  std::vector<catalog::PrivacySpend> spent;
  std::string current_period;  // "2026-11", by the service's clock (UTC)
};

// A query as one member sees it in a listing (`query list`, `query log`). Row counts and errors
// are shown only to the query's receivers; to any other member (its runner, a table owner) a
// run that succeeded, failed or was cancelled is just "finished": whether a run worked can
// depend on rows the member may not see.
struct QueryView {
  int64_t id = 0;
  int64_t created_at = 0;
  std::string runner;
  std::string sql;
  std::string template_id;  // empty for a free-form query
  std::vector<std::string> receivers;
  std::vector<std::string> tables;
  // "rejected", "running", "killed" for everyone; "succeeded", "failed", "cancelled" for the
  // receivers and kFinishedStatus for the others.
  std::string status;
  std::string verdict_json;          // the violations of a rejected query
  std::optional<int64_t> row_count;  // a succeeded query, for its receivers
  std::optional<std::string> error;  // a failed or cancelled query, for its receivers
};
inline constexpr char kFinishedStatus[] = "finished";

// A result kept in the home, for one of its receivers.
struct StoredResultView {
  int64_t query_id = 0;
  int64_t created_at = 0;
  std::string runner;
  std::vector<std::string> receivers;
  int64_t row_count = 0;
  int64_t bytes = 0;  // stored: its bytes in the catalog, or its file's size
};

// The home as its operator sees it (`parley home info`).
struct HomeInfo {
  std::string path;
  int64_t total_bytes = 0;    // everything under the home
  int64_t catalog_bytes = 0;  // catalog.db and its WAL
  int64_t result_count = 0;   // results kept, over every collaboration
  int64_t result_bytes = 0;
  std::optional<int64_t> result_retention_days;  // none: results are kept until deleted
};

struct NewTemplate {
  std::string collaboration;
  std::string name;
  std::string sql;                           // with :name parameters
  std::vector<std::string> parameter_specs;  // "name:type[=default]"
};

// A template as a member reviews it: its text, parameters, the tables it reads, and which of
// those tables' owners have approved it.
struct TemplateView {
  std::string id;
  std::string name;
  std::string author;
  std::string sql;
  std::vector<TemplateParameter> parameters;
  int64_t created_at = 0;
  struct TableApproval {
    std::string table;
    std::string owner;
    // Ordinary table: its custom rule lists the template in allowed_analyses, or it has an
    // aggregation rule, which judges each run like a free query and needs no approval. A saved
    // result's table (co_owned): every co-owner, the owner included, has approved it.
    bool approved = false;
    bool co_owned = false;
    std::vector<std::string> approved_by;  // co-owners who approved (co_owned only)
    std::vector<std::string> pending;      // co-owners who have not (co_owned only)
  };
  std::vector<TableApproval> tables;
  bool altered = false;   // its stored content no longer matches its id: it never runs
  bool runnable() const;  // every table it reads approves it, and it is not altered
};

// `parley query explain --save-as NAME`: what the saved table's rule would be.
struct SavePreview {
  Explanation explanation;           // the verdict a run would get
  std::optional<policy::Rule> rule;  // the derived rule, when allowed and savable
  std::string refused;               // why the result could not be saved ("" when it can)
  // Who would approve analysis templates over it: the inputs' owners, transitively, and the
  // runner (who would own it).
  std::vector<std::string> co_owners;
};

// What a member may do with each table, before it asks (`parley policy`).
struct TablePolicy {
  std::string table;
  std::string owner;
  std::vector<catalog::Column> columns;
  std::optional<policy::Rule> rule;  // nullopt: no rule yet, the table cannot be queried
};

struct PolicyView {
  std::string member;
  identity::AbilitySet abilities;
  std::vector<TablePolicy> tables;
  // Merged across the tables of each rule kind, strictest winning: scalar functions and join
  // operators every aggregation (or list) table allows, the largest threshold per column.
  std::set<std::string> aggregation_scalar_functions;
  std::set<std::string> aggregation_join_operators;
  std::set<std::string> list_join_operators;
  // Custom tables: whether the member may send free-form queries to each, and the templates it
  // may run (approved by every table they read).
  std::vector<std::string> free_form_custom_tables;
  std::vector<TemplateView> runnable_templates;
};

// Metering (usage.cc). One line of a usage report: the metered queries of one member, payer
// or month, added up, and their cost at the report's price.
struct UsageLine {
  std::string key;  // the member, the payer or the month ("2026-11")
  int64_t queries = 0;
  int64_t rows_scanned = 0;
  int64_t bytes_scanned = 0;  // measured; the estimate of a run still going or killed
  int64_t duration_micros = 0;
  int64_t result_rows = 0;
  int64_t result_bytes = 0;
  int64_t cost_micros = 0;  // bytes_scanned at the price per TB, in millionths
};

// A table's size as metering's estimates use it (measured when it was added or repointed).
struct TableSizeView {
  std::string table;
  std::string owner;
  std::optional<int64_t> rows;  // not known for a remote table never analysed
  int64_t bytes = 0;
};

// `parley usage`: what the collaboration's queries scanned, by member (who ran them), payer (who
// pays) or month, for one month or all; for every active member alike — totals, never SQL. With
// the caller's own limits and this month's use against them, and the tables' sizes.
struct UsageReport {
  std::string by;     // "member" | "payer" | "month"
  std::string month;  // "" for every month
  std::string current_period;
  int64_t price_per_tb_micros = 0;
  std::vector<UsageLine> lines;  // by key
  UsageLine total;               // key "total"
  catalog::UsageLimits limits;   // the caller's
  int64_t used_this_month = 0;   // by queries the caller pays for, reservations included
  std::vector<TableSizeView> tables;
};

// A token just issued: shown to its holder once (`token`), never stored or shown again.
struct IssuedToken {
  std::string organisation;
  std::string token_id;
  std::string token;
  std::string revoked_token_id;  // a rotation: the token it replaced, now revoked
};

}  // namespace parley::service
