// The frame layer: round trips, the length limit checked before allocation, truncation, and the
// HELLO checks in the order the format fixes (docs/formats/psi.md).
#include "psi/frames.h"

#include "gtest/gtest.h"

namespace parley::psi {
namespace {

TEST(FramesTest, RoundTrip) {
  auto [a, b] = MemoryPipe();
  ASSERT_TRUE(WriteFrame(*a, FrameType::kDone, EncodeCount(42)).ok());
  absl::StatusOr<Frame> frame = ReadFrame(*b);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->type, static_cast<uint8_t>(FrameType::kDone));
  EXPECT_EQ(*DecodeCount(frame->payload), 42u);
}

TEST(FramesTest, OversizedLengthIsRefusedBeforeReading) {
  auto [a, b] = MemoryPipe();
  // Header only: a length of 4 GiB - 1 and no payload behind it.
  ASSERT_TRUE(a->Write(std::string("\x02\xff\xff\xff\xff", 5)).ok());
  absl::StatusOr<Frame> frame = ReadFrame(*b);
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      frame.status().message(),
      "the peer sent a BLINDED frame of 4294967295 bytes, which exceeds the limit of 1048576");
}

TEST(FramesTest, TruncatedFramesAndClosedConnections) {
  {
    auto [a, b] = MemoryPipe();
    ASSERT_TRUE(a->Write(std::string("\x02\x00\x00\x00\x40", 5) + std::string(10, 'x')).ok());
    a->Close();
    EXPECT_EQ(ReadFrame(*b).status().message(),
              "truncated frame: the connection ended inside a BLINDED frame of 64 bytes");
  }
  {
    auto [a, b] = MemoryPipe();
    ASSERT_TRUE(a->Write(std::string("\x02\x00", 2)).ok());
    a->Close();
    EXPECT_EQ(ReadFrame(*b).status().message(),
              "truncated frame: the connection ended inside a frame header");
  }
  {
    auto [a, b] = MemoryPipe();
    a->Close();
    EXPECT_EQ(ReadFrame(*b).status().code(), absl::StatusCode::kOutOfRange);
  }
}

TEST(FramesTest, HelloChecks) {
  Hello hello{kProtocolVersion, Mode::kCardinalityOnly, 1234};
  std::string bytes = EncodeHello(hello);
  ASSERT_EQ(bytes.size(), kHelloSize);
  absl::StatusOr<Hello> decoded = DecodeHello(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->mode, Mode::kCardinalityOnly);
  EXPECT_EQ(decoded->set_size, 1234u);

  EXPECT_EQ(DecodeHello("GET / HTTP/1.1\r\n\r\n").status().message(),
            "the peer does not speak the Parley PSI protocol");
  // A later version may have a longer hello: the version is named before the length is checked.
  std::string v2 = EncodeHello(Hello{2, Mode::kIntersection, 5}) + "more";
  EXPECT_EQ(DecodeHello(v2).status().message(),
            "the peer speaks PSI protocol version 2; this program speaks version 1");
  EXPECT_EQ(DecodeHello(bytes.substr(0, 15)).status().message(),
            "the peer's HELLO has 15 bytes; version 1 has 20");
  std::string bad_mode = bytes;
  bad_mode[10] = 7;
  EXPECT_EQ(DecodeHello(bad_mode).status().message(), "the peer's HELLO names an unknown mode 7");
  std::string reserved = bytes;
  reserved[11] = 3;
  EXPECT_EQ(DecodeHello(reserved).status().message(),
            "the peer's HELLO names an unknown result receiver 3");
  EXPECT_EQ(
      DecodeHello(EncodeHello(Hello{1, Mode::kIntersection, kMaxSetSize + 1})).status().message(),
      "the peer announced 1099511627777 identifiers; the limit is 1099511627776");
}

}  // namespace
}  // namespace parley::psi
