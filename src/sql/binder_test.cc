#include "sql/binder.h"

#include <gtest/gtest.h>

#include <map>

#include "absl/strings/match.h"
#include "sql/parser.h"

namespace parley::sql {
namespace {

class FakeSchemas : public SchemaProvider {
 public:
  FakeSchemas() {
    tables_["retail"] = {"retail",
                         "retailer",
                         {{"hashed_email", TypeKind::kVarchar}, {"age_band", TypeKind::kVarchar}}};
    tables_["loyalty"] = {"loyalty",
                          "supplier",
                          {{"hashed_email", TypeKind::kVarchar}, {"tier", TypeKind::kVarchar}}};
    // A schema that (against the connectors' refusal) lists a reserved name.
    tables_["leaky"] = {
        "leaky", "retailer", {{"k", TypeKind::kBigint}, {"__Parley_Row_Id", TypeKind::kBigint}}};
  }
  const TableSchema* FindTable(std::string_view name) const override {
    for (const auto& [key, table] : tables_) {
      if (absl::EqualsIgnoreCase(key, std::string(name))) return &table;
    }
    return nullptr;
  }

 private:
  std::map<std::string, TableSchema> tables_;
};

// Bound queries point into the schemas, so these outlive every test.
const FakeSchemas& Schemas() {
  static const FakeSchemas* const kSchemas = new FakeSchemas();
  return *kSchemas;
}

absl::StatusOr<BoundQuery> BindText(const std::string& sql) {
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<SelectStatement> statement, ParseSelect(sql));
  return Bind(*statement, Schemas(), sql);
}

std::vector<std::string> ConstructsOf(const BoundQuery& query) {
  std::vector<std::string> what;
  for (const Construct& construct : query.constructs) what.push_back(construct.what);
  return what;
}

TEST(ParserBinder, ReservedColumnsCannotBeNamedOrExpanded) {
  absl::StatusOr<BoundQuery> named = BindText("SELECT __parley_row_id FROM leaky");
  EXPECT_EQ(named.status(),
            absl::InvalidArgumentError(
                "column '__parley_row_id' does not exist in table 'leaky' (line 1, column 8)"));
  absl::StatusOr<BoundQuery> star = BindText("SELECT * FROM leaky");
  ASSERT_TRUE(star.ok()) << star.status();
  ASSERT_EQ(star->select.size(), 1u);
  EXPECT_EQ(star->select[0].output_name, "k");
}

TEST(ParserBinder, SubqueryTablesDoNotTakePartInNameResolution) {
  // Without care, the subquery's 'retail' would make age_band ambiguous with the outer r.
  absl::StatusOr<BoundQuery> query =
      BindText("SELECT (SELECT count(*) FROM retail), age_band FROM retail r");
  ASSERT_TRUE(query.ok()) << query.status();
  ASSERT_EQ(query->tables.size(), 1u);
  EXPECT_EQ(query->tables[0].alias, "r");
  EXPECT_EQ(query->BaseTables().size(), 2u);
  EXPECT_EQ(query->select[1].expr->table_index, 0);
  EXPECT_EQ(ConstructsOf(*query), (std::vector<std::string>{"a subquery (scalar subquery)"}));
}

TEST(ParserBinder, FromSubqueryIsADerivedTableWithItsOutputColumns) {
  absl::StatusOr<BoundQuery> query =
      BindText("SELECT s.e FROM (SELECT hashed_email AS e FROM retail) s JOIN loyalty l ON true");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(ConstructsOf(*query), (std::vector<std::string>{"a subquery in FROM"}));
  ASSERT_EQ(query->tables.size(), 2u);
  EXPECT_FALSE(query->tables[0].is_base());
  ASSERT_EQ(query->tables[0].columns.size(), 1u);
  EXPECT_EQ(query->tables[0].columns[0].name, "e");
  EXPECT_EQ(query->tables[1].schema->name, "loyalty");
  EXPECT_EQ(query->select[0].expr->table_index, 0);
  EXPECT_EQ(query->select[0].expr->column, "e");
  std::vector<std::string> base;
  for (const sql::BoundTable* table : query->BaseTables()) base.push_back(table->schema->name);
  EXPECT_EQ(base, (std::vector<std::string>{"retail", "loyalty"}));
  EXPECT_FALSE(query->IsFlat());
}

TEST(ParserBinder, CorrelatedColumnsResolveToTheEnclosingQuery) {
  absl::StatusOr<BoundQuery> query = BindText(
      "SELECT age_band FROM retail r WHERE EXISTS (SELECT 1 FROM loyalty l "
      "WHERE l.hashed_email = r.hashed_email)");
  ASSERT_TRUE(query.ok()) << query.status();
  const sql::BoundExpr& exists = *query->where;
  ASSERT_EQ(exists.kind, sql::BoundExprKind::kSubquery);
  const sql::BoundExpr& equality = *exists.subquery->where;
  EXPECT_EQ(equality.args[0]->outer_depth, 0);
  EXPECT_EQ(equality.args[1]->outer_depth, 1);
  EXPECT_EQ(equality.args[1]->column, "hashed_email");
}

TEST(ParserBinder, CteTablesAreFound) {
  absl::StatusOr<BoundQuery> query =
      BindText("WITH s AS (SELECT hashed_email FROM retail) SELECT count(*) FROM s");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(ConstructsOf(*query), (std::vector<std::string>{"a CTE (WITH)"}));
  ASSERT_EQ(query->tables.size(), 1u);
  EXPECT_EQ(query->tables[0].cte_id, 0);
  ASSERT_EQ(query->BaseTables().size(), 1u);
  EXPECT_EQ(query->BaseTables()[0]->schema->name, "retail");
}

TEST(ParserBinder, OrdinalsAndAliasesBecomeTheirExpressions) {
  absl::StatusOr<BoundQuery> query =
      BindText("SELECT r.age_band AS a, count(*) AS n FROM retail r GROUP BY 1 ORDER BY n DESC, a");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_TRUE(query->group_by[0]->SameAs(*query->select[0].expr));
  EXPECT_EQ(query->order_by[0].expr->kind, BoundExprKind::kAggregate);
  EXPECT_EQ(query->order_by[1].expr->column, "age_band");
}

TEST(ParserBinder, ColumnsResolveToTheCatalogSpelling) {
  absl::StatusOr<BoundQuery> query = BindText("SELECT R.\"AGE_BAND\" FROM \"RETAIL\" r");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->select[0].expr->column, "age_band");
  EXPECT_EQ(query->tables[0].schema->name, "retail");
}

TEST(ParserBinder, UnknownColumnListsEachTableOnce) {
  absl::StatusOr<BoundQuery> query =
      BindText("SELECT nope FROM retail a JOIN retail b ON a.hashed_email = b.hashed_email");
  EXPECT_EQ(query.status().message(),
            "column 'nope' does not exist in table 'retail' (line 1, column 8)");
}

TEST(ParserBinderCastTypes, KnownAndUnknownTypes) {
  EXPECT_EQ(CastTargetType("int4"), Type(TypeKind::kInteger));
  EXPECT_EQ(CastTargetType("float4"), Type(TypeKind::kFloat));
  EXPECT_EQ(CastTargetType("numeric(10,2)"), Type::Decimal(10, 2));
  EXPECT_EQ(CastTargetType("numeric(10)"), Type::Decimal(10, 0));
  EXPECT_EQ(CastTargetType("numeric"), Type::Decimal(18, 3));
  EXPECT_EQ(CastTargetType("varchar(5)"), Type(TypeKind::kVarchar));
  EXPECT_EQ(CastTargetType("numeric(39,2)"), std::nullopt);
  EXPECT_EQ(CastTargetType("numeric(5,6)"), std::nullopt);
  EXPECT_EQ(CastTargetType("interval"), std::nullopt);
  EXPECT_EQ(CastTargetType("blob"), std::nullopt);
}

}  // namespace
}  // namespace parley::sql

namespace parley::sql {
namespace {

// Found by fuzzing: every stage recurses over the tree, so nesting is capped where the tree is
// read; deeper queries get a reason, never a stack overflow.
TEST(ParserBinderNesting, DeepNestingIsRefusedWithAReason) {
  std::string deep_expression =
      "SELECT age_band FROM retail WHERE age_band = " + std::string(1250, '+') + "1";
  EXPECT_EQ(BindText(deep_expression).status().message(),
            "nesting expressions more than 200 levels deep is not supported (line 1, column 244)");

  std::string joins = "SELECT 1 FROM retail r0";
  for (int i = 1; i < 300; ++i) {
    joins += " JOIN retail r" + std::to_string(i) + " ON r" + std::to_string(i) +
             ".hashed_email = r0.hashed_email";
  }
  EXPECT_EQ(BindText(joins).status().message(),
            "nesting joins more than 200 levels deep is not supported in FROM");

  std::string subqueries = "SELECT 1 FROM retail WHERE age_band IN ";
  for (int i = 0; i < 210; ++i) subqueries += "(SELECT age_band FROM retail WHERE age_band IN ";
  subqueries += "(1)" + std::string(210, ')');
  auto bound = BindText(subqueries);
  ASSERT_FALSE(bound.ok());
  EXPECT_TRUE(absl::StartsWith(bound.status().message(),
                               "nesting queries more than 200 levels deep is not supported"))
      << bound.status();

  // A flat chain of AND (or OR) becomes as deep as it is long: it counts against the cap too.
  std::string conjunctions = "SELECT age_band FROM retail WHERE age_band = 'a'";
  for (int i = 0; i < 20000; ++i) conjunctions += " AND age_band = 'a'";
  EXPECT_EQ(BindText(conjunctions).status().message(),
            "combining more than 200 conditions with AND is not supported (line 1, column 50)");

  // Each CTE may read the previous one: a long chain is refused before anything recurses on it.
  std::string chain = "WITH c0 AS (SELECT age_band FROM retail)";
  for (int i = 1; i < 100; ++i) {
    chain +=
        ", c" + std::to_string(i) + " AS (SELECT age_band FROM c" + std::to_string(i - 1) + ")";
  }
  chain += " SELECT age_band FROM c99";
  EXPECT_EQ(BindText(chain).status().message(),
            "a WITH clause of more than 64 queries is not supported");

  // Ordinary depth is fine.
  std::string fine = "SELECT age_band FROM retail WHERE age_band = " + std::string(150, '+') + "1";
  EXPECT_TRUE(BindText(fine).ok()) << BindText(fine).status();
}

}  // namespace
}  // namespace parley::sql
