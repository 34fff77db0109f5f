// The collaboration snapshot: everything the query compiler needs to judge a query — members,
// tables with their typed allowed columns, each table's rule parsed, and the analysis templates —
// taken from one read of the catalog and never changed afterwards.
//
// Why a snapshot: a query must be judged against one consistent policy state (the one whose
// digest is compared again at delivery), and parsing rules for every query is wasted work when
// the policy rarely changes. A Snapshot is immutable once built, so one instance can be shared
// by many concurrent queries (`std::shared_ptr<const Snapshot>`), and a caller may keep it for
// as long as the catalog's policy digest is unchanged.
//
// This module does not read the catalog itself (it sits beside `catalog`, not above it): a
// loader reads the records in one read transaction and hands them over as a SnapshotSource.
//
// Example:
//   query::SnapshotSource source = ...;  // from Store::GetPolicySnapshot
//   PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<const query::Snapshot> snapshot,
//                           query::Snapshot::Build(std::move(source)));
//   PARLEY_ASSIGN_OR_RETURN(query::Compiled compiled, query::Compile(*snapshot, request));
//
// Thread safety: a built Snapshot is immutable; any number of threads may use it at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "policy/checker.h"
#include "policy/rule.h"
#include "sql/ir.h"

namespace parley::query {

struct SnapshotMember {
  std::string name;
  bool can_query = false;
  bool can_receive = false;
  bool active = true;
};

struct SnapshotTable {
  std::string name;
  std::string owner;
  // The columns a query may reference (the allowed columns), with their pinned types.
  std::vector<sql::ColumnInfo> columns;
  // The rule document (canonical JSON), if the table has one.
  std::optional<std::string> rule_json;
  // Its encrypted columns (client-side encryption), by column name; the others are cleartext.
  std::map<std::string, policy::EncryptedColumn> encrypted_columns;
};

struct SnapshotTemplate {
  std::string id;
  std::string name;
  std::string author;
  std::string sql;
  std::string parameters_json;
};

// What a loader read from the catalog, in one read transaction.
struct SnapshotSource {
  std::string collaboration;
  // The catalog's digest of this policy state (catalog::PolicyStateDigest); empty where there is
  // no catalog (the policy corpus, fuzzers and benchmarks build snapshots by hand).
  std::string digest;
  std::vector<SnapshotMember> members;
  // Only the tables queries may read: a loader leaves out the tables of members who are not
  // active, so that they are unknown to the binder.
  std::vector<SnapshotTable> tables;
  std::vector<SnapshotTemplate> templates;
  // Client-side encryption's settings that act on queries.
  bool preserve_nulls = false;
  bool allow_joins_on_columns_with_different_names = false;
};

class Snapshot : public sql::SchemaProvider, public policy::RuleProvider {
 public:
  // Builds a snapshot, parsing each table's rule against its allowed columns. A rule that does
  // not parse does not fail the build (the catalog accepted it once; a later version of Parley
  // may judge it differently): it makes `rules_status()` Internal, naming the table, and every
  // Compile on this snapshot returns that error. When `previous` is given, the parsed rules of
  // tables whose rule document and allowed columns are unchanged are taken from it rather than
  // parsed again ("parsed once per rule version").
  static std::shared_ptr<const Snapshot> Build(SnapshotSource source,
                                               const Snapshot* previous = nullptr);

  const std::string& collaboration() const { return source_.collaboration; }
  // This snapshot's identity: unique among the snapshots built in this process, never reused
  // (a counter, not an address), so that what was derived from one snapshot (query::PlanCache)
  // is never taken for what another would give.
  uint64_t generation() const { return generation_; }
  const std::string& digest() const { return source_.digest; }
  const std::vector<SnapshotMember>& members() const { return source_.members; }
  const std::vector<SnapshotTable>& tables() const { return source_.tables; }
  const std::vector<SnapshotTemplate>& templates() const { return source_.templates; }
  const SnapshotMember* FindMember(const std::string& name) const;
  const SnapshotTemplate* FindTemplate(const std::string& id) const;
  // OK, or Internal naming the first table whose stored rule no longer validates.
  const absl::Status& rules_status() const { return rules_status_; }

  // sql::SchemaProvider: tables by name, case-insensitively.
  const sql::TableSchema* FindTable(std::string_view name) const override;
  // policy::RuleProvider: the parsed rule of a table (exact catalog name), or nullptr.
  const policy::Rule* RuleFor(const std::string& table) const override;
  const policy::EncryptionPolicy* Encryption() const override {
    return encryption_.empty() ? nullptr : &encryption_;
  }

 private:
  Snapshot() = default;

  struct ParsedRule {
    std::string document;              // the rule version it was parsed from
    std::vector<std::string> columns;  // against these allowed columns
    std::shared_ptr<const policy::Rule> rule;
  };

  SnapshotSource source_;
  uint64_t generation_ = 0;
  std::vector<sql::TableSchema> schemas_;  // one per table, in source_.tables order
  std::map<std::string, ParsedRule> rules_;
  absl::Status rules_status_;
  policy::EncryptionPolicy encryption_;
};

}  // namespace parley::query
