// The printers of analysis templates (`parley template show|list`), split from output.cc.
#include <ostream>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/output.h"

namespace parley::cli {

std::string ShortId(const std::string& template_id) { return template_id.substr(0, 12); }

namespace {

// "(waiting for retailer to approve it for audience, ...)" or "" when runnable.
std::string MissingApprovals(const api::Template& view) {
  std::vector<std::string> missing;
  for (const api::TableApproval& table : view.tables) {
    if (table.approved) continue;
    if (table.pending) {
      for (const std::string& member : *table.pending) {
        missing.push_back(absl::StrCat(member, " for ", table.table));
      }
    } else {
      missing.push_back(absl::StrCat(table.owner, " for ", table.table));
    }
  }
  if (missing.empty()) return "";
  return absl::StrCat(" (not approved by ", absl::StrJoin(missing, ", "), ")");
}

// "approved by hr; pending crm, analyst" for a saved result's table (every co-owner approves).
std::string CoOwnerApprovals(const api::TableApproval& table) {
  auto names = [](const std::optional<std::vector<std::string>>& list) {
    return list && !list->empty() ? absl::StrJoin(*list, ", ") : std::string("none");
  };
  return absl::StrCat("approved by ", names(table.approved_by), "; pending ", names(table.pending));
}

}  // namespace

std::string TemplateSummary(const api::Template& view) {
  std::vector<std::string> tables;
  for (const api::TableApproval& table : view.tables) {
    tables.push_back(table.table);
  }
  size_t count = view.parameters.size();
  return absl::StrCat("template ", view.name, " by ", view.author, ": ", count,
                      count == 1 ? " parameter" : " parameters", ", reads ",
                      absl::StrJoin(tables, ", "), "; runnable: ", view.runnable ? "yes" : "no");
}

void PrintTemplate(std::ostream& out, const api::Template& view) {
  out << "template " << view.id << "\n";
  out << "  name: " << view.name << "\n";
  out << "  author: " << view.author << "\n";
  out << "  created: " << FormatTime(view.created_at) << "\n";
  out << "  sql:\n" << Indented(view.sql, "    ");
  if (view.parameters.empty()) {
    out << "  parameters: none\n";
  } else {
    out << "  parameters:\n";
    size_t name_width = 0;
    size_t type_width = 0;
    for (const api::TemplateParameter& parameter : view.parameters) {
      name_width = std::max(name_width, parameter.name.size());
      type_width = std::max(type_width, parameter.type.size());
    }
    for (const api::TemplateParameter& parameter : view.parameters) {
      out << "    " << Padded(parameter.name, name_width + 2)
          << Padded(parameter.type, type_width + 2)
          << (parameter.default_value ? absl::StrCat("default ", *parameter.default_value)
                                      : std::string("no default"))
          << "\n";
    }
  }
  out << "  tables:\n";
  size_t table_width = 0;
  size_t owner_width = 0;
  for (const api::TableApproval& table : view.tables) {
    table_width = std::max(table_width, table.table.size());
    owner_width = std::max(owner_width, table.owner.size());
  }
  for (const api::TableApproval& table : view.tables) {
    out << "    " << Padded(table.table, table_width + 2) << "owner "
        << Padded(table.owner, owner_width + 2) << "approved: " << (table.approved ? "yes" : "no");
    if (table.pending) out << "  (saved result; co-owners " << CoOwnerApprovals(table) << ")";
    out << "\n";
  }
  out << "  runnable: " << (view.runnable ? "yes" : "no") << MissingApprovals(view) << "\n";
}

void PrintTemplateLine(std::ostream& out, const api::Template& view) {
  out << ShortId(view.id) << "  " << view.name << "  author " << view.author << "  runnable "
      << (view.runnable ? "yes" : "no")
      << (view.altered ? "  ALTERED: content no longer matches its id" : "");
  for (const api::TableApproval& table : view.tables) {
    if (table.pending) out << "  co-owners of " << table.table << ": " << CoOwnerApprovals(table);
  }
  out << "\n";
}

}  // namespace parley::cli
