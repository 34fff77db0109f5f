#include "connectors/clickhouse/clickhouse_connector.h"

#include <climits>
#include <random>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/row_identity.h"
#include "connectors/files/files_connector.h"
#include "connectors/files/pinned_source.h"
#include "nlohmann/json.hpp"

namespace parley::connectors::clickhouse {
namespace {

using Json = nlohmann::json;
using engine::ResultTable;
using engine::clickhouse::ClickHouseEngine;
using engine::clickhouse::ExecuteStatement;

absl::Status Invalid(absl::string_view at, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid clickhouse source description at ", at, ": ", problem));
}

// Names Parley creates or reads on the cluster: plain identifiers, so that they need no quoting
// rules beyond backquotes and can never close one.
bool PlainName(const std::string& name) {
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]{0,127}");
  return std::regex_match(name, kName);
}

std::string Quote(const std::string& name) { return absl::StrCat("`", name, "`"); }

// A string literal for ClickHouse: only plain names are ever quoted, so escaping is belt and
// braces.
std::string Literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

absl::StatusOr<std::string> StringField(const Json& json, const char* key, bool required) {
  auto found = json.find(key);
  if (found == json.end()) {
    if (required) return Invalid(absl::StrCat("/", key), "missing");
    return std::string();
  }
  if (!found->is_string()) return Invalid(absl::StrCat("/", key), "must be a string");
  return found->get<std::string>();
}

absl::StatusOr<Json> ParseObject(std::string_view description) {
  Json json = Json::parse(description, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Invalid("/", "not a JSON object");
  return json;
}

// "DB.TABLE" or "TABLE" → the table, checking the database is the engine's.
absl::StatusOr<std::string> RelationName(const std::string& given, const std::string& database) {
  std::vector<std::string> parts = absl::StrSplit(given, '.');
  if (parts.size() == 2) {
    if (parts[0] != database) {
      return Invalid("/relation", absl::StrCat("the engine's account may read only its database '",
                                               database, "', not '", parts[0], "'"));
    }
    parts.erase(parts.begin());
  }
  if (parts.size() != 1 || !PlainName(parts[0])) {
    return Invalid("/relation", "expected DATABASE.TABLE or TABLE, with plain names");
  }
  return parts[0];
}

// ClickHouse's column type for a Parley type a loaded file may have; "" for none exact.
std::string ClickHouseType(const std::string& type) {
  static const std::map<std::string, std::string> kTypes = {
      {"TINYINT", "Int8"},   {"SMALLINT", "Int16"}, {"INTEGER", "Int32"},
      {"BIGINT", "Int64"},   {"FLOAT", "Float32"},  {"DOUBLE", "Float64"},
      {"VARCHAR", "String"}, {"DATE", "Date"},      {"TIMESTAMP", "DateTime"}};
  auto found = kTypes.find(type);
  if (found != kTypes.end()) return found->second;
  if (absl::StartsWith(type, "DECIMAL(")) {
    return absl::StrCat("Decimal", type.substr(7));
  }
  return "";
}

// One TabSeparated field: \N for NULL, backslash escapes for the characters that separate.
void AppendField(std::string& out, const std::optional<std::string>& value) {
  if (!value.has_value()) {
    out += "\\N";
    return;
  }
  for (char c : *value) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out.push_back(c);
    }
  }
}

// 64 random bits in hex: a staging table's name no other load shares.
std::string RandomId() {
  std::random_device random;
  return absl::StrCat(absl::Hex(random(), absl::kZeroPad8), absl::Hex(random(), absl::kZeroPad8));
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

absl::StatusOr<Placement> ParsePlacement(std::string_view description) {
  PARLEY_ASSIGN_OR_RETURN(Json json, ParseObject(description));
  Placement placement;
  PARLEY_ASSIGN_OR_RETURN(placement.engine, StringField(json, "engine", true));
  PARLEY_ASSIGN_OR_RETURN(placement.database, StringField(json, "database", true));
  PARLEY_ASSIGN_OR_RETURN(placement.relation, StringField(json, "relation", true));
  PARLEY_ASSIGN_OR_RETURN(placement.local, StringField(json, "local", true));
  PARLEY_ASSIGN_OR_RETURN(placement.sharding_key, StringField(json, "sharding_key", false));
  auto row_id = json.find("row_id");
  if (row_id != json.end()) {
    if (!row_id->is_boolean()) return Invalid("/row_id", "must be true or false");
    placement.row_id = row_id->get<bool>();
  }
  return placement;
}

absl::StatusOr<std::string> ClickHouseConnector::DescribeInPlace(
    const EngineAccess& access, const std::string& relation) const {
  PARLEY_ASSIGN_OR_RETURN(auto engine, ClickHouseEngine::Connect(access.reader));
  const std::string& database = access.reader.database;
  PARLEY_ASSIGN_OR_RETURN(
      ResultTable found,
      engine->Query(absl::StrCat("SELECT engine, engine_full FROM system.tables WHERE database = ",
                                 Literal(database), " AND name = ", Literal(relation))));
  if (found.rows.empty()) {
    return absl::NotFoundError(absl::StrCat("clickhouse engine '", access.name, "' has no table '",
                                            database, ".", relation, "'"));
  }
  if (found.rows[0][0].value_or("") != "Distributed") {
    return absl::InvalidArgumentError(
        absl::StrCat("'", database, ".", relation, "' on clickhouse engine '", access.name,
                     "' is not a Distributed table (register the Distributed table over the "
                     "shards' local tables)"));
  }
  // Distributed(cluster, database, local[, sharding expression])
  static const std::regex kDistributed(
      R"(Distributed\(\s*'?([A-Za-z0-9_]+)'?\s*,\s*'?([A-Za-z0-9_]+)'?\s*,\s*'?([A-Za-z0-9_]+)'?\s*(?:,\s*(.*))?\)\s*)");
  std::smatch match;
  std::string full = found.rows[0][1].value_or("");
  if (!std::regex_match(full, match, kDistributed) || match[2] != database) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", database, ".", relation, "' on clickhouse engine '", access.name,
                     "' is a Distributed table over another database's tables"));
  }
  std::string sharding_key;
  static const std::regex kSipHash(R"(sipHash64\(\s*`?([A-Za-z_][A-Za-z0-9_]*)`?\s*\))");
  std::smatch key;
  std::string expression = match[4];
  // Co-location is only safe between tables spread by the same function over the same cluster.
  if (match[1] == access.cluster && std::regex_match(expression, key, kSipHash)) {
    sharding_key = key[1];
  }
  // The row identity: Parley's hidden Int64 column, which a loaded file carries and an operator
  // may give a table it loads itself (docs/scale-out.md). Any other column of a reserved name is
  // refused, so that nothing a member could name shadows a hidden column.
  PARLEY_ASSIGN_OR_RETURN(
      ResultTable reserved,
      engine->Query(absl::StrCat(
          "SELECT name, type FROM system.columns WHERE database = ", Literal(database),
          " AND table = ", Literal(relation), " AND substring(lower(name), 1, 8) = '__parley'")));
  bool row_id = false;
  for (const auto& column : reserved.rows) {
    std::string name = column.size() > 0 ? column[0].value_or("") : "";
    std::string type = column.size() > 1 ? column[1].value_or("") : "";
    if (name == kRowIdColumn && type == "Int64") {
      row_id = true;
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("'", database, ".", relation, "' on clickhouse engine '", access.name,
                     "' has a column '", name, "' (", type, "): names starting with '",
                     kReservedColumnPrefix, "' are reserved for Parley's hidden columns (only '",
                     kRowIdColumn, "' Int64, the row identity, is accepted)"));
  }
  Json stored = {{"database", database}, {"engine", access.name}, {"local", match[3].str()},
                 {"relation", relation}, {"row_id", row_id},      {"sharding_key", sharding_key}};
  return stored.dump();
}

absl::Status ClickHouseConnector::CheckServedFor(std::string_view description,
                                                 const std::string& organisation) const {
  nlohmann::json given = nlohmann::json::parse(description, nullptr, false);
  if (!given.is_object() || given.contains("load")) return absl::OkStatus();
  auto relation = given.find("relation");
  if (relation == given.end() || !relation->is_string()) return absl::OkStatus();
  std::string name = relation->get<std::string>();
  name = name.substr(name.find('.') == std::string::npos ? 0 : name.find('.') + 1);
  if (!absl::StartsWith(name, absl::StrCat(organisation, "_"))) {
    return absl::PermissionDeniedError(absl::StrCat(
        "on a server, a member registers in place only the cluster's tables named for it ('",
        organisation, "_...'); '", name, "' is not"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ClickHouseConnector::Validate(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Json json, ParseObject(description));
  for (const auto& [key, value] : json.items()) {
    static const std::set<std::string> kKeys = {"engine", "relation",     "load",  "database",
                                                "local",  "sharding_key", "row_id"};
    if (!kKeys.contains(key)) return Invalid(absl::StrCat("/", key), "unknown key");
  }
  PARLEY_ASSIGN_OR_RETURN(std::string engine_name, StringField(json, "engine", true));
  PARLEY_ASSIGN_OR_RETURN(std::string given_relation, StringField(json, "relation", true));
  PARLEY_ASSIGN_OR_RETURN(EngineAccess access, lookup_(engine_name));
  PARLEY_ASSIGN_OR_RETURN(std::string relation,
                          RelationName(given_relation, access.reader.database));
  if (!json.contains("load")) return DescribeInPlace(access, relation);
  if (!access.loader.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "clickhouse engine '", engine_name,
        "' has no loader account, so files cannot be loaded into it (the operator adds one with "
        "'parley engine add ... --loader-user U --loader-password-file F')"));
  }
  PARLEY_ASSIGN_OR_RETURN(std::string sharding_key, StringField(json, "sharding_key", false));
  if (!PlainName(sharding_key)) {
    return Invalid("/sharding_key",
                   "a file loaded into a cluster needs the column its rows are sharded by "
                   "(--shard-key COLUMN, normally the join key)");
  }
  files::FilesConnector files;
  const Json& load = json["load"];
  std::string given_file = load.is_string() ? Json{{"path", load}}.dump() : load.dump();
  PARLEY_ASSIGN_OR_RETURN(std::string file, files.Validate(given_file));
  Json stored = {{"database", access.reader.database},
                 {"engine", engine_name},
                 {"load", Json::parse(file)},
                 {"relation", relation},
                 {"sharding_key", sharding_key}};
  return stored.dump();
}

absl::StatusOr<std::vector<std::string>> ClickHouseConnector::ResolveFiles(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Json json, ParseObject(description));
  if (!json.contains("load")) return std::vector<std::string>{};
  files::FilesConnector files;
  return files.ResolveFiles(json["load"].dump());
}

absl::StatusOr<std::string> ClickHouseConnector::Pin(std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Json json, ParseObject(description));
  if (!json.contains("load")) return std::string(description);
  PARLEY_ASSIGN_OR_RETURN(EngineAccess access, lookup_(json["engine"].get<std::string>()));
  if (!access.loader.has_value()) return absl::FailedPreconditionError("no loader account");
  std::string relation = json["relation"];
  std::string local = relation + "_local";
  std::string key = json["sharding_key"];
  const std::string& database = access.reader.database;
  std::string named =
      absl::StrCat("'", database, ".", relation, "' on clickhouse engine '", access.name, "'");
  // The file as Parley reads it (its pinned dialect and types), streamed row by row.
  files::FilesConnector files;
  PARLEY_ASSIGN_OR_RETURN(std::string pinned, files.Pin(json["load"].dump()));
  PARLEY_ASSIGN_OR_RETURN(files::FileDescription source, files::ParseDescription(pinned));
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<files::RowStream> rows, files::RowStream::Open(source));
  std::vector<std::string> columns;
  bool has_key = false;
  for (size_t i = 0; i < rows->columns().size(); ++i) {
    const catalog::Column& column = rows->columns()[i];
    std::string type = ClickHouseType(column.type);
    if (type.empty() || !PlainName(column.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", column.name, "' (", column.type,
          ") cannot be loaded into clickhouse exactly (types: integers, DOUBLE, FLOAT, DECIMAL, "
          "VARCHAR, DATE, TIMESTAMP; names: letters, digits and _)"));
    }
    if (column.name == key) has_key = true;
    // Nullable only where the file has a NULL: 18.16 joins only keys of exactly the same type,
    // and a Distributed table registered in place normally has plain columns.
    columns.push_back(
        absl::StrCat(Quote(column.name), " ",
                     rows->has_null()[i] ? absl::StrCat("Nullable(", type, ")") : type));
  }
  if (!has_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("the sharding key '", key, "' is not a column of the file"));
  }
  // The row identity, last: the file's row number (from 1), unique over the whole table because
  // one stream assigns it. The file cannot have a column of that name (the files connector
  // refuses reserved names), and InferSchema never shows it.
  columns.push_back(absl::StrCat(Quote(kRowIdColumn), " Int64"));
  engine::clickhouse::ConnectOptions reader = access.reader;
  PARLEY_ASSIGN_OR_RETURN(auto engine, ClickHouseEngine::Connect(reader));
  PARLEY_ASSIGN_OR_RETURN(ResultTable existing,
                          engine->Query(absl::StrCat(
                              "SELECT name FROM system.tables WHERE database = ", Literal(database),
                              " AND name IN (", Literal(relation), ", ", Literal(local), ")")));
  if (!existing.rows.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(
        named, " already exists (or its local table does): choose another --relation"));
  }
  // The rows go into staging tables nobody reads: an INSERT that fails midway (a shard gone, the
  // connection cut, the file unreadable at row n) may already have written the blocks it received,
  // and those must never show under the relation's name. Only once every row is in are the
  // staging local tables renamed and the Distributed table created; a load that fails, or a
  // process that dies, leaves at most tables named "<relation>_loading_<id>", which a retry never
  // reuses (docs/scale-out.md says how the operator finds them).
  std::string id = RandomId();
  std::string staging = absl::StrCat(relation, "_loading_", id);
  std::string staging_local = absl::StrCat(relation, "_loading_", id, "_local");
  std::vector<std::string> nodes = access.nodes;
  if (nodes.empty()) nodes.push_back(access.reader.url);
  auto writer_on = [&](const std::string& node) {
    engine::clickhouse::ConnectOptions writer = *access.loader;
    writer.url = node;
    return writer;
  };
  // What this load created, by node: all it ever drops (another load of the same relation may
  // own the final names on a node where this one's rename failed).
  std::vector<std::pair<std::string, std::string>> created;
  auto drop = [&] {
    for (const auto& [node, table] : created) {
      ExecuteStatement(writer_on(node),
                       absl::StrCat("DROP TABLE IF EXISTS ", Quote(database), ".", Quote(table)))
          .IgnoreError();
    }
  };
  auto failed = [&](const absl::Status& status) {
    drop();
    return absl::Status(status.code(),
                        absl::StrCat("loading into ", named, ": ", status.message()));
  };
  std::string table_columns = absl::StrJoin(columns, ", ");
  auto distributed = [&](const std::string& name, const std::string& over) {
    return absl::StrCat("CREATE TABLE ", Quote(database), ".", Quote(name), " (", table_columns,
                        ") ENGINE = Distributed(", Quote(access.cluster), ", ", Quote(database),
                        ", ", Quote(over), ", sipHash64(", Quote(key), "))");
  };
  for (const std::string& node : nodes) {
    for (const auto& [table, statement] :
         {std::pair{staging_local,
                    absl::StrCat("CREATE TABLE ", Quote(database), ".", Quote(staging_local), " (",
                                 table_columns, ") ENGINE = MergeTree ORDER BY tuple()")},
          std::pair{staging, distributed(staging, staging_local)}}) {
      absl::Status done = ExecuteStatement(writer_on(node), statement).status();
      if (!done.ok()) return failed(done);
      created.emplace_back(node, table);
    }
  }
  // Rows in pieces of about load_.buffer_bytes: memory holds one piece and one DuckDB chunk,
  // whatever the file's size.
  std::vector<std::optional<std::string>> row;
  int64_t row_number = 0;
  absl::Status streamed = engine::clickhouse::ExecuteStreamed(
      *access.loader,
      absl::StrCat("INSERT INTO ", Quote(database), ".", Quote(staging), " FORMAT TabSeparated"),
      [&](std::string& piece) -> absl::StatusOr<bool> {
        bool more = true;
        while (piece.size() < load_.buffer_bytes) {
          PARLEY_ASSIGN_OR_RETURN(more, rows->Next(row));
          if (!more) break;
          for (size_t i = 0; i < row.size(); ++i) {
            if (i > 0) piece.push_back('\t');
            AppendField(piece, row[i]);
          }
          absl::StrAppend(&piece, "\t", ++row_number, "\n");
        }
        if (load_.on_piece && !load_.on_piece(piece.size())) {
          return absl::UnavailableError("the load was stopped midway");
        }
        return more;
      },
      {{"insert_distributed_sync", "1"}});
  if (!streamed.ok()) return failed(streamed);
  // Every row is in: the staging local tables take the local name on each node, then the
  // Distributed table that queries read appears over them.
  for (const std::string& node : nodes) {
    absl::Status renamed =
        ExecuteStatement(writer_on(node),
                         absl::StrCat("RENAME TABLE ", Quote(database), ".", Quote(staging_local),
                                      " TO ", Quote(database), ".", Quote(local)))
            .status();
    if (!renamed.ok()) return failed(renamed);
    created.emplace_back(node, local);
  }
  for (const std::string& node : nodes) {
    absl::Status done = ExecuteStatement(writer_on(node), distributed(relation, local)).status();
    if (!done.ok()) return failed(done);
    created.emplace_back(node, relation);
  }
  for (const std::string& node : nodes) {
    ExecuteStatement(writer_on(node),
                     absl::StrCat("DROP TABLE IF EXISTS ", Quote(database), ".", Quote(staging)))
        .IgnoreError();
  }
  absl::StatusOr<std::string> placed = DescribeInPlace(access, relation);
  if (!placed.ok()) drop();
  return placed;
}

absl::StatusOr<std::vector<catalog::Column>> ClickHouseConnector::InferSchema(
    std::string_view description) const {
  PARLEY_ASSIGN_OR_RETURN(Placement placement, ParsePlacement(description));
  PARLEY_ASSIGN_OR_RETURN(EngineAccess access, lookup_(placement.engine));
  PARLEY_ASSIGN_OR_RETURN(auto engine, ClickHouseEngine::Connect(access.reader));
  PARLEY_ASSIGN_OR_RETURN(ResultTable described,
                          engine->Query(absl::StrCat("DESCRIBE TABLE ", Quote(placement.database),
                                                     ".", Quote(placement.relation))));
  std::vector<catalog::Column> columns;
  for (const auto& row : described.rows) {
    if (row.size() < 2) continue;
    std::string name = row[0].value_or("");
    // The hidden row identity is never a column members see (DescribeInPlace accepted it).
    if (name == kRowIdColumn) continue;
    std::string type = engine::clickhouse::ParleyTypeName(row[1].value_or(""));
    if (type.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("column '", name, "' of '", placement.relation,
                                                     "' has the type ", row[1].value_or(""),
                                                     ", which Parley cannot read exactly"));
    }
    catalog::Column column;
    column.name = name;
    column.type = type;
    columns.push_back(std::move(column));
  }
  return columns;
}

absl::StatusOr<engine::SourceView> ClickHouseConnector::ViewFor(
    const catalog::Table& table, const std::vector<std::string>& files) const {
  absl::StatusOr<Placement> placement = ParsePlacement(table.source_json);
  if (!placement.ok()) {
    return absl::InternalError(absl::StrCat(
        "table '", table.name,
        "': its stored source description does not read: ", placement.status().message()));
  }
  engine::SourceView view;
  view.name = placement->relation;
  PARLEY_ASSIGN_OR_RETURN(view.pinned_columns, PinnedColumns(table));
  return view;
}

absl::StatusOr<catalog::TableSize> ClickHouseConnector::Measure(
    std::string_view description, const std::vector<std::string>& files) const {
  PARLEY_ASSIGN_OR_RETURN(Placement placement, ParsePlacement(description));
  PARLEY_ASSIGN_OR_RETURN(EngineAccess access, lookup_(placement.engine));
  PARLEY_ASSIGN_OR_RETURN(auto engine, ClickHouseEngine::Connect(access.reader));
  // Rows: the Distributed table's count, over every shard.
  PARLEY_ASSIGN_OR_RETURN(
      ResultTable counted,
      engine->Query(absl::StrCat("SELECT count() FROM ", Quote(placement.database), ".",
                                 Quote(placement.relation))));
  catalog::TableSize size{-1, 0};
  if (counted.rows.empty() || !counted.rows[0][0].has_value() ||
      !absl::SimpleAtoi(*counted.rows[0][0], &size.rows)) {
    return absl::InternalError("the clickhouse engine's count has an unexpected shape");
  }
  // Bytes: the shard-local table's active parts on each registered node, uncompressed — what a
  // query reading every column would read, the unit of ClickHouse's own bytes_read. 18.16 has no
  // way to read another node's system tables as a readonly=1 account (remote() is a table
  // function), so each node is asked directly; when the registered nodes hold only part of the
  // rows (a node not registered with --node), the bytes are scaled up by the rows they miss.
  int64_t part_rows = 0, part_bytes = 0;
  for (const std::string& node : access.nodes) {
    engine::clickhouse::ConnectOptions reader = access.reader;
    reader.url = node;
    PARLEY_ASSIGN_OR_RETURN(
        std::string parts,
        ExecuteStatement(reader, absl::StrCat("SELECT sum(rows), sum(data_uncompressed_bytes) "
                                              "FROM system.parts WHERE active AND database = ",
                                              Literal(placement.database), " AND table = ",
                                              Literal(placement.local), " FORMAT TabSeparated")));
    std::vector<std::string> fields =
        absl::StrSplit(absl::StripTrailingAsciiWhitespace(parts), '\t');
    int64_t rows = 0, bytes = 0;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &rows) ||
        !absl::SimpleAtoi(fields[1], &bytes)) {
      return absl::InternalError("the clickhouse engine's parts have an unexpected shape");
    }
    part_rows += rows;
    part_bytes += bytes;
  }
  size.bytes = part_bytes;
  if (part_rows > 0 && part_rows < size.rows) {
    size.bytes = static_cast<int64_t>(static_cast<__int128>(part_bytes) * size.rows / part_rows);
  }
  return size;
}

SourceSummary ClickHouseConnector::Summarize(std::string_view description) const {
  absl::StatusOr<Placement> placement = ParsePlacement(description);
  if (!placement.ok()) return {};
  return {"clickhouse",
          absl::StrCat(placement->engine, ":", placement->database, ".", placement->relation)};
}

std::vector<FileId> ClickHouseConnector::Claims(std::string_view description) const {
  absl::StatusOr<Json> json = ParseObject(description);
  if (!json.ok() || !json->contains("engine") || !json->contains("database") ||
      !json->contains("relation") || !(*json)["relation"].is_string()) {
    return {};
  }
  // The top bit keeps these apart from local files' (device, inode) pairs; the second from
  // PostgreSQL relations'.
  uint64_t place = Fnv1a(absl::StrCat("clickhouse/", (*json)["engine"].dump(), "/",
                                      (*json)["database"].dump())) |
                   (uint64_t{3} << 62);
  return {{place, Fnv1a((*json)["relation"].get<std::string>())}};
}

}  // namespace parley::connectors::clickhouse
