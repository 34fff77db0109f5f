#include "service/analysis_template.h"

#include <gtest/gtest.h>

#include "rewrite/render.h"
#include "sql/parser.h"

namespace parley::service {
namespace {

std::vector<TemplateParameter> Parameters(std::initializer_list<const char*> specs) {
  std::vector<TemplateParameter> parameters;
  for (const char* spec : specs) parameters.push_back(*ParseParameterSpec(spec));
  return parameters;
}

TEST(TemplateParameterSpec, ParsesNameTypeAndDefault) {
  auto parameter = ParseParameterSpec("min_spend:number=10.5");
  ASSERT_TRUE(parameter.ok()) << parameter.status();
  EXPECT_EQ(parameter->name, "min_spend");
  EXPECT_EQ(parameter->type, ParameterType::kNumber);
  EXPECT_EQ(parameter->default_value, "10.5");
}

TEST(TemplateParameterSpec, RejectsBadSpecs) {
  EXPECT_EQ(ParseParameterSpec("region").status().message(),
            "parameter 'region' needs a type: name:type[=default]");
  EXPECT_EQ(ParseParameterSpec("Region:text").status().message(),
            "invalid parameter name 'Region' (lower case letters, digits and _)");
  EXPECT_EQ(ParseParameterSpec("n:float").status().message(),
            "unknown parameter type 'float' (one of integer, number, text, date, boolean)");
  EXPECT_EQ(ParseParameterSpec("n:integer=ten").status().message(),
            "the default of parameter 'n' is not an integer");
  EXPECT_EQ(ParseParameterSpec("d:date=2024-02-30").status().message(),
            "the default of parameter 'd' is not a date (YYYY-MM-DD)");
}

TEST(TemplateId, ChangesWithAnyCharacterOfTheContent) {
  auto parameters = Parameters({"n:integer"});
  std::string id = TemplateId("SELECT :n", parameters);
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(id, TemplateId("SELECT :n", parameters));
  EXPECT_NE(id, TemplateId("SELECT  :n", parameters));
  EXPECT_NE(id, TemplateId("SELECT :n", Parameters({"n:integer=1"})));
  EXPECT_NE(id, TemplateId("SELECT :n", Parameters({"n:number"})));
}

TEST(TemplateParametersJson, RoundTrips) {
  auto parameters = Parameters({"a:integer=3", "b:text"});
  auto back = ParametersFromJson(ParametersJson(parameters));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].default_value, "3");
  EXPECT_FALSE((*back)[1].default_value.has_value());
  EXPECT_EQ(ParametersJson(*back), ParametersJson(parameters));
}

TEST(PositionalSql, ReplacesParametersOutsideLiteralsAndKeepsOffsets) {
  auto parameters = Parameters({"region:text", "n:integer"});
  std::string sql =
      "SELECT ':region', \":n\", x::int FROM t -- :n\nWHERE r = :region AND k > :n /* :x */";
  auto positional = PositionalSql(sql, parameters);
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_EQ(*positional,
            "SELECT ':region', \":n\", x::int FROM t -- :n\nWHERE r = $1      AND k > $2 /* :x */");
  EXPECT_EQ(positional->size(), sql.size());
}

TEST(PositionalSql, KnowsEscapeStringsAndDollarsInNames) {
  auto parameters = Parameters({"n:integer"});
  // In E'...' a backslash escapes the quote, so ':n' inside stays text; a $ inside a name is
  // not a dollar quote, so scanning goes on to the real parameter.
  auto positional = PositionalSql("SELECT E'it\\'s :n', col$x FROM t WHERE k = :n", parameters);
  ASSERT_TRUE(positional.ok()) << positional.status();
  EXPECT_EQ(*positional, "SELECT E'it\\'s :n', col$x FROM t WHERE k = $1");
  auto dollars = PositionalSql("SELECT $tag$ :n $tag$ FROM t WHERE k = :n", parameters);
  ASSERT_TRUE(dollars.ok()) << dollars.status();
  EXPECT_EQ(*dollars, "SELECT $tag$ :n $tag$ FROM t WHERE k = $1");
}

TEST(PositionalSql, RejectsUndeclaredAndUnusedParameters) {
  EXPECT_EQ(PositionalSql("SELECT :a", {}).status().message(),
            "the template uses parameter :a but does not declare it");
  EXPECT_EQ(PositionalSql("SELECT 1", Parameters({"a:integer"})).status().message(),
            "parameter 'a' is declared but the template never uses it");
}

TEST(ParameterValues, TypesEachValueAndNeverEchoesIt) {
  auto parameters = Parameters({"n:integer", "x:number=1.5", "d:date", "b:boolean", "s:text"});
  auto values = ParameterValues(parameters,
                                {{"n", "-12"}, {"d", "2024-02-29"}, {"b", "true"}, {"s", "it's"}});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[0].constant.text, "-12");
  EXPECT_EQ((*values)[1].cast_type, sql::Type(sql::TypeKind::kDouble));
  EXPECT_EQ((*values)[2].cast_type, sql::Type(sql::TypeKind::kDate));
  EXPECT_EQ((*values)[4].constant.kind, sql::ConstantKind::kString);

  auto injected = ParameterValues(
      parameters, {{"n", "1; DROP TABLE retail"}, {"d", "2024-01-01"}, {"b", "true"}, {"s", ""}});
  EXPECT_EQ(injected.status().message(), "parameter 'n' expects an integer");
  EXPECT_EQ(ParameterValues(parameters, {{"d", "2024-01-01"}}).status().message(),
            "parameter 'n' (integer) needs a value");
  EXPECT_EQ(ParameterValues(parameters, {{"zz", "1"}}).status().message(),
            "the template has no parameter 'zz'");
  auto bad_date =
      ParameterValues(parameters, {{"n", "1"}, {"d", "2024-13-01"}, {"b", "true"}, {"s", ""}});
  EXPECT_EQ(bad_date.status().message(), "parameter 'd' expects a date (YYYY-MM-DD)");
}

class OneTable : public sql::SchemaProvider {
 public:
  const sql::TableSchema* FindTable(std::string_view name) const override {
    return name == "t" ? &table_ : nullptr;
  }

 private:
  sql::TableSchema table_{
      "t", "owner", {{"region", sql::TypeKind::kVarchar}, {"k", sql::TypeKind::kBigint}}};
};

TEST(ParameterValues, ATextValueIsAConstantNotSql) {
  auto parameters = Parameters({"region:text"});
  std::string sql = "SELECT k FROM t WHERE region = :region";
  auto positional = PositionalSql(sql, parameters);
  ASSERT_TRUE(positional.ok());
  auto statement = sql::ParseSelect(*positional);
  ASSERT_TRUE(statement.ok()) << statement.status();
  auto values = ParameterValues(parameters, {{"region", "x' OR '1'='1"}});
  ASSERT_TRUE(values.ok());
  auto bound = sql::Bind(**statement, OneTable(), *positional, sql::BindOptions{*values});
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(rewrite::RenderDuckDb(*bound),
            "SELECT \"t0\".\"k\" AS \"k\" FROM \"t\" AS \"t0\" "
            "WHERE (\"t0\".\"region\" = 'x'' OR ''1''=''1')");
}

}  // namespace
}  // namespace parley::service
