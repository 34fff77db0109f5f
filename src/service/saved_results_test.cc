// Saved query results as derived tables (issue 16 §3, docs/rules.md "Derived tables"): the rule
// derived from the inputs, each inheritance rule in both directions (a later rule may tighten,
// never loosen), refusals before anything runs, and the threshold escape through a saved table.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_testing.h"
#include "gtest/gtest.h"
#include "policy/rule.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;

// hr's staff: a threshold of 3 people per row, but lists of ids and departments are exempt (a
// PSI-style match may list them); email never leaves.
constexpr char kStaffRule[] = R"({"kind": "custom", "any_query": true,
  "allowed_analysis_providers": ["analyst"], "disallowed_output_columns": ["email"],
  "allowed_result_receivers": ["analyst", "auditor", "hr"],
  "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3,
    "output_column_thresholds": [{"column": "user_id", "minimum": 0},
                                 {"column": "dept", "minimum": 0}]}]})";
// crm's segments: only `segment` may be compared with a literal.
constexpr char kCrmRule[] = R"({"kind": "custom", "any_query": true,
  "allowed_analysis_providers": ["analyst"],
  "allowed_result_receivers": ["analyst", "auditor", "crm"],
  "allowed_literal_comparison_columns": ["segment"]})";

constexpr char kMatch[] =
    "SELECT s.user_id, s.dept FROM staff s JOIN crm c ON s.user_id = c.user_id";

// The rule Parley derives for kMatch (canonical JSON).
constexpr char kDerived[] =
    R"({"aggregation_thresholds":[{"identity_column":"user_id","minimum":3}],)"
    R"("allowed_analyses":[],"allowed_analysis_providers":["analyst"],)"
    R"("allowed_literal_comparison_columns":["dept"],)"
    R"("allowed_result_receivers":["analyst","auditor"],"any_query":true,)"
    R"("derived_from":{"co_owners":["crm","hr"],"inherited":{)"
    R"("aggregation_thresholds":[{"identity_column":"user_id","minimum":3}],)"
    R"("allowed_analyses":[],"allowed_analysis_providers":["analyst"],)"
    R"("allowed_literal_comparison_columns":["dept"],)"
    R"("allowed_result_receivers":["analyst","auditor"],"any_query":true,)"
    R"("disallowed_output_columns":[]},"tables":["crm","staff"]},)"
    R"("disallowed_output_columns":[],"kind":"custom"})";

identity::Caller As(const std::string& member) { return identity::Caller::Embedded(member); }

class SavedResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_saved_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::string staff = "user_id,dept,salary,email\n";
    std::string crm = "user_id,segment\n";
    for (int i = 1; i <= 10; ++i) {
      absl::StrAppendFormat(&staff, "u%02d,%s,%d,p%d@x\n", i, i <= 6 ? "eng" : "ops", 100 * i, i);
      absl::StrAppendFormat(&crm, "u%02d,%s\n", i, i % 2 == 0 ? "gold" : "blue");
    }
    std::ofstream(dir_ / "staff.csv") << staff;
    std::ofstream(dir_ / "crm.csv") << crm;
    std::ofstream(dir_ / "hr_agg.csv") << staff;
    ASSERT_OK_AND_ASSIGN(service_, Service::Open((dir_ / "home").string(), {}));
    NewCollaboration room;
    room.name = "room";
    room.creator_abilities = {identity::Ability::kReceive};
    room.auto_approve = {"add_member"};
    ASSERT_OK(service_->CreateCollaboration(As("hr"), room));
    for (const char* member : {"crm", "auditor"}) {
      ASSERT_OK(service_->AddMember(As("hr"), "room", {member, {identity::Ability::kReceive}}));
    }
    ASSERT_OK(service_->AddMember(
        As("hr"), "room", {"analyst", {identity::Ability::kQuery, identity::Ability::kReceive}}));
    ASSERT_OK(service_->AddTable(
        As("hr"), {"room", "staff", (dir_ / "staff.csv").string(), {}, "files", ""}));
    ASSERT_OK(service_->SetRule(As("hr"), "room", "staff", kStaffRule));
    ASSERT_OK(service_->AddTable(As("crm"),
                                 {"room", "crm", (dir_ / "crm.csv").string(), {}, "files", ""}));
    ASSERT_OK(service_->SetRule(As("crm"), "room", "crm", kCrmRule));
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  // Saves kMatch as `matched` and returns its stored rule.
  std::string SaveMatch() {
    absl::StatusOr<QueryOutcome> saved =
        service_->RunAndSave(As("analyst"), "room", kMatch, {}, "matched");
    EXPECT_TRUE(saved.ok()) << saved.status();
    if (!saved.ok()) return "";
    EXPECT_EQ(saved->row_count, 10);
    absl::StatusOr<TableView> view = service_->ShowTable(As("crm"), "room", "matched");
    EXPECT_TRUE(view.ok()) << view.status();
    if (!view.ok()) return "";
    EXPECT_EQ(view->owner, "analyst");
    return view->rule_json.value_or("");
  }

  absl::Status SetMatched(const std::string& rule) {
    return service_->SetRule(As("analyst"), "room", "matched", rule);
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(SavedResultsTest, TheSavedTableGetsTheRuleDerivedFromItsInputs) {
  EXPECT_EQ(SaveMatch(), kDerived);
}

// The rule as the owner of `matched` may write it, with `changes` spliced in.
std::string Matched(const std::string& changes) {
  return absl::StrCat(R"({"kind": "custom", "any_query": true,
    "allowed_analysis_providers": ["analyst"], )",
                      changes, "}");
}
constexpr char kThreshold[] =
    R"("aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3}])";
constexpr char kLiteral[] = R"("allowed_literal_comparison_columns": ["dept"])";
constexpr char kReceivers[] = R"("allowed_result_receivers": ["analyst", "auditor"])";

TEST_F(SavedResultsTest, ReceiversMayNarrowButNotWiden) {
  SaveMatch();
  ASSERT_OK(SetMatched(Matched(
      absl::StrCat(kThreshold, ",", kLiteral, R"(, "allowed_result_receivers": ["analyst"])"))));
  absl::Status widened = SetMatched(Matched(absl::StrCat(
      kThreshold, ",", kLiteral, R"(, "allowed_result_receivers": ["analyst", "hr"])")));
  EXPECT_EQ(widened.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(widened.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_result_receivers adds 'hr'");
  absl::Status dropped = SetMatched(Matched(absl::StrCat(kThreshold, ",", kLiteral)));
  EXPECT_EQ(dropped.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_result_receivers must stay within [analyst, auditor]");
}

TEST_F(SavedResultsTest, ThresholdsMayRiseButNotFallOrExempt) {
  SaveMatch();
  ASSERT_OK(SetMatched(Matched(
      absl::StrCat(R"("aggregation_thresholds": [{"identity_column": "user_id", "minimum": 5}],)",
                   kLiteral, ",", kReceivers))));
  absl::Status lower = SetMatched(Matched(
      absl::StrCat(R"("aggregation_thresholds": [{"identity_column": "user_id", "minimum": 2}],)",
                   kLiteral, ",", kReceivers)));
  EXPECT_EQ(lower.message(),
            "rule: this table holds a saved result and its rule may only be tightened: the "
            "minimum for identity column 'user_id' is lowered below 3");
  absl::Status exempt = SetMatched(Matched(absl::StrCat(
      R"("aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3,
         "output_column_thresholds": [{"column": "user_id", "minimum": 0}]}],)",
      kLiteral, ",", kReceivers)));
  EXPECT_EQ(exempt.message(),
            "rule: this table holds a saved result and its rule may only be tightened: the "
            "minimum for output column 'user_id' (identity 'user_id') is lowered below 3");
  absl::Status none = SetMatched(Matched(absl::StrCat(kLiteral, ",", kReceivers)));
  EXPECT_EQ(none.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "aggregation_thresholds drops identity column 'user_id'");
}

TEST_F(SavedResultsTest, DisallowedColumnsAndControlsMayOnlyTighten) {
  SaveMatch();
  // Tightening: a disallowed column, a shorter literal list, a column comparison list.
  ASSERT_OK(SetMatched(Matched(absl::StrCat(kThreshold, ",", kReceivers,
                                            R"(, "disallowed_output_columns": ["dept"],
         "allowed_literal_comparison_columns": [],
         "allowed_column_comparison_columns": ["user_id"])"))));
  absl::Status widened = SetMatched(
      Matched(absl::StrCat(kThreshold, ",", kReceivers,
                           R"(, "allowed_literal_comparison_columns": ["dept", "user_id"])")));
  EXPECT_EQ(widened.code(), absl::StatusCode::kInvalidArgument);
  absl::Status removed = SetMatched(Matched(absl::StrCat(kThreshold, ",", kReceivers)));
  EXPECT_EQ(removed.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_literal_comparison_columns is removed");
  absl::Status expressions =
      SetMatched(Matched(absl::StrCat(kThreshold, ",", kReceivers, ",", kLiteral,
                                      R"(, "allowed_aggregate_expressions": "any_expression")")));
  EXPECT_EQ(expressions.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_aggregate_expressions must stay columns_only");
  absl::Status provider = SetMatched(absl::StrCat(
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst", "hr"],)",
      kThreshold, ",", kReceivers, ",", kLiteral, "}"));
  EXPECT_EQ(provider.message(),
            "rule: this table holds a saved result and its rule may only be tightened: "
            "allowed_analysis_providers adds 'hr'");
  absl::Status kind =
      SetMatched(R"({"kind": "list", "join_columns": ["user_id"], "list_columns": ["dept"]})");
  EXPECT_EQ(kind.message(),
            "rule: table 'matched' holds a saved query result: its rule stays a custom rule, and "
            "may only be tightened");
}

TEST_F(SavedResultsTest, DerivedFromIsParleysOwn) {
  std::string stored = SaveMatch();
  // Copied unchanged it is accepted; edited it is refused; on another table it is refused.
  ASSERT_OK(SetMatched(stored));
  std::string edited = stored;
  edited.replace(edited.find(R"("co_owners":["crm","hr"])"), 24, R"("co_owners":["crm"])");
  absl::Status changed = SetMatched(edited);
  EXPECT_EQ(changed.message(),
            "rule: derived_from: differs from the one Parley wrote when the result was saved; "
            "leave it out (it is kept) or copy it unchanged");
  std::string forged = absl::StrCat(
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"],
          "derived_from": {"tables": ["x"], "co_owners": ["hr"], "inherited": {}}})");
  absl::Status claim = service_->SetRule(As("crm"), "room", "crm", forged);
  EXPECT_EQ(claim.message(),
            "rule: derived_from: is written by Parley when a query result is saved (--save-as); "
            "it cannot be set on another table");
}

TEST_F(SavedResultsTest, ThresholdEscapeThroughASavedTableIsSuppressedOrRefused) {
  SaveMatch();
  // Listing ids was exempt on staff; on the saved table every row needs 3 people.
  ASSERT_OK_AND_ASSIGN(QueryOutcome ids, service_->Run(As("analyst"), "room",
                                                       "SELECT user_id, dept FROM matched", {}));
  EXPECT_EQ(ids.row_count, 0);
  ASSERT_OK_AND_ASSIGN(
      QueryOutcome groups,
      service_->Run(As("analyst"), "room",
                    "SELECT dept, COUNT(*) AS n FROM matched GROUP BY dept ORDER BY dept", {}));
  ASSERT_TRUE(groups.result.has_value());
  ASSERT_EQ(groups.result->rows.size(), 2u);
  EXPECT_EQ(groups.result->rows[0][1], "6");
  ASSERT_OK_AND_ASSIGN(
      QueryOutcome victim,
      service_->Run(As("analyst"), "room",
                    "SELECT COUNT(*) AS n FROM matched WHERE user_id = 'u01'", {}));
  EXPECT_FALSE(victim.explanation.verdict.allowed());
  // A receiver the inputs did not allow cannot get the saved rows either.
  absl::StatusOr<QueryOutcome> to_hr = service_->Run(
      As("analyst"), "room", "SELECT dept, COUNT(*) AS n FROM matched GROUP BY dept", {"hr"});
  ASSERT_TRUE(to_hr.ok()) << to_hr.status();
  EXPECT_FALSE(to_hr->explanation.verdict.allowed());
}

TEST_F(SavedResultsTest, ResultsThatCannotCarryTheirRulesAreRefusedBeforeRunning) {
  // The identity column does not reach the output: the rows could not be counted per person.
  absl::StatusOr<QueryOutcome> grouped = service_->RunAndSave(
      As("analyst"), "room", "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept", {}, "g");
  EXPECT_EQ(grouped.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(grouped.status().message(),
            "cannot save this result: table 'staff' requires at least 3 distinct values of its "
            "identity column 'user_id' per output row, and no output column is derived from it: "
            "the saved rows could no longer be counted per identity; output 'user_id' (or a "
            "column derived from it) to save the result");
  // Only a result the runner receives.
  absl::StatusOr<QueryOutcome> elsewhere =
      service_->RunAndSave(As("analyst"), "room", kMatch, {"auditor"}, "m2");
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kInvalidArgument);
  // An aggregation input.
  ASSERT_OK(service_->AddTable(As("hr"),
                               {"room", "agg", (dir_ / "hr_agg.csv").string(), {}, "files", ""}));
  ASSERT_OK(service_->SetRule(As("hr"), "room", "agg", R"({"kind": "aggregation",
    "aggregate_columns": [{"columns": ["salary"], "functions": ["SUM"]}], "join_columns": [],
    "dimension_columns": ["dept"],
    "output_constraints": [{"column": "user_id", "minimum": 2, "type": "count_distinct"}]})"));
  absl::StatusOr<QueryOutcome> aggregated = service_->RunAndSave(
      As("analyst"), "room", "SELECT dept, SUM(salary) AS s FROM agg GROUP BY dept", {}, "a");
  EXPECT_EQ(aggregated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(aggregated.status().message(),
            "cannot save this result: table 'agg' has an aggregation rule; only results of "
            "tables with custom rules can be saved (an aggregation or list result is checked for "
            "one release, not for being queried again)");
  for (const char* name : {"g", "m2", "a"}) {
    EXPECT_EQ(service_->ShowTable(As("hr"), "room", name).status().code(),
              absl::StatusCode::kNotFound);
  }
  // A name in use.
  SaveMatch();
  EXPECT_EQ(service_->RunAndSave(As("analyst"), "room", kMatch, {}, "matched").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SavedResultsTest, TheSavedFileCannotBeRegisteredAgainOrApprovedForTemplates) {
  SaveMatch();
  std::string file = (dir_ / "home" / "saved" / "room" / "matched-1.parquet").string();
  ASSERT_TRUE(fs::exists(file));
  absl::Status again = service_->AddTable(As("analyst"), {"room", "copy", file, {}, "files", ""});
  EXPECT_EQ(again.code(), absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(
      std::string id,
      service_->CreateTemplate(As("analyst"), {"room", "t", "SELECT user_id FROM matched", {}}));
  absl::Status approved = service_->ApproveTemplate(As("analyst"), "room", id, "matched");
  EXPECT_EQ(approved.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SavedResultsTest, ASavedTableLeavesWithAnyCoOwner) {
  SaveMatch();
  ASSERT_OK(service_->Leave(As("crm"), "room"));
  EXPECT_EQ(service_->ShowTable(As("hr"), "room", "matched").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<QueryOutcome> run = service_->Run(
      As("analyst"), "room", "SELECT dept, COUNT(*) AS n FROM matched GROUP BY dept", {});
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::service
