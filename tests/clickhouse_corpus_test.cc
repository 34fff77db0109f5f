// The policy corpus's engine mode: every case the corpus expects to be allowed is compiled for
// DuckDB and for ClickHouse, run on both engines over the same generated rows — DuckDB reading
// them from files, ClickHouse from Distributed tables sharded over a 2-node cluster — and must
// give identical rows. A case the clickhouse dialect cannot express must be refused with its
// reason ("the clickhouse engine cannot run …"), never run to something else.
//
// Rows are generated per table from column names and types (tests/policy_corpus declares no
// data): join columns of the same name share one domain so joins match, dimensions have few
// values so groups pass and fail thresholds, one row in 13 is NULL, reals are multiples of 0.25 so
// sums are exact in any order. Tables are sharded by their row identity, so no join is
// co-located: every join of the corpus exercises GLOBAL JOIN.
//
// PARLEY_CORPUS_SHOW=1 prints each case's outcome and the ClickHouse SQL.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "base/status_testing.h"
#include "corpus_file.h"
#include "dp/noise.h"
#include "dp/seeded_random_source.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "engine/duckdb/duckdb_engine.h"
#include "query/compile.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "sql/duckdb_types.h"
#include "support/clickhouse_cluster.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using testing::ClickHouseCluster;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

constexpr int kRows = 3000;

std::string ClickHouseType(const sql::Type& type) {
  switch (type.kind()) {
    case sql::TypeKind::kBoolean:
      return "UInt8";
    case sql::TypeKind::kTinyint:
      return "Int8";
    case sql::TypeKind::kSmallint:
      return "Int16";
    case sql::TypeKind::kInteger:
      return "Int32";
    case sql::TypeKind::kBigint:
      return "Int64";
    case sql::TypeKind::kHugeint:
      return "Decimal(38, 0)";  // as the dialect stands in for HUGEINT
    case sql::TypeKind::kDouble:
      return "Float64";
    case sql::TypeKind::kFloat:
      return "Float32";
    case sql::TypeKind::kDecimal:
      return absl::StrCat("Decimal(", type.width(), ", ", type.scale(), ")");
    case sql::TypeKind::kVarchar:
      return "String";
    case sql::TypeKind::kDate:
      return "Date";
    case sql::TypeKind::kTimestamp:
      return "DateTime";
    default:
      return "";
  }
}

uint32_t NameHash(const std::string& name) {
  uint32_t h = 2166136261u;
  for (char c : absl::AsciiStrToLower(name)) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h % 997;
}

// A value of column `name` of `type` on row `i`; nullopt for NULL.
std::optional<std::string> Value(const std::string& name, const sql::Type& type, int i) {
  if (i % 13 == 5) return std::nullopt;
  std::string lower = absl::AsciiStrToLower(name);
  bool key = absl::StrContains(lower, "id") || absl::StrContains(lower, "email") ||
             absl::StrContains(lower, "key");
  uint32_t h = NameHash(name);
  int64_t wide = (static_cast<int64_t>(i) * 7919 + 13) % 600;  // same domain for same-named keys
  switch (type.kind()) {
    case sql::TypeKind::kBoolean:
      return std::string((i + h) % 3 == 0 ? "1" : "0");
    case sql::TypeKind::kTinyint:
    case sql::TypeKind::kSmallint:
    case sql::TypeKind::kInteger:
    case sql::TypeKind::kBigint:
    case sql::TypeKind::kHugeint:
      return absl::StrCat(key ? wide : static_cast<int64_t>((i + h) % 3 + 1));
    case sql::TypeKind::kDouble:
    case sql::TypeKind::kFloat:
      return absl::StrCat(((i * 37 + h) % 400) * 0.25);
    case sql::TypeKind::kDecimal: {
      int digits = std::min(3, type.width() - type.scale());
      int64_t whole = (i * 37 + h) % static_cast<int64_t>(std::pow(10, digits));
      if (type.scale() == 0) return absl::StrCat(whole);
      std::string fraction = absl::StrFormat("%02d", (i * 13) % 100).substr(0, type.scale());
      fraction.resize(type.scale(), '0');
      return absl::StrCat(whole, ".", fraction);
    }
    case sql::TypeKind::kVarchar:
      return key ? absl::StrCat("k", wide) : absl::StrCat("v", (i + h) % 3);
    case sql::TypeKind::kDate:
    case sql::TypeKind::kTimestamp: {
      int day = (i * 7 + h) % 90;
      int month = day / 30 + 1;
      std::string date = absl::StrFormat("2024-%02d-%02d", month, day % 28 + 1);
      if (type.kind() == sql::TypeKind::kDate) return date;
      return absl::StrFormat("%s %02d:00:00", date, (i + h) % 24);
    }
    default:
      return std::nullopt;
  }
}

// One corpus file loaded into both engines.
struct LoadedFile {
  std::string skipped;                    // why its cases cannot run ("" when loaded)
  std::vector<engine::SourceView> views;  // DuckDB: the files
  render::ClickHouseLayout layout;
};

struct Counts {
  int equal = 0;
  int private_equal = 0;  // of them, differentially private (exact and noisy rows equal)
  int refused = 0;
  std::map<std::string, int> reasons;
};

// The cluster, both engines and the files loaded so far, for the one test below.
class ClickHouseCorpus {
 public:
  // A case that crashes a node (18.16 has such shapes) is a mismatch, and the next case gets a new
  // cluster. Returns whether a node had died.
  static bool RestartIfANodeDied() {
    for (int node = 0; node < cluster_->shards(); ++node) {
      if (!cluster_->Query(node, "SELECT 1").ok()) {
        delete clickhouse_;
        delete cluster_;
        loaded_.clear();
        StartCluster();
        return true;
      }
    }
    return false;
  }

  static void StartCluster() {
    auto started = ClickHouseCluster::Start(2);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
    directory_ = cluster_->directory() + "/corpus";
    fs::create_directories(directory_);
    auto connected = engine::clickhouse::ClickHouseEngine::Connect(
        {cluster_->HttpUrl(0), ClickHouseCluster::kDatabase, ClickHouseCluster::kReader,
         Secret(cluster_->reader_password())});
    ASSERT_TRUE(connected.ok()) << connected.status();
    clickhouse_ = connected->release();
    if (duckdb_ == nullptr) {
      duckdb_ = new engine::duckdb::DuckDbEngine(engine::duckdb::DuckDbEngine::Options{});
    }
  }
  static void Finish() {
    std::cerr << "clickhouse corpus: " << counts_.equal << " cases equal on both engines ("
              << counts_.private_equal << " with differential privacy), " << counts_.refused
              << " refused by the clickhouse dialect\n";
    for (const auto& [reason, n] : counts_.reasons)
      std::cerr << "  " << n << "  " << reason << "\n";
    delete clickhouse_;
    delete duckdb_;
    delete cluster_;
  }

  static const LoadedFile& Load(const CorpusFile& file, const std::string& name) {
    auto found = loaded_.find(name);
    if (found != loaded_.end()) return found->second;
    LoadedFile& loaded = loaded_[name];
    loaded.layout.database = ClickHouseCluster::kDatabase;
    for (const auto& [table_name, table] : file.tables) {
      std::vector<std::string> duck_columns, ch_columns;
      for (const sql::ColumnInfo& column : table.columns) {
        std::string type = ClickHouseType(column.type);
        if (type.empty()) {
          loaded.skipped = absl::StrCat("column ", table_name, ".", column.name, " of type ",
                                        column.type.ToString(), " has no generator");
          return loaded;
        }
        duck_columns.push_back(
            absl::StrCat("'", column.name, "': '", sql::DuckDbTypeName(column.type), "'"));
        ch_columns.push_back(absl::StrCat("\"", column.name, "\" Nullable(", type, ")"));
      }
      duck_columns.push_back(absl::StrCat("'", kRowIdColumn, "': 'BIGINT'"));
      ch_columns.push_back(absl::StrCat(kRowIdColumn, " Int64"));
      std::string tsv;
      for (int i = 0; i < kRows; ++i) {
        std::vector<std::string> fields;
        for (const sql::ColumnInfo& column : table.columns) {
          std::optional<std::string> value = Value(column.name, column.type, i);
          if (value && column.type.kind() == sql::TypeKind::kBoolean) {
            value = *value == "1" ? "true" : "false";
          }
          fields.push_back(value.value_or("\\N"));
        }
        fields.push_back(absl::StrCat(i + 1));
        absl::StrAppend(&tsv, absl::StrJoin(fields, "\t"), "\n");
      }
      std::string path = absl::StrCat(directory_, "/", name, "__", table_name, ".tsv");
      std::ofstream(path) << tsv;
      loaded.views.push_back(engine::SourceView{
          table_name,
          absl::StrCat("SELECT * FROM read_csv('", path,
                       "', delim='\\t', header=false, nullstr='\\N', auto_detect=false, "
                       "columns={",
                       absl::StrJoin(duck_columns, ", "), "})"),
          {path},
          {},
          {},
          nullptr});
      std::string distributed = absl::StrCat(name, "__", table_name);
      std::string local = distributed + "_local";
      absl::Status created = cluster_->ExecuteOnEach(
          {absl::StrCat("CREATE TABLE rooms.\"", local, "\" (", absl::StrJoin(ch_columns, ", "),
                        ") ENGINE = MergeTree ORDER BY ", kRowIdColumn),
           absl::StrCat("CREATE TABLE rooms.\"", distributed, "\" AS rooms.\"", local,
                        "\" ENGINE = Distributed(parley, rooms, \"", local, "\", sipHash64(",
                        kRowIdColumn, "))")});
      if (!created.ok()) {
        loaded.skipped = std::string(created.message());
        return loaded;
      }
      // ClickHouse reads booleans as 1/0.
      std::string ch_tsv = tsv;
      for (const char* word : {"true", "false"}) {
        size_t at = 0;
        while ((at = ch_tsv.find(word, at)) != std::string::npos) {
          ch_tsv.replace(at, std::strlen(word), word[0] == 't' ? "1" : "0");
        }
      }
      absl::Status inserted = cluster_->Execute(
          0, absl::StrCat("INSERT INTO rooms.\"", distributed, "\" FORMAT TabSeparated\n", ch_tsv));
      if (!inserted.ok()) {
        loaded.skipped = std::string(inserted.message());
        return loaded;
      }
      loaded.layout.tables[absl::AsciiStrToLower(table_name)] = {distributed, local, kRowIdColumn,
                                                                 true};
    }
    return loaded;
  }

  static Counts& counts() { return counts_; }
  static engine::duckdb::DuckDbEngine& duckdb() { return *duckdb_; }
  static engine::clickhouse::ClickHouseEngine& clickhouse() { return *clickhouse_; }

 private:
  static ClickHouseCluster* cluster_;
  static engine::clickhouse::ClickHouseEngine* clickhouse_;
  static engine::duckdb::DuckDbEngine* duckdb_;
  static std::string directory_;
  static std::map<std::string, LoadedFile> loaded_;
  static Counts counts_;
};

ClickHouseCluster* ClickHouseCorpus::cluster_ = nullptr;
engine::clickhouse::ClickHouseEngine* ClickHouseCorpus::clickhouse_ = nullptr;
engine::duckdb::DuckDbEngine* ClickHouseCorpus::duckdb_ = nullptr;
std::string ClickHouseCorpus::directory_;
std::map<std::string, LoadedFile> ClickHouseCorpus::loaded_;
Counts ClickHouseCorpus::counts_;

// A value as both engines' text should agree: reals compared as numbers (DuckDB prints 5.0 where
// ClickHouse prints 5), booleans as 1/0.
std::string Normal(const std::optional<std::string>& value, const std::string& type) {
  if (!value) return "NULL";
  if (type == "BOOLEAN") return *value == "true" ? "1" : *value == "false" ? "0" : *value;
  if (type == "DOUBLE" || type == "FLOAT") {
    double number = 0;
    if (absl::SimpleAtod(*value, &number)) return absl::StrFormat("%.12g", number);
  }
  return *value;
}

std::vector<std::string> Normalised(const engine::ResultTable& table, bool sort) {
  std::vector<std::string> rows;
  for (const auto& row : table.rows) {
    std::vector<std::string> values;
    for (size_t i = 0; i < row.size(); ++i) values.push_back(Normal(row[i], table.columns[i].type));
    rows.push_back(absl::StrJoin(values, " | "));
  }
  if (sort) std::sort(rows.begin(), rows.end());
  return rows;
}

// One case: "" when both engines give the same rows (or the dialect refuses with its reason, or
// the case cannot run here); otherwise what differs.
std::string RunCase(const CorpusFile& file, const CorpusCase& c) {
  const LoadedFile& loaded = ClickHouseCorpus::Load(file, c.file);
  if (!loaded.skipped.empty()) return "";
  std::shared_ptr<const query::Snapshot> snapshot = SnapshotOf(file);
  query::Request request{c.sql, {}, c.runner, c.template_id, c.receivers};
  request.privacy_epsilon = c.privacy_epsilon;
  request.privacy_delta = c.privacy_delta;
  absl::StatusOr<query::Compiled> duck = query::Compile(*snapshot, request);
  if (!duck.ok()) return absl::StrCat("DuckDB compile: ", duck.status().ToString());
  if (!duck->verdict.allowed()) return "";  // not allowed outside the corpus runner's context
  render::ClickHouseDialect dialect(loaded.layout);
  request.dialect = &dialect;
  absl::StatusOr<query::Compiled> clickhouse = query::Compile(*snapshot, request);
  Counts& counts = ClickHouseCorpus::counts();
  if (!clickhouse.ok()) {
    if (!absl::StartsWith(clickhouse.status().message(), "the clickhouse engine cannot run ")) {
      return absl::StrCat("refused without the dialect's reason: ", clickhouse.status().ToString());
    }
    std::string reason(clickhouse.status().message());
    reason = reason.substr(0, reason.find(" (at character"));
    counts.refused++;
    counts.reasons[reason]++;
    if (std::getenv("PARLEY_CORPUS_SHOW")) std::cerr << "@@ refused: " << reason << "\n";
    return "";
  }
  if (!clickhouse->verdict.allowed()) return "allowed on DuckDB, not for the clickhouse dialect";
  const std::string& sql = clickhouse->plan.rendered_sql;
  if (std::getenv("PARLEY_CORPUS_SHOW")) {
    std::cerr << "@@ " << c.file << ".test:" << c.line << "\n" << sql << "\n";
  }
  absl::StatusOr<engine::ResultTable> expected =
      ClickHouseCorpus::duckdb().Run(engine::Plan{duck->plan.rendered_sql, loaded.views});
  absl::StatusOr<engine::ResultTable> actual =
      ClickHouseCorpus::clickhouse().Run(engine::Plan{sql, {}});
  if (!expected.ok()) {
    // A run that fails on DuckDB (a guarded error surfacing) must fail on ClickHouse too.
    if (actual.ok())
      return absl::StrCat("DuckDB failed (", expected.status().ToString(), "), ClickHouse did not");
    return "";
  }
  if (!actual.ok()) return absl::StrCat(actual.status().ToString(), "\n", sql);
  if (actual->columns.size() != expected->columns.size()) return "different columns";
  for (size_t i = 0; i < expected->columns.size(); ++i) {
    if (actual->columns[i].name != expected->columns[i].name) {
      return absl::StrCat("column ", i + 1, " is '", actual->columns[i].name, "', not '",
                          expected->columns[i].name, "'");
    }
  }
  if (duck->plan.noise.has_value()) {
    // Differential privacy: the bounded plan's exact rows must be equal in order (the noise is
    // drawn row by row), and so must the answers noised from the same seeded draws.
    if (!clickhouse->plan.noise.has_value()) return "noised on DuckDB, not on ClickHouse";
    std::vector<std::string> got = Normalised(*actual, false);
    std::vector<std::string> want = Normalised(*expected, false);
    if (got != want) {
      return absl::StrCat("exact rows differ: ClickHouse\n  ", absl::StrJoin(got, "\n  "),
                          "\nDuckDB\n  ", absl::StrJoin(want, "\n  "), "\n", sql);
    }
    if (got.empty()) return "the private case returned no rows: it compares nothing";
    dp::SeededRandomSource duck_random(c.line), clickhouse_random(c.line);
    auto noisy_duck = dp::ApplyNoise(*duck->plan.noise, expected->rows, duck_random);
    auto noisy_clickhouse =
        dp::ApplyNoise(*clickhouse->plan.noise, actual->rows, clickhouse_random);
    if (!noisy_duck.ok() || !noisy_clickhouse.ok()) {
      return absl::StrCat("noise failed: ", noisy_duck.status().ToString(), " / ",
                          noisy_clickhouse.status().ToString());
    }
    if (noisy_duck->rows != noisy_clickhouse->rows) return "noisy answers differ";
    counts.equal++;
    counts.private_equal++;
    return "";
  }
  // Compared as sets of rows: ORDER BY leaves ties in any order (clickhouse_traps_test checks
  // that ORDER BY orders).
  if (absl::StrContains(c.sql, "LIMIT") && !absl::StrContains(c.sql, "ORDER BY")) {
    // Which rows a LIMIT without ORDER BY keeps is up to each engine: only how many.
    if (actual->rows.size() != expected->rows.size()) {
      return absl::StrCat(actual->rows.size(), " rows, not ", expected->rows.size());
    }
    counts.equal++;
    return "";
  }
  std::vector<std::string> got = Normalised(*actual, true);
  std::vector<std::string> want = Normalised(*expected, true);
  if (got != want) {
    return absl::StrCat("rows differ: ClickHouse\n  ", absl::StrJoin(got, "\n  "), "\nDuckDB\n  ",
                        absl::StrJoin(want, "\n  "), "\n", sql);
  }
  counts.equal++;
  return "";
}

std::vector<std::pair<std::shared_ptr<CorpusFile>, size_t>> AllowedCases() {
  std::vector<std::pair<std::shared_ptr<CorpusFile>, size_t>> all;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(CorpusDir())) {
    // PARLEY_CORPUS_ONLY=name runs one file's cases (while developing).
    const char* only = std::getenv("PARLEY_CORPUS_ONLY");
    if (only != nullptr && entry.path().stem() != only) continue;
    if (entry.path().extension() == ".test") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    auto file = std::make_shared<CorpusFile>(ParseCorpus(path.string()));
    for (size_t i = 0; i < file->cases.size(); ++i) {
      if (file->cases[i].outcome == "allowed") all.push_back({file, i});
    }
  }
  return all;
}

// One test over the whole corpus (one cluster, every case), reporting every mismatching case in
// one failure: a test entry per case cost CI two seconds each.
TEST(ClickHouseCorpusTest, EveryAllowedCaseGivesTheSameRowsOrTheDialectsReason) {
  ClickHouseCorpus::StartCluster();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  std::vector<std::string> mismatches;
  size_t cases = 0;
  for (const auto& [file, index] : AllowedCases()) {
    const CorpusCase& c = file->cases[index];
    ++cases;
    std::string mismatch = RunCase(*file, c);
    if (ClickHouseCorpus::RestartIfANodeDied()) {
      mismatch = absl::StrCat("a clickhouse-server node died. ", mismatch);
    }
    if (!mismatch.empty()) {
      mismatches.push_back(absl::StrCat(c.file, ".test:", c.line, " (", c.name, "): ", mismatch));
    }
  }
  ClickHouseCorpus::Finish();
  if (std::getenv("PARLEY_CORPUS_ONLY") == nullptr) {
    EXPECT_GT(cases, 100u);
    // The differential-privacy cases (differential_privacy.test) all run on both engines.
    EXPECT_GE(ClickHouseCorpus::counts().private_equal, 5);
  }
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " of " << cases << " cases differ:\n"
                                  << absl::StrJoin(mismatches, "\n\n");
}

}  // namespace
}  // namespace parley
