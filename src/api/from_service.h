// The service's answers in API terms: each function turns one value the service facade returns
// into the API type a front end sends (api/types.h). This is where storage-shaped values stop —
// stored JSON text (rules, audit details, violations) becomes structured JSON and enum values
// become their names — so neither the CLI nor the server sees a catalog or engine type.
//
// A table's location is passed through as the service decided it (present only for the owner).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/types.h"
#include "identity/ability.h"
#include "service/service.h"

namespace parley::api {

Member FromService(const catalog::Member& member);
Collaboration FromService(const catalog::Collaboration& collaboration);
ChangeRequest FromService(const service::ChangeView& change);
Table FromService(const service::TableView& table);
Explanation FromService(const service::Explanation& explanation);
Result FromService(const engine::ResultTable& result);
RunResponse FromService(const service::QueryOutcome& outcome);
Query FromService(const service::QueryView& query);
SavedTablePreview FromService(const std::string& table, const service::SavePreview& preview);
Template FromService(const service::TemplateView& view);
PolicyResponse FromService(const std::string& collaboration, const service::PolicyView& policy);
AuditEntry FromService(const catalog::AuditEntry& entry);
// `expected_head_given`: whether the request named an expected head (its fields are then set).
VerifyAuditResponse FromService(const catalog::AuditVerification& verification,
                                bool expected_head_given);

// A privacy budget in API terms (decimal text) and back; InvalidArgument naming the field for a
// value that is not a decimal ε or δ.
PrivacyBudget FromService(const catalog::PrivacyBudget& budget);
absl::StatusOr<catalog::PrivacyBudget> PrivacyBudgetToService(const PrivacyBudget& budget);
BudgetResponse FromService(const std::string& collaboration, const service::BudgetView& view);

// The ability names of a member ("query", "receive").
std::vector<std::string> AbilityNames(bool can_query, bool can_receive, bool can_run_jobs = false);
std::vector<std::string> AbilityNames(const identity::AbilitySet& abilities);
// A member with abilities named as in the API; InvalidArgument for any other ability name.
absl::StatusOr<service::NewMember> MemberToService(const std::string& name,
                                                   const std::vector<std::string>& abilities);

}  // namespace parley::api
