// The facade: each use case is a method of Service::Impl in a file of its own (see
// service_impl.h); this file only opens the home and forwards the calls.
#include "service/service.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/duckdb/duckdb_engine.h"
#include "service/home.h"
#include "service/service_impl.h"

namespace parley::service {

namespace fs = std::filesystem;

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

absl::StatusOr<std::unique_ptr<Service>> Service::Open(const std::string& home, Options options) {
  PARLEY_RETURN_IF_ERROR(PrepareHome(home));
  std::error_code error;
  auto impl = std::make_unique<Impl>();
  impl->home = fs::absolute(home);
  impl->options = std::move(options);
  impl->plan_cache = std::make_unique<query::PlanCache>(query::PlanCache::Options{
      .capacity = impl->options.plan_cache_entries, .on_hit = impl->options.on_plan_cache_hit});
  // Runs spill to a private folder under the home unless told otherwise (--temp-dir): without
  // one, a join larger than the memory cap fails where plain DuckDB finishes. Each session makes
  // its own subfolder there (0700) and removes it when it closes.
  if (impl->options.limits.temp_directory.empty()) {
    impl->options.limits.temp_directory = (impl->home / "tmp").string();
  }
  bool created = fs::create_directories(impl->options.limits.temp_directory, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create the temporary directory '",
                                                   impl->options.limits.temp_directory,
                                                   "': ", error.message()));
  }
  if (created) chmod(impl->options.limits.temp_directory.c_str(), 0700);
  impl->engine =
      std::make_unique<engine::duckdb::DuckDbEngine>(engine::duckdb::DuckDbEngine::Options{
          .limits = impl->options.limits, .on_session_opened = impl->options.on_session_opened});
  if (impl->options.connectors != nullptr) {
    impl->connectors = impl->options.connectors;
  } else {
    // The built-in kinds, and tables on the engines registered in this home.
    impl->own_connectors = connectors::Registry::WithBuiltIns();
    Impl* self = impl.get();
    impl->own_connectors
        ->Add(std::make_unique<connectors::clickhouse::ClickHouseConnector>(
            [self](const std::string& name) { return self->EngineAccessOf(name); }))
        .IgnoreError();
    impl->connectors = impl->own_connectors.get();
  }
  // The catalog (and the WAL files SQLite gives the same mode) is private to its owner.
  std::string catalog_path = (impl->home / "catalog.db").string();
  PARLEY_RETURN_IF_ERROR(MakePrivateFile(catalog_path));
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(catalog_path + suffix, error)) {
      PARLEY_RETURN_IF_ERROR(MakePrivateFile(catalog_path + suffix));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      impl->store, catalog::Store::Open((impl->home / "catalog.db").string(), impl->options.clock));
  PARLEY_RETURN_IF_ERROR(impl->MarkKilledRuns());
  PARLEY_RETURN_IF_ERROR(impl->PruneResults());
  impl->webhooks = std::make_unique<WebhookDispatcher>(impl->options.webhooks);
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

absl::Status Service::CreateCollaboration(const identity::Caller& caller,
                                          const NewCollaboration& request) {
  return impl_->CreateCollaboration(caller, request);
}

absl::StatusOr<std::vector<catalog::Collaboration>> Service::ListCollaborations(
    const identity::Caller& caller) {
  return impl_->ListCollaborations(caller);
}

absl::StatusOr<catalog::Collaboration> Service::ShowCollaboration(
    const identity::Caller& caller, const std::string& collaboration) {
  return impl_->ShowCollaboration(caller, collaboration);
}

absl::StatusOr<catalog::Collaboration> Service::CloseCollaboration(
    const identity::Caller& caller, const std::string& collaboration) {
  return impl_->CloseCollaboration(caller, collaboration);
}

absl::StatusOr<ChangeView> Service::AddMember(const identity::Caller& caller,
                                              const std::string& collaboration,
                                              const NewMember& member) {
  return impl_->AddMember(caller, collaboration, member);
}

absl::StatusOr<InvitationView> Service::InviteMember(const identity::Caller& caller,
                                                     const std::string& collaboration,
                                                     const NewMember& member,
                                                     int64_t valid_seconds) {
  return impl_->InviteMember(caller, collaboration, member, valid_seconds);
}

absl::StatusOr<ChangeView> Service::Join(const identity::Caller& caller, const std::string& code) {
  return impl_->Join(caller, code);
}

absl::StatusOr<ChangeView> Service::ProposeChange(const identity::Caller& caller,
                                                  const std::string& collaboration,
                                                  const catalog::Change& change) {
  return impl_->ProposeChange(caller, collaboration, change);
}

absl::StatusOr<std::vector<ChangeView>> Service::ListChanges(const identity::Caller& caller,
                                                             const std::string& collaboration) {
  return impl_->ListChanges(caller, collaboration);
}

absl::StatusOr<ChangeView> Service::ShowChange(const identity::Caller& caller,
                                               const std::string& collaboration, int64_t id) {
  return impl_->ShowChange(caller, collaboration, id);
}

absl::StatusOr<ChangeView> Service::ApproveChange(const identity::Caller& caller,
                                                  const std::string& collaboration, int64_t id) {
  return impl_->VoteOnChange(caller, collaboration, id, /*approve=*/true);
}

absl::StatusOr<ChangeView> Service::DenyChange(const identity::Caller& caller,
                                               const std::string& collaboration, int64_t id) {
  return impl_->VoteOnChange(caller, collaboration, id, /*approve=*/false);
}

absl::StatusOr<ChangeView> Service::CancelChange(const identity::Caller& caller,
                                                 const std::string& collaboration, int64_t id) {
  return impl_->CancelChange(caller, collaboration, id);
}

absl::Status Service::RemoveMember(const identity::Caller& caller, const std::string& collaboration,
                                   const std::string& member) {
  return impl_->RemoveMember(caller, collaboration, member);
}

absl::Status Service::Leave(const identity::Caller& caller, const std::string& collaboration) {
  return impl_->Leave(caller, collaboration);
}

absl::Status Service::AddTable(const identity::Caller& caller, const NewTable& request) {
  return impl_->AddTable(caller, request);
}

absl::StatusOr<TablePreview> Service::PreviewTable(const identity::Caller& caller,
                                                   const NewTable& request, int limit) {
  return impl_->PreviewTable(caller, request, limit);
}

absl::Status Service::UpdateTableSource(const identity::Caller& caller, const NewTable& request) {
  return impl_->UpdateTableSource(caller, request);
}

absl::Status Service::RemoveTable(const identity::Caller& caller, const std::string& collaboration,
                                  const std::string& table) {
  return impl_->RemoveTable(caller, collaboration, table);
}

absl::StatusOr<std::vector<TableView>> Service::ListTables(const identity::Caller& caller,
                                                           const std::string& collaboration) {
  return impl_->ListTables(caller, collaboration);
}

absl::StatusOr<TableView> Service::ShowTable(const identity::Caller& caller,
                                             const std::string& collaboration,
                                             const std::string& table) {
  return impl_->ShowTable(caller, collaboration, table);
}

absl::Status Service::SetRule(const identity::Caller& caller, const std::string& collaboration,
                              const std::string& table, const std::string& rule_json,
                              bool dry_run) {
  return impl_->SetRule(caller, collaboration, table, rule_json, dry_run);
}

absl::StatusOr<Explanation> Service::Explain(const identity::Caller& caller,
                                             const std::string& collaboration,
                                             const std::string& sql,
                                             std::vector<std::string> receivers,
                                             const std::string& epsilon,
                                             const AccuracyRequest& accuracy) {
  return impl_->Explain(caller, collaboration, sql, std::move(receivers), epsilon, accuracy);
}

absl::StatusOr<QueryOutcome> Service::Run(const identity::Caller& caller,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers,
                                          const std::string& epsilon,
                                          const AccuracyRequest& accuracy) {
  return impl_->Run(caller, collaboration, sql, std::move(receivers), epsilon, accuracy);
}

absl::StatusOr<UsageReport> Service::Usage(const identity::Caller& caller,
                                           const std::string& collaboration,
                                           const std::string& month, const std::string& by) {
  return impl_->Usage(caller, collaboration, month, by);
}

absl::StatusOr<UsageReport> Service::SetUsageLimits(const identity::Caller& caller,
                                                    const std::string& collaboration,
                                                    const catalog::UsageLimits& limits) {
  return impl_->SetUsageLimits(caller, collaboration, limits);
}

absl::StatusOr<BudgetView> Service::Budget(const identity::Caller& caller,
                                           const std::string& collaboration) {
  return impl_->Budget(caller, collaboration);
}

absl::StatusOr<SavePreview> Service::PreviewSave(const identity::Caller& caller,
                                                 const std::string& collaboration,
                                                 const std::string& sql,
                                                 std::vector<std::string> receivers,
                                                 const std::string& save_as) {
  return impl_->PreviewSave(caller, collaboration, sql, std::move(receivers), save_as);
}

absl::StatusOr<QueryOutcome> Service::RunAndSave(const identity::Caller& caller,
                                                 const std::string& collaboration,
                                                 const std::string& sql,
                                                 std::vector<std::string> receivers,
                                                 const std::string& save_as) {
  return impl_->RunAndSave(caller, collaboration, sql, std::move(receivers), save_as);
}

absl::StatusOr<Submission> Service::SubmitSave(const identity::Caller& caller,
                                               const std::string& collaboration,
                                               const std::string& sql,
                                               std::vector<std::string> receivers,
                                               const std::string& save_as) {
  return impl_->SubmitSave(caller, collaboration, sql, std::move(receivers), save_as);
}

absl::StatusOr<engine::ResultTable> Service::Result(const identity::Caller& caller,
                                                    const std::string& collaboration,
                                                    int64_t query_id) {
  return impl_->Result(caller, collaboration, query_id);
}

absl::StatusOr<std::vector<QueryView>> Service::ListQueries(const identity::Caller& caller,
                                                            const std::string& collaboration) {
  return impl_->ListQueries(caller, collaboration);
}

absl::StatusOr<std::string> Service::CreateTemplate(const identity::Caller& caller,
                                                    const NewTemplate& request) {
  return impl_->CreateTemplate(caller, request);
}

absl::StatusOr<TemplateView> Service::ShowTemplate(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const std::string& template_id) {
  return impl_->ShowTemplate(caller, collaboration, template_id);
}

absl::StatusOr<std::vector<TemplateView>> Service::ListTemplates(const identity::Caller& caller,
                                                                 const std::string& collaboration) {
  return impl_->ListTemplates(caller, collaboration);
}

absl::Status Service::ApproveTemplate(const identity::Caller& caller,
                                      const std::string& collaboration,
                                      const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(caller, collaboration, template_id, table, /*approve=*/true);
}

absl::Status Service::RevokeTemplate(const identity::Caller& caller,
                                     const std::string& collaboration,
                                     const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(caller, collaboration, template_id, table, /*approve=*/false);
}

absl::StatusOr<QueryOutcome> Service::RunTemplate(const identity::Caller& caller,
                                                  const std::string& collaboration,
                                                  const std::string& template_id,
                                                  const std::map<std::string, std::string>& values,
                                                  std::vector<std::string> receivers,
                                                  const std::string& epsilon,
                                                  const AccuracyRequest& accuracy) {
  return impl_->RunTemplate(caller, collaboration, template_id, values, std::move(receivers),
                            epsilon, accuracy);
}

absl::StatusOr<std::vector<QueryView>> Service::QueryLog(const identity::Caller& caller,
                                                         const std::string& collaboration) {
  return impl_->QueryLog(caller, collaboration);
}

absl::StatusOr<PolicyView> Service::Policy(const identity::Caller& caller,
                                           const std::string& collaboration) {
  return impl_->Policy(caller, collaboration);
}

absl::StatusOr<std::vector<catalog::AuditEntry>> Service::ListAudit(
    const identity::Caller& caller, const std::string& collaboration) {
  return impl_->ListAudit(caller, collaboration);
}

absl::StatusOr<catalog::AuditPage> Service::ListAuditPage(const identity::Caller& caller,
                                                          const std::string& collaboration,
                                                          const catalog::AuditPageQuery& query) {
  return impl_->ListAuditPage(caller, collaboration, query);
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit() {
  return impl_->store->VerifyAudit();
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit(const identity::Caller& caller,
                                                                const std::string& collaboration,
                                                                const std::string& expected_head) {
  return impl_->VerifyAudit(caller, collaboration, expected_head);
}

}  // namespace parley::service
