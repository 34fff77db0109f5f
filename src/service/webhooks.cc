// Webhooks (issue 8 §4): members subscribe a URL to their collaboration's events, delivered
// asynchronously by the WebhookDispatcher. A payload names the event's kind and ids (the
// collaboration, the change request or query, its kind or status) and never a value of the data,
// a query's text or a result. What a member may not learn it is not sent: whether a query
// succeeded or failed goes only to the query's receivers, as in the query list.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <regex>

#include "absl/strings/str_cat.h"
#include "identity/token.h"
#include "service/service_impl.h"

namespace parley::service {

namespace {

bool ActiveMember(const catalog::Collaboration& collaboration, const std::string& member) {
  for (const catalog::Member& candidate : collaboration.members) {
    if (candidate.name == member) return candidate.status == catalog::MemberStatus::kActive;
  }
  return false;
}

std::string DeliveryId() {
  static std::atomic<int64_t> counter{0};
  return absl::StrCat("d", catalog::SystemClockSeconds(), "-", getpid(), "-", ++counter);
}

}  // namespace

void Service::Impl::Emit(const std::string& collaboration, const std::string& event,
                         const nlohmann::json& ids, const std::vector<std::string>* only) {
  if (!webhooks) return;
  absl::StatusOr<std::vector<catalog::Webhook>> hooks = store->ListWebhooks(collaboration);
  if (!hooks.ok() || hooks->empty()) return;
  absl::StatusOr<catalog::Collaboration> found = store->GetCollaboration(collaboration);
  if (!found.ok()) return;
  int64_t now = options.clock ? options.clock() : catalog::SystemClockSeconds();
  for (const catalog::Webhook& hook : *hooks) {
    if (!ActiveMember(*found, hook.member)) continue;
    if (only != nullptr && std::find(only->begin(), only->end(), hook.member) == only->end()) {
      continue;
    }
    std::string id = DeliveryId();
    nlohmann::json body = ids;
    body["event"] = event;
    body["collaboration"] = collaboration;
    body["time"] = now;
    body["delivery"] = id;
    body["webhook"] = hook.id;
    webhooks->Enqueue({hook.url, hook.secret, event, id,
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  }
}

void Service::Impl::EmitRunEnded(const std::string& collaboration, int64_t query_id,
                                 const std::vector<std::string>& receivers,
                                 const absl::Status& ended) {
  const char* event = "query.failed";
  if (ended.ok()) {
    event = "query.succeeded";
  } else if (absl::IsCancelled(ended) || absl::IsDeadlineExceeded(ended)) {
    event = "query.cancelled";
  }
  Emit(collaboration, event, {{"query_id", query_id}}, &receivers);
}

void Service::Impl::EmitChange(const catalog::ChangeRequest& request, bool opened) {
  nlohmann::json ids = {{"change_id", request.id},
                        {"change_kind", request.change.kind},
                        {"status", catalog::ChangeStatusName(request.status)}};
  if (opened) Emit(request.collaboration, "change.opened", ids);
  switch (request.status) {
    case catalog::ChangeStatus::kCommitted:
      if (!opened) Emit(request.collaboration, "change.approved", ids);
      Emit(request.collaboration, "change.committed", ids);
      break;
    case catalog::ChangeStatus::kDenied:
      Emit(request.collaboration, "change.denied", ids);
      break;
    case catalog::ChangeStatus::kCancelled:
      Emit(request.collaboration, "change.cancelled", ids);
      break;
    case catalog::ChangeStatus::kPending:
    case catalog::ChangeStatus::kApproved:
      if (!opened) Emit(request.collaboration, "change.approved", ids);
      break;
  }
}

absl::StatusOr<WebhookView> Service::AddWebhook(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                const std::string& url) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  static const std::regex kUrl("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?");
  if (url.size() > 2048 || !std::regex_match(url, kUrl)) {
    return absl::InvalidArgumentError(
        "a webhook URL is http(s)://HOST[:PORT][/PATH], printable, at most 2048 characters");
  }
  identity::IssuedToken secret = identity::IssueToken("pw_");
  catalog::Webhook webhook{0, collaboration, caller.member(), url, secret.text, 0};
  PARLEY_ASSIGN_OR_RETURN(int64_t id, impl_->store->AddWebhook(webhook, caller.member()));
  int64_t now = impl_->options.clock ? impl_->options.clock() : catalog::SystemClockSeconds();
  return WebhookView{id, caller.member(), url, now, secret.text};
}

absl::StatusOr<std::vector<WebhookView>> Service::ListWebhooks(const identity::Caller& caller,
                                                               const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_ASSIGN_OR_RETURN(auto hooks, impl_->store->ListWebhooks(collaboration));
  std::vector<WebhookView> views;
  for (const catalog::Webhook& hook : hooks) {
    if (hook.member != caller.member()) continue;
    views.push_back({hook.id, hook.member, hook.url, hook.created_at, ""});
  }
  return views;
}

absl::Status Service::RemoveWebhook(const identity::Caller& caller,
                                    const std::string& collaboration, int64_t id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  return impl_->store->RemoveWebhook(collaboration, id, caller.member());
}

}  // namespace parley::service
