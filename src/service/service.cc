// The facade: each use case is a method of Service::Impl in a file of its own (see
// service_impl.h); this file only opens the home and forwards the calls.
#include "service/service.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

namespace fs = std::filesystem;

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

absl::StatusOr<std::unique_ptr<Service>> Service::Open(const std::string& home, Options options) {
  std::error_code error;
  fs::create_directories(home, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the home directory '", home, "': ", error.message()));
  }
  chmod(home.c_str(), 0700);
  auto impl = std::make_unique<Impl>();
  impl->home = fs::absolute(home);
  impl->options = std::move(options);
  impl->connectors = impl->options.connectors != nullptr ? impl->options.connectors
                                                         : &connectors::Registry::BuiltIn();
  PARLEY_ASSIGN_OR_RETURN(
      impl->store, catalog::Store::Open((impl->home / "catalog.db").string(), impl->options.clock));
  PARLEY_RETURN_IF_ERROR(impl->MarkKilledRuns());
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

absl::Status Service::CreateCollaboration(const std::string& actor,
                                          const NewCollaboration& request) {
  return impl_->CreateCollaboration(actor, request);
}

absl::StatusOr<std::vector<catalog::Collaboration>> Service::ListCollaborations(
    const std::string& actor) {
  return impl_->ListCollaborations(actor);
}

absl::StatusOr<catalog::Collaboration> Service::ShowCollaboration(
    const std::string& actor, const std::string& collaboration) {
  return impl_->ShowCollaboration(actor, collaboration);
}

absl::Status Service::AddMember(const std::string& actor, const std::string& collaboration,
                                const catalog::Member& member) {
  return impl_->AddMember(actor, collaboration, member);
}

absl::Status Service::RemoveMember(const std::string& actor, const std::string& collaboration,
                                   const std::string& member) {
  return impl_->RemoveMember(actor, collaboration, member);
}

absl::Status Service::Leave(const std::string& actor, const std::string& collaboration) {
  return impl_->Leave(actor, collaboration);
}

absl::Status Service::AddTable(const std::string& actor, const NewTable& request) {
  return impl_->AddTable(actor, request);
}

absl::StatusOr<std::vector<TableView>> Service::ListTables(const std::string& actor,
                                                           const std::string& collaboration) {
  return impl_->ListTables(actor, collaboration);
}

absl::StatusOr<TableView> Service::ShowTable(const std::string& actor,
                                             const std::string& collaboration,
                                             const std::string& table) {
  return impl_->ShowTable(actor, collaboration, table);
}

absl::Status Service::SetRule(const std::string& actor, const std::string& collaboration,
                              const std::string& table, const std::string& rule_json) {
  return impl_->SetRule(actor, collaboration, table, rule_json);
}

absl::StatusOr<Explanation> Service::Explain(const std::string& actor,
                                             const std::string& collaboration,
                                             const std::string& sql,
                                             std::vector<std::string> receivers) {
  return impl_->Explain(actor, collaboration, sql, std::move(receivers));
}

absl::StatusOr<QueryOutcome> Service::Run(const std::string& actor,
                                          const std::string& collaboration, const std::string& sql,
                                          std::vector<std::string> receivers) {
  return impl_->Run(actor, collaboration, sql, std::move(receivers));
}

absl::StatusOr<exec::ResultTable> Service::Result(const std::string& actor,
                                                  const std::string& collaboration,
                                                  int64_t query_id) {
  return impl_->Result(actor, collaboration, query_id);
}

absl::StatusOr<std::vector<QueryView>> Service::ListQueries(const std::string& actor,
                                                            const std::string& collaboration) {
  return impl_->ListQueries(actor, collaboration);
}

absl::StatusOr<std::string> Service::CreateTemplate(const std::string& actor,
                                                    const NewTemplate& request) {
  return impl_->CreateTemplate(actor, request);
}

absl::StatusOr<TemplateView> Service::ShowTemplate(const std::string& actor,
                                                   const std::string& collaboration,
                                                   const std::string& template_id) {
  return impl_->ShowTemplate(actor, collaboration, template_id);
}

absl::StatusOr<std::vector<TemplateView>> Service::ListTemplates(const std::string& actor,
                                                                 const std::string& collaboration) {
  return impl_->ListTemplates(actor, collaboration);
}

absl::Status Service::ApproveTemplate(const std::string& actor, const std::string& collaboration,
                                      const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(actor, collaboration, template_id, table, /*approve=*/true);
}

absl::Status Service::RevokeTemplate(const std::string& actor, const std::string& collaboration,
                                     const std::string& template_id, const std::string& table) {
  return impl_->SetApproval(actor, collaboration, template_id, table, /*approve=*/false);
}

absl::StatusOr<QueryOutcome> Service::RunTemplate(const std::string& actor,
                                                  const std::string& collaboration,
                                                  const std::string& template_id,
                                                  const std::map<std::string, std::string>& values,
                                                  std::vector<std::string> receivers) {
  return impl_->RunTemplate(actor, collaboration, template_id, values, std::move(receivers));
}

absl::StatusOr<std::vector<QueryView>> Service::QueryLog(const std::string& actor,
                                                         const std::string& collaboration) {
  return impl_->QueryLog(actor, collaboration);
}

absl::StatusOr<PolicyView> Service::Policy(const std::string& actor,
                                           const std::string& collaboration) {
  return impl_->Policy(actor, collaboration);
}

absl::StatusOr<std::vector<catalog::AuditEntry>> Service::ListAudit(
    const std::string& actor, const std::string& collaboration) {
  return impl_->ListAudit(actor, collaboration);
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit() {
  return impl_->store->VerifyAudit();
}

absl::StatusOr<catalog::AuditVerification> Service::VerifyAudit(const std::string& actor,
                                                                const std::string& collaboration,
                                                                const std::string& expected_head) {
  return impl_->VerifyAudit(actor, collaboration, expected_head);
}

}  // namespace parley::service
