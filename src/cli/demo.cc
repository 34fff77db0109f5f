#include "cli/demo.h"

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "api/from_service.h"
#include "cli/output.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/result_writer.h"
#include "service/service.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kCollaboration[] = "campaign";
constexpr char kRetailer[] = "retailer";
constexpr char kSupplier[] = "supplier";

// The retailer's audience graph. Attributes come from disjoint bit ranges of DuckDB's hash() of
// the household number, so the data are deterministic without a random generator (hash() with
// several arguments is not used: its results are correlated across arguments). Households of 6 or
// more people are rare (0.1%), so those segments fall under the 100-household threshold and are
// suppressed.
constexpr char kRetailSql[] = R"sql(
COPY (
  SELECT i + 1 AS household_id,
         md5('household-' || i) AS hashed_email,
         ['18-24', '25-34', '35-44', '45-54', '55-64', '65+'][1 + CAST((hash(i) >> 4) % 6 AS BIGINT)] AS age_band,
         ['<50k', '50-100k', '100-150k', '150k+'][1 + CAST((hash(i) >> 16) % 4 AS BIGINT)] AS income_bracket,
         CASE WHEN (hash(i) >> 24) % 1000 < 280 THEN 1
              WHEN (hash(i) >> 24) % 1000 < 620 THEN 2
              WHEN (hash(i) >> 24) % 1000 < 770 THEN 3
              WHEN (hash(i) >> 24) % 1000 < 900 THEN 4
              WHEN (hash(i) >> 24) % 1000 < 999 THEN 5
              ELSE 6 END AS household_size,
         ['north', 'south', 'east', 'west', 'central'][1 + CAST((hash(i) >> 40) % 5 AS BIGINT)] AS region,
         round(((hash(i + 1000000000000) % 500000)) / 100.0, 2) AS annual_spend,
         round(((hash(i + 2000000000000) % 200000)) / 100.0, 2) AS online_spend
  FROM range({households}) AS t(i)
) TO {path} (FORMAT parquet, ROW_GROUP_SIZE 122880)
)sql";

// The supplier's loyalty members: the first `shared` are households of the retailer (the same
// hashed e-mail), the rest are the supplier's own customers.
constexpr char kLoyaltySql[] = R"sql(
COPY (
  SELECT CASE WHEN j < {shared} THEN md5('household-' || j)
              ELSE md5('supplier-only-' || j) END AS hashed_email,
         ['bronze', 'silver', 'gold', 'platinum'][1 + CAST((hash(j) >> 8) % 4 AS BIGINT)] AS loyalty_tier,
         CAST((hash(j) >> 24) % 40 AS INTEGER) AS brand_purchases
  FROM range({members}) AS t(j)
) TO {path} (FORMAT parquet, ROW_GROUP_SIZE 122880)
)sql";

constexpr char kCampaignQuery[] =
    "SELECT r.age_band, r.income_bracket, r.household_size,\n"
    "       COUNT(DISTINCT r.household_id) AS households\n"
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\n"
    "GROUP BY r.age_band, r.income_bracket, r.household_size\n"
    "ORDER BY households DESC";

constexpr char kTotalQuery[] =
    "SELECT COUNT(DISTINCT r.household_id) AS households\n"
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email";

constexpr char kByAgeQuery[] =
    "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households\n"
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\n"
    "GROUP BY r.age_band ORDER BY r.age_band";

constexpr char kRejectedQuery[] =
    "SELECT r.hashed_email, r.age_band, COUNT(*)\n"
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\n"
    "GROUP BY r.hashed_email, r.age_band";

std::string Fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    std::string placeholder = "{" + key + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string WithThousands(int64_t value) {
  std::string digits = std::to_string(value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

void Step(std::ostream& out, const std::string& who, const std::string& what) {
  out << "\n▶ " << who << ": " << what << "\n";
}

}  // namespace

const char kDemoRetailRule[] = R"json({
  "kind": "aggregation",
  "aggregate_columns": [
    {"columns": ["household_id"], "functions": ["COUNT_DISTINCT"]},
    {"columns": ["annual_spend", "online_spend"], "functions": ["SUM", "AVG"]}],
  "join_columns": ["hashed_email"],
  "join_required": "query_runner",
  "allowed_join_operators": ["AND"],
  "dimension_columns": ["age_band", "income_bracket", "household_size", "region"],
  "scalar_functions": ["ROUND"],
  "output_constraints": [{"column": "household_id", "minimum": 100, "type": "count_distinct"}]
})json";

const char kDemoLoyaltyRule[] = R"json({
  "kind": "aggregation",
  "aggregate_columns": [
    {"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]},
    {"columns": ["brand_purchases"], "functions": ["SUM", "AVG"]}],
  "join_columns": ["hashed_email"],
  "dimension_columns": ["loyalty_tier"],
  "scalar_functions": ["ROUND"],
  "output_constraints": [{"column": "hashed_email", "minimum": 100, "type": "count_distinct"}]
})json";

absl::Status GenerateDemoData(const DemoOptions& options, const std::string& directory) {
  fs::create_directories(directory);
  PARLEY_ASSIGN_OR_RETURN(engine::duckdb::InMemoryDatabase db,
                          engine::duckdb::OpenInMemoryDatabase({}));
  std::string retail = (fs::path(directory) / "retail.parquet").string();
  std::string loyalty = (fs::path(directory) / "loyalty.parquet").string();
  PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
      db.connection.get(),
      Fill(kRetailSql, {{"households", std::to_string(options.households)},
                        {"path", engine::duckdb::QuoteString(retail)}}),
      "generating the retailer's data"));
  PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
      db.connection.get(),
      Fill(kLoyaltySql, {{"members", std::to_string(options.supplier_members)},
                         {"shared", std::to_string(options.shared)},
                         {"path", engine::duckdb::QuoteString(loyalty)}}),
      "generating the supplier's data"));
  return absl::OkStatus();
}

absl::Status RunDemo(const DemoOptions& options, std::ostream& out) {
  if (options.households < 1 || options.supplier_members < 1 || options.shared < 0 ||
      options.shared > std::min(options.households, options.supplier_members)) {
    return absl::InvalidArgumentError(
        "--shared must be between 0 and the smaller of --households and --supplier-members, "
        "and both sizes at least 1");
  }
  auto start = std::chrono::steady_clock::now();
  fs::path home = fs::absolute(options.home);
  if (options.fresh && fs::exists(home)) {
    // Only ever delete something that is recognisably a Parley home.
    if (!fs::exists(home / "catalog.db")) {
      return absl::FailedPreconditionError(absl::StrCat("--fresh would delete '", home.string(),
                                                        "', which is not a Parley home directory"));
    }
    fs::remove_all(home);
  }
  if (!options.fresh && fs::exists(home / "catalog.db")) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", home.string(),
                     "' already holds a Parley catalog; run the demo with --fresh to "
                     "start over there, or give another --home"));
  }
  std::string data = (home / "demo-data").string();
  out << "Parley demo: a retailer and a supplier measure their shared audience\n"
      << "home: " << home.string() << "\n";

  Step(out, "setup",
       absl::StrCat("generating ", WithThousands(options.households), " retailer households and ",
                    WithThousands(options.supplier_members), " supplier members (",
                    WithThousands(options.shared), " shared)"));
  // The catalog is created first, so that a home holding demo data is always recognisable.
  PARLEY_ASSIGN_OR_RETURN(auto service, service::Service::Open(home.string(), {}));
  PARLEY_RETURN_IF_ERROR(GenerateDemoData(options, data));
  Step(out, kRetailer, "creates the collaboration and invites the supplier");
  PARLEY_RETURN_IF_ERROR(service->CreateCollaboration(
      identity::Caller::Embedded(kRetailer),
      {.name = kCollaboration,
       .description = "joint ad campaign: shared households by segment",
       .creator_abilities = {}}));
  PARLEY_RETURN_IF_ERROR(
      service->AddMember(identity::Caller::Embedded(kRetailer), kCollaboration,
                         {kSupplier, {identity::Ability::kQuery, identity::Ability::kReceive}}));

  Step(out, kRetailer, "adds its audience graph with an aggregation rule");
  PARLEY_RETURN_IF_ERROR(service->AddTable(
      identity::Caller::Embedded(kRetailer),
      {kCollaboration, "retail", (fs::path(data) / "retail.parquet").string(), {}}));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded(kRetailer), kCollaboration,
                                          "retail", kDemoRetailRule));

  Step(out, kSupplier, "adds its loyalty table with its own rule");
  PARLEY_RETURN_IF_ERROR(service->AddTable(
      identity::Caller::Embedded(kSupplier),
      {kCollaboration, "loyalty", (fs::path(data) / "loyalty.parquet").string(), {}}));
  PARLEY_RETURN_IF_ERROR(service->SetRule(identity::Caller::Embedded(kSupplier), kCollaboration,
                                          "loyalty", kDemoLoyaltyRule));

  Step(out, kSupplier, "looks at the retailer's table: metadata and rule, never rows");
  PARLEY_ASSIGN_OR_RETURN(
      service::TableView retail,
      service->ShowTable(identity::Caller::Embedded(kSupplier), kCollaboration, "retail"));
  PrintTable(out, api::FromService(retail));

  Step(out, kSupplier, "runs the campaign query");
  out << kCampaignQuery << "\n\n";
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome campaign,
      service->Run(identity::Caller::Embedded(kSupplier), kCollaboration, kCampaignQuery, {}));
  if (!campaign.explanation.verdict.allowed() || !campaign.result) {
    return absl::InternalError("the demo's campaign query was not allowed");
  }
  out << engine::FormatTable(*campaign.result);
  out << "(segments with fewer than 100 shared households are suppressed by the retailer's rule)\n";

  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome total,
      service->Run(identity::Caller::Embedded(kSupplier), kCollaboration, kTotalQuery, {}));
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome by_age,
      service->Run(identity::Caller::Embedded(kSupplier), kCollaboration, kByAgeQuery, {}));
  if (total.result && !total.result->rows.empty() && total.result->rows[0][0]) {
    out << "\n"
        << WithThousands(std::stoll(*total.result->rows[0][0])) << " households can be targeted\n";
  }
  if (by_age.result) {
    int64_t largest = 1;  // never divide by zero
    for (const auto& row : by_age.result->rows)
      largest = std::max<int64_t>(largest, std::stoll(row[1].value_or("0")));
    for (const auto& row : by_age.result->rows) {
      int64_t count = std::stoll(row[1].value_or("0"));
      out << "  " << std::setw(6) << std::left << row[0].value_or("NULL") << " "
          << std::string(static_cast<size_t>(40 * count / largest), '#') << " "
          << WithThousands(count) << "\n";
    }
  }

  Step(out, kSupplier, "tries to pull the shared customers' hashed e-mails");
  out << kRejectedQuery << "\n\n";
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome rejected,
      service->Run(identity::Caller::Embedded(kSupplier), kCollaboration, kRejectedQuery, {}));
  PrintRejection(out, api::FromService(rejected.explanation));

  PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification audit, service->VerifyAudit());
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "\naudit log: " << (audit.ok ? "intact" : audit.problem) << ", " << audit.entries
      << " entries\n"
      << "campaign query: checked and rewritten in " << campaign.explanation.front_end_micros
      << " µs (rules read from the catalog, first query of the process), engine "
      << campaign.run_micros / 1000 << " ms; demo finished in " << std::fixed
      << std::setprecision(1) << seconds << " s\n";
  return absl::OkStatus();
}

}  // namespace parley::cli
