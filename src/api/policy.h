// API types (see api/types.h for the conventions every type follows): The policy summary: what the
// caller may ask of each table, before asking.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/tables.h"

namespace parley::api {

struct TablePolicy {
  std::string table;
  std::string owner;
  std::vector<Column> columns;
  std::optional<nlohmann::json> rule;  // absent: no rule yet, the table cannot be queried
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("owner", owner);
    v.Required("columns", columns);
    v.Optional("rule", rule);
  }
};

struct TemplateName {
  std::string id;
  std::string name;
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("name", name);
  }
};

struct PolicyRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
// What the caller may ask of each table, merged across tables (see service::PolicyView).
struct PolicyResponse {
  std::string collaboration;
  std::string member;
  std::vector<std::string> abilities;
  std::vector<TablePolicy> tables;
  std::vector<std::string> aggregation_scalar_functions;
  std::vector<std::string> aggregation_join_operators;
  std::vector<std::string> list_join_operators;
  std::vector<std::string> free_form_custom_tables;
  std::vector<TemplateName> runnable_templates;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("member", member);
    v.Required("abilities", abilities);
    v.Required("tables", tables);
    v.Required("aggregation_scalar_functions", aggregation_scalar_functions);
    v.Required("aggregation_join_operators", aggregation_join_operators);
    v.Required("list_join_operators", list_join_operators);
    v.Required("free_form_custom_tables", free_form_custom_tables);
    v.Required("runnable_templates", runnable_templates);
  }
};

}  // namespace parley::api
