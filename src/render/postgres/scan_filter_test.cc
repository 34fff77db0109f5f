#include "render/postgres/scan_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::render {
namespace {

using Filters = std::map<std::string, std::string>;

class Tables : public sql::SchemaProvider {
 public:
  const sql::TableSchema* FindTable(std::string_view name) const override {
    if (name == "t") return &t_;
    if (name == "u") return &u_;
    return nullptr;
  }

 private:
  sql::TableSchema t_{"t",
                      "owner",
                      {{"a", sql::TypeKind::kInteger},
                       {"s", sql::TypeKind::kVarchar},
                       {"d", sql::TypeKind::kDate},
                       {"flag", sql::TypeKind::kBoolean},
                       {"f", sql::TypeKind::kFloat},
                       {"g", sql::TypeKind::kDouble},
                       {"m", sql::Type::Decimal(10, 2)}}};
  sql::TableSchema u_{
      "u", "other", {{"a", sql::TypeKind::kInteger}, {"k", sql::TypeKind::kVarchar}}};
};

Filters FiltersOf(const std::string& text) {
  auto statement = sql::ParseSelect(text);
  EXPECT_TRUE(statement.ok()) << statement.status();
  if (!statement.ok()) return {};
  Tables tables;
  auto bound = sql::Bind(**statement, tables, text);
  EXPECT_TRUE(bound.ok()) << bound.status();
  if (!bound.ok()) return {};
  return PostgresScanFilters(*bound);
}

TEST(PostgresScanFilterTest, SimpleConditionsOfOneTableArePushedWithLiteralsSpelledForPostgres) {
  EXPECT_EQ(FiltersOf("SELECT a FROM t WHERE a > 5 AND s = 'it''s' AND d >= '2024-01-01' AND "
                      "flag AND m <= 12.5 AND a IN (1, 2) AND s IS NOT NULL"),
            (Filters{{"t",
                      "(\"a\" > 5) AND (\"s\" = 'it''s') AND (\"d\" >= '2024-01-01'::date) AND "
                      "\"flag\" AND (\"m\" <= 12.50) AND (\"a\" IN (1, 2)) AND (\"s\" IS NOT "
                      "NULL)"}}));
  // Text is ordered by bytes, as DuckDB orders it; a literal on the left is mirrored.
  EXPECT_EQ(FiltersOf("SELECT a FROM t WHERE 'k' < s OR s BETWEEN 'a' AND 'c'"),
            (Filters{{"t",
                      "((\"s\" COLLATE \"C\" > 'k') OR (\"s\" COLLATE \"C\" >= 'a' AND \"s\" "
                      "COLLATE \"C\" <= 'c'))"}}));
}

TEST(PostgresScanFilterTest, WhatBothEnginesMightReadDifferentlyStaysInDuckDb) {
  // real, a decimal against double precision, a function, a column against a column.
  EXPECT_EQ(FiltersOf("SELECT a FROM t WHERE f > 1.5 AND g > 0.1 AND lower(s) = 'x' AND a = "
                      "a + 1 AND g < 10"),
            (Filters{{"t", "(\"g\" < 10::float8)"}}));
  // An OR with one side that cannot go leaves the whole OR behind.
  EXPECT_EQ(FiltersOf("SELECT a FROM t WHERE (a = 1 OR lower(s) = 'x') AND a < 9"),
            (Filters{{"t", "(\"a\" < 9)"}}));
  EXPECT_EQ(FiltersOf("SELECT a FROM t WHERE lower(s) = 'x'"), Filters{});
}

TEST(PostgresScanFilterTest, OuterJoinsSelfJoinsAndSubqueries) {
  // WHERE t.a IS NULL after a LEFT JOIN keeps rows the join invented: nothing for t.
  EXPECT_EQ(FiltersOf("SELECT u.k FROM u LEFT JOIN t ON u.a = t.a WHERE t.a IS NULL AND u.k = "
                      "'x'"),
            (Filters{{"u", "(\"k\" = 'x')"}}));
  // Inner joins: each table gets its own conditions, never the join's.
  EXPECT_EQ(FiltersOf("SELECT u.k FROM u JOIN t ON u.a = t.a WHERE t.a > 1 AND u.a < 5 AND t.a "
                      "< u.a"),
            (Filters{{"t", "(\"a\" > 1)"}, {"u", "(\"a\" < 5)"}}));
  // Two occurrences: either one's rows.
  EXPECT_EQ(FiltersOf("SELECT x.a FROM t x JOIN t y ON x.a = y.a WHERE x.a = 1 AND y.a = 2"),
            (Filters{{"t", "((\"a\" = 1)) OR ((\"a\" = 2))"}}));
  EXPECT_EQ(FiltersOf("SELECT x.a FROM t x JOIN t y ON x.a = y.a WHERE x.a = 1"), Filters{});
  // A derived table's own WHERE applies to its rows; the outer one's to the derived table.
  EXPECT_EQ(FiltersOf("SELECT q.a FROM (SELECT a FROM t WHERE a < 10) q WHERE q.a > 2"),
            (Filters{{"t", "(\"a\" < 10)"}}));
  // A table also read in an expression's subquery: nothing (the walk does not look there).
  EXPECT_EQ(FiltersOf("SELECT u.k FROM u WHERE u.a IN (SELECT a FROM t WHERE a > 3)"), Filters{});
}

}  // namespace
}  // namespace parley::render
