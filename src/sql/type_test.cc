#include "sql/type.h"

#include <gtest/gtest.h>

#include <sstream>

namespace parley::sql {
namespace {

TEST(Type, DefaultIsUnknownAndPrintsEmpty) {
  Type type;
  EXPECT_TRUE(type.is_unknown());
  EXPECT_EQ(type.kind(), TypeKind::kUnknown);
  EXPECT_EQ(type.ToString(), "");
  std::ostringstream out;
  out << type;
  EXPECT_EQ(out.str(), "<unknown type>");
}

TEST(Type, ToStringNamesEveryKind) {
  EXPECT_EQ(Type(TypeKind::kNull).ToString(), "NULL");
  EXPECT_EQ(Type(TypeKind::kBoolean).ToString(), "BOOLEAN");
  EXPECT_EQ(Type(TypeKind::kTinyint).ToString(), "TINYINT");
  EXPECT_EQ(Type(TypeKind::kSmallint).ToString(), "SMALLINT");
  EXPECT_EQ(Type(TypeKind::kInteger).ToString(), "INTEGER");
  EXPECT_EQ(Type(TypeKind::kBigint).ToString(), "BIGINT");
  EXPECT_EQ(Type(TypeKind::kHugeint).ToString(), "HUGEINT");
  EXPECT_EQ(Type(TypeKind::kUtinyint).ToString(), "UTINYINT");
  EXPECT_EQ(Type(TypeKind::kUsmallint).ToString(), "USMALLINT");
  EXPECT_EQ(Type(TypeKind::kUinteger).ToString(), "UINTEGER");
  EXPECT_EQ(Type(TypeKind::kUbigint).ToString(), "UBIGINT");
  EXPECT_EQ(Type(TypeKind::kUhugeint).ToString(), "UHUGEINT");
  EXPECT_EQ(Type(TypeKind::kFloat).ToString(), "FLOAT");
  EXPECT_EQ(Type(TypeKind::kDouble).ToString(), "DOUBLE");
  EXPECT_EQ(Type::Decimal(18, 2).ToString(), "DECIMAL(18,2)");
  EXPECT_EQ(Type(TypeKind::kVarchar).ToString(), "VARCHAR");
  EXPECT_EQ(Type(TypeKind::kDate).ToString(), "DATE");
  EXPECT_EQ(Type(TypeKind::kTime).ToString(), "TIME");
  EXPECT_EQ(Type(TypeKind::kTimestamp).ToString(), "TIMESTAMP");
  EXPECT_EQ(Type(TypeKind::kTimestampTz).ToString(), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(Type(TypeKind::kInterval).ToString(), "INTERVAL");
  EXPECT_EQ(Type(TypeKind::kBlob).ToString(), "BLOB");
  EXPECT_EQ(Type(TypeKind::kUuid).ToString(), "UUID");
  EXPECT_EQ(Type::Other("INTEGER[]").ToString(), "INTEGER[]");
}

TEST(Type, DecimalWidthAndScaleAreChecked) {
  Type money = Type::Decimal(18, 2);
  EXPECT_EQ(money.kind(), TypeKind::kDecimal);
  EXPECT_EQ(money.width(), 18);
  EXPECT_EQ(money.scale(), 2);
  EXPECT_EQ(Type::Decimal(1, 0).ToString(), "DECIMAL(1,0)");
  EXPECT_EQ(Type::Decimal(38, 38).ToString(), "DECIMAL(38,38)");
  EXPECT_TRUE(Type::Decimal(0, 0).is_unknown());
  EXPECT_TRUE(Type::Decimal(39, 2).is_unknown());
  EXPECT_TRUE(Type::Decimal(10, 11).is_unknown());
  EXPECT_TRUE(Type::Decimal(10, -1).is_unknown());
  // The kind constructor cannot make a DECIMAL without a width, nor an Other without a name.
  EXPECT_TRUE(Type(TypeKind::kDecimal).is_unknown());
  EXPECT_TRUE(Type(TypeKind::kOther).is_unknown());
  EXPECT_TRUE(Type::Other("").is_unknown());
}

TEST(Type, EqualityComparesKindWidthScaleAndDescription) {
  EXPECT_EQ(Type(TypeKind::kBigint), Type(TypeKind::kBigint));
  EXPECT_EQ(Type(TypeKind::kBigint), TypeKind::kBigint);
  EXPECT_NE(Type(TypeKind::kBigint), Type(TypeKind::kUbigint));
  EXPECT_EQ(Type::Decimal(18, 2), Type::Decimal(18, 2));
  EXPECT_NE(Type::Decimal(18, 2), Type::Decimal(18, 3));
  EXPECT_NE(Type::Decimal(18, 2), Type::Decimal(19, 2));
  EXPECT_EQ(Type::Other("INTEGER[]"), Type::Other("INTEGER[]"));
  EXPECT_NE(Type::Other("INTEGER[]"), Type::Other("VARCHAR[]"));
  EXPECT_EQ(Type(), Type());
}

TEST(Type, NumericClasses) {
  EXPECT_TRUE(Type(TypeKind::kUtinyint).IsInteger());
  EXPECT_TRUE(Type(TypeKind::kUtinyint).IsUnsigned());
  EXPECT_FALSE(Type(TypeKind::kHugeint).IsUnsigned());
  EXPECT_TRUE(Type::Decimal(5, 1).IsExactNumeric());
  EXPECT_FALSE(Type(TypeKind::kDouble).IsExactNumeric());
  EXPECT_TRUE(Type(TypeKind::kFloat).IsNumeric());
  EXPECT_FALSE(Type(TypeKind::kVarchar).IsNumeric());
  EXPECT_TRUE(Type(TypeKind::kBigint).IsNarrowNumeric());
  EXPECT_TRUE(Type(TypeKind::kUbigint).IsNarrowNumeric());
  EXPECT_TRUE(Type(TypeKind::kDouble).IsNarrowNumeric());
  EXPECT_TRUE(Type::Decimal(18, 4).IsNarrowNumeric());
  EXPECT_FALSE(Type::Decimal(19, 4).IsNarrowNumeric());
  EXPECT_TRUE(Type::Decimal(19, 4).IsWideNumeric());
  EXPECT_TRUE(Type(TypeKind::kHugeint).IsWideNumeric());
  EXPECT_TRUE(Type(TypeKind::kUhugeint).IsWideNumeric());
  EXPECT_FALSE(Type(TypeKind::kHugeint).IsNarrowNumeric());
  EXPECT_FALSE(Type(TypeKind::kVarchar).IsWideNumeric());
  EXPECT_TRUE(Type(TypeKind::kInterval).IsTemporal());
  EXPECT_FALSE(Type(TypeKind::kTime).IsTemporal());
  EXPECT_TRUE(Type(TypeKind::kTime).IsOpaque());
  EXPECT_TRUE(Type(TypeKind::kUuid).IsOpaque());
  EXPECT_TRUE(Type::Other("MAP(VARCHAR, INTEGER)").IsOpaque());
  EXPECT_FALSE(Type(TypeKind::kDate).IsOpaque());
}

TEST(Type, ComparisonCannotFailOnlyForEqualTypesOrNarrowNumbers) {
  EXPECT_TRUE(ComparisonCannotFail(TypeKind::kVarchar, TypeKind::kVarchar));
  EXPECT_TRUE(ComparisonCannotFail(TypeKind::kInteger, TypeKind::kBigint));
  EXPECT_TRUE(ComparisonCannotFail(Type::Decimal(18, 2), TypeKind::kDouble));
  EXPECT_TRUE(ComparisonCannotFail(Type::Decimal(38, 2), Type::Decimal(38, 2)));
  EXPECT_FALSE(ComparisonCannotFail(Type::Decimal(38, 2), TypeKind::kBigint));
  EXPECT_FALSE(ComparisonCannotFail(TypeKind::kHugeint, TypeKind::kBigint));
  EXPECT_FALSE(ComparisonCannotFail(TypeKind::kVarchar, TypeKind::kBigint));
  EXPECT_FALSE(ComparisonCannotFail(TypeKind::kDate, TypeKind::kTimestamp));
  EXPECT_FALSE(ComparisonCannotFail(Type(), Type()));
  EXPECT_TRUE(ComparisonCannotFail(Type::Other("UUID[]"), Type::Other("UUID[]")));
}

}  // namespace
}  // namespace parley::sql
