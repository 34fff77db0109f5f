// API types (see api/types.h for the conventions every type follows): Tables and their rules: add,
// list, show a table; set its rule. A table is metadata, never rows.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

struct Column {
  std::string name;
  std::string type;
  // Client-side encryption (docs/formats/encrypted-columns.md), found in the cells when the table
  // was added: "fingerprint", "sealed" or "cleartext" for every column of a table that has an
  // encrypted column; absent for the columns of a table without one.
  std::optional<std::string> encryption;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("type", type);
    v.Optional("encryption", encryption);
  }
};

// What a member sees of a table: metadata, never rows. `location` (the server-side path or glob
// of its source) is present only in responses to the table's owner; for every other member the
// field is absent. `rule` is the rule document as a JSON object, absent while no rule is set.
struct Table {
  std::string name;
  std::string owner;
  std::string kind;  // the source kind: "csv" | "parquet" | "postgres"
  std::optional<std::string> location;
  std::vector<Column> columns;  // the allowed columns with their pinned types
  std::optional<nlohmann::json> rule;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("owner", owner);
    v.Required("kind", kind);
    v.Optional("location", location);
    v.Required("columns", columns);
    v.Optional("rule", rule);
  }
};

struct AddTableRequest {
  std::string collaboration;
  std::string table;
  std::string source;                // a path or glob readable by the server (files)
  std::vector<std::string> columns;  // the allowed columns; empty means every column
  // How a CSV or JSON-lines file is read (docs/sources.md): an object with any of "delimiter",
  // "quote", "escape", "header", "null_strings", "date_format", "timestamp_format", "types".
  // Absent: detected when the table is added, then pinned. Only with `source` (not `kind`).
  std::optional<nlohmann::json> options;
  // true: every check runs and the response carries the source's first rows (the caller's own
  // data); nothing is added.
  std::optional<bool> preview;
  // Another kind of source than files: "postgres", with its description, e.g.
  // {"conninfo": "service=warehouse", "relation": "crm.customers"} (docs/sources.md). Absent
  // for files (then `source` is the path).
  std::optional<std::string> kind;
  std::optional<nlohmann::json> description;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
    v.Optional("source", source);
    v.Optional("columns", columns);
    v.Optional("kind", kind);
    v.Optional("description", description);
    v.Optional("options", options);
    v.Optional("preview", preview);
  }
};
// The first rows of a source, for its owner's preview: text, null for SQL NULL.
struct SourceSample {
  std::vector<Column> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  template <class V>
  void Visit(V& v) {
    v.Required("columns", columns);
    v.Required("rows", rows);
  }
};
struct AddTableResponse {
  Table table;
  std::optional<SourceSample> preview;  // present for a preview (then nothing was added)
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Optional("preview", preview);
  }
};
struct TableResponse {
  Table table;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
  }
};

struct ListTablesRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListTablesResponse {
  std::vector<Table> tables;
  template <class V>
  void Visit(V& v) {
    v.Required("tables", tables);
  }
};

struct ShowTableRequest {
  std::string collaboration;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
  }
};
using ShowTableResponse = TableResponse;

// The owner sets its table's rule: a JSON object (docs/rules.md); the response shows the table
// with the rule as stored.
// With `dry_run` true every check runs and nothing is stored (the console validates as one
// types); the response then shows the table with the rule as sent.
struct SetRuleRequest {
  std::string collaboration;
  std::string table;
  nlohmann::json rule;
  std::optional<bool> dry_run;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
    v.Required("rule", rule);
    v.Optional("dry_run", dry_run);
  }
};
using SetRuleResponse = TableResponse;

// The owner repoints a table to a new source of the same schema (`options` as in AddTable;
// absent: the table's own, as pinned); the response shows the table.
struct UpdateTableRequest {
  std::string collaboration;
  std::string table;
  std::string source;
  std::optional<nlohmann::json> options;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
    v.Required("source", source);
    v.Optional("options", options);
  }
};
using UpdateTableResponse = TableResponse;

// The owner removes a table.
struct RemoveTableRequest {
  std::string collaboration;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
  }
};
struct RemoveTableResponse {
  std::string collaboration;
  std::string table;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("table", table);
  }
};

}  // namespace parley::api
