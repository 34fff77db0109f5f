#include "service/service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/file_source.h"
#include "crypto/sha256.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "rewrite/render.h"
#include "rewrite/rewrite.h"
#include "service/run_lock.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::service {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// The tables of a collaboration as the binder sees them: allowed columns with pinned types.
class CatalogSchemas : public sql::SchemaProvider {
 public:
  explicit CatalogSchemas(const std::vector<catalog::Table>& tables) {
    for (const catalog::Table& table : tables) {
      sql::TableSchema schema{table.name, table.owner, {}};
      for (const std::string& column : table.allowed_columns) {
        for (const catalog::Column& pinned : table.source_schema) {
          if (pinned.name == column) schema.columns.push_back({pinned.name, pinned.type});
        }
      }
      schemas_.push_back(std::move(schema));
    }
  }
  const sql::TableSchema* FindTable(std::string_view name) const override {
    absl::string_view wanted(name.data(), name.size());
    for (const sql::TableSchema& schema : schemas_) {
      if (absl::EqualsIgnoreCase(schema.name, wanted)) return &schema;
    }
    return nullptr;
  }

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

std::string Abilities(const catalog::Member& member) {
  std::vector<std::string> abilities;
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  return abilities.empty() ? "none" : absl::StrJoin(abilities, ", ");
}

std::string ResultToJson(const exec::ResultTable& result) {
  Json columns = Json::array();
  for (const exec::ResultColumn& column : result.columns) {
    columns.push_back({{"name", column.name}, {"type", column.type}});
  }
  Json rows = Json::array();
  for (const auto& row : result.rows) {
    Json values = Json::array();
    for (const auto& value : row) values.push_back(value ? Json(*value) : Json(nullptr));
    rows.push_back(std::move(values));
  }
  return Json{{"columns", columns}, {"rows", rows}}.dump();
}

absl::StatusOr<exec::ResultTable> ResultFromJson(const std::string& text) {
  Json json = Json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.contains("columns") || !json.contains("rows")) {
    return absl::DataLossError("the stored result is unreadable");
  }
  // A result file is ours, but it lives on disk: check every shape rather than trust it.
  const Json& columns = json["columns"];
  const Json& rows = json["rows"];
  if (!columns.is_array() || !rows.is_array()) {
    return absl::DataLossError("the stored result is unreadable");
  }
  exec::ResultTable result;
  for (const Json& column : columns) {
    if (!column.is_object() || !column.contains("name") || !column["name"].is_string() ||
        !column.contains("type") || !column["type"].is_string()) {
      return absl::DataLossError("the stored result is unreadable");
    }
    result.columns.push_back(
        {column["name"].get<std::string>(), column["type"].get<std::string>()});
  }
  for (const Json& row : rows) {
    if (!row.is_array() || row.size() != result.columns.size()) {
      return absl::DataLossError("the stored result is unreadable");
    }
    std::vector<std::optional<std::string>> values;
    for (const Json& value : row) {
      if (!value.is_null() && !value.is_string()) {
        return absl::DataLossError("the stored result is unreadable");
      }
      values.push_back(value.is_null() ? std::nullopt
                                       : std::optional<std::string>(value.get<std::string>()));
    }
    result.rows.push_back(std::move(values));
  }
  return result;
}

// Writes `contents` to `path` readable by its owner only, through a temporary file and a rename
// so that a crash never leaves a half-written result.
absl::Status WritePrivateFile(const fs::path& path, const std::string& contents) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error)
    return absl::InternalError(absl::StrCat("cannot create ", path.parent_path().string()));
  fs::path temporary = path;
  temporary += ".tmp";
  // Created 0600 from the start (never readable by others, even briefly) and exclusively.
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", temporary.string()));
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  bool synced = written == contents.size() && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !synced) {
    fs::remove(temporary, error);
    return absl::InternalError(absl::StrCat("cannot write ", temporary.string()));
  }
  fs::rename(temporary, path, error);
  if (error) {
    fs::remove(temporary, error);
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

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

bool Receives(const std::vector<std::string>& receivers, const std::string& member) {
  return std::find(receivers.begin(), receivers.end(), member) != receivers.end();
}

// A query record as `member` may see it: how a run ended, its row count and its error only for
// the query's receivers.
QueryView ViewOfQuery(const catalog::QueryRecord& record, const std::string& member) {
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

// Audit entries of catalogs written before outcomes left the log ("query.succeeded" with a row
// count, "query.failed") are shown to a member who does not receive that query as
// "query.finished" without the count.
void RedactLegacyOutcome(catalog::AuditEntry& entry,
                         const std::map<int64_t, std::vector<std::string>>& receivers,
                         const std::string& member) {
  if (entry.action != "query.succeeded" && entry.action != "query.failed") return;
  Json details = Json::parse(entry.details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object() || !details.contains("query_id") ||
      !details["query_id"].is_number_integer()) {
    return;
  }
  auto it = receivers.find(details["query_id"].get<int64_t>());
  if (it != receivers.end() && Receives(it->second, member)) return;
  details.erase("row_count");
  details.erase("error");
  entry.action = "query.finished";
  entry.details_json = details.dump();
}

}  // namespace

struct Service::Impl {
  fs::path home;
  Options options;
  std::unique_ptr<catalog::Store> store;

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

  absl::StatusOr<exec::Session*> SessionFor(const std::vector<exec::SourceView>& views,
                                            bool* reused) {
    *reused = false;
    for (auto it = sessions.begin(); it != sessions.end(); ++it) {
      if (it->views != views) continue;
      sessions.splice(sessions.begin(), sessions, it);
      *reused = true;
      return sessions.front().session.get();
    }
    PARLEY_ASSIGN_OR_RETURN(auto session, exec::Session::Open(views, options.limits));
    if (options.on_session_opened) options.on_session_opened();
    sessions.push_front(CachedSession{views, std::move(session)});
    if (sessions.size() > kCachedSessions) sessions.pop_back();
    return sessions.front().session.get();
  }

  void DropSession(const exec::Session* session) {
    sessions.remove_if(
        [&](const CachedSession& cached) { return cached.session.get() == session; });
  }

  // The actor as an active member of the collaboration.
  absl::StatusOr<catalog::Member> ActiveMember(const catalog::Collaboration& collaboration,
                                               const std::string& actor) {
    for (const catalog::Member& member : collaboration.members) {
      if (member.name != actor) continue;
      if (member.status != catalog::MemberStatus::kActive) {
        return absl::PermissionDeniedError(
            absl::StrCat("member '", actor, "' is ", catalog::MemberStatusName(member.status),
                         " in collaboration '", collaboration.name, "', not active"));
      }
      return member;
    }
    return absl::PermissionDeniedError(
        absl::StrCat("'", actor, "' is not a member of collaboration '", collaboration.name, "'"));
  }

  // The tables of a collaboration whose owners are active members: the tables of members who
  // left or were removed are out of the room with their owner — not listed, shown, bound or run.
  absl::StatusOr<std::vector<catalog::Table>> ActiveTables(
      const catalog::Collaboration& collaboration) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                            store->ListTables(collaboration.name));
    return TablesOfActiveMembers(collaboration, std::move(tables));
  }
  static std::vector<catalog::Table> TablesOfActiveMembers(
      const catalog::Collaboration& collaboration, std::vector<catalog::Table> tables) {
    std::vector<catalog::Table> active;
    for (catalog::Table& table : tables) {
      for (const catalog::Member& member : collaboration.members) {
        if (member.name == table.owner && member.status == catalog::MemberStatus::kActive) {
          active.push_back(std::move(table));
          break;
        }
      }
    }
    return active;
  }
  absl::StatusOr<std::vector<catalog::Table>> ActiveTables(const std::string& collaboration) {
    PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found, store->GetCollaboration(collaboration));
    return ActiveTables(found);
  }

  struct QueryContext {
    catalog::Collaboration collaboration;
    catalog::Member member;
    std::vector<catalog::Table> tables;
    // The digest of the policy state `collaboration` and `tables` were read from (one
    // transaction): the result is released only if it is still the digest at delivery.
    std::string policy_digest;
  };

  absl::StatusOr<QueryContext> LoadQueryContext(const std::string& actor,
                                                const std::string& collaboration) {
    QueryContext context;
    PARLEY_ASSIGN_OR_RETURN(catalog::PolicySnapshot snapshot,
                            store->GetPolicySnapshot(collaboration));
    context.collaboration = std::move(snapshot.collaboration);
    context.policy_digest = std::move(snapshot.digest);
    PARLEY_ASSIGN_OR_RETURN(context.member, ActiveMember(context.collaboration, actor));
    if (!context.member.can_query) {
      return absl::PermissionDeniedError(
          absl::StrCat("member '", actor, "' does not have the 'query' ability in collaboration '",
                       collaboration, "' (abilities: ", Abilities(context.member), ")"));
    }
    context.tables = TablesOfActiveMembers(context.collaboration, std::move(snapshot.tables));
    return context;
  }

  // What is analysed: the text recorded for the query, the text parsed (a template's with `$n`
  // for its parameters), typed parameter values, and who asks for whom.
  struct Request {
    std::string sql;        // as submitted (a template's own text)
    std::string parse_sql;  // what the parser reads
    sql::BindOptions bind;
    std::string template_id;
    std::vector<std::string> receivers;
  };

  absl::StatusOr<CatalogRules> LoadRules(const std::vector<catalog::Table>& tables) {
    CatalogRules rules;
    for (const catalog::Table& table : tables) {
      if (!table.rule_json) continue;
      auto rule = policy::ParseRule(*table.rule_json, table.allowed_columns);
      if (!rule.ok()) {
        return absl::InternalError(
            absl::StrCat("the stored rule of table '", table.name,
                         "' no longer validates: ", rule.status().message()));
      }
      rules.rules_[table.name] = *std::move(rule);
    }
    return rules;
  }

  // Parse → bind → check → rewrite → render. A rejection is in the verdict; a query that does
  // not parse or bind is an InvalidArgument error.
  absl::StatusOr<Explanation> Analyze(const QueryContext& context, const Request& request) {
    auto start = std::chrono::steady_clock::now();
    CatalogSchemas schemas(context.tables);
    PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(context.tables));
    PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(request.parse_sql));
    PARLEY_ASSIGN_OR_RETURN(sql::BoundQuery bound,
                            sql::Bind(*statement, schemas, request.parse_sql, request.bind));
    Explanation explanation;
    std::set<std::string> seen;
    for (const sql::BoundTable* table : bound.BaseTables()) {
      if (seen.insert(table->schema->name).second) {
        explanation.tables.push_back(table->schema->name);
      }
    }
    policy::CheckContext check{context.member.name, request.template_id, request.receivers};
    explanation.verdict = policy::Check(bound, rules, check, request.parse_sql);
    if (explanation.verdict.allowed()) {
      rewrite::Rewrite(bound, explanation.verdict, request.parse_sql);
      // The rewrite refuses operations that could fail on the data and have no guard.
      if (explanation.verdict.allowed()) explanation.rendered_sql = rewrite::RenderDuckDb(bound);
    }
    explanation.front_end_micros = MicrosSince(start);
    return explanation;
  }

  static absl::Status PolicyChanged(const std::string& collaboration, int64_t query_id) {
    return absl::AbortedError(absl::StrCat(
        "query ", query_id, " failed: the policy of collaboration '", collaboration,
        "' changed during the run (a rule, table, member or template), so nothing was released; "
        "run it again to have it checked against the policy now in force"));
  }

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

  fs::path RunLockDirectory() const { return home / "running"; }

  // Marks killed the queries recorded as running whose process has died (nobody holds their
  // run lock), and removes their lock files. Called when a Service opens and before listings,
  // so a killed run shows as killed wherever queries are listed.
  absl::Status MarkKilledRuns() {
    fs::path directory = RunLockDirectory();
    return store
        ->MarkKilledQueries([&](const catalog::QueryRecord& query) {
          bool abandoned = RunLock::Abandoned(directory, query.run_lock);
          if (abandoned) RunLock::Remove(directory, query.run_lock);
          return abandoned;
        })
        .status();
  }

  absl::Status RecordRejection(const QueryContext& context, const Request& request,
                               const std::string& verdict_json,
                               const std::vector<std::string>& tables, int64_t* id) {
    catalog::QueryRecord record;
    record.collaboration = context.collaboration.name;
    record.runner = context.member.name;
    record.sql = request.sql;
    record.template_id = request.template_id;
    record.status = catalog::QueryStatus::kRejected;
    record.verdict_json = verdict_json;
    record.tables = tables;
    record.receivers = request.receivers;
    PARLEY_ASSIGN_OR_RETURN(*id, store->RecordQuery(record));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ValidateReceivers(const QueryContext& context,
                                                             std::vector<std::string> receivers) {
    if (receivers.empty()) {
      if (!context.member.can_receive) {
        return absl::InvalidArgumentError(absl::StrCat(
            "member '", context.member.name,
            "' cannot receive results; name a receiver with the 'receive' ability"));
      }
      receivers.push_back(context.member.name);
    }
    std::set<std::string> seen;
    for (const std::string& receiver : receivers) {
      if (!seen.insert(receiver).second) {
        return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver, "' is named twice"));
      }
      const catalog::Member* found = nullptr;
      for (const catalog::Member& member : context.collaboration.members) {
        if (member.name == receiver) found = &member;
      }
      if (found == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver,
                                                       "' is not a member of collaboration '",
                                                       context.collaboration.name, "'"));
      }
      if (found->status != catalog::MemberStatus::kActive || !found->can_receive) {
        return absl::InvalidArgumentError(
            absl::StrCat("receiver '", receiver,
                         "' may not receive results (it needs the 'receive' ability "
                         "and an active membership)"));
      }
    }
    return receivers;
  }

  // Every file any table reads now — in any collaboration, whatever its owner's status — with
  // the owners of those tables. Built once per query or registration (it lists every table and
  // examines its files), then consulted by CheckOwnFiles.
  struct RegisteredFiles {
    std::map<connectors::FileId, std::set<std::string>> readers;  // file → owners reading it now
    std::map<catalog::FileIdentity, std::string> claims;          // file → who registered it
  };
  absl::StatusOr<RegisteredFiles> AllRegisteredFiles() {
    RegisteredFiles registered;
    PARLEY_ASSIGN_OR_RETURN(registered.claims, store->ListFileClaims());
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Collaboration> collaborations,
                            store->ListCollaborations());
    for (const catalog::Collaboration& collaboration : collaborations) {
      PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                              store->ListTables(collaboration.name));
      for (const catalog::Table& table : tables) {
        for (const connectors::FileId& file : connectors::SourceFiles(table.location)) {
          registered.readers[file].insert(table.owner);
        }
      }
    }
    return registered;
  }

  // The refusal of a registration that reads another member's file.
  static absl::Status OwnershipRefusal(const std::string& location) {
    return absl::PermissionDeniedError(
        absl::StrCat("the source '", location,
                     "' reads a file that another member registered; a member may only "
                     "register its own data"));
  }

  // An error when any of `files` was registered by another member or, for a file nobody claimed
  // (a table registered before claims were recorded, or a file a glob matches since), is also
  // read by a table of another member: nobody can make another member's data their own by path,
  // glob or link. A file its owner claimed stays its owner's whatever other tables match it
  // since, so no one can make an owner's table unqueryable by pointing a table at its file.
  // `table` names the table (FailedPrecondition before a query); when adding one it is empty and
  // `location`, as the member gave it, is named instead (PermissionDenied).
  static absl::Status CheckOwnFiles(const std::string& owner, const std::vector<std::string>& files,
                                    const RegisteredFiles& registered, const std::string& table,
                                    const std::string& location = "") {
    for (const std::string& path : files) {
      for (const connectors::FileId& file : connectors::SourceFiles(path)) {
        bool others = false;
        if (auto claim = registered.claims.find(file); claim != registered.claims.end()) {
          others = claim->second != owner;
        } else if (auto it = registered.readers.find(file); it != registered.readers.end()) {
          others = std::any_of(it->second.begin(), it->second.end(),
                               [&](const std::string& name) { return name != owner; });
        }
        if (!others) continue;
        if (table.empty()) return OwnershipRefusal(location);
        return absl::FailedPreconditionError(
            absl::StrCat("table '", table, "' of member '", owner,
                         "' now reads a file of a table of another member; it cannot be "
                         "queried until its owner points it at its own data"));
      }
    }
    return absl::OkStatus();
  }

  static bool ProtectsRows(const Explanation& explanation) {
    return explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
           explanation.verdict.rule_kind == policy::RuleKind::kList;
  }

  // For rules that protect rows, whatever still fails while the engine runs (an error the guards
  // did not foresee, a limit, a cancellation) is reported, returned and recorded with one fixed
  // message: the engine's own message, or even its class, could depend on rows the runner may
  // not see (issue 6). The code is the same too.
  static absl::Status RunFailure() {
    return absl::AbortedError(
        "the query failed while it ran; for aggregation and list rules the cause is not shown, "
        "because it could depend on rows that no one may see");
  }

  absl::StatusOr<exec::ResultTable> Execute(const QueryContext& context,
                                            const Explanation& explanation) {
    std::vector<const catalog::Table*> touched;
    std::vector<exec::SourceView> views;
    PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
    for (const std::string& name : explanation.tables) {
      for (const catalog::Table& table : context.tables) {
        if (table.name != name) continue;
        touched.push_back(&table);
        // The exact files are resolved now and checked now; DuckDB gets those paths and no
        // other, so a link re-pointed or a file added since the table was registered cannot
        // bring another member's rows in.
        PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                                connectors::SourcePaths(table.location));
        PARLEY_RETURN_IF_ERROR(CheckOwnFiles(table.owner, files, registered, table.name));
        views.push_back(connectors::ViewFor(table, files));
      }
    }
    // The files are read afresh by every query, so the pinned schemas are checked every time. A
    // reused session's views were bound to the files as they were; if a file changed shape they
    // fail to bind, so the check is repeated once on a fresh session for a clear message.
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      PARLEY_ASSIGN_OR_RETURN(exec::Session * session, SessionFor(views, &reused));
      absl::Status pinned = absl::OkStatus();
      for (const catalog::Table* table : touched) {
        pinned = connectors::CheckPinnedSchema(*session, *table);
        if (!pinned.ok()) break;
      }
      if (!pinned.ok()) {
        DropSession(session);
        if (reused && attempt == 0) continue;
        return pinned;
      }
      absl::StatusOr<exec::ResultTable> result = session->Run(explanation.rendered_sql);
      if (!result.ok()) {
        DropSession(session);
        if (ProtectsRows(explanation)) return RunFailure();
      }
      return result;
    }
  }

  // The tables a template reads, found by binding it with placeholder values; InvalidArgument
  // when it does not parse or bind.
  absl::StatusOr<std::vector<std::string>> TemplateTables(
      const std::vector<catalog::Table>& tables, const std::string& text,
      const std::vector<TemplateParameter>& parameters) {
    PARLEY_ASSIGN_OR_RETURN(std::string positional, PositionalSql(text, parameters));
    PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(positional));
    CatalogSchemas schemas(tables);
    PARLEY_ASSIGN_OR_RETURN(sql::BoundQuery bound,
                            sql::Bind(*statement, schemas, positional,
                                      sql::BindOptions{PlaceholderValues(parameters)}));
    std::vector<std::string> read;
    for (const sql::BoundTable* table : bound.BaseTables()) {
      if (std::find(read.begin(), read.end(), table->schema->name) == read.end()) {
        read.push_back(table->schema->name);
      }
    }
    return read;
  }

  // A stored template, refused if its content no longer hashes to its id.
  struct LoadedTemplate {
    catalog::AnalysisTemplate record;
    std::vector<TemplateParameter> parameters;
  };
  absl::StatusOr<LoadedTemplate> LoadTemplate(const std::string& collaboration,
                                              const std::string& template_id) {
    LoadedTemplate loaded;
    PARLEY_ASSIGN_OR_RETURN(loaded.record, store->GetTemplate(collaboration, template_id));
    absl::StatusOr<std::vector<TemplateParameter>> parameters =
        ParametersFromJson(loaded.record.parameters_json);
    if (!parameters.ok() || TemplateId(loaded.record.sql, *parameters) != loaded.record.id) {
      return absl::DataLossError(
          absl::StrCat("template ", loaded.record.id.substr(0, 12),
                       " was altered after it was created: its content no longer matches its id"));
    }
    loaded.parameters = *std::move(parameters);
    return loaded;
  }

  absl::StatusOr<TemplateView> ViewOfTemplate(const catalog::AnalysisTemplate& record,
                                              const std::vector<TemplateParameter>& parameters,
                                              const std::vector<catalog::Table>& tables) {
    TemplateView view;
    view.id = record.id;
    view.name = record.name;
    view.author = record.author;
    view.sql = record.sql;
    view.parameters = parameters;
    view.created_at = record.created_at;
    PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(tables));
    PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                            TemplateTables(tables, record.sql, parameters));
    for (const std::string& name : read) {
      TemplateView::TableApproval approval{name, "", false};
      for (const catalog::Table& table : tables) {
        if (table.name == name) approval.owner = table.owner;
      }
      const policy::Rule* rule = rules.RuleFor(name);
      approval.approved = rule != nullptr && rule->kind == policy::RuleKind::kCustom &&
                          rule->custom.allowed_analyses.contains(record.id);
      view.tables.push_back(std::move(approval));
    }
    return view;
  }

  absl::StatusOr<std::vector<TemplateView>> TemplateViews(const std::string& collaboration) {
    PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
    PARLEY_ASSIGN_OR_RETURN(auto records, store->ListTemplates(collaboration));
    std::vector<TemplateView> views;
    for (const catalog::AnalysisTemplate& record : records) {
      absl::StatusOr<LoadedTemplate> loaded = LoadTemplate(collaboration, record.id);
      if (absl::IsDataLoss(loaded.status())) {
        // One tampered template must not hide the others: it is listed as altered, never run.
        TemplateView altered;
        altered.id = record.id;
        altered.name = record.name;
        altered.author = record.author;
        altered.created_at = record.created_at;
        altered.altered = true;
        views.push_back(std::move(altered));
        continue;
      }
      if (!loaded.ok()) return loaded.status();
      PARLEY_ASSIGN_OR_RETURN(TemplateView view,
                              ViewOfTemplate(loaded->record, loaded->parameters, tables));
      views.push_back(std::move(view));
    }
    return views;
  }

  // Adds the template to (or removes it from) the allowed_analyses of the table's custom rule.
  absl::Status SetApproval(const std::string& actor, const std::string& collaboration,
                           const std::string& template_id, const std::string& table_name,
                           bool approve) {
    PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
    PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
    PARLEY_ASSIGN_OR_RETURN(catalog::Table table, store->GetTable(collaboration, table_name));
    if (table.owner != actor) {
      return absl::PermissionDeniedError(
          absl::StrCat("only the owner of table '", table_name, "' ('", table.owner, "') can ",
                       approve ? "approve" : "revoke", " analyses for it"));
    }
    PARLEY_ASSIGN_OR_RETURN(auto loaded, LoadTemplate(collaboration, template_id));
    PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
    PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                            TemplateTables(tables, loaded.record.sql, loaded.parameters));
    if (std::find(read.begin(), read.end(), table_name) == read.end()) {
      return absl::InvalidArgumentError(absl::StrCat("template ", loaded.record.id.substr(0, 12),
                                                     " does not read table '", table_name, "'"));
    }
    std::optional<policy::Rule> rule;
    if (table.rule_json) {
      PARLEY_ASSIGN_OR_RETURN(rule, policy::ParseRule(*table.rule_json, table.allowed_columns));
    }
    if (!rule || rule->kind != policy::RuleKind::kCustom) {
      return absl::FailedPreconditionError(
          absl::StrCat("table '", table_name,
                       "' has no custom rule; analysis templates are approved in a custom rule"));
    }
    std::set<std::string>& allowed = rule->custom.allowed_analyses;
    if (approve ? !allowed.insert(loaded.record.id).second : allowed.erase(loaded.record.id) == 0) {
      std::string message = absl::StrCat("template ", loaded.record.id.substr(0, 12),
                                         approve ? " is already approved" : " is not approved",
                                         " for table '", table_name, "'");
      return approve ? absl::AlreadyExistsError(message) : absl::FailedPreconditionError(message);
    }
    PARLEY_RETURN_IF_ERROR(
        store->SetRule(collaboration, table_name, policy::CanonicalRuleJson(*rule), actor));
    Json details = {{"template_id", loaded.record.id}, {"table", table_name}};
    return store->AppendAudit(collaboration, actor,
                              approve ? "template.approve" : "template.revoke", details.dump());
  }

  fs::path ResultPath(const std::string& collaboration, const std::string& stem) const {
    return home / "results" / collaboration / (stem + ".json");
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

absl::StatusOr<std::unique_ptr<Service>> Service::Open(const std::string& home, Options options) {
  std::error_code error;
  fs::create_directories(home, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the home directory '", home, "': ", error.message()));
  }
  chmod(home.c_str(), 0700);
  auto impl = std::make_unique<Impl>();
  impl->home = fs::absolute(home);
  impl->options = std::move(options);
  PARLEY_ASSIGN_OR_RETURN(
      impl->store, catalog::Store::Open((impl->home / "catalog.db").string(), impl->options.clock));
  PARLEY_RETURN_IF_ERROR(impl->MarkKilledRuns());
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

absl::Status Service::CreateCollaboration(const std::string& actor,
                                          const NewCollaboration& request) {
  catalog::Collaboration collaboration;
  collaboration.name = request.name;
  collaboration.description = request.description;
  collaboration.creator = actor;
  collaboration.query_logging = request.query_logging;
  collaboration.members.push_back(catalog::Member{actor, request.creator_can_query,
                                                  request.creator_can_receive,
                                                  catalog::MemberStatus::kActive});
  return impl_->store->CreateCollaboration(collaboration);
}

absl::StatusOr<std::vector<catalog::Collaboration>> Service::ListCollaborations(
    const std::string& actor) {
  PARLEY_ASSIGN_OR_RETURN(auto all, impl_->store->ListCollaborations());
  std::vector<catalog::Collaboration> mine;
  for (catalog::Collaboration& collaboration : all) {
    // Only active members see a collaboration (and its member list), as in ShowCollaboration.
    for (const catalog::Member& member : collaboration.members) {
      if (member.name == actor && member.status == catalog::MemberStatus::kActive) {
        mine.push_back(std::move(collaboration));
        break;
      }
    }
  }
  return mine;
}

absl::StatusOr<catalog::Collaboration> Service::ShowCollaboration(
    const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  return found;
}

absl::Status Service::AddMember(const std::string& actor, const std::string& collaboration,
                                const catalog::Member& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  if (found.creator != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '",
                                                    collaboration, "' ('", found.creator,
                                                    "') can add members"));
  }
  return impl_->store->AddMember(collaboration, member, actor);
}

absl::Status Service::RemoveMember(const std::string& actor, const std::string& collaboration,
                                   const std::string& member) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  if (found.creator != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the creator of collaboration '",
                                                    collaboration, "' ('", found.creator,
                                                    "') can remove members"));
  }
  if (member == found.creator) {
    return absl::InvalidArgumentError("the creator cannot be removed from its collaboration");
  }
  return impl_->store->SetMemberStatus(collaboration, member, catalog::MemberStatus::kRemoved,
                                       actor);
}

absl::Status Service::Leave(const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  if (found.creator == actor) {
    return absl::FailedPreconditionError(
        "the creator cannot leave its collaboration; the room would have no one to run it");
  }
  return impl_->store->SetMemberStatus(collaboration, actor, catalog::MemberStatus::kLeft, actor);
}

absl::Status Service::AddTable(const std::string& actor, const NewTable& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  catalog::Table table;
  table.collaboration = request.collaboration;
  table.name = request.name;
  table.owner = actor;
  PARLEY_ASSIGN_OR_RETURN(table.location, connectors::ResolveLocation(request.location));
  PARLEY_ASSIGN_OR_RETURN(table.kind, connectors::KindFromLocation(table.location));
  // A member registers its own data: not a file another member registered, whether named by
  // its path, a glob that matches it, or a link to it.
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files, connectors::SourcePaths(table.location));
  PARLEY_ASSIGN_OR_RETURN(Impl::RegisteredFiles registered, impl_->AllRegisteredFiles());
  PARLEY_RETURN_IF_ERROR(Impl::CheckOwnFiles(actor, files, registered, "", request.location));
  PARLEY_ASSIGN_OR_RETURN(table.source_schema, connectors::InferSchema(table.kind, table.location));
  if (request.columns.empty()) {
    for (const catalog::Column& column : table.source_schema) {
      table.allowed_columns.push_back(column.name);
    }
  } else {
    std::set<std::string> chosen;
    for (const std::string& wanted : request.columns) {
      const catalog::Column* match = nullptr;
      for (const catalog::Column& column : table.source_schema) {
        if (absl::EqualsIgnoreCase(column.name, wanted)) match = &column;
      }
      if (match == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", wanted, "' is not in the source '", request.location, "'"));
      }
      if (!chosen.insert(match->name).second) {
        return absl::InvalidArgumentError(absl::StrCat("column '", wanted, "' is listed twice"));
      }
    }
    // Keep the source's column order.
    for (const catalog::Column& column : table.source_schema) {
      if (chosen.contains(column.name)) table.allowed_columns.push_back(column.name);
    }
  }
  // The check above is a courtesy (a clear refusal before the schema is read); the claim below is
  // the guarantee: made in the catalog's write transaction, it lets exactly one of two members
  // registering one file at the same moment win.
  std::vector<catalog::FileIdentity> claimed;
  for (const std::string& path : files) {
    for (const connectors::FileId& file : connectors::SourceFiles(path)) claimed.push_back(file);
  }
  absl::Status added = impl_->store->AddTable(table, actor, claimed);
  if (absl::IsPermissionDenied(added)) return Impl::OwnershipRefusal(request.location);
  return added;
}

namespace {
TableView ViewOf(const catalog::Table& table, const std::string& actor) {
  TableView view;
  view.name = table.name;
  view.owner = table.owner;
  view.kind = catalog::SourceKindName(table.kind);
  if (table.owner == actor) view.location = table.location;
  for (const std::string& column : table.allowed_columns) {
    for (const catalog::Column& pinned : table.source_schema) {
      if (pinned.name == column) view.columns.push_back(pinned);
    }
  }
  view.rule_json = table.rule_json;
  return view;
}
}  // namespace

absl::StatusOr<std::vector<TableView>> Service::ListTables(const std::string& actor,
                                                           const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(found));
  std::vector<TableView> views;
  for (const catalog::Table& table : tables) views.push_back(ViewOf(table, actor));
  return views;
}

absl::StatusOr<TableView> Service::ShowTable(const std::string& actor,
                                             const std::string& collaboration,
                                             const std::string& table) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(found));
  for (const catalog::Table& record : tables) {
    if (record.name == table) return ViewOf(record, actor);
  }
  return absl::NotFoundError(
      absl::StrCat("table '", table, "' not found in collaboration '", collaboration, "'"));
}

absl::Status Service::SetRule(const std::string& actor, const std::string& collaboration,
                              const std::string& table, const std::string& rule_json) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto record, impl_->store->GetTable(collaboration, table));
  if (record.owner != actor) {
    return absl::PermissionDeniedError(absl::StrCat("only the owner of table '", table, "' ('",
                                                    record.owner, "') can set its rule"));
  }
  PARLEY_ASSIGN_OR_RETURN(policy::Rule rule, policy::ParseRule(rule_json, record.allowed_columns));
  // Names in a custom rule must be members: a misspelt provider or receiver would silently
  // grant nothing, or grant it to whoever joins later under that name.
  if (rule.kind == policy::RuleKind::kCustom) {
    auto check_members = [&](const std::set<std::string>& names, const char* key) -> absl::Status {
      for (const std::string& name : names) {
        bool member = false;
        for (const catalog::Member& m : found.members) member |= m.name == name;
        if (!member) {
          return absl::InvalidArgumentError(absl::StrCat("rule: ", key, ": '", name,
                                                         "' is not a member of collaboration '",
                                                         collaboration, "'"));
        }
      }
      return absl::OkStatus();
    };
    PARLEY_RETURN_IF_ERROR(
        check_members(rule.custom.allowed_analysis_providers, "allowed_analysis_providers"));
    PARLEY_RETURN_IF_ERROR(
        check_members(rule.custom.allowed_result_receivers, "allowed_result_receivers"));
  }
  return impl_->store->SetRule(collaboration, table, policy::CanonicalRuleJson(rule), actor);
}

absl::StatusOr<Explanation> Service::Explain(const std::string& actor,
                                             const std::string& collaboration,
                                             const std::string& sql,
                                             std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(auto context, impl_->LoadQueryContext(actor, collaboration));
  Impl::Request request{sql, sql, {}, "", {}};
  // Explain judges the receivers a run would have; a runner who cannot receive and names none
  // gets the verdict on everything else.
  if (!receivers.empty() || context.member.can_receive) {
    PARLEY_ASSIGN_OR_RETURN(request.receivers,
                            impl_->ValidateReceivers(context, std::move(receivers)));
  }
  absl::StatusOr<Explanation> explanation = impl_->Analyze(context, request);
  Json details = {{"sql_sha256", crypto::Sha256Hex(sql)},
                  {"allowed", explanation.ok() && explanation->verdict.allowed()}};
  PARLEY_RETURN_IF_ERROR(
      impl_->store->AppendAudit(collaboration, actor, "query.explained", details.dump()));
  return explanation;
}

absl::StatusOr<QueryOutcome> Service::Run(const std::string& actor,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(auto context, impl_->LoadQueryContext(actor, collaboration));
  Impl::Request request{sql, sql, {}, "", {}};
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          impl_->ValidateReceivers(context, std::move(receivers)));
  return impl_->RunRequest(context, request);
}

absl::StatusOr<QueryOutcome> Service::Impl::RunRequest(const QueryContext& context,
                                                       const Request& request) {
  const std::string& actor = context.member.name;
  const std::string& collaboration = context.collaboration.name;
  Json submitted = {{"sql_sha256", crypto::Sha256Hex(request.sql)},
                    {"receivers", request.receivers}};
  if (!request.template_id.empty()) submitted["template_id"] = request.template_id;
  PARLEY_RETURN_IF_ERROR(
      store->AppendAudit(collaboration, actor, "query.submitted", submitted.dump()));

  QueryOutcome outcome;
  outcome.receivers = request.receivers;
  absl::StatusOr<Explanation> explanation = Analyze(context, request);
  if (!explanation.ok()) {
    if (!absl::IsInvalidArgument(explanation.status())) return explanation.status();
    Json verdict = Json::array(
        {{{"code", "invalid_query"}, {"message", std::string(explanation.status().message())}}});
    PARLEY_RETURN_IF_ERROR(RecordRejection(context, request, verdict.dump(),
                                           TablesNamedIn(request.sql, context.tables),
                                           &outcome.query_id));
    return explanation.status();
  }
  outcome.explanation = *std::move(explanation);
  if (!outcome.explanation.verdict.allowed()) {
    PARLEY_RETURN_IF_ERROR(RecordRejection(
        context, request, policy::ViolationsJson(outcome.explanation.verdict.violations),
        outcome.explanation.tables, &outcome.query_id));
    return outcome;
  }

  // Recorded as running before it executes (one durable write), so that a run whose process
  // dies still shows in the owners' logs: as killed, once its lock is found free.
  PARLEY_ASSIGN_OR_RETURN(RunLock lock, RunLock::Acquire(RunLockDirectory()));
  catalog::QueryRecord record;
  record.collaboration = collaboration;
  record.runner = actor;
  record.sql = request.sql;
  record.template_id = request.template_id;
  record.rendered_sql = outcome.explanation.rendered_sql;
  record.receivers = request.receivers;
  record.tables = outcome.explanation.tables;
  record.status = catalog::QueryStatus::kRunning;
  record.run_lock = lock.name();
  PARLEY_ASSIGN_OR_RETURN(outcome.query_id, store->RecordQuery(record));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<exec::ResultTable> result = Execute(context, outcome.explanation);
  outcome.run_micros = MicrosSince(start);
  if (options.before_delivery) options.before_delivery();
  PARLEY_RETURN_IF_ERROR(FinishRun(context, request, outcome.query_id, result));
  return Deliver(context, request, std::move(outcome), std::move(result));
}

absl::Status Service::Impl::FinishRun(const QueryContext& context, const Request& request,
                                      int64_t query_id,
                                      const absl::StatusOr<exec::ResultTable>& result) {
  const std::string& collaboration = context.collaboration.name;
  // Delivery: the outcome is recorded, and released, only if the policy the query was checked
  // against is still the policy now — the store compares the digests in the transaction that
  // ends the query. A failure is an outcome too: its message came from a run the policy may no
  // longer allow.
  auto finish = [&](const catalog::QueryRecord& finished) -> absl::Status {
    PARLEY_ASSIGN_OR_RETURN(
        catalog::Delivery delivery,
        store->FinishQuery(collaboration, query_id, finished, context.policy_digest));
    if (delivery.policy_changed) return PolicyChanged(collaboration, query_id);
    return absl::OkStatus();
  };
  catalog::QueryRecord finished;
  if (!result.ok()) {
    // The time limit or an interrupt stopped it: cancelled, not failed.
    bool cancelled =
        absl::IsDeadlineExceeded(result.status()) || absl::IsCancelled(result.status());
    finished.status = cancelled ? catalog::QueryStatus::kCancelled : catalog::QueryStatus::kFailed;
    finished.error = std::string(result.status().message());
    return finish(finished);
  }
  // The result is stored once, for its receivers.
  std::string stem =
      absl::StrCat("result-", std::chrono::system_clock::now().time_since_epoch().count(), "-",
                   crypto::Sha256Hex(absl::StrCat(request.sql, context.member.name)).substr(0, 8));
  std::filesystem::path path = ResultPath(collaboration, stem);
  absl::Status written = WritePrivateFile(path, ResultToJson(*result));
  if (!written.ok()) {
    finished.status = catalog::QueryStatus::kFailed;
    finished.error = std::string(written.message());
    PARLEY_RETURN_IF_ERROR(finish(finished));
    return written;
  }
  finished.status = catalog::QueryStatus::kSucceeded;
  finished.result_path = path.string();
  finished.row_count = static_cast<int64_t>(result->rows.size());
  absl::Status recorded = finish(finished);
  if (!recorded.ok()) {
    std::error_code ignored;
    fs::remove(path, ignored);  // no record of it or no release: no result is left behind
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
                                                    absl::StatusOr<exec::ResultTable> result) {
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

absl::StatusOr<exec::ResultTable> Service::Result(const std::string& actor,
                                                  const std::string& collaboration,
                                                  int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto record, impl_->store->GetQuery(collaboration, query_id));
  if (std::find(record.receivers.begin(), record.receivers.end(), actor) ==
      record.receivers.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", actor, "' is not a receiver of query ", query_id));
  }
  if (record.status != catalog::QueryStatus::kSucceeded || record.result_path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "query ", query_id, " has no result (", catalog::QueryStatusName(record.status), ")"));
  }
  std::ifstream in(record.result_path, std::ios::binary);
  if (!in)
    return absl::DataLossError(absl::StrCat("the result of query ", query_id, " is missing"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ResultFromJson(text);
}

absl::StatusOr<std::vector<QueryView>> Service::ListQueries(const std::string& actor,
                                                            const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_RETURN_IF_ERROR(impl_->MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(auto all, impl_->store->ListQueries(collaboration));
  std::vector<QueryView> mine;
  for (const catalog::QueryRecord& record : all) {
    if (record.runner == actor || Receives(record.receivers, actor)) {
      mine.push_back(ViewOfQuery(record, actor));
    }
  }
  return mine;
}

absl::StatusOr<std::vector<catalog::AuditEntry>> Service::ListAudit(
    const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_RETURN_IF_ERROR(impl_->MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::AuditEntry> entries,
                          impl_->store->ListAudit(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto queries, impl_->store->ListQueries(collaboration));
  std::map<int64_t, std::vector<std::string>> receivers;
  for (catalog::QueryRecord& query : queries) receivers[query.id] = std::move(query.receivers);
  for (catalog::AuditEntry& entry : entries) RedactLegacyOutcome(entry, receivers, actor);
  return entries;
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit() {
  return impl_->store->VerifyAudit();
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit(const std::string& actor,
                                                                const std::string& collaboration,
                                                                const std::string& expected_head) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  std::string expected = absl::AsciiStrToLower(expected_head);
  if (!expected.empty() && (expected.size() != 64 ||
                            expected.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "an expected head is a hash of 64 hexadecimal characters, as 'audit verify' prints it");
  }
  return impl_->store->VerifyAudit(collaboration, expected);
}

}  // namespace parley::service

// ---------------------------------------------------------------------------------------------
// Analysis templates, query logs and the consolidated policy.

namespace parley::service {

bool TemplateView::runnable() const {
  if (altered || tables.empty()) return false;
  for (const TableApproval& table : tables) {
    if (!table.approved) return false;
  }
  return true;
}

namespace {

absl::StatusOr<std::vector<TemplateParameter>> ParseSpecs(const std::vector<std::string>& specs) {
  std::vector<TemplateParameter> parameters;
  for (const std::string& spec : specs) {
    PARLEY_ASSIGN_OR_RETURN(TemplateParameter parameter, ParseParameterSpec(spec));
    for (const TemplateParameter& earlier : parameters) {
      if (earlier.name == parameter.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", parameter.name, "' is declared twice"));
      }
    }
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

}  // namespace

absl::StatusOr<std::string> Service::CreateTemplate(const std::string& actor,
                                                    const NewTemplate& request) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  if (request.name.empty() || request.name.size() > 200) {
    return absl::InvalidArgumentError("a template needs a name of 1 to 200 characters");
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<TemplateParameter> parameters,
                          ParseSpecs(request.parameter_specs));
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(request.collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                          impl_->TemplateTables(tables, request.sql, parameters));
  catalog::AnalysisTemplate record;
  record.id = TemplateId(request.sql, parameters);
  record.collaboration = request.collaboration;
  record.name = request.name;
  record.sql = request.sql;
  record.parameters_json = ParametersJson(parameters);
  PARLEY_RETURN_IF_ERROR(impl_->store->CreateTemplate(record, actor));
  return record.id;
}

absl::StatusOr<TemplateView> Service::ShowTemplate(const std::string& actor,
                                                   const std::string& collaboration,
                                                   const std::string& template_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto loaded, impl_->LoadTemplate(collaboration, template_id));
  return impl_->ViewOfTemplate(loaded.record, loaded.parameters, tables);
}

absl::StatusOr<std::vector<TemplateView>> Service::ListTemplates(const std::string& actor,
                                                                 const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  return impl_->TemplateViews(collaboration);
}

absl::Status Service::ApproveTemplate(const std::string& actor, const std::string& collaboration,
                                      const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(actor, collaboration, template_id, table, /*approve=*/true);
}

absl::Status Service::RevokeTemplate(const std::string& actor, const std::string& collaboration,
                                     const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(actor, collaboration, template_id, table, /*approve=*/false);
}

absl::StatusOr<QueryOutcome> Service::RunTemplate(const std::string& actor,
                                                  const std::string& collaboration,
                                                  const std::string& template_id,
                                                  const std::map<std::string, std::string>& values,
                                                  std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(auto context, impl_->LoadQueryContext(actor, collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto loaded, impl_->LoadTemplate(collaboration, template_id));
  Impl::Request request;
  request.sql = loaded.record.sql;
  request.template_id = loaded.record.id;
  PARLEY_ASSIGN_OR_RETURN(request.parse_sql, PositionalSql(loaded.record.sql, loaded.parameters));
  PARLEY_ASSIGN_OR_RETURN(request.bind.parameters, ParameterValues(loaded.parameters, values));
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          impl_->ValidateReceivers(context, std::move(receivers)));
  return impl_->RunRequest(context, request);
}

absl::StatusOr<std::vector<QueryView>> Service::QueryLog(const std::string& actor,
                                                         const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->ActiveMember(found, actor).status());
  if (!found.query_logging) {
    return absl::FailedPreconditionError(absl::StrCat(
        "collaboration '", collaboration,
        "' does not log queries; query logging is chosen when the collaboration is created"));
  }
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
  std::set<std::string> owned;
  for (const catalog::Table& table : tables) {
    if (table.owner == actor) owned.insert(table.name);
  }
  PARLEY_RETURN_IF_ERROR(impl_->MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(auto queries, impl_->store->ListQueries(collaboration));
  std::vector<QueryView> touching;
  for (const catalog::QueryRecord& query : queries) {
    bool touches = false;
    for (const std::string& table : query.tables) touches |= owned.contains(table);
    if (touches) touching.push_back(ViewOfQuery(query, actor));
  }
  return touching;
}

absl::StatusOr<PolicyView> Service::Policy(const std::string& actor,
                                           const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_ASSIGN_OR_RETURN(catalog::Member member, impl_->ActiveMember(found, actor));
  PARLEY_ASSIGN_OR_RETURN(auto tables, impl_->ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, impl_->LoadRules(tables));
  PolicyView view;
  view.member = actor;
  view.can_query = member.can_query;
  view.can_receive = member.can_receive;
  bool first_aggregation = true, first_list = true;
  for (const catalog::Table& table : tables) {
    TablePolicy entry;
    entry.table = table.name;
    entry.owner = table.owner;
    entry.columns = ViewOf(table, actor).columns;
    if (const policy::Rule* rule = rules.RuleFor(table.name)) {
      entry.rule = *rule;
      if (rule->kind == policy::RuleKind::kAggregation) {
        const policy::AggregationRule& aggregation = rule->aggregation;
        if (first_aggregation) {
          view.aggregation_scalar_functions = aggregation.scalar_functions;
          view.aggregation_join_operators = aggregation.allowed_join_operators;
          first_aggregation = false;
        } else {
          std::erase_if(view.aggregation_scalar_functions, [&](const std::string& name) {
            return !aggregation.scalar_functions.contains(name);
          });
          std::erase_if(view.aggregation_join_operators, [&](const std::string& name) {
            return !aggregation.allowed_join_operators.contains(name);
          });
        }
      } else if (rule->kind == policy::RuleKind::kList) {
        if (first_list) {
          view.list_join_operators = rule->list.allowed_join_operators;
          first_list = false;
        } else {
          std::erase_if(view.list_join_operators, [&](const std::string& name) {
            return !rule->list.allowed_join_operators.contains(name);
          });
        }
      } else if (table.owner == actor ||
                 (rule->custom.any_query &&
                  rule->custom.allowed_analysis_providers.contains(actor))) {
        view.free_form_custom_tables.push_back(table.name);
      }
    }
    view.tables.push_back(std::move(entry));
  }
  if (member.can_query) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<TemplateView> templates,
                            impl_->TemplateViews(collaboration));
    for (TemplateView& analysis : templates) {
      if (analysis.runnable()) view.runnable_templates.push_back(std::move(analysis));
    }
  }
  return view;
}

}  // namespace parley::service
