#include "sql/duckdb_types.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace parley::sql {
namespace {

// Every name DuckDB 1.4's DESCRIBE prints for a type Parley has a kind for
// (engine::duckdb::TypeName), and the aliases a user may write.
TEST(DuckDbTypes, EveryPinnedNameMapsToItsKindAndBack) {
  const std::vector<std::pair<const char*, Type>> kCanonical = {
      {"NULL", TypeKind::kNull},
      {"BOOLEAN", TypeKind::kBoolean},
      {"TINYINT", TypeKind::kTinyint},
      {"SMALLINT", TypeKind::kSmallint},
      {"INTEGER", TypeKind::kInteger},
      {"BIGINT", TypeKind::kBigint},
      {"HUGEINT", TypeKind::kHugeint},
      {"UTINYINT", TypeKind::kUtinyint},
      {"USMALLINT", TypeKind::kUsmallint},
      {"UINTEGER", TypeKind::kUinteger},
      {"UBIGINT", TypeKind::kUbigint},
      {"UHUGEINT", TypeKind::kUhugeint},
      {"FLOAT", TypeKind::kFloat},
      {"DOUBLE", TypeKind::kDouble},
      {"DECIMAL(18,2)", Type::Decimal(18, 2)},
      {"VARCHAR", TypeKind::kVarchar},
      {"DATE", TypeKind::kDate},
      {"TIME", TypeKind::kTime},
      {"TIMESTAMP", TypeKind::kTimestamp},
      {"TIMESTAMP WITH TIME ZONE", TypeKind::kTimestampTz},
      {"INTERVAL", TypeKind::kInterval},
      {"BLOB", TypeKind::kBlob},
      {"UUID", TypeKind::kUuid},
  };
  for (const auto& [name, type] : kCanonical) {
    EXPECT_EQ(TypeFromDuckDbName(name), type) << name;
    absl::StatusOr<Type> parsed = ParseDuckDbTypeName(name);
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
    EXPECT_EQ(*parsed, type) << name;
    EXPECT_EQ(DuckDbTypeName(type), name);  // round trip
  }
}

TEST(DuckDbTypes, AliasesAndCaseMapToTheCanonicalType) {
  const std::vector<std::pair<const char*, const char*>> kAliases = {
      {"bool", "BOOLEAN"},
      {"int1", "TINYINT"},
      {"INT2", "SMALLINT"},
      {"int", "INTEGER"},
      {"Int4", "INTEGER"},
      {"int8", "BIGINT"},
      {"INT128", "HUGEINT"},
      {"real", "FLOAT"},
      {"FLOAT4", "FLOAT"},
      {"float8", "DOUBLE"},
      {"text", "VARCHAR"},
      {"STRING", "VARCHAR"},
      {"datetime", "TIMESTAMP"},
      {"timestamptz", "TIMESTAMP WITH TIME ZONE"},
      {"bytea", "BLOB"},
      {" bigint ", "BIGINT"},
      {"numeric(10,2)", "DECIMAL(10,2)"},
  };
  for (const auto& [alias, canonical] : kAliases) {
    EXPECT_EQ(DuckDbTypeName(TypeFromDuckDbName(alias)), canonical) << alias;
  }
}

TEST(DuckDbTypes, DecimalWidths) {
  EXPECT_EQ(TypeFromDuckDbName("DECIMAL"), Type::Decimal(18, 3));  // DuckDB's default
  EXPECT_EQ(TypeFromDuckDbName("NUMERIC"), Type::Decimal(18, 3));
  EXPECT_EQ(TypeFromDuckDbName("DECIMAL(10)"), Type::Decimal(10, 0));
  EXPECT_EQ(TypeFromDuckDbName("DECIMAL(1,0)"), Type::Decimal(1, 0));
  EXPECT_EQ(TypeFromDuckDbName("DECIMAL(38,38)"), Type::Decimal(38, 38));
  EXPECT_EQ(TypeFromDuckDbName("decimal(38, 10)"), Type::Decimal(38, 10));
  EXPECT_EQ(DuckDbTypeName(Type::Decimal(38, 10)), "DECIMAL(38,10)");
  for (const char* bad :
       {"DECIMAL(39,2)", "DECIMAL(0,0)", "DECIMAL(10,11)", "DECIMAL(x,2)", "DECIMAL(10,2"}) {
    absl::StatusOr<Type> parsed = ParseDuckDbTypeName(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    // The total form keeps the column usable as an opaque value.
    EXPECT_EQ(TypeFromDuckDbName(bad), Type::Other(bad)) << bad;
  }
  EXPECT_EQ(ParseDuckDbTypeName("DECIMAL(39,2)").status().message(),
            "'DECIMAL(39,2)' is not a valid DECIMAL type (width 1 to 38, scale 0 to the width)");
}

TEST(DuckDbTypes, UnknownNamesAreOpaqueAndRoundTripAsWritten) {
  for (const char* name :
       {"INTEGER[]", "VARCHAR[3]", "STRUCT(a INTEGER, \"B\" VARCHAR)", "MAP(VARCHAR, BIGINT)",
        "ENUM", "TIMESTAMP_NS", "TIME WITH TIME ZONE", "BIGNUM", "JSON"}) {
    Type type = TypeFromDuckDbName(name);
    EXPECT_EQ(type.kind(), TypeKind::kOther) << name;
    EXPECT_EQ(type.description(), name);
    EXPECT_EQ(DuckDbTypeName(type), name);
    EXPECT_EQ(*ParseDuckDbTypeName(name), type);
  }
}

TEST(DuckDbTypes, EmptyNameIsRefusedOrUnknown) {
  EXPECT_TRUE(TypeFromDuckDbName("").is_unknown());
  EXPECT_TRUE(TypeFromDuckDbName("  ").is_unknown());
  EXPECT_EQ(ParseDuckDbTypeName("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DuckDbTypeName(Type()), "");
}

}  // namespace
}  // namespace parley::sql
