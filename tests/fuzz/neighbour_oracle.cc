#include "fuzz/neighbour_oracle.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"
#include "policy/rule.h"
#include "query/compile.h"
#include "query/snapshot.h"
#include "service/run_failure.h"
#include "sql/binder.h"
#include "sql/duckdb_types.h"
#include "sql/parser.h"

namespace parley::fuzz {
namespace {

constexpr const char* kRunner = "supplier";

// Hostile values. Each is the extreme of its type, or a value no conversion accepts.
constexpr const char* kMaxBigint = "9223372036854775807::BIGINT";
constexpr const char* kMaxInteger = "2147483647::INTEGER";
constexpr const char* kMaxHugeint = "'170141183460469231731687303715884105727'";  // as text
constexpr const char* kMaxDouble = "1.7976931348623157e308::DOUBLE";
constexpr const char* kMaxDecimal18 = "9999999999999999.99::DECIMAL(18,2)";
constexpr const char* kMaxDecimal38 = "9999999999999999999999999999.9999999999::DECIMAL(38,10)";
constexpr const char* kFarDate = "DATE '5881580-07-10'";
constexpr const char* kFarTimestamp = "TIMESTAMP '294246-12-31 23:59:59'";

// The retailer's households: 48 ordinary rows, every group of every dimension well above the
// threshold of 3 distinct households. D' adds the hostile row: e-mail 'e_hostile', a value of its
// own in every dimension (NULL where D has no NULL), extremes everywhere else.
std::string RetailSelect(bool with_hostile_row) {
  std::string sql =
      "SELECT i::BIGINT AS household_id, printf('e%03d', i) AS hashed_email, "
      "['18-34', '35-54', '55+'][i % 3 + 1] AS age_band, "
      "['low', 'mid', 'high'][(i // 3) % 3 + 1] AS income_bracket, "
      "(i % 5 + 1)::INTEGER AS household_size, "
      "['north', 'south', 'east', 'west'][i % 4 + 1] AS region, "
      "['a', 'b'][i % 2 + 1] AS segment, (i * 12.5)::DOUBLE AS annual_spend, "
      "(i * 3.25)::DOUBLE AS online_spend, CAST(i * 1000000000000 AS VARCHAR) AS big_id, "
      "DATE '2015-01-01' + (i * 30)::INTEGER AS signup_date, "
      "TIMESTAMP '2020-01-01 00:00:00' + to_hours(i) AS last_seen, (i % 2 = 0) AS active, "
      "CAST(i * 7 AS VARCHAR) AS code, (i * 100)::BIGINT AS level, "
      "(i * 1.25)::DECIMAL(18,2) AS price, (i / 7)::DECIMAL(38,10) AS ratio, "
      "(i * 0.5)::DOUBLE AS score, (i * 2.5)::DECIMAL(18,2) AS amount, "
      "(i * 3.5)::DECIMAL(38,10) AS wide, CAST(i * 10 AS VARCHAR) AS huge_total, "
      "i::INTEGER AS units, (i * 1000)::BIGINT AS total FROM range(1, 49) AS t(i)";
  if (with_hostile_row) {
    absl::StrAppend(&sql, " UNION ALL SELECT ", kMaxBigint, ", 'e_hostile', 'zz', NULL, ",
                    kMaxInteger, ", 'atlantis', 'zz', ", kMaxDouble, ", NULL, ", kMaxHugeint, ", ",
                    kFarDate, ", ", kFarTimestamp, ", NULL, 'not-a-number', ", kMaxBigint, ", ",
                    kMaxDecimal18, ", ", kMaxDecimal38, ", ", kMaxDouble, ", ", kMaxDecimal18, ", ",
                    kMaxDecimal38, ", ", kMaxHugeint, ", ", kMaxInteger, ", ", kMaxBigint);
  }
  return sql;
}

// The runner's tables. Identical in D and D'; loyalty and probe hold a crafted row that joins the
// hostile row, customers one that joins nothing (the hostile row stays outside every overlap).
std::string LoyaltySelect() {
  return absl::StrCat(
      "SELECT printf('e%03d', i) AS hashed_email, "
      "['bronze', 'silver', 'gold'][i % 3 + 1] AS loyalty_tier, "
      "(i * 3)::INTEGER AS brand_purchases FROM range(1, 37) AS t(i) "
      "UNION ALL SELECT 'e_hostile', 'crafted', ",
      kMaxInteger);
}

std::string ProbeSelect() {
  return absl::StrCat(
      "SELECT printf('e%03d', i) AS hashed_email, i::BIGINT AS email_number, "
      "i::DECIMAL(38,0) * 100000000000000000000 AS big, CAST(i * 1000 AS VARCHAR) AS huge, "
      "(i * 0.75)::DECIMAL(18,2) AS small_money, (i / 3)::DECIMAL(38,10) AS wide_ratio, "
      "TIMESTAMP '2021-06-01 12:00:00' + to_days(i) AS moment, "
      "DATE '2021-01-01' + i::INTEGER AS visit, DATE '2019-01-01' + (i * 2)::INTEGER AS day, "
      "['red', 'green', 'blue', 'black'][i % 4 + 1] AS tier, CAST(i * 11 AS VARCHAR) AS label, "
      "(i * 1000)::BIGINT AS points, (i * 1.5)::DOUBLE AS spend, (i % 3 = 0) AS flag, "
      "(i % 6)::INTEGER AS n FROM range(1, 41) AS t(i) "
      "UNION ALL SELECT 'e_hostile', ",
      kMaxBigint, ", 99999999999999999999999999999999999999::DECIMAL(38,0), ", kMaxHugeint, ", ",
      kMaxDecimal18, ", ", kMaxDecimal38, ", ", kFarTimestamp, ", ", kFarDate, ", ", kFarDate,
      ", 'crafted', 'x-not-a-number', ", kMaxBigint, ", ", kMaxDouble, ", NULL, ", kMaxInteger);
}

std::string CustomersSelect() {
  return absl::StrCat(
      "SELECT printf('e%03d', i) AS hashed_email, i::BIGINT AS customer_id, "
      "['bronze', 'silver', 'gold'][i % 3 + 1] AS loyalty_tier, "
      "(i * 3)::INTEGER AS brand_purchases, (i * 10.5)::DOUBLE AS lifetime_value, "
      "CAST(i * 13 AS VARCHAR) AS note, DATE '2018-01-01' + i::INTEGER AS since "
      "FROM range(5, 46) AS t(i) UNION ALL SELECT 'e_nomatch', ",
      kMaxBigint, ", 'crafted', ", kMaxInteger, ", ", kMaxDouble, ", 'x-not-a-number', ", kFarDate);
}

constexpr const char* kScalarFunctions =
    R"("scalar_functions": ["ABS", "CAST", "CASE", "CEIL", "CEILING", "COALESCE", "CONCAT",
    "DATE_PART", "DATE_TRUNC", "EXP", "EXTRACT", "FLOOR", "GREATEST", "LEAST", "LEFT", "LENGTH",
    "LN", "LOG", "LOWER", "LTRIM", "MOD", "NULLIF", "POWER", "REPLACE", "RIGHT", "ROUND", "RTRIM",
    "SIGN", "SQRT", "SUBSTRING", "TRIM", "TRUNC", "UPPER"])";

struct TableSpec {
  std::string name;
  std::string owner;
  std::string file;                  // relative to the directory; D' has its own for retail
  std::vector<std::string> hugeint;  // columns stored as text, HUGEINT in the view
  std::string rule;                  // the rule document
};

std::vector<TableSpec> Tables() {
  return {
      {"retail",
       "retailer",
       "retail",
       {"big_id", "huge_total"},
       absl::StrCat(
           R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"],
           "functions": ["COUNT", "COUNT_DISTINCT"]}, {"columns": ["annual_spend", "online_spend",
           "amount", "wide", "huge_total", "units", "total"], "functions": ["SUM", "SUM_DISTINCT",
           "AVG", "COUNT"]}], "join_columns": ["hashed_email"], "allowed_join_operators": ["AND",
           "OR"], "dimension_columns": ["age_band", "income_bracket", "household_size", "region",
           "segment", "big_id", "signup_date", "last_seen", "active", "code", "level", "price",
           "ratio", "score"], )",
           kScalarFunctions,
           R"(, "output_constraints": [{"column": "household_id", "minimum": 3, "type":
           "count_distinct"}]})")},
      {"loyalty",
       "supplier",
       "loyalty",
       {},
       absl::StrCat(
           R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["brand_purchases"],
           "functions": ["SUM", "SUM_DISTINCT", "AVG", "COUNT"]}, {"columns": ["hashed_email"],
           "functions": ["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"],
           "allowed_join_operators": ["AND", "OR"], "dimension_columns": ["loyalty_tier"], )",
           kScalarFunctions,
           R"(, "output_constraints": [{"column": "hashed_email", "minimum": 2, "type":
           "count_distinct"}]})")},
      {"probe",
       "supplier",
       "probe",
       {"huge"},
       absl::StrCat(
           R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["big", "huge",
           "small_money"], "functions": ["SUM", "SUM_DISTINCT", "AVG", "COUNT"]}, {"columns":
           ["day"], "functions": ["COUNT"]}, {"columns": ["hashed_email"], "functions":
           ["COUNT_DISTINCT"]}], "join_columns": ["hashed_email", "email_number"],
           "allowed_join_operators": ["AND", "OR"], "dimension_columns": ["wide_ratio", "moment",
           "visit", "tier", "label", "points", "spend", "flag", "n"], )",
           kScalarFunctions,
           R"(, "output_constraints": [{"column": "hashed_email", "minimum": 2, "type":
           "count_distinct"}]})")},
      {"audience",
       "retailer",
       "retail",
       {"big_id", "huge_total"},
       R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["household_id",
       "age_band", "income_bracket", "household_size", "region", "segment", "annual_spend",
       "online_spend", "big_id", "signup_date", "last_seen", "active", "code", "level", "price",
       "ratio", "score", "amount", "wide", "huge_total", "units", "total"],
       "allowed_join_operators": ["AND", "OR"]})"},
      {"customers",
       "supplier",
       "customers",
       {},
       R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["customer_id",
       "loyalty_tier", "brand_purchases", "lifetime_value", "note", "since"],
       "allowed_join_operators": ["AND", "OR"]})"},
  };
}

std::vector<engine::SourceView> Views(const std::string& directory, bool neighbour) {
  std::vector<engine::SourceView> views;
  for (const TableSpec& table : Tables()) {
    std::string file =
        absl::StrCat(directory, "/", table.file,
                     table.file == "retail" && neighbour ? "_neighbour" : "", ".parquet");
    // Parquet has no 128-bit integer (DuckDB writes HUGEINT as DOUBLE), so HUGEINT columns are
    // stored as text and converted by the view, outside anything a query controls.
    std::string columns = "*";
    if (!table.hugeint.empty()) {
      std::vector<std::string> replaced;
      for (const std::string& column : table.hugeint) {
        replaced.push_back(absl::StrCat("CAST(", engine::duckdb::QuoteIdentifier(column),
                                        " AS HUGEINT) AS ",
                                        engine::duckdb::QuoteIdentifier(column)));
      }
      columns = absl::StrCat("* REPLACE (", absl::StrJoin(replaced, ", "), ")");
    }
    views.push_back({table.name,
                     absl::StrCat("SELECT ", columns, " FROM read_parquet([",
                                  engine::duckdb::QuoteString(file), "])"),
                     {file},
                     {}});
  }
  return views;
}

engine::Limits SessionLimits() {
  engine::Limits limits;
  limits.memory_limit = "1GB";
  limits.threads = 1;  // two cores shared with other work; also keeps row order reproducible
  limits.timeout = std::chrono::seconds(5);
  return limits;
}

// Rows as text; sorted unless the query orders them.
std::vector<std::string> RowsAsText(const engine::ResultTable& table, bool ordered) {
  std::vector<std::string> rows;
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
    rows.push_back(absl::StrJoin(cells, "|"));
  }
  if (!ordered) std::sort(rows.begin(), rows.end());
  return rows;
}

// The hostile row cannot reach a released group when every GROUP BY key is a plain column: it
// has a value of its own in every dimension (as has the runner's crafted row it joins), so it
// forms a group of one household, below the threshold. With expressions as keys (or no GROUP BY)
// it may land in a released group and legitimately change that group's aggregates.
bool HostileRowConfined(const sql::BoundQuery& query, policy::RuleKind kind) {
  if (kind == policy::RuleKind::kList) return true;
  if (query.group_by.empty()) return false;
  return std::all_of(query.group_by.begin(), query.group_by.end(),
                     [](const auto& key) { return key->kind == sql::BoundExprKind::kColumn; });
}

}  // namespace

std::string RunnerView::Describe() const {
  if (!status.ok()) return absl::StrCat("error: ", status.ToString());
  std::vector<std::string> names;
  for (const engine::ResultColumn& column : columns) {
    names.push_back(absl::StrCat(column.name, " ", column.type));
  }
  return absl::StrCat("columns (", absl::StrJoin(names, ", "), "), ", rows.size(), " rows:\n  ",
                      absl::StrJoin(rows, "\n  "));
}

std::string OracleResult::Describe() const {
  static const char* kKinds[] = {"not accepted", "same", "DIFFERS", "inconclusive"};
  return absl::StrCat("oracle: ", kKinds[kind], " (", rule_kind, " rule, rows ",
                      rows_compared ? "compared" : "not compared", ")\nengine SQL: ", rendered_sql,
                      "\non D:  ", on_d.Describe(), "\non D': ", on_d_prime.Describe());
}

struct NeighbourOracle::Impl {
  std::string directory;
  // The collaboration as the service would load it: tables with their pinned columns and rules.
  std::shared_ptr<const query::Snapshot> snapshot;
  std::vector<engine::SourceView> views[2];
  std::unique_ptr<engine::duckdb::Session> sessions[2];  // D, D'

  // Like the service, a session whose query failed is not used again: the next query gets a
  // fresh one, so a failure cannot leave state behind that changes a later comparison.
  RunnerView Run(int dataset, const std::string& sql, bool ordered) {
    RunnerView view;
    if (sessions[dataset] == nullptr) {
      auto session = engine::duckdb::Session::Open(views[dataset], SessionLimits());
      if (!session.ok()) {
        view.status = session.status();
        return view;
      }
      sessions[dataset] = *std::move(session);
    }
    absl::StatusOr<engine::ResultTable> result = sessions[dataset]->Run(sql);
    if (!result.ok()) {
      sessions[dataset].reset();
      view.status = RunnerVisible(result.status());
      return view;
    }
    view.columns = result->columns;
    view.rows = RowsAsText(*result, ordered);
    return view;
  }

  // The status the runner is shown for a failed execution: the service shows one fixed status
  // (service::RunFailure) for every run failure of an aggregation or list query. A deadline is
  // kept as is: the oracle counts it as inconclusive rather than as a difference.
  static absl::Status RunnerVisible(const absl::Status& engine) {
    if (absl::IsDeadlineExceeded(engine)) return engine;
    return service::RunFailure();
  }
};

NeighbourOracle::NeighbourOracle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NeighbourOracle::~NeighbourOracle() = default;

absl::StatusOr<std::unique_ptr<NeighbourOracle>> NeighbourOracle::Create(
    const std::string& directory) {
  auto impl = std::make_unique<Impl>();
  impl->directory = directory;
  {
    PARLEY_ASSIGN_OR_RETURN(engine::duckdb::InMemoryDatabase db,
                            engine::duckdb::OpenInMemoryDatabase({}));
    std::pair<std::string, std::string> files[] = {{"retail", RetailSelect(false)},
                                                   {"retail_neighbour", RetailSelect(true)},
                                                   {"loyalty", LoyaltySelect()},
                                                   {"probe", ProbeSelect()},
                                                   {"customers", CustomersSelect()}};
    for (const auto& [name, select] : files) {
      PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
          db.connection.get(),
          absl::StrCat("COPY (", select, ") TO ",
                       engine::duckdb::QuoteString(absl::StrCat(directory, "/", name, ".parquet")),
                       " (FORMAT PARQUET)"),
          absl::StrCat("cannot write ", name)));
    }
  }
  for (int dataset : {0, 1}) {
    impl->views[dataset] = Views(directory, dataset == 1);
    PARLEY_ASSIGN_OR_RETURN(impl->sessions[dataset],
                            engine::duckdb::Session::Open(impl->views[dataset], SessionLimits()));
  }
  // The schemas as registration pins them: what the engine describes. Both datasets must agree.
  query::SnapshotSource source;
  source.collaboration = "oracle";
  for (const TableSpec& table : Tables()) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<engine::ResultColumn> columns,
                            impl->sessions[0]->Describe(table.name));
    PARLEY_ASSIGN_OR_RETURN(std::vector<engine::ResultColumn> neighbour,
                            impl->sessions[1]->Describe(table.name));
    if (columns != neighbour) {
      return absl::InternalError(absl::StrCat("the datasets differ in the schema of ", table.name));
    }
    query::SnapshotTable entry{table.name, table.owner, {}, table.rule};
    for (const engine::ResultColumn& column : columns) {
      entry.columns.push_back({column.name, sql::TypeFromDuckDbName(column.type)});
    }
    source.tables.push_back(std::move(entry));
  }
  impl->snapshot = query::Snapshot::Build(std::move(source));
  if (!impl->snapshot->rules_status().ok()) {
    return absl::InternalError(
        absl::StrCat("a rule does not validate: ", impl->snapshot->rules_status().message()));
  }
  return std::unique_ptr<NeighbourOracle>(new NeighbourOracle(std::move(impl)));
}

OracleResult NeighbourOracle::Compare(const std::string& sql) {
  OracleResult result;
  // The pipeline that runs (query::Compile), for the runner `supplier` receiving its own result.
  query::Request request;
  request.sql = sql;
  request.runner = kRunner;
  request.receivers = {kRunner};
  absl::StatusOr<query::Compiled> compiled = query::Compile(*impl_->snapshot, request);
  // Not parsed or bound, rejected by the check or by the rewrite (an operation that could fail on
  // the data has no guard): nothing runs.
  if (!compiled.ok() || !compiled->verdict.allowed() || !compiled->plan.rule_kind.has_value()) {
    return result;
  }
  result.rule_kind = policy::RuleKindName(*compiled->plan.rule_kind);
  result.rendered_sql = compiled->plan.rendered_sql;
  // What is compared depends on the query as written — its GROUP BY keys and whether it orders
  // its rows — which the rewrite reshapes: read from the query bound again, not from the plan.
  // (Only an inspection: what runs is the compiled plan.)
  auto statement = sql::ParseSelect(sql);
  if (!statement.ok()) return result;
  absl::StatusOr<sql::BoundQuery> bound = sql::Bind(**statement, *impl_->snapshot, sql);
  if (!bound.ok()) return result;
  result.rows_compared = HostileRowConfined(*bound, *compiled->plan.rule_kind);
  bool ordered = !bound->order_by.empty();

  result.on_d = impl_->Run(0, result.rendered_sql, ordered);
  result.on_d_prime = impl_->Run(1, result.rendered_sql, ordered);
  if (absl::IsDeadlineExceeded(result.on_d.status) ||
      absl::IsDeadlineExceeded(result.on_d_prime.status)) {
    result.kind = OracleResult::kInconclusive;
    return result;
  }
  bool same = result.on_d.status == result.on_d_prime.status;
  if (same && result.on_d.status.ok()) {
    same = result.on_d.columns == result.on_d_prime.columns &&
           (!result.rows_compared || result.on_d.rows == result.on_d_prime.rows);
  }
  result.kind = same ? OracleResult::kSame : OracleResult::kDiffers;
  return result;
}

void NeighbourOracle::ResetSessions() {
  impl_->sessions[0].reset();
  impl_->sessions[1].reset();
}

}  // namespace parley::fuzz
