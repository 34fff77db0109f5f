// Small results kept in the catalog (docs/audit.md, "Durability"): written with the record that
// ends their query, no file; read back exactly as the engine returned them, as a file-backed
// result reads; listed, counted, sealed, deleted and swept like files. The edge is the encoded
// size (Options::inline_result_bytes).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "engine/result_codec.h"
#include "gtest/gtest.h"
#include "results/sealed.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;

identity::Caller As(const std::string& member) { return identity::Caller::Embedded(member); }

constexpr char kRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["owner"]})";

// Every kind of value a result carries: text (with a quote and a comma), integers, a 128-bit sum,
// decimals, doubles, dates, timestamps, booleans and NULLs.
constexpr char kTypedQuery[] =
    "SELECT region, amount, amount * 1.5 AS scaled, CAST(amount AS DECIMAL(10, 2)) AS price, "
    "day, CAST(day AS TIMESTAMP) AS at, amount > 100 AS big, "
    "(SELECT SUM(amount) FROM t) AS total, NULL AS nothing "
    "FROM t ORDER BY region NULLS LAST";

class InlineResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_inline_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "t.csv") << "region,amount,day\n"
                                     "\"north, \"\"upper\"\"\",4711,2026-11-30\n"
                                     "south-marker-7731,12,\n"
                                     ",,2026-01-01\n";
    Open(kDefaultInlineResultBytes);
    NewCollaboration room;
    room.name = "room";
    room.auto_approve = {"add_member"};
    ASSERT_OK(service_->CreateCollaboration(As("owner"), room));
    ASSERT_OK(service_->AddMember(As("owner"), "room", {"other", {identity::Ability::kReceive}}));
    ASSERT_OK(service_->AddMember(As("owner"), "room", {"third", {identity::Ability::kReceive}}));
    ASSERT_OK(
        service_->AddTable(As("owner"), {"room", "t", (dir_ / "t.csv").string(), {}, "files", ""}));
    ASSERT_OK(service_->SetRule(As("owner"), "room", "t", kRule));
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  void Open(size_t inline_result_bytes) {
    service_.reset();
    Options options;
    options.clock = [this] { return now_; };
    options.inline_result_bytes = inline_result_bytes;
    absl::StatusOr<std::unique_ptr<Service>> service =
        Service::Open((dir_ / "home").string(), options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
  }

  // Regular files under HOME/results, with their permissions checked on the way.
  int ResultFiles() {
    int count = 0;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(dir_ / "home" / "results", error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (!it->is_regular_file()) continue;
      ++count;
      EXPECT_EQ(it->status().permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write)
          << it->path();
    }
    return count;
  }

  // The catalog's files (database and write-ahead log) as one text.
  std::string CatalogBytes() {
    std::string all;
    for (const char* name : {"catalog.db", "catalog.db-wal"}) {
      std::ifstream in(dir_ / "home" / name, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

  engine::ResultTable Run(const std::string& sql, std::vector<std::string> receivers = {}) {
    absl::StatusOr<QueryOutcome> outcome = service_->Run(As("owner"), "room", sql, receivers);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    if (!outcome.ok()) return {};
    last_id_ = outcome->query_id;
    return outcome->result.value_or(engine::ResultTable{});
  }

  int64_t now_ = 1'800'000'000;
  int64_t last_id_ = 0;
  fs::path dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(InlineResultsTest, ASmallResultIsKeptInTheCatalogAndReadsBackAsAFileWould) {
  engine::ResultTable returned = Run(kTypedQuery);
  ASSERT_EQ(returned.rows.size(), 3u);
  int64_t inline_id = last_id_;
  EXPECT_EQ(ResultFiles(), 0) << "a small result makes no file";
  ASSERT_OK_AND_ASSIGN(engine::ResultTable inline_read,
                       service_->Result(As("owner"), "room", inline_id));
  EXPECT_EQ(inline_read.columns, returned.columns);
  EXPECT_EQ(inline_read.rows, returned.rows);
  EXPECT_EQ(inline_read.rows[2][0], std::nullopt);
  EXPECT_EQ(inline_read.columns[7].type, "HUGEINT");

  // The same query stored as a file (nothing is small enough now) reads back the same table.
  Open(0);
  Run(kTypedQuery);
  EXPECT_EQ(ResultFiles(), 1);
  ASSERT_OK_AND_ASSIGN(engine::ResultTable file_read,
                       service_->Result(As("owner"), "room", last_id_));
  EXPECT_EQ(file_read.columns, inline_read.columns);
  EXPECT_EQ(file_read.rows, inline_read.rows);

  // Listed with the bytes it takes, counted in the home's results.
  ASSERT_OK_AND_ASSIGN(auto listed, service_->ListResults(As("owner"), "room"));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].query_id, inline_id);
  EXPECT_EQ(listed[0].row_count, 3);
  EXPECT_EQ(listed[0].bytes, static_cast<int64_t>(engine::EncodeResult(returned, 1 << 20)->size()));
  EXPECT_GT(listed[1].bytes, 0);
  ASSERT_OK_AND_ASSIGN(HomeInfo home, service_->Home());
  EXPECT_EQ(home.result_count, 2);
  EXPECT_EQ(home.result_bytes, listed[0].bytes + listed[1].bytes);
}

// The edge is the encoded size itself: a result exactly that size stays in the catalog, one byte
// over and it is a file.
TEST_F(InlineResultsTest, TheEdgeIsTheEncodedSize) {
  engine::ResultTable result = Run("SELECT region, amount FROM t ORDER BY amount");
  size_t size = engine::EncodeResult(result, 1 << 20)->size();
  Open(size);
  Run("SELECT region, amount FROM t ORDER BY amount");
  EXPECT_EQ(ResultFiles(), 0);
  ASSERT_OK_AND_ASSIGN(engine::ResultTable at_edge,
                       service_->Result(As("owner"), "room", last_id_));
  EXPECT_EQ(at_edge.rows, result.rows);
  Open(size - 1);
  Run("SELECT region, amount FROM t ORDER BY amount");
  EXPECT_EQ(ResultFiles(), 1);
  ASSERT_OK_AND_ASSIGN(engine::ResultTable over_edge,
                       service_->Result(As("owner"), "room", last_id_));
  EXPECT_EQ(over_edge.rows, result.rows);
}

// Deleting a result, or the retention sweep, removes its bytes from the catalog's files, not just
// the record's reference to them; only a receiver reads or deletes it.
TEST_F(InlineResultsTest, DeleteAndRetentionRemoveTheBytes) {
  Run("SELECT region FROM t WHERE amount = 12", {"owner", "other"});
  int64_t deleted = last_id_;
  now_ += 10 * 86400;
  Run("SELECT upper(region) AS region FROM t WHERE amount = 12", {"owner"});
  int64_t kept = last_id_;
  EXPECT_NE(CatalogBytes().find("south-marker-7731"), std::string::npos);

  // Not a receiver: nothing to read, and nothing to delete (as if it did not exist).
  EXPECT_EQ(service_->Result(As("third"), "room", deleted).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->DeleteResult(As("third"), "room", deleted).code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK(service_->DeleteResult(As("other"), "room", deleted));
  EXPECT_EQ(service_->Result(As("owner"), "room", deleted).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->DeleteResult(As("owner"), "room", deleted).code(),
            absl::StatusCode::kNotFound);
  std::string catalog = CatalogBytes();
  EXPECT_EQ(catalog.find("south-marker-7731"), std::string::npos);
  EXPECT_NE(catalog.find("SOUTH-MARKER-7731"), std::string::npos);

  // A retention of 5 days sweeps the second result once it is older than that.
  ASSERT_OK(service_->SetCollaborationRetention(As("owner"), "room", 5));
  ASSERT_OK_AND_ASSIGN(auto listed, service_->ListResults(As("owner"), "room"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].query_id, kept);
  now_ += 6 * 86400;
  ASSERT_OK(service_->PruneResults());
  EXPECT_TRUE(service_->ListResults(As("owner"), "room")->empty());
  EXPECT_EQ(CatalogBytes().find("SOUTH-MARKER-7731"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(HomeInfo home, service_->Home());
  EXPECT_EQ(home.result_count, 0);
  EXPECT_EQ(home.result_bytes, 0);
  ASSERT_OK_AND_ASSIGN(catalog::AuditVerification verification, service_->VerifyAudit());
  EXPECT_TRUE(verification.ok) << verification.problem;
}

// A sealed result small enough is kept in the catalog sealed: no file, no value in the clear in
// any file of the home, opened by each receiver's key; in the clear, refused.
TEST_F(InlineResultsTest, ASmallSealedResultIsKeptSealedInTheCatalog) {
  ASSERT_OK_AND_ASSIGN(results::KeyPair owner, results::NewKeyPair());
  ASSERT_OK_AND_ASSIGN(results::KeyPair other, results::NewKeyPair());
  ASSERT_OK(service_->SetMemberKey(As("owner"), owner.public_key));
  ASSERT_OK(service_->SetMemberKey(As("other"), other.public_key));
  ASSERT_OK_AND_ASSIGN(QueryOutcome run,
                       service_->Run(As("owner"), "room", "SELECT region FROM t WHERE amount = 12",
                                     {"owner", "other"}));
  EXPECT_TRUE(run.sealed);
  EXPECT_EQ(ResultFiles(), 0);
  EXPECT_EQ(CatalogBytes().find("south-marker-7731"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> sealed,
                       service_->SealedResult(As("other"), "room", run.query_id));
  ASSERT_TRUE(sealed.has_value());
  const std::string kContent =
      R"({"columns":[{"name":"region","type":"VARCHAR"}],"rows":[["south-marker-7731"]]})";
  EXPECT_EQ(*results::Open(*sealed, owner), kContent);
  EXPECT_EQ(*results::Open(*sealed, other), kContent);
  EXPECT_EQ(service_->Result(As("owner"), "room", run.query_id).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->SealedResult(As("third"), "room", run.query_id).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(auto listed, service_->ListResults(As("other"), "room"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].bytes, static_cast<int64_t>(sealed->size()));

  // Larger than the edge, the sealed box is a file, as before.
  Open(sealed->size() - 1);
  ASSERT_OK_AND_ASSIGN(run,
                       service_->Run(As("owner"), "room", "SELECT region FROM t WHERE amount = 12",
                                     {"owner", "other"}));
  EXPECT_TRUE(run.sealed);
  EXPECT_EQ(ResultFiles(), 1);
  ASSERT_OK_AND_ASSIGN(sealed, service_->SealedResult(As("other"), "room", run.query_id));
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(*results::Open(*sealed, other), kContent);
}

}  // namespace
}  // namespace parley::service
