#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/derived.h"
#include "policy/rule.h"
#include "service/service_impl.h"
#include "sql/parser.h"

namespace parley::service {

using Json = nlohmann::json;
using namespace internal;

bool TemplateView::runnable() const {
  if (altered || tables.empty()) return false;
  for (const TableApproval& table : tables) {
    if (!table.approved) return false;
  }
  return true;
}

namespace {

absl::StatusOr<std::vector<TemplateParameter>> ParseSpecs(const std::vector<std::string>& specs) {
  std::vector<TemplateParameter> parameters;
  for (const std::string& spec : specs) {
    PARLEY_ASSIGN_OR_RETURN(TemplateParameter parameter, ParseParameterSpec(spec));
    for (const TemplateParameter& earlier : parameters) {
      if (earlier.name == parameter.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", parameter.name, "' is declared twice"));
      }
    }
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Service::Impl::TemplateTables(
    const std::vector<catalog::Table>& tables, const std::string& text,
    const std::vector<TemplateParameter>& parameters) {
  PARLEY_ASSIGN_OR_RETURN(std::string positional, PositionalSql(text, parameters));
  PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(positional));
  CatalogSchemas schemas(tables);
  PARLEY_ASSIGN_OR_RETURN(
      sql::BoundQuery bound,
      sql::Bind(*statement, schemas, positional, sql::BindOptions{PlaceholderValues(parameters)}));
  std::vector<std::string> read;
  for (const sql::BoundTable* table : bound.BaseTables()) {
    if (std::find(read.begin(), read.end(), table->schema->name) == read.end()) {
      read.push_back(table->schema->name);
    }
  }
  return read;
}

absl::StatusOr<Service::Impl::LoadedTemplate> Service::Impl::LoadTemplate(
    const std::string& collaboration, const std::string& template_id) {
  LoadedTemplate loaded;
  PARLEY_ASSIGN_OR_RETURN(loaded.record, store->GetTemplate(collaboration, template_id));
  absl::StatusOr<std::vector<TemplateParameter>> parameters =
      ParametersFromJson(loaded.record.parameters_json);
  if (!parameters.ok() || TemplateId(loaded.record.sql, *parameters) != loaded.record.id) {
    return absl::DataLossError(
        absl::StrCat("template ", loaded.record.id.substr(0, 12),
                     " was altered after it was created: its content no longer matches its id"));
  }
  loaded.parameters = *std::move(parameters);
  return loaded;
}

absl::StatusOr<TemplateView> Service::Impl::ViewOfTemplate(
    const catalog::AnalysisTemplate& record, const std::vector<TemplateParameter>& parameters,
    const std::vector<catalog::Table>& tables) {
  TemplateView view;
  view.id = record.id;
  view.name = record.name;
  view.author = record.author;
  view.sql = record.sql;
  view.parameters = parameters;
  view.created_at = record.created_at;
  PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(tables));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                          TemplateTables(tables, record.sql, parameters));
  for (const std::string& name : read) {
    TemplateView::TableApproval approval{name, "", false};
    const catalog::Table* table = nullptr;
    for (const catalog::Table& candidate : tables) {
      if (candidate.name == name) table = &candidate;
    }
    if (table != nullptr) approval.owner = table->owner;
    const policy::Rule* rule = rules.RuleFor(name);
    if (table != nullptr && rule != nullptr && rule->kind == policy::RuleKind::kCustom &&
        rule->custom.derived_from) {
      // A saved result's table: every co-owner approves for themselves.
      const policy::DerivedFrom& origin = *rule->custom.derived_from;
      std::set<std::string> approvers = policy::CoOwners(origin, table->owner);
      auto given = origin.approvals.find(record.id);
      for (const std::string& member : approvers) {
        bool yes = given != origin.approvals.end() && given->second.contains(member);
        (yes ? approval.approved_by : approval.pending).push_back(member);
      }
      approval.co_owned = true;
      approval.approved = approval.pending.empty();
    } else {
      // An aggregation rule needs no approval: it judges the template at each run like the same
      // query typed freely (with differential privacy when the rule has it).
      approval.approved = rule != nullptr && ((rule->kind == policy::RuleKind::kCustom &&
                                               rule->custom.allowed_analyses.contains(record.id)) ||
                                              rule->kind == policy::RuleKind::kAggregation);
    }
    view.tables.push_back(std::move(approval));
  }
  return view;
}

absl::StatusOr<std::vector<TemplateView>> Service::Impl::TemplateViews(
    const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto records, store->ListTemplates(collaboration));
  std::vector<TemplateView> views;
  for (const catalog::AnalysisTemplate& record : records) {
    absl::StatusOr<LoadedTemplate> loaded = LoadTemplate(collaboration, record.id);
    if (absl::IsDataLoss(loaded.status())) {
      // One tampered template must not hide the others: it is listed as altered, never run.
      TemplateView altered;
      altered.id = record.id;
      altered.name = record.name;
      altered.author = record.author;
      altered.created_at = record.created_at;
      altered.altered = true;
      views.push_back(std::move(altered));
      continue;
    }
    if (!loaded.ok()) return loaded.status();
    PARLEY_ASSIGN_OR_RETURN(TemplateView view,
                            ViewOfTemplate(loaded->record, loaded->parameters, tables));
    views.push_back(std::move(view));
  }
  return views;
}

absl::Status Service::Impl::SetApproval(const identity::Caller& caller,
                                        const std::string& collaboration,
                                        const std::string& template_id,
                                        const std::string& table_name, bool approve) {
  // The rule is read, edited and written back: held across the three so that a concurrent
  // approval (or rule change) of this process cannot land in between and be lost.
  auto store_lock = store.Lock();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(catalog::Table table, store->GetTable(collaboration, table_name));
  std::optional<policy::Rule> rule;
  if (table.rule_json) {
    PARLEY_ASSIGN_OR_RETURN(rule, policy::ParseRule(*table.rule_json, table.allowed_columns));
  }
  const bool derived =
      rule && rule->kind == policy::RuleKind::kCustom && rule->custom.derived_from.has_value();
  const std::string& actor = caller.member();
  if (derived) {
    // A saved result's table: each co-owner (an owner of an input, transitively) and its owner
    // approve for themselves.
    std::set<std::string> approvers = policy::CoOwners(*rule->custom.derived_from, table.owner);
    if (!approvers.contains(actor)) {
      return absl::PermissionDeniedError(
          absl::StrCat("member '", actor, "' is not a co-owner of table '", table_name,
                       "' and cannot ", approve ? "approve" : "revoke",
                       " analyses for it (co-owners: ", absl::StrJoin(approvers, ", "), ")"));
    }
  } else {
    PARLEY_RETURN_IF_ERROR(
        Require(caller, found,
                approve ? identity::Action::kApproveTemplate : identity::Action::kRevokeTemplate,
                {.table = table_name, .table_owner = table.owner}));
  }
  PARLEY_ASSIGN_OR_RETURN(auto loaded, LoadTemplate(collaboration, template_id));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                          TemplateTables(tables, loaded.record.sql, loaded.parameters));
  if (std::find(read.begin(), read.end(), table_name) == read.end()) {
    return absl::InvalidArgumentError(absl::StrCat("template ", loaded.record.id.substr(0, 12),
                                                   " does not read table '", table_name, "'"));
  }
  if (!rule || rule->kind != policy::RuleKind::kCustom) {
    return absl::FailedPreconditionError(
        absl::StrCat("table '", table_name,
                     "' has no custom rule; analysis templates are approved in a custom rule"));
  }
  std::set<std::string>* approved = &rule->custom.allowed_analyses;
  std::string element = loaded.record.id;
  std::string whose = "";
  if (derived) {
    approved = &rule->custom.derived_from->approvals[loaded.record.id];
    element = actor;
    whose = absl::StrCat(" by co-owner '", actor, "'");
  }
  if (approve ? !approved->insert(element).second : approved->erase(element) == 0) {
    std::string message = absl::StrCat("template ", loaded.record.id.substr(0, 12),
                                       approve ? " is already approved" : " is not approved", whose,
                                       " for table '", table_name, "'");
    return approve ? absl::AlreadyExistsError(message) : absl::FailedPreconditionError(message);
  }
  if (derived && approved->empty()) rule->custom.derived_from->approvals.erase(loaded.record.id);
  PARLEY_RETURN_IF_ERROR(
      store->SetRule(collaboration, table_name, policy::CanonicalRuleJson(*rule), actor));
  Json details = {{"template_id", loaded.record.id}, {"table", table_name}};
  return store->AppendAudit(collaboration, actor, approve ? "template.approve" : "template.revoke",
                            details.dump());
}

absl::StatusOr<std::string> Service::Impl::CreateTemplate(const identity::Caller& caller,
                                                          const NewTemplate& request) {
  const std::string& actor = caller.member();
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(request.collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kCreateTemplate));
  if (request.name.empty() || request.name.size() > 200) {
    return absl::InvalidArgumentError("a template needs a name of 1 to 200 characters");
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<TemplateParameter> parameters,
                          ParseSpecs(request.parameter_specs));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(request.collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> read,
                          TemplateTables(tables, request.sql, parameters));
  catalog::AnalysisTemplate record;
  record.id = TemplateId(request.sql, parameters);
  record.collaboration = request.collaboration;
  record.name = request.name;
  record.sql = request.sql;
  record.parameters_json = ParametersJson(parameters);
  PARLEY_RETURN_IF_ERROR(store->CreateTemplate(record, actor));
  return record.id;
}

absl::StatusOr<TemplateView> Service::Impl::ShowTemplate(const identity::Caller& caller,
                                                         const std::string& collaboration,
                                                         const std::string& template_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto tables, ActiveTables(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto loaded, LoadTemplate(collaboration, template_id));
  return ViewOfTemplate(loaded.record, loaded.parameters, tables);
}

absl::StatusOr<std::vector<TemplateView>> Service::Impl::ListTemplates(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  return TemplateViews(collaboration);
}

absl::StatusOr<Service::Impl::Request> Service::Impl::TemplateRequest(
    const identity::Caller& caller, const QueryContext& context, const std::string& template_id,
    const std::map<std::string, std::string>& values, std::vector<std::string> receivers,
    const std::string& epsilon, const AccuracyRequest& accuracy) {
  PARLEY_ASSIGN_OR_RETURN(auto loaded, LoadTemplate(context.collaboration.name, template_id));
  Request request;
  request.epsilon = epsilon;
  request.accuracy = accuracy;
  request.sql = loaded.record.sql;
  request.template_id = loaded.record.id;
  PARLEY_ASSIGN_OR_RETURN(request.parse_sql, PositionalSql(loaded.record.sql, loaded.parameters));
  PARLEY_ASSIGN_OR_RETURN(request.bind.parameters, ParameterValues(loaded.parameters, values));
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          ValidateReceivers(caller, context, std::move(receivers)));
  return request;
}

absl::StatusOr<QueryOutcome> Service::Impl::RunTemplate(
    const identity::Caller& caller, const std::string& collaboration,
    const std::string& template_id, const std::map<std::string, std::string>& values,
    std::vector<std::string> receivers, const std::string& epsilon,
    const AccuracyRequest& accuracy) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Request request, TemplateRequest(caller, context, template_id, values, std::move(receivers),
                                       epsilon, accuracy));
  return RunRequest(context, request);
}

}  // namespace parley::service
