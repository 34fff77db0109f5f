#include "sql/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::sql {
namespace {

std::string ErrorOf(std::string_view sql) {
  absl::StatusOr<std::unique_ptr<SelectStatement>> statement = ParseSelect(sql);
  EXPECT_FALSE(statement.ok()) << sql;
  if (statement.ok()) return "";
  EXPECT_EQ(statement.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(statement.status().message());
}

// The first SELECT item of `sql`, which must parse.
const Expr& FirstItem(const SelectStatement& statement) { return *statement.select.at(0).expr; }

std::unique_ptr<SelectStatement> Parse(std::string_view sql) {
  absl::StatusOr<std::unique_ptr<SelectStatement>> statement = ParseSelect(sql);
  EXPECT_TRUE(statement.ok()) << sql << ": " << statement.status();
  return statement.ok() ? std::move(*statement) : std::make_unique<SelectStatement>();
}

TEST(ParserPosition, CountsLinesAndColumnsFromOne) {
  std::string text = "SELECT a\nFROM t\n  WHERE x";
  EXPECT_EQ(PositionOf(text, 0).line, 1);
  EXPECT_EQ(PositionOf(text, 0).column, 1);
  EXPECT_EQ(PositionOf(text, 7).column, 8);
  SourcePosition where = PositionOf(text, static_cast<int>(text.find("WHERE")));
  EXPECT_EQ(where.line, 3);
  EXPECT_EQ(where.column, 3);
  EXPECT_EQ(DescribePosition(text, static_cast<int>(text.find("FROM"))), "line 2, column 1");
}

TEST(ParserPosition, CountsCharactersNotUtf8Bytes) {
  // é is 2 bytes, € 3, 𝄞 4: the x is byte 16 but character 10.
  std::string text = "SELECT 'é€𝄞' x";
  int x = static_cast<int>(text.find(" x")) + 1;
  EXPECT_EQ(x, 19);
  EXPECT_EQ(DescribePosition(text, x), "line 1, column 14");
  std::string two_lines = "SELECT 'ü'\n  , 'ö', y";
  EXPECT_EQ(DescribePosition(two_lines, static_cast<int>(two_lines.find('y'))),
            "line 2, column 10");
}

TEST(ParserPosition, UnknownAndOutOfRangeOffsets) {
  EXPECT_EQ(DescribePosition("SELECT 1", -1), "");
  EXPECT_EQ(DescribePosition("SELECT 1", 100), "line 1, column 9");
}

TEST(ParserSelect, SyntaxErrorNamesThePosition) {
  EXPECT_EQ(ErrorOf("SELECT FROM WHERE"), "syntax error at or near \"WHERE\" (line 1, column 13)");
  EXPECT_EQ(ErrorOf("SELECT a\nFROM t\nWHERE"), "syntax error at end of input (line 3, column 6)");
  EXPECT_EQ(ErrorOf("SELECT a,\n  b c d FROM t"),
            "syntax error at or near \"d\" (line 2, column 7)");
}

TEST(ParserSelect, SyntaxErrorPositionCountsCharactersAfterUtf8) {
  // PostgreSQL reports error positions in characters, node locations in bytes.
  EXPECT_EQ(ErrorOf("SELECT 'é€𝄞' AS x FRM t"),
            "syntax error at or near \"FRM\" (line 1, column 19)");
  EXPECT_EQ(ErrorOf("SELECT 'ü'\n  'ö' y z"), "syntax error at or near \"z\" (line 2, column 9)");
}

TEST(ParserSelect, OnlyOneStatement) {
  EXPECT_EQ(ErrorOf("SELECT 1; DROP TABLE t"),
            "only one statement per request is allowed; found 2 (the second starts at line 1, "
            "column 11)");
  EXPECT_EQ(ErrorOf("SELECT 1;\n\n   DELETE FROM t;"),
            "only one statement per request is allowed; found 2 (the second starts at line 3, "
            "column 4)");
  EXPECT_TRUE(ParseSelect("SELECT 1;").ok());
  EXPECT_TRUE(ParseSelect("SELECT 1; -- DROP TABLE t").ok());
  EXPECT_TRUE(ParseSelect("SELECT 1; ;").ok());
}

TEST(ParserSelect, EmptyRequest) {
  EXPECT_EQ(ErrorOf(""), "the request holds no SQL statement");
  EXPECT_EQ(ErrorOf("  ;  -- only a comment"), "the request holds no SQL statement");
}

TEST(ParserSelect, NulByteIsRejectedNotTruncated) {
  std::string sql = "SELECT 1";
  sql.push_back('\0');
  sql += "; DROP TABLE t";
  EXPECT_EQ(ErrorOf(sql), "the request contains a NUL byte");
}

TEST(ParserSelect, NamesTheStatementKind) {
  const std::pair<const char*, const char*> kCases[] = {
      {"INSERT INTO t VALUES (1)", "INSERT"},
      {"UPDATE t SET a = 1", "UPDATE"},
      {"DELETE FROM t", "DELETE"},
      {"COPY t TO '/tmp/x'", "COPY"},
      {"SET threads = 1", "SET"},
      {"SHOW threads", "SHOW"},
      {"CREATE TABLE x (a int)", "CREATE TABLE"},
      {"CREATE TABLE x AS SELECT 1", "CREATE TABLE AS"},
      {"CREATE VIEW v AS SELECT 1", "CREATE VIEW"},
      {"DROP TABLE t", "DROP"},
      {"EXPLAIN SELECT 1", "EXPLAIN"},
      {"BEGIN", "a transaction statement"},
      {"LOAD 'httpfs'", "LOAD"},
      {"TRUNCATE t", "TRUNCATE"},
      {"CREATE INDEX i ON t (a)", "INDEX"},
  };
  for (const auto& [sql, kind] : kCases) {
    EXPECT_EQ(ErrorOf(sql), std::string("only SELECT statements can be run; this is ") + kind)
        << sql;
  }
}

TEST(ParserSelect, IntegerConstantsKeepTheirSign) {
  auto statement = Parse(
      "SELECT -1, 0, -0, - 7, 42, -2147483648, 99999999999999999999, -99999999999999999999 FROM t");
  std::vector<std::string> texts;
  for (const SelectItem& item : statement->select) {
    ASSERT_EQ(item.expr->kind, ExprKind::kConstant);
    EXPECT_EQ(item.expr->constant.kind, ConstantKind::kInteger);
    texts.push_back(item.expr->constant.text);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"-1", "0", "-0", "-7", "42", "-2147483648",
                                             "99999999999999999999", "-99999999999999999999"}));
}

TEST(ParserSelect, SubtractionIsNotANegativeConstant) {
  auto statement = Parse("SELECT a - 1, a-1, 2 - -3 FROM t");
  const Expr& first = FirstItem(*statement);
  ASSERT_EQ(first.kind, ExprKind::kBinaryOp);
  EXPECT_EQ(first.name, "-");
  EXPECT_EQ(first.args[1]->constant.text, "1");
  EXPECT_EQ(statement->select[1].expr->args[1]->constant.text, "1");
  const Expr& third = *statement->select[2].expr;
  EXPECT_EQ(third.args[0]->constant.text, "2");
  EXPECT_EQ(third.args[1]->constant.text, "-3");
}

TEST(ParserSelect, OtherConstants) {
  auto statement = Parse("SELECT 1.5, -2.5e3, .5, TRUE, false, NULL, 'it''s', '' FROM t");
  auto constant = [&](size_t i) { return statement->select.at(i).expr->constant; };
  EXPECT_EQ(constant(0).kind, ConstantKind::kFloat);
  EXPECT_EQ(constant(0).text, "1.5");
  EXPECT_EQ(constant(1).text, "-2.5e3");
  EXPECT_EQ(constant(2).text, ".5");
  EXPECT_EQ(constant(3).kind, ConstantKind::kBoolean);
  EXPECT_EQ(constant(3).text, "true");
  EXPECT_EQ(constant(4).text, "false");
  EXPECT_EQ(constant(5).kind, ConstantKind::kNull);
  EXPECT_EQ(constant(6).kind, ConstantKind::kString);
  EXPECT_EQ(constant(6).text, "it's");
  EXPECT_EQ(constant(7).kind, ConstantKind::kString);
  EXPECT_EQ(constant(7).text, "");
}

TEST(ParserSelect, NegatedParenthesisedConstantIsNotGuessed) {
  // PostgreSQL folds -(2) into a constant whose text is not a number: rejected, not misread.
  auto statement = Parse("SELECT -(2) FROM t");
  EXPECT_EQ(FirstItem(*statement).kind, ExprKind::kUnsupported);
}

TEST(ParserSelect, IdentifiersAreCaseFoldedUnlessQuoted) {
  auto statement = Parse("SELECT R.Hashed_Email, \"Hashed_Email\" FROM \"Retail\" R");
  EXPECT_EQ(FirstItem(*statement).name_parts, (std::vector<std::string>{"r", "hashed_email"}));
  EXPECT_EQ(statement->select[1].expr->name_parts, (std::vector<std::string>{"Hashed_Email"}));
  EXPECT_EQ(statement->from.at(0)->name, "Retail");
  EXPECT_EQ(statement->from.at(0)->alias, "r");
}

TEST(ParserSelect, SetOperationsAreReadNotCrashed) {
  auto statement = Parse("SELECT a FROM t UNION ALL SELECT b FROM u");
  EXPECT_EQ(statement->set_operation, SetOperation::kUnion);
  EXPECT_TRUE(statement->set_all);
  ASSERT_NE(statement->set_right, nullptr);
  EXPECT_EQ(statement->set_right->from.at(0)->name, "u");
  EXPECT_EQ(Parse("SELECT a FROM t EXCEPT SELECT b FROM u")->set_operation, SetOperation::kExcept);
}

TEST(ParserSelect, CteBodiesAreRead) {
  auto statement = Parse("WITH s AS (SELECT a FROM secret) SELECT a FROM s");
  EXPECT_TRUE(statement->has_with);
  EXPECT_EQ(statement->with_location, 5);
  ASSERT_EQ(statement->ctes.size(), 1u);
  EXPECT_EQ(statement->ctes[0]->from.at(0)->name, "secret");
}

TEST(ParserSelect, SqlStandardFunctionSpellings) {
  auto statement =
      Parse("SELECT TRIM(a), TRIM(BOTH FROM a), EXTRACT(year FROM d), COALESCE(a, b) FROM t");
  EXPECT_EQ(statement->select[0].expr->name, "trim");
  EXPECT_EQ(statement->select[1].expr->name, "trim");
  EXPECT_EQ(statement->select[2].expr->name, "extract");
  EXPECT_EQ(statement->select[3].expr->name, "coalesce");
}

TEST(ParserSelect, TypedLiteralIsACastWithAPosition) {
  auto statement = Parse("SELECT DATE '2024-01-01' FROM t");
  const Expr& cast = FirstItem(*statement);
  ASSERT_EQ(cast.kind, ExprKind::kCast);
  EXPECT_EQ(cast.type_name, "date");
  EXPECT_EQ(cast.location, 7);
}

TEST(ParserSelect, ClausesAndFlags) {
  auto statement = Parse(
      "SELECT DISTINCT a, count(*) AS n FROM t JOIN u ON t.k = u.k LEFT JOIN v ON v.k = u.k "
      "WHERE a > 1 GROUP BY a HAVING count(*) > 2 ORDER BY n DESC NULLS LAST, a LIMIT 5 OFFSET 1");
  EXPECT_TRUE(statement->distinct);
  EXPECT_EQ(statement->select[1].alias, "n");
  EXPECT_TRUE(statement->select[1].expr->star_argument);
  const TableRef& join = *statement->from.at(0);
  EXPECT_EQ(join.kind, TableRefKind::kJoin);
  EXPECT_EQ(join.join_type, JoinType::kLeft);
  EXPECT_EQ(join.left->join_type, JoinType::kInner);
  EXPECT_NE(statement->where, nullptr);
  EXPECT_EQ(statement->group_by.size(), 1u);
  EXPECT_NE(statement->having, nullptr);
  ASSERT_EQ(statement->order_by.size(), 2u);
  EXPECT_TRUE(statement->order_by[0].descending);
  EXPECT_EQ(statement->order_by[0].nulls_first, false);
  EXPECT_FALSE(statement->order_by[1].nulls_first.has_value());
  EXPECT_EQ(statement->limit->constant.text, "5");
  EXPECT_EQ(statement->offset->constant.text, "1");
}

TEST(ParserSelect, ParametersKeepTheirNumber) {
  auto statement = Parse("SELECT $2 FROM t");
  const Expr& parameter = FirstItem(*statement);
  EXPECT_EQ(parameter.kind, ExprKind::kParameter);
  EXPECT_EQ(parameter.parameter_index, 2);
}

TEST(ParserSelect, UnmodelledConstructsAreNamedNotDropped) {
  EXPECT_EQ(FirstItem(*Parse("SELECT ARRAY[1] FROM t")).what, "an ARRAY constructor");
  EXPECT_EQ(FirstItem(*Parse("SELECT a COLLATE \"C\" FROM t")).what, "COLLATE");
  EXPECT_TRUE(FirstItem(*Parse("SELECT count(*) OVER () FROM t")).has_over);
  EXPECT_EQ(Parse("SELECT a INTO x FROM t")->unsupported,
            (std::vector<std::string>{"SELECT INTO"}));
  EXPECT_EQ(Parse("SELECT 1 FROM read_csv('x')")->from.at(0)->what, "a table function");
  EXPECT_EQ(Parse("SELECT 1 FROM read_csv('x')")->from.at(0)->location, 14);
}

}  // namespace
}  // namespace parley::sql
