// The policy corpus's file format (tests/policy_corpus/README.md): parsing a .test file and
// turning its tables and rules into a collaboration snapshot. Shared by the corpus runner
// (policy_corpus_test.cc) and its engine mode (clickhouse_corpus_test.cc), which runs the allowed
// cases on two engines.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/encryption_check.h"
#include "query/snapshot.h"
#include "sql/ir.h"

namespace parley {

struct CorpusCase {
  std::string file;
  int line = 0;
  std::string name;
  std::string runner;
  std::string template_id;             // "template ID": the query runs as that analysis template
  std::vector<std::string> receivers;  // "receivers a,b"
  // "privacy EPSILON DELTA": the collaboration's privacy budget for the query (dp/budget.h fixed
  // point: ε in millionths, δ in 10^-15); 0 0 when absent (no budget).
  int64_t privacy_epsilon = 0;
  int64_t privacy_delta = 0;
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

// tests/policy_corpus, under PARLEY_SOURCE_DIR.
std::string CorpusDir();

// Parses one corpus file; malformed files fail loudly (ADD_FAILURE) rather than skipping cases.
CorpusFile ParseCorpus(const std::string& path);

// The corpus file as a collaboration snapshot: its tables (allowed columns only) and rules.
std::shared_ptr<const query::Snapshot> SnapshotOf(const CorpusFile& file);

}  // namespace parley
