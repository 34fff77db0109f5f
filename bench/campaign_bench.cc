// The campaign benchmark: the demo's campaign query through Parley (check, rewrite, locked-down
// session, run, store the result) against the same query run directly on DuckDB over the same
// Parquet files, in the same process and the same run, interleaved so that drift on a shared
// machine hits both sides alike. Also the front end's latency (parse + bind + check + rewrite +
// render) for that query.
//
//   campaign_bench --rows 1000000 --rows 10000000 --runs 5 --data bench/data
//
// Prints a table per size, then one summary line per figure: `name value`.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/demo.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "engine/engine.h"
#include "policy/verdict.h"
#include "query/compile.h"
#include "query/snapshot.h"
#include "service/service.h"

namespace parley::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kCampaign[] =
    "SELECT r.age_band, r.income_bracket, r.household_size, "
    "COUNT(DISTINCT r.household_id) AS households "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.income_bracket, r.household_size ORDER BY households DESC";

// The campaign query as differential privacy accepts it (no ORDER BY: groups are released in no
// particular order), run in a collaboration whose retail table has differential privacy, against
// the same text in the thresholded collaboration (issue 14: within 1.2×).
constexpr char kCampaignUnordered[] =
    "SELECT r.age_band, r.income_bracket, r.household_size, "
    "COUNT(DISTINCT r.household_id) AS households "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.income_bracket, r.household_size";

// The demo's retail rule with differential privacy at the household.
std::string PrivateRetailRule() {
  std::string rule = cli::kDemoRetailRule;
  size_t end = rule.rfind('}');
  return rule.substr(0, end) +
         R"(, "differential_privacy": {"privacy_unit": "household_id",
              "bounds": [{"column": "annual_spend", "minimum": 0, "maximum": 20000}]}})";
}

// The same question asked of DuckDB directly. `thresholds` adds the HAVING clause that makes the
// answer identical to Parley's (both tables' output constraints).
std::string DirectSql(const std::string& data, bool thresholds) {
  return "SELECT r.age_band, r.income_bracket, r.household_size, "
         "COUNT(DISTINCT r.household_id) AS households FROM read_parquet(" +
         engine::duckdb::QuoteString(data + "/retail.parquet") + ") r JOIN read_parquet(" +
         engine::duckdb::QuoteString(data + "/loyalty.parquet") +
         ") l ON r.hashed_email = l.hashed_email "
         "GROUP BY r.age_band, r.income_bracket, r.household_size " +
         (thresholds ? std::string("HAVING COUNT(DISTINCT r.household_id) >= 100 AND "
                                   "COUNT(DISTINCT l.hashed_email) >= 100 ")
                     : std::string()) +
         "ORDER BY households DESC";
}

// The fan-out figure: a SUM of the retailer's column over the join, which Parley rewrites so
// that each retail row counts once per group (rewrite/once_per_group.h).
constexpr char kFanOut[] =
    "SELECT r.age_band, r.region, SUM(r.annual_spend) AS spend "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.region";

// The same deduplicated aggregate written by hand for DuckDB: each (group, retail row) once via
// DISTINCT over the file's row numbers, and the thresholds over the joined rows.
std::string FanOutByHandSql(const std::string& data) {
  return "WITH j AS (SELECT r.age_band, r.region, r.file_row_number AS rid, r.annual_spend, "
         "r.household_id, l.hashed_email FROM read_parquet(" +
         engine::duckdb::QuoteString(data + "/retail.parquet") +
         ", file_row_number=true) r JOIN read_parquet(" +
         engine::duckdb::QuoteString(data + "/loyalty.parquet") +
         ") l ON r.hashed_email = l.hashed_email), kept AS (SELECT age_band, region FROM j GROUP "
         "BY age_band, region HAVING COUNT(DISTINCT household_id) >= 100 AND COUNT(DISTINCT "
         "hashed_email) >= 100) SELECT age_band, region, SUM(annual_spend) AS spend FROM (SELECT "
         "DISTINCT age_band, region, rid, annual_spend FROM j) SEMI JOIN kept USING (age_band, "
         "region) GROUP BY age_band, region";
}

// The joined-rows aggregate (what AWS Clean Rooms computes, and Parley under "allow_fan_out"),
// with the thresholds: the price of counting each row once is the difference.
std::string FanOutJoinedSql(const std::string& data) {
  return "SELECT r.age_band, r.region, SUM(r.annual_spend) AS spend FROM read_parquet(" +
         engine::duckdb::QuoteString(data + "/retail.parquet") + ") r JOIN read_parquet(" +
         engine::duckdb::QuoteString(data + "/loyalty.parquet") +
         ") l ON r.hashed_email = l.hashed_email GROUP BY r.age_band, r.region HAVING "
         "COUNT(DISTINCT r.household_id) >= 100 AND COUNT(DISTINCT l.hashed_email) >= 100";
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int Fail(const absl::Status& status) {
  std::cerr << "bench: " << status << "\n";
  return 1;
}

std::string Label(int64_t rows) {
  if (rows % 1'000'000 == 0) return std::to_string(rows / 1'000'000) + "m";
  if (rows % 1'000 == 0) return std::to_string(rows / 1'000) + "k";
  return std::to_string(rows);
}

// Prepares data and a collaboration for `rows` per side (60% shared, as in the demo).
absl::StatusOr<std::unique_ptr<service::Service>> Prepare(const std::string& data, int64_t rows) {
  cli::DemoOptions options;
  options.households = rows;
  options.supplier_members = rows;
  options.shared = rows * 6 / 10;
  std::string stamp = data + "/.generated";
  if (!fs::exists(stamp)) {
    std::cerr << "generating " << rows << " rows per side in " << data << "\n";
    PARLEY_RETURN_IF_ERROR(cli::GenerateDemoData(options, data));
    fs::create_directories(data);
    std::ofstream(stamp) << rows;
  }
  std::string home = data + "/home";
  fs::remove_all(home);
  PARLEY_ASSIGN_OR_RETURN(auto service, service::Service::Open(home, {}));
  PARLEY_RETURN_IF_ERROR(service->CreateCollaboration(identity::Caller::Embedded("retailer"),
                                                      {.name = "bench", .creator_abilities = {}}));
  PARLEY_RETURN_IF_ERROR(
      service
          ->AddMember(identity::Caller::Embedded("retailer"), "bench",
                      {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}})
          .status());
  PARLEY_RETURN_IF_ERROR(service->AddTable(identity::Caller::Embedded("retailer"),
                                           {"bench", "retail", data + "/retail.parquet", {}}));
  PARLEY_RETURN_IF_ERROR(service->AddTable(identity::Caller::Embedded("supplier"),
                                           {"bench", "loyalty", data + "/loyalty.parquet", {}}));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded("retailer"), "bench", "retail",
                                          cli::kDemoRetailRule));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded("supplier"), "bench",
                                          "loyalty", cli::kDemoLoyaltyRule));
  // The same tables in a second room, the retailer's with differential privacy, and a budget
  // for every run of the benchmark (ε 1 per query, 1000 a month).
  service::NewCollaboration private_room{.name = "bench_dp", .creator_abilities = {}};
  private_room.privacy_budget =
      catalog::PrivacyBudget{1000'000'000, 10'000'000'000, 1'000'000, 1'000'000};
  PARLEY_RETURN_IF_ERROR(
      service->CreateCollaboration(identity::Caller::Embedded("retailer"), private_room));
  PARLEY_RETURN_IF_ERROR(
      service
          ->AddMember(identity::Caller::Embedded("retailer"), "bench_dp",
                      {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}})
          .status());
  PARLEY_RETURN_IF_ERROR(service->AddTable(identity::Caller::Embedded("retailer"),
                                           {"bench_dp", "retail", data + "/retail.parquet", {}}));
  PARLEY_RETURN_IF_ERROR(service->AddTable(identity::Caller::Embedded("supplier"),
                                           {"bench_dp", "loyalty", data + "/loyalty.parquet", {}}));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded("retailer"), "bench_dp",
                                          "retail", PrivateRetailRule()));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded("supplier"), "bench_dp",
                                          "loyalty", cli::kDemoLoyaltyRule));
  return service;
}

// A typical custom-rule analysis: a CTE over a join, a window function, a filter on a
// disallowed column, and the lineage check of every output column.
constexpr char kCustomQuery[] =
    "WITH shared AS (SELECT r.age_band, r.region, r.annual_spend, l.loyalty_tier "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "WHERE l.brand_purchases > 3) "
    "SELECT age_band, loyalty_tier, COUNT(*) AS households, ROUND(AVG(annual_spend), 2) AS spend, "
    "RANK() OVER (PARTITION BY age_band ORDER BY COUNT(*) DESC) AS tier_rank "
    "FROM shared GROUP BY age_band, loyalty_tier ORDER BY age_band, tier_rank";

constexpr char kCustomRetailRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
        "disallowed_output_columns": ["hashed_email", "household_id"]})";
constexpr char kCustomLoyaltyRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
        "disallowed_output_columns": ["hashed_email"]})";

// A typical analysis under custom rules with thresholds on free SQL (issue 16): at least 100
// distinct households and 100 distinct e-mails of the loyalty table per output row, plain
// columns in aggregates (idempotent or DISTINCT over the join), comparison allow-lists. DuckDB
// runs the same SQL with the thresholds written by hand (HAVING) and returns the same rows.
constexpr char kThresholdedQuery[] =
    "WITH shared AS (SELECT r.household_id, r.age_band, r.region, l.loyalty_tier, "
    "l.brand_purchases FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "WHERE l.brand_purchases > 3) "
    "SELECT age_band, loyalty_tier, COUNT(DISTINCT household_id) AS households, "
    "MAX(brand_purchases) AS top FROM shared GROUP BY age_band, loyalty_tier "
    "ORDER BY age_band, loyalty_tier";

constexpr char kThresholdedRetailRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
        "disallowed_output_columns": ["hashed_email"],
        "aggregation_thresholds": [{"identity_column": "household_id", "minimum": 100}],
        "allowed_literal_comparison_columns": ["age_band", "region", "income_bracket"],
        "allowed_column_comparison_columns": ["hashed_email"]})";
constexpr char kThresholdedLoyaltyRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
        "disallowed_output_columns": ["hashed_email"],
        "aggregation_thresholds": [{"identity_column": "hashed_email", "minimum": 100}]})";

std::string ThresholdedByHandSql(const std::string& data) {
  return "WITH shared AS (SELECT r.household_id, r.age_band, r.region, l.hashed_email, "
         "l.loyalty_tier, l.brand_purchases FROM read_parquet(" +
         engine::duckdb::QuoteString(data + "/retail.parquet") + ") r JOIN read_parquet(" +
         engine::duckdb::QuoteString(data + "/loyalty.parquet") +
         ") l ON r.hashed_email = l.hashed_email WHERE l.brand_purchases > 3) "
         "SELECT age_band, loyalty_tier, COUNT(DISTINCT household_id) AS households, "
         "MAX(brand_purchases) AS top FROM shared GROUP BY age_band, loyalty_tier HAVING "
         "COUNT(DISTINCT household_id) >= 100 AND COUNT(DISTINCT hashed_email) >= 100 ORDER BY "
         "age_band, loyalty_tier";
}

// query::Compile (parse + bind + check + rewrite + render) of `query` under the given rules of
// the demo's two tables: the median of many iterations, in microseconds.
absl::StatusOr<double> FrontEndMicros(const char* query, const char* retail_rule,
                                      const char* loyalty_rule) {
  std::vector<std::string> retail_columns = {"household_id",   "hashed_email",   "age_band",
                                             "income_bracket", "household_size", "region",
                                             "annual_spend",   "online_spend"};
  query::SnapshotSource source;
  source.collaboration = "bench";
  query::SnapshotTable retail{"retail", "retailer", {}, retail_rule};
  for (const std::string& c : retail_columns)
    retail.columns.push_back({c, sql::TypeKind::kVarchar});
  query::SnapshotTable loyalty{"loyalty",
                               "supplier",
                               {{"hashed_email", sql::TypeKind::kVarchar},
                                {"loyalty_tier", sql::TypeKind::kVarchar},
                                {"brand_purchases", sql::TypeKind::kInteger}},
                               loyalty_rule};
  source.tables = {std::move(retail), std::move(loyalty)};
  std::shared_ptr<const query::Snapshot> snapshot = query::Snapshot::Build(std::move(source));
  PARLEY_RETURN_IF_ERROR(snapshot->rules_status());
  query::Request request;
  request.sql = query;
  request.runner = "supplier";
  std::vector<double> samples;
  size_t rendered = 0;
  for (int i = 0; i < 2000; ++i) {
    auto start = Clock::now();
    PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, query::Compile(*snapshot, request));
    if (!compiled.verdict.allowed()) {
      return absl::InternalError(
          absl::StrCat("the benchmark query was rejected:\n",
                       policy::FormatViolations(compiled.verdict.violations)));
    }
    rendered += compiled.plan.rendered_sql.size();
    samples.push_back(SecondsSince(start) * 1e6);
  }
  if (rendered == 0) return absl::InternalError("nothing rendered");
  return Median(samples);
}

int Main(int argc, char** argv) {
  std::vector<int64_t> sizes;
  int runs = 5;
  int64_t fan_out_max_rows = 1'000'000;
  std::string data_root = "bench/data";
  // --dp-only 1: only the DP campaign figure (dp_campaign_<size>_ratio), for a loaded machine
  // where the whole program at 10M rows would take an hour.
  bool dp_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows")
      sizes.push_back(std::stoll(argv[i + 1]));
    else if (flag == "--runs")
      runs = std::stoi(argv[i + 1]);
    else if (flag == "--data")
      data_root = argv[i + 1];
    else if (flag == "--fan-out-max-rows")
      fan_out_max_rows = std::stoll(argv[i + 1]);
    else if (flag == "--dp-only")
      dp_only = std::string(argv[i + 1]) == "1";
    else {
      std::cerr << "usage: campaign_bench [--rows N]... [--runs N] [--data DIR] "
                   "[--fan-out-max-rows N] [--dp-only 1]\n";
      return 2;
    }
  }
  if (sizes.empty()) sizes = {1'000'000, 10'000'000};
  std::vector<std::pair<std::string, double>> summary;

  auto front_end = FrontEndMicros(kCampaign, cli::kDemoRetailRule, cli::kDemoLoyaltyRule);
  if (!front_end.ok()) return Fail(front_end.status());
  auto custom_front_end = FrontEndMicros(kCustomQuery, kCustomRetailRule, kCustomLoyaltyRule);
  if (!custom_front_end.ok()) return Fail(custom_front_end.status());
  auto thresholded_front_end =
      FrontEndMicros(kThresholdedQuery, kThresholdedRetailRule, kThresholdedLoyaltyRule);
  if (!thresholded_front_end.ok()) return Fail(thresholded_front_end.status());
  std::cout << "front end (parse+bind+check+rewrite+render), median of 2000:\n"
            << std::fixed << std::setprecision(1) << "  campaign query (aggregation rules) "
            << *front_end << " µs\n"
            << "  custom query (CTE, join, window, lineage) " << *custom_front_end << " µs\n"
            << "  custom query with thresholds (CTE, join, identities carried) "
            << *thresholded_front_end << " µs\n";
  summary.push_back({"campaign_front_end_us", *front_end});
  summary.push_back({"custom_front_end_us", *custom_front_end});
  summary.push_back({"thresholded_custom_front_end_us", *thresholded_front_end});

  for (int64_t rows : sizes) {
    std::string data = fs::absolute(data_root).string() + "/" + Label(rows);
    auto service = Prepare(data, rows);
    if (!service.ok()) return Fail(service.status());
    auto direct_db = engine::duckdb::OpenInMemoryDatabase({});
    if (!direct_db.ok()) return Fail(direct_db.status());
    std::vector<double> parley, direct, plain;
    size_t parley_rows = 0;
    // One warm-up of each, then `runs` interleaved rounds.
    for (int round = dp_only ? runs : -1; round < runs; ++round) {
      auto start = Clock::now();
      auto outcome =
          (*service)->Run(identity::Caller::Embedded("supplier"), "bench", kCampaign, {});
      if (!outcome.ok()) return Fail(outcome.status());
      double parley_seconds = SecondsSince(start);
      parley_rows = static_cast<size_t>(outcome->row_count.value_or(0));

      start = Clock::now();
      absl::Status status = engine::duckdb::ExecuteStatement(direct_db->connection.get(),
                                                             DirectSql(data, true), "direct");
      if (!status.ok()) return Fail(status);
      double direct_seconds = SecondsSince(start);

      start = Clock::now();
      status = engine::duckdb::ExecuteStatement(direct_db->connection.get(), DirectSql(data, false),
                                                "plain");
      if (!status.ok()) return Fail(status);
      double plain_seconds = SecondsSince(start);
      if (round < 0) continue;
      parley.push_back(parley_seconds);
      direct.push_back(direct_seconds);
      plain.push_back(plain_seconds);
    }
    std::string label = Label(rows);
    if (!dp_only) {
      double ratio = Median(parley) / Median(direct);
      double ratio_plain = Median(parley) / Median(plain);
      std::cout << "\ncampaign query, " << rows << " rows per side (" << parley_rows
                << " result rows), median of " << runs << ":\n"
                << std::setprecision(3) << "  parley (check, locked session, run, store)   "
                << Median(parley) << " s\n"
                << "  duckdb, same SQL with the thresholds        " << Median(direct) << " s\n"
                << "  duckdb, same SQL without thresholds         " << Median(plain) << " s\n"
                << "  ratio parley / duckdb same result           " << ratio << "\n"
                << "  ratio parley / duckdb without thresholds    " << ratio_plain << "\n";
      summary.push_back({"campaign_" + label + "_parley_s", Median(parley)});
      summary.push_back({"campaign_" + label + "_duckdb_s", Median(direct)});
      summary.push_back({"campaign_" + label + "_ratio", ratio});
      summary.push_back({"campaign_" + label + "_ratio_unthresholded", ratio_plain});
    }

    // Differential privacy: a query over the private room against the same text in the
    // thresholded one, both through Parley, interleaved — the campaign's unit counts, and a sum
    // (bounded per household, counted once per group).
    auto compare_private = [&](const char* sql, const std::string& name) -> absl::Status {
      std::vector<double> private_runs, thresholded_runs;
      size_t private_rows = 0, thresholded_rows = 0;
      for (int round = -1; round < runs; ++round) {
        auto start = Clock::now();
        auto outcome = (*service)->Run(identity::Caller::Embedded("supplier"), "bench_dp", sql, {});
        if (!outcome.ok()) return outcome.status();
        if (!outcome->explanation.verdict.allowed()) {
          return absl::InternalError(
              policy::FormatViolations(outcome->explanation.verdict.violations));
        }
        double private_seconds = SecondsSince(start);
        private_rows = static_cast<size_t>(outcome->row_count.value_or(0));
        start = Clock::now();
        outcome = (*service)->Run(identity::Caller::Embedded("supplier"), "bench", sql, {});
        if (!outcome.ok()) return outcome.status();
        double thresholded_seconds = SecondsSince(start);
        thresholded_rows = static_cast<size_t>(outcome->row_count.value_or(0));
        if (round < 0) continue;
        private_runs.push_back(private_seconds);
        thresholded_runs.push_back(thresholded_seconds);
      }
      double ratio = Median(private_runs) / Median(thresholded_runs);
      std::cout << "\n"
                << name << " with differential privacy, " << rows << " rows per side ("
                << private_rows << " groups released of " << thresholded_rows
                << " above the thresholds), median of " << runs << ":\n"
                << "  parley, differential privacy (bounded, noised) " << Median(private_runs)
                << " s\n"
                << "  parley, thresholds only                        " << Median(thresholded_runs)
                << " s\n"
                << "  ratio                                          " << ratio << "\n";
      summary.push_back({"dp_" + name + "_" + label + "_ratio", ratio});
      return absl::OkStatus();
    };
    if (absl::Status compared = compare_private(kCampaignUnordered, "campaign"); !compared.ok()) {
      return Fail(compared);
    }
    if (dp_only) continue;
    if (absl::Status compared = compare_private(kFanOut, "sum"); !compared.ok()) {
      return Fail(compared);
    }

    if (rows <= fan_out_max_rows) {
      std::vector<double> fan_parley, fan_hand, fan_joined;
      size_t fan_rows = 0;
      for (int round = -1; round < runs; ++round) {
        auto start = Clock::now();
        auto outcome =
            (*service)->Run(identity::Caller::Embedded("supplier"), "bench", kFanOut, {});
        if (!outcome.ok()) return Fail(outcome.status());
        double parley_seconds = SecondsSince(start);
        fan_rows = static_cast<size_t>(outcome->row_count.value_or(0));

        start = Clock::now();
        absl::Status status = engine::duckdb::ExecuteStatement(direct_db->connection.get(),
                                                               FanOutByHandSql(data), "by hand");
        if (!status.ok()) return Fail(status);
        double hand_seconds = SecondsSince(start);

        start = Clock::now();
        status = engine::duckdb::ExecuteStatement(direct_db->connection.get(),
                                                  FanOutJoinedSql(data), "joined");
        if (!status.ok()) return Fail(status);
        double joined_seconds = SecondsSince(start);
        if (round < 0) continue;
        fan_parley.push_back(parley_seconds);
        fan_hand.push_back(hand_seconds);
        fan_joined.push_back(joined_seconds);
      }
      double fan_ratio = Median(fan_parley) / Median(fan_hand);
      double fan_ratio_joined = Median(fan_parley) / Median(fan_joined);
      std::cout << "\nfan-out query (SUM of a retail column over the join), " << rows
                << " rows per side (" << fan_rows << " result rows), median of " << runs << ":\n"
                << "  parley (each retail row once per group)      " << Median(fan_parley) << " s\n"
                << "  duckdb, deduplicated by hand (DISTINCT)      " << Median(fan_hand) << " s\n"
                << "  duckdb, joined rows (no deduplication)       " << Median(fan_joined) << " s\n"
                << "  ratio parley / duckdb by hand                " << fan_ratio << "\n"
                << "  ratio parley / duckdb joined rows            " << fan_ratio_joined << "\n";
      summary.push_back({"fan_out_" + label + "_ratio", fan_ratio});
      summary.push_back({"fan_out_" + label + "_ratio_joined_rows", fan_ratio_joined});
    }

    // Thresholds on free SQL: the same tables under custom rules with aggregation_thresholds
    // (set last: the figures above need the aggregation rules).
    if (rows > fan_out_max_rows) continue;
    absl::Status rule_status = (*service)->SetRule(identity::Caller::Embedded("retailer"), "bench",
                                                   "retail", kThresholdedRetailRule);
    if (rule_status.ok()) {
      rule_status = (*service)->SetRule(identity::Caller::Embedded("supplier"), "bench", "loyalty",
                                        kThresholdedLoyaltyRule);
    }
    if (!rule_status.ok()) return Fail(rule_status);
    std::vector<double> custom_parley, custom_hand;
    size_t custom_rows = 0;
    for (int round = -1; round < runs; ++round) {
      auto start = Clock::now();
      auto outcome =
          (*service)->Run(identity::Caller::Embedded("supplier"), "bench", kThresholdedQuery, {});
      if (!outcome.ok()) return Fail(outcome.status());
      if (!outcome->explanation.verdict.allowed()) {
        return Fail(
            absl::InternalError(policy::FormatViolations(outcome->explanation.verdict.violations)));
      }
      double parley_seconds = SecondsSince(start);
      custom_rows = static_cast<size_t>(outcome->row_count.value_or(0));
      start = Clock::now();
      absl::Status status = engine::duckdb::ExecuteStatement(
          direct_db->connection.get(), ThresholdedByHandSql(data), "thresholds by hand");
      if (!status.ok()) return Fail(status);
      double hand_seconds = SecondsSince(start);
      if (round < 0) continue;
      custom_parley.push_back(parley_seconds);
      custom_hand.push_back(hand_seconds);
    }
    double custom_ratio = Median(custom_parley) / Median(custom_hand);
    std::cout << "\ncustom query with thresholds, " << rows << " rows per side (" << custom_rows
              << " result rows), median of " << runs << ":\n"
              << "  parley (identities carried, suppressed)     " << Median(custom_parley) << " s\n"
              << "  duckdb, same SQL with HAVING by hand        " << Median(custom_hand) << " s\n"
              << "  ratio                                       " << custom_ratio << "\n";
    summary.push_back({"thresholded_custom_" + label + "_ratio", custom_ratio});
  }
  std::cout << "\n";
  for (const auto& [name, value] : summary) {
    std::cout << name << " " << std::setprecision(name.ends_with("_us") ? 1 : 3) << value << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) { return parley::bench::Main(argc, argv); }
