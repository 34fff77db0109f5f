#include "engine/duckdb/duckdb_api.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace parley::engine::duckdb {
namespace {

absl::Status SetOption(duckdb_config config, const char* name, const std::string& value) {
  if (duckdb_set_config(config, name, value.c_str()) == DuckDBError) {
    return absl::InvalidArgumentError(absl::StrCat("invalid DuckDB setting ", name));
  }
  return absl::OkStatus();
}

// DuckDB prints a struct field or union member name bare when it is a plain lower-case
// identifier and double-quoted otherwise.
std::string FieldName(const char* name) {
  std::string text = name;
  bool plain = !text.empty() && !(text[0] >= '0' && text[0] <= '9');
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) plain = false;
  }
  return plain ? text : QuoteIdentifier(text);
}

}  // namespace

absl::StatusOr<InMemoryDatabase> OpenInMemoryDatabase(const DatabaseOptions& options) {
  DuckConfig config;
  if (duckdb_create_config(config.out()) == DuckDBError) {
    return absl::InternalError("cannot create a DuckDB configuration");
  }
  PARLEY_RETURN_IF_ERROR(SetOption(config.get(), "autoinstall_known_extensions", "false"));
  PARLEY_RETURN_IF_ERROR(SetOption(config.get(), "autoload_known_extensions", "false"));
  if (options.threads > 0) {
    PARLEY_RETURN_IF_ERROR(SetOption(config.get(), "threads", std::to_string(options.threads)));
  }
  if (!options.memory_limit.empty()) {
    PARLEY_RETURN_IF_ERROR(SetOption(config.get(), "memory_limit", options.memory_limit));
  }
  // An in-memory database would otherwise spill into ".tmp" under the working directory.
  PARLEY_RETURN_IF_ERROR(SetOption(config.get(), "temp_directory", options.temp_directory));

  InMemoryDatabase db;
  char* raw_error = nullptr;
  if (duckdb_open_ext(nullptr, db.database.out(), config.get(), &raw_error) == DuckDBError) {
    // The message is about configuration, but it is DuckDB's text: keep it out of user errors.
    duckdb_free(raw_error);
    return absl::InternalError("cannot open an in-memory DuckDB database");
  }
  if (duckdb_connect(db.database.get(), db.connection.out()) == DuckDBError) {
    return absl::InternalError("cannot connect to the in-memory DuckDB database");
  }
  return db;
}

ErrorClass ClassifyError(duckdb_error_type type) {
  using absl::StatusCode;
  switch (type) {
    case DUCKDB_ERROR_OUT_OF_RANGE:
      return {StatusCode::kInvalidArgument, "out of range error"};
    case DUCKDB_ERROR_CONVERSION:
      return {StatusCode::kInvalidArgument, "conversion error"};
    case DUCKDB_ERROR_UNKNOWN_TYPE:
      return {StatusCode::kInvalidArgument, "unknown type error"};
    case DUCKDB_ERROR_DECIMAL:
      return {StatusCode::kInvalidArgument, "decimal error"};
    case DUCKDB_ERROR_MISMATCH_TYPE:
      return {StatusCode::kInvalidArgument, "type mismatch error"};
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
      return {StatusCode::kInvalidArgument, "division by zero"};
    case DUCKDB_ERROR_OBJECT_SIZE:
      return {StatusCode::kInvalidArgument, "object size error"};
    case DUCKDB_ERROR_INVALID_TYPE:
      return {StatusCode::kInvalidArgument, "invalid type error"};
    case DUCKDB_ERROR_SERIALIZATION:
      return {StatusCode::kInternal, "serialization error"};
    case DUCKDB_ERROR_TRANSACTION:
      return {StatusCode::kInternal, "transaction error"};
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
      return {StatusCode::kInvalidArgument, "not implemented"};
    case DUCKDB_ERROR_EXPRESSION:
      return {StatusCode::kInvalidArgument, "expression error"};
    case DUCKDB_ERROR_CATALOG:
      return {StatusCode::kInvalidArgument, "catalog error"};
    case DUCKDB_ERROR_PARSER:
      return {StatusCode::kInvalidArgument, "parser error"};
    case DUCKDB_ERROR_PLANNER:
      return {StatusCode::kInvalidArgument, "planner error"};
    case DUCKDB_ERROR_SCHEDULER:
      return {StatusCode::kInternal, "scheduler error"};
    case DUCKDB_ERROR_EXECUTOR:
      return {StatusCode::kInternal, "executor error"};
    case DUCKDB_ERROR_CONSTRAINT:
      return {StatusCode::kInvalidArgument, "constraint error"};
    case DUCKDB_ERROR_INDEX:
      return {StatusCode::kInternal, "index error"};
    case DUCKDB_ERROR_STAT:
      return {StatusCode::kInternal, "statistics error"};
    case DUCKDB_ERROR_CONNECTION:
      return {StatusCode::kInternal, "connection error"};
    case DUCKDB_ERROR_SYNTAX:
      return {StatusCode::kInvalidArgument, "syntax error"};
    case DUCKDB_ERROR_SETTINGS:
      return {StatusCode::kInvalidArgument, "settings error"};
    case DUCKDB_ERROR_BINDER:
      return {StatusCode::kInvalidArgument, "binder error"};
    case DUCKDB_ERROR_NETWORK:
      return {StatusCode::kUnavailable, "network error"};
    case DUCKDB_ERROR_OPTIMIZER:
      return {StatusCode::kInternal, "optimizer error"};
    case DUCKDB_ERROR_NULL_POINTER:
      return {StatusCode::kInternal, "null pointer error"};
    case DUCKDB_ERROR_IO:
      return {StatusCode::kInternal, "IO error"};
    case DUCKDB_ERROR_INTERRUPT:
      return {StatusCode::kCancelled, "interrupted"};
    case DUCKDB_ERROR_FATAL:
      return {StatusCode::kInternal, "fatal error"};
    case DUCKDB_ERROR_INTERNAL:
      return {StatusCode::kInternal, "internal error"};
    case DUCKDB_ERROR_INVALID_INPUT:
      return {StatusCode::kInvalidArgument, "invalid input error"};
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return {StatusCode::kResourceExhausted, "out of memory"};
    case DUCKDB_ERROR_PERMISSION:
      return {StatusCode::kPermissionDenied, "permission error"};
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
      return {StatusCode::kInvalidArgument, "parameter not resolved"};
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
      return {StatusCode::kInvalidArgument, "parameter not allowed"};
    case DUCKDB_ERROR_DEPENDENCY:
      return {StatusCode::kInvalidArgument, "dependency error"};
    case DUCKDB_ERROR_HTTP:
      return {StatusCode::kUnavailable, "HTTP error"};
    case DUCKDB_ERROR_MISSING_EXTENSION:
      return {StatusCode::kInternal, "missing extension"};
    case DUCKDB_ERROR_AUTOLOAD:
      return {StatusCode::kInternal, "extension autoload error"};
    case DUCKDB_ERROR_SEQUENCE:
      return {StatusCode::kInvalidArgument, "sequence error"};
    default:
      return {StatusCode::kInternal, "unknown error"};
  }
}

absl::Status ExecuteStatement(duckdb_connection connection, const std::string& sql,
                              const std::string& context) {
  DuckResult result;
  if (duckdb_query(connection, sql.c_str(), result.out()) == DuckDBError) {
    ErrorClass error = ClassifyError(duckdb_result_error_type(&result.get()));
    return absl::Status(error.code, absl::StrCat(context, ": ", error.name));
  }
  return absl::OkStatus();
}

std::string TypeName(duckdb_logical_type type) {
  duckdb_type id = duckdb_get_type_id(type);
  if (id != DUCKDB_TYPE_ENUM) {
    DuckString alias(duckdb_logical_type_get_alias(type));
    if (alias != nullptr && *alias != '\0') return alias.get();
  }
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_UTINYINT:
      return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:
      return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:
      return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:
      return "UBIGINT";
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_HUGEINT:
      return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT:
      return "UHUGEINT";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_DECIMAL:
      return absl::StrCat("DECIMAL(", duckdb_decimal_width(type), ",", duckdb_decimal_scale(type),
                          ")");
    case DUCKDB_TYPE_TIMESTAMP_S:
      return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return "TIMESTAMP_NS";
    case DUCKDB_TYPE_ENUM:
      return "ENUM";
    case DUCKDB_TYPE_LIST: {
      DuckLogicalType child;
      *child.out() = duckdb_list_type_child_type(type);
      return TypeName(child.get()) + "[]";
    }
    case DUCKDB_TYPE_ARRAY: {
      DuckLogicalType child;
      *child.out() = duckdb_array_type_child_type(type);
      return absl::StrCat(TypeName(child.get()), "[", duckdb_array_type_array_size(type), "]");
    }
    case DUCKDB_TYPE_MAP: {
      DuckLogicalType key;
      DuckLogicalType value;
      *key.out() = duckdb_map_type_key_type(type);
      *value.out() = duckdb_map_type_value_type(type);
      return absl::StrCat("MAP(", TypeName(key.get()), ", ", TypeName(value.get()), ")");
    }
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
      bool is_struct = id == DUCKDB_TYPE_STRUCT;
      idx_t count =
          is_struct ? duckdb_struct_type_child_count(type) : duckdb_union_type_member_count(type);
      std::string text = is_struct ? "STRUCT(" : "UNION(";
      for (idx_t i = 0; i < count; ++i) {
        DuckString name(is_struct ? duckdb_struct_type_child_name(type, i)
                                  : duckdb_union_type_member_name(type, i));
        DuckLogicalType child;
        *child.out() = is_struct ? duckdb_struct_type_child_type(type, i)
                                 : duckdb_union_type_member_type(type, i);
        absl::StrAppend(&text, i > 0 ? ", " : "", FieldName(name.get()), " ",
                        TypeName(child.get()));
      }
      return text + ")";
    }
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_BIT:
      return "BIT";
    case DUCKDB_TYPE_TIME_TZ:
      return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_BIGNUM:
      return "BIGNUM";
    case DUCKDB_TYPE_SQLNULL:
      return "\"NULL\"";
    case DUCKDB_TYPE_TIME_NS:
      return "TIME_NS";
    default:
      return "UNKNOWN";
  }
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string QuoteString(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + "'";
}

}  // namespace parley::engine::duckdb
