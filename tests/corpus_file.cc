#include "corpus_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "sql/duckdb_types.h"

namespace parley {

std::string CorpusDir() {
  const char* source = std::getenv("PARLEY_SOURCE_DIR");
  return std::string(source ? source : PARLEY_SOURCE_DIR_DEFAULT) + "/tests/policy_corpus";
}

CorpusFile ParseCorpus(const std::string& path) {
  CorpusFile file;
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  std::string name = std::filesystem::path(path).stem().string();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string current = lines[i];
    if (current.empty() || current[0] == '#') continue;
    std::vector<std::string> words = absl::StrSplit(current, ' ', absl::SkipEmpty());
    if (words[0] == "table") {
      sql::TableSchema table{words[1], words.size() > 3 ? words[3] : "", {}};
      while (i + 1 < lines.size() && lines[i + 1].starts_with("  ")) {
        std::vector<std::string> column = absl::StrSplit(lines[++i], ' ', absl::SkipEmpty());
        // A `hidden` column exists in the source but is not an allowed column: the binder never
        // sees it, as the catalog hides it.
        if (column.size() > 2 && column[2] == "hidden") continue;
        if (column.size() > 2 && (column[2] == "fingerprint" || column[2] == "sealed")) {
          file.encrypted[words[1]][column[0]] = policy::EncryptedColumn{
              column[2] == "sealed" ? policy::ColumnEncryption::kSealed
                                    : policy::ColumnEncryption::kFingerprint,
              column.size() > 3 ? column[3] : "key"};
        }
        // Column types are declared as DuckDB names, as the catalog pins them.
        absl::StatusOr<sql::Type> type = sql::ParseDuckDbTypeName(column[1]);
        if (!type.ok()) {
          ADD_FAILURE() << path << ": column " << column[0] << ": " << type.status();
          continue;
        }
        table.columns.push_back({column[0], *type});
      }
      file.tables[table.name] = table;
    } else if (words[0] == "rule") {
      file.rules[words[1]] = lines[++i];
    } else if (words[0] == "encryption") {
      file.preserve_nulls = absl::StrContains(current, "preserve_nulls");
      file.different_names =
          absl::StrContains(current, "allow_joins_on_columns_with_different_names");
    } else if (words[0] == "case") {
      CorpusCase c;
      c.file = name;
      c.line = static_cast<int>(i + 1);
      c.name = current.substr(5);
      while (++i < lines.size() && !lines[i].empty()) {
        const std::string& l = lines[i];
        if (l.starts_with("runner ")) {
          c.runner = l.substr(7);
        } else if (l.starts_with("template ")) {
          c.template_id = l.substr(9);
        } else if (l.starts_with("receivers ")) {
          c.receivers = absl::StrSplit(l.substr(10), ',', absl::SkipEmpty());
        } else if (l.starts_with("privacy ")) {
          std::vector<std::string> parts = absl::StrSplit(l.substr(8), ' ', absl::SkipEmpty());
          if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.privacy_epsilon) ||
              !absl::SimpleAtoi(parts[1], &c.privacy_delta)) {
            ADD_FAILURE() << name << ":" << i + 1 << ": privacy takes EPSILON DELTA (integers)";
          }
        } else if (l == "sql") {
          std::string text;
          while (++i < lines.size() && lines[i] != "----") {
            if (!text.empty()) text += "\n";
            text += lines[i];
          }
          c.sql = text;
        } else if (l == "allowed" || l == "rejected") {
          c.outcome = l;
        } else if (l.starts_with("error ")) {
          c.outcome = "error";
          c.expected.push_back(l.substr(6));
        } else {
          c.expected.push_back(l);
        }
      }
      file.cases.push_back(std::move(c));
    } else {
      ADD_FAILURE() << path << ":" << i + 1 << ": unknown corpus directive '" << words[0] << "'";
    }
  }
  return file;
}

std::shared_ptr<const query::Snapshot> SnapshotOf(const CorpusFile& file) {
  query::SnapshotSource source;
  source.collaboration = "corpus";
  for (const auto& [name, table] : file.tables) {
    query::SnapshotTable entry{table.name, table.owner, table.columns, std::nullopt};
    if (auto rule = file.rules.find(name); rule != file.rules.end()) entry.rule_json = rule->second;
    if (auto encrypted = file.encrypted.find(name); encrypted != file.encrypted.end()) {
      entry.encrypted_columns = encrypted->second;
    }
    source.tables.push_back(std::move(entry));
  }
  source.preserve_nulls = file.preserve_nulls;
  source.allow_joins_on_columns_with_different_names = file.different_names;
  return query::Snapshot::Build(std::move(source));
}

}  // namespace parley
