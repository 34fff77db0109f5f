// API types (see api/types.h for the conventions every type follows): Analysis templates: create,
// show, list, approve, revoke, run (a run answers like a query run).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/queries.h"

namespace parley::api {

struct TemplateParameter {
  std::string name;
  std::string type;  // "integer" | "number" | "text" | "date" | "boolean"
  std::optional<std::string> default_value;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("type", type);
    v.Optional("default", default_value);
  }
};

struct TableApproval {
  std::string table;
  std::string owner;
  bool approved = false;
  // A saved query result's table: every co-owner (the owners of its inputs and its owner)
  // approves; who has and who has not yet. Absent for other tables.
  std::optional<std::vector<std::string>> approved_by;
  std::optional<std::vector<std::string>> pending;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("owner", owner);
    v.Required("approved", approved);
    v.Optional("approved_by", approved_by);
    v.Optional("pending", pending);
  }
};

struct Template {
  std::string id;  // hex SHA-256 of its content
  std::string name;
  std::string author;
  std::string sql;
  std::vector<TemplateParameter> parameters;
  int64_t created_at = 0;
  std::vector<TableApproval> tables;
  bool altered = false;   // its stored content no longer hashes to its id: it never runs
  bool runnable = false;  // every table approves it and it is not altered
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("name", name);
    v.Required("author", author);
    v.Required("sql", sql);
    v.Required("parameters", parameters);
    v.Required("created_at", created_at);
    v.Required("tables", tables);
    v.Required("altered", altered);
    v.Required("runnable", runnable);
  }
};

struct CreateTemplateRequest {
  std::string collaboration;
  std::string name;
  std::string sql;                      // with :name parameters
  std::vector<std::string> parameters;  // declarations "name:type[=default]" (docs/rules.md)
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("name", name);
    v.Required("sql", sql);
    v.Optional("parameters", parameters);
  }
};
struct TemplateResponse {
  Template template_;
  template <class V>
  void Visit(V& v) {
    v.Required("template", template_);
  }
};
using CreateTemplateResponse = TemplateResponse;

struct ShowTemplateRequest {
  std::string collaboration;
  std::string template_id;  // or a unique prefix
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
  }
};
using ShowTemplateResponse = TemplateResponse;

struct ListTemplatesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListTemplatesResponse {
  std::vector<Template> templates;
  template <class V>
  void Visit(V& v) {
    v.Required("templates", templates);
  }
};

// The owner of `table` (custom rule) approves a template for it, or revokes the approval.
struct TemplateApprovalRequest {
  std::string collaboration;
  std::string template_id;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
    v.Required("table", table);
  }
};
using ApproveTemplateRequest = TemplateApprovalRequest;
using RevokeTemplateRequest = TemplateApprovalRequest;
using ApproveTemplateResponse = TemplateResponse;
using RevokeTemplateResponse = TemplateResponse;

struct RunTemplateRequest {
  std::string collaboration;
  std::string template_id;
  std::map<std::string, std::string> parameters;  // values by name; defaults fill the rest
  std::vector<std::string> receivers;             // empty: the caller
  // Differential privacy, as in RunQueryRequest: an ε, or an accuracy target it is computed from.
  std::optional<std::string> epsilon;
  std::optional<std::string> accuracy;
  std::optional<std::string> confidence;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("template_id", template_id);
    v.Optional("parameters", parameters);
    v.Optional("receivers", receivers);
    v.Optional("epsilon", epsilon);
    v.Optional("accuracy", accuracy);
    v.Optional("confidence", confidence);
  }
};
using RunTemplateResponse = RunResponse;

}  // namespace parley::api
