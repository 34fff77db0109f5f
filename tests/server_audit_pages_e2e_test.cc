// The audit log a page at a time through the real `parley serve` (`GET .../audit?limit=N` with
// `after` or `before`, api/audit.h): following a log that grows while it is paged returns every
// entry exactly once, as the whole log lists it; paging back from the newest entry returns the
// log as it was when paging began; an outsider learns nothing (404, whatever it asks); a bad
// parameter is refused (400) with its name; the CLI's `audit list --limit/--after/--before`.
#include <httplib.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_support.h"

namespace parley::cli_test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class ServerAuditPagesTest : public ServedHomeTest {
 protected:
  void SetUp() override {
    ServedHomeTest::SetUp();
    if (HasFatalFailure()) return;
    StartServer();
    if (HasFatalFailure()) return;
    AddOrganisations({"retailer", "outsider"});
    ASSERT_EQ(Remote("retailer", {"collaboration", "create", "room"}).exit_code, 0);
  }

  struct Answer {
    int status = 0;
    Json json;
  };
  Answer Call(const std::string& organisation, const std::string& method, const std::string& path,
              const std::string& body = "") {
    httplib::Client client(url_);
    client.set_read_timeout(30, 0);
    httplib::Headers headers = {{"Authorization", "Bearer " + Token(organisation)}};
    httplib::Result result = method == "GET" ? client.Get(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!result) {
      ADD_FAILURE() << method << " " << path << ": no answer";
      return {};
    }
    return {result->status, Json::parse(result->body, nullptr, false)};
  }
  // One change request of the only member: it commits at once (four entries).
  void Append(bool on) {
    Answer answer = Call("retailer", "POST", "/api/v1/collaborations/room/changes",
                         Json{{"kind", "query_logging"}, {"query_logging", on}}.dump());
    ASSERT_EQ(answer.status, 200) << answer.json;
  }
  Json Whole() {
    Answer answer = Call("retailer", "GET", "/api/v1/collaborations/room/audit");
    EXPECT_EQ(answer.status, 200) << answer.json;
    return answer.json["entries"];
  }
};

TEST_F(ServerAuditPagesTest, FollowingAGrowingLogReturnsEveryEntryExactlyOnce) {
  for (int i = 0; i < 3; ++i) Append(i % 2 == 0);
  // Appends go on in another thread while the log is paged forward, five entries at a time.
  std::atomic<bool> stop = false;
  std::atomic<int> appended = 0;
  std::thread writer([&] {
    for (int i = 0; i < 25 && !stop; ++i) {
      Append(i % 2 == 1);
      ++appended;
    }
  });
  std::vector<Json> seen;
  int64_t after = 0;
  int calls = 0;
  auto page = [&] {
    Answer answer =
        Call("retailer", "GET",
             absl::StrCat("/api/v1/collaborations/room/audit?after=", after, "&limit=5"));
    ++calls;
    EXPECT_EQ(answer.status, 200) << answer.json;
    EXPECT_LE(answer.json["entries"].size(), 5u);
    for (const Json& entry : answer.json["entries"]) {
      seen.push_back(entry);
      after = entry["seq"].get<int64_t>();
    }
    // `next` is the last entry's seq when more were there, absent when the page reached the head.
    int64_t head = answer.json["head_seq"].get<int64_t>();
    if (answer.json.contains("next")) {
      EXPECT_EQ(answer.json["next"].get<int64_t>(), after);
      EXPECT_LT(after, head);
    } else {
      EXPECT_EQ(after, head);
    }
    return answer.json.contains("next");
  };
  while (appended < 25 && calls < 1000) page();
  writer.join();
  while (page() && calls < 2000) {
  }
  Json whole = Whole();
  // 3 + 25 change requests of four entries each, after the collaboration's creation.
  ASSERT_EQ(whole.size(), 1u + 28 * 4);
  ASSERT_EQ(seen.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(seen[i], whole[i]) << "entry " << i;
    EXPECT_EQ(seen[i]["seq"].get<int64_t>(), static_cast<int64_t>(i) + 1);
  }
}

TEST_F(ServerAuditPagesTest, PagingBackFromTheNewestShowsTheLogAsItWasWhenPagingBegan) {
  for (int i = 0; i < 5; ++i) Append(i % 2 == 0);
  Json before_paging = Whole();  // 21 entries
  ASSERT_EQ(before_paging.size(), 21u);
  Answer first = Call("retailer", "GET", "/api/v1/collaborations/room/audit?limit=8");
  ASSERT_EQ(first.status, 200) << first.json;
  EXPECT_EQ(first.json["head_seq"], 21);
  EXPECT_EQ(first.json["next"], 14);
  std::vector<int64_t> seqs;
  Json page = first.json;
  while (true) {
    for (const Json& entry : page["entries"]) {
      seqs.push_back(entry["seq"].get<int64_t>());
      EXPECT_EQ(entry, before_paging[entry["seq"].get<size_t>() - 1]);
    }
    if (!page.contains("next")) break;
    Append(true);  // newer entries do not shift the pages still to come
    Answer older = Call(
        "retailer", "GET",
        absl::StrCat("/api/v1/collaborations/room/audit?limit=8&before=", page["next"].dump()));
    ASSERT_EQ(older.status, 200) << older.json;
    page = older.json;
  }
  std::vector<int64_t> expected;
  for (int64_t seq = 21; seq >= 1; --seq) expected.push_back(seq);
  EXPECT_EQ(seqs, expected);
  // The default page is the newest 100; no parameter at all is still the whole log.
  Answer newest = Call("retailer", "GET", "/api/v1/collaborations/room/audit?before=3");
  ASSERT_EQ(newest.status, 200);
  EXPECT_EQ(newest.json["entries"].size(), 2u);
  EXPECT_FALSE(newest.json.contains("next"));
  EXPECT_FALSE(
      Call("retailer", "GET", "/api/v1/collaborations/room/audit").json.contains("head_seq"));
}

TEST_F(ServerAuditPagesTest, OutsidersLearnNothingAndBadParametersAreNamed) {
  // Not a member: 404, the same as a room that does not exist, whatever the parameters ask for
  // (a parameter that is not even a number is refused alike for every room, before the room).
  for (const std::string& query :
       {"", "?limit=5", "?after=0&limit=1000", "?before=2", "?limit=0", "?after=1&before=1"}) {
    for (const std::string& room : {"room", "moor"}) {
      Answer answer =
          Call("outsider", "GET", absl::StrCat("/api/v1/collaborations/", room, "/audit", query));
      EXPECT_EQ(answer.status, 404) << room << query << " " << answer.json;
      EXPECT_EQ(answer.json["error"]["message"],
                absl::StrCat("collaboration '", room, "' not found"))
          << query;
    }
  }
  struct Bad {
    std::string query, message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"?limit=0", "limit: a page holds 1 to 1000 entries (got 0)"},
           {"?limit=1001", "limit: a page holds 1 to 1000 entries (got 1001)"},
           {"?limit=-5", "limit: a page holds 1 to 1000 entries (got -5)"},
           {"?limit=abc", "query parameter 'limit': expected an integer"},
           {"?limit=+5", "query parameter 'limit': expected an integer"},
           {"?limit=%205", "query parameter 'limit': expected an integer"},
           {"?limit=", "query parameter 'limit': expected an integer"},
           {"?after=99999999999999999999", "query parameter 'after': expected an integer"},
           {"?after=-1", "after: an entry's seq, 0 or more (0: from the start)"},
           {"?before=0", "before: an entry's seq, 1 or more"},
           {"?after=1&before=5",
            "after, before: give one of them (after pages forward, before pages back)"},
           {"?limit=1&limit=2", "query parameter 'limit': given more than once"},
           {"?page=2",
            "query parameter 'page': GET /api/v1/collaborations/{collaboration}/audit "
            "takes after, before, limit"},
           {"?%3Cscript%3E=1",
            "a query parameter: GET /api/v1/collaborations/{collaboration}/audit "
            "takes after, before, limit"},
       }) {
    Answer answer = Call("retailer", "GET", "/api/v1/collaborations/room/audit" + bad.query);
    EXPECT_EQ(answer.status, 400) << bad.query << " " << answer.json;
    EXPECT_EQ(answer.json["error"]["code"], "INVALID_ARGUMENT") << bad.query;
    EXPECT_EQ(answer.json["error"]["message"], bad.message) << bad.query;
  }
  // Routes that page nothing take no query parameter: a mistyped one is not silently ignored.
  Answer tables = Call("retailer", "GET", "/api/v1/collaborations/room/tables?limit=5");
  EXPECT_EQ(tables.status, 400) << tables.json;
  EXPECT_EQ(
      tables.json["error"]["message"],
      "query parameter 'limit': GET /api/v1/collaborations/{collaboration}/tables takes none");
  Answer verify =
      Call("retailer", "POST", "/api/v1/collaborations/room/audit/verify?limit=5", "{}");
  EXPECT_EQ(verify.status, 400) << verify.json;
}

TEST_F(ServerAuditPagesTest, TheCliListsAPageAndSaysWhereTheNextBegins) {
  for (int i = 0; i < 2; ++i) Append(i % 2 == 0);  // entries 1..9
  Outcome newest = Remote("retailer", {"audit", "list", "-c", "room", "--limit", "3"});
  ASSERT_EQ(newest.exit_code, 0) << newest;
  std::vector<std::string> lines = absl::StrSplit(newest.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << newest.out;
  EXPECT_THAT(lines[0], ::testing::StartsWith("9  "));
  EXPECT_THAT(lines[2], ::testing::StartsWith("7  "));
  EXPECT_EQ(lines[3], "more: --before 7");
  Outcome json = Remote("retailer", {"--json", "audit", "list", "-c", "room", "--after", "7"});
  ASSERT_EQ(json.exit_code, 0) << json;
  Json page = Json::parse(json.out);
  ASSERT_EQ(page["entries"].size(), 2u);
  EXPECT_EQ(page["entries"][0]["seq"], 8);
  EXPECT_EQ(page["head_seq"], 9);
  EXPECT_FALSE(page.contains("next"));
  // The same in embedded mode on the server's home.
  Outcome local =
      Embedded({"--as", "retailer", "--json", "audit", "list", "-c", "room", "--after", "7"});
  ASSERT_EQ(local.exit_code, 0) << local;
  EXPECT_EQ(Json::parse(local.out), page);
  Outcome both =
      Remote("retailer", {"audit", "list", "-c", "room", "--after", "1", "--before", "5"});
  EXPECT_EQ(both.exit_code, kExitUsage) << both;
  Outcome big = Remote("retailer", {"audit", "list", "-c", "room", "--limit", "5000"});
  EXPECT_EQ(big.exit_code, 1) << big;
  EXPECT_EQ(big.err, "error: limit: a page holds 1 to 1000 entries (got 5000)\n");
}

}  // namespace
}  // namespace parley::cli_test
