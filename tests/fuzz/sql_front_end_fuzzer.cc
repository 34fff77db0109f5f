// libFuzzer harness for the SQL front end: arbitrary bytes go through parse → bind → check
// (under aggregation, list and custom rules) → rewrite → render. Nothing may crash, assert or
// hang, whatever the input. Not part of `make test`; run with tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "policy/checker.h"
#include "policy/rule.h"
#include "rewrite/render.h"
#include "rewrite/rewrite.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace {

using namespace parley;

struct Schemas : sql::SchemaProvider {
  std::map<std::string, sql::TableSchema> tables = {{"retail",
                                                     {"retail",
                                                      "retailer",
                                                      {{"household_id", sql::TypeKind::kBigint},
                                                       {"hashed_email", sql::TypeKind::kVarchar},
                                                       {"age_band", sql::TypeKind::kVarchar},
                                                       {"region", sql::TypeKind::kVarchar},
                                                       {"household_size", sql::TypeKind::kInteger},
                                                       {"annual_spend", sql::TypeKind::kDouble},
                                                       {"signup", sql::TypeKind::kDate}}}},
                                                    {"loyalty",
                                                     {"loyalty",
                                                      "supplier",
                                                      {{"hashed_email", sql::TypeKind::kVarchar},
                                                       {"loyalty_tier", sql::TypeKind::kVarchar},
                                                       {"brand_purchases", sql::TypeKind::kInteger},
                                                       {"big", sql::Type::Decimal(38, 0)}}}}};
  const sql::TableSchema* FindTable(std::string_view name) const override {
    for (const auto& [key, table] : tables) {
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return &table;
      }
    }
    return nullptr;
  }
};

struct Rules : policy::RuleProvider {
  std::map<std::string, policy::Rule> rules;
  const policy::Rule* RuleFor(const std::string& table) const override {
    auto it = rules.find(table);
    return it == rules.end() ? nullptr : &it->second;
  }
};

Rules Make(const char* retail, const char* loyalty) {
  Rules rules;
  rules.rules["retail"] =
      *policy::ParseRule(retail, {"household_id", "hashed_email", "age_band", "region",
                                  "household_size", "annual_spend", "signup"});
  rules.rules["loyalty"] =
      *policy::ParseRule(loyalty, {"hashed_email", "loyalty_tier", "brand_purchases", "big"});
  return rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Schemas schemas;
  static const Rules aggregation = Make(
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
  static const Rules list = Make(
      R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["age_band",
          "region"]})",
      R"({"kind": "list", "join_columns": ["hashed_email"], "list_columns": ["loyalty_tier"]})");
  static const Rules custom = Make(
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"],
          "disallowed_output_columns": ["hashed_email"]})",
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})");

  std::string text(reinterpret_cast<const char*>(data), size);
  auto statement = sql::ParseSelect(text);
  if (!statement.ok()) return 0;
  for (const Rules* rules : {&aggregation, &list, &custom}) {
    auto bound = sql::Bind(**statement, schemas, text);
    if (!bound.ok()) return 0;
    policy::Verdict verdict = policy::Check(*bound, *rules, "supplier", text);
    (void)policy::FormatViolations(verdict.violations);
    if (!verdict.allowed()) continue;
    rewrite::Rewrite(*bound, verdict);
    (void)rewrite::RenderDuckDb(*bound);
  }
  return 0;
}
