// Sessions over an in-memory pipe: the result against a plain set intersection on random sets
// (empty, one, very different sizes, several frames), cardinality-only mode, the protocol's own
// test vectors, and cheating peers — each must end the honest side's session with the exact
// error, after an ABORT telling the peer why.
#include "psi/protocol.h"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "psi/group.h"

namespace parley::psi {
namespace {

struct Outcome {
  absl::StatusOr<SessionResult> responder;
  absl::StatusOr<SessionResult> initiator;
};

Outcome RunPair(const std::vector<std::string>& responder_ids,
                const std::vector<std::string>& initiator_ids,
                const SessionOptions& responder_options = {},
                const SessionOptions& initiator_options = {}) {
  auto [r, i] = MemoryPipe();
  Outcome outcome{absl::UnknownError(""), absl::UnknownError("")};
  std::thread responder([&, channel = r.get()] {
    outcome.responder = RunSession(*channel, Role::kResponder, responder_ids, responder_options);
  });
  outcome.initiator = RunSession(*i, Role::kInitiator, initiator_ids, initiator_options);
  responder.join();
  return outcome;
}

std::set<std::string> Matched(const std::vector<std::string>& ids, const SessionResult& result) {
  std::set<std::string> out;
  for (size_t position : result.matched) out.insert(ids[position]);
  return out;
}

// Two random sets of e-mail-like identifiers with `common` in both.
std::pair<std::vector<std::string>, std::vector<std::string>> RandomSets(size_t a, size_t b,
                                                                         size_t common,
                                                                         uint32_t seed) {
  std::mt19937_64 random(seed);
  auto fresh = [&] { return absl::StrCat("user", random(), "@example.com"); };
  std::vector<std::string> left, right;
  for (size_t i = 0; i < common; ++i) {
    std::string id = fresh();
    left.push_back(id);
    right.push_back(id);
  }
  while (left.size() < a) left.push_back(fresh());
  while (right.size() < b) right.push_back(fresh());
  std::shuffle(left.begin(), left.end(), random);
  std::shuffle(right.begin(), right.end(), random);
  return {left, right};
}

TEST(ProtocolTest, MatchesAPlainIntersection) {
  InitialiseSodium().IgnoreError();
  struct Case {
    size_t a, b, common;
  };
  // Empty sides, one identifier, very different sizes, several frames on one side (> 4096).
  for (Case c : std::vector<Case>{{0, 0, 0},
                                  {0, 7, 0},
                                  {7, 0, 0},
                                  {1, 1, 1},
                                  {1, 1, 0},
                                  {1, 3000, 1},
                                  {3000, 2, 2},
                                  {5000, 300, 123},
                                  {64, 64, 64}}) {
    auto [left, right] = RandomSets(c.a, c.b, c.common, static_cast<uint32_t>(c.a * 31 + c.b));
    Outcome outcome = RunPair(left, right);
    ASSERT_TRUE(outcome.responder.ok()) << outcome.responder.status();
    ASSERT_TRUE(outcome.initiator.ok()) << outcome.initiator.status();
    std::set<std::string> expected;
    std::set<std::string> right_set(right.begin(), right.end());
    for (const std::string& id : left) {
      if (right_set.contains(id)) expected.insert(id);
    }
    EXPECT_EQ(expected.size(), c.common);
    EXPECT_EQ(Matched(left, *outcome.responder), expected) << c.a << "x" << c.b;
    EXPECT_EQ(Matched(right, *outcome.initiator), expected) << c.a << "x" << c.b;
    EXPECT_EQ(outcome.responder->intersection_size, c.common);
    EXPECT_EQ(outcome.responder->own_size, c.a);
    EXPECT_EQ(outcome.responder->peer_size, c.b);
    EXPECT_EQ(outcome.initiator->peer_size, c.a);
  }
}

// A session whose result goes to one party (a relayed session's designated receiver): only that
// party gets its own set back doubly blinded and learns the intersection; the other receives
// none, learns nothing, and DONE carries 0 both ways.
TEST(ProtocolTest, AOneSidedResultReachesOnlyItsReceiver) {
  auto [left, right] = RandomSets(400, 250, 60, 11);
  std::set<std::string> right_set(right.begin(), right.end());
  std::set<std::string> expected;
  for (const std::string& id : left) {
    if (right_set.contains(id)) expected.insert(id);
  }
  for (Receivers receivers : {Receivers::kResponder, Receivers::kInitiator}) {
    SessionOptions responder_options, initiator_options;
    responder_options.receivers = initiator_options.receivers = receivers;
    std::vector<std::pair<FrameType, std::string>> responder_sent, initiator_sent;
    responder_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
      responder_sent.emplace_back(type, std::string(payload));
    };
    initiator_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
      initiator_sent.emplace_back(type, std::string(payload));
    };
    Outcome outcome = RunPair(left, right, responder_options, initiator_options);
    ASSERT_TRUE(outcome.responder.ok()) << outcome.responder.status();
    ASSERT_TRUE(outcome.initiator.ok()) << outcome.initiator.status();
    const bool responder_learns = receivers == Receivers::kResponder;
    const SessionResult& receiver = responder_learns ? *outcome.responder : *outcome.initiator;
    const SessionResult& other = responder_learns ? *outcome.initiator : *outcome.responder;
    EXPECT_TRUE(receiver.learned);
    EXPECT_EQ(Matched(responder_learns ? left : right, receiver), expected);
    EXPECT_EQ(receiver.intersection_size, 60u);
    EXPECT_FALSE(other.learned);
    EXPECT_EQ(other.intersection_size, 0u);
    EXPECT_TRUE(other.matched.empty());
    // The receiver never returns the other's set; every DONE says 0.
    const auto& receiver_sent = responder_learns ? responder_sent : initiator_sent;
    for (const auto& [type, payload] : receiver_sent) EXPECT_NE(type, FrameType::kDouble);
    for (const auto* sent : {&responder_sent, &initiator_sent}) {
      ASSERT_FALSE(sent->empty());
      EXPECT_EQ(sent->back().first, FrameType::kDone);
      EXPECT_EQ(sent->back().second, EncodeCount(0));
    }
  }
}

TEST(ProtocolTest, PeersThatDisagreeOnTheReceiverStopAtHello) {
  SessionOptions responder_options, initiator_options;
  responder_options.receivers = Receivers::kResponder;
  Outcome outcome = RunPair({"a"}, {"a"}, responder_options, initiator_options);
  EXPECT_EQ(outcome.responder.status().message(),
            "the peer expects the result to go to both parties; this side to the responder only");
  EXPECT_EQ(outcome.responder.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(outcome.initiator.ok());
}

TEST(ProtocolTest, RepeatedIdentifiersAreRefusedLocally) {
  auto [a, b] = MemoryPipe();
  absl::StatusOr<SessionResult> result = RunSession(*a, Role::kResponder, {"x", "y", "x"}, {});
  EXPECT_EQ(result.status().message(), "the identifiers given to a PSI session repeat");
}

TEST(ProtocolTest, CardinalityOnlyLearnsOnlyTheCount) {
  auto [left, right] = RandomSets(300, 200, 50, 7);
  SessionOptions options;
  options.mode = Mode::kCardinalityOnly;
  // What the responder returns to the initiator, to compare with what the initiator sent.
  std::vector<std::string> initiator_sent, responder_returned;
  SessionOptions responder_options = options, initiator_options = options;
  responder_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kDouble) responder_returned.emplace_back(payload);
  };
  initiator_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kBlinded) initiator_sent.emplace_back(payload);
  };
  Outcome outcome = RunPair(left, right, responder_options, initiator_options);
  ASSERT_TRUE(outcome.responder.ok()) << outcome.responder.status();
  ASSERT_TRUE(outcome.initiator.ok()) << outcome.initiator.status();
  EXPECT_EQ(outcome.responder->intersection_size, 50u);
  EXPECT_EQ(outcome.initiator->intersection_size, 50u);
  EXPECT_TRUE(outcome.responder->matched.empty());
  EXPECT_TRUE(outcome.initiator->matched.empty());

  // The initiator's elements come back shuffled: a ↦ a·(b·H(y)) is computable only by the
  // responder, so the test recomputes the unshuffled order from the key it does not have — it
  // checks instead that the matching positions cannot be read off: the element the initiator sent
  // in position i, doubly blinded, is not at position i of the answer (for all but a few i).
  ASSERT_EQ(initiator_sent.size(), 1u);
  ASSERT_EQ(responder_returned.size(), 1u);
  // Same mode in intersection: the answer keeps the order, so this is what a shuffle must break.
  SessionOptions keep_responder, keep_initiator;
  std::string kept_sent, kept_returned;
  keep_responder.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kDouble) kept_returned = std::string(payload);
  };
  std::array<uint8_t, 32> a_bytes{5}, b_bytes{9};
  keep_responder.key_for_testing = a_bytes;
  keep_initiator.key_for_testing = b_bytes;
  keep_initiator.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kBlinded) kept_sent = std::string(payload);
  };
  SessionOptions shuffled_responder = keep_responder, shuffled_initiator = keep_initiator;
  shuffled_responder.mode = shuffled_initiator.mode = Mode::kCardinalityOnly;
  std::string shuffled_sent, shuffled_returned;
  shuffled_responder.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kDouble) shuffled_returned = std::string(payload);
  };
  shuffled_initiator.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    if (type == FrameType::kBlinded) shuffled_sent = std::string(payload);
  };
  ASSERT_TRUE(RunPair(left, right, keep_responder, keep_initiator).initiator.ok());
  ASSERT_TRUE(RunPair(left, right, shuffled_responder, shuffled_initiator).initiator.ok());
  Scalar a = Scalar::FromBytesForTesting(a_bytes);
  auto aligned = [&](const std::string& sent, const std::string& returned) {
    size_t same = 0;
    for (size_t i = 0; i < sent.size() / 32; ++i) {
      Element element;
      std::memcpy(element.data(), sent.data() + 32 * i, 32);
      Element expected = *Blind(a, element);
      if (std::memcmp(expected.data(), returned.data() + 32 * i, 32) == 0) ++same;
    }
    return same;
  };
  EXPECT_EQ(aligned(kept_sent, kept_returned), 200u);
  EXPECT_LT(aligned(shuffled_sent, shuffled_returned), 10u);
}

TEST(ProtocolTest, DifferentModesAreRefusedOnBothSides) {
  SessionOptions cardinality;
  cardinality.mode = Mode::kCardinalityOnly;
  Outcome outcome = RunPair({"a"}, {"a"}, cardinality, {});
  EXPECT_EQ(outcome.responder.status().message(),
            "the peer asked for intersection; this side asked for cardinality only (both must "
            "give --cardinality-only or neither)");
  EXPECT_EQ(outcome.responder.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(outcome.initiator.status().code(), absl::StatusCode::kFailedPrecondition);
}

// The protocol's own test vectors (docs/formats/psi.md): scalars 2 and 3, no shuffling.
TEST(ProtocolTest, KnownAnswerSession) {
  std::vector<std::string> responder_ids = {"alice@example.com", "bob@example.com"};
  std::vector<std::string> initiator_ids = {"bob@example.com", "carol@example.com"};
  SessionOptions responder_options, initiator_options;
  responder_options.key_for_testing = std::array<uint8_t, 32>{2};
  initiator_options.key_for_testing = std::array<uint8_t, 32>{3};
  responder_options.shuffle = initiator_options.shuffle = false;
  std::vector<std::string> responder_frames, initiator_frames;
  auto hex = [](absl::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2));
    return out;
  };
  responder_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    responder_frames.push_back(
        absl::StrCat(FrameTypeName(static_cast<uint8_t>(type)), " ", hex(payload)));
  };
  initiator_options.sent_for_testing = [&](FrameType type, absl::string_view payload) {
    initiator_frames.push_back(
        absl::StrCat(FrameTypeName(static_cast<uint8_t>(type)), " ", hex(payload)));
  };
  Outcome outcome = RunPair(responder_ids, initiator_ids, responder_options, initiator_options);
  ASSERT_TRUE(outcome.responder.ok());
  EXPECT_EQ(Matched(responder_ids, *outcome.responder), std::set<std::string>{"bob@example.com"});
  EXPECT_EQ(Matched(initiator_ids, *outcome.initiator), std::set<std::string>{"bob@example.com"});
  EXPECT_EQ(responder_frames,
            (std::vector<std::string>{
                "HELLO 50524c592d505349000101000000000000000002",
                "BLINDED 34b5729b6668199a3a3104d575ee0e7b4185074789ce341a1fead1c99a4c5f25"
                "38469587eececbade58f58bc3f23b4a8207e4a921c19612ffa339fad2bbc2d4e",
                "DOUBLE 84650396cf24e546a3ea562265d68ff9972383ab304b481c263aa545bad0c858"
                "e8e4635e3b335012cb7742f9eda8dab7d001fa6cfe88bf36b150d47b28710815",
                "DONE 0000000000000001"}));
  EXPECT_EQ(initiator_frames,
            (std::vector<std::string>{
                "HELLO 50524c592d505349000101000000000000000002",
                "BLINDED 082436c9e28c75eb847f73c780946938bea6dab3d79220d1a9ffd2290dbb4304"
                "b650377dc2ff88edb84aea529ac10bad9e32ada12da1ebe84e71dedaf3dbca4f",
                "DOUBLE 32f619aa5d956d7dcc359504c79e3956fa790020c06095bb01997d326d299722"
                "84650396cf24e546a3ea562265d68ff9972383ab304b481c263aa545bad0c858",
                "DONE 0000000000000001"}));
}

// A cheating initiator scripted frame by frame against an honest responder.
struct Cheat {
  std::string name;
  std::function<void(Channel&)> script;
  std::string expected;
};

std::string Elements(const std::vector<Element>& elements) {
  std::string out;
  for (const Element& e : elements) out.append(reinterpret_cast<const char*>(e.data()), 32);
  return out;
}

TEST(ProtocolTest, CheatingPeersEndTheSessionCleanly) {
  InitialiseSodium().IgnoreError();
  Scalar key = Scalar::Random();
  Element p1 = *Blind(key, HashToGroup("p1")), p2 = *Blind(key, HashToGroup("p2"));
  Element identity{};
  Element invalid{};
  invalid.fill(0xff);
  auto hello = [](uint64_t size, uint16_t version = 1) {
    return EncodeHello(Hello{version, Mode::kIntersection, size});
  };
  std::vector<Cheat> cheats = {
      {"identity element",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(2));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1, identity}));
       },
       "the peer sent an invalid group element (element 2 of its blinded set): not a canonical "
       "ristretto255 encoding, or the identity"},
      {"invalid encoding",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(2));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({invalid, p1}));
       },
       "the peer sent an invalid group element (element 1 of its blinded set): not a canonical "
       "ristretto255 encoding, or the identity"},
      {"identity in the doubly blinded set",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(1));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1}));
         (void)ReadFrame(c);  // the honest side's BLINDED
         (void)ReadFrame(c);  // its DOUBLE: our set back
         (void)WriteFrame(c, FrameType::kDouble, Elements({p1, p2, identity}));
       },
       "the peer sent an invalid group element (element 3 of its doubly blinded set): not a "
       "canonical ristretto255 encoding, or the identity"},
      {"replayed element",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(3));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1, p2}));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1}));
       },
       "the peer sent element 3 of its blinded set twice (a replayed element)"},
      {"more elements than announced",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(1));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1, p2}));
       },
       "the peer sent more than the 1 elements of its blinded set that it announced"},
      {"fewer elements than announced",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(3));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1}));
         (void)WriteFrame(c, FrameType::kDone, EncodeCount(0));
       },
       "the peer sent a DONE frame where its blinded set (element 2 of 3, in BLINDED frames) was "
       "due"},
      {"payload not a multiple of 32",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(1));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1}).substr(0, 31));
       },
       "the peer sent a BLINDED frame of 31 bytes; it must hold 1 to 4096 elements of 32 bytes"},
      {"oversized frame",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(1));
         (void)c.Write(std::string("\x02\x00\x10\x00\x01", 5));
       },
       "the peer sent a BLINDED frame of 1048577 bytes, which exceeds the limit of 1048576"},
      {"truncated frame",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(2));
         (void)c.Write(std::string("\x02\x00\x00\x00\x40", 5) + Elements({p1}));
         c.Close();
       },
       "truncated frame: the connection ended inside a BLINDED frame of 64 bytes"},
      {"disconnect",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(2));
         c.Close();
       },
       "the peer closed the connection while this side waited for its blinded set (element 1 of "
       "2, in BLINDED frames)"},
      {"huge announced set",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(kMaxSetSize));
         (void)WriteFrame(c, FrameType::kBlinded, Elements({p1}));
         c.Close();
       },
       "the peer closed the connection while this side waited for its blinded set (element 2 of "
       "1099511627776, in BLINDED frames)"},
      {"other version", [&](Channel& c) { (void)WriteFrame(c, FrameType::kHello, hello(2, 2)); },
       "the peer speaks PSI protocol version 2; this program speaks version 1"},
      {"not the protocol", [&](Channel& c) { (void)c.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); },
       "the peer sent a frame of unknown type 0x47: it does not speak the Parley PSI protocol"},
      {"peer aborts",
       [&](Channel& c) {
         (void)WriteFrame(c, FrameType::kHello, hello(2));
         (void)WriteFrame(c, FrameType::kAbort, "out of patience\n");
       },
       "the peer ended the session: out of patience?"},
  };
  for (const Cheat& cheat : cheats) {
    auto [honest, cheater] = MemoryPipe();
    absl::StatusOr<SessionResult> result = absl::UnknownError("");
    std::thread responder([&, channel = honest.get()] {
      result = RunSession(*channel, Role::kResponder, {"p1", "p2", "p3"}, {});
    });
    // The honest side's HELLO first, so that it is never cut off by the cheater's close.
    ASSERT_TRUE(ReadFrame(*cheater).ok()) << cheat.name;
    cheat.script(*cheater);
    responder.join();
    EXPECT_FALSE(result.ok()) << cheat.name;
    EXPECT_EQ(result.status().message(), cheat.expected) << cheat.name;
    // The honest side told the cheater why (when the connection still carried it): after its
    // HELLO, an ABORT with the same reason.
    if (cheat.name != "truncated frame" && cheat.name != "disconnect" &&
        cheat.name != "huge announced set" && cheat.name != "peer aborts") {
      absl::StatusOr<Frame> abort = ReadFrame(*cheater);
      ASSERT_TRUE(abort.ok()) << cheat.name;
      EXPECT_EQ(abort->type, static_cast<uint8_t>(FrameType::kAbort)) << cheat.name;
      EXPECT_EQ(abort->payload, cheat.expected.substr(0, kMaxAbortReason)) << cheat.name;
    }
  }
}

// A peer that returns elements that are valid but wrong (not this side's set): both sides' counts
// then disagree, and the honest side says so instead of reporting a wrong intersection silently.
TEST(ProtocolTest, ReturnedElementsThatDoNotMatchAreDetected) {
  InitialiseSodium().IgnoreError();
  auto [honest, cheater] = MemoryPipe();
  absl::StatusOr<SessionResult> result = absl::UnknownError("");
  std::thread initiator([&, channel = honest.get()] {
    result = RunSession(*channel, Role::kInitiator, {"p1", "p2"}, {});
  });
  Scalar key = Scalar::Random();
  ASSERT_TRUE(
      WriteFrame(*cheater, FrameType::kHello, EncodeHello(Hello{1, Mode::kIntersection, 2})).ok());
  ASSERT_TRUE(ReadFrame(*cheater).ok());  // HELLO
  absl::StatusOr<Frame> blinded = ReadFrame(*cheater);
  ASSERT_TRUE(blinded.ok());
  // Its own "set": the honest side's own elements, so two matches are real...
  std::vector<Element> mine = {*Blind(key, HashToGroup("p1")), *Blind(key, HashToGroup("p2"))};
  ASSERT_TRUE(WriteFrame(*cheater, FrameType::kBlinded, Elements(mine)).ok());
  // ...but it returns fresh random elements instead of the doubly blinded set.
  ASSERT_TRUE(WriteFrame(*cheater, FrameType::kDouble,
                         Elements({*Blind(key, HashToGroup("r1")), *Blind(key, HashToGroup("r2"))}))
                  .ok());
  ASSERT_TRUE(ReadFrame(*cheater).ok());  // the honest side's DOUBLE
  ASSERT_TRUE(WriteFrame(*cheater, FrameType::kDone, EncodeCount(2)).ok());
  initiator.join();
  EXPECT_EQ(result.status().message(),
            "the peer found 2 common identifiers, this side found 0: the peer did not follow the "
            "protocol");
}

}  // namespace
}  // namespace parley::psi
