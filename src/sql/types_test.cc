#include "sql/types.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/match.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::sql {
namespace {

TEST(Types, CommonTypeIsTheOneDuckDbConvertsBothSidesTo) {
  EXPECT_EQ(CommonType("INTEGER", "BIGINT"), "BIGINT");
  EXPECT_EQ(CommonType("INTEGER", "UINTEGER"), "BIGINT");
  EXPECT_EQ(CommonType("BIGINT", "UBIGINT"), "HUGEINT");
  EXPECT_EQ(CommonType("BIGINT", "DECIMAL(18,2)"), "DECIMAL(21,2)");
  EXPECT_EQ(CommonType("HUGEINT", "DECIMAL(38,10)"), "DECIMAL(38,10)");
  EXPECT_EQ(CommonType("DECIMAL(18,2)", "DOUBLE"), "DOUBLE");
  EXPECT_EQ(CommonType("INTEGER", "FLOAT"), "FLOAT");
  EXPECT_EQ(CommonType("DATE", "TIMESTAMP"), "TIMESTAMP");
  EXPECT_EQ(CommonType("VARCHAR", "INTEGER"), "INTEGER");  // DuckDB converts the text
  EXPECT_EQ(CommonType("NULL", "DATE"), "DATE");
  EXPECT_EQ(CommonType("BOOLEAN", "INTEGER"), "");
  EXPECT_EQ(CommonType("int4", "integer"), "INTEGER");
}

TEST(Types, CastCanFailWhenSomeValueHasNoImageInTheTargetType) {
  EXPECT_FALSE(CastCanFail("INTEGER", "BIGINT"));
  EXPECT_FALSE(CastCanFail("BIGINT", "HUGEINT"));
  EXPECT_TRUE(CastCanFail("BIGINT", "INTEGER"));
  EXPECT_TRUE(CastCanFail("INTEGER", "UINTEGER"));
  EXPECT_FALSE(CastCanFail("BIGINT", "DECIMAL(38,19)"));
  EXPECT_TRUE(CastCanFail("BIGINT", "DECIMAL(38,32)"));  // 6 integer digits left
  EXPECT_TRUE(CastCanFail("HUGEINT", "DECIMAL(38,10)"));
  EXPECT_FALSE(CastCanFail("DECIMAL(18,2)", "DECIMAL(19,2)"));
  EXPECT_TRUE(CastCanFail("DECIMAL(18,2)", "DECIMAL(18,4)"));
  EXPECT_TRUE(CastCanFail("DECIMAL(10,0)", "INTEGER"));
  EXPECT_FALSE(CastCanFail("DECIMAL(9,0)", "INTEGER"));
  EXPECT_FALSE(CastCanFail("HUGEINT", "DOUBLE"));
  EXPECT_TRUE(CastCanFail("DOUBLE", "BIGINT"));
  EXPECT_TRUE(CastCanFail("DATE", "TIMESTAMP"));  // 5881580-07-10 is no TIMESTAMP
  EXPECT_FALSE(CastCanFail("TIMESTAMP", "DATE"));
  EXPECT_TRUE(CastCanFail("VARCHAR", "INTEGER"));
  EXPECT_TRUE(CastCanFail("VARCHAR", "BOOLEAN"));
  EXPECT_FALSE(CastCanFail("DATE", "VARCHAR"));
  EXPECT_FALSE(CastCanFail("NULL", "DATE"));
  EXPECT_TRUE(CastCanFail("", "INTEGER"));  // unknown: assume the worst
}

TEST(Types, LiteralTypesAreDuckDbs) {
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "12"}), "INTEGER");
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "-2147483648"}), "INTEGER");
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "3000000000"}), "BIGINT");
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "12345678901234567890"}), "HUGEINT");
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "1.5"}), "DECIMAL(2,1)");
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "100.25"}), "DECIMAL(5,2)");
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "0.00000000000000000000000000000001"}),
            "DECIMAL(33,32)");
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "1e5"}), "DOUBLE");
  EXPECT_EQ(LiteralType({ConstantKind::kString, "x"}), "VARCHAR");
}

class TypedSchemas : public SchemaProvider {
 public:
  TypedSchemas() {
    table_ = {"t",
              "owner",
              {{"score", "INTEGER"},
               {"amount", "BIGINT"},
               {"price", "DECIMAL(18,2)"},
               {"note", "VARCHAR"},
               {"day", "DATE"},
               {"ratio", "DOUBLE"}}};
  }
  const TableSchema* FindTable(std::string_view name) const override {
    return name == "t" ? &table_ : nullptr;
  }

 private:
  TableSchema table_;
};

const TypedSchemas& Schemas() {
  static const TypedSchemas* const kSchemas = new TypedSchemas();
  return *kSchemas;
}

absl::StatusOr<BoundQuery> BindText(const std::string& sql) {
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<SelectStatement> statement, ParseSelect(sql));
  return Bind(*statement, Schemas(), sql);
}

TEST(Types, EveryBoundExpressionHasItsResultType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"score", "INTEGER"},
      {"1", "INTEGER"},
      {"1.5", "DECIMAL(2,1)"},
      {"'a'", "VARCHAR"},
      {"NULL", "NULL"},
      {"score + 1", "INTEGER"},
      {"score + amount", "BIGINT"},
      {"score / 2", "DOUBLE"},
      {"score % 2", "INTEGER"},
      {"price + 1", "DECIMAL(18,2)"},  // capped at 18 digits: the engine checks for overflow
      {"price * price", "DECIMAL(18,4)"},
      {"price * amount", "DECIMAL(37,2)"},
      {"ratio * score", "DOUBLE"},
      {"-score", "INTEGER"},
      {"day + 1", "DATE"},
      {"day - day", "BIGINT"},
      {"score = 1", "BOOLEAN"},
      {"score > 1 AND note LIKE 'a%'", "BOOLEAN"},
      {"score BETWEEN 1 AND 2", "BOOLEAN"},
      {"score IN (1, 2)", "BOOLEAN"},
      {"note IS NULL", "BOOLEAN"},
      {"CASE WHEN score > 1 THEN amount ELSE score END", "BIGINT"},
      {"CASE WHEN score > 1 THEN price ELSE 0 END", "DECIMAL(18,2)"},
      {"COALESCE(score, amount)", "BIGINT"},
      {"CAST(note AS INTEGER)", "INTEGER"},
      {"CAST(score AS numeric(10,2))", "DECIMAL(10,2)"},
      {"ROUND(price, 1)", "DECIMAL(18,1)"},
      {"ABS(score)", "INTEGER"},
      {"SQRT(score)", "DOUBLE"},
      {"UPPER(note)", "VARCHAR"},
      {"LENGTH(note)", "BIGINT"},
      {"SUM(score)", "HUGEINT"},
      {"SUM(price)", "DECIMAL(38,2)"},
      {"AVG(price)", "DOUBLE"},
      {"COUNT(*)", "BIGINT"},
      {"COUNT(DISTINCT note)", "BIGINT"},
  };
  for (const auto& [expression, type] : cases) {
    absl::StatusOr<BoundQuery> bound = BindText("SELECT " + expression + " FROM t");
    ASSERT_TRUE(bound.ok()) << expression << ": " << bound.status();
    EXPECT_EQ(bound->select[0].expr->type, type) << expression;
  }
}

TEST(Types, LiteralsAreConvertedToTheTypeTheyMeetWhenBound) {
  absl::StatusOr<BoundQuery> bound =
      BindText("SELECT score FROM t WHERE day = '2015-06-10' AND score = '12' AND note = 5");
  ASSERT_TRUE(bound.ok()) << bound.status();
  const BoundExpr& where = *bound->where;
  const BoundExpr& day = *where.args[0]->args[0]->args[1];
  EXPECT_EQ(day.type, "DATE");
  EXPECT_EQ(day.constant.text, "2015-06-10");
  const BoundExpr& twelve = *where.args[0]->args[1]->args[1];
  EXPECT_EQ(twelve.constant.kind, ConstantKind::kInteger);
  EXPECT_EQ(twelve.constant.text, "12");
  EXPECT_EQ(twelve.type, "INTEGER");
  const BoundExpr& five = *where.args[1]->args[1];
  EXPECT_EQ(five.constant.kind, ConstantKind::kString);
  EXPECT_EQ(five.type, "VARCHAR");
}

TEST(Types, ALiteralThatDoesNotConvertIsABindErrorWithItsPositionAndNoValue) {
  absl::StatusOr<BoundQuery> bound = BindText("SELECT score FROM t WHERE score = 'abc'");
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.status().message(),
            "the text constant cannot be converted to INTEGER, the type of the value it meets "
            "(line 1, column 35)");
  bound = BindText("SELECT score FROM t\nWHERE day < 'soon'");
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.status().message(),
            "the text constant cannot be converted to DATE, the type of the value it meets "
            "(line 2, column 13)");
}

TEST(Types, NumbersOutsideTheColumnTypeFoldTheComparison) {
  // amount < 1e22 holds for every BIGINT: TRUE for values, NULL for NULL, no conversion.
  absl::StatusOr<BoundQuery> bound =
      BindText("SELECT score FROM t WHERE amount < 12345678901234567890123");
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->where->kind, BoundExprKind::kBinaryOp);
  EXPECT_EQ(bound->where->name, "OR");
  EXPECT_EQ(bound->where->args[0]->kind, BoundExprKind::kIsNull);
  EXPECT_TRUE(bound->where->args[0]->negated);
  // score >= 1.5 is score >= 2: the same rows, in the column's own type.
  bound = BindText("SELECT score FROM t WHERE score >= 1.5");
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->where->args[1]->constant.text, "2");
  EXPECT_EQ(bound->where->args[1]->type, "INTEGER");
}

}  // namespace
}  // namespace parley::sql
