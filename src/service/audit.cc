#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "service/service_impl.h"

namespace parley::service {

using Json = nlohmann::json;
using namespace internal;

namespace {

// Audit entries of catalogs written before outcomes left the log ("query.succeeded" with a row
// count, "query.failed") are shown to a member who does not receive that query as
// "query.finished" without the count.
void RedactLegacyOutcome(catalog::AuditEntry& entry,
                         const std::map<int64_t, std::vector<std::string>>& receivers,
                         const std::string& member) {
  if (entry.action != "query.succeeded" && entry.action != "query.failed") return;
  Json details = Json::parse(entry.details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object() || !details.contains("query_id") ||
      !details["query_id"].is_number_integer()) {
    return;
  }
  auto it = receivers.find(details["query_id"].get<int64_t>());
  if (it != receivers.end() && Receives(it->second, member)) return;
  details.erase("row_count");
  details.erase("error");
  entry.action = "query.finished";
  entry.details_json = details.dump();
}

}  // namespace

absl::StatusOr<std::vector<catalog::AuditEntry>> Service::Impl::ListAudit(
    const std::string& actor, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  PARLEY_RETURN_IF_ERROR(MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::AuditEntry> entries,
                          store->ListAudit(collaboration));
  PARLEY_ASSIGN_OR_RETURN(auto queries, store->ListQueries(collaboration));
  std::map<int64_t, std::vector<std::string>> receivers;
  for (catalog::QueryRecord& query : queries) receivers[query.id] = std::move(query.receivers);
  for (catalog::AuditEntry& entry : entries) RedactLegacyOutcome(entry, receivers, actor);
  return entries;
}

absl::StatusOr<catalog::AuditVerification> Service::Impl::VerifyAudit(
    const std::string& actor, const std::string& collaboration, const std::string& expected_head) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(ActiveMember(found, actor).status());
  std::string expected = absl::AsciiStrToLower(expected_head);
  if (!expected.empty() && (expected.size() != 64 ||
                            expected.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "an expected head is a hash of 64 hexadecimal characters, as 'audit verify' prints it");
  }
  return store->VerifyAudit(collaboration, expected);
}

}  // namespace parley::service
