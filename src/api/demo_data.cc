#include "api/demo_data.h"

#include <filesystem>
#include <utility>
#include <vector>

#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"

namespace parley::api {
namespace {

namespace fs = std::filesystem;

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

std::string Fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    std::string placeholder = "{" + key + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder)) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

}  // namespace

absl::Status GenerateDemoData(int64_t households, int64_t supplier_members, int64_t shared,
                              const std::string& directory) {
  fs::create_directories(directory);
  PARLEY_ASSIGN_OR_RETURN(engine::duckdb::InMemoryDatabase db,
                          engine::duckdb::OpenInMemoryDatabase({}));
  std::string retail = (fs::path(directory) / "retail.parquet").string();
  std::string loyalty = (fs::path(directory) / "loyalty.parquet").string();
  PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
      db.connection.get(),
      Fill(kRetailSql, {{"households", std::to_string(households)},
                        {"path", engine::duckdb::QuoteString(retail)}}),
      "generating the retailer's data"));
  PARLEY_RETURN_IF_ERROR(engine::duckdb::ExecuteStatement(
      db.connection.get(),
      Fill(kLoyaltySql, {{"members", std::to_string(supplier_members)},
                         {"shared", std::to_string(shared)},
                         {"path", engine::duckdb::QuoteString(loyalty)}}),
      "generating the supplier's data"));
  return absl::OkStatus();
}

}  // namespace parley::api
