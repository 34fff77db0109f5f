// The postgres connector: tables read in place from a PostgreSQL relation, through libpq, with
// the columns and the filters of each checked query pushed into the remote SQL (scan.h). Its
// source description is {"conninfo": "<libpq string or service=NAME>", "relation": {"schema",
// "table"}, "identity": "..."}; the mechanics of connecting and typing are in remote.h.
//
//   parley table add customers --postgres 'service=warehouse' --relation crm.customers
//
// Thread safety: stateless, like every connector.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "connectors/postgres/remote.h"

namespace parley::connectors::postgres {

class PostgresConnector : public Connector {
 public:
  std::string_view kind() const override { return kPostgresKind; }
  // Parses the description (the relation may be given as "schema.table"), refuses an inline
  // password, connects and records the identity of the relation it reaches. NotFound when the
  // role sees no such table; Unavailable/PermissionDenied when the server cannot be used.
  absl::StatusOr<std::string> Validate(std::string_view description) const override;
  // Over a server, the server's operator decides where an organisation's tables are: a member
  // working from elsewhere may give only `service=<organisation>:<name>` — an entry of the
  // server's pg_service.conf, its password in the server's .pgpass — and no other connection
  // setting (libpq lets any keyword override the service's). PermissionDenied otherwise, naming
  // what is allowed; never echoing the connection string.
  absl::Status CheckServedFor(std::string_view description,
                              const std::string& organisation) const override;
  // Every column the role may SELECT, with its engine type (remote.h, EngineType); InvalidArgument
  // naming the first column of a type Parley cannot read exactly, or a reserved name;
  // PermissionDenied when the role may read no column.
  absl::StatusOr<std::vector<catalog::Column>> InferSchema(
      std::string_view description) const override;
  // The first `limit` rows of the relation's readable columns (InferSchema's), as PostgreSQL
  // spells them in text (timestamps in UTC, bytea in hex), in one read-only transaction. For the
  // owner registering it, before anything is stored; errors as InferSchema's.
  absl::StatusOr<SourcePreview> Preview(std::string_view description, int limit) const override;
  // A remote relation reads no local file.
  absl::StatusOr<std::vector<std::string>> ResolveFiles(
      std::string_view description) const override {
    return std::vector<std::string>{};
  }
  absl::StatusOr<engine::SourceView> ViewFor(const catalog::Table& table,
                                             const std::vector<std::string>& files) const override {
    return ViewForQuery(table, files, "");
  }
  // Checks the relation now (reachable, the same one, every allowed column with its pinned type
  // and readable: errors name the table and its owner, never the server or a value) and returns
  // the view over a scan that reads only the columns a query asks for, filtered by
  // `pushed_filter` (PostgreSQL SQL rendered from the checked query, or empty).
  absl::StatusOr<engine::SourceView> ViewForQuery(const catalog::Table& table,
                                                  const std::vector<std::string>& files,
                                                  std::string_view pushed_filter) const override;
  // The relation's size as PostgreSQL knows it without reading it: rows from its statistics
  // (pg_class.reltuples; -1 before the table was first analysed) and bytes on disk
  // (pg_table_size: heap and TOAST).
  absl::StatusOr<catalog::TableSize> Measure(std::string_view description,
                                             const std::vector<std::string>& files) const override;
  // The relation as "schema.table"; the connection string is the owner's, shown to the owner
  // only (it holds no password).
  SourceSummary Summarize(std::string_view description) const override;
  // The relation's identity (server, database, relation), so that no other member registers it.
  std::vector<FileId> Claims(std::string_view description) const override;
};

}  // namespace parley::connectors::postgres
