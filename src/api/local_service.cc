#include "api/local_service.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "api/from_service.h"
#include "service/run_queue.h"
#include "service/service.h"

namespace parley::api {

namespace {

service::Options ToService(const LocalServiceOptions& options) {
  service::Options converted;
  if (!options.memory_limit.empty()) converted.limits.memory_limit = options.memory_limit;
  converted.limits.temp_directory = options.temp_directory;
  converted.limits.timeout = options.timeout;
  // A job gets the same time (wall and CPU) as a query (`--timeout`).
  converted.job_limits.wall_milliseconds = options.timeout.count() * 1000;
  converted.job_limits.cpu_seconds = options.timeout.count();
  converted.limits.cancel = options.cancel;
  converted.data_root = options.data_root;
  converted.before_delivery = options.before_delivery;
  converted.on_session_opened = options.on_session_opened;
  converted.promote_after = options.promote_after;
  return converted;
}

}  // namespace

LocalService::LocalService(std::string home, LocalServiceOptions options)
    : home_(std::move(home)), options_(std::move(options)) {}

LocalService::~LocalService() {
  if (queue_ != nullptr) queue_->Drain(std::chrono::milliseconds(0));
  queue_.reset();  // before the service it runs on
}

absl::Status LocalService::OpenHome() { return Open().status(); }

absl::StatusOr<service::Service*> LocalService::Open() {
  std::lock_guard<std::mutex> lock(open_mutex_);
  if (service_ == nullptr) {
    service::Options options = ToService(options_);
    if (!options_.price_per_tb.empty()) {
      PARLEY_ASSIGN_OR_RETURN(options.price_per_tb_micros, ParsePricePerTb(options_.price_per_tb));
    }
    PARLEY_ASSIGN_OR_RETURN(service_, service::Service::Open(home_, std::move(options)));
    if (options_.run_workers > 0) {
      queue_ = std::make_unique<service::RunQueue>(
          *service_, service::RunQueue::Options{.workers = options_.run_workers,
                                                .max_queued = options_.max_queued_runs,
                                                .per_member = options_.max_runs_per_member});
    }
  }
  return service_.get();
}

absl::StatusOr<CreateCollaborationResponse> LocalService::CreateCollaboration(
    const identity::Caller& caller, const CreateCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::NewMember creator,
                          MemberToService(caller.member(), request.creator_abilities));
  service::NewCollaboration collaboration{request.name, request.description, creator.abilities,
                                          request.query_logging};
  collaboration.payer = request.payer;
  collaboration.auto_approve = request.auto_approve;
  collaboration.result_retention_days = request.result_retention_days;
  collaboration.time_limit_seconds = request.time_limit_seconds;
  collaboration.encryption = {request.encryption.allow_cleartext,
                              request.encryption.allow_duplicates,
                              request.encryption.allow_joins_on_columns_with_different_names,
                              request.encryption.preserve_nulls};
  if (request.privacy_budget) {
    PARLEY_ASSIGN_OR_RETURN(collaboration.privacy_budget,
                            PrivacyBudgetToService(*request.privacy_budget));
  }
  PARLEY_RETURN_IF_ERROR(service->CreateCollaboration(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration created,
                          service->ShowCollaboration(caller, request.name));
  return CreateCollaborationResponse{FromService(created)};
}

absl::StatusOr<ListCollaborationsResponse> LocalService::ListCollaborations(
    const identity::Caller& caller, const ListCollaborationsRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto collaborations, service->ListCollaborations(caller));
  ListCollaborationsResponse response;
  for (const catalog::Collaboration& c : collaborations) {
    response.collaborations.push_back(FromService(c));
  }
  return response;
}

absl::StatusOr<ShowCollaborationResponse> LocalService::ShowCollaboration(
    const identity::Caller& caller, const ShowCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                          service->ShowCollaboration(caller, request.collaboration));
  return ShowCollaborationResponse{FromService(collaboration)};
}

absl::StatusOr<CloseCollaborationResponse> LocalService::CloseCollaboration(
    const identity::Caller& caller, const CloseCollaborationRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration collaboration,
                          service->CloseCollaboration(caller, request.collaboration));
  return CloseCollaborationResponse{FromService(collaboration)};
}

absl::StatusOr<AddMemberResponse> LocalService::AddMember(const identity::Caller& caller,
                                                          const AddMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::NewMember member,
                          MemberToService(request.member, request.abilities));
  PARLEY_ASSIGN_OR_RETURN(service::ChangeView change,
                          service->AddMember(caller, request.collaboration, member));
  return AddMemberResponse{request.collaboration,
                           {member.name, AbilityNames(member.abilities),
                            catalog::MemberStatusName(catalog::MemberStatus::kActive)},
                           FromService(change)};
}

absl::StatusOr<RemoveMemberResponse> LocalService::RemoveMember(
    const identity::Caller& caller, const RemoveMemberRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RemoveMember(caller, request.collaboration, request.member));
  return RemoveMemberResponse{request.collaboration, request.member};
}

absl::StatusOr<LeaveResponse> LocalService::Leave(const identity::Caller& caller,
                                                  const LeaveRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->Leave(caller, request.collaboration));
  return LeaveResponse{request.collaboration, caller.member()};
}

namespace {
// How many rows `table add --preview` shows.
constexpr int kPreviewRows = 10;

// A files source's description as the connector validates it: the reading options given with
// the request, and the path.
absl::StatusOr<std::string> FilesDescription(const std::string& source,
                                             const nlohmann::json& options) {
  if (!options.is_object()) return absl::InvalidArgumentError("options: expected a JSON object");
  nlohmann::json description = options;
  description["path"] = source;
  return Dump(description);
}
}  // namespace

absl::StatusOr<AddTableResponse> LocalService::AddTable(const identity::Caller& caller,
                                                        const AddTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  service::NewTable added{request.collaboration, request.table, request.source, request.columns};
  if (request.kind.has_value()) {
    added.source_kind = *request.kind;
    if (!request.description.has_value() || !request.description->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a source of kind '", *request.kind, "' needs a description object"));
    }
    if (request.options.has_value()) {
      return absl::InvalidArgumentError(
          "options: only for a file given by \"source\" (with \"kind\", the description says "
          "how its source is read)");
    }
    added.source_json = Dump(*request.description);
  } else if (request.source.empty()) {
    return absl::InvalidArgumentError("$.source: missing (or give \"kind\" and \"description\")");
  } else if (request.options.has_value()) {
    PARLEY_ASSIGN_OR_RETURN(added.source_json, FilesDescription(request.source, *request.options));
  }
  if (request.preview.value_or(false)) {
    PARLEY_ASSIGN_OR_RETURN(service::TablePreview preview,
                            service->PreviewTable(caller, added, kPreviewRows));
    SourceSample sample;
    for (const catalog::Column& column : preview.sample.columns) {
      sample.columns.push_back({column.name, column.type});
    }
    sample.rows = std::move(preview.sample.rows);
    return AddTableResponse{FromService(preview.table), std::move(sample)};
  }
  PARLEY_RETURN_IF_ERROR(service->AddTable(caller, added));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller, request.collaboration, request.table));
  return AddTableResponse{FromService(table)};
}

absl::StatusOr<ListTablesResponse> LocalService::ListTables(const identity::Caller& caller,
                                                            const ListTablesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto tables, service->ListTables(caller, request.collaboration));
  ListTablesResponse response;
  for (const service::TableView& table : tables) response.tables.push_back(FromService(table));
  return response;
}

absl::StatusOr<ShowTableResponse> LocalService::ShowTable(const identity::Caller& caller,
                                                          const ShowTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller, request.collaboration, request.table));
  return ShowTableResponse{FromService(table)};
}

absl::StatusOr<UpdateTableResponse> LocalService::UpdateTable(const identity::Caller& caller,
                                                              const UpdateTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  service::NewTable updated{request.collaboration, request.table, request.source, {}};
  if (request.options.has_value()) {
    PARLEY_ASSIGN_OR_RETURN(updated.source_json,
                            FilesDescription(request.source, *request.options));
  }
  PARLEY_RETURN_IF_ERROR(service->UpdateTableSource(caller, updated));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller, request.collaboration, request.table));
  return UpdateTableResponse{FromService(table)};
}

absl::StatusOr<RemoveTableResponse> LocalService::RemoveTable(const identity::Caller& caller,
                                                              const RemoveTableRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RemoveTable(caller, request.collaboration, request.table));
  return RemoveTableResponse{request.collaboration, request.table};
}

absl::StatusOr<SetRuleResponse> LocalService::SetRule(const identity::Caller& caller,
                                                      const SetRuleRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  bool dry_run = request.dry_run.value_or(false);
  PARLEY_RETURN_IF_ERROR(
      service->SetRule(caller, request.collaboration, request.table, Dump(request.rule), dry_run));
  PARLEY_ASSIGN_OR_RETURN(service::TableView table,
                          service->ShowTable(caller, request.collaboration, request.table));
  SetRuleResponse response{FromService(table)};
  if (dry_run) response.table.rule = request.rule;
  return response;
}

absl::StatusOr<ExplainResponse> LocalService::Explain(const identity::Caller& caller,
                                                      const ExplainRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  if (request.save_as) {
    if (request.epsilon || request.accuracy) {
      return absl::InvalidArgumentError(
          "epsilon and accuracy apply to differential privacy queries, whose results cannot be "
          "saved");
    }
    PARLEY_ASSIGN_OR_RETURN(service::SavePreview preview,
                            service->PreviewSave(caller, request.collaboration, request.sql,
                                                 request.receivers, *request.save_as));
    ExplainResponse response{FromService(preview.explanation), std::nullopt};
    if (preview.explanation.verdict.allowed()) {
      response.saved_table = FromService(*request.save_as, preview);
    }
    return response;
  }
  PARLEY_ASSIGN_OR_RETURN(
      service::Explanation explanation,
      service->Explain(caller, request.collaboration, request.sql, request.receivers,
                       request.epsilon.value_or(""),
                       {request.accuracy.value_or(""), request.confidence.value_or("")}));
  return ExplainResponse{FromService(explanation), std::nullopt};
}

absl::StatusOr<RunQueryResponse> LocalService::RunQuery(const identity::Caller& caller,
                                                        const RunQueryRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  if (request.save_as && (request.epsilon || request.accuracy)) {
    return absl::InvalidArgumentError(
        "epsilon and accuracy apply to differential privacy queries, whose results cannot be "
        "saved");
  }
  if (queue_ != nullptr && request.save_as) {
    // Through the same bounded queue as every other run of the server (429 when it is full).
    return RunQueued(caller, request.collaboration, [&] {
      return service->SubmitSave(caller, request.collaboration, request.sql, request.receivers,
                                 *request.save_as);
    });
  }
  service::AccuracyRequest accuracy{request.accuracy.value_or(""), request.confidence.value_or("")};
  if (queue_ != nullptr) {
    // Awaited here: recorded once, when it ends, as the embedded Run records it.
    PARLEY_ASSIGN_OR_RETURN(service::QueryOutcome outcome, queue_->RunAwaited(caller, [&] {
      return service->SubmitAwaitedQuery(caller, request.collaboration, request.sql,
                                         request.receivers, request.epsilon.value_or(""), accuracy);
    }));
    return FromService(outcome);
  }
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome outcome,
      request.save_as ? service->RunAndSave(caller, request.collaboration, request.sql,
                                            request.receivers, *request.save_as)
                      : service->Run(caller, request.collaboration, request.sql, request.receivers,
                                     request.epsilon.value_or(""), accuracy));
  return FromService(outcome);
}

absl::StatusOr<BudgetResponse> LocalService::Budget(const identity::Caller& caller,
                                                    const BudgetRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::BudgetView view, service->Budget(caller, request.collaboration));
  return FromService(request.collaboration, view);
}

absl::StatusOr<GetResultResponse> LocalService::GetResult(const identity::Caller& caller,
                                                          const GetResultRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> sealed,
                          service->SealedResult(caller, request.collaboration, request.query_id));
  if (sealed) {
    GetResultResponse response{request.query_id, {}, {}};
    response.sealed_result = absl::Base64Escape(*sealed);
    return response;
  }
  PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result,
                          service->Result(caller, request.collaboration, request.query_id));
  return GetResultResponse{request.query_id, FromService(result), {}};
}

absl::StatusOr<ListQueriesResponse> LocalService::ListQueries(const identity::Caller& caller,
                                                              const ListQueriesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto queries, service->ListQueries(caller, request.collaboration));
  ListQueriesResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(FromService(query));
  }
  return response;
}

absl::StatusOr<QueryLogResponse> LocalService::QueryLog(const identity::Caller& caller,
                                                        const QueryLogRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto queries, service->QueryLog(caller, request.collaboration));
  QueryLogResponse response;
  for (const service::QueryView& query : queries) {
    response.queries.push_back(FromService(query));
  }
  return response;
}

absl::StatusOr<CreateTemplateResponse> LocalService::CreateTemplate(
    const identity::Caller& caller, const CreateTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::string id,
                          service->CreateTemplate(caller, {request.collaboration, request.name,
                                                           request.sql, request.parameters}));
  PARLEY_ASSIGN_OR_RETURN(service::TemplateView view,
                          service->ShowTemplate(caller, request.collaboration, id));
  return CreateTemplateResponse{FromService(view)};
}

absl::StatusOr<ShowTemplateResponse> LocalService::ShowTemplate(
    const identity::Caller& caller, const ShowTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller, request.collaboration, request.template_id));
  return ShowTemplateResponse{FromService(view)};
}

absl::StatusOr<ListTemplatesResponse> LocalService::ListTemplates(
    const identity::Caller& caller, const ListTemplatesRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto views, service->ListTemplates(caller, request.collaboration));
  ListTemplatesResponse response;
  for (const service::TemplateView& view : views) {
    response.templates.push_back(FromService(view));
  }
  return response;
}

absl::StatusOr<ApproveTemplateResponse> LocalService::ApproveTemplate(
    const identity::Caller& caller, const ApproveTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->ApproveTemplate(caller, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller, request.collaboration, request.template_id));
  return ApproveTemplateResponse{FromService(view)};
}

absl::StatusOr<RevokeTemplateResponse> LocalService::RevokeTemplate(
    const identity::Caller& caller, const RevokeTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->RevokeTemplate(caller, request.collaboration, request.template_id, request.table));
  PARLEY_ASSIGN_OR_RETURN(
      service::TemplateView view,
      service->ShowTemplate(caller, request.collaboration, request.template_id));
  return RevokeTemplateResponse{FromService(view)};
}

absl::StatusOr<RunTemplateResponse> LocalService::RunTemplate(const identity::Caller& caller,
                                                              const RunTemplateRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  if (queue_ != nullptr) {
    // Awaited here: recorded once, when it ends, as the embedded RunTemplate records it.
    PARLEY_ASSIGN_OR_RETURN(service::QueryOutcome outcome, queue_->RunAwaited(caller, [&] {
      return service->SubmitAwaitedTemplate(
          caller, request.collaboration, request.template_id, request.parameters, request.receivers,
          request.epsilon.value_or(""),
          {request.accuracy.value_or(""), request.confidence.value_or("")});
    }));
    return FromService(outcome);
  }
  PARLEY_ASSIGN_OR_RETURN(
      service::QueryOutcome outcome,
      service->RunTemplate(caller, request.collaboration, request.template_id, request.parameters,
                           request.receivers, request.epsilon.value_or(""),
                           {request.accuracy.value_or(""), request.confidence.value_or("")}));
  return FromService(outcome);
}

absl::StatusOr<PolicyResponse> LocalService::Policy(const identity::Caller& caller,
                                                    const PolicyRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::PolicyView policy,
                          service->Policy(caller, request.collaboration));
  return FromService(request.collaboration, policy);
}

absl::StatusOr<ListAuditResponse> LocalService::ListAudit(const identity::Caller& caller,
                                                          const ListAuditRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  ListAuditResponse response;
  response.collaboration = request.collaboration;
  if (request.Paged()) {
    catalog::AuditPageQuery query{request.after, request.before, request.limit.value_or(100)};
    PARLEY_ASSIGN_OR_RETURN(catalog::AuditPage page,
                            service->ListAuditPage(caller, request.collaboration, query));
    for (const catalog::AuditEntry& entry : page.entries) {
      response.entries.push_back(FromService(entry));
    }
    response.head_seq = page.head_seq;
    if (page.more && !page.entries.empty()) response.next = page.entries.back().seq;
    return response;
  }
  PARLEY_ASSIGN_OR_RETURN(auto entries, service->ListAudit(caller, request.collaboration));
  for (const catalog::AuditEntry& entry : entries) {
    response.entries.push_back(FromService(entry));
  }
  return response;
}

absl::StatusOr<VerifyAuditResponse> LocalService::VerifyAudit(const identity::Caller& caller,
                                                              const VerifyAuditRequest& request) {
  // Opening a home creates it: a mistyped --home would otherwise verify an empty, new log.
  std::error_code error;
  bool opened = false;
  {
    std::lock_guard<std::mutex> lock(open_mutex_);
    opened = service_ != nullptr;
  }
  if (!opened && !std::filesystem::exists(std::filesystem::path(home_) / "catalog.db", error)) {
    return absl::NotFoundError(
        absl::StrCat("'", home_, "' is not a Parley home (it has no catalog.db)"));
  }
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  if (!request.collaboration) {
    // Every chain of the home is for its operator at the console, not for a remote caller.
    if (caller.authentication() != identity::Authentication::kEmbedded) {
      return absl::PermissionDeniedError(
          "verifying every chain of the home is for its operator; name a collaboration");
    }
    PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification, service->VerifyAudit());
    return FromService(verification, /*expected_head_given=*/false);
  }
  std::string expected_head = request.expected_head.value_or("");
  PARLEY_ASSIGN_OR_RETURN(catalog::AuditVerification verification,
                          service->VerifyAudit(caller, *request.collaboration, expected_head));
  return FromService(verification, !expected_head.empty());
}

}  // namespace parley::api
