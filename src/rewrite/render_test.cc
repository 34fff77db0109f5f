#include "rewrite/render.h"

#include <gtest/gtest.h>

#include "rewrite/threshold.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

const sql::TableSchema kTable{
    "we\"ird", "owner", {{"a", sql::TypeKind::kInteger}, {"b\"c", sql::TypeKind::kVarchar}}};

std::unique_ptr<BoundExpr> Column(const std::string& name) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = BoundExprKind::kColumn;
  expr->table_index = 0;
  expr->column = name;
  return expr;
}

std::unique_ptr<BoundExpr> Constant(sql::ConstantKind kind, const std::string& text) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = BoundExprKind::kConstant;
  expr->constant = sql::Constant{kind, text};
  return expr;
}

std::unique_ptr<BoundExpr> Op(BoundExprKind kind, const std::string& name,
                              std::unique_ptr<BoundExpr> left,
                              std::unique_ptr<BoundExpr> right = nullptr) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = kind;
  expr->name = name;
  expr->args.push_back(std::move(left));
  if (right) expr->args.push_back(std::move(right));
  return expr;
}

// SELECT count(a) FROM table, with `where` when given.
sql::BoundQuery Query(std::unique_ptr<BoundExpr> where = nullptr) {
  sql::BoundQuery query;
  sql::BoundTable table;
  table.schema = &kTable;
  table.alias = "t";
  table.columns = kTable.columns;
  query.tables.push_back(std::move(table));
  auto from = std::make_unique<sql::BoundFrom>();
  from->table_index = 0;
  query.from.push_back(std::move(from));
  query.select.push_back(
      sql::BoundSelectItem{Op(BoundExprKind::kAggregate, "count", Column("a")), "n", 0});
  query.where = std::move(where);
  return query;
}

TEST(RenderDuckDb, QuotesIdentifiersAndStrings) {
  sql::BoundQuery query = Query(Op(BoundExprKind::kBinaryOp, "=", Column("b\"c"),
                                   Constant(sql::ConstantKind::kString, "x' OR '1'='1")));
  query.select[0].output_name = "n\"; DROP";
  EXPECT_EQ(RenderDuckDb(query),
            "SELECT count(\"t0\".\"a\") AS \"n\"\"; DROP\" FROM \"we\"\"ird\" AS \"t0\" "
            "WHERE (\"t0\".\"b\"\"c\" = 'x'' OR ''1''=''1')");
}

TEST(RenderDuckDb, MinusSignsNeverFormAComment) {
  // -(-1) and a - -1: a "--" would turn the rest of the line into a comment.
  sql::BoundQuery query = Query(Op(
      BoundExprKind::kBinaryOp, "=",
      Op(BoundExprKind::kUnaryOp, "-", Constant(sql::ConstantKind::kInteger, "-1")),
      Op(BoundExprKind::kBinaryOp, "-", Column("a"), Constant(sql::ConstantKind::kInteger, "-1"))));
  std::string sql = RenderDuckDb(query);
  EXPECT_EQ(sql.find("--"), std::string::npos) << sql;
  EXPECT_EQ(sql,
            "SELECT count(\"t0\".\"a\") AS \"n\" FROM \"we\"\"ird\" AS \"t0\" "
            "WHERE ((- -1) = (\"t0\".\"a\" - -1))");
}

TEST(RenderDuckDb, OrderByStatesNullPlacement) {
  sql::BoundQuery query = Query();
  for (auto [descending, nulls_first] : std::vector<std::pair<bool, std::optional<bool>>>{
           {false, std::nullopt}, {true, std::nullopt}, {false, true}, {true, false}}) {
    query.order_by.push_back(sql::BoundOrderItem{Column("a"), descending, nulls_first, 0});
  }
  EXPECT_EQ(RenderDuckDb(query),
            "SELECT count(\"t0\".\"a\") AS \"n\" FROM \"we\"\"ird\" AS \"t0\" ORDER BY "
            "\"t0\".\"a\" ASC NULLS LAST, \"t0\".\"a\" DESC NULLS FIRST, "
            "\"t0\".\"a\" ASC NULLS FIRST, \"t0\".\"a\" DESC NULLS LAST");
}

sql::BoundQuery Thresholded(sql::BoundQuery query,
                            const std::vector<policy::Threshold>& thresholds) {
  sql::BoundQuery inner = BuildThresholdedAggregate(query, thresholds);
  AttachAggregate(query, std::move(inner));
  return query;
}

TEST(RenderThresholds, TakesTheLargestMinimumPerTableOccurrenceAndColumn) {
  sql::BoundQuery query = Thresholded(
      Query(), {{0, "we\"ird", "a", 10}, {0, "we\"ird", "a", 50}, {0, "we\"ird", "a", 20}});
  EXPECT_EQ(
      RenderDuckDb(query),
      "SELECT \"t1\".\"a0\" AS \"n\" FROM (SELECT count(\"t0\".\"a\") AS \"a0\" FROM "
      "\"we\"\"ird\" AS \"t0\" HAVING (count(DISTINCT \"t0\".\"a\") >= 50) OFFSET 0) AS \"t1\"");
}

TEST(RenderThresholds, TheUserHavingRunsOutsideTheThresholdedBlock) {
  sql::BoundQuery query = Query();
  query.having =
      Op(BoundExprKind::kBinaryOp, ">", Op(BoundExprKind::kAggregate, "count", Column("a")),
         Constant(sql::ConstantKind::kInteger, "0"));
  query = Thresholded(std::move(query), {{0, "we\"ird", "b\"c", 3}, {0, "we\"ird", "a", 2}});
  // count(a) is computed once, in the inner block, and the user's HAVING only sees groups that
  // passed both thresholds.
  EXPECT_EQ(
      RenderDuckDb(query),
      "SELECT \"t1\".\"a0\" AS \"n\" FROM (SELECT count(\"t0\".\"a\") AS \"a0\" FROM "
      "\"we\"\"ird\" AS \"t0\" HAVING ((count(DISTINCT \"t0\".\"a\") >= 2) AND "
      "(count(DISTINCT \"t0\".\"b\"\"c\") >= 3)) OFFSET 0) AS \"t1\" WHERE (\"t1\".\"a0\" > 0)");
}

// Types reach the SQL only through the DuckDB mapping: casts and typed constants are spelled
// as DuckDB spells them, and a type Parley knows only by its DuckDB name (a list) is rendered
// with exactly that name.
TEST(RenderDuckDb, TypesAreSpelledByTheDuckDbMapping) {
  auto cast = Op(BoundExprKind::kCast, "", Column("a"));
  cast->cast_type = sql::Type::Decimal(10, 2);
  auto day = Constant(sql::ConstantKind::kString, "2024-01-31");
  day->type = sql::TypeKind::kDate;
  auto list = Constant(sql::ConstantKind::kString, "[1, 2]");
  list->type = sql::Type::Other("INTEGER[]");
  auto stamp = Constant(sql::ConstantKind::kString, "2024-01-31 10:00:00+00");
  stamp->type = sql::TypeKind::kTimestampTz;
  auto both = Op(BoundExprKind::kBinaryOp, "AND",
                 Op(BoundExprKind::kBinaryOp, "=", std::move(cast), std::move(day)),
                 Op(BoundExprKind::kBinaryOp, "=", std::move(list), std::move(stamp)));
  EXPECT_EQ(RenderDuckDb(Query(std::move(both))),
            "SELECT count(\"t0\".\"a\") AS \"n\" FROM \"we\"\"ird\" AS \"t0\" WHERE "
            "((CAST(\"t0\".\"a\" AS DECIMAL(10,2)) = CAST('2024-01-31' AS DATE)) AND "
            "(CAST('[1, 2]' AS INTEGER[]) = "
            "CAST('2024-01-31 10:00:00+00' AS TIMESTAMP WITH TIME ZONE)))");
}

}  // namespace
}  // namespace parley::rewrite
