// PSI relayed through a Parley server (issue 11 §2, docs/formats/psi.md "Relayed through a
// server"), end to end: the real binary serves a home on a free loopback port; two members of a
// collaboration run `parley psi start` and `parley psi join` with their own tokens; the server
// relays their frames and the result reaches the designated receiver only, as a plain set
// intersection computes it; the session is audited. Then hostile messages sent straight to the
// API — a third member injecting, a replayed message number, wrong sizes, invalid curve points,
// a repeated element, a reflected set, a DOUBLE towards a party that must not learn the result —
// are refused with their reason, and the honest party reads why.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/jobs.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "psi/frames.h"
#include "psi/group.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class ServerPsiE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(psi::InitialiseSodium().ok());
    std::string pattern = (fs::path(::testing::TempDir()) / "parley_psi_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    scratch_ = dir_ / "scratch";
    fs::create_directories(scratch_);
    fs::path home = dir_ / "server_home";
    Outcome init = Spawn(
        {"--home", home.string(), "serve", "init", "--save-token", (dir_ / "admin.token").string()},
        scratch_);
    ASSERT_EQ(init.exit_code, 0) << init;
    server_pid_ = SpawnInBackground({"--home", home.string(), "serve", "--listen", "127.0.0.1:0"},
                                    scratch_, "server");
    ASSERT_GT(server_pid_, 0);
    std::regex listening("listening on (http://127\\.0\\.0\\.1:([0-9]+))");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::smatch match;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      out = ReadText(scratch_ / "server_stdout.txt");
      if (std::regex_search(out, match, listening)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::regex_search(out, match, listening))
        << "the server did not become ready: " << out << ReadText(scratch_ / "server_stderr.txt");
    url_ = match[1];
    port_ = std::stoi(match[2]);
    for (const char* organisation : {"retailer", "supplier", "agency"}) {
      fs::path config = dir_ / (std::string(organisation) + "_config");
      fs::create_directories(config);
      std::string token_file = (config / "token").string();
      Outcome added = Remote("admin", {"org", "add", organisation, "--save-token", token_file});
      ASSERT_EQ(added.exit_code, 0) << added;
      token_files_[organisation] = token_file;
      std::string token = ReadText(token_file);
      while (!token.empty() && token.back() == '\n') token.pop_back();
      tokens_[organisation] = token;
    }
    // The room: the retailer and the supplier may query and receive; the agency too, but it is
    // not a party of the sessions below.
    Ok("retailer", {"collaboration", "create", "room"});
    // Both invited while the retailer is the only active member (no other approval needed).
    std::map<std::string, std::string> codes;
    for (const char* member : {"supplier", "agency"}) {
      Outcome invited = Ok("retailer", {"--json", "member", "invite", "-c", "room", member,
                                        "--abilities", "query,receive"});
      nlohmann::json json = nlohmann::json::parse(invited.out, nullptr, false);
      ASSERT_TRUE(json.is_object()) << invited;
      codes[member] = json["code"].get<std::string>();
    }
    for (const auto& [member, code] : codes) Ok(member, {"join", code});
  }

  void TearDown() override {
    if (server_pid_ > 0) {
      kill(server_pid_, SIGTERM);
      int status = 0;
      bool ended = false;
      for (int i = 0; i < 200 && !ended; ++i) {
        ended = waitpid(server_pid_, &status, WNOHANG) == server_pid_;
        if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!ended) {
        kill(server_pid_, SIGKILL);
        waitpid(server_pid_, &status, 0);
      }
    }
    fs::remove_all(dir_);
  }

  std::vector<std::string> RemoteArguments(const std::string& organisation,
                                           std::vector<std::string> arguments) {
    std::string token_file =
        organisation == "admin" ? (dir_ / "admin.token").string() : token_files_[organisation];
    arguments.insert(arguments.begin(), {"--server", url_, "--token-file", token_file});
    return arguments;
  }
  Outcome Remote(const std::string& organisation, std::vector<std::string> arguments) {
    return Spawn(RemoteArguments(organisation, std::move(arguments)), scratch_);
  }
  Outcome Ok(const std::string& organisation, const std::vector<std::string>& arguments) {
    Outcome outcome = Remote(organisation, arguments);
    EXPECT_EQ(outcome.exit_code, 0) << organisation << ": " << outcome;
    return outcome;
  }

  struct Answer {
    int status = 0;
    nlohmann::json body;
  };
  Answer Post(const std::string& organisation, const std::string& path,
              const nlohmann::json& body) {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(tokens_[organisation]);
    client.set_read_timeout(30, 0);
    httplib::Result result = client.Post(path, body.dump(), "application/json");
    if (!result) return {};
    return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
  }
  // A session the retailer starts with the supplier; the result goes to `receivers`.
  std::string StartSession(const std::vector<std::string>& receivers = {}) {
    nlohmann::json body = {{"peer", "supplier"}};
    if (!receivers.empty()) body["receivers"] = receivers;
    Answer started = Post("retailer", "/api/v1/collaborations/room/psi", body);
    EXPECT_EQ(started.status, 200) << started.body;
    return started.body.value("session", "");
  }
  Answer Send(const std::string& organisation, const std::string& session, int64_t sequence,
              psi::FrameType type, const std::string& payload) {
    std::string frame(1, static_cast<char>(type));
    for (int i = 3; i >= 0; --i)
      frame.push_back(static_cast<char>((payload.size() >> (8 * i)) & 255));
    frame += payload;
    return Post(organisation, absl::StrCat("/api/v1/collaborations/room/psi/", session, "/frames"),
                {{"sequence", sequence}, {"frame", api::Base64Encode(frame)}});
  }
  Answer Receive(const std::string& organisation, const std::string& session, int64_t after) {
    return Post(organisation, absl::StrCat("/api/v1/collaborations/room/psi/", session, "/receive"),
                {{"after", after}, {"wait_ms", 200}});
  }
  static std::string Hello(uint64_t size, psi::Receivers receivers = psi::Receivers::kResponder) {
    return psi::EncodeHello(psi::Hello{1, psi::Mode::kIntersection, size, receivers});
  }
  static std::string Elements(const std::vector<std::string>& identifiers) {
    std::string out;
    for (const std::string& identifier : identifiers) {
      psi::Element element = psi::HashToGroup(identifier);
      out.append(reinterpret_cast<const char*>(element.data()), element.size());
    }
    return out;
  }
  // The error message of an answer.
  static std::string Message(const Answer& answer) {
    if (!answer.body.is_object() || !answer.body.contains("error")) return answer.body.dump();
    return answer.body["error"].value("message", answer.body.dump());
  }

  fs::path dir_;
  fs::path scratch_;
  pid_t server_pid_ = -1;
  std::string url_;
  int port_ = 0;
  std::map<std::string, std::string> token_files_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ServerPsiE2eTest, TwoMembersMatchThroughTheServerAndOnlyTheReceiverLearnsTheResult) {
  // The retailer's customers 1..300 and the supplier's 200..500 (in its own spelling): 101 in
  // common after normalisation.
  std::string retail = "email,segment\n", loyalty = "email\n";
  for (int i = 1; i <= 300; ++i) absl::StrAppend(&retail, "user", i, "@example.com,s", i % 3, "\n");
  for (int i = 200; i <= 500; ++i) absl::StrAppend(&loyalty, " User", i, "@Example.com\n");
  WriteText(dir_ / "retail.csv", retail);
  WriteText(dir_ / "loyalty.csv", loyalty);

  // The supplier may not take the result it does not receive.
  pid_t starter = SpawnInBackground(
      RemoteArguments("retailer",
                      {"psi", "start", "-c", "room", "--peer", "supplier", "--input",
                       (dir_ / "retail.csv").string(), "--column", "email", "--normalise", "email",
                       "--output", (dir_ / "matches.csv").string()}),
      scratch_, "starter");
  ASSERT_GT(starter, 0);
  std::regex started("psi session (psi_[A-Za-z0-9_-]+) started with supplier");
  std::smatch match;
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    err = ReadText(scratch_ / "starter_stderr.txt");
    if (std::regex_search(err, match, started)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::regex_search(err, match, started)) << err;
  std::string session = match[1];

  // Someone else cannot join it, nor may the supplier ask for the result it does not receive.
  Outcome intruder = Remote("agency", {"psi", "join", "-c", "room", session, "--input",
                                       (dir_ / "loyalty.csv").string(), "--column", "email"});
  EXPECT_NE(intruder.exit_code, 0);
  EXPECT_THAT(intruder.err,
              HasSubstr(absl::StrCat("member 'agency' is not a party of PSI session '", session)));
  Outcome greedy =
      Remote("supplier", {"psi", "join", "-c", "room", session, "--input",
                          (dir_ / "loyalty.csv").string(), "--column", "email", "--normalise",
                          "email", "--output", (dir_ / "theirs.csv").string()});
  EXPECT_NE(greedy.exit_code, 0);
  EXPECT_THAT(greedy.err, HasSubstr(absl::StrCat("--output: the result of session ", session,
                                                 " goes to retailer only; leave out --output")));

  Outcome joined = Remote(
      "supplier", {"psi", "join", "-c", "room", session, "--input", (dir_ / "loyalty.csv").string(),
                   "--column", "email", "--normalise", "email"});
  ASSERT_EQ(joined.exit_code, 0) << joined;
  EXPECT_EQ(joined.out,
            "done: the result went to retailer only (you sent 301 identifiers; the peer has "
            "300)\n");
  int status = 0;
  ASSERT_EQ(waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << ReadText(scratch_ / "starter_stderr.txt");
  EXPECT_THAT(ReadText(scratch_ / "starter_stdout.txt"),
              HasSubstr("intersection: 101 of your 300 identifiers (the peer has 301)"));
  Csv matches = ParseCsv(ReadText(dir_ / "matches.csv"));
  std::set<std::string> got;
  for (const auto& row : matches.rows) got.insert(row[0]);
  std::set<std::string> expected;
  for (int i = 200; i <= 300; ++i) expected.insert(absl::StrCat("user", i, "@example.com"));
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(fs::exists(dir_ / "theirs.csv"));

  // Audited: who started it with whom, for whom, and that it completed — never an identifier.
  Outcome audit = Ok("supplier", {"--json", "audit", "list", "-c", "room"});
  EXPECT_THAT(audit.out, HasSubstr("psi.started"));
  EXPECT_THAT(audit.out, HasSubstr("psi.completed"));
  EXPECT_THAT(audit.out, Not(HasSubstr("example.com")));
}

TEST_F(ServerPsiE2eTest, OnlyMembersWithTheAbilitiesStartASessionForItsOwnParties) {
  Answer stranger = Post("retailer", "/api/v1/collaborations/room/psi", {{"peer", "nobody"}});
  EXPECT_EQ(stranger.status, 400);
  EXPECT_EQ(Message(stranger), "'nobody' is not an active member of collaboration 'room'");
  Answer third = Post("retailer", "/api/v1/collaborations/room/psi",
                      {{"peer", "supplier"}, {"receivers", {"agency"}}});
  EXPECT_EQ(third.status, 400);
  EXPECT_EQ(Message(third),
            "receiver 'agency' is not a party of the session (retailer or supplier)");
  Answer self = Post("retailer", "/api/v1/collaborations/room/psi", {{"peer", "retailer"}});
  EXPECT_EQ(Message(self), "a PSI session is between two members: name another one");
  // An organisation outside the room does not see it at all.
  WriteText(dir_ / "none.csv", "x\n1\n");
  Outcome outsider = Remote("admin", {"psi", "start", "-c", "room", "--peer", "supplier", "--input",
                                      (dir_ / "none.csv").string(), "--column", "x"});
  EXPECT_NE(outsider.exit_code, 0);
  EXPECT_THAT(outsider.err, HasSubstr("collaboration 'room' not found"));
}

TEST_F(ServerPsiE2eTest, HostileMessagesAreRefusedWithTheirReason) {
  // A third member injecting into a session, or reading it.
  std::string session = StartSession();
  ASSERT_FALSE(session.empty());
  Answer injected = Send("agency", session, 1, psi::FrameType::kHello, Hello(1));
  EXPECT_EQ(injected.status, 403);
  EXPECT_EQ(Message(injected),
            absl::StrCat("member 'agency' is not a party of PSI session '", session, "'"));
  EXPECT_EQ(Receive("agency", session, 0).status, 403);

  // A replayed message number, and one that skips ahead; the session goes on.
  ASSERT_EQ(Send("supplier", session, 1, psi::FrameType::kHello, Hello(2)).status, 200);
  Answer replayed = Send("supplier", session, 1, psi::FrameType::kHello, Hello(2));
  EXPECT_EQ(replayed.status, 400);
  EXPECT_EQ(Message(replayed),
            "message 1 of member 'supplier' was already relayed (a replay); the next is 2");
  Answer skipped = Send("supplier", session, 5, psi::FrameType::kBlinded, Elements({"a"}));
  EXPECT_EQ(Message(skipped), "message 5 of member 'supplier' skips message 2");

  // A wrong size ends the session; the retailer reads an ABORT naming it.
  Answer wrong_size = Send("supplier", session, 2, psi::FrameType::kBlinded, Elements({"a"}) + "x");
  EXPECT_EQ(wrong_size.status, 400);
  const std::string size_reason =
      "the relay refused message 2 of member 'supplier': a BLINDED frame of 33 bytes; it must "
      "hold 1 to 4096 elements of 32 bytes";
  EXPECT_EQ(Message(wrong_size), size_reason);
  Answer read = Receive("retailer", session, 0);
  ASSERT_EQ(read.status, 200) << read.body;
  ASSERT_EQ(read.body["frames"].size(), 2u);  // the HELLO, then the relay's ABORT
  absl::StatusOr<std::string> abort = api::Base64Decode(read.body["frames"][1].get<std::string>());
  ASSERT_TRUE(abort.ok());
  EXPECT_EQ(static_cast<uint8_t>((*abort)[0]), static_cast<uint8_t>(psi::FrameType::kAbort));
  EXPECT_EQ(abort->substr(5), size_reason);
  EXPECT_TRUE(read.body["ended"].get<bool>());
  EXPECT_EQ(Message(Send("supplier", session, 3, psi::FrameType::kDone, std::string(8, '\0'))),
            absl::StrCat("PSI session '", session, "' has ended: ", size_reason));

  struct Case {
    std::string name;
    std::function<Answer(const std::string&)> attack;
    std::string reason;
  };
  std::string invalid(32, '\xff');
  const std::vector<Case> cases = {
      {"not a curve point",
       [&](const std::string& s) {
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(2));
         return Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"a"}) + invalid);
       },
       "element 2 of its blinded set is not a canonical ristretto255 encoding, or is the "
       "identity"},
      {"the identity",
       [&](const std::string& s) {
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(1));
         return Send("supplier", s, 2, psi::FrameType::kBlinded, std::string(32, '\0'));
       },
       "element 1 of its blinded set is not a canonical ristretto255 encoding, or is the "
       "identity"},
      {"a repeated element",
       [&](const std::string& s) {
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(3));
         Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"a", "b"}));
         return Send("supplier", s, 3, psi::FrameType::kBlinded, Elements({"a"}));
       },
       "element 3 of its blinded set repeats an earlier one (a replayed element)"},
      {"more elements than announced",
       [&](const std::string& s) {
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(1));
         return Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"a", "b"}));
       },
       "more elements than the 1 of its blinded set that were announced"},
      {"the peer's elements reflected back",
       [&](const std::string& s) {
         Send("retailer", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"b"}));
         return Send("retailer", s, 2, psi::FrameType::kBlinded, Elements({"b"}));
       },
       "element 1 of its blinded set is an element the peer sent (reflected back, not blinded)"},
      {"a DOUBLE towards the party that does not receive",
       [&](const std::string& s) {
         Send("retailer", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"b"}));
         Send("retailer", s, 2, psi::FrameType::kBlinded, Elements({"a"}));
         return Send("retailer", s, 3, psi::FrameType::kDouble, Elements({"c"}));
       },
       "a DOUBLE frame would return member 'supplier''s set to it, and it does not receive this "
       "session's result"},
      {"a count in DONE to the party that does not receive",
       [&](const std::string& s) {
         Send("retailer", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 1, psi::FrameType::kHello, Hello(1));
         Send("supplier", s, 2, psi::FrameType::kBlinded, Elements({"b"}));
         Send("retailer", s, 2, psi::FrameType::kBlinded, Elements({"a"}));
         Send("supplier", s, 3, psi::FrameType::kDouble, Elements({"c"}));
         return Send("retailer", s, 3, psi::FrameType::kDone, psi::EncodeCount(1));
       },
       "its DONE carries a count, and this session's result goes to the responder only: the "
       "count would reach a party that does not receive it"},
      {"a HELLO that sends the result elsewhere",
       [&](const std::string& s) {
         return Send("supplier", s, 1, psi::FrameType::kHello,
                     Hello(1, psi::Receivers::kInitiator));
       },
       "its HELLO sends the result to the initiator only; this session's result goes to the "
       "responder only"},
      {"a frame out of order",
       [&](const std::string& s) {
         return Send("supplier", s, 1, psi::FrameType::kDouble, Elements({"a"}));
       },
       "a DOUBLE frame where its HELLO was due"},
  };
  for (const Case& c : cases) {
    std::string s = StartSession();
    Answer refused = c.attack(s);
    EXPECT_EQ(refused.status, 400) << c.name << ": " << refused.body;
    EXPECT_THAT(Message(refused), HasSubstr(c.reason)) << c.name;
    nlohmann::json shown;
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(tokens_["retailer"]);
    httplib::Result state = client.Get(absl::StrCat("/api/v1/collaborations/room/psi/", s));
    ASSERT_TRUE(state) << c.name;
    shown = nlohmann::json::parse(state->body, nullptr, false);
    EXPECT_EQ(shown.value("status", ""), "failed") << c.name << ": " << state->body;
  }
  // Every refusal is in the audit log, without an element.
  Outcome audit = Ok("retailer", {"--json", "audit", "list", "-c", "room"});
  EXPECT_THAT(audit.out, HasSubstr("psi.failed"));
  EXPECT_THAT(audit.out, HasSubstr("repeats an earlier one (a replayed element)"));
}

}  // namespace
}  // namespace parley::cli_test
