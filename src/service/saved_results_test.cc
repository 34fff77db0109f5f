// Saved query results as derived tables (issue 16 §3, docs/rules.md "Derived tables"): the rule
// derived from the inputs, each inheritance rule in both directions (a later rule may tighten,
// never loosen), refusals before anything runs, the threshold escape through a saved table,
// templates that run only once every co-owner approved (approvals void when the rule changes),
// free-form SQL only by those every input allows, and `query explain --save-as` (PreviewSave).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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
    room.creator_abilities = {identity::Ability::kQuery, identity::Ability::kReceive};
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

TEST_F(SavedResultsTest, PreviewSaveShowsTheDerivedRuleWithoutRunningOrSaving) {
  ASSERT_OK_AND_ASSIGN(SavePreview preview,
                       service_->PreviewSave(As("analyst"), "room", kMatch, {}, "matched"));
  EXPECT_TRUE(preview.explanation.verdict.allowed());
  ASSERT_TRUE(preview.rule.has_value());
  EXPECT_EQ(policy::CanonicalRuleJson(*preview.rule), kDerived);
  EXPECT_EQ(preview.co_owners, (std::vector<std::string>{"analyst", "crm", "hr"}));
  EXPECT_EQ(preview.refused, "");
  EXPECT_EQ(service_->ShowTable(As("hr"), "room", "matched").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "home" / "saved" / "room"));
  // What cannot be saved says why; a rejected query has no rule; names as for a run.
  ASSERT_OK_AND_ASSIGN(
      SavePreview refused,
      service_->PreviewSave(As("analyst"), "room",
                            "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept", {}, "g"));
  EXPECT_FALSE(refused.rule.has_value());
  EXPECT_EQ(refused.refused.rfind("cannot save this result: table 'staff' requires at least 3", 0),
            0u)
      << refused.refused;
  ASSERT_OK_AND_ASSIGN(
      SavePreview rejected,
      service_->PreviewSave(As("analyst"), "room", "SELECT email FROM staff", {}, "e"));
  EXPECT_FALSE(rejected.explanation.verdict.allowed());
  EXPECT_FALSE(rejected.rule.has_value());
  EXPECT_EQ(service_->PreviewSave(As("analyst"), "room", kMatch, {}, "Bad Name").status().code(),
            absl::StatusCode::kInvalidArgument);
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

TEST_F(SavedResultsTest, TheSavedFileCannotBeRegisteredAgain) {
  SaveMatch();
  std::string file = (dir_ / "home" / "saved" / "room" / "matched-1.parquet").string();
  ASSERT_TRUE(fs::exists(file));
  absl::Status again = service_->AddTable(As("analyst"), {"room", "copy", file, {}, "files", ""});
  EXPECT_EQ(again.code(), absl::StatusCode::kPermissionDenied);
}

// Who has approved the template for `matched`, and who has not.
std::pair<std::vector<std::string>, std::vector<std::string>> Approvals(const TemplateView& view) {
  for (const TemplateView::TableApproval& table : view.tables) {
    if (table.table == "matched") {
      EXPECT_TRUE(table.co_owned);
      EXPECT_EQ(table.approved, table.pending.empty());
      return {table.approved_by, table.pending};
    }
  }
  ADD_FAILURE() << "the template does not read matched";
  return {};
}

using Names = std::vector<std::string>;

TEST_F(SavedResultsTest, ATemplateOverASavedTableRunsOnceEveryCoOwnerApproved) {
  std::string stored = SaveMatch();
  // bi may run templates but is no provider: only a template approved by hr and crm (the
  // inputs' owners) and analyst (who saved it) reads matched for bi.
  ASSERT_OK(service_->AddMember(As("hr"), "room",
                                {"bi", {identity::Ability::kQuery, identity::Ability::kReceive}}));
  constexpr char kSql[] = "SELECT dept, COUNT(*) AS n FROM matched GROUP BY dept ORDER BY dept";
  ASSERT_OK_AND_ASSIGN(std::string id,
                       service_->CreateTemplate(As("bi"), {"room", "by_dept", kSql, {}}));
  auto show = [&] {
    absl::StatusOr<TemplateView> view = service_->ShowTemplate(As("bi"), "room", id);
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? Approvals(*view) : std::pair<Names, Names>{};
  };
  auto run = [&]() -> absl::StatusOr<QueryOutcome> {
    return service_->RunTemplate(As("bi"), "room", id, {}, {"auditor"});
  };
  EXPECT_EQ(show(), (std::pair<Names, Names>{{}, {"analyst", "crm", "hr"}}));
  ASSERT_OK_AND_ASSIGN(QueryOutcome refused, run());
  ASSERT_FALSE(refused.explanation.verdict.allowed());
  EXPECT_EQ(refused.explanation.verdict.violations[0].message,
            absl::StrCat("table 'matched' holds a saved query result and analysis template ",
                         id.substr(0, 12), " has not been approved by all its co-owners"));
  EXPECT_EQ(refused.explanation.verdict.violations[0].hint,
            "waiting for analyst, crm, hr to approve it (parley template approve)");

  // Nobody approves for another: a member who is no co-owner cannot approve at all.
  absl::Status outsider = service_->ApproveTemplate(As("auditor"), "room", id, "matched");
  EXPECT_EQ(outsider.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(outsider.message(),
            "member 'auditor' is not a co-owner of table 'matched' and cannot approve analyses "
            "for it (co-owners: analyst, crm, hr)");
  ASSERT_OK(service_->ApproveTemplate(As("hr"), "room", id, "matched"));
  ASSERT_OK(service_->ApproveTemplate(As("crm"), "room", id, "matched"));
  EXPECT_EQ(service_->ApproveTemplate(As("crm"), "room", id, "matched").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(show(), (std::pair<Names, Names>{{"crm", "hr"}, {"analyst"}}));
  ASSERT_OK_AND_ASSIGN(QueryOutcome waiting, run());
  EXPECT_FALSE(waiting.explanation.verdict.allowed());
  EXPECT_EQ(waiting.explanation.verdict.violations[0].hint,
            "waiting for analyst to approve it (parley template approve)");
  ASSERT_OK(service_->ApproveTemplate(As("analyst"), "room", id, "matched"));
  EXPECT_EQ(show(), (std::pair<Names, Names>{{"analyst", "crm", "hr"}, {}}));
  ASSERT_OK_AND_ASSIGN(QueryOutcome ran, run());
  EXPECT_TRUE(ran.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(engine::ResultTable rows,
                       service_->Result(As("auditor"), "room", ran.query_id));
  ASSERT_EQ(rows.rows.size(), 2u);
  EXPECT_EQ(rows.rows[0][0], "eng");
  EXPECT_EQ(rows.rows[0][1], "6");
  EXPECT_EQ(rows.rows[1][0], "ops");
  EXPECT_EQ(rows.rows[1][1], "4");
  // Still under the inherited rule: a receiver the inputs did not allow gets nothing.
  ASSERT_OK_AND_ASSIGN(QueryOutcome to_hr, service_->RunTemplate(As("bi"), "room", id, {}, {"bi"}));
  EXPECT_FALSE(to_hr.explanation.verdict.allowed());

  // The same rule set again keeps the approvals; the owner cannot write approvals itself.
  ASSERT_OK(SetMatched(stored));
  EXPECT_EQ(show(), (std::pair<Names, Names>{{"analyst", "crm", "hr"}, {}}));
  // A changed rule (even a tighter one) voids every co-owner's approval.
  ASSERT_OK(SetMatched(Matched(
      absl::StrCat(kThreshold, ",", kLiteral, R"(, "allowed_result_receivers": ["auditor"])"))));
  EXPECT_EQ(show(), (std::pair<Names, Names>{{}, {"analyst", "crm", "hr"}}));
  ASSERT_OK_AND_ASSIGN(QueryOutcome voided, run());
  EXPECT_FALSE(voided.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(TableView view, service_->ShowTable(As("analyst"), "room", "matched"));
  std::string forged = *view.rule_json;
  forged.replace(
      forged.find(R"("derived_from":{)"), 16,
      absl::StrCat(R"("derived_from":{"approvals":{")", id, R"(":["analyst","crm","hr"]},)"));
  ASSERT_OK(SetMatched(forged));
  EXPECT_EQ(show(), (std::pair<Names, Names>{{}, {"analyst", "crm", "hr"}}));

  // A co-owner revokes its own approval only.
  for (const char* member : {"analyst", "crm", "hr"}) {
    ASSERT_OK(service_->ApproveTemplate(As(member), "room", id, "matched"));
  }
  ASSERT_OK(service_->RevokeTemplate(As("crm"), "room", id, "matched"));
  EXPECT_EQ(show(), (std::pair<Names, Names>{{"analyst", "hr"}, {"crm"}}));
  EXPECT_EQ(service_->RevokeTemplate(As("crm"), "room", id, "matched").code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(QueryOutcome revoked, run());
  EXPECT_FALSE(revoked.explanation.verdict.allowed());
  // A changed template is another template: approved by no one.
  ASSERT_OK_AND_ASSIGN(
      std::string other,
      service_->CreateTemplate(As("bi"), {"room", "by_dept2", absl::StrCat(kSql, " LIMIT 5"), {}}));
  ASSERT_OK_AND_ASSIGN(TemplateView changed, service_->ShowTemplate(As("bi"), "room", other));
  EXPECT_EQ(Approvals(changed), (std::pair<Names, Names>{{}, {"analyst", "crm", "hr"}}));
  // allowed_analyses of a saved table stays empty: approvals are each co-owner's own.
  absl::Status listed = SetMatched(Matched(absl::StrCat(
      kThreshold, ",", kLiteral, ",", kReceivers, R"(, "allowed_analyses": [")", id, R"("])")));
  EXPECT_EQ(listed.code(), absl::StatusCode::kInvalidArgument);
}

// Free-form SQL over a saved table: by those who may send it over every input — a listed
// provider or the input's owner — and by no one else, co-owners included.
TEST_F(SavedResultsTest, FreeFormQueriesOverASavedTableNeedEveryInputsConsent) {
  ASSERT_OK(service_->SetRule(As("crm"), "room", "crm", R"({"kind": "custom", "any_query": true,
    "allowed_analysis_providers": ["analyst", "hr"],
    "allowed_result_receivers": ["analyst", "auditor", "crm", "hr"],
    "allowed_literal_comparison_columns": ["segment"]})"));
  // hr owns staff and is a provider of crm: it may save their join, and query the result.
  absl::StatusOr<QueryOutcome> saved = service_->RunAndSave(As("hr"), "room", kMatch, {}, "joined");
  ASSERT_TRUE(saved.ok()) << saved.status();
  ASSERT_TRUE(saved->explanation.verdict.allowed())
      << saved->explanation.verdict.violations[0].message;
  ASSERT_OK_AND_ASSIGN(TableView view, service_->ShowTable(As("hr"), "room", "joined"));
  ASSERT_OK_AND_ASSIGN(policy::Rule rule, policy::ParseRule(*view.rule_json, {"user_id", "dept"}));
  EXPECT_EQ(rule.custom.allowed_analysis_providers, (std::set<std::string>{"analyst", "hr"}));
  EXPECT_EQ(rule.custom.derived_from->co_owners, (std::set<std::string>{"crm", "hr"}));
  constexpr char kGroups[] = "SELECT dept, COUNT(*) AS n FROM joined GROUP BY dept";
  ASSERT_OK_AND_ASSIGN(QueryOutcome by_hr, service_->Run(As("hr"), "room", kGroups, {}));
  EXPECT_TRUE(by_hr.explanation.verdict.allowed());
  // Its owner narrows the providers to itself: analyst, a provider of both inputs, is now
  // refused too.
  ASSERT_OK(service_->SetRule(As("hr"), "room", "joined",
                              R"({"kind": "custom", "any_query": true,
    "allowed_analysis_providers": ["hr"], "allowed_result_receivers": ["analyst", "auditor", "hr"],
    "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3}],
    "allowed_literal_comparison_columns": ["dept"]})"));
  ASSERT_OK_AND_ASSIGN(QueryOutcome by_analyst,
                       service_->Run(As("analyst"), "room", kGroups, {"analyst"}));
  EXPECT_FALSE(by_analyst.explanation.verdict.allowed());
  EXPECT_EQ(by_analyst.explanation.verdict.violations[0].message,
            "member 'analyst' is not an allowed analysis provider of table 'joined'");
}

// Where inputs meet, the strictest wins: the larger minimum, the receivers both allow, the
// providers both allow, columns_only from either.
TEST_F(SavedResultsTest, TheDerivedRuleTakesTheStrictestOfItsInputs) {
  ASSERT_OK(service_->SetRule(As("crm"), "room", "crm", R"({"kind": "custom", "any_query": true,
    "allowed_analysis_providers": ["analyst"], "allowed_result_receivers": ["analyst", "crm"],
    "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 5}],
    "allowed_column_comparison_columns": ["user_id"]})"));
  ASSERT_OK_AND_ASSIGN(
      QueryOutcome saved,
      service_->RunAndSave(As("analyst"), "room",
                           "SELECT s.user_id, c.user_id AS crm_id, s.dept, c.segment FROM staff s "
                           "JOIN crm c ON s.user_id = c.user_id",
                           {}, "both"));
  ASSERT_TRUE(saved.explanation.verdict.allowed());
  ASSERT_OK_AND_ASSIGN(TableView view, service_->ShowTable(As("analyst"), "room", "both"));
  ASSERT_OK_AND_ASSIGN(policy::Rule rule, policy::ParseRule(*view.rule_json, {"user_id", "crm_id",
                                                                              "dept", "segment"}));
  const policy::CustomRule& custom = rule.custom;
  std::map<std::string, int64_t> minimums;
  for (const policy::IdentityThreshold& t : custom.aggregation_thresholds) {
    minimums[t.identity_column] = t.minimum;
  }
  EXPECT_EQ(minimums, (std::map<std::string, int64_t>{{"crm_id", 5}, {"user_id", 3}}));
  EXPECT_EQ(custom.allowed_result_receivers, (std::set<std::string>{"analyst"}));
  EXPECT_EQ(custom.allowed_analysis_providers, (std::set<std::string>{"analyst"}));
  // Only outputs derived solely from allowed columns of crm stay comparable with another column:
  // staff has no such list, so its columns stay allowed.
  ASSERT_TRUE(custom.allowed_column_comparison_columns.has_value());
  EXPECT_EQ(*custom.allowed_column_comparison_columns,
            (std::set<std::string>{"crm_id", "dept", "user_id"}));
  EXPECT_EQ(custom.allowed_aggregate_expressions, policy::AggregateExpressions::kColumnsOnly);
  EXPECT_EQ(custom.derived_from->co_owners, (std::set<std::string>{"crm", "hr"}));
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
