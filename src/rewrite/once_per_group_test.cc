#include "rewrite/once_per_group.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/match.h"
#include "rewrite/render.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::rewrite {
namespace {

class Schemas : public sql::SchemaProvider {
 public:
  Schemas() {
    tables_["r"] = {"r",
                    "retailer",
                    {{"e", sql::TypeKind::kVarchar},
                     {"band", sql::TypeKind::kVarchar},
                     {"spend", sql::TypeKind::kDouble}}};
    tables_["l"] = {
        "l", "supplier", {{"e", sql::TypeKind::kVarchar}, {"tier", sql::TypeKind::kVarchar}}};
  }
  const sql::TableSchema* FindTable(std::string_view name) const override {
    auto it = tables_.find(std::string(name));
    return it == tables_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, sql::TableSchema> tables_;
};

sql::BoundQuery Bind(const std::string& text) {
  static const Schemas* const kSchemas = new Schemas();
  auto statement = sql::ParseSelect(text);
  EXPECT_TRUE(statement.ok()) << statement.status();
  auto bound = sql::Bind(**statement, *kSchemas, text);
  EXPECT_TRUE(bound.ok()) << bound.status();
  return std::move(*bound);
}

// The inner block of a thresholded aggregation (threshold.h): group keys, then aggregates, named
// g<i> and a<j>, read by name from an enclosing query. They keep their names, order and values.
TEST(CountEachRowOnce, KeepsTheBlocksOutputColumnsAndTakesTheGivenRenderId) {
  sql::BoundQuery block = Bind(
      "SELECT r.band AS g0, sum(r.spend) AS a0, count(DISTINCT l.e) AS a1 FROM r JOIN l ON "
      "r.e = l.e GROUP BY r.band HAVING count(DISTINCT l.e) >= 2");
  CountEachRowOnce(block, {0, 1}, 9);
  ASSERT_EQ(block.select.size(), 3u);
  EXPECT_EQ(block.select[0].output_name, "g0");
  EXPECT_EQ(block.select[1].output_name, "a0");
  EXPECT_EQ(block.select[2].output_name, "a1");
  EXPECT_EQ(RenderDuckDb(block),
            "SELECT \"t9\".\"k0\" AS \"g0\", sum(CASE WHEN \"t9\".\"f0\" THEN \"t9\".\"v0\" END) "
            "AS \"a0\", count(DISTINCT \"t9\".\"v1\") AS \"a1\" FROM (SELECT \"t0\".\"band\" AS "
            "\"k0\", (row_number() OVER (PARTITION BY \"t0\".\"__parley_row_id\") = 1) AS "
            "\"f0\", \"t0\".\"spend\" AS \"v0\", "
            "\"t1\".\"e\" AS \"v1\" FROM \"r\" AS \"t0\" INNER JOIN \"l\" AS \"t1\" ON "
            "(\"t0\".\"e\" = \"t1\".\"e\")) AS \"t9\" GROUP BY \"t9\".\"k0\" HAVING "
            "(count(DISTINCT \"t9\".\"v1\") >= 2)");
}

TEST(CountEachRowOnce, LeavesBlocksThatNeedNoDeduplicationAsTheyAre) {
  const char* queries[] = {
      // Only distinct aggregates.
      "SELECT r.band, count(DISTINCT r.spend), sum(DISTINCT r.spend) FROM r JOIN l ON r.e = l.e "
      "GROUP BY r.band",
      // One table: no fan-out.
      "SELECT band, sum(spend) FROM r GROUP BY band",
      // COUNT(*) counts joined rows (the checker refuses it where that weighs a row twice).
      "SELECT r.band, count(*) FROM r JOIN l ON r.e = l.e GROUP BY r.band",
      // Not flat.
      "SELECT x.band, sum(x.spend) FROM (SELECT r.band, r.spend FROM r JOIN l ON r.e = l.e) x "
      "GROUP BY x.band",
  };
  for (const char* query : queries) {
    sql::BoundQuery block = Bind(query);
    std::string before = RenderDuckDb(block);
    CountEachRowOnce(block, {0, 1});
    EXPECT_EQ(RenderDuckDb(block), before) << query;
  }
  // The aggregated table opted out (only the other one is deduplicated).
  sql::BoundQuery block = Bind("SELECT r.band, sum(r.spend) FROM r JOIN l ON r.e = l.e GROUP BY 1");
  std::string before = RenderDuckDb(block);
  CountEachRowOnce(block, {1});
  EXPECT_EQ(RenderDuckDb(block), before);
  CountEachRowOnce(block, {0});
  EXPECT_TRUE(absl::StrContains(RenderDuckDb(block), "__parley_row_id"));
}

}  // namespace
}  // namespace parley::rewrite
