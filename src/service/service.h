// The use cases of a clean room, in one layer that the CLI's embedded mode (and later the HTTP
// server) calls: create a collaboration, add members and tables, set rules, explain and run
// queries, read results, read and verify the audit log.
//
// Every call names the member who acts (`actor`) and checks that member's status, abilities
// and ownership itself — callers never decide permissions. Other members' rows are never
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
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "catalog/store.h"
#include "exec/engine.h"
#include "policy/verdict.h"

namespace parley::service {

struct Options {
  catalog::Clock clock;            // defaults to the system clock
  exec::Limits limits;             // for query execution
};

struct NewCollaboration {
  std::string name;
  std::string description;
  bool creator_can_query = true;
  bool creator_can_receive = true;
  bool query_logging = false;
};

struct NewTable {
  std::string collaboration;
  std::string name;
  std::string location;                  // a path or a glob
  std::vector<std::string> columns;      // the allowed columns; empty means every column
};

// What a member sees of a table: metadata, never rows.
struct TableView {
  std::string name;
  std::string owner;
  std::string kind;      // "csv" | "parquet"
  std::optional<std::string> location;  // only for the owner
  std::vector<catalog::Column> columns; // the allowed columns with their pinned types
  std::optional<std::string> rule_json;
};

struct Explanation {
  policy::Verdict verdict;
  std::string rendered_sql;  // empty when rejected
  std::vector<std::string> tables;
  int64_t front_end_micros = 0;  // parse + bind + check + rewrite + render
};

struct QueryOutcome {
  int64_t query_id = 0;
  Explanation explanation;
  std::vector<std::string> receivers;
  std::optional<exec::ResultTable> result;  // present when the actor is a receiver
  int64_t row_count = 0;
  int64_t run_micros = 0;  // engine time, including opening the locked session
};

class Service {
 public:
  // Opens the home directory (creating it and its catalog if absent).
  static absl::StatusOr<std::unique_ptr<Service>> Open(const std::string& home, Options options);
  ~Service();

  absl::Status CreateCollaboration(const std::string& actor, const NewCollaboration& request);
  absl::StatusOr<std::vector<catalog::Collaboration>> ListCollaborations(const std::string& actor);
  absl::StatusOr<catalog::Collaboration> ShowCollaboration(const std::string& actor,
                                                           const std::string& collaboration);
  // Only the collaboration's creator adds members.
  absl::Status AddMember(const std::string& actor, const std::string& collaboration,
                         const catalog::Member& member);

  absl::Status AddTable(const std::string& actor, const NewTable& request);
  absl::StatusOr<std::vector<TableView>> ListTables(const std::string& actor,
                                                    const std::string& collaboration);
  absl::StatusOr<TableView> ShowTable(const std::string& actor, const std::string& collaboration,
                                      const std::string& table);
  // Only the table's owner sets its rule; the document is validated against its columns.
  absl::Status SetRule(const std::string& actor, const std::string& collaboration,
                       const std::string& table, const std::string& rule_json);

  // Checks a query without running it: the verdict and the SQL the engine would run.
  absl::StatusOr<Explanation> Explain(const std::string& actor, const std::string& collaboration,
                                      const std::string& sql,
                                      std::vector<std::string> receivers = {});
  // Checks and runs a query for `receivers` (default: the actor). A rejected query returns an
  // outcome whose verdict lists the violations, and nothing runs.
  absl::StatusOr<QueryOutcome> Run(const std::string& actor, const std::string& collaboration,
                                   const std::string& sql, std::vector<std::string> receivers);
  // A stored result, for one of its receivers.
  absl::StatusOr<exec::ResultTable> Result(const std::string& actor,
                                           const std::string& collaboration, int64_t query_id);
  // The actor's own queries.
  absl::StatusOr<std::vector<catalog::QueryRecord>> ListQueries(const std::string& actor,
                                                                const std::string& collaboration);

  absl::StatusOr<std::vector<catalog::AuditEntry>> ListAudit(const std::string& actor,
                                                             const std::string& collaboration);
  absl::StatusOr<catalog::AuditVerification> VerifyAudit();

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::service
