// What decides how a member's results are kept on a server: the public key each member registered
// to have its results sealed to (catalog-wide, audited as "member.key" in the catalog-wide chain
// with the key's SHA-256, never the key), and each collaboration's result retention (audited in
// its own chain as "collaboration.result_retention"; not part of the policy state, which decides
// what queries may do, not how long their results are kept).
#include <sqlite3.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"
#include "crypto/sha256.h"

namespace parley::catalog {

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Statement;
using internal::Write;

absl::Status Store::SetMemberKey(const std::string& member, const std::string& public_key_hex,
                                 const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", member));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  bool hex = public_key_hex.size() == 64;
  for (char c : public_key_hex) hex = hex && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
  if (!hex) {
    return absl::InvalidArgumentError("a public key is 64 lowercase hex digits (X25519)");
  }
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, "", /*must_exist=*/false));
  impl_->read_cache.member_keys.erase(member);
  PARLEY_RETURN_IF_ERROR(Write(write.db(),
                               "INSERT INTO member_keys (member, public_key, created_at) "
                               "VALUES (?, ?, ?) ON CONFLICT (member) DO UPDATE SET "
                               "public_key = excluded.public_key, created_at = excluded.created_at",
                               member, public_key_hex, write.now()));
  Json details = {{"member", member}, {"public_key_sha256", crypto::Sha256Hex(public_key_hex)}};
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "member.key", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::map<std::string, std::string>> Store::GetMemberKeys(
    const std::vector<std::string>& members) {
  sqlite3* db = impl_->handle();
  // Every query asks for its receivers' keys (internal::QueryReadCache).
  PARLEY_RETURN_IF_ERROR(internal::RefreshQueryReadCache(*impl_));
  std::map<std::string, std::string> keys;
  std::vector<std::string> unknown;
  for (const std::string& member : members) {
    auto cached = impl_->read_cache.member_keys.find(member);
    if (cached == impl_->read_cache.member_keys.end()) {
      unknown.push_back(member);
    } else if (cached->second.has_value()) {
      keys[member] = *cached->second;
    }
  }
  if (unknown.empty()) return keys;
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  std::map<std::string, std::optional<std::string>> read;
  for (const std::string& member : unknown) {
    PARLEY_ASSIGN_OR_RETURN(
        Statement statement,
        Statement::Prepare(db, "SELECT public_key FROM member_keys WHERE member = ?"));
    PARLEY_RETURN_IF_ERROR(statement.Bind(member));
    PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
    read[member] = found ? std::optional<std::string>(statement.Text(0)) : std::nullopt;
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  for (auto& [member, key] : read) {
    if (key.has_value()) keys[member] = *key;
    impl_->read_cache.member_keys[member] = std::move(key);
  }
  return keys;
}

absl::Status Store::SetResultRetention(const std::string& collaboration,
                                       std::optional<int64_t> days, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  if (days && *days < 1) {
    return absl::InvalidArgumentError("a result retention is a whole number of days, at least 1");
  }
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, collaboration));
  if (days) {
    PARLEY_RETURN_IF_ERROR(Write(write.db(),
                                 "INSERT INTO result_retention (collaboration_id, days) "
                                 "VALUES (?, ?) ON CONFLICT (collaboration_id) DO UPDATE SET "
                                 "days = excluded.days",
                                 write.id(), *days));
  } else {
    PARLEY_RETURN_IF_ERROR(
        Write(write.db(), "DELETE FROM result_retention WHERE collaboration_id = ?", write.id()));
  }
  Json details = {{"result_retention_days", days ? Json(*days) : Json(nullptr)}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "collaboration.result_retention", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::optional<int64_t>> Store::GetResultRetention(const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT r.days FROM result_retention r JOIN collaborations c "
                         "ON c.id = r.collaboration_id WHERE c.name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  std::optional<int64_t> days;
  if (found) days = statement.Int(0);
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return days;
}

}  // namespace parley::catalog
