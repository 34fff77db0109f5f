#include "connectors/postgres/postgres_connector.h"

#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "connectors/postgres/scan.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::connectors::postgres {
namespace {

// How errors at registration name the source: the owner is the one registering it.
constexpr char kRegistering[] = "the PostgreSQL source";

std::string TableContext(const catalog::Table& table) {
  return absl::StrCat("table '", table.name, "' of member '", table.owner, "'");
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

absl::StatusOr<std::string> PostgresConnector::Validate(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Description parsed, ParseDescription(description));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Open(parsed.conninfo, kRegistering));
  absl::StatusOr<RemoteRelation> relation =
      DescribeRelation(*connection, parsed.schema, parsed.table);
  if (absl::IsNotFound(relation.status())) {
    // The owner named it: say which.
    return absl::NotFoundError(
        absl::StrCat(kRegistering, ": the role sees no table or view ",
                     engine::duckdb::QuoteString(absl::StrCat(parsed.schema, ".", parsed.table))));
  }
  PARLEY_RETURN_IF_ERROR(relation.status());
  parsed.identity = relation->identity;
  return DescriptionText(parsed);
}

absl::StatusOr<std::vector<catalog::Column>> PostgresConnector::InferSchema(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Description parsed, ParseDescription(description));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Open(parsed.conninfo, kRegistering));
  PARLEY_ASSIGN_OR_RETURN(RemoteRelation relation,
                          DescribeRelation(*connection, parsed.schema, parsed.table));
  if (relation.identity != parsed.identity) {
    return absl::FailedPreconditionError(
        absl::StrCat(kRegistering, ": the table changed while it was being registered"));
  }
  std::vector<catalog::Column> columns;
  for (const RemoteRelation::Column& column : relation.columns) {
    // With column-level grants the source is what the role may read: other columns are not
    // pinned (and their types not judged), as if the relation did not have them.
    if (!column.selectable) continue;
    if (IsReservedColumnName(column.name)) {
      return absl::InvalidArgumentError(absl::StrCat("column '", column.name,
                                                     "': names starting with ",
                                                     kReservedColumnPrefix, " are reserved"));
    }
    PARLEY_ASSIGN_OR_RETURN(std::string type, EngineType(column));
    columns.push_back({column.name, std::move(type)});
  }
  if (columns.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(kRegistering, ": the role has no SELECT privilege on the table"));
  }
  return columns;
}

absl::StatusOr<engine::SourceView> PostgresConnector::ViewForQuery(
    const catalog::Table& table, const std::vector<std::string>& files,
    std::string_view pushed_filter) const {
  std::string context = TableContext(table);
  absl::StatusOr<Description> parsed = ParseDescription(table.source_json);
  if (!parsed.ok() || parsed->identity.empty()) {
    return absl::InternalError(
        absl::StrCat(context, ": its stored source description does not read"));
  }
  std::vector<catalog::Column> columns;
  for (const std::string& name : table.allowed_columns) {
    const catalog::Column* pinned = nullptr;
    for (const catalog::Column& column : table.source_schema) {
      if (column.name == name) pinned = &column;
    }
    if (pinned == nullptr) {
      return absl::InternalError(
          absl::StrCat(context, ": allowed column '", name, "' is not in its pinned schema"));
    }
    columns.push_back(*pinned);
  }
  // The same checks the scan repeats under its lock, here with messages for the runner.
  {
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                            Connection::Open(parsed->conninfo, context));
    PARLEY_ASSIGN_OR_RETURN(RemoteRelation now,
                            DescribeRelation(*connection, parsed->schema, parsed->table));
    PARLEY_RETURN_IF_ERROR(
        CheckPinned(now, *parsed, table.source_schema, table.allowed_columns, context));
  }
  auto scan = std::make_shared<PostgresScan>(*parsed, columns, std::string(pushed_filter),
                                             std::move(context));
  std::vector<std::string> names;
  for (const catalog::Column& column : columns) {
    names.push_back(engine::duckdb::QuoteIdentifier(column.name));
  }
  // A remote row has no stable position: like a CSV row, it is identified per scan.
  names.push_back(
      absl::StrCat("gen_random_uuid() AS ", engine::duckdb::QuoteIdentifier(kRowIdColumn)));
  engine::SourceView view;
  view.name = table.name;
  view.select_sql =
      absl::StrCat("SELECT ", absl::StrJoin(names, ", "), " FROM ", scan->function_name(), "()");
  view.scan = std::move(scan);
  return view;
}

absl::StatusOr<catalog::TableSize> PostgresConnector::Measure(
    std::string_view description, const std::vector<std::string>& files) const {
  (void)files;
  PARLEY_ASSIGN_OR_RETURN(Description parsed, ParseDescription(description));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Open(parsed.conninfo, kRegistering));
  PARLEY_ASSIGN_OR_RETURN(
      std::shared_ptr<PGresult> result,
      connection->Execute("SELECT c.reltuples::bigint, pg_table_size(c.oid) FROM pg_class c "
                          "WHERE c.oid = $1::regclass",
                          {QualifiedName(parsed.schema, parsed.table)}));
  catalog::TableSize size;
  if (PQntuples(result.get()) != 1) return size;
  int64_t rows = 0, bytes = 0;
  if (absl::SimpleAtoi(PQgetvalue(result.get(), 0, 0), &rows) && rows >= 0) size.rows = rows;
  if (absl::SimpleAtoi(PQgetvalue(result.get(), 0, 1), &bytes) && bytes >= 0) size.bytes = bytes;
  return size;
}

SourceSummary PostgresConnector::Summarize(std::string_view description) const {
  absl::StatusOr<Description> parsed = ParseDescription(description);
  if (!parsed.ok()) return {};
  return {"postgres", absl::StrCat(parsed->conninfo, " ", parsed->schema, ".", parsed->table)};
}

std::vector<FileId> PostgresConnector::Claims(std::string_view description) const {
  absl::StatusOr<Description> parsed = ParseDescription(description);
  if (!parsed.ok() || parsed->identity.empty()) return {};
  // "<server>/<database>/<relation>": the relation's OID is unique within its database. The top
  // bit keeps these apart from local files' (device, inode) pairs.
  size_t slash = parsed->identity.rfind('/');
  uint64_t relation = 0;
  for (char c : parsed->identity.substr(slash + 1)) {
    if (c < '0' || c > '9') return {};
    relation = relation * 10 + static_cast<uint64_t>(c - '0');
  }
  uint64_t place = Fnv1a(parsed->identity.substr(0, slash)) | (uint64_t{1} << 63);
  return {{place, relation}};
}

}  // namespace parley::connectors::postgres
