// Webhooks: URLs members subscribed to a collaboration's events (service/webhooks.cc delivers).
// Adding and removing one is audited in the collaboration's chain with ids only: a URL may carry
// a credential of its owner's, and the secret is the owner's.
#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Statement;
using internal::Write;

absl::StatusOr<int64_t> Store::AddWebhook(const Webhook& webhook, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", webhook.member));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, webhook.collaboration));
  // Emptied before the write, so that neither a commit nor a rollback leaves it stale.
  impl_->read_cache.webhooks.erase(webhook.collaboration);
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "INSERT INTO webhooks (collaboration_id, member, url, secret, "
                               "created_at) VALUES (?, ?, ?, ?, ?)",
                               write.id(), webhook.member, webhook.url, webhook.secret,
                               write.now()));
  int64_t id = sqlite3_last_insert_rowid(write.db());
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "webhook.add",
                                      Json{{"webhook", id}, {"member", webhook.member}},
                                      PolicyEffect::kKeepsPolicy));
  PARLEY_RETURN_IF_ERROR(write.Commit());
  return id;
}

absl::StatusOr<std::vector<Webhook>> Store::ListWebhooks(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  // Every query asks twice (internal::QueryReadCache); most collaborations have none.
  PARLEY_RETURN_IF_ERROR(internal::RefreshQueryReadCache(*impl_));
  auto cached = impl_->read_cache.webhooks.find(collaboration);
  if (cached != impl_->read_cache.webhooks.end()) return cached->second;
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT w.id, w.member, w.url, w.secret, w.created_at FROM webhooks w "
                         "JOIN collaborations c ON c.id = w.collaboration_id "
                         "WHERE c.name = ? AND w.removed_at IS NULL ORDER BY w.id"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
  std::vector<Webhook> webhooks;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    webhooks.push_back({statement.Int(0), collaboration, statement.Text(1), statement.Text(2),
                        statement.Text(3), statement.Int(4)});
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  impl_->read_cache.webhooks[collaboration] = webhooks;
  return webhooks;
}

absl::Status Store::RemoveWebhook(const std::string& collaboration, int64_t id,
                                  const std::string& member) {
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  impl_->read_cache.webhooks.erase(collaboration);
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "UPDATE webhooks SET removed_at = ? WHERE id = ? AND "
                               "collaboration_id = ? AND member = ? AND removed_at IS NULL",
                               write.now(), id, write.id(), member));
  if (sqlite3_changes(write.db()) == 0) {
    return absl::NotFoundError(
        absl::StrCat("webhook ", id, " not found in collaboration '", collaboration, "'"));
  }
  PARLEY_RETURN_IF_ERROR(write.Append(member, "webhook.remove",
                                      Json{{"webhook", id}, {"member", member}},
                                      PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

}  // namespace parley::catalog
