// How results are kept (issue 8 §3) at the service: a collaboration's retention (set at creation
// or by its creator; results older than it deleted by the sweep, audited by "retention"), and
// results sealed to the receivers' registered keys (stored only sealed; opened with the key).
#include <httplib.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status_testing.h"
#include "crypto/sha256.h"
#include "gtest/gtest.h"
#include "results/sealed.h"
#include "service/service.h"
#include "service/webhook_dispatcher.h"

namespace parley::service {
namespace {

namespace fs = std::filesystem;

identity::Caller As(const std::string& member) { return identity::Caller::Embedded(member); }

constexpr char kRule[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["owner"]})";

class ServerDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("parley_server_data_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "t.csv") << "region,amount\nmarker-north,4711\n";
    Options options;
    options.clock = [this] { return now_; };
    ASSERT_OK_AND_ASSIGN(service_, Service::Open((dir_ / "home").string(), options));
    NewCollaboration room;
    room.name = "room";
    room.auto_approve = {"add_member"};
    room.result_retention_days = 2;
    ASSERT_OK(service_->CreateCollaboration(As("owner"), room));
    ASSERT_OK(service_->AddMember(As("owner"), "room", {"other", {identity::Ability::kReceive}}));
    ASSERT_OK(
        service_->AddTable(As("owner"), {"room", "t", (dir_ / "t.csv").string(), {}, "files", ""}));
    ASSERT_OK(service_->SetRule(As("owner"), "room", "t", kRule));
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  int64_t now_ = 1'800'000'000;
  fs::path dir_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServerDataTest, ResultsOlderThanTheCollaborationsRetentionAreSwept) {
  EXPECT_EQ(*service_->CollaborationRetention(As("other"), "room"), 2);
  ASSERT_OK_AND_ASSIGN(QueryOutcome first,
                       service_->Run(As("owner"), "room", "SELECT region FROM t", {}));
  now_ += 86400;
  ASSERT_OK_AND_ASSIGN(QueryOutcome second,
                       service_->Run(As("owner"), "room", "SELECT amount FROM t", {}));
  // One day later: both kept. Two days and a second after the first: only the second.
  ASSERT_OK(service_->PruneResults());
  EXPECT_EQ(service_->ListResults(As("owner"), "room")->size(), 2u);
  now_ += 86401;
  ASSERT_OK(service_->PruneResults());
  ASSERT_OK_AND_ASSIGN(auto kept, service_->ListResults(As("owner"), "room"));
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].query_id, second.query_id);
  ASSERT_OK_AND_ASSIGN(auto entries, service_->ListAudit(As("owner"), "room"));
  EXPECT_EQ(entries.back().action, "result.deleted");
  EXPECT_EQ(entries.back().actor, "retention");
  EXPECT_EQ(entries.back().details_json, absl::StrCat(R"({"query_id":)", first.query_id, "}"));
  // Only the creator changes it; a shorter retention prunes at once.
  absl::Status refused = service_->SetCollaborationRetention(As("other"), "room", 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "only the creator of collaboration 'room' sets its result retention");
  EXPECT_EQ(service_->SetCollaborationRetention(As("owner"), "room", 0).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK(service_->SetCollaborationRetention(As("owner"), "room", 1));
  EXPECT_TRUE(service_->ListResults(As("owner"), "room")->empty());
  ASSERT_OK(service_->SetCollaborationRetention(As("owner"), "room", std::nullopt));
  EXPECT_EQ(*service_->CollaborationRetention(As("owner"), "room"), std::nullopt);
  ASSERT_OK_AND_ASSIGN(entries, service_->ListAudit(As("owner"), "room"));
  EXPECT_EQ(entries.back().action, "collaboration.result_retention");
  EXPECT_EQ(entries.back().details_json, R"({"result_retention_days":null})");
}

TEST_F(ServerDataTest, AResultIsStoredSealedToTheReceiversKeysOnly) {
  ASSERT_OK_AND_ASSIGN(results::KeyPair owner, results::NewKeyPair());
  ASSERT_OK_AND_ASSIGN(results::KeyPair other, results::NewKeyPair());
  EXPECT_EQ(service_->SetMemberKey(As("owner"), "not a key").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK(service_->SetMemberKey(As("owner"), owner.public_key));
  ASSERT_OK(service_->SetMemberKey(As("other"), other.public_key));
  EXPECT_EQ(*service_->MemberKey(As("owner")), owner.public_key);
  ASSERT_OK_AND_ASSIGN(
      QueryOutcome run,
      service_->Run(As("owner"), "room", "SELECT region, amount FROM t", {"owner", "other"}));
  EXPECT_TRUE(run.sealed);
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> sealed,
                       service_->SealedResult(As("other"), "room", run.query_id));
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->find("marker-north"), std::string::npos);
  EXPECT_EQ(sealed->find("4711"), std::string::npos);
  const std::string kContent =
      R"({"columns":[{"name":"region","type":"VARCHAR"},{"name":"amount","type":"BIGINT"}],)"
      R"("rows":[["marker-north","4711"]]})";
  EXPECT_EQ(*results::Open(*sealed, owner), kContent);
  EXPECT_EQ(*results::Open(*sealed, other), kContent);
  // On disk, no result file (a result this small is kept sealed in the catalog; a larger one
  // would be a ".sealed" file) and no value in the clear; reading it in the clear is refused.
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir_ / "home", error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    if (it->path().string().find("/results/") != std::string::npos) {
      EXPECT_EQ(it->path().extension(), ".sealed");
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("marker-north"), std::string::npos) << it->path();
  }
  absl::Status clear = service_->Result(As("owner"), "room", run.query_id).status();
  EXPECT_EQ(clear.code(), absl::StatusCode::kFailedPrecondition);
  // A member that is not a receiver gets nothing.
  ASSERT_OK(service_->AddMember(As("owner"), "room", {"third", {identity::Ability::kReceive}}));
  EXPECT_EQ(service_->SealedResult(As("third"), "room", run.query_id).status().code(),
            absl::StatusCode::kPermissionDenied);
}

// The dispatcher's queue is bounded (a full queue drops, never blocks), deliveries are signed,
// and a receiver that never answers 2xx is given up on after its attempts.
TEST(WebhookDispatcherTest, TheQueueIsBoundedDeliveriesAreSignedAndFailuresRetried) {
  httplib::Server receiver;
  std::mutex mutex;
  std::condition_variable changed;
  bool release = false;
  std::vector<std::pair<std::string, std::string>> got;  // signature, body
  int refused = 0;
  receiver.Post("/hook", [&](const httplib::Request& request, httplib::Response& response) {
    std::unique_lock<std::mutex> lock(mutex);
    got.emplace_back(request.get_header_value("X-Parley-Signature"), request.body);
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
    response.status = 204;
  });
  receiver.Post("/refuse", [&](const httplib::Request&, httplib::Response& response) {
    std::lock_guard<std::mutex> lock(mutex);
    ++refused;
    response.status = 500;
  });
  int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  std::string url = absl::StrCat("http://127.0.0.1:", port);
  {
    WebhookDispatcher::Options options;
    options.capacity = 2;
    options.workers = 1;
    options.attempts = 3;
    options.first_pause = std::chrono::milliseconds(10);
    WebhookDispatcher dispatcher(options);
    auto delivery = [&](const std::string& path, const std::string& body) {
      return WebhookDelivery{url + path, "pw_secret", "change.opened", "d1", body};
    };
    ASSERT_TRUE(dispatcher.Enqueue(delivery("/hook", "{\"n\":1}")));
    {
      // The worker holds the first; two more fit in the queue, the fourth is dropped.
      std::unique_lock<std::mutex> lock(mutex);
      ASSERT_TRUE(
          changed.wait_for(lock, std::chrono::seconds(20), [&] { return got.size() == 1; }));
    }
    EXPECT_TRUE(dispatcher.Enqueue(delivery("/hook", "{\"n\":2}")));
    EXPECT_TRUE(dispatcher.Enqueue(delivery("/refuse", "{\"n\":3}")));
    EXPECT_FALSE(dispatcher.Enqueue(delivery("/hook", "{\"n\":4}")));
    EXPECT_EQ(dispatcher.dropped(), 1);
    {
      std::lock_guard<std::mutex> lock(mutex);
      release = true;
    }
    changed.notify_all();
    for (int i = 0; i < 400 && dispatcher.delivered() + dispatcher.failed() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(dispatcher.delivered(), 2);
    EXPECT_EQ(dispatcher.failed(), 1);
  }
  receiver.stop();
  serving.join();
  EXPECT_EQ(refused, 3);  // every attempt
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second, "{\"n\":1}");
  EXPECT_EQ(got[0].first, "sha256=" + crypto::HmacSha256Hex("pw_secret", "{\"n\":1}"));
}

}  // namespace
}  // namespace parley::service
