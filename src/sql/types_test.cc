#include "sql/types.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/match.h"
#include "sql/binder.h"
#include "sql/duckdb_types.h"
#include "sql/parser.h"

namespace parley::sql {
namespace {

// Types are written as DuckDB names here, for brevity.
Type D(const char* name) { return TypeFromDuckDbName(name); }

TEST(Types, CommonTypeIsTheOneDuckDbConvertsBothSidesTo) {
  EXPECT_EQ(CommonType(D("INTEGER"), D("BIGINT")), D("BIGINT"));
  EXPECT_EQ(CommonType(D("INTEGER"), D("UINTEGER")), D("BIGINT"));
  EXPECT_EQ(CommonType(D("BIGINT"), D("UBIGINT")), D("HUGEINT"));
  EXPECT_EQ(CommonType(D("BIGINT"), D("DECIMAL(18,2)")), D("DECIMAL(21,2)"));
  EXPECT_EQ(CommonType(D("HUGEINT"), D("DECIMAL(38,10)")), D("DECIMAL(38,10)"));
  EXPECT_EQ(CommonType(D("DECIMAL(18,2)"), D("DOUBLE")), D("DOUBLE"));
  EXPECT_EQ(CommonType(D("INTEGER"), D("FLOAT")), D("FLOAT"));
  EXPECT_EQ(CommonType(D("DATE"), D("TIMESTAMP")), D("TIMESTAMP"));
  EXPECT_EQ(CommonType(D("VARCHAR"), D("INTEGER")), D("INTEGER"));  // DuckDB converts the text
  EXPECT_EQ(CommonType(D("NULL"), D("DATE")), D("DATE"));
  EXPECT_EQ(CommonType(D("BOOLEAN"), D("INTEGER")), D(""));
  EXPECT_EQ(CommonType(D("int4"), D("integer")), D("INTEGER"));
}

TEST(Types, CastCanFailWhenSomeValueHasNoImageInTheTargetType) {
  EXPECT_FALSE(CastCanFail(D("INTEGER"), D("BIGINT")));
  EXPECT_FALSE(CastCanFail(D("BIGINT"), D("HUGEINT")));
  EXPECT_TRUE(CastCanFail(D("BIGINT"), D("INTEGER")));
  EXPECT_TRUE(CastCanFail(D("INTEGER"), D("UINTEGER")));
  EXPECT_FALSE(CastCanFail(D("BIGINT"), D("DECIMAL(38,19)")));
  EXPECT_TRUE(CastCanFail(D("BIGINT"), D("DECIMAL(38,32)")));  // 6 integer digits left
  EXPECT_TRUE(CastCanFail(D("HUGEINT"), D("DECIMAL(38,10)")));
  EXPECT_FALSE(CastCanFail(D("DECIMAL(18,2)"), D("DECIMAL(19,2)")));
  EXPECT_TRUE(CastCanFail(D("DECIMAL(18,2)"), D("DECIMAL(18,4)")));
  EXPECT_TRUE(CastCanFail(D("DECIMAL(10,0)"), D("INTEGER")));
  EXPECT_FALSE(CastCanFail(D("DECIMAL(9,0)"), D("INTEGER")));
  EXPECT_FALSE(CastCanFail(D("HUGEINT"), D("DOUBLE")));
  EXPECT_TRUE(CastCanFail(D("DOUBLE"), D("BIGINT")));
  EXPECT_TRUE(CastCanFail(D("DATE"), D("TIMESTAMP")));  // 5881580-07-10 is no TIMESTAMP
  EXPECT_FALSE(CastCanFail(D("TIMESTAMP"), D("DATE")));
  EXPECT_TRUE(CastCanFail(D("VARCHAR"), D("INTEGER")));
  EXPECT_TRUE(CastCanFail(D("VARCHAR"), D("BOOLEAN")));
  EXPECT_FALSE(CastCanFail(D("DATE"), D("VARCHAR")));
  EXPECT_FALSE(CastCanFail(D("NULL"), D("DATE")));
  EXPECT_TRUE(CastCanFail(D(""), D("INTEGER")));  // unknown: assume the worst
}

TEST(Types, LiteralTypesAreDuckDbs) {
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "12"}), D("INTEGER"));
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "-2147483648"}), D("INTEGER"));
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "3000000000"}), D("BIGINT"));
  EXPECT_EQ(LiteralType({ConstantKind::kInteger, "12345678901234567890"}), D("HUGEINT"));
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "1.5"}), D("DECIMAL(2,1)"));
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "100.25"}), D("DECIMAL(5,2)"));
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "0.00000000000000000000000000000001"}),
            D("DECIMAL(33,32)"));
  EXPECT_EQ(LiteralType({ConstantKind::kFloat, "1e5"}), D("DOUBLE"));
  EXPECT_EQ(LiteralType({ConstantKind::kString, "x"}), D("VARCHAR"));
}

class TypedSchemas : public SchemaProvider {
 public:
  TypedSchemas() {
    table_ = {"t",
              "owner",
              {{"score", TypeKind::kInteger},
               {"amount", TypeKind::kBigint},
               {"price", Type::Decimal(18, 2)},
               {"note", TypeKind::kVarchar},
               {"day", TypeKind::kDate},
               {"ratio", TypeKind::kDouble}}};
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
  const std::vector<std::pair<std::string, Type>> cases = {
      {"score", TypeKind::kInteger},
      {"1", TypeKind::kInteger},
      {"1.5", Type::Decimal(2, 1)},
      {"'a'", TypeKind::kVarchar},
      {"NULL", TypeKind::kNull},
      {"score + 1", TypeKind::kInteger},
      {"score + amount", TypeKind::kBigint},
      {"score / 2", TypeKind::kDouble},
      {"score % 2", TypeKind::kInteger},
      {"price + 1", Type::Decimal(18, 2)},  // capped at 18 digits: the engine checks for overflow
      {"price * price", Type::Decimal(18, 4)},
      {"price * amount", Type::Decimal(37, 2)},
      {"ratio * score", TypeKind::kDouble},
      {"-score", TypeKind::kInteger},
      {"day + 1", TypeKind::kDate},
      {"day - day", TypeKind::kBigint},
      {"score = 1", TypeKind::kBoolean},
      {"score > 1 AND note LIKE 'a%'", TypeKind::kBoolean},
      {"score BETWEEN 1 AND 2", TypeKind::kBoolean},
      {"score IN (1, 2)", TypeKind::kBoolean},
      {"note IS NULL", TypeKind::kBoolean},
      {"CASE WHEN score > 1 THEN amount ELSE score END", TypeKind::kBigint},
      {"CASE WHEN score > 1 THEN price ELSE 0 END", Type::Decimal(18, 2)},
      {"COALESCE(score, amount)", TypeKind::kBigint},
      {"CAST(note AS INTEGER)", TypeKind::kInteger},
      {"CAST(score AS numeric(10,2))", Type::Decimal(10, 2)},
      {"ROUND(price, 1)", Type::Decimal(18, 1)},
      {"ABS(score)", TypeKind::kInteger},
      {"SQRT(score)", TypeKind::kDouble},
      {"UPPER(note)", TypeKind::kVarchar},
      {"LENGTH(note)", TypeKind::kBigint},
      {"SUM(score)", TypeKind::kHugeint},
      {"SUM(price)", Type::Decimal(38, 2)},
      {"AVG(price)", TypeKind::kDouble},
      {"COUNT(*)", TypeKind::kBigint},
      {"COUNT(DISTINCT note)", TypeKind::kBigint},
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
  EXPECT_EQ(day.type, D("DATE"));
  EXPECT_EQ(day.constant.text, "2015-06-10");
  const BoundExpr& twelve = *where.args[0]->args[1]->args[1];
  EXPECT_EQ(twelve.constant.kind, ConstantKind::kInteger);
  EXPECT_EQ(twelve.constant.text, "12");
  EXPECT_EQ(twelve.type, D("INTEGER"));
  const BoundExpr& five = *where.args[1]->args[1];
  EXPECT_EQ(five.constant.kind, ConstantKind::kString);
  EXPECT_EQ(five.type, D("VARCHAR"));
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
  EXPECT_EQ(bound->where->args[1]->type, D("INTEGER"));
}

}  // namespace
}  // namespace parley::sql
