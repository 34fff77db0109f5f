#include "connectors/postgres/remote.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace parley::connectors::postgres {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(std::string_view at, std::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("invalid postgres source description at ",
                                                 std::string(at), ": ", std::string(problem)));
}

// Built-in type OIDs (pg_type.dat; fixed across releases).
constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                   kFloat4 = 700, kFloat8 = 701, kVarchar = 1043, kDate = 1082, kTimestamp = 1114,
                   kTimestampTz = 1184, kNumeric = 1700, kUuid = 2950;

// Decimal widths the engine holds exactly.
constexpr int kMaxDecimalWidth = 38;

}  // namespace

absl::Status CheckConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  // libpq's message quotes the part it could not parse: dropped, never echoed.
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) {
    return Invalid("/conninfo", "not a libpq connection string or URI");
  }
  absl::Status status = absl::OkStatus();
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || option->val[0] == '\0') continue;
    std::string_view keyword = option->keyword;
    if (keyword == "password" || keyword == "sslpassword") {
      status = Invalid("/conninfo",
                       "a password may not be given inline (it would be stored in the catalog): "
                       "put it in a service entry (pg_service.conf) or a .pgpass line on the "
                       "machine Parley runs on, and give service=NAME or the host, database and "
                       "user");
      break;
    }
  }
  PQconninfoFree(options);
  return status;
}

absl::Status ParseRelation(std::string_view text, std::string* schema, std::string* table) {
  std::vector<std::string> parts;
  size_t i = 0;
  auto bad = [] {
    return Invalid("/relation",
                   "expected schema.table (names bare or in double quotes), e.g. public.customers");
  };
  while (true) {
    std::string part;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (true) {
        if (i >= text.size()) return bad();
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            part += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        part += text[i++];
      }
      if (part.empty()) return bad();
    } else {
      size_t start = i;
      while (i < text.size() && (absl::ascii_isalnum(text[i]) || text[i] == '_' || text[i] == '$' ||
                                 static_cast<unsigned char>(text[i]) >= 0x80)) {
        ++i;
      }
      if (i == start || absl::ascii_isdigit(text[start]) || text[start] == '$') return bad();
      part = absl::AsciiStrToLower(std::string(text.substr(start, i - start)));
    }
    if (part.find('\0') != std::string::npos || part.size() > 63) return bad();
    parts.push_back(std::move(part));
    if (i == text.size()) break;
    if (text[i] != '.') return bad();
    ++i;
  }
  if (parts.size() == 1) parts.insert(parts.begin(), "public");
  if (parts.size() != 2) return bad();
  *schema = parts[0];
  *table = parts[1];
  return absl::OkStatus();
}

absl::StatusOr<Description> ParseDescription(std::string_view json) {
  Json value = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    return Invalid("/", "expected a JSON object with \"conninfo\" and \"relation\"");
  }
  for (const auto& [key, item] : value.items()) {
    if (key != "conninfo" && key != "relation" && key != "identity") {
      return Invalid(absl::CHexEscape("/" + key),
                     "unknown field (a postgres source has \"conninfo\" and \"relation\")");
    }
  }
  Description parsed;
  if (!value.contains("conninfo") || !value["conninfo"].is_string() ||
      value["conninfo"].get<std::string>().empty()) {
    return Invalid("/conninfo", "expected a non-empty string");
  }
  parsed.conninfo = value["conninfo"].get<std::string>();
  PARLEY_RETURN_IF_ERROR(CheckConninfo(parsed.conninfo));
  if (!value.contains("relation")) return Invalid("/relation", "missing");
  const Json& relation = value["relation"];
  if (relation.is_string()) {
    PARLEY_RETURN_IF_ERROR(
        ParseRelation(relation.get<std::string>(), &parsed.schema, &parsed.table));
  } else if (relation.is_object() && relation.size() == 2 && relation.contains("schema") &&
             relation.contains("table") && relation["schema"].is_string() &&
             relation["table"].is_string()) {
    parsed.schema = relation["schema"].get<std::string>();
    parsed.table = relation["table"].get<std::string>();
    if (parsed.schema.empty() || parsed.table.empty()) {
      return Invalid("/relation", "empty schema or table name");
    }
  } else {
    return Invalid("/relation", "expected \"schema.table\" or {\"schema\", \"table\"}");
  }
  if (value.contains("identity")) {
    if (!value["identity"].is_string()) return Invalid("/identity", "expected a string");
    parsed.identity = value["identity"].get<std::string>();
  }
  return parsed;
}

std::string DescriptionText(const Description& description) {
  Json value = {{"conninfo", description.conninfo},
                {"identity", description.identity},
                {"relation", {{"schema", description.schema}, {"table", description.table}}}};
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                             const std::string& context) {
  PARLEY_RETURN_IF_ERROR(CheckConninfo(conninfo));
  // Settings of Parley's own come after the member's string, so they win: a read-only session in
  // UTF-8 and UTC, that gives up after 10 s of trying to connect.
  const char* keywords[] = {
      "dbname",           "client_encoding",           "options", "connect_timeout",
      "application_name", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(),
                          "UTF8",
                          "-c default_transaction_read_only=on -c TimeZone=UTC "
                          "-c standard_conforming_strings=on",
                          "10",
                          "parley",
                          "parley",
                          nullptr};
  PGconn* connection = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (connection == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(context, ": cannot allocate a connection"));
  }
  if (PQstatus(connection) != CONNECTION_OK) {
    bool needs_password = PQconnectionNeedsPassword(connection) != 0;
    bool used_password = PQconnectionUsedPassword(connection) != 0;
    PQfinish(connection);
    // libpq's message names the host, the user and sometimes the file it read: not passed on.
    if (needs_password) {
      return absl::PermissionDeniedError(absl::StrCat(
          context,
          ": the PostgreSQL server asks for a password that neither .pgpass nor the service "
          "entry gives"));
    }
    if (used_password) {
      return absl::PermissionDeniedError(
          absl::StrCat(context, ": the PostgreSQL server refused the role's credentials"));
    }
    return absl::UnavailableError(absl::StrCat(
        context, ": the PostgreSQL server cannot be reached or refused the connection"));
  }
  return std::unique_ptr<Connection>(new Connection(connection, context));
}

Connection::~Connection() { PQfinish(connection_); }

absl::StatusOr<std::shared_ptr<PGresult>> Connection::Execute(
    const std::string& sql, const std::vector<std::string>& params, ExecStatusType expected) {
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  std::shared_ptr<PGresult> result(
      PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                   values.data(), nullptr, nullptr, 0),
      PQclear);
  if (result == nullptr || PQresultStatus(result.get()) != expected) {
    return ErrorFor(result.get(), context_);
  }
  return result;
}

absl::Status ErrorFor(const PGresult* result, const std::string& context) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string code = state == nullptr ? "" : state;
  if (code == "42501") {
    return absl::PermissionDeniedError(
        absl::StrCat(context,
                     ": the PostgreSQL role may no longer read the table (SELECT "
                     "privilege revoked?)"));
  }
  if (code == "42P01" || code == "3F000") {
    return absl::NotFoundError(absl::StrCat(context, ": the PostgreSQL table no longer exists"));
  }
  if (code.starts_with("42")) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": the PostgreSQL table no longer matches its pinned schema"));
  }
  if (code.starts_with("08") || code.starts_with("57") || code.empty()) {
    return absl::UnavailableError(
        absl::StrCat(context, ": the connection to the PostgreSQL server failed"));
  }
  if (code.starts_with("53")) {
    return absl::ResourceExhaustedError(
        absl::StrCat(context, ": the PostgreSQL server is out of resources"));
  }
  return absl::InternalError(
      absl::StrCat(context, ": the PostgreSQL server reported an error (SQLSTATE ", code, ")"));
}

absl::StatusOr<RemoteRelation> DescribeRelation(Connection& connection, const std::string& schema,
                                                const std::string& table) {
  // Tables, views, materialised views and partitioned tables the role can see in the catalog.
  PARLEY_ASSIGN_OR_RETURN(
      std::shared_ptr<PGresult> found,
      connection.Execute(
          "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || "
          "(SELECT oid FROM pg_database WHERE datname = current_database())::text || '/' || "
          "c.oid::text, has_table_privilege(c.oid, 'SELECT') "
          "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'p')",
          {schema, table}));
  if (PQntuples(found.get()) != 1) {
    return absl::NotFoundError(
        absl::StrCat(connection.context(), ": the PostgreSQL table does not exist"));
  }
  RemoteRelation relation;
  relation.identity = PQgetvalue(found.get(), 0, 0);
  relation.table_selectable = std::string_view(PQgetvalue(found.get(), 0, 1)) == "t";
  std::string oid = relation.identity.substr(relation.identity.rfind('/') + 1);
  PARLEY_ASSIGN_OR_RETURN(
      std::shared_ptr<PGresult> columns,
      connection.Execute("SELECT attname, format_type(atttypid, atttypmod), atttypid::int8, "
                         "atttypmod, has_column_privilege($1::oid, attnum, 'SELECT') "
                         "FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT "
                         "attisdropped ORDER BY attnum",
                         {oid}));
  for (int row = 0; row < PQntuples(columns.get()); ++row) {
    RemoteRelation::Column column;
    column.name = PQgetvalue(columns.get(), row, 0);
    column.remote_type = PQgetvalue(columns.get(), row, 1);
    int64_t type_oid = 0;
    int32_t typmod = -1;
    if (!absl::SimpleAtoi(PQgetvalue(columns.get(), row, 2), &type_oid) ||
        !absl::SimpleAtoi(PQgetvalue(columns.get(), row, 3), &typmod)) {
      return absl::InternalError(
          absl::StrCat(connection.context(), ": unexpected answer from the PostgreSQL catalog"));
    }
    column.type_oid = static_cast<uint32_t>(type_oid);
    column.typmod = typmod;
    column.selectable = std::string_view(PQgetvalue(columns.get(), row, 4)) == "t";
    relation.columns.push_back(std::move(column));
  }
  return relation;
}

absl::StatusOr<std::string> EngineType(const RemoteRelation::Column& column) {
  switch (column.type_oid) {
    case kInt2:
      return "SMALLINT";
    case kInt4:
      return "INTEGER";
    case kInt8:
      return "BIGINT";
    case kFloat4:
      return "FLOAT";
    case kFloat8:
      return "DOUBLE";
    case kText:
    case kVarchar:
      return "VARCHAR";
    case kBool:
      return "BOOLEAN";
    case kDate:
      return "DATE";
    case kTimestamp:
      return "TIMESTAMP";
    case kTimestampTz:
      return "TIMESTAMP WITH TIME ZONE";
    case kUuid:
      return "UUID";
    case kBytea:
      return "BLOB";
    case kNumeric: {
      if (column.typmod < 4) {
        return absl::InvalidArgumentError(absl::StrCat(
            "column '", column.name,
            "' is numeric without a declared precision, which cannot be read exactly: declare "
            "it numeric(p,s) with p at most 38, or expose it through a view that casts it"));
      }
      int precision = ((column.typmod - 4) >> 16) & 0xffff;
      // The scale is an 11-bit signed field (PostgreSQL 15 allows negative scales).
      int scale = (column.typmod - 4) & 0x7ff;
      if (scale & 0x400) scale -= 0x800;
      if (precision < 1 || precision > kMaxDecimalWidth || scale < 0 || scale > precision) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", column.name, "' is ", column.remote_type,
                         ": only numeric(p,s) with 1 <= p <= 38 and 0 <= s <= p is read exactly"));
      }
      return absl::StrCat("DECIMAL(", precision, ",", scale, ")");
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", column.name, "' has the PostgreSQL type ", column.remote_type,
          ", which Parley does not read (integers, numeric(p,s), real, double precision, text, "
          "varchar, boolean, date, timestamp with or without time zone, uuid, bytea)"));
  }
}

absl::Status CheckPinned(const RemoteRelation& now, const Description& description,
                         const std::vector<catalog::Column>& pinned,
                         const std::vector<std::string>& needed, const std::string& context) {
  if (!description.identity.empty() && now.identity != description.identity) {
    return absl::FailedPreconditionError(absl::StrCat(
        context,
        ": its PostgreSQL source now reaches a different table than the one registered (the "
        "server, database or table was replaced); its owner must register it again"));
  }
  std::string prefix = absl::StrCat(context, " no longer matches its pinned schema: ");
  for (const std::string& name : needed) {
    const catalog::Column* expected = nullptr;
    for (const catalog::Column& column : pinned) {
      if (column.name == name) expected = &column;
    }
    if (expected == nullptr) {
      return absl::InternalError(absl::StrCat(context, ": column '", name, "' is not pinned"));
    }
    const RemoteRelation::Column* remote = nullptr;
    for (const RemoteRelation::Column& column : now.columns) {
      if (column.name == name) remote = &column;
    }
    if (remote == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(prefix, "column '", name, "' is missing"));
    }
    absl::StatusOr<std::string> type = EngineType(*remote);
    std::string type_now = type.ok() ? *type : remote->remote_type;
    if (type_now != expected->type) {
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "column '", name, "' was ", expected->type, ", is now ", type_now));
    }
    if (!remote->selectable) {
      return absl::PermissionDeniedError(
          absl::StrCat(context, ": the PostgreSQL role may no longer read column '", name, "'"));
    }
  }
  return absl::OkStatus();
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string PostgresType(const std::string& engine_type) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"SMALLINT", "int2"}, {"INTEGER", "int4"},  {"BIGINT", "int8"},
      {"FLOAT", "float4"},  {"DOUBLE", "float8"}, {"VARCHAR", "text"},
      {"BOOLEAN", "bool"},  {"DATE", "date"},     {"TIMESTAMP", "timestamp"},
      {"UUID", "uuid"},     {"BLOB", "bytea"},    {"TIMESTAMP WITH TIME ZONE", "timestamptz"}};
  for (const auto& [engine, postgres] : kTypes) {
    if (engine_type == engine) return postgres;
  }
  absl::string_view rest = engine_type;
  if (absl::ConsumePrefix(&rest, "DECIMAL(")) return absl::StrCat("numeric(", rest);
  return "";
}

std::string QualifiedName(const std::string& schema, const std::string& table) {
  return absl::StrCat(QuoteIdentifier(schema), ".", QuoteIdentifier(table));
}

}  // namespace parley::connectors::postgres
