// The private half of the service: the state a Service owns (home, store, engine sessions) and
// the use cases behind the facade, one source file each:
//
//   collaborations.cc  create, list, show        members.cc    add, remove, leave
//   tables.cc          add, list, show; whose files a table may read
//   rules.cc           set a rule; the rules of a snapshot of tables
//   queries.cc         explain, run: check, record, execute, deliver
//   execution.cc       the engine sessions a query runs in
//   results.cc         the stored result of a query, for its receivers
//   query_log.cc       the queries a member ran, receives, or may see in its query log
//   templates.cc       analysis templates: author, review, approve, revoke, run
//   audit.cc           the audit log and its verification
//   policy_summary.cc  what a member may do, before it asks
//
// Only the service's own sources include this header; front ends see service.h alone.
// Thread safety: as Service (one thread at a time).
#pragma once

#include <chrono>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catalog/store.h"
#include "connectors/connector.h"
#include "exec/engine.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "service/service.h"
#include "sql/binder.h"

namespace parley::service {
namespace internal {

int64_t MicrosSince(std::chrono::steady_clock::time_point start);

// The tables of a collaboration as the binder sees them: allowed columns with pinned types.
class CatalogSchemas : public sql::SchemaProvider {
 public:
  explicit CatalogSchemas(const std::vector<catalog::Table>& tables);
  const sql::TableSchema* FindTable(std::string_view name) const override;

 private:
  std::vector<sql::TableSchema> schemas_;
};

class CatalogRules : public policy::RuleProvider {
 public:
  const policy::Rule* RuleFor(const std::string& table) const override {
    auto it = rules_.find(table);
    return it == rules_.end() ? nullptr : &it->second;
  }
  std::map<std::string, policy::Rule> rules_;
};

bool Receives(const std::vector<std::string>& receivers, const std::string& member);

// What `member` sees of a table: metadata, and its location only if it owns the table.
// `registry` summarises the source (its format, and its location for its owner only).
TableView ViewOfTable(const connectors::Registry& registry, const catalog::Table& table,
                      const std::string& member);

// The stored form of a result (a JSON document of columns and rows), and back; DataLoss when a
// stored result is unreadable.
std::string ResultToJson(const exec::ResultTable& result);
absl::StatusOr<exec::ResultTable> ResultFromJson(const std::string& text);

// Writes `contents` to `path` readable by its owner only, through a temporary file and a rename
// so that a crash never leaves a half-written result.
absl::Status WritePrivateFile(const std::filesystem::path& path, const std::string& contents);

}  // namespace internal

struct Service::Impl {
  std::filesystem::path home;
  Options options;
  std::unique_ptr<catalog::Store> store;
  // Never null: options.connectors or the built-in registry.
  const connectors::Registry* connectors = nullptr;

  // The connector of a table's kind of source. InvalidArgument naming the table and the kind for
  // a kind this build has no connector for (a catalog written by a build with more connectors).
  absl::StatusOr<const connectors::Connector*> ConnectorOf(const catalog::Table& table) const {
    absl::StatusOr<const connectors::Connector*> found = connectors->Find(table.source_kind);
    if (found.ok()) return found;
    return absl::InvalidArgumentError(
        absl::StrCat("table '", table.name, "': ", found.status().message()));
  }

  // Locked sessions kept for reuse, most recently used first. Opening and closing a DuckDB
  // instance costs ~20 ms per query; a locked session is safe to reuse because its views are
  // fixed, its configuration is locked and it only ever runs generated SELECT statements. The
  // key is the exact set of views (names, generated SQL, paths), so any change of table,
  // location, file or allowed column opens a new one. A session that failed is dropped.
  struct CachedSession {
    std::vector<exec::SourceView> views;  // the key, compared whole: no encoding to collide
    std::unique_ptr<exec::Session> session;
  };
  static constexpr size_t kCachedSessions = 4;
  std::list<CachedSession> sessions;

  // --- The use cases, as the facade calls them (see service.h for their contracts). ---

  // collaborations.cc
  absl::Status CreateCollaboration(const std::string& actor, const NewCollaboration& request);
  absl::StatusOr<std::vector<catalog::Collaboration>> ListCollaborations(const std::string& actor);
  absl::StatusOr<catalog::Collaboration> ShowCollaboration(const std::string& actor,
                                                           const std::string& collaboration);
  // members.cc
  absl::Status AddMember(const std::string& actor, const std::string& collaboration,
                         const catalog::Member& member);
  absl::Status RemoveMember(const std::string& actor, const std::string& collaboration,
                            const std::string& member);
  absl::Status Leave(const std::string& actor, const std::string& collaboration);
  // tables.cc
  absl::Status AddTable(const std::string& actor, const NewTable& request);
  absl::StatusOr<std::vector<TableView>> ListTables(const std::string& actor,
                                                    const std::string& collaboration);
  absl::StatusOr<TableView> ShowTable(const std::string& actor, const std::string& collaboration,
                                      const std::string& table);
  // rules.cc
  absl::Status SetRule(const std::string& actor, const std::string& collaboration,
                       const std::string& table, const std::string& rule_json);
  // queries.cc
  absl::StatusOr<Explanation> Explain(const std::string& actor, const std::string& collaboration,
                                      const std::string& sql, std::vector<std::string> receivers);
  absl::StatusOr<QueryOutcome> Run(const std::string& actor, const std::string& collaboration,
                                   const std::string& sql, std::vector<std::string> receivers);
  // results.cc
  absl::StatusOr<exec::ResultTable> Result(const std::string& actor,
                                           const std::string& collaboration, int64_t query_id);
  // query_log.cc
  absl::StatusOr<std::vector<QueryView>> ListQueries(const std::string& actor,
                                                     const std::string& collaboration);
  absl::StatusOr<std::vector<QueryView>> QueryLog(const std::string& actor,
                                                  const std::string& collaboration);
  // templates.cc
  absl::StatusOr<std::string> CreateTemplate(const std::string& actor, const NewTemplate& request);
  absl::StatusOr<TemplateView> ShowTemplate(const std::string& actor,
                                            const std::string& collaboration,
                                            const std::string& template_id);
  absl::StatusOr<std::vector<TemplateView>> ListTemplates(const std::string& actor,
                                                          const std::string& collaboration);
  // Adds the template to (or removes it from) the allowed_analyses of the table's custom rule.
  absl::Status SetApproval(const std::string& actor, const std::string& collaboration,
                           const std::string& template_id, const std::string& table_name,
                           bool approve);
  absl::StatusOr<QueryOutcome> RunTemplate(const std::string& actor,
                                           const std::string& collaboration,
                                           const std::string& template_id,
                                           const std::map<std::string, std::string>& values,
                                           std::vector<std::string> receivers);
  // audit.cc
  absl::StatusOr<std::vector<catalog::AuditEntry>> ListAudit(const std::string& actor,
                                                             const std::string& collaboration);
  absl::StatusOr<catalog::AuditVerification> VerifyAudit(const std::string& actor,
                                                         const std::string& collaboration,
                                                         const std::string& expected_head);
  // policy_summary.cc
  absl::StatusOr<PolicyView> Policy(const std::string& actor, const std::string& collaboration);

  // --- Shared by the use cases. ---

  // The actor as an active member of the collaboration (collaborations.cc).
  absl::StatusOr<catalog::Member> ActiveMember(const catalog::Collaboration& collaboration,
                                               const std::string& actor);

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

  struct QueryContext {
    catalog::Collaboration collaboration;
    catalog::Member member;
    std::vector<catalog::Table> tables;
    // The digest of the policy state `collaboration` and `tables` were read from (one
    // transaction): the result is released only if it is still the digest at delivery.
    std::string policy_digest;
  };
  absl::StatusOr<QueryContext> LoadQueryContext(const std::string& actor,
                                                const std::string& collaboration);

  // What is analysed: the text recorded for the query, the text parsed (a template's with `$n`
  // for its parameters), typed parameter values, and who asks for whom.
  struct Request {
    std::string sql;        // as submitted (a template's own text)
    std::string parse_sql;  // what the parser reads
    sql::BindOptions bind;
    std::string template_id;
    std::vector<std::string> receivers;
  };

  // Parse → bind → check → rewrite → render. A rejection is in the verdict; a query that does
  // not parse or bind is an InvalidArgument error.
  absl::StatusOr<Explanation> Analyze(const QueryContext& context, const Request& request);
  static absl::Status PolicyChanged(const std::string& collaboration, int64_t query_id);
  absl::Status RecordRejection(const QueryContext& context, const Request& request,
                               const std::string& verdict_json,
                               const std::vector<std::string>& tables, int64_t* id);
  absl::StatusOr<std::vector<std::string>> ValidateReceivers(const QueryContext& context,
                                                             std::vector<std::string> receivers);

  // Checks and runs a request whose receivers are validated; records and audits the outcome.
  absl::StatusOr<QueryOutcome> RunRequest(const QueryContext& context, const Request& request);
  // Ends the running record of `query_id` with the run's outcome (storing the result for the
  // receivers); an error when the result or the record cannot be written, or PolicyChanged
  // (Aborted) when the policy changed since the query was checked — then nothing is stored or
  // released, and every runner is told so, receiver or not: a policy change does not depend on
  // the data, and the log shows it to every member anyway.
  absl::Status FinishRun(const QueryContext& context, const Request& request, int64_t query_id,
                         const absl::StatusOr<exec::ResultTable>& result);
  // What the actor is told of a finished run (see QueryOutcome).
  absl::StatusOr<QueryOutcome> Deliver(const QueryContext& context, const Request& request,
                                       QueryOutcome outcome,
                                       absl::StatusOr<exec::ResultTable> result);
  static QueryOutcome WithheldOutcome(QueryOutcome outcome);

  // execution.cc: runs a checked query's rendered SQL in a locked session over the files of the
  // tables it reads, checked now against their owners' claims and pinned schemas.
  absl::StatusOr<exec::ResultTable> Execute(const QueryContext& context,
                                            const Explanation& explanation);
  absl::StatusOr<exec::Session*> SessionFor(const std::vector<exec::SourceView>& views,
                                            bool* reused);
  void DropSession(const exec::Session* session);

  std::filesystem::path RunLockDirectory() const { return home / "running"; }
  // Marks killed the queries recorded as running whose process has died (nobody holds their
  // run lock), and removes their lock files. Called when a Service opens and before listings,
  // so a killed run shows as killed wherever queries are listed (query_log.cc).
  absl::Status MarkKilledRuns();

  // Every file any table reads now — in any collaboration, whatever its owner's status — with
  // the owners of those tables. Built once per query or registration (it lists every table and
  // examines its files), then consulted by CheckOwnFiles (tables.cc).
  struct RegisteredFiles {
    std::map<connectors::FileId, std::set<std::string>> readers;  // file → owners reading it now
    std::map<catalog::FileIdentity, std::string> claims;          // file → who registered it
  };
  absl::StatusOr<RegisteredFiles> AllRegisteredFiles();
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

  std::filesystem::path ResultPath(const std::string& collaboration,
                                   const std::string& stem) const {
    return home / "results" / collaboration / (stem + ".json");
  }
};

}  // namespace parley::service
