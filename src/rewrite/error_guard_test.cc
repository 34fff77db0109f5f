#include "rewrite/error_guard.h"

#include <gtest/gtest.h>

#include "render/duckdb/duckdb_dialect.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::rewrite {
namespace {

class Schemas : public sql::SchemaProvider {
 public:
  const sql::TableSchema* FindTable(std::string_view name) const override {
    static const sql::TableSchema kTable{"t",
                                         "owner",
                                         {{"score", sql::TypeKind::kInteger},
                                          {"amount", sql::TypeKind::kBigint},
                                          {"note", sql::TypeKind::kVarchar},
                                          {"day", sql::TypeKind::kDate},
                                          {"moment", sql::TypeKind::kTimestamp},
                                          {"span", sql::TypeKind::kInterval}}};
    return name == "t" ? &kTable : nullptr;
  }
};

struct Guarded {
  std::string sql;
  std::vector<Unguardable> refusals;
};

// DuckDB's facts, as its dialect states them.
const sql::Capabilities& DuckDb() {
  static const render::DuckDbDialect kDialect;
  return kDialect.capabilities();
}

Guarded Guard(const std::string& text, const sql::Capabilities& capabilities = DuckDb()) {
  static const Schemas* const kSchemas = new Schemas();
  auto statement = sql::ParseSelect(text);
  EXPECT_TRUE(statement.ok()) << statement.status();
  auto bound = sql::Bind(**statement, *kSchemas, text);
  EXPECT_TRUE(bound.ok()) << bound.status();
  Guarded guarded;
  guarded.refusals = GuardRowErrors(*bound, capabilities);
  guarded.sql = render::RenderDuckDb(*bound);
  return guarded;
}

TEST(GuardRowErrors, NeverRendersTry) {
  // Every failing operation inside OR, NOT, CASE and COALESCE: each is guarded where it is.
  Guarded guarded = Guard(
      "SELECT COUNT(*) FROM t WHERE score < 1000 OR NOT (day + 1 > day) OR CASE WHEN "
      "CAST(note AS INTEGER) > 1 THEN score * 2 > 1 END OR COALESCE(SQRT(score) > 1, "
      "-amount > 0)");
  EXPECT_TRUE(guarded.refusals.empty());
  EXPECT_EQ(guarded.sql.find("try("), std::string::npos) << guarded.sql;
  EXPECT_EQ(
      guarded.sql,
      "SELECT count(*) AS \"count\" FROM \"t\" AS \"t0\" WHERE ((((\"t0\".\"score\" < 1000) OR "
      "(NOT (CASE WHEN (((\"t0\".\"day\" - CAST('1970-01-01' AS DATE)) + 1) BETWEEN -2147483646 "
      "AND 2147483646) THEN (\"t0\".\"day\" + 1) END > \"t0\".\"day\"))) OR CASE WHEN "
      "(TRY_CAST(\"t0\".\"note\" AS INTEGER) > 1) THEN ((CAST(\"t0\".\"score\" AS BIGINT) * 2) > "
      "1) END) OR coalesce((CASE WHEN (\"t0\".\"score\" >= 0) THEN sqrt(\"t0\".\"score\") END > "
      "1), ((- CAST(\"t0\".\"amount\" AS HUGEINT)) > 0)))");
}

// The engine's facts come from its dialect: an engine whose widest integer has 64 bits computes
// what DuckDB computes as HUGEINT in DOUBLE, and one without a NULL-on-failure conversion cannot
// run a conversion that may fail at all.
TEST(GuardRowErrors, FollowsTheEnginesCapabilities) {
  const std::string query =
      "SELECT COUNT(*) FROM t WHERE amount * amount > 0 OR -amount > 0 OR ABS(amount) > 0";
  EXPECT_EQ(Guard(query).sql,
            "SELECT count(*) AS \"count\" FROM \"t\" AS \"t0\" WHERE ((((CAST(\"t0\".\"amount\" "
            "AS HUGEINT) * CAST(\"t0\".\"amount\" AS HUGEINT)) > 0) OR ((- "
            "CAST(\"t0\".\"amount\" AS HUGEINT)) > 0)) OR (abs(CAST(\"t0\".\"amount\" AS HUGEINT)) "
            "> 0))");
  sql::Capabilities narrow = DuckDb();
  narrow.widest_integer_bits = 64;
  Guarded guarded = Guard(query, narrow);
  EXPECT_TRUE(guarded.refusals.empty());
  EXPECT_EQ(guarded.sql,
            "SELECT count(*) AS \"count\" FROM \"t\" AS \"t0\" WHERE ((((CAST(\"t0\".\"amount\" "
            "AS DOUBLE) * CAST(\"t0\".\"amount\" AS DOUBLE)) > 0) OR ((- "
            "CAST(\"t0\".\"amount\" AS DOUBLE)) > 0)) OR (abs(CAST(\"t0\".\"amount\" AS DOUBLE)) "
            "> 0))");

  sql::Capabilities no_null_on_failure = DuckDb();
  no_null_on_failure.null_on_failed_conversion = false;
  EXPECT_EQ(Guard("SELECT COUNT(*) FROM t WHERE note = 'a' AND score + 1 > 2", no_null_on_failure)
                .refusals.size(),
            0u);
  Guarded refused =
      Guard("SELECT COUNT(*) FROM t WHERE CAST(note AS INTEGER) > 1", no_null_on_failure);
  ASSERT_EQ(refused.refusals.size(), 1u);
  EXPECT_EQ(refused.refusals[0].message,
            "a CAST can fail on some values, and Parley has no form of it that cannot; rows a "
            "threshold suppresses could make the query fail");
  refused =
      Guard("SELECT COUNT(*) FROM t WHERE day > '2020-01-01' OR score < note", no_null_on_failure);
  // The literal was converted when the query was bound; the column comparison needs a conversion.
  ASSERT_EQ(refused.refusals.size(), 1u);
  EXPECT_EQ(refused.refusals[0].message,
            "a conversion to another type can fail on some values, and Parley has no form of it "
            "that cannot; rows a threshold suppresses could make the query fail");
  EXPECT_EQ(refused.refusals[0].location, 59);
}

TEST(GuardRowErrors, FiltersThatCannotFailStayBareForPushDown) {
  Guarded guarded = Guard(
      "SELECT COUNT(*) FROM t WHERE note = 'a' AND score BETWEEN 1 AND 5 AND day >= '2020-01-01' "
      "AND amount IN (1, 2) AND note LIKE 'x%' AND score IS NOT NULL");
  EXPECT_TRUE(guarded.refusals.empty());
  EXPECT_EQ(guarded.sql,
            "SELECT count(*) AS \"count\" FROM \"t\" AS \"t0\" WHERE ((((((\"t0\".\"note\" = "
            "'a') AND (\"t0\".\"score\" BETWEEN 1 AND 5)) AND (\"t0\".\"day\" >= CAST('2020-01-01' "
            "AS DATE))) AND (\"t0\".\"amount\" IN (1, 2))) AND (\"t0\".\"note\" LIKE 'x%')) AND "
            "(\"t0\".\"score\" IS NOT NULL))");
}

TEST(GuardRowErrors, RefusesWhatHasNoFormThatCannotFailNamingItAndItsPosition) {
  Guarded guarded = Guard("SELECT COUNT(*) FROM t WHERE moment + span > moment");
  ASSERT_EQ(guarded.refusals.size(), 1u);
  EXPECT_EQ(guarded.refusals[0].message,
            "arithmetic on dates, timestamps or intervals (+) can fail on some values, and "
            "Parley has no form of it that cannot; rows a threshold suppresses could make the "
            "query fail");
  EXPECT_EQ(guarded.refusals[0].clause, "WHERE");
  EXPECT_EQ(guarded.refusals[0].location, 36);  // the operator
}

}  // namespace
}  // namespace parley::rewrite
