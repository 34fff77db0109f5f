// The clickhouse dialect's SQL, byte for byte, from queries compiled as the service compiles them
// (query::Compile with Request::dialect), and its refusals with their exact reasons. No server:
// what this SQL answers is checked on a real cluster by clickhouse_corpus_test and
// clickhouse_traps_test.
#include "render/clickhouse/clickhouse_dialect.h"

#include <gtest/gtest.h>

#include "base/status_testing.h"
#include "query/compile.h"

namespace parley {
namespace {

using sql::TypeKind;

constexpr char kRetailRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT"]}, {"columns": ["annual_spend"], "functions": ["SUM", "AVG"]}], )"
    R"("join_columns": ["hashed_email"], "join_required": "query_runner", )"
    R"("allowed_join_operators": ["AND"], "dimension_columns": ["region", "age_band"], )"
    R"("scalar_functions": [], "output_constraints": [{"column": "household_id", "minimum": )"
    R"(100, "type": "count_distinct"}]})";
constexpr char kLoyaltyRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["hashed_email"], )"
    R"("functions": ["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], )"
    R"("allowed_join_operators": ["AND"], "dimension_columns": ["loyalty_tier"], )"
    R"("scalar_functions": [], "output_constraints": [{"column": "hashed_email", "minimum": 50}]})";
constexpr char kOpenRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"], )"
    R"("allowed_aggregate_expressions": "any_expression"})";

std::shared_ptr<const query::Snapshot> Snapshot() {
  query::SnapshotSource source;
  source.collaboration = "dialect";
  std::vector<sql::ColumnInfo> retail = {{"household_id", TypeKind::kBigint},
                                         {"hashed_email", TypeKind::kVarchar},
                                         {"region", TypeKind::kVarchar},
                                         {"age_band", TypeKind::kVarchar},
                                         {"annual_spend", TypeKind::kDouble}};
  std::vector<sql::ColumnInfo> loyalty = {{"hashed_email", TypeKind::kVarchar},
                                          {"loyalty_tier", TypeKind::kVarchar}};
  source.tables.push_back({"retail", "retailer", retail, kRetailRule});
  source.tables.push_back({"loyalty", "supplier", loyalty, kLoyaltyRule});
  source.tables.push_back({"open", "supplier", loyalty, kOpenRule});
  source.tables.push_back({"elsewhere", "supplier", loyalty, kOpenRule});
  return query::Snapshot::Build(std::move(source));
}

render::ClickHouseLayout Layout(const std::string& loyalty_key) {
  return {"rooms",
          {{"retail", {"retail_all", "retail_shard", "hashed_email"}},
           {"loyalty", {"loyalty_all", "loyalty_shard", loyalty_key}},
           {"open", {"open_all", "open_shard", ""}}}};
}

absl::StatusOr<std::string> Render(const std::string& sql, const std::string& loyalty_key) {
  render::ClickHouseDialect dialect(Layout(loyalty_key));
  query::Request request{sql, {}, "supplier", "", {"supplier"}};
  request.dialect = &dialect;
  PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, query::Compile(*Snapshot(), request));
  if (!compiled.verdict.allowed()) return absl::InternalError("rejected");
  return compiled.plan.rendered_sql;
}

constexpr char kCampaign[] =
    "SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households FROM retail r JOIN loyalty "
    "l ON r.hashed_email = l.hashed_email GROUP BY r.age_band ORDER BY 2 DESC";

// Both tables sharded by the join key: each shard joins its part with its own local table.
TEST(ClickHouseDialectTest, ACoLocatedJoinReadsTheShardLocalTable) {
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(kCampaign, "hashed_email"));
  EXPECT_EQ(
      sql,
      "SELECT \"__parley_o0\" AS \"age_band\", \"__parley_o1\" AS \"households\" FROM (SELECT "
      "\"__parley_t2_0\" AS \"__parley_o0\", \"__parley_t2_1\" AS \"__parley_o1\" FROM (SELECT "
      "\"age_band\" AS \"__parley_t2_0\", ifNull(uniqExact(\"household_id\"), 0) AS "
      "\"__parley_t2_1\" FROM "
      "\"rooms\".\"retail_all\" ALL INNER JOIN (SELECT *, \"__parley_t1_hashed_email\" AS "
      "\"hashed_email\" FROM (SELECT \"hashed_email\" AS \"__parley_t1_hashed_email\" FROM "
      "\"rooms\".\"loyalty_shard\")) USING (\"hashed_email\") GROUP BY \"age_band\" HAVING "
      "((ifNull(uniqExact(\"household_id\"), 0) >= 100) AND "
      "(ifNull(uniqExact(\"__parley_t1_hashed_email\"), 0) >= "
      "50))) ORDER BY \"__parley_t2_1\" DESC NULLS FIRST)");
}

// Sharded otherwise: the supplier's table is gathered and shipped to every shard (GLOBAL).
TEST(ClickHouseDialectTest, AJoinNotOnBothShardingKeysIsGlobal) {
  ASSERT_OK_AND_ASSIGN(std::string sql, Render(kCampaign, "loyalty_tier"));
  EXPECT_NE(sql.find("FROM \"rooms\".\"retail_all\" GLOBAL ALL INNER JOIN (SELECT *, "
                     "\"__parley_t1_hashed_email\" AS \"hashed_email\" FROM (SELECT "
                     "\"hashed_email\" AS \"__parley_t1_hashed_email\" FROM "
                     "\"rooms\".\"loyalty_all\")) USING (\"hashed_email\")"),
            std::string::npos)
      << sql;
}

TEST(ClickHouseDialectTest, StringsAreEscapedForClickHouse) {
  ASSERT_OK_AND_ASSIGN(
      std::string sql,
      Render("SELECT loyalty_tier, COUNT(*) FROM open WHERE loyalty_tier = 'a\\b''c' GROUP BY 1 "
             "LIMIT 5 OFFSET 2",
             ""));
  EXPECT_NE(sql.find("(\"loyalty_tier\" = 'a\\\\b\\'c')"), std::string::npos) << sql;
  EXPECT_NE(sql.find("count() AS"), std::string::npos) << sql;
  EXPECT_NE(sql.find(" LIMIT 2, 5"), std::string::npos) << sql;
}

TEST(ClickHouseDialectTest, WhatTheEngineCannotRunIsRefusedWithItsPosition) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SELECT loyalty_tier, row_number() OVER (ORDER BY loyalty_tier) FROM open",
       "the clickhouse engine cannot run window functions (at character 22)"},
      {"SELECT COUNT(*) FROM open o WHERE EXISTS (SELECT 1 FROM open p WHERE p.loyalty_tier = "
       "o.loyalty_tier)",
       "the clickhouse engine cannot run EXISTS (at character 35)"},
      {"SELECT COUNT(*) FROM open o JOIN open p ON o.hashed_email < p.hashed_email",
       "the clickhouse engine cannot run a join condition other than equalities of columns "
       "joined by AND (at character 59)"},
      {"SELECT COUNT(*) FROM open o RIGHT JOIN open p ON o.hashed_email = p.hashed_email",
       "the clickhouse engine cannot run RIGHT JOIN (at character 22)"},
      {"SELECT loyalty_tier FROM open EXCEPT SELECT loyalty_tier FROM open",
       "the clickhouse engine cannot run EXCEPT"},
      {"SELECT COUNT(*) FROM open WHERE CAST(loyalty_tier AS DATE) > DATE '2024-01-01'",
       "the clickhouse engine cannot run a conversion of VARCHAR to DATE (at character 33)"},
      // 18.16 cannot tell two equal rows apart without Parley's row identity column.
      {"SELECT r.region, SUM(r.annual_spend) AS s FROM retail r JOIN loyalty l"
       " ON r.hashed_email = l.hashed_email GROUP BY r.region",
       "the clickhouse engine cannot run each row of table 'retail' once per group over a join: "
       "the table has no row identity on the cluster (at character 48)"},
      {"SELECT COUNT(*) FROM elsewhere",
       "the clickhouse engine cannot run table 'elsewhere', which is not on this engine (at "
       "character 22)"},
  };
  for (const auto& [query, message] : cases) {
    ExpectError(Render(query, ""), absl::StatusCode::kInvalidArgument, message);
  }
}

}  // namespace
}  // namespace parley
