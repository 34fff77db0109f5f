// Runs the declarative policy corpus in tests/policy_corpus/*.test (format: README.md there).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "policy/verdict.h"
#include "query/compile.h"
#include "query/snapshot.h"
#include "sql/duckdb_types.h"

namespace parley {
namespace {

struct CorpusCase {
  std::string file;
  int line = 0;
  std::string name;
  std::string runner;
  std::string template_id;             // "template ID": the query runs as that analysis template
  std::vector<std::string> receivers;  // "receivers a,b"
  std::string sql;
  std::string outcome;                // "allowed", "rejected", "error"
  std::vector<std::string> expected;  // rendered SQL / violation lines / error message
};

struct CorpusFile {
  std::map<std::string, sql::TableSchema> tables;
  std::map<std::string, std::string> rules;
  std::vector<CorpusCase> cases;
  // Client-side encryption: "  email VARCHAR fingerprint [KEY]" / "sealed [KEY]" columns, and
  // "encryption preserve_nulls,allow_joins_on_columns_with_different_names" settings.
  std::map<std::string, std::map<std::string, policy::EncryptedColumn>> encrypted;
  bool preserve_nulls = false;
  bool different_names = false;
};

std::string CorpusDir() {
  const char* source = std::getenv("PARLEY_SOURCE_DIR");
  return std::string(source ? source : PARLEY_SOURCE_DIR_DEFAULT) + "/tests/policy_corpus";
}

// Parses one corpus file; malformed files fail loudly rather than skipping cases.
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

// The corpus file as a collaboration snapshot: its tables (allowed columns only) and rules.
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

struct LoadedCase {
  std::shared_ptr<CorpusFile> file;
  size_t index;
};

std::vector<LoadedCase> LoadAll() {
  std::vector<LoadedCase> all;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(CorpusDir())) {
    if (entry.path().extension() == ".test") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    auto file = std::make_shared<CorpusFile>(ParseCorpus(path.string()));
    for (size_t i = 0; i < file->cases.size(); ++i) all.push_back({file, i});
  }
  return all;
}

// What the corpus records for a violation: code table column clause line:column.
std::string ViolationLine(const policy::Violation& v) {
  std::string position = "-";
  if (!v.position.empty()) {
    // "line 1, column 8" → "1:8"
    std::vector<std::string> parts = absl::StrSplit(v.position, ' ');
    position = absl::StrCat(absl::StripSuffix(parts[1], ","), ":", parts[3]);
  }
  auto dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  std::string table = v.table;
  std::replace(table.begin(), table.end(), ' ', '_');
  return absl::StrCat(v.code, " ", dash(table), " ", dash(v.column), " ",
                      dash(std::string(absl::StrReplaceAll(v.clause, {{" ", "_"}}))), " ",
                      position);
}

// For each expected violation line, whether an "= <message>" line follows it.
std::vector<bool> MessagePins(const std::vector<std::string>& expected) {
  std::vector<bool> pins;
  for (const std::string& line : expected) {
    if (line.starts_with("= ")) {
      if (!pins.empty()) pins.back() = true;
    } else {
      pins.push_back(false);
    }
  }
  return pins;
}

class PolicyCorpus : public testing::TestWithParam<LoadedCase> {};

TEST_P(PolicyCorpus, Case) {
  const CorpusFile& file = *GetParam().file;
  const CorpusCase& c = file.cases[GetParam().index];
  SCOPED_TRACE(absl::StrCat(c.file, ".test:", c.line, ": ", c.name));
  std::shared_ptr<const query::Snapshot> snapshot = SnapshotOf(file);
  ASSERT_TRUE(snapshot->rules_status().ok()) << snapshot->rules_status();
  query::Request request{c.sql, {}, c.runner, c.template_id, c.receivers};
  absl::StatusOr<query::Compiled> compiled = query::Compile(*snapshot, request);
  // The actual outcome, in the corpus's own notation, so a failure shows what to compare.
  std::vector<std::string> actual;
  if (!compiled.ok()) {
    actual.push_back(absl::StrCat("error ", compiled.status().message()));
  } else if (compiled->verdict.allowed()) {
    actual.push_back("allowed");
    actual.push_back(compiled->plan.rendered_sql);
  } else {
    actual.push_back("rejected");
    // A violation line may be followed by "= <message>" to pin its exact message too.
    const std::vector<policy::Violation>& violations = compiled->verdict.violations;
    std::vector<bool> pins = MessagePins(c.expected);
    for (size_t i = 0; i < violations.size(); ++i) {
      actual.push_back(ViolationLine(violations[i]));
      if (i < pins.size() && pins[i]) actual.push_back("= " + violations[i].message);
    }
  }
  std::vector<std::string> expected;
  if (c.outcome != "error") expected.push_back(c.outcome);
  for (const std::string& line : c.expected) {
    expected.push_back(c.outcome == "error" ? "error " + line : line);
  }
  ASSERT_FALSE(c.outcome.empty()) << "case has no outcome";
  ASSERT_FALSE(c.outcome == "allowed" && c.expected.size() != 1)
      << "an allowed case needs exactly one line of rendered SQL";
  if (std::getenv("PARLEY_CORPUS_SHOW") != nullptr) {
    std::cerr << "@@ " << c.file << ".test:" << c.line << "\n"
              << absl::StrJoin(actual, "\n") << "\n";
  }
  EXPECT_EQ(absl::StrJoin(actual, "\n"), absl::StrJoin(expected, "\n"));
}

std::string CaseName(const testing::TestParamInfo<LoadedCase>& info) {
  const CorpusCase& c = info.param.file->cases[info.param.index];
  return absl::StrCat(c.file, "_line", c.line);
}

INSTANTIATE_TEST_SUITE_P(Corpus, PolicyCorpus, testing::ValuesIn(LoadAll()), CaseName);

}  // namespace
}  // namespace parley
