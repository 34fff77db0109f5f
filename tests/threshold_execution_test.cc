// Thresholds on free SQL (issue 16) run on real data: each query here goes through the service —
// parse, bind, check, rewrite with the identities carried through the plan, locked-down session —
// and returns exactly the rows supported by enough distinct people. The escape attempts return
// no row of the victim, and the allowed queries return what plain DuckDB returns for the same
// SQL with the thresholds written by hand.
//
// The data: 12 people in `staff` (hr's table, at least 3 distinct user_id per output row, `dept`
// exempt, `zip` at least 5): eng u01–u06, ops u07–u10, law u11–u12. u01 is the victim: the only
// one aged 61, salary 900. zip z10001 for u01–u05, z10002 for the others (text in both
// datasets, so that the neighbouring one's "n/a" does not change the column's type).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/session.h"
#include "service/service.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRule =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["analyst"],
        "aggregation_thresholds": [{"identity_column": "user_id", "minimum": 3,
          "output_column_thresholds": [{"column": "dept", "minimum": 0},
                                       {"column": "zip", "minimum": 5}]}],
        "allowed_aggregate_expressions": "columns_only"})";

class ThresholdExecutionTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(testing::TempDir()) /
                        absl::StrCat("parley_threshold_execution_", getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    std::string staff = "user_id,zip,dept,salary,age\n";
    for (int i = 1; i <= 12; ++i) {
      const char* dept = i <= 6 ? "eng" : i <= 10 ? "ops" : "law";
      absl::StrAppendFormat(&staff, "u%02d,%s,%s,%d,%d\n", i, i <= 5 ? "z10001" : "z10002", dept,
                            i == 1 ? 900 : 100 + i, i == 1 ? 61 : 30 + i % 5);
    }
    std::ofstream(*dir_ / "staff.csv") << staff;
    // The neighbouring dataset: the same people and u13, alone in its department and zip code,
    // with a zip that does not convert to a number and the highest salary.
    std::ofstream(*dir_ / "staff2.csv") << staff << "u13,n/a,exec,99999,70\n";
    const char* own = "user_id,score\nu01,1\nu02,2\nx99,3\nu13,4\n";
    std::ofstream(*dir_ / "own.csv") << own;
    std::ofstream(*dir_ / "own2.csv") << own;

    service_ = service::Service::Open((*dir_ / "home").string(), {}).value().release();
    service::NewCollaboration room;
    room.name = "room";
    auto hr = identity::Caller::Embedded("hr");
    ASSERT_TRUE(service_->CreateCollaboration(hr, room).ok());
    ASSERT_TRUE(
        service_
            ->AddMember(hr, "room",
                        {"analyst", {identity::Ability::kQuery, identity::Ability::kReceive}})
            .ok());
    ASSERT_TRUE(service_->AddTable(hr, {"room", "staff", Path("staff.csv"), {}}).ok());
    ASSERT_TRUE(service_->SetRule(hr, "room", "staff", kRule).ok());
    auto analyst = identity::Caller::Embedded("analyst");
    ASSERT_TRUE(service_->AddTable(analyst, {"room", "own", Path("own.csv"), {}}).ok());
    ASSERT_TRUE(service_
                    ->SetRule(analyst, "room", "own",
                              R"({"kind": "custom", "any_query": true,
                                  "allowed_analysis_providers": ["analyst"]})")
                    .ok());
    room.name = "room2";
    ASSERT_TRUE(service_->CreateCollaboration(hr, room).ok());
    ASSERT_TRUE(
        service_
            ->AddMember(hr, "room2",
                        {"analyst", {identity::Ability::kQuery, identity::Ability::kReceive}})
            .ok());
    ASSERT_TRUE(service_->AddTable(hr, {"room2", "staff", Path("staff2.csv"), {}}).ok());
    ASSERT_TRUE(service_->SetRule(hr, "room2", "staff", kRule).ok());
    ASSERT_TRUE(service_->AddTable(analyst, {"room2", "own", Path("own2.csv"), {}}).ok());
    ASSERT_TRUE(service_
                    ->SetRule(analyst, "room2", "own",
                              R"({"kind": "custom", "any_query": true,
                                  "allowed_analysis_providers": ["analyst"]})")
                    .ok());
    auto view = [](const char* name) {
      return engine::SourceView{
          name,
          absl::StrCat("SELECT * FROM read_csv(",
                       engine::duckdb::QuoteString(Path(absl::StrCat(name, ".csv"))),
                       ", header=true)"),
          {Path(absl::StrCat(name, ".csv"))},
          {}};
    };
    oracle_ = engine::duckdb::Session::Open({view("staff"), view("own")}, engine::Limits{})
                  .value()
                  .release();
  }

  static void TearDownTestSuite() {
    delete oracle_;
    delete service_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  static std::vector<std::string> Rows(const engine::ResultTable& result) {
    std::vector<std::string> rows;
    for (const auto& row : result.rows) {
      std::vector<std::string> cells;
      for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
      rows.push_back(absl::StrJoin(cells, "|"));
    }
    return rows;
  }

  // The rows the analyst receives for `sql` (which must be allowed), or the error.
  static std::vector<std::string> Run(const std::string& sql, const char* room = "room") {
    auto outcome = service_->Run(identity::Caller::Embedded("analyst"), room, sql, {});
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok()) return {"(error)"};
    EXPECT_TRUE(outcome->explanation.verdict.allowed())
        << policy::FormatViolations(outcome->explanation.verdict.violations);
    if (!outcome->result.has_value()) return {"(no result)"};
    return Rows(*outcome->result);
  }

  static std::vector<std::string> Oracle(const std::string& sql) {
    auto result = oracle_->Run(sql);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? Rows(*result) : std::vector<std::string>{"(error)"};
  }

  static fs::path* dir_;
  static service::Service* service_;
  static engine::duckdb::Session* oracle_;
};

fs::path* ThresholdExecutionTest::dir_ = nullptr;
service::Service* ThresholdExecutionTest::service_ = nullptr;
engine::duckdb::Session* ThresholdExecutionTest::oracle_ = nullptr;

using Lines = std::vector<std::string>;

TEST_F(ThresholdExecutionTest, GroupsBelowTheMinimumAreSuppressed) {
  std::string sql = "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept ORDER BY dept";
  EXPECT_EQ(Run(sql), (Lines{"eng|6", "ops|4"}));
  // The same as plain DuckDB with the threshold written by hand.
  EXPECT_EQ(Run(sql), Oracle("SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept HAVING "
                             "COUNT(DISTINCT user_id) >= 3 ORDER BY dept"));
}

TEST_F(ThresholdExecutionTest, AVictimOnlyBranchUnionedWithALargeBranchReturnsNoVictimRow) {
  EXPECT_EQ(Run("SELECT dept, salary FROM staff WHERE age = 61 UNION ALL "
                "SELECT dept, AVG(salary) FROM staff GROUP BY dept ORDER BY 1"),
            (Lines{"eng|236.66666666666666", "ops|108.5"}));
  // Merged by a later aggregate, the victim's branch still has to stand on its own.
  EXPECT_EQ(Run("SELECT dept, SUM(salary) AS s FROM (SELECT dept, salary FROM staff WHERE age = "
                "61 UNION ALL SELECT dept, salary FROM staff) x GROUP BY dept"),
            Lines{});
  // UNION (distinct) at the top level: rows are judged before they are merged.
  EXPECT_EQ(Run("SELECT dept FROM staff WHERE age = 61 UNION SELECT dept FROM staff GROUP BY "
                "dept HAVING COUNT(*) > 3 ORDER BY 1"),
            (Lines{"eng", "ops"}));
}

TEST_F(ThresholdExecutionTest, ComparingTheIdentityWithALiteralIsRefused) {
  auto outcome = service_->Run(identity::Caller::Embedded("analyst"), "room",
                               "SELECT AVG(salary) FROM staff WHERE user_id = 'u01'", {});
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_EQ(outcome->explanation.verdict.violations.size(), 1u);
  EXPECT_EQ(outcome->explanation.verdict.violations[0].code, "identity_literal_comparison");
  EXPECT_FALSE(outcome->result.has_value());
}

TEST_F(ThresholdExecutionTest, ASelfJoinCannotCountOnePersonTwiceOrLendItOthers) {
  // The victim's row joined with everyone in its department: 6 joined rows, but one person on
  // the side whose salary is read.
  EXPECT_EQ(Run("SELECT a.dept, MAX(a.salary) AS s FROM staff a JOIN staff b ON a.dept = b.dept "
                "WHERE a.age = 61 GROUP BY a.dept"),
            Lines{});
  EXPECT_EQ(Run("SELECT a.salary FROM staff a CROSS JOIN staff b WHERE a.age = 61"), Lines{});
  // Both sides large: released.
  EXPECT_EQ(Run("SELECT a.dept, COUNT(DISTINCT b.user_id) AS n FROM staff a JOIN staff b ON "
                "a.dept = b.dept GROUP BY a.dept ORDER BY 1"),
            (Lines{"eng|6", "ops|4"}));
}

TEST_F(ThresholdExecutionTest, AJoinCannotWeighOnePersonsValue) {
  // The runner repeats the victim's key in its own table: a SUM over the join would weigh the
  // victim's salary by that count. Refused, not run.
  for (const char* sql :
       {"SELECT SUM(s.salary) AS total FROM staff s JOIN own o ON s.user_id = o.user_id",
        "WITH j AS (SELECT s.salary FROM staff s JOIN own o ON s.user_id = o.user_id) SELECT "
        "AVG(salary) AS a FROM j",
        "SELECT COUNT(*) AS n FROM staff s JOIN own o ON s.user_id = o.user_id"}) {
    auto outcome = service_->Run(identity::Caller::Embedded("analyst"), "room", sql, {});
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_EQ(outcome->explanation.verdict.violations.size(), 1u) << sql;
    EXPECT_EQ(outcome->explanation.verdict.violations[0].code, "threshold_fan_out") << sql;
    EXPECT_FALSE(outcome->result.has_value());
  }
}

TEST_F(ThresholdExecutionTest, RowLevelOutputsAndGroupsOfOneReturnNothing) {
  EXPECT_EQ(Run("SELECT dept, salary FROM staff"), Lines{});
  EXPECT_EQ(Run("SELECT user_id, SUM(salary) AS s FROM staff GROUP BY user_id"), Lines{});
  EXPECT_EQ(Run("WITH x AS (SELECT user_id AS who, salary FROM staff) SELECT who, MAX(salary) AS "
                "m FROM x GROUP BY who"),
            Lines{});
}

TEST_F(ThresholdExecutionTest, LimitChoosesAmongReleasedRowsOnly) {
  // law (2 people) is the smallest group: it is suppressed before ORDER BY … LIMIT 1 picks.
  EXPECT_EQ(Run("SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept ORDER BY n LIMIT 1"),
            (Lines{"ops|4"}));
}

TEST_F(ThresholdExecutionTest, OutputColumnThresholdsExemptOrRaise) {
  // dept is exempt: every department is listed, law too.
  EXPECT_EQ(Run("SELECT DISTINCT dept FROM staff ORDER BY dept"), (Lines{"eng", "law", "ops"}));
  // zip needs 5 people: z10001 has 5, z10002 has 7.
  EXPECT_EQ(Run("SELECT zip, COUNT(*) AS n FROM staff GROUP BY zip ORDER BY zip"),
            (Lines{"z10001|5", "z10002|7"}));
  EXPECT_EQ(Run("SELECT zip, COUNT(*) AS n FROM staff WHERE age <> 61 GROUP BY zip ORDER BY zip"),
            (Lines{"z10002|7"}));
}

TEST_F(ThresholdExecutionTest, WindowsCountTheRowsOfTheirWindow) {
  // The three lowest salaries of each department: supported by those three rows and the rows
  // their ranks were counted over (law has two people).
  EXPECT_EQ(Run("SELECT dept, COUNT(*) AS n, SUM(salary) AS s FROM (SELECT dept, salary, "
                "ROW_NUMBER() OVER (PARTITION BY dept ORDER BY salary) AS rn FROM staff) x WHERE "
                "rn <= 3 GROUP BY dept ORDER BY dept"),
            (Lines{"eng|3|309", "ops|3|324"}));
  // A window over one row's frame at the top level is one person's row: nothing.
  EXPECT_EQ(Run("SELECT dept, SUM(salary) OVER (PARTITION BY user_id) AS s FROM staff"), Lines{});
}

TEST_F(ThresholdExecutionTest, AnOuterJoinsMissingSideSupportsNothing) {
  // Rows of the runner's table that match nobody: their count says who is absent.
  EXPECT_EQ(Run("SELECT COUNT(DISTINCT o.user_id) AS n FROM own o LEFT JOIN staff s ON o.user_id "
                "= s.user_id WHERE s.user_id IS NULL"),
            Lines{});
}

// Two datasets that differ in one person whose every row a threshold suppresses (u13, alone in
// its department and zip code, with the highest salary and a zip that does not convert to a
// number) give the runner exactly the same outcome: the same rows, no error — whatever the query
// does with that person's row before the thresholds drop it.
TEST_F(ThresholdExecutionTest, NeighbouringDatasetsGiveTheSameOutcome) {
  const char* queries[] = {
      "SELECT dept, COUNT(*) AS n FROM staff GROUP BY dept ORDER BY dept",
      "SELECT dept, AVG(salary) AS pay FROM staff GROUP BY dept ORDER BY pay DESC LIMIT 1",
      "SELECT dept, salary FROM staff WHERE age >= 61 UNION ALL SELECT dept, AVG(salary) FROM "
      "staff GROUP BY dept ORDER BY 1, 2",
      "SELECT zip, MAX(salary) AS top FROM staff GROUP BY zip ORDER BY zip",
      "SELECT dept, COUNT(*) AS n FROM staff WHERE CAST(substring(zip, 2) AS INTEGER) > 10000 "
      "GROUP BY dept "
      "ORDER BY dept",
      "SELECT dept, SUM(salary) AS s FROM staff WHERE salary * 1000000 / (age - 70) < 1e12 "
      "GROUP BY dept ORDER BY dept",
      "SELECT dept, COUNT(*) AS n FROM (SELECT dept, ROW_NUMBER() OVER (PARTITION BY dept ORDER "
      "BY salary DESC) AS rn FROM staff) x WHERE rn <= 3 GROUP BY dept ORDER BY dept",
      "SELECT a.dept, MAX(a.salary) AS m FROM staff a JOIN staff b ON a.dept = b.dept GROUP BY "
      "a.dept ORDER BY 1",
      "SELECT o.score, COUNT(DISTINCT s.user_id) AS n FROM own o LEFT JOIN staff s ON o.user_id = "
      "s.user_id GROUP BY o.score ORDER BY 1",
      "SELECT DISTINCT zip FROM staff ORDER BY zip",
      "SELECT user_id, salary FROM staff WHERE salary > 500",
      "SELECT dept, COUNT(*) AS n FROM staff WHERE CAST(salary * 100000 AS INTEGER) > 0 GROUP "
      "BY dept ORDER BY dept",
      "SELECT dept, COUNT(*) AS n FROM (SELECT dept, SUM(salary) OVER (PARTITION BY "
      "CAST(substring(zip, 2) AS "
      "INTEGER)) AS s FROM staff) x GROUP BY dept ORDER BY dept",
      "SELECT dept, COUNT(*) AS n FROM (SELECT dept, ROW_NUMBER() OVER (ORDER BY "
      "CAST(substring(zip, 2) AS "
      "INTEGER), user_id) AS r FROM staff) x GROUP BY dept ORDER BY dept",
      "SELECT s.dept, COUNT(DISTINCT o.score) AS n FROM staff s JOIN own o ON "
      "CAST(substring(s.zip, 2) AS "
      "INTEGER) > o.score GROUP BY s.dept ORDER BY 1",
      "WITH x AS (SELECT dept AS d, salary AS pay FROM staff) SELECT d, COUNT(*) AS n FROM x "
      "GROUP BY d HAVING MAX(pay) > 0 ORDER BY n DESC LIMIT 2",
  };
  for (const char* sql : queries) {
    std::vector<std::string> without = Run(sql, "room");
    std::vector<std::string> with = Run(sql, "room2");
    EXPECT_EQ(without, with) << sql;
  }
}

// Random queries from a small grammar of the shapes above (filters that isolate u13, sources
// that join, UNION ALL or filter, groupings, windows, DISTINCT, LIMIT), from a fixed seed: every
// one that is accepted gives the same rows with and without u13. Outputs of the exempt `dept`
// alone are left out: exempting a column releases it whatever its support, by design.
TEST_F(ThresholdExecutionTest, RandomQueriesGiveTheSameOutcomeWithoutTheSuppressedPerson) {
  const char* predicates[] = {"age = 70",    "salary > 1000",
                              "zip = 'n/a'", "TRUE",
                              "age < 70",    "CAST(substring(zip, 2) AS INTEGER) > 0",
                              "salary < 500"};
  const char* sources[] = {
      "staff", "(SELECT user_id, dept, zip, salary, age FROM staff WHERE %P)",
      "(SELECT user_id, dept, zip, salary, age FROM staff UNION ALL SELECT user_id, dept, zip, "
      "salary, age FROM staff WHERE %P)",
      "(SELECT s.user_id, s.dept, s.zip, s.salary, s.age FROM staff s JOIN own o ON s.user_id = "
      "o.user_id)",
      "(SELECT user_id, dept, zip, salary, age FROM staff ORDER BY salary DESC LIMIT 5)"};
  const char* groups[] = {"zip", "age", "dept"};
  const char* aggregates[] = {"COUNT(*)", "SUM(salary)", "MAX(salary)", "AVG(salary)",
                              "COUNT(DISTINCT user_id)"};
  uint32_t state = 16;
  auto next = [&state](uint32_t n) {
    state = state * 1103515245u + 12345u;
    return (state >> 16) % n;
  };
  auto fill = [&](std::string text) {
    for (size_t at = text.find("%P"); at != std::string::npos; at = text.find("%P")) {
      text.replace(at, 2, predicates[next(std::size(predicates))]);
    }
    return text;
  };
  int accepted = 0;
  for (int i = 0; i < 60; ++i) {
    std::string source = fill(sources[next(std::size(sources))]);
    std::string where = fill("%P");
    std::string group = groups[next(std::size(groups))];
    std::string sql;
    switch (next(4)) {
      case 0:
        sql = absl::StrCat("SELECT ", group, ", ", aggregates[next(std::size(aggregates))],
                           " AS v FROM ", source, " x WHERE ", where, " GROUP BY ", group,
                           " ORDER BY 1", next(2) ? " LIMIT 2" : "");
        break;
      case 1:
        sql = absl::StrCat("SELECT ", group == "dept" ? "zip" : group, ", salary FROM ", source,
                           " x WHERE ", where, " ORDER BY 1, 2");
        break;
      case 2:
        sql = absl::StrCat("SELECT ", group, ", COUNT(*) AS n FROM (SELECT ", group,
                           ", ROW_NUMBER() OVER (PARTITION BY ", group,
                           " ORDER BY salary DESC, user_id) AS rn FROM ", source, " x WHERE ",
                           where, ") y WHERE rn <= 2 GROUP BY ", group, " ORDER BY 1");
        break;
      default:
        sql = absl::StrCat("SELECT DISTINCT ", group == "dept" ? "age" : group, " FROM ", source,
                           " x WHERE ", where, " ORDER BY 1");
        break;
    }
    auto without = service_->Run(identity::Caller::Embedded("analyst"), "room", sql, {});
    auto with = service_->Run(identity::Caller::Embedded("analyst"), "room2", sql, {});
    ASSERT_TRUE(without.ok()) << without.status() << "\n" << sql;
    ASSERT_TRUE(with.ok()) << with.status() << "\n" << sql;
    ASSERT_EQ(without->explanation.verdict.allowed(), with->explanation.verdict.allowed()) << sql;
    if (!without->explanation.verdict.allowed()) continue;
    ++accepted;
    ASSERT_TRUE(without->result.has_value() && with->result.has_value()) << sql;
    EXPECT_EQ(Rows(*without->result), Rows(*with->result)) << sql;
  }
  EXPECT_GE(accepted, 30) << "too few accepted queries to mean much";
}

// What has no form that cannot fail is refused before it runs, as under aggregation rules.
TEST_F(ThresholdExecutionTest, OperationsThatCanFailOnTheDataAreRefused) {
  for (const char* sql :
       {"SELECT dept, COUNT(*) AS n FROM staff WHERE make_date(2000, CASE WHEN age = 70 THEN 13 "
        "ELSE 1 END, 1) IS NOT NULL GROUP BY dept",
        "SELECT dept, COUNT(*) AS n FROM staff WHERE length(lpad(dept, CASE WHEN age = 70 THEN "
        "2000000000 ELSE 3 END, 'x')) > 0 GROUP BY dept"}) {
    auto outcome = service_->Run(identity::Caller::Embedded("analyst"), "room", sql, {});
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    ASSERT_EQ(outcome->explanation.verdict.violations.size(), 1u) << sql;
    EXPECT_EQ(outcome->explanation.verdict.violations[0].code, "operation_may_fail") << sql;
    EXPECT_FALSE(outcome->result.has_value());
  }
}

}  // namespace
}  // namespace parley
