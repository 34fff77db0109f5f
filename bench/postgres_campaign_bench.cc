// The campaign query with the supplier's table in PostgreSQL (issue 10): the demo's campaign query
// (the retailer's households joined with the supplier's loyalty members, aggregation rules with
// thresholds) through Service::Run in two collaborations that differ only in where the supplier's
// `loyalty` table lives — a Parquet file, or a PostgreSQL table holding the same rows, read in
// place by the connector — interleaved run by run after one warm-up of each. Both answers must be
// identical. A throw-away server (tests/support/postgres_server) holds the table (UNLOGGED).
//
//   postgres_campaign_bench [--rows 1000000] [--runs 5] [--data bench/data]
//
// The data is the demo's (cli::GenerateDemoData, `--rows` per side, 60% shared), generated into
// <data>/<rows>/ as campaign_bench does and reused. Prints each run and `name value` lines.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/demo.h"
#include "engine/duckdb/duckdb_api.h"
#include "identity/caller.h"
#include "service/service.h"
#include "support/postgres_server.h"

namespace parley::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kCampaign[] =
    "SELECT r.age_band, r.income_bracket, r.household_size, "
    "COUNT(DISTINCT r.household_id) AS households "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.income_bracket, r.household_size ORDER BY households DESC";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Fail(const absl::Status& status) {
  std::cerr << "postgres_campaign_bench: " << status << "\n";
  return 1;
}

// Streams `csv` (no header) into `table` with COPY FROM STDIN.
absl::Status CopyIn(const std::string& conninfo, const std::string& table, const fs::path& csv) {
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    PQfinish(connection);
    return absl::UnavailableError("cannot connect");
  }
  std::string sql = absl::StrCat("COPY ", table, " FROM STDIN (FORMAT csv)");
  PGresult* started = PQexec(connection, sql.c_str());
  bool ok = PQresultStatus(started) == PGRES_COPY_IN;
  PQclear(started);
  std::ifstream in(csv, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  while (ok && in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) ok = PQputCopyData(connection, buffer.data(), in.gcount()) == 1;
  }
  ok = PQputCopyEnd(connection, ok ? nullptr : "aborted") == 1 && ok;
  PGresult* finished = PQgetResult(connection);
  ok = ok && PQresultStatus(finished) == PGRES_COMMAND_OK;
  PQclear(finished);
  PQfinish(connection);
  return ok ? absl::OkStatus() : absl::InternalError("COPY FROM STDIN failed");
}

// A collaboration "name" with the retailer's Parquet table and the supplier's loyalty table from
// `loyalty` (a source kind and its description), with the demo's rules.
absl::Status MakeRoom(service::Service& service, const std::string& name, const std::string& data,
                      const std::string& kind, const std::string& description) {
  auto retailer = identity::Caller::Embedded("retailer");
  auto supplier = identity::Caller::Embedded("supplier");
  PARLEY_RETURN_IF_ERROR(
      service.CreateCollaboration(retailer, {.name = name, .creator_abilities = {}}));
  PARLEY_RETURN_IF_ERROR(
      service
          .AddMember(retailer, name,
                     {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}})
          .status());
  PARLEY_RETURN_IF_ERROR(
      service.AddTable(retailer, {name, "retail", data + "/retail.parquet", {}}));
  service::NewTable loyalty{name, "loyalty", kind == "files" ? data + "/loyalty.parquet" : "", {}};
  loyalty.source_kind = kind;
  loyalty.source_json = description;
  PARLEY_RETURN_IF_ERROR(service.AddTable(supplier, loyalty));
  PARLEY_RETURN_IF_ERROR(service.SetRule(retailer, name, "retail", cli::kDemoRetailRule));
  return service.SetRule(supplier, name, "loyalty", cli::kDemoLoyaltyRule);
}

int Main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int runs = 5;
  std::string data_root = "bench/data";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") rows = std::stoll(argv[i + 1]);
    if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    if (flag == "--data") data_root = argv[i + 1];
  }
  std::string data = absl::StrCat(fs::absolute(data_root).string(), "/", rows);
  if (!fs::exists(data + "/.generated_pg")) {
    cli::DemoOptions options;
    options.households = rows;
    options.supplier_members = rows;
    options.shared = rows * 6 / 10;
    std::cerr << "generating " << rows << " rows per side in " << data << "\n";
    absl::Status generated = cli::GenerateDemoData(options, data);
    if (!generated.ok()) return Fail(generated);
    std::ofstream(data + "/.generated_pg") << rows;
  }
  absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
      testing::PostgresServer::Start();
  if (!server.ok()) return Fail(server.status());
  std::string conninfo = (*server)->AdminConninfo();
  // The supplier's rows, moved from the Parquet file into PostgreSQL as they are.
  auto start = Clock::now();
  {
    absl::StatusOr<engine::duckdb::InMemoryDatabase> db = engine::duckdb::OpenInMemoryDatabase({});
    if (!db.ok()) return Fail(db.status());
    absl::Status exported = engine::duckdb::ExecuteStatement(
        db->connection.get(),
        absl::StrCat("COPY (SELECT hashed_email, loyalty_tier, brand_purchases FROM read_parquet(",
                     engine::duckdb::QuoteString(data + "/loyalty.parquet"), ")) TO ",
                     engine::duckdb::QuoteString(data + "/loyalty.csv"), " (HEADER false)"),
        "export");
    if (!exported.ok()) return Fail(exported);
  }
  // Statement logging off (ALTER SYSTEM runs outside a transaction: a statement of its own).
  absl::Status loaded = (*server)->Execute("ALTER SYSTEM SET log_statement = 'none'");
  if (!loaded.ok()) return Fail(loaded);
  loaded = (*server)->Execute("SELECT pg_reload_conf()");
  if (!loaded.ok()) return Fail(loaded);
  loaded = (*server)->Execute(
      "CREATE SCHEMA bench; "
      "CREATE UNLOGGED TABLE bench.loyalty (hashed_email text, loyalty_tier text, "
      "brand_purchases integer)");
  if (!loaded.ok()) return Fail(loaded);
  loaded = CopyIn(conninfo, "bench.loyalty", data + "/loyalty.csv");
  if (!loaded.ok()) return Fail(loaded);
  loaded = (*server)->Execute("VACUUM ANALYZE bench.loyalty");
  if (!loaded.ok()) return Fail(loaded);
  std::cout << "loaded " << rows << " loyalty rows into PostgreSQL in " << SecondsSince(start)
            << " s\n";

  std::string home = data + "/pg_home";
  fs::remove_all(home);
  auto service = service::Service::Open(home, {});
  if (!service.ok()) return Fail(service.status());
  absl::Status made = MakeRoom(**service, "parquet", data, "files", "");
  if (!made.ok()) return Fail(made);
  made =
      MakeRoom(**service, "postgres", data, "postgres",
               absl::StrCat(R"({"conninfo": ")", conninfo, R"(", "relation": "bench.loyalty"})"));
  if (!made.ok()) return Fail(made);

  auto supplier = identity::Caller::Embedded("supplier");
  std::vector<double> parquet_seconds, postgres_seconds;
  for (int run = 0; run <= runs; ++run) {  // run 0 warms up
    auto begin = Clock::now();
    auto from_parquet = (*service)->Run(supplier, "parquet", kCampaign, {});
    if (!from_parquet.ok()) return Fail(from_parquet.status());
    double parquet = SecondsSince(begin);
    begin = Clock::now();
    auto from_postgres = (*service)->Run(supplier, "postgres", kCampaign, {});
    if (!from_postgres.ok()) return Fail(from_postgres.status());
    double postgres = SecondsSince(begin);
    if (!from_parquet->result || !from_postgres->result) {
      return Fail(absl::InternalError("no result"));
    }
    // ORDER BY households DESC leaves ties in any order: compared as sets of rows.
    auto a = from_parquet->result->rows;
    auto b = from_postgres->result->rows;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b || a.empty()) {
      return Fail(absl::InternalError("the two collaborations' answers differ"));
    }
    std::cout << "run " << run << ": both in Parquet " << parquet << " s, loyalty in PostgreSQL "
              << postgres << " s (" << from_parquet->result->rows.size() << " groups)\n";
    if (run == 0) continue;
    parquet_seconds.push_back(parquet);
    postgres_seconds.push_back(postgres);
  }
  double parquet = Median(parquet_seconds);
  double postgres = Median(postgres_seconds);
  std::cout << "postgres_campaign_rows " << rows << "\n";
  std::cout << "postgres_campaign_parquet_s " << parquet << "\n";
  std::cout << "postgres_campaign_postgres_s " << postgres << "\n";
  std::cout << "postgres_campaign_ratio " << postgres / parquet << "\n";
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::Main(argc, argv); }
