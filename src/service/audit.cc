#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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

// Reads the collaboration's queries only when `entries` hold such an entry: a log written by
// this version has none, and a page should not cost a read of every query.
absl::Status RedactLegacyOutcomes(SerializedStore& store, const std::string& collaboration,
                                  const std::string& member,
                                  std::vector<catalog::AuditEntry>& entries) {
  bool legacy = std::any_of(entries.begin(), entries.end(), [](const catalog::AuditEntry& entry) {
    return entry.action == "query.succeeded" || entry.action == "query.failed";
  });
  if (!legacy) return absl::OkStatus();
  PARLEY_ASSIGN_OR_RETURN(auto queries, store->ListQueries(collaboration));
  std::map<int64_t, std::vector<std::string>> receivers;
  for (catalog::QueryRecord& query : queries) receivers[query.id] = std::move(query.receivers);
  for (catalog::AuditEntry& entry : entries) RedactLegacyOutcome(entry, receivers, member);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<catalog::AuditEntry>> Service::Impl::ListAudit(
    const identity::Caller& caller, const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_RETURN_IF_ERROR(MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::AuditEntry> entries,
                          store->ListAudit(collaboration));
  PARLEY_RETURN_IF_ERROR(RedactLegacyOutcomes(store, collaboration, caller.member(), entries));
  return entries;
}

absl::StatusOr<catalog::AuditPage> Service::Impl::ListAuditPage(
    const identity::Caller& caller, const std::string& collaboration,
    const catalog::AuditPageQuery& query) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  // Parameters are checked after the caller: an outsider learns nothing about the room from them.
  if (query.limit < 1 || query.limit > Service::kMaxAuditPage) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limit: a page holds 1 to ", Service::kMaxAuditPage, " entries (got ", query.limit, ")"));
  }
  if (query.after.has_value() && query.before.has_value()) {
    return absl::InvalidArgumentError(
        "after, before: give one of them (after pages forward, before pages back)");
  }
  if (query.after.has_value() && *query.after < 0) {
    return absl::InvalidArgumentError("after: an entry's seq, 0 or more (0: from the start)");
  }
  if (query.before.has_value() && *query.before < 1) {
    return absl::InvalidArgumentError("before: an entry's seq, 1 or more");
  }
  PARLEY_RETURN_IF_ERROR(MarkKilledRuns());
  PARLEY_ASSIGN_OR_RETURN(catalog::AuditPage page, store->ListAuditPage(collaboration, query));
  PARLEY_RETURN_IF_ERROR(RedactLegacyOutcomes(store, collaboration, caller.member(), page.entries));
  return page;
}

absl::StatusOr<catalog::AuditVerification> Service::Impl::VerifyAudit(
    const identity::Caller& caller, const std::string& collaboration,
    const std::string& expected_head) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  std::string expected = absl::AsciiStrToLower(expected_head);
  if (!expected.empty() && (expected.size() != 64 ||
                            expected.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "an expected head is a hash of 64 hexadecimal characters, as 'audit verify' prints it");
  }
  return store->VerifyAudit(collaboration, expected);
}

}  // namespace parley::service
