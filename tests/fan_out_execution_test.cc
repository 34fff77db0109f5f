// Fan-out does not weigh a row twice (rewrite/once_per_group.h), run for real: the supplier (the
// runner) repeats the key of one of the retailer's households seven times in its own loyalty table
// and asks for SUM, AVG and COUNT of the retailer's spend. Each query runs through the service —
// check, rewrite, locked-down DuckDB over the real files — and its rows are compared with plain
// DuckDB computing the deduplicated aggregate by hand on the same files: DISTINCT over (group,
// row number of the file, value), with the thresholds applied to the joined rows. Under
// "allow_fan_out" the comparison is with the plain joined aggregate instead.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "service/service.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

// Thresholds of 2 on every table (the retailer's households, the supplier's and the publisher's
// emails), so that small groups are released and the comparison has rows to compare.
constexpr char kRetailRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["annual_spend"], )"
    R"("functions": ["SUM", "AVG", "COUNT"]}, {"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], "dimension_columns": )"
    R"(["age_band", "region"], "output_constraints": [{"column": "household_id", "minimum": 2}]})";
constexpr char kLoyaltyRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["brand_purchases"], )"
    R"("functions": ["SUM", "AVG", "COUNT"]}, {"columns": ["hashed_email"], "functions": )"
    R"(["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], "dimension_columns": )"
    R"(["loyalty_tier"], "output_constraints": [{"column": "hashed_email", "minimum": 2}]})";
constexpr char kImpressionsRule[] =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["impression_count"], )"
    R"("functions": ["SUM"]}, {"columns": ["hashed_email"], "functions": ["COUNT_DISTINCT"]}], )"
    R"("join_columns": ["hashed_email"], "dimension_columns": ["campaign"], )"
    R"("output_constraints": [{"column": "hashed_email", "minimum": 2}]})";

// The hand-written deduplication: `joined` is the join projecting the group key `g`, row numbers
// `rid_*` and values; `once` selects each (group, row) once; `kept` are the groups every threshold
// lets through, counted over the joined rows as Parley does.
constexpr char kKeptRetailLoyalty[] =
    "kept AS (SELECT g FROM joined GROUP BY g HAVING count(DISTINCT household_id) >= 2 AND "
    "count(DISTINCT hashed_email) >= 2)";

struct Case {
  const char* name;
  const char* parley;  // what the supplier asks
  std::string oracle;  // plain DuckDB over views with a row number `rid`
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back(
      {"victim_sum_avg_count_grouped_by_victim_dimension",
       "SELECT r.age_band, SUM(r.annual_spend) AS s, AVG(r.annual_spend) AS a, "
       "COUNT(r.annual_spend) AS c FROM retail r JOIN loyalty l ON r.hashed_email = "
       "l.hashed_email GROUP BY r.age_band",
       absl::StrCat("WITH joined AS (SELECT r.age_band AS g, r.rid AS rid_r, r.annual_spend AS x, "
                    "r.household_id, l.hashed_email FROM retail r JOIN loyalty l ON "
                    "r.hashed_email = l.hashed_email), once AS (SELECT DISTINCT g, rid_r, x FROM "
                    "joined), ",
                    kKeptRetailLoyalty,
                    " SELECT g, sum(x), avg(x), count(x) FROM once WHERE g IN (SELECT g FROM "
                    "kept) GROUP BY g")});
  cases.push_back(
      {"runner_table_first_grouped_by_runner_dimension",
       "SELECT l.loyalty_tier, SUM(r.annual_spend) AS s, COUNT(r.annual_spend) AS c FROM loyalty "
       "l JOIN retail r ON l.hashed_email = r.hashed_email GROUP BY l.loyalty_tier",
       absl::StrCat("WITH joined AS (SELECT l.loyalty_tier AS g, r.rid AS rid_r, r.annual_spend "
                    "AS x, r.household_id, l.hashed_email FROM loyalty l JOIN retail r ON "
                    "l.hashed_email = r.hashed_email), once AS (SELECT DISTINCT g, rid_r, x FROM "
                    "joined), ",
                    kKeptRetailLoyalty,
                    " SELECT g, sum(x), count(x) FROM once WHERE g IN (SELECT g FROM kept) "
                    "GROUP BY g")});
  cases.push_back(
      {"aggregates_of_both_tables",
       "SELECT r.region, SUM(r.annual_spend) AS s, AVG(l.brand_purchases) AS p, "
       "COUNT(l.brand_purchases) AS n FROM retail r JOIN loyalty l ON r.hashed_email = "
       "l.hashed_email GROUP BY r.region",
       absl::StrCat(
           "WITH joined AS (SELECT r.region AS g, r.rid AS rid_r, l.rid AS rid_l, r.annual_spend "
           "AS x, l.brand_purchases AS y, r.household_id, l.hashed_email FROM retail r JOIN "
           "loyalty l ON r.hashed_email = l.hashed_email), ",
           kKeptRetailLoyalty,
           ", xs AS (SELECT g, sum(x) AS s FROM (SELECT DISTINCT g, rid_r, x FROM joined) GROUP BY "
           "g), ys AS (SELECT g, avg(y) AS p, count(y) AS n FROM (SELECT DISTINCT g, rid_l, y "
           "FROM joined) GROUP BY g) SELECT g, s, p, n FROM xs JOIN ys USING (g) WHERE g IN "
           "(SELECT g FROM kept)")});
  cases.push_back(
      {"where_filters_having_and_order_on_the_sum",
       "SELECT r.region, SUM(r.annual_spend) AS s FROM retail r JOIN loyalty l ON "
       "r.hashed_email = l.hashed_email WHERE r.age_band <> '55+' AND l.loyalty_tier <> 'bronze' "
       "GROUP BY r.region HAVING SUM(r.annual_spend) > 100 ORDER BY s DESC",
       "WITH joined AS (SELECT r.region AS g, r.rid AS rid_r, r.annual_spend AS x, "
       "r.household_id, l.hashed_email FROM retail r JOIN loyalty l ON r.hashed_email = "
       "l.hashed_email WHERE r.age_band <> '55+' AND l.loyalty_tier <> 'bronze'), kept AS "
       "(SELECT g FROM joined GROUP BY g HAVING count(DISTINCT household_id) >= 2 AND "
       "count(DISTINCT hashed_email) >= 2) SELECT g, sum(x) AS s FROM (SELECT DISTINCT g, rid_r, "
       "x FROM joined) WHERE g IN (SELECT g FROM kept) GROUP BY g HAVING sum(x) > 100 ORDER BY "
       "s DESC"});
  cases.push_back(
      {"three_tables_grouped_by_the_third",
       "SELECT i.campaign, SUM(r.annual_spend) AS s, SUM(i.impression_count) AS n FROM retail r "
       "JOIN loyalty l ON r.hashed_email = l.hashed_email JOIN impressions i ON i.hashed_email = "
       "l.hashed_email WHERE r.region <> 'west' GROUP BY i.campaign",
       "WITH joined AS (SELECT i.campaign AS g, r.rid AS rid_r, i.rid AS rid_i, r.annual_spend "
       "AS x, i.impression_count AS y, r.household_id, l.hashed_email AS e_l, i.hashed_email AS "
       "e_i FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email JOIN impressions i ON "
       "i.hashed_email = l.hashed_email WHERE r.region <> 'west'), kept AS (SELECT g FROM joined "
       "GROUP BY g HAVING count(DISTINCT household_id) >= 2 AND count(DISTINCT e_l) >= 2 AND "
       "count(DISTINCT e_i) >= 2), xs AS (SELECT g, sum(x) AS s FROM (SELECT DISTINCT g, rid_r, "
       "x FROM joined) GROUP BY g), ys AS (SELECT g, sum(y) AS n FROM (SELECT DISTINCT g, rid_i, "
       "y FROM joined) GROUP BY g) SELECT g, s, n FROM xs JOIN ys USING (g) WHERE g IN (SELECT g "
       "FROM kept)"});
  cases.push_back(
      {"no_group_by",
       "SELECT SUM(r.annual_spend) AS s, COUNT(r.annual_spend) AS c FROM retail r JOIN loyalty l "
       "ON r.hashed_email = l.hashed_email",
       "WITH joined AS (SELECT r.rid AS rid_r, r.annual_spend AS x, r.household_id, "
       "l.hashed_email FROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email) SELECT "
       "sum(x), count(x) FROM (SELECT DISTINCT rid_r, x FROM joined) WHERE (SELECT "
       "count(DISTINCT household_id) >= 2 AND count(DISTINCT hashed_email) >= 2 FROM joined)"});
  // Groups of one household fall below the thresholds and vanish: among them the victim's key
  // repeated in the tiers its own row is not in.
  cases.push_back(
      {"thresholds_drop_small_groups",
       "SELECT r.age_band, r.region, l.loyalty_tier, SUM(r.annual_spend) AS s, "
       "COUNT(r.annual_spend) AS c FROM retail r JOIN loyalty l ON r.hashed_email = "
       "l.hashed_email GROUP BY r.age_band, r.region, l.loyalty_tier",
       "WITH joined AS (SELECT r.age_band AS g1, r.region AS g2, l.loyalty_tier AS g3, r.rid AS "
       "rid_r, r.annual_spend AS x, r.household_id, l.hashed_email FROM retail r JOIN loyalty l "
       "ON r.hashed_email = l.hashed_email), kept AS (SELECT g1, g2, g3 FROM joined GROUP BY g1, "
       "g2, g3 HAVING count(DISTINCT household_id) >= 2 AND count(DISTINCT hashed_email) >= 2) "
       "SELECT g1, g2, g3, sum(x), count(x) FROM (SELECT DISTINCT g1, g2, g3, rid_r, x FROM "
       "joined) SEMI JOIN kept USING (g1, g2, g3) GROUP BY g1, g2, g3"});
  // The owner opted out: the plain aggregate over the joined rows, as AWS Clean Rooms computes it.
  cases.push_back(
      {"opted_out_counts_joined_rows",
       "SELECT r.age_band, SUM(r.annual_spend) AS s, COUNT(r.annual_spend) AS c FROM "
       "open_retail r JOIN open_loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band",
       "SELECT r.age_band, sum(r.annual_spend), count(r.annual_spend) FROM open_retail r JOIN "
       "open_loyalty l ON r.hashed_email = l.hashed_email GROUP BY r.age_band HAVING "
       "count(DISTINCT r.household_id) >= 2 AND count(DISTINCT l.hashed_email) >= 2"});
  return cases;
}

class FanOutExecutionTest : public testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::path(testing::TempDir()) /
                        absl::StrCat("parley_fan_out_execution_", getpid()));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const char* ages[] = {"18-34", "35-54", "55+"};
    const char* regions[] = {"north", "south", "east", "west"};
    const char* tiers[] = {"bronze", "silver", "gold"};
    // Spends are multiples of 1/4, so sums are exact whatever the order of addition.
    std::string retail = "household_id,hashed_email,age_band,region,annual_spend\n";
    for (int i = 1; i <= 40; ++i) {
      absl::StrAppendFormat(&retail, "%d,e%03d,%s,%s,%d.25\n", i, i, ages[i % 3], regions[i % 4],
                            i == 5 ? 7777 : (i * 37) % 100);
    }
    // The victim's row repeated: identical rows are distinct rows, each counted once.
    retail += "41,e041,18-34,north,12.25\n41,e041,18-34,north,12.25\n";
    Write("retail.csv", retail);
    Write("open_retail.csv", retail);
    // The runner's table: e001..e030 and e041 once, then the victim's key e005 six more times
    // (in every tier) and e012 twice more.
    std::string loyalty = "hashed_email,loyalty_tier,brand_purchases\n";
    std::string loyalty_once = loyalty;
    for (int i = 1; i <= 30; ++i) {
      std::string row = absl::StrFormat("e%03d,%s,%d\n", i, tiers[i % 3], i % 7);
      loyalty += row;
      loyalty_once += row;
    }
    loyalty += "e041,gold,3\n";
    loyalty_once += "e041,gold,3\n";
    for (int k = 0; k < 6; ++k) absl::StrAppendFormat(&loyalty, "e005,%s,%d\n", tiers[k % 3], k);
    loyalty += "e012,silver,1\ne012,gold,2\n";
    Write("loyalty.csv", loyalty);
    Write("open_loyalty.csv", loyalty);
    Write("loyalty_once.csv", loyalty_once);
    // The publisher's impressions, as Parquet: each email once to three times.
    std::string impressions = "hashed_email,campaign,impression_count\n";
    for (int i = 1; i <= 40; ++i) {
      for (int k = 0; k <= i % 3; ++k) {
        absl::StrAppendFormat(&impressions, "e%03d,%s,%d\n", i, (i + k) % 2 ? "spring" : "fall",
                              i + k);
      }
    }
    Write("impressions.csv", impressions);
    {
      auto db = engine::duckdb::OpenInMemoryDatabase({});
      ASSERT_TRUE(db.ok()) << db.status();
      ASSERT_TRUE(engine::duckdb::ExecuteStatement(
                      db->connection.get(),
                      absl::StrCat("COPY (SELECT * FROM read_csv(",
                                   engine::duckdb::QuoteString(Path("impressions.csv")), ")) TO ",
                                   engine::duckdb::QuoteString(Path("impressions.parquet")),
                                   " (FORMAT parquet)"),
                      "copy")
                      .ok());
    }

    service_ = service::Service::Open((*dir_ / "home").string(), {}).value().release();
    service::NewCollaboration room;
    room.name = "room";
    room.auto_approve = {"add_member"};
    ASSERT_TRUE(service_->CreateCollaboration(identity::Caller::Embedded("retailer"), room).ok());
    ASSERT_TRUE(
        service_
            ->AddMember(identity::Caller::Embedded("retailer"), "room",
                        {"supplier", {identity::Ability::kQuery, identity::Ability::kReceive}})
            .ok());
    ASSERT_TRUE(
        service_->AddMember(identity::Caller::Embedded("retailer"), "room", {"publisher", {}})
            .ok());
    auto add = [](const char* owner, const char* name, const char* file, std::string rule) {
      absl::Status added =
          service_->AddTable(identity::Caller::Embedded(owner), {"room", name, Path(file), {}});
      ASSERT_TRUE(added.ok()) << name << ": " << added;
      absl::Status set = service_->SetRule(identity::Caller::Embedded(owner), "room", name, rule);
      ASSERT_TRUE(set.ok()) << name << ": " << set;
    };
    auto opted_out = [](std::string rule) {
      return rule.substr(0, rule.size() - 1) + R"(, "allow_fan_out": true})";
    };
    add("retailer", "retail", "retail.csv", kRetailRule);
    add("retailer", "open_retail", "open_retail.csv", opted_out(kRetailRule));
    add("supplier", "loyalty", "loyalty.csv", kLoyaltyRule);
    add("supplier", "open_loyalty", "open_loyalty.csv", opted_out(kLoyaltyRule));
    add("supplier", "loyalty_once", "loyalty_once.csv", kLoyaltyRule);
    add("publisher", "impressions", "impressions.parquet", kImpressionsRule);

    // The oracle: plain views over the same files, each row numbered, no Parley in between.
    std::vector<engine::SourceView> views;
    for (const char* name : {"retail", "open_retail", "loyalty", "open_loyalty", "loyalty_once"}) {
      std::string file = Path(absl::StrCat(name, ".csv"));
      views.push_back({name,
                       absl::StrCat("SELECT *, row_number() OVER () AS rid FROM read_csv(",
                                    engine::duckdb::QuoteString(file), ", header=true)"),
                       {file},
                       {}});
    }
    std::string parquet = Path("impressions.parquet");
    views.push_back({"impressions",
                     absl::StrCat("SELECT *, row_number() OVER () AS rid FROM read_parquet(",
                                  engine::duckdb::QuoteString(parquet), ")"),
                     {parquet},
                     {}});
    oracle_ = engine::duckdb::Session::Open(views, engine::Limits{}).value().release();
  }

  static void TearDownTestSuite() {
    delete oracle_;
    delete service_;
    fs::remove_all(*dir_);
    delete dir_;
  }

  static void Write(const std::string& name, const std::string& contents) {
    std::ofstream(*dir_ / name) << contents;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  static std::vector<std::string> Rows(const engine::ResultTable& result, bool ordered) {
    std::vector<std::string> rows;
    for (const auto& row : result.rows) {
      std::vector<std::string> cells;
      for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
      rows.push_back(absl::StrJoin(cells, "|"));
    }
    if (!ordered) std::sort(rows.begin(), rows.end());
    return rows;
  }

  // The supplier's query through the service; the rows it receives.
  static absl::StatusOr<engine::ResultTable> RunAsSupplier(const std::string& sql,
                                                           std::string* rendered = nullptr) {
    PARLEY_ASSIGN_OR_RETURN(service::QueryOutcome outcome,
                            service_->Run(identity::Caller::Embedded("supplier"), "room", sql, {}));
    if (!outcome.explanation.verdict.allowed()) {
      return absl::PermissionDeniedError(
          policy::FormatViolations(outcome.explanation.verdict.violations));
    }
    if (rendered != nullptr) *rendered = outcome.explanation.rendered_sql;
    if (!outcome.result) return absl::InternalError("the supplier received no result");
    return *outcome.result;
  }

  static fs::path* dir_;
  static service::Service* service_;
  static engine::duckdb::Session* oracle_;
};

fs::path* FanOutExecutionTest::dir_ = nullptr;
service::Service* FanOutExecutionTest::service_ = nullptr;
engine::duckdb::Session* FanOutExecutionTest::oracle_ = nullptr;

TEST_P(FanOutExecutionTest, SameRowsAsTheDeduplicatedAggregateByHand) {
  const Case& c = GetParam();
  std::string rendered;
  absl::StatusOr<engine::ResultTable> actual = RunAsSupplier(c.parley, &rendered);
  ASSERT_TRUE(actual.ok()) << actual.status();
  absl::StatusOr<engine::ResultTable> expected = oracle_->Run(c.oracle);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_FALSE(expected->rows.empty()) << "a query that returns nothing proves little";
  bool ordered = std::string(c.parley).find("ORDER BY") != std::string::npos;
  EXPECT_EQ(Rows(*actual, ordered), Rows(*expected, ordered)) << "engine SQL: " << rendered;
  ASSERT_EQ(actual->columns.size(), expected->columns.size());
  for (size_t i = 0; i < expected->columns.size(); ++i) {
    EXPECT_EQ(actual->columns[i].type, expected->columns[i].type) << "column " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, FanOutExecutionTest, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// The attack itself: the runner's table with the victim's key repeated seven times releases
// exactly what the same table with every key once releases, so the difference of the two sums
// is zero and reveals nothing. Under "allow_fan_out" the sums do differ: that is what the owner
// accepts when opting out.
TEST_F(FanOutExecutionTest, RepeatingTheVictimsKeyChangesNothing) {
  const char* query =
      "SELECT r.age_band, SUM(r.annual_spend) AS s, AVG(r.annual_spend) AS a, "
      "COUNT(r.annual_spend) AS c FROM %s r JOIN %s l ON r.hashed_email = l.hashed_email "
      "GROUP BY r.age_band";
  absl::StatusOr<engine::ResultTable> repeated =
      RunAsSupplier(absl::StrFormat(query, "retail", "loyalty"));
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  absl::StatusOr<engine::ResultTable> once =
      RunAsSupplier(absl::StrFormat(query, "retail", "loyalty_once"));
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(Rows(*repeated, false), Rows(*once, false));
  ASSERT_FALSE(once->rows.empty());

  absl::StatusOr<engine::ResultTable> fanned_out =
      RunAsSupplier(absl::StrFormat(query, "open_retail", "open_loyalty"));
  ASSERT_TRUE(fanned_out.ok()) << fanned_out.status();
  EXPECT_NE(Rows(*fanned_out, false), Rows(*once, false));
}

// COUNT(*) over a join counts joined rows: refused while a table counts rows once per group.
TEST_F(FanOutExecutionTest, CountStarOverAJoinIsRefused) {
  absl::StatusOr<engine::ResultTable> counted = RunAsSupplier(
      "SELECT r.age_band, COUNT(*) FROM retail r JOIN loyalty l ON r.hashed_email = "
      "l.hashed_email GROUP BY r.age_band");
  EXPECT_EQ(counted.status(),
            absl::PermissionDeniedError(
                "  1. COUNT(*) over a join counts a row of table 'retail' once for every row it "
                "matches in the other tables (in SELECT, at line 1, column 20)\n"
                "     rule: aggregation rule of table retail (owner retailer)\n"
                "     hint: count a column with COUNT(column), or COUNT(DISTINCT column): each "
                "row of the table then counts once per group\n"));
}

}  // namespace
}  // namespace parley
