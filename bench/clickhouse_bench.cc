// The campaign query on ClickHouse 18.16 (issue 15): the demo's data at `--rows` per side loaded
// into a 2-shard loopback cluster and into a 1-node cluster, the query compiled by Parley for the
// clickhouse dialect and run there, against the same query compiled for DuckDB and run by
// Parley's DuckDB engine over the Parquet files — in the same run, interleaved. Two layouts of the
// supplier's table: sharded by the join key like the retailer's (co-located: each shard joins its
// own rows) and sharded by row (the join ships the supplier's table to every shard, GLOBAL).
// Answers must be identical on every engine; the program fails otherwise.
//
// Where the time goes, from separate measurements of the same run: `shard` is one shard's part
// alone (the query over node 0's local tables), `ship` the gathering of the supplier's join
// column from the shards (what a GLOBAL join sends, once per shard), `merge` the rest of the
// 2-shard time (initiator's merge of partial aggregates, HTTP, parsing).
//
//   clickhouse_bench --rows 10000000 --runs 3 --data bench/data/clickhouse
//
// Prints a table, then one summary line per figure: `name value`.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/demo.h"
#include "duckdb.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "engine/duckdb/duckdb_engine.h"
#include "policy/verdict.h"
#include "query/compile.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "support/clickhouse_campaign.h"
#include "support/clickhouse_cluster.h"

namespace parley::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using testing::ClickHouseCluster;

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
  return values[values.size() / 2];
}

int Fail(const absl::Status& status) {
  std::cerr << "clickhouse_bench: " << status << "\n";
  return 1;
}

// retail and loyalty sharded by hashed_email; loyalty_by_row by a hash of all its columns.
absl::Status CreateAndLoad(const ClickHouseCluster& cluster, const std::string& data) {
  return parley::testing::LoadCampaign(cluster, data,
                                       {{"retail", "retail", "sipHash64(hashed_email)"},
                                        {"loyalty", "loyalty", "sipHash64(hashed_email)"},
                                        {"loyalty_by_row", "loyalty", "rand()"}});
}

absl::StatusOr<std::string> Compile(const render::Dialect* dialect) {
  query::Request request;
  request.sql = kCampaign;
  request.runner = "supplier";
  request.dialect = dialect;
  PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled,
                          query::Compile(*testing::CampaignSnapshot("bench"), request));
  if (!compiled.verdict.allowed()) return absl::InternalError("the campaign query was rejected");
  return compiled.plan.rendered_sql;
}

std::vector<std::string> Sorted(const engine::ResultTable& table) {
  std::vector<std::string> rows;
  for (const auto& row : table.rows) {
    std::vector<std::string> values;
    for (const auto& value : row) values.push_back(value.value_or("NULL"));
    rows.push_back(absl::StrJoin(values, "|"));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

int Main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  int runs = 3;
  int64_t memory = 6'000'000'000;
  std::string data_root = "bench/data/clickhouse";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") {
      rows = std::stoll(argv[i + 1]);
    } else if (flag == "--runs") {
      runs = std::stoi(argv[i + 1]);
    } else if (flag == "--memory") {
      memory = std::stoll(argv[i + 1]);
    } else if (flag == "--data") {
      data_root = argv[i + 1];
    } else {
      std::cerr << "usage: clickhouse_bench [--rows N] [--runs N] [--memory BYTES] [--data DIR]\n";
      return 2;
    }
  }
  std::string data = fs::absolute(absl::StrCat(data_root, "/", rows)).string();
  if (!fs::exists(data + "/.generated")) {
    cli::DemoOptions options;
    options.households = rows;
    options.supplier_members = rows;
    options.shared = rows * 6 / 10;
    std::cerr << "generating " << rows << " rows per side in " << data << "\n";
    if (absl::Status s = cli::GenerateDemoData(options, data); !s.ok()) return Fail(s);
    std::ofstream(data + "/.generated") << rows;
  }

  // A query at 10M rows per side holds the supplier's 10M e-mails in a join table and the
  // households' distinct sets: more than the tests' 2 GB cap.
  auto two = ClickHouseCluster::Start(2, memory);
  if (!two.ok()) return Fail(two.status());
  auto one = ClickHouseCluster::Start(1, memory);
  if (!one.ok()) return Fail(one.status());
  auto load_start = Clock::now();
  for (ClickHouseCluster* cluster : {two->get(), one->get()}) {
    if (absl::Status s = CreateAndLoad(*cluster, data); !s.ok()) return Fail(s);
  }
  double load_seconds = SecondsSince(load_start);

  render::ClickHouseDialect co_located(
      {"rooms",
       {{"retail", {"retail", "retail_local", "hashed_email"}},
        {"loyalty", {"loyalty", "loyalty_local", "hashed_email"}}}});
  render::ClickHouseDialect shipped(
      {"rooms",
       {{"retail", {"retail", "retail_local", "hashed_email"}},
        {"loyalty", {"loyalty_by_row", "loyalty_by_row_local", ""}}}});
  auto duck_sql = Compile(nullptr);
  auto local_sql = Compile(&co_located);
  auto global_sql = Compile(&shipped);
  for (const auto* sql : {&duck_sql, &local_sql, &global_sql}) {
    if (!sql->ok()) return Fail(sql->status());
  }
  // One shard's part of the co-located query: the same SQL over node 0's local tables.
  std::string shard_sql =
      absl::StrReplaceAll(*local_sql, {{"\"rooms\".\"retail\"", "\"rooms\".\"retail_local\""}});
  std::string ship_sql = "SELECT count() FROM (SELECT hashed_email FROM rooms.loyalty_by_row)";

  engine::duckdb::DuckDbEngine duckdb(engine::duckdb::DuckDbEngine::Options{});
  std::vector<engine::SourceView> views;
  for (const char* table : {"retail", "loyalty"}) {
    std::string path = absl::StrCat(data, "/", table, ".parquet");
    views.push_back(
        {table, absl::StrCat("SELECT * FROM read_parquet('", path, "')"), {path}, {}, {}, nullptr});
  }
  std::map<std::string, std::unique_ptr<engine::clickhouse::ClickHouseEngine>> engines;
  for (const auto& [name, cluster] : std::vector<std::pair<std::string, ClickHouseCluster*>>{
           {"2", two->get()}, {"1", one->get()}}) {
    auto connected = engine::clickhouse::ClickHouseEngine::Connect(
        {cluster->HttpUrl(0), "rooms", ClickHouseCluster::kReader,
         Secret(cluster->reader_password())});
    if (!connected.ok()) return Fail(connected.status());
    engines[name] = std::move(*connected);
  }

  struct Measure {
    std::string name;
    std::function<absl::StatusOr<engine::ResultTable>()> run;
    std::vector<double> seconds;
    std::vector<std::string> answer;
  };
  std::vector<Measure> measures = {
      {"duckdb",
       [&] {
         return duckdb.Run(engine::Plan{*duck_sql, views});
       }},
      {"clickhouse_2_shards_colocated",
       [&] {
         return engines["2"]->Run(engine::Plan{*local_sql, {}});
       }},
      {"clickhouse_2_shards_global",
       [&] {
         return engines["2"]->Run(engine::Plan{*global_sql, {}});
       }},
      {"clickhouse_1_node",
       [&] {
         return engines["1"]->Run(engine::Plan{*local_sql, {}});
       }},
      {"shard_part",
       [&] {
         return engines["2"]->Run(engine::Plan{shard_sql, {}});
       }},
      {"ship_loyalty_column",
       [&] {
         return engines["2"]->Run(engine::Plan{ship_sql, {}});
       }},
  };
  for (int run = 0; run < runs; ++run) {
    for (Measure& measure : measures) {
      auto start = Clock::now();
      absl::StatusOr<engine::ResultTable> result = measure.run();
      double seconds = SecondsSince(start);
      if (!result.ok()) return Fail(result.status());
      measure.seconds.push_back(seconds);
      measure.answer = Sorted(*result);
    }
  }
  for (size_t i = 1; i < 4; ++i) {
    if (measures[i].answer != measures[0].answer) {
      return Fail(
          absl::InternalError(absl::StrCat(measures[i].name, " answers differently from DuckDB")));
    }
  }
  std::map<std::string, double> median;
  for (const Measure& measure : measures) median[measure.name] = Median(measure.seconds);
  std::cout << "campaign query, " << rows << " rows per side, median of " << runs
            << " runs (load of both clusters: " << std::fixed << std::setprecision(1)
            << load_seconds << " s)\n";
  for (const Measure& measure : measures) {
    std::cout << "  " << std::left << std::setw(32) << measure.name << std::right
              << std::setprecision(3) << std::setw(9) << median[measure.name] << " s\n";
  }
  double duck = median["duckdb"];
  std::cout << "clickhouse_rows " << rows << "\n"
            << "clickhouse_groups " << measures[0].answer.size() << "\n"
            << "clickhouse_duckdb_seconds " << duck << "\n"
            << "clickhouse_2_colocated_seconds " << median["clickhouse_2_shards_colocated"] << "\n"
            << "clickhouse_2_global_seconds " << median["clickhouse_2_shards_global"] << "\n"
            << "clickhouse_1_node_seconds " << median["clickhouse_1_node"] << "\n"
            << "clickhouse_shard_part_seconds " << median["shard_part"] << "\n"
            << "clickhouse_ship_seconds " << median["ship_loyalty_column"] << "\n"
            << "clickhouse_merge_seconds "
            << median["clickhouse_2_shards_colocated"] - median["shard_part"] << "\n"
            << "clickhouse_2_colocated_vs_duckdb " << median["clickhouse_2_shards_colocated"] / duck
            << "\n"
            << "clickhouse_2_global_vs_duckdb " << median["clickhouse_2_shards_global"] / duck
            << "\n"
            << "clickhouse_1_node_vs_duckdb " << median["clickhouse_1_node"] / duck << "\n"
            << "clickhouse_2_colocated_vs_1_node "
            << median["clickhouse_2_shards_colocated"] / median["clickhouse_1_node"] << "\n";
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::Main(argc, argv); }
