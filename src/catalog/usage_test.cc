// Metering's accounting in the catalog: who a run is charged to, the estimate reserved when it
// starts and replaced by its measurement when it ends, and the limits checked in the transaction
// that records it — including from two connections racing for the last of a month's budget.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "catalog/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kNovember = 1'795'000'000;  // 2026-11-18 UTC

class UsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("parley_usage_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "catalog.db").string();
    store_ = Open();
    Collaboration room;
    room.name = "campaign";
    room.description = "";
    room.creator = "retailer";
    room.members = {{.name = "retailer", .can_query = true, .can_receive = true},
                    {.name = "supplier", .can_query = true, .can_receive = true}};
    room.payer = payer_at_creation_;
    ASSERT_OK(store_->CreateCollaboration(room));
    ASSERT_OK(store_->SetTableSize("campaign", "retail", {3000, 1000}));
    ASSERT_OK(store_->SetTableSize("campaign", "loyalty", {2000, 500}));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Store> Open() {
    auto store = Store::Open(path_, [this] { return now_.load(); });
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  static QueryRecord Running(const std::string& runner = "supplier") {
    QueryRecord query;
    query.collaboration = "campaign";
    query.runner = runner;
    query.sql = "SELECT 1";
    query.status = QueryStatus::kRunning;
    query.receivers = {runner};
    query.tables = {"loyalty", "retail"};
    query.usage = QueryUsage{};
    return query;
  }
  void Finish(int64_t id, int64_t retail_bytes, int64_t loyalty_bytes) {
    QueryRecord done;
    done.status = QueryStatus::kSucceeded;
    done.usage =
        QueryUsage{0, {{"loyalty", 20, loyalty_bytes}, {"retail", 30, retail_bytes}}, 1234, 2, 16};
    PolicySnapshot snapshot = *store_->GetPolicySnapshot("campaign");
    ASSERT_OK(store_->FinishQuery("campaign", id, done, snapshot.digest).status());
  }

  std::filesystem::path dir_;
  std::string path_;
  std::atomic<int64_t> now_{kNovember};
  std::string payer_at_creation_ = kRunnerPays;
  std::unique_ptr<Store> store_;
};

TEST_F(UsageTest, ARunIsChargedToItsRunnerWithItsEstimateThenItsMeasurement) {
  ASSERT_OK_AND_ASSIGN(int64_t id, store_->RecordQuery(Running()));
  ASSERT_OK_AND_ASSIGN(std::vector<UsageRecord> usage, store_->ListUsage("campaign"));
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].query_id, id);
  EXPECT_EQ(usage[0].runner, "supplier");
  EXPECT_EQ(usage[0].payer, "supplier");
  EXPECT_EQ(usage[0].period, "2026-11");
  EXPECT_FALSE(usage[0].finished);
  EXPECT_EQ(usage[0].estimated_bytes, 1500);
  EXPECT_EQ(usage[0].bytes_scanned, 1500);  // reserved until it finishes

  Finish(id, 900, 400);
  ASSERT_OK_AND_ASSIGN(usage, store_->ListUsage("campaign"));
  EXPECT_TRUE(usage[0].finished);
  EXPECT_EQ(usage[0].estimated_bytes, 1500);
  EXPECT_EQ(usage[0].bytes_scanned, 1300);
  EXPECT_EQ(usage[0].rows_scanned, 50);
  EXPECT_EQ(usage[0].duration_micros, 1234);
  EXPECT_EQ(usage[0].result_rows, 2);
  EXPECT_EQ(usage[0].result_bytes, 16);
  ASSERT_OK_AND_ASSIGN(std::vector<TableScan> scans, store_->ListQueryScans("campaign", id));
  EXPECT_THAT(scans, ElementsAre(TableScan{"loyalty", 20, 400}, TableScan{"retail", 30, 900}));
}

TEST_F(UsageTest, AQueryOverThePerQueryLimitIsRefusedAndWritesNothing) {
  ASSERT_OK(store_->SetUsageLimits("campaign", "supplier", {1499, std::nullopt}));
  absl::StatusOr<int64_t> refused = store_->RecordQuery(Running());
  EXPECT_EQ(refused.status(),
            absl::ResourceExhaustedError(
                "query refused before it ran: it would scan an estimated 1.5 kB (1500 bytes) "
                "(loyalty 500 B, retail 1.0 kB), over the per-query scan limit of 1.5 kB (1499 "
                "bytes) set by 'supplier' (you pay for it)"));
  EXPECT_TRUE(IsUsageRefusal(refused.status()));
  EXPECT_THAT(*store_->ListUsage("campaign"), IsEmpty());
  EXPECT_THAT(*store_->ListQueries("campaign"), IsEmpty());
  // The retailer's limits do not apply to what the supplier pays for.
  ASSERT_OK(store_->SetUsageLimits("campaign", "supplier", {}));
  ASSERT_OK(store_->SetUsageLimits("campaign", "retailer", {1, 1}));
  ASSERT_OK(store_->RecordQuery(Running()).status());
  EXPECT_EQ(*store_->GetUsageLimits("campaign", "retailer"), (UsageLimits{1, 1}));
  EXPECT_EQ(store_->SetUsageLimits("campaign", "agency", {}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetUsageLimits("campaign", "supplier", {-1, std::nullopt}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(UsageTest, TheMonthCountsMeasuredRunsAndReservationsAndStartsAfresh) {
  ASSERT_OK(store_->SetUsageLimits("campaign", "supplier", {std::nullopt, 2000}));
  ASSERT_OK_AND_ASSIGN(int64_t first, store_->RecordQuery(Running()));
  // 1500 reserved: a second estimate of 1500 does not fit in 2000.
  absl::Status refused = store_->RecordQuery(Running()).status();
  EXPECT_EQ(refused,
            absl::ResourceExhaustedError(
                "query refused before it ran: it would scan an estimated 1.5 kB (1500 bytes) "
                "(loyalty 500 B, retail 1.0 kB), and 'supplier' (you pay for it) has used 1.5 kB "
                "(1500 bytes) of its monthly scan budget of 2.0 kB (2000 bytes) for 2026-11"));
  // Measured at 300 once finished: 300 + 1500 fits.
  Finish(first, 200, 100);
  ASSERT_OK(store_->RecordQuery(Running()).status());
  EXPECT_FALSE(store_->RecordQuery(Running()).ok());
  // Another runner pays for its own queries: its month is its own.
  ASSERT_OK(store_->RecordQuery(Running("retailer")).status());
  // December: a new month.
  now_ += 31 * 24 * 3600;
  ASSERT_OK(store_->RecordQuery(Running()).status());
}

TEST_F(UsageTest, TheNamedPayerIsChargedAndItsLimitsApply) {
  store_.reset();
  std::filesystem::remove_all(dir_);
  payer_at_creation_ = "retailer";
  SetUp();
  ASSERT_OK(store_->SetUsageLimits("campaign", "retailer", {100, std::nullopt}));
  absl::Status refused = store_->RecordQuery(Running("supplier")).status();
  EXPECT_THAT(std::string(refused.message()),
              ::testing::EndsWith("over the per-query scan limit of 100 B (100 bytes) set by "
                                  "'retailer' ('retailer' pays for it)"));
  ASSERT_OK(store_->SetUsageLimits("campaign", "retailer", {}));
  ASSERT_OK(store_->RecordQuery(Running("supplier")).status());
  EXPECT_EQ(store_->ListUsage("campaign")->at(0).payer, "retailer");
}

TEST_F(UsageTest, TwoConnectionsRacingCannotOverspendTheMonth) {
  // Room for exactly three estimates of 1500.
  ASSERT_OK(store_->SetUsageLimits("campaign", "supplier", {std::nullopt, 4500}));
  std::unique_ptr<Store> other = Open();
  std::atomic<int> recorded{0}, refused{0};
  auto race = [&](Store* store) {
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<int64_t> id = store->RecordQuery(Running());
      if (id.ok()) {
        ++recorded;
      } else if (IsUsageRefusal(id.status())) {
        ++refused;
      } else {
        ADD_FAILURE() << id.status();
      }
    }
  };
  std::thread a(race, store_.get());
  std::thread b(race, other.get());
  a.join();
  b.join();
  EXPECT_EQ(recorded.load(), 3);
  EXPECT_EQ(refused.load(), 7);
  EXPECT_EQ(store_->ListUsage("campaign")->size(), 3u);
}

}  // namespace
}  // namespace parley::catalog
