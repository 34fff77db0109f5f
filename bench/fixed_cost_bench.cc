// The fixed-cost benchmark: what Parley adds to each query in one long-lived process (what the
// server will be). 200 small aggregation queries over two 10k-row Parquet tables go through
// `Service::Run` (load the policy, compile, record the query as running, check the sources, run
// on a locked session, store the result, record the outcome and the audit entries), and the
// same rendered SQL runs on one reused plain DuckDB connection over identical views, in the same
// run, interleaved query by query so that drift on a shared machine hits both sides alike. The
// data is so small that nearly all of Parley's time is fixed cost.
//
//   fixed_cost_bench [--queries 200] [--rows 10000] [--data bench/data/fixed] [--no-plan-cache]
//
// --no-plan-cache turns the service's cache of compiled queries off (Options::plan_cache_entries
// = 0), so that every query is compiled again: the figure without the cache stays visible.
//
// Prints the totals, the per-query medians, the same comparison in CPU time (the whole process's,
// around each call; steadier than wall time on a loaded machine), and summary lines `name value`.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/store.h"
#include "cli/demo.h"
#include "connectors/connector.h"
#include "engine/duckdb/duckdb_api.h"
#include "identity/ability.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds used by the whole process (every thread: DuckDB's workers too). One query runs at a
// time, so the difference around a call is that call's CPU: what a quiet machine turns into wall
// time, and much steadier than wall time on a loaded one.
double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Fail(const absl::Status& status) {
  std::cerr << "fixed_cost_bench: " << status << "\n";
  return 1;
}

// Small queries a runner would send: a join of the two tables, grouped by one dimension, with one
// of the aggregates the demo's rules allow. Cycled to make up the requested count.
std::vector<std::string> SmallQueries() {
  const char* dimensions[] = {"r.age_band", "r.region", "r.income_bracket", "r.household_size"};
  const char* aggregates[] = {"COUNT(DISTINCT r.household_id) AS households",
                              "ROUND(AVG(r.annual_spend), 2) AS spend",
                              "SUM(l.brand_purchases) AS purchases"};
  std::vector<std::string> queries;
  for (const char* dimension : dimensions) {
    for (const char* aggregate : aggregates) {
      queries.push_back(absl::StrCat("SELECT ", dimension, ", ", aggregate,
                                     " FROM retail r JOIN loyalty l ON r.hashed_email = "
                                     "l.hashed_email GROUP BY ",
                                     dimension));
    }
  }
  return queries;
}

// The views Parley's sessions create for the two tables (connectors::ViewFor), for the baseline
// connection: the same SQL then reads the same columns of the same files.
absl::Status CreateBaselineViews(duckdb_connection connection, const std::string& data) {
  PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* files,
                          connectors::Registry::BuiltIn().Find("files"));
  for (const char* name : {"retail", "loyalty"}) {
    catalog::Table table;
    table.name = name;
    table.source_kind = "files";
    std::string path = absl::StrCat(data, "/", name, ".parquet");
    PARLEY_ASSIGN_OR_RETURN(table.source_json,
                            files->Validate(absl::StrCat(R"({"path":")", path, R"("})")));
    PARLEY_ASSIGN_OR_RETURN(table.source_schema, files->InferSchema(table.source_json));
    for (const catalog::Column& column : table.source_schema) {
      table.allowed_columns.push_back(column.name);
    }
    PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> paths, files->ResolveFiles(table.source_json));
    PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, files->ViewFor(table, paths));
    PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
        connection, absl::StrCat("CREATE VIEW ", view.name, " AS ", view.select_sql), "view"));
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  int queries = 200;
  int64_t rows = 10'000;
  std::string data_root = "bench/data/fixed";
  bool plan_cache = true;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--no-plan-cache") {
      plan_cache = false;
      --i;  // takes no value
    } else if (i + 1 >= argc) {
      std::cerr << "fixed_cost_bench: " << flag << " needs a value\n";
      return 2;
    } else if (flag == "--queries") {
      queries = std::stoi(argv[i + 1]);
    } else if (flag == "--rows") {
      rows = std::stoll(argv[i + 1]);
    } else if (flag == "--data") {
      data_root = argv[i + 1];
    } else {
      std::cerr << "usage: fixed_cost_bench [--queries N] [--rows N] [--data DIR] "
                   "[--no-plan-cache]\n";
      return 2;
    }
  }
  std::string data = fs::absolute(data_root).string() + "/" + std::to_string(rows);
  std::string stamp = data + "/.generated";
  if (!fs::exists(stamp)) {
    cli::DemoOptions options;
    options.households = rows;
    options.supplier_members = rows;
    options.shared = rows * 6 / 10;
    absl::Status generated = cli::GenerateDemoData(options, data);
    if (!generated.ok()) return Fail(generated);
    std::ofstream(stamp) << rows;
  }
  std::string home = data + "/home";
  fs::remove_all(home);
  service::Options service_options;
  if (!plan_cache) service_options.plan_cache_entries = 0;
  auto opened = service::Service::Open(home, std::move(service_options));
  if (!opened.ok()) return Fail(opened.status());
  service::Service& service = **opened;
  for (absl::Status status : {
           service.CreateCollaboration(identity::Caller::Embedded("retailer"),
                                       {.name = "fixed", .creator_abilities = {}}),
           service
               .AddMember(identity::Caller::Embedded("retailer"), "fixed",
                          {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}})
               .status(),
           service.AddTable(identity::Caller::Embedded("retailer"),
                            {"fixed", "retail", data + "/retail.parquet", {}}),
           service.AddTable(identity::Caller::Embedded("supplier"),
                            {"fixed", "loyalty", data + "/loyalty.parquet", {}}),
           service.SetRule(identity::Caller::Embedded("retailer"), "fixed", "retail",
                           cli::kDemoRetailRule),
           service.SetRule(identity::Caller::Embedded("supplier"), "fixed", "loyalty",
                           cli::kDemoLoyaltyRule),
       }) {
    if (!status.ok()) return Fail(status);
  }

  // The SQL the engine runs for each query, as Parley renders it.
  std::vector<std::string> texts = SmallQueries();
  std::vector<std::string> rendered;
  for (const std::string& text : texts) {
    auto explanation = service.Explain(identity::Caller::Embedded("supplier"), "fixed", text);
    if (!explanation.ok()) return Fail(explanation.status());
    if (!explanation->verdict.allowed()) {
      return Fail(absl::InternalError(absl::StrCat("rejected: ", text)));
    }
    rendered.push_back(explanation->rendered_sql);
  }
  auto baseline = engine::duckdb::OpenInMemoryDatabase({});
  if (!baseline.ok()) return Fail(baseline.status());
  absl::Status views = CreateBaselineViews(baseline->connection.get(), data);
  if (!views.ok()) return Fail(views);

  // One warm-up round of every query on both sides (sessions opened, files cached), then the
  // measured queries, interleaved.
  std::vector<double> parley, duckdb, front_end, parley_cpu, duckdb_cpu;
  for (int i = -static_cast<int>(texts.size()); i < queries; ++i) {
    size_t k = static_cast<size_t>(i + static_cast<int>(texts.size())) % texts.size();
    double cpu = ProcessCpuSeconds();
    auto start = Clock::now();
    auto outcome = service.Run(identity::Caller::Embedded("supplier"), "fixed", texts[k], {});
    if (!outcome.ok()) return Fail(outcome.status());
    double parley_seconds = SecondsSince(start);
    double parley_cpu_seconds = ProcessCpuSeconds() - cpu;
    cpu = ProcessCpuSeconds();
    start = Clock::now();
    absl::Status status =
        engine::duckdb::ExecuteStatement(baseline->connection.get(), rendered[k], "direct");
    if (!status.ok()) return Fail(status);
    double duckdb_seconds = SecondsSince(start);
    double duckdb_cpu_seconds = ProcessCpuSeconds() - cpu;
    if (i < 0) continue;
    parley.push_back(parley_seconds);
    duckdb.push_back(duckdb_seconds);
    parley_cpu.push_back(parley_cpu_seconds);
    duckdb_cpu.push_back(duckdb_cpu_seconds);
    front_end.push_back(outcome->explanation.front_end_micros);
  }
  double parley_total = 0, duckdb_total = 0;
  for (double s : parley) parley_total += s;
  for (double s : duckdb) duckdb_total += s;
  double ratio = parley_total / duckdb_total;
  double overhead_ms = (parley_total - duckdb_total) / queries * 1e3;
  double parley_cpu_total = 0, duckdb_cpu_total = 0;
  for (double s : parley_cpu) parley_cpu_total += s;
  for (double s : duckdb_cpu) duckdb_cpu_total += s;
  double cpu_ratio = parley_cpu_total / duckdb_cpu_total;
  double cpu_overhead_ms = (parley_cpu_total - duckdb_cpu_total) / queries * 1e3;
  std::cout << std::setprecision(4) << queries << " small queries, " << rows
            << " rows per table, one process, plan cache " << (plan_cache ? "on" : "off") << ":\n"
            << "  parley Service::Run total           " << parley_total << " s (median "
            << Median(parley) * 1e3 << " ms)\n"
            << "  duckdb same SQL, one connection     " << duckdb_total << " s (median "
            << Median(duckdb) * 1e3 << " ms)\n"
            << "  fixed cost per query                " << overhead_ms << " ms\n"
            << "  front end (compile) median          " << Median(front_end) << " µs\n"
            << "  ratio parley / duckdb               " << ratio << "\n"
            << "  CPU: parley " << parley_cpu_total << " s, duckdb " << duckdb_cpu_total
            << " s, ratio " << cpu_ratio << ", " << cpu_overhead_ms << " ms a query\n\n"
            << std::setprecision(3) << "fixed_cost_ratio " << ratio << "\n"
            << "fixed_cost_overhead_ms " << overhead_ms << "\n"
            << "fixed_cost_front_end_us " << Median(front_end) << "\n"
            << "fixed_cost_cpu_ratio " << cpu_ratio << "\n"
            << "fixed_cost_cpu_overhead_ms " << cpu_overhead_ms << "\n"
            << "fixed_cost_plan_cache " << (plan_cache ? 1 : 0) << "\n";
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::Main(argc, argv); }
