#include "query/snapshot.h"

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parley::query {

std::shared_ptr<const Snapshot> Snapshot::Build(SnapshotSource source, const Snapshot* previous) {
  std::shared_ptr<Snapshot> snapshot(new Snapshot());
  snapshot->source_ = std::move(source);
  static std::atomic<uint64_t> next_generation{1};
  snapshot->generation_ = next_generation.fetch_add(1, std::memory_order_relaxed);
  policy::EncryptionPolicy& encryption = snapshot->encryption_;
  encryption.collaboration = snapshot->source_.collaboration;
  encryption.preserve_nulls = snapshot->source_.preserve_nulls;
  encryption.allow_joins_on_columns_with_different_names =
      snapshot->source_.allow_joins_on_columns_with_different_names;
  for (const SnapshotTable& table : snapshot->source_.tables) {
    for (const auto& [column, encrypted] : table.encrypted_columns) {
      encryption.tables[absl::AsciiStrToLower(table.name)][absl::AsciiStrToLower(column)] =
          encrypted;
    }
  }
  for (const SnapshotTable& table : snapshot->source_.tables) {
    snapshot->schemas_.push_back(sql::TableSchema{table.name, table.owner, table.columns});
    if (!table.rule_json.has_value()) continue;
    ParsedRule parsed;
    parsed.document = *table.rule_json;
    for (const sql::ColumnInfo& column : table.columns) parsed.columns.push_back(column.name);
    if (previous != nullptr) {
      auto it = previous->rules_.find(table.name);
      if (it != previous->rules_.end() && it->second.document == parsed.document &&
          it->second.columns == parsed.columns) {
        snapshot->rules_[table.name] = it->second;
        continue;
      }
    }
    absl::StatusOr<policy::Rule> rule = policy::ParseRule(parsed.document, parsed.columns);
    if (!rule.ok()) {
      if (snapshot->rules_status_.ok()) {
        snapshot->rules_status_ =
            absl::InternalError(absl::StrCat("the stored rule of table '", table.name,
                                             "' no longer validates: ", rule.status().message()));
      }
      continue;
    }
    parsed.rule = std::make_shared<const policy::Rule>(*std::move(rule));
    snapshot->rules_[table.name] = std::move(parsed);
  }
  return snapshot;
}

const SnapshotMember* Snapshot::FindMember(const std::string& name) const {
  for (const SnapshotMember& member : source_.members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

const SnapshotTemplate* Snapshot::FindTemplate(const std::string& id) const {
  for (const SnapshotTemplate& found : source_.templates) {
    if (found.id == id) return &found;
  }
  return nullptr;
}

const sql::TableSchema* Snapshot::FindTable(std::string_view name) const {
  absl::string_view wanted(name.data(), name.size());
  for (const sql::TableSchema& schema : schemas_) {
    if (absl::EqualsIgnoreCase(schema.name, wanted)) return &schema;
  }
  return nullptr;
}

const policy::Rule* Snapshot::RuleFor(const std::string& table) const {
  auto it = rules_.find(table);
  return it == rules_.end() ? nullptr : it->second.rule.get();
}

}  // namespace parley::query
