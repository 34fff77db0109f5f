// Tables on a ClickHouse cluster, through the real binary (issue 15): the operator registers a
// 2-node cluster as an engine (`parley engine add`), the retailer registers its Distributed table
// in place, the supplier loads its file into the cluster sharded by the join key, and the demo's
// campaign query then runs on the cluster with exactly the rows the same data give on DuckDB. A
// query mixing the cluster and local files is refused before anything runs; a writable account is
// refused at registration; a table changed or dropped on the cluster is a clear error naming it
// and its owner; a run's time limit stops the query on the cluster too; the passwords never
// appear in any output, file of the home or audit entry. A sum over a join runs on tables that
// have Parley's hidden row identity (loaded files; tables in place given the column) and is
// refused on those that have none; members never see or name the column.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status_testing.h"
#include "cli/demo.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/clickhouse_campaign.h"
#include "support/clickhouse_cluster.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::Outcome;
using cli_test::ReadText;
using testing::ClickHouseCluster;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCampaign[] =
    "SELECT r.age_band, r.income_bracket, r.household_size, "
    "COUNT(DISTINCT r.household_id) AS households "
    "FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email "
    "GROUP BY r.age_band, r.income_bracket, r.household_size ORDER BY households DESC";

class CliClickHouseTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ClickHouseCluster>> started = ClickHouseCluster::Start(2);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    data_ = fs::path(cluster_->directory()) / "demo";
    cli::DemoOptions options;
    options.households = 20'000;
    options.supplier_members = 15'000;
    options.shared = 9'000;
    ASSERT_OK(cli::GenerateDemoData(options, data_.string()));
    // The retailer's table is already on the cluster (the operator loaded it, named for the
    // retailer), sharded by the join key.
    ASSERT_OK(testing::LoadCampaign(*cluster_, data_.string(),
                                    {{"retailer_retail", "retail", "sipHash64(hashed_email)"}}));
    reader_file_ = fs::path(cluster_->directory()) / "reader.password";
    loader_file_ = fs::path(cluster_->directory()) / "loader.password";
    for (const auto& [file, password] : {std::pair{reader_file_, cluster_->reader_password()},
                                         std::pair{loader_file_, cluster_->loader_password()}}) {
      std::ofstream(file) << password << "\n";
      fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  std::vector<std::string> EngineAdd(const std::string& name, const std::string& user,
                                     const fs::path& password_file) {
    return {"engine",
            "add",
            name,
            "--clickhouse",
            cluster_->HttpUrl(0),
            "--cluster",
            ClickHouseCluster::kCluster,
            "--database",
            ClickHouseCluster::kDatabase,
            "--user",
            user,
            "--password-file",
            password_file.string(),
            "--loader-user",
            ClickHouseCluster::kLoader,
            "--loader-password-file",
            loader_file_.string(),
            "--node",
            cluster_->HttpUrl(0),
            "--node",
            cluster_->HttpUrl(1)};
  }

  // The campaign room: the retailer's table and the supplier's, each where `retail` and
  // `loyalty` say (table add flags after the name), under the demo's rules.
  // `create` adds flags to collaboration create; `retail_rule` replaces the demo's retail rule.
  void MakeRoom(const std::string& room, const std::vector<std::string>& retail,
                const std::vector<std::string>& loyalty,
                const std::vector<std::string>& create = {},
                const std::string& retail_rule = cli::kDemoRetailRule) {
    std::vector<std::string> created = {"collaboration", "create", room, "--abilities", "none"};
    created.insert(created.end(), create.begin(), create.end());
    Ok("retailer", created);
    Ok("retailer", {"member", "add", "-c", room, "supplier", "--abilities", "query,receive"});
    std::vector<std::string> add = {"table", "add", "-c", room, "retail"};
    add.insert(add.end(), retail.begin(), retail.end());
    Ok("retailer", add);
    Ok("retailer", {"rule", "set", "-c", room, "retail", "--json", retail_rule});
    add = {"table", "add", "-c", room, "loyalty"};
    add.insert(add.end(), loyalty.begin(), loyalty.end());
    Ok("supplier", add);
    Ok("supplier", {"rule", "set", "-c", room, "loyalty", "--json", cli::kDemoLoyaltyRule});
  }

  // Everything Parley printed or wrote in the home, to look for a password in.
  std::string EverythingWritten() {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(home_)) {
      if (entry.is_regular_file()) all += ReadText(entry.path());
    }
    for (const auto& entry : fs::directory_iterator(scratch_)) {
      if (entry.is_regular_file()) all += ReadText(entry.path());
    }
    return all;
  }

  static ClickHouseCluster* cluster_;
  static fs::path data_;
  static fs::path reader_file_;
  static fs::path loader_file_;
};

ClickHouseCluster* CliClickHouseTest::cluster_ = nullptr;
fs::path CliClickHouseTest::data_;
fs::path CliClickHouseTest::reader_file_;
fs::path CliClickHouseTest::loader_file_;

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST_F(CliClickHouseTest, TheCampaignQueryOnTheClusterEqualsDuckDb) {
  std::string all_output;
  Outcome added = Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_));
  ASSERT_EQ(added.exit_code, 0) << added;
  EXPECT_THAT(added.out, HasSubstr("added engine warehouse: clickhouse"));
  EXPECT_THAT(added.out, HasSubstr("ClickHouse 18.16"));
  all_output += added.out + added.err;
  Outcome listed = Parley({"engine", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  EXPECT_THAT(listed.out, HasSubstr("\"name\": \"warehouse\""));
  all_output += listed.out + Parley({"engine", "show", "warehouse"}).out;

  // On DuckDB: both members' files.
  MakeRoom("local", {"--source", (data_ / "retail.parquet").string()},
           {"--source", (data_ / "loyalty.parquet").string()});
  // On the cluster: the retailer's Distributed table in place, the supplier's file loaded.
  MakeRoom("cluster", {"--engine", "warehouse", "--relation", "rooms.retailer_retail"},
           {"--engine", "warehouse", "--source", (data_ / "loyalty.parquet").string(),
            "--shard-key", "hashed_email", "--relation", "supplier_loyalty"});
  // The supplier's rows are on both shards, by the join key.
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(std::string count,
                         cluster_->Query(node, "SELECT count() FROM rooms.supplier_loyalty_local"));
    EXPECT_GT(std::stoll(count), 5'000) << node;
  }

  Outcome explained = Ok("supplier", {"query", "explain", "-c", "cluster", "--sql", kCampaign});
  EXPECT_THAT(explained.out, HasSubstr("engine: clickhouse engine 'warehouse'"));
  // Co-located: the loaded table's local part is joined on each shard.
  EXPECT_THAT(explained.out, HasSubstr("\"rooms\".\"retailer_retail\""));
  EXPECT_THAT(explained.out, HasSubstr("\"rooms\".\"supplier_loyalty_local\""));
  Outcome on_duckdb =
      Ok("supplier", {"query", "run", "-c", "local", "--sql", kCampaign, "--output", "-"});
  Outcome on_cluster =
      Ok("supplier", {"query", "run", "-c", "cluster", "--sql", kCampaign, "--output", "-"});
  EXPECT_GT(SortedLines(on_duckdb.out).size(), 10u);
  EXPECT_EQ(SortedLines(on_cluster.out), SortedLines(on_duckdb.out));
  all_output += explained.out + on_cluster.out + on_cluster.err;

  // A query reading the cluster and local files is refused before it runs, naming both.
  Ok("retailer",
     {"table", "add", "-c", "cluster", "retail_files", "--source",
      (data_ / "retail.parquet").string(), "--columns", "household_id,hashed_email,age_band"});
  Ok("retailer", {"rule", "set", "-c", "cluster", "retail_files", "--json",
                  R"({"kind": "custom", "any_query": true,
                      "allowed_analysis_providers": ["supplier"]})"});
  Outcome mixed = As("supplier", {"query", "run", "-c", "cluster", "--sql",
                                  "SELECT f.age_band, COUNT(*) AS n FROM retail_files f JOIN "
                                  "loyalty l ON f.hashed_email = l.hashed_email GROUP BY "
                                  "f.age_band"});
  EXPECT_EQ(mixed.exit_code, kExitError) << mixed;
  EXPECT_THAT(mixed.err, HasSubstr("the query reads tables on different engines (local files: "
                                   "'retail_files'; clickhouse engine 'warehouse': 'loyalty')"));

  // The engine cannot go while tables live on it.
  Outcome removed = Parley({"engine", "remove", "warehouse"});
  EXPECT_EQ(removed.exit_code, kExitError) << removed;
  EXPECT_THAT(removed.err, HasSubstr("still holds table 'loyalty'"));
  all_output += mixed.err + removed.err;
  all_output += Ok("supplier", {"audit", "list", "-c", "cluster", "--json"}).out;

  for (const std::string& password : {cluster_->reader_password(), cluster_->loader_password()}) {
    EXPECT_THAT(all_output, Not(HasSubstr(password)));
    EXPECT_THAT(EverythingWritten(), Not(HasSubstr(password)));
  }
}

// Differential privacy on the cluster: the same bounded plan runs there (its windows written for
// 18.16), Parley adds the noise after the engine answers, and the budget is charged as on DuckDB.
TEST_F(CliClickHouseTest, ADifferentiallyPrivateQueryRunsOnTheClusterAndSpendsAsOnDuckDb) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  std::string rule = cli::kDemoRetailRule;
  rule = rule.substr(0, rule.rfind('}')) +
         R"(, "differential_privacy": {"privacy_unit": "household_id", "max_groups_per_unit": 2,
              "bounds": [{"column": "annual_spend", "minimum": 0, "maximum": 20000}]}})";
  const std::vector<std::string> budget = {"--dp-epsilon", "3", "--dp-default-epsilon", "1"};
  MakeRoom("dp_local", {"--source", (data_ / "retail.parquet").string()},
           {"--source", (data_ / "loyalty.parquet").string()}, budget, rule);
  MakeRoom("dp_cluster", {"--engine", "warehouse", "--relation", "rooms.retailer_retail"},
           {"--engine", "warehouse", "--source", (data_ / "loyalty.parquet").string(),
            "--shard-key", "hashed_email", "--relation", "supplier_loyalty_dp"},
           budget, rule);
  // Unit counts per group over the join, with the supplier's threshold: each household's first
  // two groups, chosen over all its rows on both shards.
  const std::string query =
      "SELECT r.age_band, r.region, COUNT(DISTINCT r.household_id) AS households FROM retail r "
      "JOIN loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band, r.region";

  // The same noise plan on both engines; the cluster runs it.
  auto privacy_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StrContains(line, "differential privacy") || absl::StrContains(line, "noise") ||
          absl::StrContains(line, "privacy units")) {
        lines.emplace_back(line);
      }
    }
    return lines;
  };
  Outcome local_plan = Ok("supplier", {"query", "explain", "-c", "dp_local", "--sql", query});
  Outcome cluster_plan = Ok("supplier", {"query", "explain", "-c", "dp_cluster", "--sql", query});
  EXPECT_THAT(cluster_plan.out, HasSubstr("engine: clickhouse engine 'warehouse'"));
  EXPECT_THAT(cluster_plan.out, HasSubstr("arraySort("));  // the unit's groups, in key order
  EXPECT_GE(privacy_lines(cluster_plan.out).size(), 3u) << cluster_plan.out;
  EXPECT_EQ(privacy_lines(cluster_plan.out), privacy_lines(local_plan.out));

  Outcome local =
      Ok("supplier", {"query", "run", "-c", "dp_local", "--sql", query, "--output", "-"});
  Outcome cluster =
      Ok("supplier", {"query", "run", "-c", "dp_cluster", "--sql", query, "--output", "-"});
  std::vector<std::string> local_rows = absl::StrSplit(local.out, '\n', absl::SkipEmpty());
  std::vector<std::string> cluster_rows = absl::StrSplit(cluster.out, '\n', absl::SkipEmpty());
  ASSERT_GT(local_rows.size(), 3u) << local.out;
  ASSERT_EQ(cluster_rows.size(), local_rows.size()) << cluster.out;
  // The header, then the groups in the order of their keys, each with a noisy count close to the
  // other engine's (noise of scale 2 on each: 40 apart has probability below 1e-8).
  EXPECT_EQ(cluster_rows[0], local_rows[0]);
  EXPECT_THAT(cluster_rows[0], HasSubstr("households_ci95_low"));
  for (size_t i = 1; i < local_rows.size(); ++i) {
    std::vector<std::string> a = absl::StrSplit(local_rows[i], ',');
    std::vector<std::string> b = absl::StrSplit(cluster_rows[i], ',');
    ASSERT_EQ(a.size(), b.size());
    ASSERT_EQ(a.size(), 5u) << local_rows[i];  // age_band, region, households and its interval
    EXPECT_EQ(b[0] + "," + b[1], a[0] + "," + a[1]) << "group " << i;
    EXPECT_LE(std::abs(std::stoll(b[2]) - std::stoll(a[2])), 40)
        << local_rows[i] << " vs " << cluster_rows[i];
  }

  // A sum over the join counts each retail row once per group, which needs Parley's row identity:
  // the retailer's table registered in place has none on the cluster, so the query is refused
  // there, naming the engine and the table, and nothing is spent.
  Outcome sum = As("supplier", {"query", "run", "-c", "dp_cluster", "--sql",
                                "SELECT r.age_band, SUM(r.annual_spend) AS spend FROM retail r "
                                "JOIN loyalty l ON r.hashed_email = l.hashed_email "
                                "GROUP BY r.age_band"});
  EXPECT_EQ(sum.exit_code, kExitError) << sum;
  EXPECT_THAT(sum.err, HasSubstr("the clickhouse engine cannot run each row of table 'retail' "
                                 "once per group over a join"));

  // Charged the same: one query, the same ε and δ.
  Outcome local_budget = Ok("retailer", {"budget", "-c", "dp_local"});
  Outcome cluster_budget = Ok("retailer", {"budget", "-c", "dp_cluster"});
  EXPECT_THAT(cluster_budget.out, HasSubstr("1 queries, epsilon 1 spent"));
  EXPECT_EQ(absl::StrReplaceAll(cluster_budget.out, {{"dp_cluster", "ROOM"}}),
            absl::StrReplaceAll(local_budget.out, {{"dp_local", "ROOM"}}));
}

// A sum over a join counts each row once per group, by Parley's hidden row identity. A loaded
// file carries it (its row number, unique over the shards), so the sum runs on the cluster and
// equals DuckDB's; a table in place has it when its Distributed table has the Int64 column, and
// is refused without it. Members never see or name it.
TEST_F(CliClickHouseTest, ASumOverAJoinRunsOnTablesWithARowIdentity) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  MakeRoom("sum_local", {"--source", (data_ / "retail.parquet").string()},
           {"--source", (data_ / "loyalty.parquet").string()});
  MakeRoom("sum_cluster",
           {"--engine", "warehouse", "--source", (data_ / "retail.parquet").string(), "--shard-key",
            "hashed_email", "--relation", "retailer_retail_ided"},
           {"--engine", "warehouse", "--source", (data_ / "loyalty.parquet").string(),
            "--shard-key", "hashed_email", "--relation", "supplier_loyalty_ided"});
  // Sums and averages of the retailer's rows per group over a join with the supplier's, whose
  // households match several of its rows.
  const std::string query =
      "SELECT r.age_band, SUM(r.annual_spend) AS spend, AVG(r.online_spend) AS online, "
      "COUNT(DISTINCT r.household_id) AS households FROM retail r JOIN loyalty l ON "
      "r.hashed_email = l.hashed_email GROUP BY r.age_band";
  Outcome explained = Ok("supplier", {"query", "explain", "-c", "sum_cluster", "--sql", query});
  EXPECT_THAT(explained.out, HasSubstr("engine: clickhouse engine 'warehouse'"));
  EXPECT_THAT(explained.out, HasSubstr("__parley_row_id"));
  Outcome local =
      Ok("supplier", {"query", "run", "-c", "sum_local", "--sql", query, "--output", "-"});
  Outcome cluster =
      Ok("supplier", {"query", "run", "-c", "sum_cluster", "--sql", query, "--output", "-"});
  // Equal groups and households, and sums (added in another order) equal to 1e-9.
  auto expect_same = [](const std::string& expected, const std::string& actual) {
    std::vector<std::string> want = SortedLines(expected);
    std::vector<std::string> got = SortedLines(actual);
    ASSERT_GT(want.size(), 3u) << expected;
    ASSERT_EQ(got.size(), want.size()) << actual;
    for (size_t i = 0; i < want.size(); ++i) {
      std::vector<std::string> a = absl::StrSplit(want[i], ',');
      std::vector<std::string> b = absl::StrSplit(got[i], ',');
      ASSERT_EQ(a.size(), 4u) << want[i];
      ASSERT_EQ(b.size(), 4u) << got[i];
      EXPECT_EQ(b[0], a[0]);
      EXPECT_EQ(b[3], a[3]) << want[i] << " vs " << got[i];
      if (a[0] == "age_band") continue;  // the header
      for (size_t j : {1, 2}) {
        EXPECT_NEAR(std::stod(b[j]), std::stod(a[j]), 1e-9 * std::abs(std::stod(a[j])))
            << want[i] << " vs " << got[i];
      }
    }
  };
  expect_same(local.out, cluster.out);

  // The hidden column is no column of the table: not shown to its owner or the other member, and
  // not selectable.
  for (const char* who : {"retailer", "supplier"}) {
    Outcome shown = Ok(who, {"table", "show", "-c", "sum_cluster", "retail"});
    EXPECT_THAT(shown.out, HasSubstr("annual_spend"));
    EXPECT_THAT(shown.out, Not(HasSubstr("__parley")));
  }
  Outcome named = As("supplier", {"query", "run", "-c", "sum_cluster", "--sql",
                                  "SELECT r.__parley_row_id, COUNT(*) AS n FROM retail r JOIN "
                                  "loyalty l ON r.hashed_email = l.hashed_email GROUP BY "
                                  "r.__parley_row_id"});
  EXPECT_EQ(named.exit_code, kExitError) << named;
  EXPECT_THAT(named.err, HasSubstr("column '__parley_row_id' does not exist in table 'retail'"));

  // In place: the operator's copy of the retailer's rows with the column has the row identity;
  // the retailer's table without it is refused, naming the reason; a reserved name of another
  // type is refused at registration.
  ASSERT_OK(cluster_->ExecuteOnEach(
      {"CREATE TABLE rooms.retailer_copy_local AS rooms.retailer_retail_ided_local",
       "INSERT INTO rooms.retailer_copy_local SELECT * FROM rooms.retailer_retail_ided_local",
       "CREATE TABLE rooms.retailer_copy AS rooms.retailer_retail_ided_local ENGINE = "
       "Distributed(parley, rooms, retailer_copy_local, sipHash64(hashed_email))",
       "CREATE TABLE rooms.retailer_wrong_local (k Int64, __parley_row_id String) ENGINE = "
       "MergeTree ORDER BY tuple()",
       "CREATE TABLE rooms.retailer_wrong AS rooms.retailer_wrong_local ENGINE = "
       "Distributed(parley, rooms, retailer_wrong_local, sipHash64(k))"}));
  const std::vector<std::string> loyalty = {"--source", (data_ / "loyalty.parquet").string(),
                                            "--shard-key", "hashed_email"};
  auto loaded_as = [&](const std::string& relation) {
    std::vector<std::string> flags = {"--engine", "warehouse", "--relation", relation};
    flags.insert(flags.end(), loyalty.begin(), loyalty.end());
    return flags;
  };
  MakeRoom("sum_in_place", {"--engine", "warehouse", "--relation", "rooms.retailer_copy"},
           loaded_as("supplier_loyalty_copy"));
  Outcome in_place =
      Ok("supplier", {"query", "run", "-c", "sum_in_place", "--sql", query, "--output", "-"});
  expect_same(local.out, in_place.out);
  MakeRoom("sum_without", {"--engine", "warehouse", "--relation", "rooms.retailer_retail"},
           loaded_as("supplier_loyalty_without"));
  Outcome refused = As("supplier", {"query", "run", "-c", "sum_without", "--sql", query});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_THAT(refused.err, HasSubstr("the clickhouse engine cannot run each row of table 'retail' "
                                     "once per group over a join: the table has no row identity "
                                     "on the cluster"));
  Outcome wrong = As("retailer", {"table", "add", "-c", "sum_without", "wrong", "--engine",
                                  "warehouse", "--relation", "rooms.retailer_wrong"});
  EXPECT_EQ(wrong.exit_code, kExitError) << wrong;
  EXPECT_THAT(wrong.err, HasSubstr("'rooms.retailer_wrong' on clickhouse engine 'warehouse' has a "
                                   "column '__parley_row_id' (String): names starting with "
                                   "'__parley' are reserved"));
}

TEST_F(CliClickHouseTest, AnAccountThatCanWriteIsRefusedAtRegistration) {
  Outcome writable = Parley(EngineAdd("warehouse", ClickHouseCluster::kLoader, loader_file_));
  EXPECT_EQ(writable.exit_code, kExitError) << writable;
  EXPECT_THAT(writable.err, HasSubstr("clickhouse engine 'warehouse': the clickhouse engine's "
                                      "account is not read-only: its profile must set "
                                      "readonly=1"));
  // A password file others may read is refused without being used.
  fs::path open_file = dir_ / "open.password";
  std::ofstream(open_file) << cluster_->reader_password() << "\n";
  fs::permissions(open_file, fs::perms::owner_read | fs::perms::owner_write |
                                 fs::perms::group_read | fs::perms::others_read);
  Outcome shared = Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, open_file));
  EXPECT_EQ(shared.exit_code, kExitError) << shared;
  EXPECT_THAT(shared.err, HasSubstr("must be owned by the user Parley runs as and readable by it "
                                    "only (chmod 600)"));
  Outcome none = Parley({"engine", "list"});
  EXPECT_EQ(none.out, "no engines\n");
  for (const Outcome& outcome : {writable, shared}) {
    EXPECT_THAT(outcome.err + outcome.out, Not(HasSubstr(cluster_->loader_password())));
    EXPECT_THAT(outcome.err + outcome.out, Not(HasSubstr(cluster_->reader_password())));
  }
}

TEST_F(CliClickHouseTest, AChangedOrDroppedTableIsAClearErrorNamingItAndItsOwner) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  MakeRoom("cluster", {"--engine", "warehouse", "--relation", "retailer_retail"},
           {"--engine", "warehouse", "--source", (data_ / "loyalty.parquet").string(),
            "--shard-key", "hashed_email", "--relation", "supplier_loyalty_2"});
  Ok("supplier", {"query", "run", "-c", "cluster", "--sql", kCampaign, "--output", "-"});
  // The loyalty table's column changes type on the cluster.
  ASSERT_OK(cluster_->ExecuteOnEach(
      {"ALTER TABLE rooms.supplier_loyalty_2_local MODIFY COLUMN brand_purchases Int64",
       "ALTER TABLE rooms.supplier_loyalty_2 MODIFY COLUMN brand_purchases Int64"}));
  Outcome changed = As("supplier", {"query", "run", "-c", "cluster", "--sql", kCampaign});
  EXPECT_EQ(changed.exit_code, kExitError) << changed;
  EXPECT_THAT(changed.err,
              HasSubstr("table 'loyalty' of member 'supplier' no longer matches its pinned "
                        "schema: column 'brand_purchases' was INTEGER, is now BIGINT"));
  ASSERT_OK(cluster_->ExecuteOnEach({"DROP TABLE rooms.supplier_loyalty_2"}));
  Outcome dropped = As("supplier", {"query", "run", "-c", "cluster", "--sql", kCampaign});
  EXPECT_EQ(dropped.exit_code, kExitError) << dropped;
  EXPECT_THAT(dropped.err, HasSubstr("table 'loyalty' of member 'supplier' is no longer on its "
                                     "clickhouse engine"));
  ASSERT_OK(cluster_->ExecuteOnEach({"DROP TABLE rooms.supplier_loyalty_2_local"}));
}

TEST_F(CliClickHouseTest, ARunsTimeLimitStopsTheQueryOnTheCluster) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  Ok("retailer", {"collaboration", "create", "slow"});
  // A self-join on a key of a few values: tens of millions of joined rows, seconds of work.
  Ok("retailer", {"table", "add", "-c", "slow", "wide", "--engine", "warehouse", "--relation",
                  "retailer_retail"});
  Ok("retailer", {"rule", "set", "-c", "slow", "wide", "--json",
                  R"({"kind": "custom", "any_query": true,
                      "allowed_analysis_providers": ["retailer"]})"});
  auto started = std::chrono::steady_clock::now();
  Outcome stopped = As("retailer", {"--timeout", "1", "query", "run", "-c", "slow", "--sql",
                                    "SELECT COUNT(DISTINCT a.household_id + b.household_id) AS n "
                                    "FROM wide a JOIN wide b ON a.household_size = "
                                    "b.household_size"});
  EXPECT_NE(stopped.exit_code, 0) << stopped;
  EXPECT_THAT(stopped.err, HasSubstr("time limit"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  // Gone from the cluster within a few seconds, not at max_execution_time (300 s).
  std::string running = "x";
  for (int i = 0; i < 50 && !running.empty(); ++i) {
    ASSERT_OK_AND_ASSIGN(running, cluster_->Query(0,
                                                  "SELECT query_id FROM system.processes "
                                                  "WHERE user = 'parley'"));
    if (!running.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(running, "");
}

// Metering (issue 8) on the cluster: a query is charged what ClickHouse reports its shards read
// (split among its tables by their sizes), the estimate checked against the payer's limits before
// anything runs is each table's size on the cluster measured afresh (count() and system.parts),
// and the usage report shows both.
TEST_F(CliClickHouseTest, ClusterQueriesAreMeteredAndLimitedBeforeTheyRun) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  MakeRoom("metered", {"--engine", "warehouse", "--relation", "rooms.retailer_retail"},
           {"--engine", "warehouse", "--source", (data_ / "loyalty.parquet").string(),
            "--shard-key", "hashed_email", "--relation", "supplier_loyalty_metered"});
  auto usage = [&](const std::string& member) {
    return nlohmann::json::parse(Ok(member, {"--json", "usage", "-c", "metered"}).out);
  };
  auto count = [&](const std::string& table) {
    absl::StatusOr<std::string> counted =
        cluster_->Query(0, absl::StrCat("SELECT count() FROM rooms.", table));
    return counted.ok() ? std::stoll(*counted) : -1;
  };
  // The sizes measured at registration: every row, and the bytes of the shards' parts.
  nlohmann::json before = usage("supplier");
  ASSERT_EQ(before["tables"].size(), 2u) << before.dump();
  std::map<std::string, nlohmann::json> tables;
  for (const auto& table : before["tables"]) tables[table["table"]] = table;
  EXPECT_EQ(tables["retail"]["rows"], count("retailer_retail"));
  EXPECT_EQ(tables["loyalty"]["rows"], count("supplier_loyalty_metered"));
  int64_t retail_bytes = tables["retail"]["bytes"];
  int64_t loyalty_bytes = tables["loyalty"]["bytes"];
  EXPECT_GT(retail_bytes, 100'000);
  EXPECT_GT(loyalty_bytes, 100'000);

  Ok("supplier", {"query", "run", "-c", "metered", "--sql", kCampaign, "--output", "-"});
  nlohmann::json after = usage("supplier");
  ASSERT_EQ(after["lines"].size(), 1u) << after.dump();
  // The join reads each table's rows once, on its shard; the bytes are those of the columns it
  // reads, so less than the whole tables.
  EXPECT_EQ(after["total"]["rows_scanned"],
            count("retailer_retail") + count("supplier_loyalty_metered"));
  int64_t bytes = after["total"]["bytes_scanned"];
  EXPECT_GT(bytes, 10'000);
  EXPECT_LT(bytes, retail_bytes + loyalty_bytes);

  // A per-query limit refuses the next run before it runs, with the estimate by table.
  Ok("supplier", {"usage", "limit", "-c", "metered", "--per-query", "1kB"});
  Outcome refused = As("supplier", {"query", "run", "-c", "metered", "--sql", kCampaign});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_THAT(refused.err,
              HasSubstr(absl::StrCat(" (", retail_bytes + loyalty_bytes, " bytes) (loyalty ")));
  EXPECT_THAT(refused.err, HasSubstr("query refused before it ran: it would scan an estimated "));
  EXPECT_THAT(refused.err, HasSubstr("over the per-query scan limit of 1.0 kB (1000 bytes)"));
  EXPECT_EQ(usage("supplier")["total"]["queries"], 1);

  // Rows loaded into the table on the cluster since it was registered count in the next
  // estimate: the sizes are measured again when a query is recorded.
  ASSERT_OK(cluster_->Execute(0,
                              "INSERT INTO rooms.supplier_loyalty_metered SELECT * FROM "
                              "rooms.supplier_loyalty_metered"));
  Outcome grown = As("supplier", {"query", "run", "-c", "metered", "--sql", kCampaign});
  EXPECT_EQ(grown.exit_code, kExitError) << grown;
  nlohmann::json later = usage("supplier");
  for (const auto& table : later["tables"]) tables[table["table"]] = table;
  EXPECT_EQ(tables["loyalty"]["rows"], count("supplier_loyalty_metered"));
  EXPECT_GT(tables["loyalty"]["bytes"].get<int64_t>(), loyalty_bytes * 3 / 2);
  EXPECT_THAT(grown.err,
              HasSubstr(absl::StrCat(" (", retail_bytes + tables["loyalty"]["bytes"].get<int64_t>(),
                                     " bytes)")));
}

// Over a server: the operator registers the engine on the server's home, and an organisation with
// an API token registers a table in place on it — only one named for it — and queries it.
TEST_F(CliClickHouseTest, OverAServerAMemberRegistersOnlyTablesNamedForIt) {
  ASSERT_EQ(Parley(EngineAdd("warehouse", ClickHouseCluster::kReader, reader_file_)).exit_code, 0);
  fs::path admin = dir_ / "admin.token";
  ASSERT_EQ(Parley({"serve", "init", "--save-token", admin.string()}).exit_code, 0);
  fs::create_directories(dir_ / "data" / "retailer");
  pid_t server = cli_test::SpawnInBackground({"--home", home_, "serve", "--listen", "127.0.0.1:0",
                                              "--data-root", (dir_ / "data").string()},
                                             scratch_, "server");
  ASSERT_GT(server, 0);
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  } stop{server};
  std::regex listening("listening on (http://127\\.0\\.0\\.1:[0-9]+)");
  std::smatch match;
  std::string out;
  for (int i = 0; i < 600 && !std::regex_search(out, match, listening); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out = ReadText(scratch_ / "server_stdout.txt");
  }
  ASSERT_TRUE(std::regex_search(out, match, listening)) << out;
  std::string url = match[1];
  fs::path token = dir_ / "retailer.token";
  auto remote = [&](const fs::path& token_file, std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--server", url, "--token-file", token_file.string()});
    return cli_test::Spawn(arguments, scratch_);
  };
  ASSERT_EQ(remote(admin, {"org", "add", "retailer", "--save-token", token.string()}).exit_code, 0);
  ASSERT_EQ(remote(token, {"collaboration", "create", "room"}).exit_code, 0);
  Outcome added = remote(token, {"table", "add", "-c", "room", "households", "--engine",
                                 "warehouse", "--relation", "rooms.retailer_retail"});
  ASSERT_EQ(added.exit_code, 0) << added;
  Outcome other = remote(token, {"table", "add", "-c", "room", "theirs", "--engine", "warehouse",
                                 "--relation", "rooms.supplier_loyalty"});
  EXPECT_EQ(other.exit_code, cli_test::kExitNotPermitted) << other;
  EXPECT_THAT(other.err, HasSubstr("on a server, a member registers in place only the cluster's "
                                   "tables named for it ('retailer_...'); 'supplier_loyalty' is "
                                   "not"));
  ASSERT_EQ(remote(token, {"rule", "set", "-c", "room", "households", "--json",
                           R"({"kind": "custom", "any_query": true,
                               "allowed_analysis_providers": ["retailer"]})"})
                .exit_code,
            0);
  Outcome counted = remote(token, {"query", "run", "-c", "room", "--sql",
                                   "SELECT region, COUNT(*) AS n FROM households GROUP BY region "
                                   "ORDER BY region",
                                   "--output", "-"});
  ASSERT_EQ(counted.exit_code, 0) << counted;
  ASSERT_OK_AND_ASSIGN(std::string expected,
                       cluster_->Query(0,
                                       "SELECT region, count() FROM rooms.retailer_retail "
                                       "GROUP BY region ORDER BY region FORMAT CSV"));
  std::string want = "region,n\n" + expected;
  want.erase(std::remove(want.begin(), want.end(), '"'), want.end());
  EXPECT_EQ(counted.out, want);
  Outcome explained = remote(
      token, {"query", "explain", "-c", "room", "--sql", "SELECT COUNT(*) AS n FROM households"});
  EXPECT_THAT(explained.out, HasSubstr("engine: clickhouse engine 'warehouse'"));
  // Neither password is in any API answer, error or the server's log; nor is the loader's, which
  // the engine's registration names.
  std::string answers = ReadText(scratch_ / "server_stderr.txt") +
                        ReadText(scratch_ / "server_stdout.txt") + added.out + added.err +
                        other.out + other.err + counted.out + explained.out +
                        remote(token, {"--json", "audit", "list", "-c", "room"}).out +
                        remote(token, {"--json", "table", "show", "-c", "room", "households"}).out +
                        remote(token, {"--json", "usage", "-c", "room"}).out;
  for (const std::string& password : {cluster_->reader_password(), cluster_->loader_password()}) {
    EXPECT_THAT(answers, Not(HasSubstr(password)));
  }
}

}  // namespace
}  // namespace parley
