#include "connectors/postgres/postgres_connector.h"

#include <algorithm>
#include <memory>
#include <optional>
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

absl::Status PostgresConnector::CheckServedFor(std::string_view description,
                                               const std::string& organisation) const {
  PARLEY_ASSIGN_OR_RETURN(Description parsed, ParseDescription(description));
  PARLEY_RETURN_IF_ERROR(CheckConninfo(parsed.conninfo));
  const std::string prefix = absl::StrCat(organisation, ":");
  absl::Status refused = absl::PermissionDeniedError(absl::StrCat(
      "over a server, a PostgreSQL table is read through a service entry the server's operator "
      "set up for your organisation: give only service=",
      prefix, "NAME (no host, user or other setting)"));
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(parsed.conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return refused;
  bool served = false;
  bool other = false;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    std::string_view keyword = option->keyword;
    std::string_view value = option->val;
    if (keyword != "service") {
      other = true;
      continue;
    }
    // Organisation names never hold ':', so "<organisation>:" names the organisation's entries
    // only; the rest is a plain name.
    served = value.size() > prefix.size() && value.starts_with(prefix) &&
             value.substr(prefix.size())
                     .find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                 std::string_view::npos;
  }
  PQconninfoFree(options);
  return served && !other ? absl::OkStatus() : refused;
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

absl::StatusOr<SourcePreview> PostgresConnector::Preview(std::string_view description,
                                                         int limit) const {
  PARLEY_ASSIGN_OR_RETURN(Description parsed, ParseDescription(description));
  SourcePreview preview;
  PARLEY_ASSIGN_OR_RETURN(preview.columns, InferSchema(description));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                          Connection::Open(parsed.conninfo, kRegistering));
  PARLEY_RETURN_IF_ERROR(
      connection->Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, PGRES_COMMAND_OK)
          .status());
  PARLEY_ASSIGN_OR_RETURN(RemoteRelation now,
                          DescribeRelation(*connection, parsed.schema, parsed.table));
  std::vector<std::string> names;
  for (const catalog::Column& column : preview.columns) {
    names.push_back(column.name);
  }
  PARLEY_RETURN_IF_ERROR(CheckPinned(now, parsed, preview.columns, names, kRegistering));
  std::vector<std::string> selected;
  for (const catalog::Column& column : preview.columns) {
    // Each column cast to its pinned type first, so that the text is that type's spelling.
    selected.push_back(
        absl::StrCat(QuoteIdentifier(column.name), "::", PostgresType(column.type), "::text"));
  }
  PARLEY_ASSIGN_OR_RETURN(
      std::shared_ptr<PGresult> rows,
      connection->Execute(
          absl::StrCat("SELECT ", absl::StrJoin(selected, ", "), " FROM ",
                       QualifiedName(parsed.schema, parsed.table), " LIMIT ", std::max(0, limit)),
          {}));
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    std::vector<std::optional<std::string>>& values = preview.rows.emplace_back();
    for (int field = 0; field < PQnfields(rows.get()); ++field) {
      if (PQgetisnull(rows.get(), row, field)) {
        values.push_back(std::nullopt);
      } else {
        values.emplace_back(PQgetvalue(rows.get(), row, field));
      }
    }
  }
  return preview;
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
