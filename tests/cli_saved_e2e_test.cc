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

// `query explain --save-as` shows the rule the saved table would get, and saves nothing.
TEST_F(CliSavedE2eTest, ExplainSaveAsShowsTheDerivedRuleWithoutSaving) {
  SetUpRoom();
  Outcome preview = Ok("analyst", {"query", "explain", "-c", "room", "--sql",
                                   "SELECT user_id, dept FROM staff", "--save-as", "people"});
  EXPECT_NE(preview.out.find("saved as table 'people' (nothing has been run or saved), its rule "
                             "would be:\n"
                             "      free-form queries: by analyst, hr\n"
                             "      disallowed output columns: none\n"
                             "      result receivers: analyst, hr\n"
                             "      approved templates: none\n"
                             "      thresholds: at least 3 distinct user_id per row\n"
                             "      aggregate arguments: plain columns only\n"
                             "      saved result of: staff (co-owners: hr; its rule may only be "
                             "tightened from the one it inherited)\n"
                             "      templates over it run once all approve: analyst, hr\n"),
            std::string::npos)
      << preview;
  Outcome missing = As("hr", {"table", "show", "-c", "room", "people"});
  EXPECT_NE(missing.exit_code, 0) << missing;
  Outcome runs = Ok("hr", {"query", "list", "-c", "room"});
  EXPECT_EQ(runs.out.find("SELECT user_id"), std::string::npos) << runs;

  // A result that could not be saved says why, and fails as the run would.
  Outcome refused =
      As("analyst", {"query", "explain", "-c", "room", "--sql",
                     "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept", "--save-as", "g"});
  EXPECT_EQ(refused.exit_code, kExitError) << refused;
  EXPECT_NE(refused.out.find("not savable as table 'g': cannot save this result: table 'staff' "
                             "requires at least 3 distinct values of its identity column "
                             "'user_id' per output row"),
            std::string::npos)
      << refused;
  // JSON carries the same.
  Outcome json = Ok("analyst", {"--json", "query", "explain", "-c", "room", "--sql",
                                "SELECT user_id, dept FROM staff", "--save-as", "people"});
  EXPECT_NE(json.out.find("\"saved_table\""), std::string::npos) << json;
  EXPECT_NE(json.out.find("\"co_owners\": [\n"), std::string::npos) << json;
}

// A template over a saved table runs only once every co-owner has approved it; `template show`
// and `template list` say who has and who has not.
TEST_F(CliSavedE2eTest, ATemplateOverASavedTableNeedsEveryCoOwner) {
  SetUpRoom();
  Ok("analyst", {"query", "run", "-c", "room", "--sql", "SELECT user_id, dept FROM staff",
                 "--save-as", "people"});
  // Adding a member is a change request every member approves (change 3).
  As("hr", {"member", "add", "-c", "room", "bi", "--abilities", "query,receive"});
  As("analyst", {"change", "approve", "-c", "room", "3"});
  As("ads", {"change", "approve", "-c", "room", "3"});
  Outcome created =
      Ok("bi", {"template", "create", "-c", "room", "by_dept", "--sql",
                "SELECT dept, COUNT(*) AS n FROM people GROUP BY dept ORDER BY dept"});
  std::string id = created.out.substr(0, created.out.find('\n'));
  ASSERT_EQ(id.size(), 64u) << created;

  Outcome shown = Ok("bi", {"template", "show", "-c", "room", id});
  EXPECT_NE(shown.out.find("    people  owner analyst  approved: no  (saved result; co-owners "
                           "approved by none; pending analyst, hr)\n"
                           "  runnable: no (not approved by analyst for people, hr for people)\n"),
            std::string::npos)
      << shown;
  Outcome refused = As("bi", {"template", "run", "-c", "room", id, "--receiver", "hr"});
  EXPECT_EQ(refused.exit_code, kExitRejected) << refused;
  EXPECT_NE(refused.err.find("waiting for analyst, hr to approve it"), std::string::npos)
      << refused;
  // Only a co-owner approves, and only for itself.
  Outcome outsider = As("bi", {"template", "approve", "-c", "room", id, "--table", "people"});
  EXPECT_EQ(outsider.exit_code, 4) << outsider;
  Ok("hr", {"template", "approve", "-c", "room", id, "--table", "people"});
  Outcome listed = Ok("bi", {"template", "list", "-c", "room"});
  EXPECT_NE(listed.out.find("runnable no  co-owners of people: approved by hr; pending analyst\n"),
            std::string::npos)
      << listed;
  Ok("analyst", {"template", "approve", "-c", "room", id, "--table", "people"});
  listed = Ok("bi", {"template", "list", "-c", "room"});
  EXPECT_NE(
      listed.out.find("runnable yes  co-owners of people: approved by analyst, hr; pending none\n"),
      std::string::npos)
      << listed;
  Ok("bi", {"template", "run", "-c", "room", id, "--receiver", "hr"});
  // A tighter rule set by the owner voids both approvals.
  Ok("analyst", {"rule", "set", "-c", "room", "people", "--json",
                 R"({"kind": "custom", "any_query": true, "allowed_analysis_providers":
                     ["analyst"], "allowed_result_receivers": ["hr"],
                     "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 4}]})"});
  shown = Ok("bi", {"template", "show", "-c", "room", id});
  EXPECT_NE(shown.out.find("approved by none; pending analyst, hr"), std::string::npos) << shown;
  refused = As("bi", {"template", "run", "-c", "room", id, "--receiver", "hr"});
  EXPECT_EQ(refused.exit_code, kExitRejected) << refused;
}

}  // namespace
}  // namespace parley::cli_test
