// Runs the declarative policy corpus in tests/policy_corpus/*.test (format: README.md there).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "corpus_file.h"
#include "policy/verdict.h"
#include "query/compile.h"
#include "query/snapshot.h"
#include "sql/duckdb_types.h"

namespace parley {
namespace {

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
  request.privacy_epsilon = c.privacy_epsilon;
  request.privacy_delta = c.privacy_delta;
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
