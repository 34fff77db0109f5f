// The PostgreSQL side of the postgres connector, on libpq: the source description (a connection
// string or service name, and a relation), connecting without ever handling a password, reading
// a relation's columns and mapping their types exactly onto the engine's, and reducing the
// server's errors to fixed sentences. PostgreSQL's own messages are never passed on: they can
// quote data values, the connection string or the relation, and a query's error may reach a
// member other than the table's owner.
//
// A password is never part of a description: an inline one (password=..., or in a URI) is
// refused at registration in favour of a service entry (pg_service.conf) or a .pgpass line,
// which libpq reads itself on the machine Parley runs on. So nothing Parley stores, prints,
// logs or returns can hold one.
//
// Thread safety: functions are pure or own their connection; a Connection is used by one thread.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/records.h"

namespace parley::connectors::postgres {

inline constexpr std::string_view kPostgresKind = "postgres";

// A validated description: {"conninfo", "identity", "relation": {"schema", "table"}}.
struct Description {
  std::string conninfo;  // a libpq connection string or "service=NAME"; never a password
  std::string schema;    // exact names, as the server's catalog spells them
  std::string table;
  // Which relation the description reached when it was registered: "<server>/<database
  // oid>/<relation oid>", <server> being the cluster's system identifier. Every query checks that
  // it reaches the same one, so a service entry or DNS name re-pointed at another database does
  // not bring another relation's rows in. Empty before Validate.
  std::string identity;
};

// Parses a stored or given description (JSON). InvalidArgument "invalid postgres source
// description at <JSON path>: <problem>" — never quoting the connection string.
absl::StatusOr<Description> ParseDescription(std::string_view json);
std::string DescriptionText(const Description& description);

// Refuses a connection string that does not parse or carries a password (InvalidArgument,
// without echoing it).
absl::Status CheckConninfo(const std::string& conninfo);

// Parses "schema.table", "table" (schema public) or quoted parts ("My Schema"."T"), folding
// unquoted names to lower case as PostgreSQL does. InvalidArgument for anything else.
absl::Status ParseRelation(std::string_view text, std::string* schema, std::string* table);

// One libpq connection, closed on destruction. Opened with client_encoding UTF8, time zone UTC
// and, for every transaction, read-only.
class Connection {
 public:
  // `context` opens every error message ("table 'x' of member 'y'"). Unavailable when the server
  // cannot be reached, PermissionDenied when it refuses the role or needs a password none of
  // .pgpass or the service gives.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                          const std::string& context);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() { return connection_; }
  const std::string& context() const { return context_; }

  // Runs a statement with text parameters; the result must have `expected` status. On failure an
  // error built from the SQLSTATE only (see ErrorFor).
  absl::StatusOr<std::shared_ptr<PGresult>> Execute(const std::string& sql,
                                                    const std::vector<std::string>& params,
                                                    ExecStatusType expected = PGRES_TUPLES_OK);

 private:
  Connection(PGconn* connection, std::string context)
      : connection_(connection), context_(std::move(context)) {}
  PGconn* connection_;
  std::string context_;
};

// A fixed sentence for a failed result, chosen by its SQLSTATE class, prefixed by `context`.
absl::Status ErrorFor(const PGresult* result, const std::string& context);

// A relation as the server sees it now.
struct RemoteRelation {
  std::string identity;           // see Description::identity
  bool table_selectable = false;  // SELECT on the whole table (not only on some columns)
  struct Column {
    std::string name;
    std::string remote_type;  // format_type(): "integer", "numeric(12,2)", "character(3)", ...
    uint32_t type_oid = 0;
    int32_t typmod = -1;
    bool selectable = false;  // the role may SELECT it
  };
  std::vector<Column> columns;  // in the relation's order
};

// Looks `schema`.`table` up: NotFound when the role sees no such table or view; the columns
// with their privileges.
absl::StatusOr<RemoteRelation> DescribeRelation(Connection& connection, const std::string& schema,
                                                const std::string& table);

// The engine type (DuckDB's name, as pinned in the catalog) of a remote column: SMALLINT,
// INTEGER, BIGINT, DECIMAL(p,s) (numeric with a declared precision up to 38), FLOAT, DOUBLE,
// VARCHAR (text, varchar), BOOLEAN, DATE, TIMESTAMP, TIMESTAMP WITH TIME ZONE, UUID, BLOB
// (bytea). InvalidArgument naming the column and its remote type for anything else.
absl::StatusOr<std::string> EngineType(const RemoteRelation::Column& column);

// Checks that the relation reached now is the registered one and still has every column of
// `pinned` that `needed` names, with the same engine type and the SELECT privilege.
// FailedPrecondition "<context>: ..." naming the column and both types; never a value.
absl::Status CheckPinned(const RemoteRelation& now, const Description& description,
                         const std::vector<catalog::Column>& pinned,
                         const std::vector<std::string>& needed, const std::string& context);

// The PostgreSQL type whose binary form the scan decodes for a pinned engine type ("int4" for
// INTEGER, "numeric(12,2)" for DECIMAL(12,2)); "" for none.
std::string PostgresType(const std::string& engine_type);

// "schema"."table", quoted for PostgreSQL.
std::string QualifiedName(const std::string& schema, const std::string& table);
std::string QuoteIdentifier(const std::string& name);

}  // namespace parley::connectors::postgres
