// The PostgreSQL connector's throughput (issue 10): rows per second through the connector — a
// locked-down DuckDB session reading a PostgreSQL table through Parley's table function (binary
// COPY decoded into DuckDB vectors) and aggregating every column — against the same COPY ... TO
// STDOUT read raw by libpq (bytes received and dropped), in the same run, interleaved run by run.
// A throw-away server (tests/support/postgres_server) holds an UNLOGGED table of --rows rows:
// (id bigint, region text, amount numeric(12,2), day date, flag boolean, score double precision).
//
//   postgres_bench [--rows 10000000] [--runs 5] [--threads N]
//
// Prints each run and the summary lines `name value`.
#include <libpq-fe.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/postgres/postgres_connector.h"
#include "engine/duckdb/session.h"
#include "support/postgres_server.h"

namespace parley::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds (user + system) of this process so far: the client's share of a run, which the
// server's (another process) does not count in.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Fail(const absl::Status& status) {
  std::cerr << "postgres_bench: " << status << "\n";
  return 1;
}

constexpr char kColumns[] = "id, region, amount, day, flag, score";

// COPY of every column, read raw: the floor any reader of this server pays. Returns the rows.
absl::StatusOr<int64_t> RawCopy(const std::string& conninfo, const char* format) {
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    PQfinish(connection);
    return absl::UnavailableError("cannot connect");
  }
  std::string sql =
      absl::StrCat("COPY (SELECT ", kColumns, " FROM bench.rows) TO STDOUT (FORMAT ", format, ")");
  PGresult* started = PQexec(connection, sql.c_str());
  bool ok = PQresultStatus(started) == PGRES_COPY_OUT;
  PQclear(started);
  int64_t messages = 0;
  int64_t bytes = 0;
  if (ok) {
    char* buffer = nullptr;
    int length;
    while ((length = PQgetCopyData(connection, &buffer, 0)) > 0) {
      ++messages;
      bytes += length;
      PQfreemem(buffer);
    }
    PGresult* finished = PQgetResult(connection);
    ok = length == -1 && PQresultStatus(finished) == PGRES_COMMAND_OK;
    PQclear(finished);
  }
  PQfinish(connection);
  if (!ok) return absl::InternalError("raw COPY failed");
  return messages;
}

int Main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int runs = 5;
  engine::Limits limits;  // --threads: the session's DuckDB threads (0: all cores)
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") rows = std::stoll(argv[i + 1]);
    if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    if (flag == "--threads") limits.threads = std::stoi(argv[i + 1]);
  }
  absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
      testing::PostgresServer::Start();
  if (!server.ok()) return Fail(server.status());
  // Statement logging off: 10M rows of COPY are one statement, but the set-up is not measured.
  auto start = Clock::now();
  absl::Status loaded = (*server)->Execute(absl::StrCat(
      "SET log_statement = 'none'; CREATE SCHEMA bench; CREATE UNLOGGED TABLE bench.rows (id "
      "bigint, region text, amount numeric(12,2), day date, flag boolean, score double "
      "precision); INSERT INTO bench.rows SELECT i, CASE i % 4 WHEN 0 THEN 'north' WHEN 1 THEN "
      "'south' WHEN 2 THEN 'east' END, (i % 100000) / 100.0, DATE '2020-01-01' + (i % 1500), i "
      "% 3 = 0, i * 0.001 FROM generate_series(1, ",
      rows, ") i;"));
  if (!loaded.ok()) return Fail(loaded);
  loaded = (*server)->Execute("VACUUM ANALYZE bench.rows");
  if (!loaded.ok()) return Fail(loaded);
  std::cout << "loaded " << rows << " rows in " << SecondsSince(start) << " s\n";
  (*server)
      ->Execute("ALTER SYSTEM SET log_statement = 'none'; SELECT pg_reload_conf()")
      .IgnoreError();

  std::string conninfo = (*server)->AdminConninfo();
  connectors::postgres::PostgresConnector connector;
  catalog::Table table;
  table.name = "rows";
  table.owner = "bench";
  table.source_kind = "postgres";
  absl::StatusOr<std::string> description = connector.Validate(
      absl::StrCat(R"({"conninfo": ")", conninfo, R"(", "relation": "bench.rows"})"));
  if (!description.ok()) return Fail(description.status());
  table.source_json = *description;
  absl::StatusOr<std::vector<catalog::Column>> schema = connector.InferSchema(table.source_json);
  if (!schema.ok()) return Fail(schema.status());
  table.source_schema = *schema;
  for (const catalog::Column& column : table.source_schema) {
    table.allowed_columns.push_back(column.name);
  }
  const std::string query =
      "SELECT count(id), count(region), sum(amount), max(day), count(flag), sum(score) FROM "
      "\"rows\"";

  std::vector<double> connector_seconds, raw_binary_seconds, raw_text_seconds,
      connector_cpu_seconds;
  for (int run = 0; run <= runs; ++run) {  // run 0 warms up
    auto begin = Clock::now();
    absl::StatusOr<int64_t> raw = RawCopy(conninfo, "binary");
    if (!raw.ok()) return Fail(raw.status());
    double raw_binary = SecondsSince(begin);

    begin = Clock::now();
    absl::StatusOr<int64_t> raw_text = RawCopy(conninfo, "text");
    if (!raw_text.ok()) return Fail(raw_text.status());
    double raw_text_time = SecondsSince(begin);

    begin = Clock::now();
    double cpu_begin = CpuSeconds();
    absl::StatusOr<engine::SourceView> view = connector.ViewForQuery(table, {}, "");
    if (!view.ok()) return Fail(view.status());
    absl::StatusOr<std::unique_ptr<engine::duckdb::Session>> session =
        engine::duckdb::Session::Open({*view}, limits);
    if (!session.ok()) return Fail(session.status());
    absl::StatusOr<engine::ResultTable> result = (*session)->Run(query);
    if (!result.ok()) return Fail(result.status());
    double through_connector = SecondsSince(begin);
    double connector_cpu = CpuSeconds() - cpu_begin;
    if (result->rows.size() != 1 || result->rows[0][0] != std::to_string(rows)) {
      return Fail(absl::InternalError("the connector did not read every row"));
    }
    std::cout << "run " << run << ": raw binary COPY " << raw_binary << " s, raw text COPY "
              << raw_text_time << " s, connector " << through_connector << " s (client CPU "
              << connector_cpu << " s)\n";
    if (run == 0) continue;
    raw_binary_seconds.push_back(raw_binary);
    raw_text_seconds.push_back(raw_text_time);
    connector_seconds.push_back(through_connector);
    connector_cpu_seconds.push_back(connector_cpu);
  }
  double through = Median(connector_seconds);
  double binary = Median(raw_binary_seconds);
  double text = Median(raw_text_seconds);
  std::cout << "postgres_rows " << rows << "\n";
  std::cout << "postgres_connector_rows_per_s " << static_cast<int64_t>(rows / through) << "\n";
  std::cout << "postgres_raw_binary_copy_rows_per_s " << static_cast<int64_t>(rows / binary)
            << "\n";
  std::cout << "postgres_raw_text_copy_rows_per_s " << static_cast<int64_t>(rows / text) << "\n";
  std::cout << "postgres_connector_client_cpu_ns_per_row "
            << static_cast<int64_t>(Median(connector_cpu_seconds) * 1e9 / rows) << "\n";
  std::cout << "postgres_connector_ratio_vs_raw_binary " << through / binary << "\n";
  std::cout << "postgres_connector_ratio_vs_raw_text " << through / text << "\n";
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::Main(argc, argv); }
