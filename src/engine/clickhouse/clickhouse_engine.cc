#include "engine/clickhouse/clickhouse_engine.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace parley::engine::clickhouse {
namespace {

// The error's code: "Code: 241, e.displayText() = ..." → 241; 0 when there is none.
int ErrorCode(absl::string_view body) {
  body = absl::StripLeadingAsciiWhitespace(body);
  if (!absl::ConsumePrefix(&body, "Code: ")) return 0;
  size_t end = body.find_first_not_of("0123456789");
  int code = 0;
  if (!absl::SimpleAtoi(body.substr(0, end), &code)) return 0;
  return code;
}

// "http://HOST:PORT[/]" → host and port; InvalidArgument otherwise.
absl::Status ParseUrl(const std::string& given, std::string* host, int* port) {
  absl::string_view url = given;
  std::vector<std::string> parts;
  if (absl::ConsumePrefix(&url, "http://")) {
    absl::ConsumeSuffix(&url, "/");
    parts = absl::StrSplit(url, ':');
  }
  if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], port) || *port <= 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(
        "a clickhouse engine's address is http://HOST:PORT (its HTTP interface)");
  }
  *host = parts[0];
  return absl::OkStatus();
}

// A query id no other run shares: 128 random bits in hex.
std::string NewQueryId() {
  std::random_device random;
  std::string id = "parley-";
  for (int i = 0; i < 4; ++i) absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  return id;
}

// The account's credentials as ClickHouse's X-ClickHouse-User / X-ClickHouse-Key headers, for one
// request; the header values are wiped when it goes away.
class Credentials {
 public:
  explicit Credentials(const ConnectOptions& options)
      : headers_{{"X-ClickHouse-User", options.user},
                 {"X-ClickHouse-Key", std::string(options.password.reveal())}} {}
  ~Credentials() {
    for (auto& [name, value] : headers_) WipeString(value);
  }
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  const httplib::Headers& headers() const { return headers_; }

 private:
  httplib::Headers headers_;
};

// Reads JSONCompact as events, so that each number keeps the text ClickHouse wrote (a double
// would turn the Decimal 1.10 into 1.1, or lose digits of a large one).
class JsonCompactReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonCompactReader(Answer& answer) : answer_(answer) {}

  bool null() override { return Value(std::nullopt); }
  bool boolean(bool value) override { return Value(value ? "true" : "false"); }
  bool number_integer(number_integer_t value) override { return Value(std::to_string(value)); }
  bool number_unsigned(number_unsigned_t value) override { return Value(std::to_string(value)); }
  bool number_float(number_float_t, const string_t& text) override { return Value(text); }
  bool string(string_t& value) override { return Value(value); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    ++depth_;
    if (section_ == "meta" && depth_ == 3) answer_.table.columns.emplace_back();
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    if (section_ == "data" && depth_ == 3) answer_.table.rows.emplace_back();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& key) override {
    if (depth_ == 1) section_ = key;
    key_ = key;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Value(std::optional<std::string> value) {
    if (section_ == "meta" && depth_ == 3 && !answer_.table.columns.empty()) {
      ResultColumn& column = answer_.table.columns.back();
      (key_ == "name" ? column.name : column.type) = value.value_or("");
    } else if (section_ == "data" && depth_ == 3 && !answer_.table.rows.empty()) {
      answer_.table.rows.back().push_back(std::move(value));
    } else if (section_ == "statistics" && depth_ == 2) {
      int64_t number = 0;
      if (value && absl::SimpleAtoi(*value, &number)) {
        if (key_ == "rows_read") answer_.read.rows = number;
        if (key_ == "bytes_read") answer_.read.bytes = number;
      }
    }
    return true;
  }

  Answer& answer_;
  int depth_ = 0;
  std::string section_;
  std::string key_;
};

}  // namespace

std::string ParleyTypeName(std::string_view given) {
  absl::string_view type =
      absl::StripAsciiWhitespace(absl::string_view(given.data(), given.size()));
  for (absl::string_view wrapper :
       {absl::string_view("Nullable("), absl::string_view("LowCardinality(")}) {
    if (absl::StartsWith(type, wrapper) && absl::EndsWith(type, ")")) {
      return ParleyTypeName(
          std::string(type.substr(wrapper.size(), type.size() - wrapper.size() - 1)));
    }
  }
  static const auto* const kNames = new std::map<std::string, std::string>{
      {"Int8", "TINYINT"},       {"Int16", "SMALLINT"},  {"Int32", "INTEGER"},
      {"Int64", "BIGINT"},       {"UInt8", "UTINYINT"},  {"UInt16", "USMALLINT"},
      {"UInt32", "UINTEGER"},    {"UInt64", "UBIGINT"},  {"Float32", "FLOAT"},
      {"Float64", "DOUBLE"},     {"String", "VARCHAR"},  {"Date", "DATE"},
      {"DateTime", "TIMESTAMP"}, {"Nothing", "\"NULL\""}};
  auto found = kNames->find(std::string(type));
  if (found != kNames->end()) return found->second;
  if (absl::StartsWith(type, "FixedString(")) return "VARCHAR";
  if (absl::StartsWith(type, "DateTime(")) return "TIMESTAMP";
  if (absl::StartsWith(type, "Decimal(") && absl::EndsWith(type, ")")) {
    std::string inner(type.substr(8, type.size() - 9));
    inner.erase(std::remove(inner.begin(), inner.end(), ' '), inner.end());
    return absl::StrCat("DECIMAL(", inner, ")");
  }
  return "";
}

absl::StatusOr<Answer> DecodeJsonCompact(std::string_view body) {
  Answer answer;
  JsonCompactReader reader(answer);
  bool parsed = nlohmann::json::sax_parse(body, &reader, nlohmann::json::input_format_t::json,
                                          /*strict=*/true);
  if (!parsed) {
    // An error after the first rows went out (the status was already 200): the server appends
    // its exception to what it had written.
    size_t error = body.rfind("Code: ");
    if (error != std::string_view::npos &&
        ErrorCode(absl::string_view(body.data() + error, body.size() - error)) != 0) {
      return StatusForServerError(body.substr(error), "clickhouse engine");
    }
    return absl::InvalidArgumentError("the clickhouse engine's result is not JSONCompact");
  }
  ResultTable& table = answer.table;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    std::string type = ParleyTypeName(table.columns[i].type);
    if (type.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("the clickhouse engine's result column ",
                                                     i + 1, " has a type Parley cannot carry (",
                                                     table.columns[i].type, ")"));
    }
    table.columns[i].type = type;
  }
  for (size_t line = 0; line < table.rows.size(); ++line) {
    auto& row = table.rows[line];
    if (row.size() != table.columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat("the clickhouse engine's result row ",
                                                     line + 1, " has ", row.size(), " values, not ",
                                                     table.columns.size()));
    }
    for (size_t i = 0; i < row.size(); ++i) {
      std::optional<std::string>& value = row[i];
      const std::string& type = table.columns[i].type;
      if (!value || (type != "DOUBLE" && type != "FLOAT")) continue;
      // As DuckDB prints reals: "nan" (JSON's quoted NaN may carry a sign), and a whole real as
      // "162.0", where ClickHouse prints "162".
      if (*value == "-nan") *value = "nan";
      if (!value->empty() && value->find_first_not_of("-0123456789") == std::string::npos) {
        value->append(".0");
      }
    }
  }
  return answer;
}

absl::Status StatusForServerError(std::string_view body, std::string_view engine_name) {
  int code = ErrorCode(absl::string_view(body.data(), body.size()));
  std::string engine(engine_name);
  std::string prefix = absl::StrCat("the ", engine, " ");
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 160:  // TOO_SLOW
      return absl::DeadlineExceededError(
          absl::StrCat(prefix, "stopped the query: it ran longer than max_execution_time"));
    case 241:  // MEMORY_LIMIT_EXCEEDED
      return absl::ResourceExhaustedError(
          absl::StrCat(prefix, "stopped the query: it needed more than max_memory_usage"));
    case 158:  // TOO_MANY_ROWS
    case 396:  // TOO_MANY_ROWS_OR_BYTES
      return absl::ResourceExhaustedError(
          absl::StrCat(prefix, "stopped the query: its result has more rows than max_result_rows"));
    case 394:  // QUERY_WAS_CANCELLED
      return absl::CancelledError(absl::StrCat(prefix, "cancelled the query"));
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case 195:  // IP_ADDRESS_NOT_ALLOWED
      return absl::PermissionDeniedError(
          absl::StrCat(prefix, "refused Parley's credentials (user, password or network)"));
    case 164:  // READONLY
    case 291:  // DATABASE_ACCESS_DENIED
    case 497:  // ACCESS_DENIED
      return absl::PermissionDeniedError(
          absl::StrCat(prefix, "refused the query: outside what Parley's account may do"));
    case 60:  // UNKNOWN_TABLE
    case 81:  // UNKNOWN_DATABASE
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "no longer has a table the query reads"));
    case 16:  // NO_SUCH_COLUMN_IN_TABLE
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "no longer has a column the query reads"));
    case 210:  // NETWORK_ERROR
    case 209:  // SOCKET_TIMEOUT
    case 279:  // ALL_CONNECTION_TRIES_FAILED
    case 32:   // ATTEMPT_TO_READ_AFTER_EOF (a shard went away mid-answer)
      return absl::UnavailableError(absl::StrCat(prefix, "could not reach a shard of its cluster"));
    case 6:   // CANNOT_PARSE_TEXT
    case 27:  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 38:  // CANNOT_PARSE_DATE
    case 41:  // CANNOT_PARSE_DATETIME
    case 70:  // CANNOT_CONVERT_TYPE
    case 72:  // CANNOT_PARSE_NUMBER
      return absl::InvalidArgumentError(
          absl::StrCat("query failed during execution on the ", engine, ": conversion error"));
    case 153:  // ILLEGAL_DIVISION
      return absl::InvalidArgumentError(
          absl::StrCat("query failed during execution on the ", engine, ": division by zero"));
    case 407:  // DECIMAL_OVERFLOW
    case 69:   // ARGUMENT_OUT_OF_BOUND
      return absl::InvalidArgumentError(
          absl::StrCat("query failed during execution on the ", engine, ": out of range"));
    default:
      break;
  }
  // Anything else (a syntax or type error) means the dialect wrote SQL the server does not take:
  // a defect of Parley's, reported by its code so it can be found, without the server's text.
  return absl::InternalError(
      absl::StrCat(prefix, "rejected the SQL Parley generated (ClickHouse error code ", code, ")"));
}

absl::StatusOr<std::unique_ptr<ClickHouseEngine>> ClickHouseEngine::Connect(
    ConnectOptions options) {
  std::string host;
  int port = 0;
  PARLEY_RETURN_IF_ERROR(ParseUrl(options.url, &host, &port));
  std::unique_ptr<ClickHouseEngine> engine(new ClickHouseEngine(std::move(options)));
  engine->host_ = host;
  engine->port_ = port;
  // The settings are read as rows, not as scalar subqueries: ClickHouse runs a scalar subquery
  // with max_result_rows=1, so it would report 1 whatever the profile says.
  absl::StatusOr<ResultTable> facts = engine->Query(
      "SELECT version(), timezone(), "
      // Whether the server's zone is UTC in winter and summer, whatever it calls it ("Etc/UTC").
      "toUnixTimestamp(toDateTime('2000-01-01 00:00:00')) = 946684800 AND "
      "toUnixTimestamp(toDateTime('2000-07-01 00:00:00')) = 962409600");
  if (!facts.ok()) return facts.status();
  absl::StatusOr<ResultTable> settings = engine->Query(
      "SELECT name, value FROM system.settings WHERE name IN ('readonly', 'join_use_nulls', "
      "'max_result_rows', 'max_execution_time', 'max_memory_usage', "
      "'output_format_json_quote_denormals')");
  if (!settings.ok()) return settings.status();
  if (facts->rows.size() != 1 || facts->rows[0].size() != 3) {
    return absl::InternalError("the clickhouse engine's server facts have an unexpected shape");
  }
  const auto& row = facts->rows[0];
  auto text = [&](int i) { return row[i].value_or(""); };
  std::map<std::string, std::string> setting;
  for (const auto& pair : settings->rows) {
    if (pair.size() == 2) setting[pair[0].value_or("")] = pair[1].value_or("");
  }
  ServerFacts& server = engine->facts_;
  server.version = text(0);
  server.timezone = text(1);
  if (!absl::StartsWith(server.version, "18.16.")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the clickhouse engine runs ClickHouse ", server.version,
        "; Parley's clickhouse dialect is written and tested for 18.16 (docs/scale-out.md)"));
  }
  if (text(2) != "1") {
    return absl::FailedPreconditionError(
        "the clickhouse engine's server timezone is not UTC: its DateTime values would not equal "
        "Parley's zone-less TIMESTAMP");
  }
  if (setting["readonly"] != "1") {
    return absl::FailedPreconditionError(
        "the clickhouse engine's account is not read-only: its profile must set readonly=1 "
        "(docs/scale-out.md)");
  }
  if (setting["join_use_nulls"] != "1") {
    return absl::FailedPreconditionError(
        "the clickhouse engine's account profile must set join_use_nulls=1, or outer joins give "
        "'' and 0 instead of NULL");
  }
  if (setting["output_format_json_quote_denormals"] != "1") {
    return absl::FailedPreconditionError(
        "the clickhouse engine's account profile must set output_format_json_quote_denormals=1, "
        "or NaN and infinities would arrive as NULL (docs/scale-out.md)");
  }
  int64_t* limits[] = {&server.max_result_rows, &server.max_execution_time,
                       &server.max_memory_usage};
  const char* names[] = {"max_result_rows", "max_execution_time", "max_memory_usage"};
  for (int i = 0; i < 3; ++i) {
    if (!absl::SimpleAtoi(setting[names[i]], limits[i]) || *limits[i] <= 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the clickhouse engine's account profile must set ", names[i], " (docs/scale-out.md)"));
    }
  }
  return engine;
}

absl::StatusOr<std::string> ExecuteStatement(
    const ConnectOptions& options, const std::string& statement, const std::string& data,
    const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string host;
  int port = 0;
  PARLEY_RETURN_IF_ERROR(ParseUrl(options.url, &host, &port));
  httplib::Client client(host, port);
  client.set_connection_timeout(5);
  client.set_read_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count() + 5);
  Credentials credentials(options);
  httplib::Params params{{"database", options.database}};
  for (const auto& [name, value] : settings) params.emplace(name, value);
  if (!data.empty()) params.emplace("query", statement);
  std::string path = httplib::append_query_params("/", params);
  auto response =
      client.Post(path, credentials.headers(), data.empty() ? statement : data, "text/plain");
  if (!response) {
    return absl::UnavailableError(absl::StrCat("the clickhouse engine at ", host, ":", port,
                                               " does not answer (",
                                               httplib::to_string(response.error()), ")"));
  }
  if (response->status != 200) return StatusForServerError(response->body, "clickhouse engine");
  return response->body;
}

absl::Status ExecuteStreamed(const ConnectOptions& options, const std::string& statement,
                             const std::function<absl::StatusOr<bool>(std::string&)>& next,
                             const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string host;
  int port = 0;
  PARLEY_RETURN_IF_ERROR(ParseUrl(options.url, &host, &port));
  httplib::Client client(host, port);
  client.set_connection_timeout(5);
  client.set_read_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count() + 5);
  client.set_write_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count() + 5);
  Credentials credentials(options);
  httplib::Params params{{"database", options.database}, {"query", statement}};
  for (const auto& [name, value] : settings) params.emplace(name, value);
  std::string path = httplib::append_query_params("/", params);
  absl::Status stopped;
  std::string piece;
  auto response = client.Post(
      path, credentials.headers(),
      [&](size_t, httplib::DataSink& sink) {
        piece.clear();
        absl::StatusOr<bool> more = next(piece);
        if (!more.ok()) {
          stopped = more.status();
          return false;  // ends the request without its final chunk: the server fails the INSERT
        }
        if (!piece.empty() && !sink.write(piece.data(), piece.size())) return false;
        if (!*more) sink.done();
        return true;
      },
      "text/plain");
  if (!stopped.ok()) return stopped;
  if (!response) {
    return absl::UnavailableError(absl::StrCat("the clickhouse engine at ", host, ":", port,
                                               " does not answer (",
                                               httplib::to_string(response.error()), ")"));
  }
  if (response->status != 200) return StatusForServerError(response->body, "clickhouse engine");
  return absl::OkStatus();
}

absl::StatusOr<ResultTable> ClickHouseEngine::Query(const std::string& sql) const {
  PARLEY_ASSIGN_OR_RETURN(Answer answer, QueryWithId(sql, "", options_.timeout));
  return std::move(answer.table);
}

absl::StatusOr<Answer> ClickHouseEngine::QueryCounted(const std::string& sql) const {
  return QueryWithId(sql, "", options_.timeout);
}

absl::StatusOr<Answer> ClickHouseEngine::QueryWithId(const std::string& sql,
                                                     const std::string& query_id,
                                                     std::chrono::milliseconds timeout) const {
  httplib::Client client(host_, port_);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count() + 5;
  client.set_connection_timeout(5);
  client.set_read_timeout(seconds);
  Credentials credentials(options_);
  httplib::Params params{{"database", options_.database}};
  // Not a setting (readonly=1 refuses those in the URL): the id KILL QUERY names.
  if (!query_id.empty()) params.emplace("query_id", query_id);
  std::string path = httplib::append_query_params("/", params);
  auto response =
      client.Post(path, credentials.headers(), sql + "\nFORMAT JSONCompact", "text/plain");
  if (!response) {
    if (response.error() == httplib::Error::Read) {
      return absl::DeadlineExceededError(
          "the clickhouse engine did not answer within the query's time limit");
    }
    return absl::UnavailableError(absl::StrCat("the clickhouse engine at ", host_, ":", port_,
                                               " does not answer (",
                                               httplib::to_string(response.error()), ")"));
  }
  if (response->status != 200) return StatusForServerError(response->body, "clickhouse engine");
  return DecodeJsonCompact(response->body);
}

absl::Status ClickHouseEngine::CheckTable(const std::string& table,
                                          const std::vector<ResultColumn>& pinned_columns,
                                          const std::string& context) const {
  auto quote = [](absl::string_view name) {
    std::string out = "`";
    for (char c : name) {
      if (c == '`' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out + "`";
  };
  std::string prefix = absl::StrCat(context, " no longer matches its pinned schema: ");
  absl::StatusOr<ResultTable> described =
      Query(absl::StrCat("DESCRIBE TABLE ", quote(options_.database), ".", quote(table)));
  if (!described.ok()) {
    if (absl::IsFailedPrecondition(described.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat(context,
                       " is no longer on its clickhouse engine (the table was dropped or "
                       "renamed); its owner must register it again"));
    }
    return described.status();
  }
  for (const ResultColumn& pinned : pinned_columns) {
    const std::vector<std::optional<std::string>>* found = nullptr;
    for (const auto& row : described->rows) {
      if (row.size() >= 2 && absl::EqualsIgnoreCase(row[0].value_or(""), pinned.name)) {
        found = &row;
      }
    }
    if (found == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "column '", pinned.name, "' is missing"));
    }
    std::string type = ParleyTypeName((*found)[1].value_or(""));
    if (type != pinned.type) {
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "column '", pinned.name, "' was ", pinned.type, ", is now ",
                       type.empty() ? (*found)[1].value_or("") : type));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ResultTable> ClickHouseEngine::RunPlan(const Plan& plan, Stage& stage) {
  for (const SourceView& view : plan.views) {
    if (!view.select_sql.empty() || view.scan != nullptr) {
      return absl::InternalError(absl::StrCat(
          "table '", view.name, "' is not a table of the clickhouse engine (it has a local view)"));
    }
    PARLEY_RETURN_IF_ERROR(
        CheckTable(view.name, view.pinned_columns, absl::StrCat("table '", view.name, "'")));
  }
  stage = Stage::kQuery;
  std::chrono::milliseconds timeout = options_.timeout;
  if (plan.control != nullptr && plan.control->timeout.count() > 0) {
    timeout = plan.control->timeout;
  }
  auto stopped = [&] {
    return (plan.control != nullptr && plan.control->cancel.load()) ||
           (options_.cancel != nullptr && options_.cancel->load());
  };
  // The query runs in a thread of its own while this one watches the cancel flags and the clock.
  std::string query_id = NewQueryId();
  std::promise<absl::StatusOr<Answer>> promise;
  std::future<absl::StatusOr<Answer>> answer = promise.get_future();
  std::thread runner([this, &plan, &query_id, &promise, timeout] {
    promise.set_value(QueryWithId(plan.sql, query_id, timeout));
  });
  auto deadline = std::chrono::steady_clock::now() + timeout;
  absl::Status ended;
  while (answer.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (stopped()) {
      ended = absl::CancelledError("the query was cancelled (on the clickhouse engine too)");
    } else if (std::chrono::steady_clock::now() >= deadline) {
      ended = absl::DeadlineExceededError(
          "the query ran longer than its time limit and was stopped on the clickhouse engine");
    } else {
      continue;
    }
    // ASYNC: the kill is registered at once; the runner's request then ends with the server's
    // QUERY_WAS_CANCELLED as soon as the query reaches its next block (seconds at most).
    absl::StatusOr<ResultTable> killed =
        Query(absl::StrCat("KILL QUERY WHERE query_id = '", query_id, "' ASYNC"));
    (void)killed;  // if the kill fails, the query still ends at max_execution_time
    break;
  }
  runner.join();
  absl::StatusOr<Answer> result = answer.get();
  if (!ended.ok()) return ended;
  if (!result.ok()) return result.status();
  if (plan.read != nullptr) *plan.read = result->read;
  return std::move(result->table);
}

}  // namespace parley::engine::clickhouse
