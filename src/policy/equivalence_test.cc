// The ProtectionTracer's own contract: which value a reason names, where, and in what order.
// What it protects is pinned case by case in tests/policy_corpus/equality.test.
#include "policy/equivalence.h"

#include <gtest/gtest.h>

#include <string>

#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::policy {
namespace {

class Tables : public sql::SchemaProvider {
 public:
  const sql::TableSchema* FindTable(std::string_view name) const override {
    if (name == "mine") return &mine_;
    if (name == "theirs") return &theirs_;
    return nullptr;
  }
  const sql::TableSchema mine_{
      "mine", "runner", {{"n", sql::TypeKind::kBigint}, {"label", sql::TypeKind::kVarchar}}};
  const sql::TableSchema theirs_{
      "theirs", "owner", {{"id", sql::TypeKind::kBigint}, {"code", sql::TypeKind::kBigint}}};
};

class ProtectionTracerTest : public testing::Test {
 protected:
  const sql::BoundQuery& BindQuery(const std::string& text) {
    text_ = text;
    auto statement = sql::ParseSelect(text_);
    EXPECT_TRUE(statement.ok()) << statement.status();
    auto bound = sql::Bind(**statement, tables_, text_);
    EXPECT_TRUE(bound.ok()) << bound.status();
    query_ = std::move(*bound);
    return query_;
  }
  static bool TheirsIsProtected(const sql::TableSchema& table, const std::string&) {
    return table.name == "theirs";
  }

  Tables tables_;
  std::string text_;
  sql::BoundQuery query_;
};

TEST_F(ProtectionTracerTest, ColumnOfAFlatQueryNamesTheLastLinkOfTheChain) {
  const sql::BoundQuery& query =
      BindQuery("SELECT a.n, b.label FROM mine a, mine b, theirs t WHERE t.id = b.n AND a.n = b.n");
  ProtectionTracer tracer(query, TheirsIsProtected);
  std::optional<EqualityReason> reason = tracer.EqualityOf(*query.select[0].expr);
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(reason->protected_column.first, &tables_.theirs_);
  EXPECT_EQ(reason->protected_column.second, "id");
  EXPECT_EQ(reason->predicate, "the equality");
  EXPECT_EQ(reason->clause, "WHERE");
  EXPECT_EQ(text_.substr(reason->location - 4, 9), "a.n = b.n");
  EXPECT_EQ(ProtectedByEqualityMessage("column 'n'", *reason, text_),
            "column 'n' is compared equal to column 'id' of table 'theirs', which may not be "
            "output (by the equality in WHERE at line 1, column 76)");
  // b.label is in the same row as a protected value, not equal to it.
  EXPECT_FALSE(tracer.EqualityOf(*query.select[1].expr).has_value());
}

TEST_F(ProtectionTracerTest, OutputSeparatesDataFlowFromEquality) {
  const sql::BoundQuery& query =
      BindQuery("SELECT t.code, m.n FROM mine m JOIN theirs t ON m.n = t.id OR m.n = t.code");
  ProtectionTracer tracer(query, TheirsIsProtected);
  ValueSources code = tracer.Output(0);
  EXPECT_EQ(code.columns.size(), 1u);
  EXPECT_TRUE(code.columns.contains({&tables_.theirs_, "code"}));
  ValueSources n = tracer.Output(1);
  EXPECT_EQ(n.columns.size(), 1u);
  EXPECT_TRUE(n.columns.contains({&tables_.mine_, "n"}));
  // Both branches of the OR equate m.n; a value keeps the first reason found (the left branch).
  ASSERT_EQ(n.equalities.size(), 1u);
  EXPECT_EQ(n.equalities.begin()->first, (std::pair<std::string, std::string>{"theirs", "id"}));
  EXPECT_EQ(n.equalities.begin()->second.clause, "JOIN ON");
}

TEST_F(ProtectionTracerTest, MessageWithoutAPositionLeavesItOut) {
  EqualityReason reason{{&tables_.theirs_, "id"}, "IN (subquery)", "WHERE", -1};
  EXPECT_EQ(ProtectedByEqualityMessage("output column 'x'", reason, "SELECT 1"),
            "output column 'x' is compared equal to column 'id' of table 'theirs', which may not "
            "be output (by IN (subquery) in WHERE)");
}

}  // namespace
}  // namespace parley::policy
