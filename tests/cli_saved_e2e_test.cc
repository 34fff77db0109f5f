// Saved results as derived tables (issue 16 §3) through the real `parley` binary: `query run
// --save-as` registers the result under the rule derived from its input, `table show` and
// `parley policy` show it, a later `rule set` that loosens it is refused (tightening is allowed),
// and the per-person rows saved under an exemption are suppressed when queried again.
#include <string>

#include "cli_test_support.h"

namespace parley::cli_test {
namespace {

// Lists of ids and departments are exempt on staff (a match may list them); any other output
// row needs 3 people.
constexpr char kRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"],
        "allowed_result_receivers": ["analyst", "hr"],
        "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3,
          "output_column_thresholds": [{"column": "user_id", "minimum": 0},
                                       {"column": "dept", "minimum": 0}]}]})";

class CliSavedE2eTest : public CliTest {
 protected:
  void SetUpRoom() {
    std::string staff = "user_id,dept,salary\n";
    for (int i = 1; i <= 8; ++i) {
      staff += "u" + std::to_string(100 + i) + "," + (i <= 5 ? "eng" : "ops") + "," +
               std::to_string(100 * i) + "\n";
    }
    WriteText(dir_ / "staff.csv", staff);
    Ok("hr", {"collaboration", "create", "room"});
    Ok("hr", {"member", "add", "-c", "room", "analyst", "--abilities", "query,receive"});
    EXPECT_EQ(As("hr", {"member", "add", "-c", "room", "ads", "--abilities", "receive"}).exit_code,
              kExitPending);
    Ok("analyst", {"change", "approve", "-c", "room", "2"});
    Ok("hr", {"table", "add", "-c", "room", "staff", "--source", (dir_ / "staff.csv").string()});
    Ok("hr", {"rule", "set", "-c", "room", "staff", "--json", kRule});
  }
};

TEST_F(CliSavedE2eTest, SaveShowTightenAndQueryASavedResult) {
  SetUpRoom();
  Outcome saved = Ok("analyst", {"query", "run", "-c", "room", "--sql",
                                 "SELECT user_id, dept FROM staff", "--save-as", "people"});
  EXPECT_EQ(saved.err,
            "query 1: 8 rows for analyst\n"
            "saved the result as table 'people' (its rule: parley table show people)\n")
      << saved;

  Outcome shown = Ok("hr", {"table", "show", "-c", "room", "people"});
  EXPECT_NE(shown.out.find("table people (owner analyst, parquet)"), std::string::npos) << shown;
  EXPECT_NE(shown.out.find("\"derived_from\""), std::string::npos) << shown;
  Outcome policy = Ok("analyst", {"policy", "-c", "room"});
  EXPECT_NE(policy.out.find("    people (owner analyst): custom rule\n"), std::string::npos)
      << policy;
  EXPECT_NE(policy.out.find("      thresholds: at least 3 distinct user_id per row\n"),
            std::string::npos)
      << policy;
  EXPECT_NE(policy.out.find("      saved result of: staff (co-owners: hr; its rule may only be "
                            "tightened from the one it inherited)\n"),
            std::string::npos)
      << policy;

  // Loosening is refused: a new receiver, or the exemption staff had.
  Outcome widened =
      As("analyst", {"rule", "set", "-c", "room", "people", "--json",
                     R"({"kind": "custom", "any_query": true, "allowed_analysis_providers":
                      ["analyst"], "allowed_result_receivers": ["analyst", "hr", "ads"],
                      "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3}]})"});
  EXPECT_EQ(widened.exit_code, kExitError) << widened;
  EXPECT_EQ(widened.err,
            "error: rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_result_receivers adds 'ads'\n");
  Outcome exempt =
      As("analyst",
         {"rule", "set", "-c", "room", "people", "--json",
          R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"],
           "allowed_result_receivers": ["analyst", "hr"],
           "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3,
             "output_column_thresholds": [{"column": "dept", "minimum": 0}]}]})"});
  EXPECT_EQ(exempt.exit_code, kExitError) << exempt;
  // Tightening is allowed.
  Ok("analyst", {"rule", "set", "-c", "room", "people", "--json",
                 R"({"kind": "custom", "any_query": true, "allowed_analysis_providers":
                     ["analyst"], "allowed_result_receivers": ["analyst"],
                     "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 4}]})"});

  // The per-person rows saved under the exemption are suppressed when queried again; groups of
  // at least 4 people are released.
  Outcome rows = Ok("analyst", {"query", "run", "-c", "room", "--sql",
                                "SELECT user_id, dept "
                                "FROM people"});
  EXPECT_EQ(rows.out,
            "user_id | dept\n"
            "--------+-----\n"
            "(0 rows)\n")
      << rows;
  Outcome groups = Ok("analyst", {"query", "run", "-c", "room", "--sql",
                                  "SELECT dept, COUNT(*) AS n FROM people GROUP BY dept"});
  EXPECT_EQ(groups.out,
            "dept | n\n"
            "-----+--\n"
            "eng  | 5\n"
            "(1 row)\n")
      << groups;
}

TEST_F(CliSavedE2eTest, AResultWhoseIdentityDoesNotReachTheOutputIsNotSaved) {
  SetUpRoom();
  Outcome refused =
      As("analyst", {"query", "run", "-c", "room", "--sql",
                     "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept", "--save-as", "g"});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_NE(refused.err.find("cannot save this result: table 'staff' requires at least 3 "
                             "distinct values of its identity column 'user_id'"),
            std::string::npos)
      << refused;
  Outcome missing = As("hr", {"table", "show", "-c", "room", "g"});
  EXPECT_NE(missing.exit_code, 0) << missing;
}

}  // namespace
}  // namespace parley::cli_test
