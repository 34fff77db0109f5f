#include "cli/demo.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "api/demo_data.h"
#include "api/local_service.h"
#include "api/result_files.h"
#include "cli/local_backend.h"
#include "cli/output.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kCollaboration[] = "campaign";
constexpr char kRetailer[] = "retailer";
constexpr char kSupplier[] = "supplier";

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

}  // namespace

std::string WithThousands(int64_t value) {
  std::string digits = std::to_string(value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

void DemoStep(std::ostream& out, const std::string& who, const std::string& what) {
  out << "\n▶ " << who << ": " << what << "\n";
}

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
  return api::GenerateDemoData(options.households, options.supplier_members, options.shared,
                               directory);
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

  DemoStep(out, "setup",
           absl::StrCat("generating ", WithThousands(options.households),
                        " retailer households and ", WithThousands(options.supplier_members),
                        " supplier members (", WithThousands(options.shared), " shared)"));
  // The catalog is created first, so that a home holding demo data is always recognisable.
  // Both members act through the CLI's Backend (API requests), on one service in this process.
  auto service = std::make_shared<api::LocalService>(home.string(), api::LocalServiceOptions{});
  LocalBackend retailer(service, kRetailer);
  LocalBackend supplier(service, kSupplier);
  LocalBackend operator_of_home(service, "");
  PARLEY_RETURN_IF_ERROR(service->OpenHome());
  PARLEY_RETURN_IF_ERROR(GenerateDemoData(options, data));
  DemoStep(out, kRetailer, "creates the collaboration and invites the supplier");
  PARLEY_RETURN_IF_ERROR(retailer
                             .CreateCollaboration({.name = kCollaboration,
                                                   .description = "joint ad campaign: shared "
                                                                  "households by segment",
                                                   .creator_abilities = {}})
                             .status());
  PARLEY_RETURN_IF_ERROR(
      retailer.AddMember({kCollaboration, kSupplier, {"query", "receive", "run_jobs"}}).status());

  DemoStep(out, kRetailer, "adds its audience graph with an aggregation rule");
  PARLEY_RETURN_IF_ERROR(
      retailer
          .AddTable({kCollaboration, "retail", (fs::path(data) / "retail.parquet").string(), {}})
          .status());
  PARLEY_RETURN_IF_ERROR(
      retailer.SetRule({kCollaboration, "retail", nlohmann::json::parse(kDemoRetailRule), {}})
          .status());

  DemoStep(out, kSupplier, "adds its loyalty table with its own rule");
  PARLEY_RETURN_IF_ERROR(
      supplier
          .AddTable({kCollaboration, "loyalty", (fs::path(data) / "loyalty.parquet").string(), {}})
          .status());
  PARLEY_RETURN_IF_ERROR(
      supplier.SetRule({kCollaboration, "loyalty", nlohmann::json::parse(kDemoLoyaltyRule), {}})
          .status());

  DemoStep(out, kSupplier, "looks at the retailer's table: metadata and rule, never rows");
  PARLEY_ASSIGN_OR_RETURN(api::ShowTableResponse retail,
                          supplier.ShowTable({kCollaboration, "retail"}));
  PrintTable(out, retail.table);

  DemoStep(out, kSupplier, "runs the campaign query");
  out << kCampaignQuery << "\n\n";
  PARLEY_ASSIGN_OR_RETURN(api::RunResponse campaign,
                          supplier.RunQuery({kCollaboration, kCampaignQuery, {}}));
  if (!campaign.explanation.allowed || !campaign.result) {
    return absl::InternalError("the demo's campaign query was not allowed");
  }
  out << api::FormatResultTable(*campaign.result);
  out << "(segments with fewer than 100 shared households are suppressed by the retailer's rule)\n";

  PARLEY_ASSIGN_OR_RETURN(api::RunResponse total,
                          supplier.RunQuery({kCollaboration, kTotalQuery, {}}));
  PARLEY_ASSIGN_OR_RETURN(api::RunResponse by_age,
                          supplier.RunQuery({kCollaboration, kByAgeQuery, {}}));
  int64_t targetable = 0;
  if (total.result && !total.result->rows.empty() && total.result->rows[0][0]) {
    targetable = std::stoll(*total.result->rows[0][0]);
    out << "\n" << WithThousands(targetable) << " households can be targeted\n";
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

  DemoStep(out, kSupplier, "tries to pull the shared customers' hashed e-mails");
  out << kRejectedQuery << "\n\n";
  PARLEY_ASSIGN_OR_RETURN(api::RunResponse rejected,
                          supplier.RunQuery({kCollaboration, kRejectedQuery, {}}));
  PrintRejection(out, rejected.explanation);

  PARLEY_RETURN_IF_ERROR(
      RunDemoNotebookStep(retailer, supplier, home.string(), data, targetable, out));

  PARLEY_ASSIGN_OR_RETURN(api::VerifyAuditResponse audit, operator_of_home.VerifyAudit({}));
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << "\naudit log: " << (audit.ok ? "intact" : audit.problem.value_or("")) << ", "
      << audit.entries << " entries\n"
      << "campaign query: checked and rewritten in " << campaign.explanation.front_end_micros
      << " µs (rules read from the catalog, first query of the process), engine "
      << campaign.run_micros.value_or(0) / 1000 << " ms; demo finished in " << std::fixed
      << std::setprecision(1) << seconds << " s\n";
  return absl::OkStatus();
}

}  // namespace parley::cli
