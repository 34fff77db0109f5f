// The dialect seam: a dialect refuses what its engine cannot run, with a reason that names the
// construct and its position, instead of writing a different query.
#include "render/dialect.h"

#include <gtest/gtest.h>

#include "render/duckdb/duckdb_dialect.h"
#include "render/sql_writer.h"

namespace parley::render {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

// A test-only engine without window functions (as the distributed engine's older versions).
class NoWindowsDialect : public Dialect {
 public:
  std::string_view name() const override { return "no-windows"; }
  const Capabilities& capabilities() const override {
    static constexpr Capabilities kNone{.widest_integer_bits = 64,
                                        .decimal_narrow_width = 18,
                                        .decimal_max_width = 18,
                                        .null_on_failed_conversion = false};
    return kNone;
  }
  absl::StatusOr<std::string> Render(const sql::BoundQuery& query) const override {
    return Writer().Write(query);
  }

 private:
  class Writer : public SqlWriter {
   public:
    Writer() : SqlWriter("no-windows") {}

   protected:
    std::string Expr(const BoundExpr& expr) override {
      if (expr.kind == BoundExprKind::kWindow) return Refuse("window functions", expr.location);
      return SqlWriter::Expr(expr);
    }
  };
};

const sql::TableSchema kTable{"events", "owner", {{"a", sql::TypeKind::kInteger}}};

std::unique_ptr<BoundExpr> Column(const std::string& name, int location) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = BoundExprKind::kColumn;
  expr->table_index = 0;
  expr->column = name;
  expr->location = location;
  return expr;
}

// SELECT a, <rank() OVER (ORDER BY a) when `window`> FROM events
sql::BoundQuery Query(bool window) {
  sql::BoundQuery query;
  sql::BoundTable table;
  table.schema = &kTable;
  table.alias = "events";
  table.columns = kTable.columns;
  query.tables.push_back(std::move(table));
  auto from = std::make_unique<sql::BoundFrom>();
  from->table_index = 0;
  query.from.push_back(std::move(from));
  query.select.push_back(sql::BoundSelectItem{Column("a", 7), "a", 7});
  if (window) {
    auto rank = std::make_unique<BoundExpr>();
    rank->kind = BoundExprKind::kWindow;
    rank->name = "rank";
    rank->location = 10;
    rank->window_order.push_back(sql::BoundOrderItem{Column("a", 30), false, std::nullopt});
    query.select.push_back(sql::BoundSelectItem{std::move(rank), "rank", 10});
  }
  return query;
}

TEST(Dialect, RefusesAConstructWithItsPosition) {
  NoWindowsDialect dialect;
  EXPECT_EQ(dialect.Render(Query(true)).status(),
            absl::InvalidArgumentError(
                "the no-windows engine cannot run window functions (at character 11)"));
  // DuckDB runs the same query.
  absl::StatusOr<std::string> duckdb = DuckDbDialect().Render(Query(true));
  ASSERT_TRUE(duckdb.ok()) << duckdb.status();
  EXPECT_EQ(*duckdb,
            "SELECT \"t0\".\"a\" AS \"a\", rank() OVER (ORDER BY \"t0\".\"a\" ASC NULLS LAST) AS "
            "\"rank\" FROM \"events\" AS \"t0\"");
}

TEST(Dialect, WritesWhatItCanRunInTheStandardShape) {
  absl::StatusOr<std::string> sql = NoWindowsDialect().Render(Query(false));
  ASSERT_TRUE(sql.ok()) << sql.status();
  EXPECT_EQ(*sql, "SELECT \"t0\".\"a\" AS \"a\" FROM \"events\" AS \"t0\"");
  EXPECT_EQ(*sql, RenderDuckDb(Query(false)));
}

TEST(Dialect, ConversionsThatYieldNullNeedTheDialectsSpelling) {
  // The standard shape has no spelling for the guard's NULL-on-failure conversion: a dialect
  // that does not provide one refuses it rather than writing a conversion that can fail.
  sql::BoundQuery query = Query(false);
  auto cast = std::make_unique<BoundExpr>();
  cast->kind = BoundExprKind::kCast;
  cast->name = "try_cast";
  cast->cast_type = sql::TypeKind::kBigint;
  cast->location = 7;
  cast->args.push_back(std::move(query.select[0].expr));
  query.select[0].expr = std::move(cast);
  EXPECT_EQ(NoWindowsDialect().Render(query).status(),
            absl::InvalidArgumentError("the no-windows engine cannot run a conversion that "
                                       "yields NULL when it fails"));
  EXPECT_EQ(RenderDuckDb(query),
            "SELECT TRY_CAST(\"t0\".\"a\" AS BIGINT) AS \"a\" FROM \"events\" AS \"t0\"");
}

}  // namespace
}  // namespace parley::render
