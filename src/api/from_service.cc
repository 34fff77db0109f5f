#include "api/from_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "dp/budget.h"
#include "policy/rule.h"

namespace parley::api {
namespace {

// Stored JSON (a canonical document the service wrote) as a value. A document that no longer
// parses — a catalog edited by hand — is shown as an object saying so, not passed on as text.
nlohmann::json StoredObject(const std::string& text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) return parsed;
  return {{"unreadable", true}};
}

std::vector<Violation> FromService(const std::vector<policy::Violation>& violations) {
  std::vector<Violation> converted;
  for (const policy::Violation& v : violations) {
    converted.push_back(
        {v.code, v.rule, v.table, v.owner, v.column, v.clause, v.position, v.message, v.hint});
  }
  return converted;
}

// Violations as stored with a query (policy::ViolationsJson).
std::vector<Violation> ViolationsFromStored(const std::string& text) {
  std::vector<Violation> violations;
  nlohmann::json array = nlohmann::json::parse(text, nullptr, false);
  if (!array.is_array()) return violations;
  for (const nlohmann::json& item : array) {
    if (!item.is_object()) continue;
    Violation& v = violations.emplace_back();
    auto text_of = [&item](const char* key) {
      auto it = item.find(key);
      return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    v.code = text_of("code");
    v.rule = text_of("rule");
    v.table = text_of("table");
    v.owner = text_of("owner");
    v.column = text_of("column");
    v.clause = text_of("clause");
    v.position = text_of("position");
    v.message = text_of("message");
    v.hint = text_of("hint");
  }
  return violations;
}

std::vector<Column> FromService(const std::vector<catalog::Column>& columns) {
  // A table with an encrypted column shows every column's kind, so that a runner sees which ones
  // are cleartext too; a table without one shows none (nothing to tell).
  bool encrypted = std::any_of(columns.begin(), columns.end(),
                               [](const catalog::Column& column) { return !column.kind.empty(); });
  std::vector<Column> converted;
  for (const catalog::Column& column : columns) {
    converted.push_back({column.name, column.type, std::nullopt});
    if (encrypted) converted.back().encryption = column.kind.empty() ? "cleartext" : column.kind;
  }
  return converted;
}

std::vector<std::string> Sorted(const std::set<std::string>& items) {
  return {items.begin(), items.end()};
}

}  // namespace

std::vector<std::string> AbilityNames(bool can_query, bool can_receive, bool can_run_jobs) {
  std::vector<std::string> names;
  if (can_query) names.push_back("query");
  if (can_receive) names.push_back("receive");
  if (can_run_jobs) names.push_back("run_jobs");
  return names;
}

std::vector<std::string> AbilityNames(const identity::AbilitySet& abilities) {
  return AbilityNames(abilities.Has(identity::Ability::kQuery),
                      abilities.Has(identity::Ability::kReceive),
                      abilities.Has(identity::Ability::kRunJobs));
}

absl::StatusOr<service::NewMember> MemberToService(const std::string& name,
                                                   const std::vector<std::string>& abilities) {
  service::NewMember member{name, {}};
  for (const std::string& ability : abilities) {
    if (ability == "query") {
      member.abilities.Add(identity::Ability::kQuery);
    } else if (ability == "receive") {
      member.abilities.Add(identity::Ability::kReceive);
    } else if (ability == "run_jobs") {
      member.abilities.Add(identity::Ability::kRunJobs);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ability '", ability, "' (expected query, receive or run_jobs)"));
    }
  }
  return member;
}

Member FromService(const catalog::Member& member) {
  return {member.name, AbilityNames(member.can_query, member.can_receive, member.can_run_jobs),
          catalog::MemberStatusName(member.status)};
}

Collaboration FromService(const catalog::Collaboration& collaboration) {
  Collaboration converted{collaboration.name,       collaboration.description,
                          collaboration.creator,    collaboration.query_logging,
                          collaboration.created_at, {}};
  for (const catalog::Member& member : collaboration.members) {
    converted.members.push_back(FromService(member));
  }
  if (collaboration.privacy_budget)
    converted.privacy_budget = FromService(*collaboration.privacy_budget);
  if (collaboration.closed_at != 0) {
    converted.state = "closed";
    converted.closed_at = collaboration.closed_at;
  }
  converted.payer = collaboration.payer;
  converted.auto_approve = collaboration.auto_approve;
  converted.encryption = {collaboration.encryption.allow_cleartext,
                          collaboration.encryption.allow_duplicates,
                          collaboration.encryption.allow_joins_on_columns_with_different_names,
                          collaboration.encryption.preserve_nulls};
  converted.time_limit_seconds = collaboration.time_limit_seconds;
  return converted;
}

ChangeRequest FromService(const service::ChangeView& view) {
  const catalog::ChangeRequest& request = view.request;
  ChangeRequest converted;
  converted.id = request.id;
  converted.collaboration = request.collaboration;
  converted.kind = request.change.kind;
  converted.proposer = request.proposer;
  converted.status = catalog::ChangeStatusName(request.status);
  converted.auto_approved = request.auto_approved;
  converted.created_at = request.created_at;
  if (request.status != catalog::ChangeStatus::kPending) {
    converted.decided_at = request.decided_at;
    converted.decided_by = request.decided_by;
  }
  converted.approvals = request.approvals;
  converted.denials = request.denials;
  converted.waiting_for = view.waiting_for;
  const catalog::Change& change = request.change;
  if (change.member) {
    converted.member = change.member->name;
    converted.abilities = AbilityNames(change.member->can_query, change.member->can_receive,
                                       change.member->can_run_jobs);
    if (change.kind == "add_member") {
      converted.invitation = change.member->status == catalog::MemberStatus::kInvited;
    }
  }
  converted.payer = change.payer;
  converted.query_logging = change.query_logging;
  if (change.privacy_budget) converted.privacy_budget = FromService(*change.privacy_budget);
  converted.time_limit_seconds = change.time_limit_seconds;
  return converted;
}

PrivacyBudget FromService(const catalog::PrivacyBudget& budget) {
  return {dp::FormatEpsilon(budget.epsilon_per_period), dp::FormatDelta(budget.delta_per_period),
          dp::FormatEpsilon(budget.default_epsilon), dp::FormatEpsilon(budget.max_epsilon)};
}

absl::StatusOr<catalog::PrivacyBudget> PrivacyBudgetToService(const PrivacyBudget& budget) {
  catalog::PrivacyBudget converted;
  PARLEY_ASSIGN_OR_RETURN(converted.epsilon_per_period,
                          dp::ParseEpsilon(budget.epsilon_per_month, "epsilon per month"));
  PARLEY_ASSIGN_OR_RETURN(converted.delta_per_period,
                          dp::ParseDelta(budget.delta_per_month, "delta per month"));
  PARLEY_ASSIGN_OR_RETURN(converted.default_epsilon,
                          dp::ParseEpsilon(budget.default_epsilon, "default epsilon"));
  PARLEY_ASSIGN_OR_RETURN(converted.max_epsilon,
                          dp::ParseEpsilon(budget.max_epsilon, "max epsilon"));
  return converted;
}

BudgetResponse FromService(const std::string& collaboration, const service::BudgetView& view) {
  BudgetResponse response;
  response.collaboration = collaboration;
  if (!view.budget) return response;
  response.budget = FromService(*view.budget);
  auto period = [&](const std::string& name, int64_t epsilon, int64_t delta, int64_t queries) {
    return BudgetPeriod{
        name,
        dp::FormatEpsilon(epsilon),
        dp::FormatEpsilon(std::max<int64_t>(0, view.budget->epsilon_per_period - epsilon)),
        dp::FormatDelta(delta),
        dp::FormatDelta(std::max<int64_t>(0, view.budget->delta_per_period - delta)),
        queries};
  };
  bool current_listed = false;
  for (const catalog::PrivacySpend& spend : view.spent) {
    if (spend.period == view.current_period) current_listed = true;
  }
  if (!current_listed) response.periods.push_back(period(view.current_period, 0, 0, 0));
  for (const catalog::PrivacySpend& spend : view.spent) {
    response.periods.push_back(period(spend.period, spend.epsilon, spend.delta, spend.queries));
  }
  return response;
}

Table FromService(const service::TableView& table) {
  Table converted{table.name,  table.owner, table.kind, table.location, FromService(table.columns),
                  std::nullopt};
  if (table.rule_json) converted.rule = StoredObject(*table.rule_json);
  return converted;
}

Explanation FromService(const service::Explanation& explanation) {
  Explanation converted;
  converted.allowed = explanation.verdict.allowed();
  if (explanation.verdict.rule_kind) {
    converted.rule_kind = policy::RuleKindName(*explanation.verdict.rule_kind);
  }
  converted.violations = FromService(explanation.verdict.violations);
  converted.tables = explanation.tables;
  for (const policy::Threshold& threshold : explanation.verdict.thresholds) {
    // A table with differential privacy applies its minimum to the noisy unit count instead
    // (Privacy::selection_threshold), not to an exact count.
    if (explanation.noise && explanation.verdict.differential_privacy &&
        threshold.table_index == explanation.verdict.differential_privacy->table_index) {
      continue;
    }
    converted.thresholds.push_back({threshold.table, threshold.column, threshold.minimum});
  }
  if (!explanation.rendered_sql.empty()) converted.engine_sql = explanation.rendered_sql;
  if (!explanation.engine.empty()) {
    converted.engine = absl::StrCat("clickhouse engine '", explanation.engine, "'");
  }
  converted.front_end_micros = explanation.front_end_micros;
  if (explanation.noise && converted.allowed) {
    const dp::NoisePlan& plan = *explanation.noise;
    Privacy privacy{dp::FormatEpsilon(plan.epsilon), dp::FormatDelta(plan.delta), std::nullopt, {}};
    if (plan.grouped) {
      privacy.selection_threshold = std::max(plan.selection_threshold, plan.minimum_units);
    }
    auto half_width = [](const dp::Measure& measure, int64_t units) {
      dp::Measure scaled = measure;
      scaled.scale = dp::Rational{static_cast<uint64_t>(units), 1};
      return dp::ScaleText(scaled);
    };
    for (const dp::OutputColumn& output : plan.outputs) {
      if (output.kind == dp::OutputColumn::Kind::kKey) continue;
      const dp::Measure& measure = plan.measures[output.measure];
      privacy.noise.push_back(
          {output.name, dp::ScaleText(measure), half_width(measure, measure.half_width)});
      if (output.kind == dp::OutputColumn::Kind::kAverage) {
        const dp::Measure& count = plan.measures[output.count_measure];
        privacy.noise.push_back(
            {output.name + " (count)", dp::ScaleText(count), half_width(count, count.half_width)});
      }
    }
    if (!plan.accuracy.empty()) privacy.accuracy = plan.accuracy;
    if (explanation.epsilon_left)
      privacy.epsilon_left = dp::FormatEpsilon(*explanation.epsilon_left);
    converted.privacy = std::move(privacy);
  }
  return converted;
}

Result FromService(const engine::ResultTable& result) {
  Result converted;
  for (const engine::ResultColumn& column : result.columns) {
    converted.columns.push_back({column.name, column.type});
  }
  converted.rows = result.rows;
  return converted;
}

RunResponse FromService(const service::QueryOutcome& outcome) {
  RunResponse converted;
  converted.query_id = outcome.query_id;
  converted.explanation = FromService(outcome.explanation);
  converted.receivers = outcome.receivers;
  converted.row_count = outcome.row_count;
  // Run time is shown with the row count: only a receiver learns how the run went.
  if (outcome.row_count) converted.run_micros = outcome.run_micros;
  // A sealed result never leaves in the clear: the receiver's client fetches the sealed bytes.
  if (outcome.result && !outcome.sealed) converted.result = FromService(*outcome.result);
  if (outcome.sealed && outcome.row_count) converted.sealed = true;
  return converted;
}

Query FromService(const service::QueryView& query) {
  Query converted;
  converted.id = query.id;
  converted.created_at = query.created_at;
  converted.runner = query.runner;
  converted.sql = query.sql;
  if (!query.template_id.empty()) converted.template_id = query.template_id;
  converted.receivers = query.receivers;
  converted.tables = query.tables;
  converted.status = query.status;
  if (!query.verdict_json.empty()) converted.violations = ViolationsFromStored(query.verdict_json);
  converted.row_count = query.row_count;
  converted.error = query.error;
  return converted;
}

SavedTablePreview FromService(const std::string& table, const service::SavePreview& preview) {
  SavedTablePreview converted;
  converted.table = table;
  if (preview.rule) converted.rule = StoredObject(policy::CanonicalRuleJson(*preview.rule));
  converted.co_owners = preview.co_owners;
  if (!preview.refused.empty()) converted.refused = preview.refused;
  return converted;
}

Template FromService(const service::TemplateView& view) {
  Template converted;
  converted.id = view.id;
  converted.name = view.name;
  converted.author = view.author;
  converted.sql = view.sql;
  for (const service::TemplateParameter& parameter : view.parameters) {
    converted.parameters.push_back(
        {parameter.name, service::ParameterTypeName(parameter.type), parameter.default_value});
  }
  converted.created_at = view.created_at;
  for (const service::TemplateView::TableApproval& table : view.tables) {
    TableApproval& out = converted.tables.emplace_back();
    out.table = table.table;
    out.owner = table.owner;
    out.approved = table.approved;
    if (table.co_owned) {
      out.approved_by = table.approved_by;
      out.pending = table.pending;
    }
  }
  converted.altered = view.altered;
  converted.runnable = view.runnable();
  return converted;
}

PolicyResponse FromService(const std::string& collaboration, const service::PolicyView& policy) {
  PolicyResponse converted;
  converted.collaboration = collaboration;
  converted.member = policy.member;
  converted.abilities = AbilityNames(policy.abilities);
  for (const service::TablePolicy& table : policy.tables) {
    TablePolicy& out = converted.tables.emplace_back();
    out.table = table.table;
    out.owner = table.owner;
    out.columns = FromService(table.columns);
    if (table.rule) out.rule = StoredObject(policy::CanonicalRuleJson(*table.rule));
  }
  converted.aggregation_scalar_functions = Sorted(policy.aggregation_scalar_functions);
  converted.aggregation_join_operators = Sorted(policy.aggregation_join_operators);
  converted.list_join_operators = Sorted(policy.list_join_operators);
  converted.free_form_custom_tables = policy.free_form_custom_tables;
  for (const service::TemplateView& view : policy.runnable_templates) {
    converted.runnable_templates.push_back({view.id, view.name});
  }
  return converted;
}

AuditEntry FromService(const catalog::AuditEntry& entry) {
  return {entry.seq,
          entry.time,
          entry.actor,
          entry.action,
          StoredObject(entry.details_json),
          entry.prev_hash,
          entry.hash,
          entry.state_sha256};
}

VerifyAuditResponse FromService(const catalog::AuditVerification& verification,
                                bool expected_head_given) {
  VerifyAuditResponse converted;
  converted.ok = verification.ok;
  if (!verification.ok) converted.problem = verification.problem;
  converted.entries = verification.entries;
  converted.heads = verification.heads;
  if (expected_head_given && verification.ok) {
    converted.expected_head_seq = verification.expected_head_seq;
    converted.entries_after_expected_head = verification.entries_after_expected_head;
  }
  return converted;
}

}  // namespace parley::api
