// One Service driven from 8 threads at once, as a server will: queries, rule changes and template
// approvals interleave. The only error allowed is the one the design promises — a run whose
// collaboration's policy changed while it ran is Aborted — and afterwards every run is recorded,
// every rule holds its owner's last write, no approval is lost and the audit chain verifies.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "identity/caller.h"
#include "service/service.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;
using identity::Ability;
using identity::Caller;

constexpr int kThreads = 8;

std::string Rule(const std::string& providers, bool hide_amount) {
  return absl::StrCat(R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": [)",
                      providers, "]",
                      hide_amount ? R"(, "disallowed_output_columns": ["amount"])" : "", "}");
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("parley_concurrency_", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = Service::Open((dir_ / "home").string(), {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    service_ = *std::move(opened);
    Ok(service_->CreateCollaboration(As("owner"),
                                     {.name = "room", .auto_approve = {"add_member"}}));
    Ok(service_->AddMember(As("owner"), "room", {"supplier", {Ability::kQuery, Ability::kReceive}})
           .status());
    Ok(service_->AddMember(As("owner"), "room", {"analyst", {Ability::kQuery, Ability::kReceive}})
           .status());
    for (auto [table, owner, others] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"sales", "owner", R"("supplier", "analyst")"},
             {"events", "supplier", R"("owner", "analyst")"},
             {"visits", "analyst", R"("owner", "supplier")"}}) {
      std::string path = (dir_ / (table + ".csv")).string();
      std::ofstream(path) << "region,amount\neast,1\nwest,2\nnorth,3\n";
      Ok(service_->AddTable(As(owner.c_str()), {"room", table, path, {}}));
      Ok(service_->SetRule(As(owner.c_str()), "room", table, Rule(others, false)));
    }
    for (const char* name : {"a", "b"}) {
      auto id = service_->CreateTemplate(
          As("analyst"),
          {"room",
           name,
           absl::StrCat("SELECT region AS ", name, " FROM sales WHERE amount > :min"),
           {"min:integer=0"}});
      ASSERT_TRUE(id.ok()) << id.status();
      templates_.push_back(*id);
    }
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  static Caller As(const char* name) { return Caller::Embedded(name); }
  static void Ok(const absl::Status& status) { ASSERT_TRUE(status.ok()) << status; }

  // What a thread saw: its runs (each recorded once, whatever its outcome) and any error other
  // than the expected policy-changed abort.
  void Ran(const absl::StatusOr<QueryOutcome>& outcome, const std::string& runner) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++runs_[runner];
    if (outcome.ok()) {
      ++succeeded_;
    } else if (absl::IsAborted(outcome.status()) &&
               absl::StrContains(outcome.status().message(), "changed during the run")) {
      ++aborted_;
    } else {
      errors_.push_back(outcome.status().ToString());
    }
  }
  void Check(const absl::Status& status) {
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(status.ToString());
  }

  fs::path dir_;
  std::unique_ptr<Service> service_;
  std::vector<std::string> templates_;
  std::mutex mutex_;
  std::map<std::string, int> runs_;
  int succeeded_ = 0;
  int aborted_ = 0;
  std::vector<std::string> errors_;
};

TEST_F(ConcurrencyTest, EightThreadsLoseNoWriteAndKeepTheAuditIntact) {
  constexpr int kRounds = 6;
  const char* kMembers[] = {"owner", "supplier", "analyst"};
  // The rule each owner writes last (rounds alternate whether `amount` may be output).
  const bool kLastHidesAmount = (kRounds - 1) % 2 == 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        if (t < 4) {  // queries: each member reads the two tables it does not own
          const char* runner = kMembers[(t + round) % 3];
          for (const char* table : {"sales", "events", "visits"}) {
            auto owner = service_->ShowTable(As(runner), "room", table);
            if (!owner.ok() || owner->owner == runner) continue;
            Ran(service_->Run(As(runner), "room", absl::StrCat("SELECT region FROM ", table), {}),
                runner);
          }
        } else if (t < 6) {  // rule changes by the owners of events and visits
          const char* owner = t == 4 ? "supplier" : "analyst";
          const char* others = t == 4 ? R"("owner", "analyst")" : R"("owner", "supplier")";
          Check(service_->SetRule(As(owner), "room", t == 4 ? "events" : "visits",
                                  Rule(others, round % 2 == 0)));
        } else {  // template approvals of sales, one template per thread, then a run of it
          const std::string& id = templates_[t - 6];
          Check(service_->ApproveTemplate(As("owner"), "room", id, "sales"));
          Ran(service_->RunTemplate(As("supplier"), "room", id, {{"min", "1"}}, {}), "supplier");
          if (round + 1 < kRounds)
            Check(service_->RevokeTemplate(As("owner"), "room", id, "sales"));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_TRUE(errors_.empty()) << ::testing::PrintToString(errors_);
  EXPECT_GT(succeeded_, 0);
  // Every run is recorded once: the queries each member ran are exactly the runs it made.
  for (const char* member : kMembers) {
    auto queries = service_->ListQueries(As(member), "room");
    ASSERT_TRUE(queries.ok()) << queries.status();
    int ran = 0;
    for (const QueryView& query : *queries) ran += query.runner == member;
    EXPECT_EQ(ran, runs_[member]) << member;
  }
  // Each rule holds its owner's last write; both approvals survived each other.
  for (auto [table, owner] : {std::pair{"events", "supplier"}, std::pair{"visits", "analyst"}}) {
    auto shown = service_->ShowTable(As(owner), "room", table);
    ASSERT_TRUE(shown.ok()) << shown.status();
    ASSERT_TRUE(shown->rule_json.has_value());
    EXPECT_EQ(absl::StrContains(*shown->rule_json, "disallowed_output_columns\":[\"amount\"]"),
              kLastHidesAmount)
        << table << ": " << *shown->rule_json;
  }
  for (const std::string& id : templates_) {
    auto view = service_->ShowTemplate(As("supplier"), "room", id);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_TRUE(view->runnable()) << id;
  }
  auto verification = service_->VerifyAudit();
  ASSERT_TRUE(verification.ok()) << verification.status();
  EXPECT_TRUE(verification->ok) << verification->problem;
  std::cout << "runs: " << succeeded_ << " succeeded, " << aborted_
            << " aborted (policy changed)\n";
}

}  // namespace
}  // namespace parley::service
