// libFuzzer harness for the SQL front end: arbitrary bytes go through query::Compile (parse →
// bind → check → rewrite → render) under aggregation, list and custom rules. Nothing may crash,
// assert or hang, whatever the input. Not part of `make test`; run with tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "policy/verdict.h"
#include "query/compile.h"
#include "query/snapshot.h"

namespace {

using namespace parley;

// The two tables under one pair of rules, as a collaboration snapshot.
std::shared_ptr<const query::Snapshot> Make(const char* retail, const char* loyalty) {
  query::SnapshotSource source;
  source.collaboration = "fuzz";
  source.tables = {{"retail",
                    "retailer",
                    {{"household_id", sql::TypeKind::kBigint},
                     {"hashed_email", sql::TypeKind::kVarchar},
                     {"age_band", sql::TypeKind::kVarchar},
                     {"region", sql::TypeKind::kVarchar},
                     {"household_size", sql::TypeKind::kInteger},
                     {"annual_spend", sql::TypeKind::kDouble},
                     {"signup", sql::TypeKind::kDate}},
                    retail},
                   {"loyalty",
                    "supplier",
                    {{"hashed_email", sql::TypeKind::kVarchar},
                     {"loyalty_tier", sql::TypeKind::kVarchar},
                     {"brand_purchases", sql::TypeKind::kInteger},
                     {"big", sql::Type::Decimal(38, 0)}},
                    loyalty}};
  auto snapshot = query::Snapshot::Build(std::move(source));
  if (!snapshot->rules_status().ok()) __builtin_trap();  // the harness's own rules must parse
  return snapshot;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto aggregation = Make(
      R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["household_id"],
          "functions": ["COUNT", "COUNT_DISTINCT"]}, {"columns": ["annual_spend"], "functions":
          ["SUM", "AVG"]}], "join_columns": ["hashed_email"], "join_required": "query_runner",
          "allowed_join_operators": ["AND", "OR"], "dimension_columns": ["age_band", "region",
          "household_size", "signup"], "scalar_functions": ["ROUND", "UPPER", "CAST", "CASE",
          "COALESCE", "TRIM"], "output_constraints": [{"column": "household_id", "minimum": 5}]})",
      R"({"kind": "aggregation", "aggregate_columns": [{"columns": ["brand_purchases", "big"],
          "functions": ["SUM", "AVG", "COUNT"]}], "join_columns": ["hashed_email"],
          "dimension_columns": ["loyalty_tier"], "scalar_functions": ["ROUND", "UPPER", "CAST",
          "CASE", "COALESCE", "TRIM"], "output_constraints": [{"column": "hashed_email",
          "minimum": 2}]})");
  static const auto list = Make(
      R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["age_band",
          "region"]})",
      R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["loyalty_tier"]})");
  static const auto custom = Make(
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
          "disallowed_output_columns": ["hashed_email"]})",
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})");

  query::Request request;
  request.sql.assign(reinterpret_cast<const char*>(data), size);
  request.runner = "supplier";
  for (const auto* snapshot : {&aggregation, &list, &custom}) {
    absl::StatusOr<query::Compiled> compiled = query::Compile(**snapshot, request);
    if (!compiled.ok()) return 0;  // does not parse or bind: the same for every rule set
    (void)policy::FormatViolations(compiled->verdict.violations);
  }
  return 0;
}
