// Analysis templates: creating one (immutable, identified by the SHA-256 of its content) and
// reading them. Their approvals are part of the owners' rules (tables.cc).
#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/internal.h"
#include "catalog/store.h"
#include "catalog/store_impl.h"

namespace parley::catalog {
namespace internal {
namespace {

constexpr const char* kTemplateColumns =
    "SELECT t.template_id, c.name, t.name, t.author, t.sql_text, t.parameters_json, "
    "t.created_at FROM templates t JOIN collaborations c ON c.id = t.collaboration_id ";

AnalysisTemplate ReadTemplate(const Statement& statement) {
  AnalysisTemplate analysis;
  analysis.id = statement.Text(0);
  analysis.collaboration = statement.Text(1);
  analysis.name = statement.Text(2);
  analysis.author = statement.Text(3);
  analysis.sql = statement.Text(4);
  analysis.parameters_json = statement.Text(5);
  analysis.created_at = statement.Int(6);
  return analysis;
}

}  // namespace

absl::StatusOr<std::vector<AnalysisTemplate>> ReadTemplates(sqlite3* db, int64_t collaboration_id) {
  PARLEY_ASSIGN_OR_RETURN(
      Statement statement,
      Statement::Prepare(
          db, absl::StrCat(kTemplateColumns, "WHERE t.collaboration_id = ? ORDER BY t.id")));
  PARLEY_RETURN_IF_ERROR(statement.Bind(collaboration_id));
  std::vector<AnalysisTemplate> templates;
  while (true) {
    PARLEY_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    templates.push_back(ReadTemplate(statement));
  }
  return templates;
}

}  // namespace internal

using internal::CheckPartyName;
using internal::CollaborationWrite;
using internal::Json;
using internal::PolicyEffect;
using internal::Quote;
using internal::Statement;
using internal::Transaction;
using internal::Write;

absl::Status Store::CreateTemplate(const AnalysisTemplate& analysis, const std::string& actor) {
  PARLEY_RETURN_IF_ERROR(CheckPartyName("member", actor));
  if (analysis.id.size() != 64 ||
      analysis.id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return absl::InvalidArgumentError("a template id is 64 lowercase hexadecimal characters");
  }
  PARLEY_ASSIGN_OR_RETURN(CollaborationWrite write,
                          CollaborationWrite::Begin(*impl_, analysis.collaboration));
  sqlite3* db = write.db();
  int64_t now = write.now();
  int64_t collaboration_id = write.id();
  PARLEY_RETURN_IF_ERROR(
      internal::GetMember(db, collaboration_id, analysis.collaboration, actor).status());
  PARLEY_ASSIGN_OR_RETURN(
      Statement existing,
      Statement::Prepare(db,
                         "SELECT 1 FROM templates WHERE collaboration_id = ? AND template_id = ?"));
  PARLEY_RETURN_IF_ERROR(existing.Bind(collaboration_id, analysis.id));
  PARLEY_ASSIGN_OR_RETURN(bool found, existing.Step());
  if (found) {
    return absl::AlreadyExistsError(absl::StrCat("template ", analysis.id.substr(0, 12),
                                                 " already exists in collaboration ",
                                                 Quote(analysis.collaboration)));
  }
  PARLEY_RETURN_IF_ERROR(
      Write(db,
            "INSERT INTO templates (collaboration_id, template_id, name, author, "
            "sql_text, parameters_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            collaboration_id, analysis.id, analysis.name, actor, analysis.sql,
            analysis.parameters_json, now));
  Json details = {{"template_id", analysis.id}, {"name", analysis.name}};
  PARLEY_RETURN_IF_ERROR(
      write.Append(actor, "template.create", details, PolicyEffect::kChangesPolicy));
  return write.Commit();
}

absl::StatusOr<std::vector<AnalysisTemplate>> Store::ListTemplates(
    const std::string& collaboration) {
  sqlite3* db = impl_->handle();
  PARLEY_ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db, /*write=*/false));
  PARLEY_ASSIGN_OR_RETURN(int64_t collaboration_id, internal::CollaborationId(db, collaboration));
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates,
                          internal::ReadTemplates(db, collaboration_id));
  PARLEY_RETURN_IF_ERROR(transaction.Commit());
  return templates;
}

absl::StatusOr<AnalysisTemplate> Store::GetTemplate(const std::string& collaboration,
                                                    const std::string& id_or_prefix) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<AnalysisTemplate> templates, ListTemplates(collaboration));
  std::vector<AnalysisTemplate> matches;
  for (AnalysisTemplate& analysis : templates) {
    if (!id_or_prefix.empty() && analysis.id.compare(0, id_or_prefix.size(), id_or_prefix) == 0) {
      matches.push_back(std::move(analysis));
    }
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("template ", Quote(id_or_prefix),
                                            " not found in collaboration ", Quote(collaboration)));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("template id prefix ", Quote(id_or_prefix),
                                                   " is ambiguous; give more characters"));
  }
  return std::move(matches.front());
}

}  // namespace parley::catalog
