#include "policy/derived.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/equivalence.h"
#include "policy/summary.h"

namespace parley::policy {
namespace {

absl::Status Refuse(const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat("cannot save this result: ", why));
}

bool IsIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The effective minimum a threshold demands of output column `column` (its override, or the
// threshold's minimum).
int64_t MinimumFor(const IdentityThreshold& threshold, const std::string& column) {
  auto it = threshold.output_column_thresholds.find(column);
  return it == threshold.output_column_thresholds.end() ? threshold.minimum : it->second;
}

AggregateExpressions EffectiveExpressions(const CustomRule& rule) {
  return rule.allowed_aggregate_expressions;
}

}  // namespace

absl::StatusOr<Rule> DeriveRule(const sql::BoundQuery& query, const RuleProvider& rules,
                                const std::vector<std::string>& tables,
                                const std::map<std::string, std::string>& owners) {
  // The saved table's columns are the output names: they must be usable as column names.
  std::vector<std::string> outputs;
  std::set<std::string> seen;
  for (const sql::BoundSelectItem& item : query.select) {
    if (!IsIdentifier(item.output_name)) {
      return Refuse(absl::StrCat("output column '", item.output_name,
                                 "' is not a column name; give it an alias (AS name)"));
    }
    if (!seen.insert(absl::AsciiStrToLower(item.output_name)).second) {
      return Refuse(absl::StrCat("output column '", item.output_name,
                                 "' appears twice; give each output column its own name"));
    }
    outputs.push_back(item.output_name);
  }
  if (tables.empty()) return Refuse("the query reads no table of the collaboration");

  ProtectionTracer tracer(query, [](const sql::TableSchema&, const std::string&) { return false; });
  std::vector<std::set<std::pair<std::string, std::string>>> lineage;  // per output
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::set<std::pair<std::string, std::string>> sources;
    for (const BaseColumn& column : tracer.Output(i).columns) {
      sources.emplace(column.first->name, column.second);
    }
    lineage.push_back(std::move(sources));
  }
  auto derived_from = [&](size_t i, const std::string& table, const std::string& column) {
    return lineage[i].contains({table, column});
  };

  Rule rule;
  rule.kind = RuleKind::kCustom;
  CustomRule& custom = rule.custom;
  DerivedFrom origin;
  std::optional<std::set<std::string>> receivers;  // nullopt: no input restricts them
  std::optional<std::set<std::string>> providers;
  bool columns_only = false;
  std::map<std::string, IdentityThreshold> thresholds;  // by output identity column
  for (const std::string& table : tables) {
    const Rule* input = rules.RuleFor(table);
    if (input == nullptr) return Refuse(absl::StrCat("table '", table, "' has no rule"));
    if (input->kind != RuleKind::kCustom) {
      return Refuse(absl::StrCat(
          "table '", table, "' has a", input->kind == RuleKind::kList ? " list" : "n aggregation",
          " rule; only results of tables with custom rules can be saved (an aggregation or list "
          "result is checked for one release, not for being queried again)"));
    }
    const CustomRule& in = input->custom;
    origin.tables.insert(table);
    if (auto owner = owners.find(table); owner != owners.end()) {
      origin.co_owners.insert(owner->second);
    }
    if (in.derived_from) {
      origin.co_owners.insert(in.derived_from->co_owners.begin(), in.derived_from->co_owners.end());
    }
    if (!in.allowed_result_receivers.empty()) {
      if (!receivers) {
        receivers = in.allowed_result_receivers;
      } else {
        std::set<std::string> both;
        for (const std::string& name : *receivers) {
          if (in.allowed_result_receivers.contains(name)) both.insert(name);
        }
        receivers = std::move(both);
      }
    }
    // Who may send free-form SQL over this input: its listed providers, and its owner
    // (summary.h MaySendFreeFormQuery). Only those who may over every input may over the result.
    std::set<std::string> runners;
    if (in.any_query) runners = in.allowed_analysis_providers;
    if (auto owner = owners.find(table);
        owner != owners.end() && MaySendFreeFormQuery(in, owner->second, owner->second)) {
      runners.insert(owner->second);
    }
    if (!providers) {
      providers = std::move(runners);
    } else {
      std::set<std::string> both;
      for (const std::string& name : *providers) {
        if (runners.contains(name)) both.insert(name);
      }
      providers = std::move(both);
    }
    columns_only = columns_only || EffectiveExpressions(in) == AggregateExpressions::kColumnsOnly;
    for (size_t i = 0; i < outputs.size(); ++i) {
      for (const std::string& column : in.disallowed_output_columns) {
        if (derived_from(i, table, column)) custom.disallowed_output_columns.insert(outputs[i]);
      }
    }
    for (const IdentityThreshold& threshold : in.aggregation_thresholds) {
      bool carried = false;
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (!derived_from(i, table, threshold.identity_column)) continue;
        carried = true;
        IdentityThreshold& out = thresholds[outputs[i]];
        out.identity_column = outputs[i];
        out.minimum = std::max(out.minimum, threshold.minimum);
        // Overrides that raise the minimum for an output column derived from their column.
        for (const auto& [column, minimum] : threshold.output_column_thresholds) {
          if (minimum <= threshold.minimum) continue;
          for (size_t j = 0; j < outputs.size(); ++j) {
            if (!derived_from(j, table, column)) continue;
            int64_t& slot = out.output_column_thresholds[outputs[j]];
            slot = std::max(slot, minimum);
          }
        }
      }
      if (!carried) {
        return Refuse(absl::StrCat(
            "table '", table, "' requires at least ", threshold.minimum,
            " distinct values of its identity column '", threshold.identity_column,
            "' per output row, and no output column is derived from it: the saved rows could no "
            "longer be counted per identity; output '",
            threshold.identity_column, "' (or a column derived from it) to save the result"));
      }
    }
    for (bool literal : {true, false}) {
      const auto& list =
          literal ? in.allowed_literal_comparison_columns : in.allowed_column_comparison_columns;
      if (!list) continue;
      auto& out = literal ? custom.allowed_literal_comparison_columns
                          : custom.allowed_column_comparison_columns;
      if (!out) out = std::set<std::string>(outputs.begin(), outputs.end());
      for (size_t i = 0; i < outputs.size(); ++i) {
        for (const auto& [source_table, column] : lineage[i]) {
          if (source_table == table && !list->contains(column)) out->erase(outputs[i]);
        }
      }
    }
  }
  // An overridden minimum no larger than the threshold's own says nothing; drop it.
  for (auto& [name, threshold] : thresholds) {
    for (auto it = threshold.output_column_thresholds.begin();
         it != threshold.output_column_thresholds.end();) {
      it = it->second <= threshold.minimum ? threshold.output_column_thresholds.erase(it)
                                           : std::next(it);
    }
    custom.aggregation_thresholds.push_back(threshold);
  }
  // An identity column is compared with a literal to pick one person out: never allowed.
  if (custom.allowed_literal_comparison_columns) {
    for (const auto& [name, threshold] : thresholds) {
      custom.allowed_literal_comparison_columns->erase(name);
    }
  }
  if (receivers) {
    if (receivers->empty()) return Refuse("the inputs have no allowed result receiver in common");
    custom.allowed_result_receivers = *receivers;
  }
  custom.any_query = providers && !providers->empty();
  if (custom.any_query) custom.allowed_analysis_providers = *providers;
  bool has_controls = custom.HasControls();
  custom.allowed_aggregate_expressions = columns_only || has_controls
                                             ? AggregateExpressions::kColumnsOnly
                                             : AggregateExpressions::kAnyExpression;
  origin.inherited = std::make_shared<const CustomRule>(custom);
  custom.derived_from = std::move(origin);
  return rule;
}

std::set<std::string> CoOwners(const DerivedFrom& origin, const std::string& owner) {
  std::set<std::string> members = origin.co_owners;
  members.insert(owner);
  return members;
}

std::vector<std::string> PendingApprovals(const DerivedFrom& origin, const std::string& owner,
                                          const std::string& template_id) {
  auto given = origin.approvals.find(template_id);
  std::vector<std::string> pending;
  for (const std::string& member : CoOwners(origin, owner)) {
    if (given == origin.approvals.end() || !given->second.contains(member)) {
      pending.push_back(member);
    }
  }
  return pending;
}

absl::Status CheckTightens(const CustomRule& inherited, const CustomRule& rule) {
  auto loosens = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rule: this table holds a saved result and its rule may only be tightened: ", what));
  };
  if (!inherited.allowed_result_receivers.empty()) {
    if (rule.allowed_result_receivers.empty()) {
      return loosens(absl::StrCat("allowed_result_receivers must stay within [",
                                  absl::StrJoin(inherited.allowed_result_receivers, ", "), "]"));
    }
    for (const std::string& name : rule.allowed_result_receivers) {
      if (!inherited.allowed_result_receivers.contains(name)) {
        return loosens(absl::StrCat("allowed_result_receivers adds '", name, "'"));
      }
    }
  }
  for (const std::string& column : inherited.disallowed_output_columns) {
    if (!rule.disallowed_output_columns.contains(column)) {
      return loosens(absl::StrCat("disallowed_output_columns drops '", column, "'"));
    }
  }
  if (rule.any_query) {
    if (!inherited.any_query) return loosens("any_query was not allowed by the inputs");
    for (const std::string& name : rule.allowed_analysis_providers) {
      if (!inherited.allowed_analysis_providers.contains(name)) {
        return loosens(absl::StrCat("allowed_analysis_providers adds '", name, "'"));
      }
    }
  }
  for (const std::string& id : rule.allowed_analyses) {
    if (!inherited.allowed_analyses.contains(id)) {
      return loosens(absl::StrCat("allowed_analyses adds template ", id,
                                  " (a template over a saved result runs once every co-owner "
                                  "has approved it with `parley template approve`)"));
    }
  }
  for (const IdentityThreshold& floor : inherited.aggregation_thresholds) {
    const IdentityThreshold* mine = nullptr;
    for (const IdentityThreshold& t : rule.aggregation_thresholds) {
      if (t.identity_column == floor.identity_column) mine = &t;
    }
    if (mine == nullptr) {
      return loosens(absl::StrCat("aggregation_thresholds drops identity column '",
                                  floor.identity_column, "'"));
    }
    if (mine->minimum < floor.minimum) {
      return loosens(absl::StrCat("the minimum for identity column '", floor.identity_column,
                                  "' is lowered below ", floor.minimum));
    }
    std::set<std::string> columns;
    for (const auto& [c, m] : floor.output_column_thresholds) columns.insert(c);
    for (const auto& [c, m] : mine->output_column_thresholds) columns.insert(c);
    for (const std::string& column : columns) {
      if (MinimumFor(*mine, column) < MinimumFor(floor, column)) {
        return loosens(absl::StrCat("the minimum for output column '", column, "' (identity '",
                                    floor.identity_column, "') is lowered below ",
                                    MinimumFor(floor, column)));
      }
    }
  }
  for (bool literal : {true, false}) {
    const auto& floor = literal ? inherited.allowed_literal_comparison_columns
                                : inherited.allowed_column_comparison_columns;
    const auto& mine =
        literal ? rule.allowed_literal_comparison_columns : rule.allowed_column_comparison_columns;
    const char* key =
        literal ? "allowed_literal_comparison_columns" : "allowed_column_comparison_columns";
    if (!floor) continue;
    if (!mine) return loosens(absl::StrCat(key, " is removed"));
    for (const std::string& column : *mine) {
      if (!floor->contains(column)) return loosens(absl::StrCat(key, " adds '", column, "'"));
    }
  }
  if (inherited.allowed_aggregate_expressions == AggregateExpressions::kColumnsOnly &&
      rule.allowed_aggregate_expressions != AggregateExpressions::kColumnsOnly) {
    return loosens("allowed_aggregate_expressions must stay columns_only");
  }
  return absl::OkStatus();
}

}  // namespace parley::policy
