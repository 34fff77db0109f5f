// Organisations of a Parley server and their API tokens: creating an organisation with its first
// token, issuing, rotating and revoking tokens, and finding a token by its id. Every change is
// one write transaction with its entry in the catalog-wide audit chain.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace {

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Write;

bool IsLowerHex(std::string_view text, size_t digits) {
  if (text.size() != digits) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

// A token record as given by the service: its id and hash in their stored forms.
absl::Status CheckToken(const ApiToken& token) {
  if (!IsLowerHex(token.id, 16) || token.salt_hex.empty() || token.hash_hex.empty() ||
      !IsLowerHex(token.salt_hex, token.salt_hex.size()) ||
      !IsLowerHex(token.hash_hex, token.hash_hex.size())) {
    return absl::InvalidArgumentError("an API token record needs a hex id, salt and hash");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> FindOrganisationId(sqlite3* db, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(Statement statement,
                          Statement::Prepare(db, "SELECT id FROM organisations WHERE name = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(name));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  return statement.Int(0);
}

absl::Status InsertToken(CollaborationWrite& write, int64_t organisation_id,
                         const ApiToken& token) {
  return Write(write.db(),
               "INSERT INTO api_tokens (id, organisation_id, salt, hash, created_at) "
               "VALUES (?, ?, ?, ?, ?)",
               token.id, organisation_id, token.salt_hex, token.hash_hex, write.now());
}

absl::StatusOr<std::optional<ApiToken>> FindToken(sqlite3* db, std::string_view id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db,
                         "SELECT t.id, o.name, t.salt, t.hash, t.created_at, t.revoked_at, "
                         "o.admin FROM api_tokens t JOIN organisations o "
                         "ON o.id = t.organisation_id WHERE t.id = ?"));
  PARLEY_RETURN_IF_ERROR(statement.Bind(id));
  PARLEY_ASSIGN_OR_RETURN(bool found, statement.Step());
  if (!found) return std::nullopt;
  ApiToken token;
  token.id = statement.Text(0);
  token.organisation = statement.Text(1);
  token.salt_hex = statement.Text(2);
  token.hash_hex = statement.Text(3);
  token.created_at = statement.Int(4);
  if (!statement.IsNull(5)) token.revoked_at = statement.Int(5);
  token.organisation_admin = statement.Bool(6);
  return token;
}

absl::Status TokenNotFound(std::string_view organisation, std::string_view id) {
  return absl::NotFoundError(
      absl::StrCat("organisation ", Quote(organisation), " has no API token ", Quote(id)));
}

// Revokes `id`, which must be a live token of `organisation`, inside `write`.
absl::Status RevokeIn(CollaborationWrite& write, std::string_view organisation,
                      std::string_view id) {
  PARLEY_ASSIGN_OR_RETURN(std::optional<ApiToken> token, FindToken(write.db(), id));
  if (!token.has_value() || token->organisation != organisation) {
    return TokenNotFound(organisation, id);
  }
  if (token->revoked_at.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("API token ", Quote(id), " is already revoked"));
  }
  return Write(write.db(), "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", write.now(),
               std::string(id));
}

}  // namespace

absl::Status Store::CreateOrganisation(const Organisation& organisation, const ApiToken& token,
                                       const std::string& actor, bool first) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("organisation", organisation.name));
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_RETURN_IF_ERROR(CheckToken(token));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, "", /*must_exist=*/false));
  sqlite3* db = write.db();
  if (first) {
    PARLEY_ASSIGN_OR_RETURN(Statement any,
                            Statement::Prepare(db, "SELECT 1 FROM organisations LIMIT 1"));
    PARLEY_ASSIGN_OR_RETURN(bool exists, any.Step());
    if (exists) {
      return absl::FailedPreconditionError(
          "this server already has organisations; its operator adds more with an admin token");
    }
  }
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> existing,
                          FindOrganisationId(db, organisation.name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("organisation ", Quote(organisation.name), " already exists"));
  }
  PARLEY_RETURN_IF_ERROR(
      Write(db, "INSERT INTO organisations (name, admin, created_at) VALUES (?, ?, ?)",
            organisation.name, organisation.admin, write.now()));
  int64_t id = sqlite3_last_insert_rowid(db);
  PARLEY_RETURN_IF_ERROR(InsertToken(write, id, token));
  Json details = {
      {"organisation", organisation.name}, {"admin", organisation.admin}, {"token_id", token.id}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "organisation.create", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::StatusOr<std::vector<Organisation>> Store::ListOrganisations() {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(db, "SELECT name, admin, created_at FROM organisations ORDER BY name"));
  std::vector<Organisation> organisations;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    organisations.push_back({statement.Text(0), statement.Bool(1), statement.Int(2)});
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return organisations;
}

absl::StatusOr<ApiToken> Store::GetToken(const std::string& id) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(internal::Transaction transaction,
                          internal::Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::optional<ApiToken> token, FindToken(db, id));
  if (!token.has_value()) {
    return absl::NotFoundError(absl::StrCat("no API token ", Quote(id)));
  }
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return *token;
}

absl::Status Store::IssueToken(const ApiToken& token, const std::string& actor,
                               const std::string& revoke) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_RETURN_IF_ERROR(CheckToken(token));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, "", /*must_exist=*/false));
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> organisation_id,
                          FindOrganisationId(write.db(), token.organisation));
  if (!organisation_id.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("organisation ", Quote(token.organisation), " not found"));
  }
  PARLEY_RETURN_IF_ERROR(InsertToken(write, *organisation_id, token));
  Json details = {{"organisation", token.organisation}, {"token_id", token.id}};
  if (!revoke.empty()) {
    PARLEY_RETURN_IF_ERROR(RevokeIn(write, token.organisation, revoke));
    details["revoked_token_id"] = revoke;
  }
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "token.issue", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

absl::Status Store::RevokeToken(const std::string& organisation, const std::string& id,
                                const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, "", /*must_exist=*/false));
  PARLEY_RETURN_IF_ERROR(RevokeIn(write, organisation, id));
  Json details = {{"organisation", organisation}, {"token_id", id}};
  PARLEY_RETURN_IF_ERROR(write.Append(actor, "token.revoke", details, PolicyEffect::kKeepsPolicy));
  return write.Commit();
}

}  // namespace parley::catalog
