// Thresholds on free SQL (issue 16) through the real `parley` binary: an owner sets a custom rule
// with aggregation_thresholds and comparison controls (`parley rule set`, validated), a provider's
// query returns only the groups supported by enough people, `query explain` shows the rewrite,
// and an attempt to single out one person is refused with exit code 3.
#include <string>

#include "cli_test_support.h"

namespace parley::cli_test {
namespace {

constexpr char kRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"],
        "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3}],
        "allowed_literal_comparison_columns": ["dept", "age"]})";

class CliThresholdsE2eTest : public CliTest {
 protected:
  void SetUpRoom() {
    std::string staff = "user_id,dept,salary,age\n";
    for (int i = 1; i <= 12; ++i) {
      const char* dept = i <= 6 ? "eng" : i <= 10 ? "ops" : "law";
      staff += "u" + std::to_string(100 + i) + "," + dept + "," +
               std::to_string(i == 1 ? 900 : 100 + i) + "," + std::to_string(i == 1 ? 61 : 30) +
               "\n";
    }
    WriteText(dir_ / "staff.csv", staff);
    Ok("hr", {"collaboration", "create", "room"});
    Ok("hr", {"member", "add", "-c", "room", "analyst", "--abilities", "query,receive"});
    Ok("hr", {"table", "add", "-c", "room", "staff", "--source", (dir_ / "staff.csv").string()});
  }
};

TEST_F(CliThresholdsE2eTest, RuleIsValidatedThenGroupsBelowTheMinimumAreSuppressed) {
  SetUpRoom();
  Outcome bad = As("hr", {"rule", "set", "-c", "room", "staff", "--json",
                          R"({"kind": "custom", "aggregation_thresholds": [{"identity_column":
                              "user_id", "minimum": 1}]})"});
  EXPECT_EQ(bad.exit_code, kExitError) << bad;
  EXPECT_EQ(bad.err,
            "error: rule: aggregation_thresholds[0].minimum: 1 is outside the allowed range 2 to "
            "100000\n");
  Ok("hr", {"rule", "set", "-c", "room", "staff", "--json", kRule});
  Outcome policy = Ok("analyst", {"policy", "-c", "room"});
  EXPECT_NE(policy.out.find("      thresholds: at least 3 distinct user_id per row\n"
                            "      aggregate arguments: plain columns only\n"
                            "      compared with a literal: age, dept\n"),
            std::string::npos)
      << policy;

  const std::string sql = "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept ORDER BY dept";
  Outcome explained = Ok("analyst", {"query", "explain", "-c", "room", "--sql", sql});
  EXPECT_NE(explained.out.find("thresholds (groups below them are dropped):\n  at least 3 "
                               "distinct staff.user_id per row\n"),
            std::string::npos)
      << explained;
  EXPECT_NE(explained.out.find("WHERE (coalesce(\"t1\".\"__parley_s0\", 0) >= 3)"),
            std::string::npos)
      << explained;

  Outcome run = Ok("analyst", {"query", "run", "-c", "room", "--sql", sql});
  EXPECT_EQ(run.out,
            "dept | n\n"
            "-----+--\n"
            "eng  | 6\n"
            "ops  | 4\n"
            "(2 rows)\n")
      << run;
  EXPECT_EQ(run.err, "query 1: 2 rows for analyst\n");

  // The victim's own row, and one person's group, are never released.
  Outcome victim = Ok("analyst", {"query", "run", "-c", "room", "--sql",
                                  "SELECT dept, salary FROM staff WHERE age = 61 UNION ALL "
                                  "SELECT dept, AVG(salary) FROM staff GROUP BY dept ORDER BY 1"});
  EXPECT_EQ(victim.out,
            "dept | salary\n"
            "-----+-------------------\n"
            "eng  | 236.66666666666666\n"
            "ops  |              108.5\n"
            "(2 rows)\n")
      << victim;
}

TEST_F(CliThresholdsE2eTest, SinglingOutAPersonIsRefused) {
  SetUpRoom();
  Ok("hr", {"rule", "set", "-c", "room", "staff", "--json", kRule});
  Outcome refused = As("analyst", {"query", "run", "-c", "room", "--sql",
                                   "SELECT AVG(salary) FROM staff WHERE user_id = 'u101'"});
  EXPECT_EQ(refused.exit_code, kExitRejected) << refused;
  EXPECT_EQ(refused.err,
            "query rejected: 1 violation\n"
            "  1. identity column 'user_id' of table 'staff' may not be compared with a literal: "
            "that picks individuals out (in WHERE, at line 1, column 45)\n"
            "     rule: custom rule of table staff (owner hr), column user_id\n"
            "     hint: compare identity columns only with columns of other rows (joins)\n");
  Outcome literal = As("analyst", {"query", "run", "-c", "room", "--sql",
                                   "SELECT dept, COUNT(*) AS n FROM staff WHERE salary > 800 "
                                   "GROUP BY dept"});
  EXPECT_EQ(literal.exit_code, kExitRejected) << literal;
  EXPECT_NE(literal.err.find("column 'salary' of table 'staff' may not be compared with a "
                             "literal (in WHERE, at line 1, column 52)"),
            std::string::npos)
      << literal;
}

}  // namespace
}  // namespace parley::cli_test
