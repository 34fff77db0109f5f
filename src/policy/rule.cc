#include "policy/rule.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::policy {
namespace {

using Json = nlohmann::json;

constexpr int64_t kMinimumThreshold = 2;
constexpr int64_t kMaximumThreshold = 100000;

absl::Status Invalid(const std::string& path, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat("rule: ", path, ": ", problem));
}

std::string JsonTypeName(const Json& value) { return value.type_name(); }

// Validates keys against an allow-list; unknown keys are errors, never ignored.
absl::Status CheckKeys(const Json& object, const std::string& path,
                       std::initializer_list<std::string> known) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (const std::string& name : known) found |= key == name;
    if (!found) {
      return Invalid(path, absl::StrCat("unknown key '", key, "' (expected one of ",
                                        absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

class RuleReader {
 public:
  explicit RuleReader(const std::vector<std::string>& columns) : columns_(columns) {}

  absl::StatusOr<Rule> Read(const Json& document) {
    if (!document.is_object()) return Invalid("(document)", "must be a JSON object");
    auto kind = document.find("kind");
    if (kind == document.end()) {
      return Invalid("kind", "is required: one of aggregation, list, custom");
    }
    if (!kind->is_string()) return Invalid("kind", "must be a string");
    std::string name = kind->get<std::string>();
    Rule rule;
    if (name == "aggregation") {
      rule.kind = RuleKind::kAggregation;
      PARLEY_ASSIGN_OR_RETURN(rule.aggregation, ReadAggregation(document));
    } else if (name == "list") {
      rule.kind = RuleKind::kList;
      PARLEY_ASSIGN_OR_RETURN(rule.list, ReadList(document));
    } else if (name == "custom") {
      rule.kind = RuleKind::kCustom;
      PARLEY_ASSIGN_OR_RETURN(rule.custom, ReadCustom(document));
    } else {
      return Invalid("kind", absl::StrCat("'", name, "' is not one of aggregation, list, custom"));
    }
    return rule;
  }

 private:
  absl::StatusOr<std::string> ColumnName(const Json& value, const std::string& path) {
    if (!value.is_string()) return Invalid(path, "must be a column name (a string)");
    std::string name = value.get<std::string>();
    for (const std::string& column : columns_) {
      if (absl::EqualsIgnoreCase(column, name)) return column;
    }
    return Invalid(path, absl::StrCat("'", name, "' is not an allowed column of the table"));
  }

  // The list under `key` of `object`; `prefix` is the object's own path ("" at the top).
  absl::StatusOr<const Json*> Array(const Json& object, const std::string& key, bool required,
                                    bool non_empty, const std::string& prefix = "") {
    std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) return Invalid(path, "is required");
      return nullptr;
    }
    if (!it->is_array()) {
      return Invalid(path, absl::StrCat("must be a list, not ", JsonTypeName(*it)));
    }
    if (non_empty && it->empty()) return Invalid(path, "must list at least one entry");
    return &*it;
  }

  absl::StatusOr<std::set<std::string>> ColumnSet(const Json& list, const std::string& path) {
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      PARLEY_ASSIGN_OR_RETURN(std::string name, ColumnName(list[i], item_path));
      if (!names.insert(name).second)
        return Invalid(item_path, absl::StrCat("'", name, "' is listed twice"));
    }
    return names;
  }

  absl::StatusOr<std::set<std::string>> NameSet(const Json& list, const std::string& path,
                                                const std::set<std::string>& allowed,
                                                const std::string& what) {
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      if (!list[i].is_string()) return Invalid(item_path, "must be a string");
      std::string name = absl::AsciiStrToUpper(list[i].get<std::string>());
      if (!allowed.contains(name)) {
        return Invalid(item_path, absl::StrCat("'", list[i].get<std::string>(), "' is not ", what,
                                               " (one of ", absl::StrJoin(allowed, ", "), ")"));
      }
      if (!names.insert(name).second)
        return Invalid(item_path, absl::StrCat("'", name, "' is listed twice"));
    }
    return names;
  }

  // allowed_join_operators: optional, non-empty when present, AND by default.
  absl::StatusOr<std::set<std::string>> JoinOperators(const Json& document) {
    PARLEY_ASSIGN_OR_RETURN(const Json* operators,
                            Array(document, "allowed_join_operators", false, true));
    if (operators == nullptr) return std::set<std::string>{"AND"};
    return NameSet(*operators, "allowed_join_operators", {"AND", "OR"}, "a join operator");
  }

  // Member names are checked for shape only: the rule does not know the collaboration's members.
  absl::StatusOr<std::set<std::string>> MemberSet(const Json& list, const std::string& path) {
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_path = absl::StrCat(path, "[", i, "]");
      if (!list[i].is_string()) return Invalid(item_path, "must be a member name (a string)");
      std::string name = list[i].get<std::string>();
      if (!IsMemberName(name)) {
        return Invalid(item_path, absl::StrCat("'", name,
                                               "' is not a member name (a letter or digit, then "
                                               "up to 63 letters, digits, '_', '.' or '-')"));
      }
      if (!names.insert(name).second)
        return Invalid(item_path, absl::StrCat("'", name, "' is listed twice"));
    }
    return names;
  }

  static bool IsMemberName(const std::string& name) {
    if (name.empty() || name.size() > 64 || !absl::ascii_isalnum(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
    });
  }

  // A template id is the SHA-256 of the analysis template, as the catalog prints it.
  static bool IsTemplateId(const std::string& id) {
    return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
             return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
           });
  }

  absl::StatusOr<ListRule> ReadList(const Json& document) {
    PARLEY_RETURN_IF_ERROR(
        CheckKeys(document, "(document)",
                  {"kind", "join_columns", "list_columns", "allowed_join_operators"}));
    ListRule rule;
    PARLEY_ASSIGN_OR_RETURN(const Json* joins, Array(document, "join_columns", true, true));
    PARLEY_ASSIGN_OR_RETURN(rule.join_columns, ColumnSet(*joins, "join_columns"));
    PARLEY_ASSIGN_OR_RETURN(const Json* lists, Array(document, "list_columns", false, false));
    if (lists != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.list_columns, ColumnSet(*lists, "list_columns"));
      for (size_t i = 0; i < lists->size(); ++i) {
        std::string path = absl::StrCat("list_columns[", i, "]");
        PARLEY_ASSIGN_OR_RETURN(std::string column, ColumnName((*lists)[i], path));
        if (rule.join_columns.contains(column)) {
          return Invalid(
              path, absl::StrCat("'", column, "' is also a join column; a column cannot be both"));
        }
      }
    }
    PARLEY_ASSIGN_OR_RETURN(rule.allowed_join_operators, JoinOperators(document));
    return rule;
  }

  // allowed_jobs, any_job with allowed_job_providers, never_output, allow_job_logs.
  absl::Status ReadJobControls(const Json& document, CustomRule& rule) {
    PARLEY_ASSIGN_OR_RETURN(const Json* jobs, Array(document, "allowed_jobs", false, false));
    if (jobs != nullptr) {
      for (size_t i = 0; i < jobs->size(); ++i) {
        std::string path = absl::StrCat("allowed_jobs[", i, "]");
        const Json& entry = (*jobs)[i];
        if (!entry.is_string() || !IsTemplateId(entry.get<std::string>())) {
          return Invalid(path, "must be a job id (64 lowercase hexadecimal characters)");
        }
        if (!rule.allowed_jobs.insert(entry.get<std::string>()).second) {
          return Invalid(path, absl::StrCat("'", entry.get<std::string>(), "' is listed twice"));
        }
      }
    }
    if (auto it = document.find("any_job"); it != document.end()) {
      if (!it->is_boolean()) return Invalid("any_job", "must be true or false");
      rule.any_job = it->get<bool>();
    }
    PARLEY_ASSIGN_OR_RETURN(const Json* providers,
                            Array(document, "allowed_job_providers", false, true));
    if (rule.any_job && providers == nullptr) {
      return Invalid("allowed_job_providers",
                     "is required when any_job is true: name the members whose jobs may run");
    }
    if (!rule.any_job && providers != nullptr) {
      return Invalid("allowed_job_providers", "is only allowed with \"any_job\": true");
    }
    if (providers != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.allowed_job_providers,
                              MemberSet(*providers, "allowed_job_providers"));
    }
    PARLEY_ASSIGN_OR_RETURN(const Json* never, Array(document, "never_output", false, false));
    if (never != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.never_output, ColumnSet(*never, "never_output"));
    }
    if (auto it = document.find("allow_job_logs"); it != document.end()) {
      if (!it->is_boolean()) return Invalid("allow_job_logs", "must be true or false");
      rule.allow_job_logs = it->get<bool>();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CustomRule> ReadCustom(const Json& document, bool nested = false) {
    PARLEY_RETURN_IF_ERROR(CheckKeys(
        document, "(document)",
        {"kind", "allowed_analyses", "any_query", "allowed_analysis_providers",
         "disallowed_output_columns", "allowed_result_receivers", "aggregation_thresholds",
         "allowed_aggregate_expressions", "allowed_literal_comparison_columns",
         "allowed_column_comparison_columns", "derived_from", "allowed_jobs", "any_job",
         "allowed_job_providers", "never_output", "allow_job_logs"}));
    CustomRule rule;
    if (auto it = document.find("derived_from"); it != document.end()) {
      if (nested) return Invalid("derived_from", "is not allowed");
      PARLEY_ASSIGN_OR_RETURN(rule.derived_from, ReadDerivedFrom(*it));
    }
    PARLEY_ASSIGN_OR_RETURN(const Json* analyses,
                            Array(document, "allowed_analyses", false, false));
    if (analyses != nullptr) {
      for (size_t i = 0; i < analyses->size(); ++i) {
        std::string path = absl::StrCat("allowed_analyses[", i, "]");
        const Json& entry = (*analyses)[i];
        if (!entry.is_string() || !IsTemplateId(entry.get<std::string>())) {
          return Invalid(path, "must be a template id (64 lowercase hexadecimal characters)");
        }
        if (!rule.allowed_analyses.insert(entry.get<std::string>()).second) {
          return Invalid(path, absl::StrCat("'", entry.get<std::string>(), "' is listed twice"));
        }
      }
    }

    if (auto it = document.find("any_query"); it != document.end()) {
      if (!it->is_boolean()) return Invalid("any_query", "must be true or false");
      rule.any_query = it->get<bool>();
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* providers,
                            Array(document, "allowed_analysis_providers", false, true));
    if (rule.any_query && providers == nullptr) {
      return Invalid("allowed_analysis_providers",
                     "is required when any_query is true: name the members who may run queries");
    }
    if (!rule.any_query && providers != nullptr) {
      return Invalid("allowed_analysis_providers", "is only allowed with \"any_query\": true");
    }
    if (providers != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.allowed_analysis_providers,
                              MemberSet(*providers, "allowed_analysis_providers"));
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* disallowed,
                            Array(document, "disallowed_output_columns", false, false));
    if (disallowed != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.disallowed_output_columns,
                              ColumnSet(*disallowed, "disallowed_output_columns"));
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* receivers,
                            Array(document, "allowed_result_receivers", false, true));
    if (receivers != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.allowed_result_receivers,
                              MemberSet(*receivers, "allowed_result_receivers"));
    }

    PARLEY_RETURN_IF_ERROR(ReadCustomControls(document, rule));
    PARLEY_RETURN_IF_ERROR(ReadJobControls(document, rule));

    // With no analysis approved and no free-form queries the table waits for its owner to
    // approve templates (`parley template approve`): a valid state, not an error.
    return rule;
  }

  absl::StatusOr<DerivedFrom> ReadDerivedFrom(const Json& object) {
    if (!object.is_object()) {
      return Invalid("derived_from", "must be an object with tables, co_owners and inherited");
    }
    PARLEY_RETURN_IF_ERROR(
        CheckKeys(object, "derived_from", {"tables", "co_owners", "inherited", "approvals"}));
    DerivedFrom derived;
    for (const char* key : {"tables", "co_owners"}) {
      auto it = object.find(key);
      std::string path = absl::StrCat("derived_from.", key);
      if (it == object.end() || !it->is_array() || it->empty()) {
        return Invalid(path, "must be a non-empty array of names");
      }
      for (const Json& name : *it) {
        if (!name.is_string() || name.get<std::string>().empty()) {
          return Invalid(path, "must be a non-empty array of names");
        }
        (std::string(key) == "tables" ? derived.tables : derived.co_owners)
            .insert(name.get<std::string>());
      }
    }
    auto inherited = object.find("inherited");
    if (inherited == object.end() || !inherited->is_object()) {
      return Invalid("derived_from.inherited", "must be a custom rule object");
    }
    absl::StatusOr<CustomRule> floor = ReadCustom(*inherited, true);
    if (!floor.ok()) {
      // "rule: <path>: problem" of the inner document, as a path inside this one.
      std::string inner(floor.status().message());
      if (absl::StartsWith(inner, "rule: ")) inner = inner.substr(6);
      if (absl::StartsWith(inner, "(document)"))
        inner = inner.substr(10);
      else
        inner = absl::StrCat(".", inner);
      return absl::InvalidArgumentError(absl::StrCat("rule: derived_from.inherited", inner));
    }
    derived.inherited = std::make_shared<const CustomRule>(*std::move(floor));
    if (auto approvals = object.find("approvals"); approvals != object.end()) {
      if (!approvals->is_object()) {
        return Invalid("derived_from.approvals",
                       "must be an object from template ids to the members who approved them");
      }
      for (const auto& [id, members] : approvals->items()) {
        std::string path = absl::StrCat("derived_from.approvals.", id);
        if (!IsTemplateId(id)) {
          return Invalid(path, "is not a template id (64 lowercase hexadecimal characters)");
        }
        if (!members.is_array() || members.empty()) {
          return Invalid(path, "must be a non-empty array of member names");
        }
        PARLEY_ASSIGN_OR_RETURN(derived.approvals[id], MemberSet(members, path));
      }
    }
    return derived;
  }

  // A minimum of distinct identities: an integer from 2 to 100000, or also 0 when `may_exempt`.
  absl::StatusOr<int64_t> Minimum(const Json& entry, const std::string& path, bool may_exempt) {
    auto minimum = entry.find("minimum");
    if (minimum == entry.end()) return Invalid(path + ".minimum", "is required");
    std::string range = absl::StrCat(may_exempt ? "0 (exempt) or " : "", kMinimumThreshold, " to ",
                                     kMaximumThreshold);
    if (!minimum->is_number_integer()) {
      return Invalid(path + ".minimum", absl::StrCat("must be an integer (", range, ")"));
    }
    if (minimum->is_number_unsigned() && minimum->get<uint64_t>() > uint64_t{kMaximumThreshold}) {
      return Invalid(path + ".minimum", absl::StrCat(minimum->get<uint64_t>(),
                                                     " is outside the allowed range ", range));
    }
    int64_t value = minimum->get<int64_t>();
    if ((value == 0 && may_exempt) || (value >= kMinimumThreshold && value <= kMaximumThreshold)) {
      return value;
    }
    return Invalid(path + ".minimum", absl::StrCat(value, " is outside the allowed range ", range));
  }

  // aggregation_thresholds, allowed_aggregate_expressions and the comparison allow-lists.
  absl::Status ReadCustomControls(const Json& document, CustomRule& rule) {
    PARLEY_ASSIGN_OR_RETURN(const Json* thresholds,
                            Array(document, "aggregation_thresholds", false, true));
    if (thresholds != nullptr) {
      for (size_t i = 0; i < thresholds->size(); ++i) {
        const Json& entry = (*thresholds)[i];
        std::string path = absl::StrCat("aggregation_thresholds[", i, "]");
        if (!entry.is_object()) {
          return Invalid(path, "must be an object with identity_column and minimum");
        }
        PARLEY_RETURN_IF_ERROR(
            CheckKeys(entry, path, {"identity_column", "minimum", "output_column_thresholds"}));
        IdentityThreshold threshold;
        auto identity = entry.find("identity_column");
        if (identity == entry.end()) return Invalid(path + ".identity_column", "is required");
        PARLEY_ASSIGN_OR_RETURN(threshold.identity_column,
                                ColumnName(*identity, path + ".identity_column"));
        for (const IdentityThreshold& earlier : rule.aggregation_thresholds) {
          if (earlier.identity_column == threshold.identity_column) {
            return Invalid(path + ".identity_column",
                           absl::StrCat("'", threshold.identity_column, "' is listed twice"));
          }
        }
        PARLEY_ASSIGN_OR_RETURN(threshold.minimum, Minimum(entry, path, false));
        PARLEY_ASSIGN_OR_RETURN(const Json* overrides,
                                Array(entry, "output_column_thresholds", false, false, path));
        if (overrides != nullptr) {
          for (size_t j = 0; j < overrides->size(); ++j) {
            const Json& item = (*overrides)[j];
            std::string item_path = absl::StrCat(path, ".output_column_thresholds[", j, "]");
            if (!item.is_object()) {
              return Invalid(item_path, "must be an object with column and minimum");
            }
            PARLEY_RETURN_IF_ERROR(CheckKeys(item, item_path, {"column", "minimum"}));
            auto column = item.find("column");
            if (column == item.end()) return Invalid(item_path + ".column", "is required");
            PARLEY_ASSIGN_OR_RETURN(std::string name, ColumnName(*column, item_path + ".column"));
            PARLEY_ASSIGN_OR_RETURN(int64_t minimum, Minimum(item, item_path, true));
            if (!threshold.output_column_thresholds.emplace(name, minimum).second) {
              return Invalid(item_path + ".column", absl::StrCat("'", name, "' is listed twice"));
            }
          }
        }
        rule.aggregation_thresholds.push_back(std::move(threshold));
      }
    }

    for (const char* key :
         {"allowed_literal_comparison_columns", "allowed_column_comparison_columns"}) {
      PARLEY_ASSIGN_OR_RETURN(const Json* columns, Array(document, key, false, false));
      if (columns == nullptr) continue;
      PARLEY_ASSIGN_OR_RETURN(std::set<std::string> names, ColumnSet(*columns, key));
      if (std::string(key) == "allowed_literal_comparison_columns") {
        rule.allowed_literal_comparison_columns = std::move(names);
      } else {
        rule.allowed_column_comparison_columns = std::move(names);
      }
    }
    // Comparing an identity with a literal picks one person out; it is refused whatever the
    // allow-list says, so listing it is a mistake worth telling the owner about.
    if (rule.allowed_literal_comparison_columns) {
      for (const IdentityThreshold& threshold : rule.aggregation_thresholds) {
        if (rule.allowed_literal_comparison_columns->contains(threshold.identity_column)) {
          return Invalid("allowed_literal_comparison_columns",
                         absl::StrCat("'", threshold.identity_column,
                                      "' is an identity column of aggregation_thresholds; it may "
                                      "never be compared with a literal"));
        }
      }
    }

    rule.allowed_aggregate_expressions = rule.HasControls() ? AggregateExpressions::kColumnsOnly
                                                            : AggregateExpressions::kAnyExpression;
    if (auto it = document.find("allowed_aggregate_expressions"); it != document.end()) {
      std::string value = it->is_string() ? it->get<std::string>() : "";
      if (value == "columns_only") {
        rule.allowed_aggregate_expressions = AggregateExpressions::kColumnsOnly;
      } else if (value == "any_expression") {
        rule.allowed_aggregate_expressions = AggregateExpressions::kAnyExpression;
      } else {
        return Invalid("allowed_aggregate_expressions",
                       "must be \"columns_only\" or \"any_expression\"");
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<AggregationRule> ReadAggregation(const Json& document) {
    PARLEY_RETURN_IF_ERROR(
        CheckKeys(document, "(document)",
                  {"kind", "aggregate_columns", "join_columns", "join_required",
                   "allowed_join_operators", "dimension_columns", "scalar_functions",
                   "output_constraints", "allow_fan_out", "differential_privacy"}));
    AggregationRule rule;
    static const std::set<std::string> kAggregates(std::begin(kAggregateFunctionNames),
                                                   std::end(kAggregateFunctionNames));

    PARLEY_ASSIGN_OR_RETURN(const Json* aggregates,
                            Array(document, "aggregate_columns", true, true));
    for (size_t i = 0; i < aggregates->size(); ++i) {
      const Json& entry = (*aggregates)[i];
      std::string path = absl::StrCat("aggregate_columns[", i, "]");
      if (!entry.is_object()) return Invalid(path, "must be an object with columns and functions");
      PARLEY_RETURN_IF_ERROR(CheckKeys(entry, path, {"columns", "functions"}));
      PARLEY_ASSIGN_OR_RETURN(const Json* columns, Array(entry, "columns", true, true, path));
      PARLEY_ASSIGN_OR_RETURN(const Json* functions, Array(entry, "functions", true, true, path));
      PARLEY_ASSIGN_OR_RETURN(auto column_names, ColumnSet(*columns, path + ".columns"));
      PARLEY_ASSIGN_OR_RETURN(auto function_names,
                              NameSet(*functions, path + ".functions", kAggregates,
                                      "an aggregate function Parley supports"));
      for (const std::string& column : column_names) {
        // One entry per column, so that what a column allows is read in one place.
        if (rule.aggregate_columns.contains(column)) {
          return Invalid(path + ".columns",
                         absl::StrCat("'", column, "' is listed in an earlier entry too"));
        }
        rule.aggregate_columns[column] = function_names;
      }
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* joins, Array(document, "join_columns", false, false));
    if (joins != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.join_columns, ColumnSet(*joins, "join_columns"));
    }

    if (auto it = document.find("join_required"); it != document.end()) {
      if (!it->is_string() || it->get<std::string>() != "query_runner") {
        return Invalid("join_required", "must be \"query_runner\" when present");
      }
      if (rule.join_columns.empty()) {
        return Invalid("join_required", "needs at least one entry in join_columns");
      }
      rule.join_required_query_runner = true;
    }

    PARLEY_ASSIGN_OR_RETURN(rule.allowed_join_operators, JoinOperators(document));

    PARLEY_ASSIGN_OR_RETURN(const Json* dimensions,
                            Array(document, "dimension_columns", false, false));
    if (dimensions != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.dimension_columns, ColumnSet(*dimensions, "dimension_columns"));
    }
    for (const std::string& column : rule.dimension_columns) {
      if (rule.join_columns.contains(column)) {
        return Invalid("dimension_columns", absl::StrCat("'", column,
                                                         "' is also a join column; a column "
                                                         "cannot be both"));
      }
      if (rule.aggregate_columns.contains(column)) {
        return Invalid("dimension_columns", absl::StrCat("'", column,
                                                         "' is also an aggregate column; a "
                                                         "column cannot be both"));
      }
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* scalars, Array(document, "scalar_functions", false, false));
    if (scalars != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(rule.scalar_functions,
                              NameSet(*scalars, "scalar_functions", SupportedScalarFunctions(),
                                      "a scalar function Parley supports"));
    }

    PARLEY_ASSIGN_OR_RETURN(const Json* constraints,
                            Array(document, "output_constraints", true, true));
    std::set<std::string> constrained;
    for (size_t i = 0; i < constraints->size(); ++i) {
      const Json& entry = (*constraints)[i];
      std::string path = absl::StrCat("output_constraints[", i, "]");
      if (!entry.is_object()) return Invalid(path, "must be an object with column, minimum, type");
      PARLEY_RETURN_IF_ERROR(CheckKeys(entry, path, {"column", "minimum", "type"}));
      auto column = entry.find("column");
      if (column == entry.end()) return Invalid(path + ".column", "is required");
      OutputConstraint constraint;
      PARLEY_ASSIGN_OR_RETURN(constraint.column, ColumnName(*column, path + ".column"));
      auto minimum = entry.find("minimum");
      if (minimum == entry.end()) return Invalid(path + ".minimum", "is required");
      if (!minimum->is_number_integer()) return Invalid(path + ".minimum", "must be an integer");
      if (minimum->is_number_unsigned() && minimum->get<uint64_t>() > uint64_t{kMaximumThreshold}) {
        return Invalid(path + ".minimum",
                       absl::StrCat(minimum->get<uint64_t>(), " is outside the allowed range ",
                                    kMinimumThreshold, " to ", kMaximumThreshold));
      }
      constraint.minimum = minimum->get<int64_t>();
      if (constraint.minimum < kMinimumThreshold || constraint.minimum > kMaximumThreshold) {
        return Invalid(path + ".minimum",
                       absl::StrCat(constraint.minimum, " is outside the allowed range ",
                                    kMinimumThreshold, " to ", kMaximumThreshold));
      }
      auto type = entry.find("type");
      if (type != entry.end() &&
          (!type->is_string() || type->get<std::string>() != "count_distinct")) {
        return Invalid(path + ".type", "must be \"count_distinct\"");
      }
      if (!constrained.insert(constraint.column).second) {
        return Invalid(path + ".column",
                       absl::StrCat("'", constraint.column, "' is constrained twice"));
      }
      rule.output_constraints.push_back(constraint);
    }

    if (auto it = document.find("allow_fan_out"); it != document.end()) {
      if (!it->is_boolean()) return Invalid("allow_fan_out", "must be true or false");
      rule.allow_fan_out = it->get<bool>();
    }
    if (auto it = document.find("differential_privacy"); it != document.end()) {
      PARLEY_ASSIGN_OR_RETURN(rule.differential_privacy, ReadDifferentialPrivacy(*it));
    }
    return rule;
  }

  absl::StatusOr<int64_t> BoundedInteger(const Json& object, const std::string& key,
                                         const std::string& path, int64_t fallback, int64_t minimum,
                                         int64_t maximum) {
    auto it = object.find(key);
    if (it == object.end()) return fallback;
    std::string range = absl::StrCat(" from ", minimum, " to ", maximum);
    if (!it->is_number_integer()) return Invalid(path, "must be an integer" + range);
    bool too_large =
        it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(maximum);
    if (too_large || it->get<int64_t>() < minimum || it->get<int64_t>() > maximum) {
      return Invalid(path, "must be an integer" + range);
    }
    return it->get<int64_t>();
  }

  absl::StatusOr<DifferentialPrivacy> ReadDifferentialPrivacy(const Json& object) {
    const std::string path = "differential_privacy";
    if (!object.is_object()) {
      return Invalid(path,
                     "must be an object with privacy_unit (and optionally "
                     "max_groups_per_unit, max_rows_per_unit, bounds)");
    }
    PARLEY_RETURN_IF_ERROR(CheckKeys(
        object, path, {"privacy_unit", "max_groups_per_unit", "max_rows_per_unit", "bounds"}));
    DifferentialPrivacy dp;
    auto unit = object.find("privacy_unit");
    if (unit == object.end()) {
      return Invalid(path + ".privacy_unit",
                     "is required: the column that identifies a person or household");
    }
    PARLEY_ASSIGN_OR_RETURN(dp.privacy_unit, ColumnName(*unit, path + ".privacy_unit"));
    PARLEY_ASSIGN_OR_RETURN(
        dp.max_groups_per_unit,
        BoundedInteger(object, "max_groups_per_unit", path + ".max_groups_per_unit", 1, 1, 100));
    PARLEY_ASSIGN_OR_RETURN(
        dp.max_rows_per_unit,
        BoundedInteger(object, "max_rows_per_unit", path + ".max_rows_per_unit", 1, 1, 1000));
    PARLEY_ASSIGN_OR_RETURN(const Json* bounds, Array(object, "bounds", false, false, path));
    if (bounds != nullptr) {
      for (size_t i = 0; i < bounds->size(); ++i) {
        const Json& entry = (*bounds)[i];
        std::string item = absl::StrCat(path, ".bounds[", i, "]");
        if (!entry.is_object())
          return Invalid(item, "must be an object with column, minimum, maximum");
        PARLEY_RETURN_IF_ERROR(CheckKeys(entry, item, {"column", "minimum", "maximum"}));
        auto column = entry.find("column");
        if (column == entry.end()) return Invalid(item + ".column", "is required");
        PARLEY_ASSIGN_OR_RETURN(std::string name, ColumnName(*column, item + ".column"));
        ValueBounds value_bounds;
        for (auto [key, target] : {std::pair{"minimum", &value_bounds.minimum},
                                   std::pair{"maximum", &value_bounds.maximum}}) {
          auto found = entry.find(key);
          if (found == entry.end()) return Invalid(absl::StrCat(item, ".", key), "is required");
          // Bounds set the noise scale; beyond 10^12 the noise would swamp any sum.
          if (!found->is_number() || std::abs(found->get<double>()) > 1e12) {
            return Invalid(absl::StrCat(item, ".", key), "must be a number from -1e12 to 1e12");
          }
          *target = found->get<double>();
        }
        if (value_bounds.minimum > value_bounds.maximum) {
          return Invalid(item, "minimum must not exceed maximum");
        }
        if (!dp.bounds.emplace(name, value_bounds).second) {
          return Invalid(item + ".column", absl::StrCat("'", name, "' is listed twice"));
        }
      }
    }
    return dp;
  }

  const std::vector<std::string>& columns_;
};

}  // namespace

std::string RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kAggregation:
      return "aggregation";
    case RuleKind::kList:
      return "list";
    case RuleKind::kCustom:
      return "custom";
  }
  return "unknown";
}

const std::set<std::string>& SupportedScalarFunctions() {
  static const std::set<std::string> kFunctions = {
      "ABS",   "CEIL",  "CEILING",    "FLOOR",     "ROUND",  "TRUNC",     "LN",
      "LOG",   "SQRT",  "POWER",      "EXP",       "SIGN",   "MOD",       "UPPER",
      "LOWER", "TRIM",  "LTRIM",      "RTRIM",     "LENGTH", "SUBSTRING", "CONCAT",
      "LEFT",  "RIGHT", "REPLACE",    "COALESCE",  "NULLIF", "GREATEST",  "LEAST",
      "CAST",  "CASE",  "DATE_TRUNC", "DATE_PART", "EXTRACT"};
  return kFunctions;
}

absl::StatusOr<Rule> ParseRule(std::string_view document,
                               const std::vector<std::string>& table_columns) {
  Json json = Json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    // Find the failing byte offset without echoing the document.
    try {
      Json ignored = Json::parse(document);
      (void)ignored;
    } catch (const Json::parse_error& error) {
      return absl::InvalidArgumentError(
          absl::StrCat("rule: not valid JSON (error at byte ", error.byte, ")"));
    } catch (const Json::exception&) {
      // Found by fuzzing: a number too large for a double is an out_of_range error, not a
      // parse_error, and must not escape (no exception crosses a module boundary).
      return absl::InvalidArgumentError("rule: not valid JSON (a number is out of range)");
    }
    return absl::InvalidArgumentError("rule: not valid JSON");
  }
  RuleReader reader(table_columns);
  return reader.Read(json);
}

namespace {

void WriteCustom(const CustomRule& custom, Json& json) {
  json["allowed_analyses"] = custom.allowed_analyses;
  json["any_query"] = custom.any_query;
  // Written only where the parser accepts them, so that the canonical form reads back.
  if (custom.any_query) json["allowed_analysis_providers"] = custom.allowed_analysis_providers;
  json["disallowed_output_columns"] = custom.disallowed_output_columns;
  if (!custom.allowed_result_receivers.empty()) {
    json["allowed_result_receivers"] = custom.allowed_result_receivers;
  }
  // The controls of issue 16 are written only when set, so that the canonical form (and hash)
  // of rules without them is unchanged.
  if (!custom.aggregation_thresholds.empty()) {
    std::vector<IdentityThreshold> sorted = custom.aggregation_thresholds;
    std::sort(sorted.begin(), sorted.end(),
              [](const IdentityThreshold& a, const IdentityThreshold& b) {
                return a.identity_column < b.identity_column;
              });
    Json thresholds = Json::array();
    for (const IdentityThreshold& threshold : sorted) {
      Json entry = {{"identity_column", threshold.identity_column}, {"minimum", threshold.minimum}};
      if (!threshold.output_column_thresholds.empty()) {
        Json overrides = Json::array();
        for (const auto& [column, minimum] : threshold.output_column_thresholds) {
          overrides.push_back({{"column", column}, {"minimum", minimum}});
        }
        entry["output_column_thresholds"] = overrides;
      }
      thresholds.push_back(entry);
    }
    json["aggregation_thresholds"] = thresholds;
  }
  if (custom.allowed_literal_comparison_columns) {
    json["allowed_literal_comparison_columns"] = *custom.allowed_literal_comparison_columns;
  }
  if (custom.allowed_column_comparison_columns) {
    json["allowed_column_comparison_columns"] = *custom.allowed_column_comparison_columns;
  }
  AggregateExpressions default_expressions = custom.HasControls()
                                                 ? AggregateExpressions::kColumnsOnly
                                                 : AggregateExpressions::kAnyExpression;
  if (custom.allowed_aggregate_expressions != default_expressions) {
    json["allowed_aggregate_expressions"] =
        custom.allowed_aggregate_expressions == AggregateExpressions::kColumnsOnly
            ? "columns_only"
            : "any_expression";
  }
  // The job controls are written only when set, so that rules without them keep their form.
  if (!custom.allowed_jobs.empty()) json["allowed_jobs"] = custom.allowed_jobs;
  if (custom.any_job) {
    json["any_job"] = true;
    json["allowed_job_providers"] = custom.allowed_job_providers;
  }
  if (!custom.never_output.empty()) json["never_output"] = custom.never_output;
  if (custom.allow_job_logs) json["allow_job_logs"] = true;
  if (custom.derived_from) {
    Json inherited;
    WriteCustom(*custom.derived_from->inherited, inherited);
    json["derived_from"] = {{"tables", custom.derived_from->tables},
                            {"co_owners", custom.derived_from->co_owners},
                            {"inherited", inherited}};
    // Written only when there are some, so that a rule without approvals keeps its form.
    if (!custom.derived_from->approvals.empty()) {
      json["derived_from"]["approvals"] = custom.derived_from->approvals;
    }
  }
}

}  // namespace

std::string CanonicalRuleJson(const Rule& rule) {
  // Keys come out sorted (nlohmann's object is a std::map), lists sorted (they are sets).
  Json json;
  json["kind"] = RuleKindName(rule.kind);
  if (rule.kind == RuleKind::kList) {
    json["join_columns"] = rule.list.join_columns;
    json["list_columns"] = rule.list.list_columns;
    json["allowed_join_operators"] = rule.list.allowed_join_operators;
    return json.dump();
  }
  if (rule.kind == RuleKind::kCustom) {
    WriteCustom(rule.custom, json);
    return json.dump();
  }
  const AggregationRule& aggregation = rule.aggregation;
  Json aggregates = Json::array();
  for (const auto& [column, functions] : aggregation.aggregate_columns) {
    aggregates.push_back({{"columns", {column}}, {"functions", functions}});
  }
  json["aggregate_columns"] = aggregates;
  json["join_columns"] = aggregation.join_columns;
  if (aggregation.join_required_query_runner) json["join_required"] = "query_runner";
  json["allowed_join_operators"] = aggregation.allowed_join_operators;
  json["dimension_columns"] = aggregation.dimension_columns;
  json["scalar_functions"] = aggregation.scalar_functions;
  // Constraints in column order: the order they were written in carries no meaning.
  std::vector<OutputConstraint> sorted = aggregation.output_constraints;
  std::sort(sorted.begin(), sorted.end(), [](const OutputConstraint& a, const OutputConstraint& b) {
    return a.column < b.column;
  });
  Json constraints = Json::array();
  for (const OutputConstraint& constraint : sorted) {
    constraints.push_back({{"column", constraint.column},
                           {"minimum", constraint.minimum},
                           {"type", "count_distinct"}});
  }
  json["output_constraints"] = constraints;
  // Written only when set, so that the canonical form (and hash) of rules without it is unchanged.
  if (aggregation.allow_fan_out) json["allow_fan_out"] = true;
  if (aggregation.differential_privacy.has_value()) {
    const DifferentialPrivacy& dp = *aggregation.differential_privacy;
    Json bounds = Json::array();
    for (const auto& [column, value_bounds] : dp.bounds) {
      bounds.push_back({{"column", column},
                        {"minimum", value_bounds.minimum},
                        {"maximum", value_bounds.maximum}});
    }
    json["differential_privacy"] = {{"privacy_unit", dp.privacy_unit},
                                    {"max_groups_per_unit", dp.max_groups_per_unit},
                                    {"max_rows_per_unit", dp.max_rows_per_unit},
                                    {"bounds", bounds}};
  }
  return json.dump();
}

}  // namespace parley::policy
