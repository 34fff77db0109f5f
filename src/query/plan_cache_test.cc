#include "query/plan_cache.h"

#include <gtest/gtest.h>

#include "base/status_testing.h"
#include "render/duckdb/duckdb_dialect.h"

namespace parley::query {
namespace {

constexpr const char* kRule =
    R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"], "functions": )"
    R"(["COUNT_DISTINCT"]}], "join_columns": ["hashed_email"], "dimension_columns": ["region"], )"
    R"("output_constraints": [{"column": "household_id", "minimum": 100}]})";

SnapshotSource Source(std::string rule = kRule) {
  SnapshotSource source;
  source.collaboration = "room";
  source.digest = "d1";
  source.members = {{"retailer", true, true, true}, {"supplier", true, true, true}};
  source.tables = {{"retail",
                    "retailer",
                    {{"household_id", sql::TypeKind::kBigint},
                     {"hashed_email", sql::TypeKind::kVarchar},
                     {"region", sql::TypeKind::kVarchar}},
                    rule}};
  return source;
}

constexpr const char* kAllowed =
    "SELECT region, COUNT(DISTINCT household_id) FROM retail GROUP BY 1";

Request Ask(std::string sql = kAllowed) {
  Request request;
  request.sql = std::move(sql);
  request.runner = "supplier";
  request.receivers = {"supplier"};
  return request;
}

// What the cache returned is what Compile returns for the same snapshot and request.
void ExpectSameAsCompile(const absl::StatusOr<Compiled>& cached, const Snapshot& snapshot,
                         const Request& request) {
  absl::StatusOr<Compiled> fresh = Compile(snapshot, request);
  ASSERT_EQ(cached.status(), fresh.status());
  if (!fresh.ok()) return;
  EXPECT_EQ(cached->verdict.allowed(), fresh->verdict.allowed());
  EXPECT_EQ(policy::ViolationsJson(cached->verdict.violations),
            policy::ViolationsJson(fresh->verdict.violations));
  EXPECT_EQ(cached->plan.rendered_sql, fresh->plan.rendered_sql);
  EXPECT_EQ(cached->tables, fresh->tables);
}

TEST(PlanCacheTest, ARepeatIsAHitWithTheSamePlan) {
  int hits = 0;
  PlanCache cache({.capacity = 8, .on_hit = [&] { ++hits; }});
  auto snapshot = Snapshot::Build(Source());
  ASSERT_OK_AND_ASSIGN(Compiled first, cache.Compile(*snapshot, Ask()));
  EXPECT_EQ(hits, 0);
  ASSERT_OK_AND_ASSIGN(Compiled second, cache.Compile(*snapshot, Ask()));
  EXPECT_EQ(hits, 1);
  ASSERT_TRUE(second.verdict.allowed());
  EXPECT_EQ(second.plan.rendered_sql, first.plan.rendered_sql);
  EXPECT_EQ(second.plan.thresholds.size(), 1u);
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().misses, 1);
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST(PlanCacheTest, EveryRequestFieldIsPartOfTheKey) {
  int hits = 0;
  PlanCache cache({.capacity = 64, .on_hit = [&] { ++hits; }});
  auto snapshot = Snapshot::Build(Source());
  std::vector<Request> requests;
  requests.push_back(Ask());
  requests.push_back(Ask("SELECT region, COUNT(DISTINCT household_id) FROM retail GROUP BY 1 "));
  requests.push_back(Ask("SELECT hashed_email FROM retail"));
  Request runner = Ask();
  runner.runner = "retailer";
  requests.push_back(runner);
  Request receivers = Ask();
  receivers.receivers = {"supplier", "retailer"};
  requests.push_back(receivers);
  Request no_receivers = Ask();
  no_receivers.receivers = {};
  requests.push_back(no_receivers);
  Request joined_receivers = Ask();  // not confused with two receivers by a naive join
  joined_receivers.receivers = {"supplier;retailer"};
  requests.push_back(joined_receivers);
  Request template_id = Ask();
  template_id.template_id = "t1";
  requests.push_back(template_id);
  Request epsilon = Ask();
  epsilon.privacy_epsilon = 500'000;
  requests.push_back(epsilon);
  Request delta = Ask();
  delta.privacy_delta = 10;
  requests.push_back(delta);
  Request strict =
      Ask("SELECT region, COUNT(DISTINCT household_id) FROM retail WHERE "
          "CAST(region AS INTEGER) > 1 GROUP BY 1");
  requests.push_back(strict);
  Request strict_here = strict;
  strict_here.strict_conversion = static_cast<int>(strict.sql.find("CAST"));
  requests.push_back(strict_here);
  Request parameter =
      Ask("SELECT region, COUNT(DISTINCT household_id) FROM retail WHERE "
          "region = $1 GROUP BY 1");
  parameter.bind.parameters = {{{sql::ConstantKind::kString, "north"}, sql::TypeKind::kVarchar}};
  requests.push_back(parameter);
  Request other_value = parameter;
  other_value.bind.parameters[0].constant.text = "south";
  requests.push_back(other_value);
  Request other_type = parameter;
  other_type.bind.parameters[0].cast_type = sql::Type();
  requests.push_back(other_type);

  for (const Request& request : requests) {
    absl::StatusOr<Compiled> cached = cache.Compile(*snapshot, request);
    ExpectSameAsCompile(cached, *snapshot, request);
  }
  EXPECT_EQ(hits, 0) << "a request that differs in one field was served another's plan";
  EXPECT_EQ(cache.stats().entries, requests.size());
  for (const Request& request : requests) {
    absl::StatusOr<Compiled> cached = cache.Compile(*snapshot, request);
    ExpectSameAsCompile(cached, *snapshot, request);
  }
  EXPECT_EQ(hits, static_cast<int>(requests.size()));
}

TEST(PlanCacheTest, ANewSnapshotIsNeverServedAnOldVerdict) {
  int hits = 0;
  PlanCache cache({.capacity = 8, .on_hit = [&] { ++hits; }});
  auto lenient = Snapshot::Build(Source());
  ASSERT_OK_AND_ASSIGN(Compiled before, cache.Compile(*lenient, Ask()));
  ASSERT_TRUE(before.verdict.allowed());
  // The same rule text, rebuilt (as after any other change of the policy state): a new identity.
  auto rebuilt = Snapshot::Build(Source(), lenient.get());
  EXPECT_NE(rebuilt->generation(), lenient->generation());
  ASSERT_OK(cache.Compile(*rebuilt, Ask()).status());
  EXPECT_EQ(hits, 0);
  // A rule that no longer allows the aggregate: the second, identical query sees it.
  std::string strict = kRule;
  strict.replace(strict.find("COUNT_DISTINCT"), 14, "SUM");
  auto changed = Snapshot::Build(Source(strict), lenient.get());
  ASSERT_OK_AND_ASSIGN(Compiled after, cache.Compile(*changed, Ask()));
  EXPECT_FALSE(after.verdict.allowed());
  EXPECT_EQ(hits, 0);
}

TEST(PlanCacheTest, ErrorsAreCachedAsTheyWereReturned) {
  int hits = 0;
  PlanCache cache({.capacity = 8, .on_hit = [&] { ++hits; }});
  auto snapshot = Snapshot::Build(Source());
  absl::Status error = cache.Compile(*snapshot, Ask("SELECT 1 FROM nowhere")).status();
  EXPECT_EQ(error, absl::InvalidArgumentError(
                       "table 'nowhere' does not exist in this collaboration (line 1, column 15)"));
  EXPECT_EQ(cache.Compile(*snapshot, Ask("SELECT 1 FROM nowhere")).status(), error);
  EXPECT_EQ(hits, 1);
}

TEST(PlanCacheTest, LeastRecentlyUsedEntriesAreEvicted) {
  int hits = 0;
  PlanCache cache({.capacity = 2, .on_hit = [&] { ++hits; }});
  auto snapshot = Snapshot::Build(Source());
  Request a = Ask(), b = Ask("SELECT region FROM retail"), c = Ask("SELECT 1 FROM retail");
  ASSERT_OK(cache.Compile(*snapshot, a).status());
  ASSERT_OK(cache.Compile(*snapshot, b).status());
  ASSERT_OK(cache.Compile(*snapshot, a).status());  // a is now the most recent
  EXPECT_EQ(hits, 1);
  ASSERT_OK(cache.Compile(*snapshot, c).status());  // evicts b
  EXPECT_EQ(cache.stats().entries, 2u);
  ASSERT_OK(cache.Compile(*snapshot, a).status());
  EXPECT_EQ(hits, 2);
  ASSERT_OK(cache.Compile(*snapshot, b).status());
  EXPECT_EQ(hits, 2);
}

TEST(PlanCacheTest, CapacityZeroALongTextAndAnExplicitDialectAlwaysCompile) {
  int hits = 0;
  PlanCache off({.capacity = 0, .on_hit = [&] { ++hits; }});
  auto snapshot = Snapshot::Build(Source());
  ASSERT_OK(off.Compile(*snapshot, Ask()).status());
  ASSERT_OK(off.Compile(*snapshot, Ask()).status());
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(off.stats().misses, 2);
  EXPECT_EQ(off.stats().entries, 0u);

  PlanCache on({.capacity = 8, .max_sql_bytes = 100, .on_hit = [&] { ++hits; }});
  Request long_text = Ask(std::string(kAllowed) + std::string(100, ' '));
  ASSERT_OK(on.Compile(*snapshot, long_text).status());
  ASSERT_OK(on.Compile(*snapshot, long_text).status());
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(on.stats().entries, 0u);
  ASSERT_OK(on.Compile(*snapshot, Ask()).status());
  ASSERT_OK(on.Compile(*snapshot, Ask()).status());
  EXPECT_EQ(hits, 1);
  hits = 0;
  render::DuckDbDialect dialect;
  Request routed = Ask();
  routed.dialect = &dialect;
  ASSERT_OK(on.Compile(*snapshot, routed).status());
  ASSERT_OK(on.Compile(*snapshot, routed).status());
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(on.stats().entries, 1u);  // only Ask()'s
}

}  // namespace
}  // namespace parley::query
