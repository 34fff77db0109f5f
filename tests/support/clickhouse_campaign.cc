#include "support/clickhouse_campaign.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/demo.h"
#include "duckdb.h"

namespace parley::testing {

const char kRetailColumns[] =
    "household_id Int64, hashed_email String, age_band String, income_bracket String, "
    "household_size Int32, region String, annual_spend Float64, online_spend Float64";
const char kLoyaltyColumns[] = "hashed_email String, loyalty_tier String, brand_purchases Int32";

namespace {

// DuckDB writes a Parquet file as TabSeparated for clickhouse-client.
absl::Status ExportTsv(const std::string& parquet, const std::string& tsv) {
  duckdb_database db;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &db) != DuckDBSuccess) return absl::InternalError("duckdb_open");
  duckdb_connect(db, &connection);
  duckdb_result result;
  std::string sql = absl::StrCat("COPY (SELECT * FROM read_parquet('", parquet, "')) TO '", tsv,
                                 "' (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '')");
  bool ok = duckdb_query(connection, sql.c_str(), &result) == DuckDBSuccess;
  std::string error = ok ? "" : duckdb_result_error(&result);
  duckdb_destroy_result(&result);
  duckdb_disconnect(&connection);
  duckdb_close(&db);
  return ok ? absl::OkStatus() : absl::InternalError(absl::StrCat("export to TSV: ", error));
}

}  // namespace

absl::Status LoadCampaign(const ClickHouseCluster& cluster, const std::string& data,
                          const std::vector<CampaignTable>& tables) {
  std::vector<std::string> ddl;
  for (const CampaignTable& table : tables) {
    const char* columns = table.file == "retail" ? kRetailColumns : kLoyaltyColumns;
    ddl.push_back(absl::StrCat("CREATE TABLE rooms.", table.name, "_local (", columns,
                               ") ENGINE = MergeTree ORDER BY tuple()"));
    ddl.push_back(absl::StrCat("CREATE TABLE rooms.", table.name, " AS rooms.", table.name,
                               "_local ENGINE = Distributed(parley, rooms, ", table.name,
                               "_local, ", table.sharding, ")"));
  }
  if (absl::Status created = cluster.ExecuteOnEach(ddl); !created.ok()) return created;
  for (const CampaignTable& table : tables) {
    std::string tsv = absl::StrCat(data, "/", table.file, ".tsv");
    if (!std::filesystem::exists(tsv)) {
      absl::Status exported = ExportTsv(absl::StrCat(data, "/", table.file, ".parquet"), tsv);
      if (!exported.ok()) return exported;
    }
    std::string command = absl::StrCat("clickhouse-client --port ", cluster.tcp_port(0),
                                       " --insert_distributed_sync=1 --query 'INSERT INTO rooms.",
                                       table.name, " FORMAT TabSeparated' < ", tsv);
    if (std::system(command.c_str()) != 0) {
      return absl::InternalError(absl::StrCat("loading ", table.name, " failed: ", command));
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<const query::Snapshot> CampaignSnapshot(const std::string& collaboration) {
  using sql::TypeKind;
  query::SnapshotSource source;
  source.collaboration = collaboration;
  source.tables.push_back({"retail",
                           "retailer",
                           {{"household_id", TypeKind::kBigint},
                            {"hashed_email", TypeKind::kVarchar},
                            {"age_band", TypeKind::kVarchar},
                            {"income_bracket", TypeKind::kVarchar},
                            {"household_size", TypeKind::kInteger},
                            {"region", TypeKind::kVarchar},
                            {"annual_spend", TypeKind::kDouble},
                            {"online_spend", TypeKind::kDouble}},
                           cli::kDemoRetailRule});
  source.tables.push_back({"loyalty",
                           "supplier",
                           {{"hashed_email", TypeKind::kVarchar},
                            {"loyalty_tier", TypeKind::kVarchar},
                            {"brand_purchases", TypeKind::kInteger}},
                           cli::kDemoLoyaltyRule});
  return query::Snapshot::Build(std::move(source));
}

}  // namespace parley::testing
