#include "results/sealed.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::results {
namespace {

TEST(SealedTest, RoundTripForEveryReceiverAndNoPlaintextInTheBytes) {
  absl::StatusOr<KeyPair> alice = NewKeyPair();
  absl::StatusOr<KeyPair> bob = NewKeyPair();
  ASSERT_TRUE(alice.ok() && bob.ok());
  EXPECT_TRUE(IsKeyHex(alice->public_key));
  EXPECT_TRUE(IsKeyHex(alice->private_key));
  // Several chunks (64 KiB each), and a marker that must not appear in the sealed bytes.
  std::string content = "secret-marker-4711";
  while (content.size() < 200 * 1024) content += " row of the result secret-marker-4711";
  absl::StatusOr<std::string> sealed = Seal(content, {alice->public_key, bob->public_key});
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_TRUE(LooksSealed(*sealed));
  EXPECT_EQ(sealed->find("secret-marker"), std::string::npos);
  EXPECT_EQ(*Open(*sealed, *alice), content);
  EXPECT_EQ(*Open(*sealed, *bob), content);
}

TEST(SealedTest, EmptyContentRoundTrips) {
  KeyPair keys = *NewKeyPair();
  absl::StatusOr<std::string> sealed = Seal("", {keys.public_key});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*Open(*sealed, keys), "");
}

TEST(SealedTest, AnotherKeyIsRefused) {
  KeyPair alice = *NewKeyPair();
  KeyPair mallory = *NewKeyPair();
  std::string sealed = *Seal("rows", {alice.public_key});
  absl::Status opened = Open(sealed, mallory).status();
  EXPECT_EQ(opened.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(opened.message(),
            "the result was not sealed to this key (it was sealed to the receivers' keys "
            "registered when it ran)");
}

TEST(SealedTest, EveryAlteredByteAndEveryTruncationFailsCleanly) {
  KeyPair keys = *NewKeyPair();
  std::string content(70 * 1024, 'x');  // two chunks
  std::string sealed = *Seal(content, {keys.public_key});
  const std::string kDamaged =
      "the sealed result is damaged (altered or truncated) or is not a sealed result";
  // Flip a byte at positions across the magic, recipient, stream header and both chunks.
  for (size_t position : {size_t{0}, size_t{17}, size_t{20}, size_t{60}, size_t{130}, size_t{150},
                          size_t{200}, sealed.size() / 2, sealed.size() - 1}) {
    std::string altered = sealed;
    altered[position] ^= 0x01;
    absl::Status status = Open(altered, keys).status();
    EXPECT_FALSE(status.ok()) << position;
    if (status.code() == absl::StatusCode::kDataLoss) {
      EXPECT_EQ(status.message(), kDamaged) << position;
    } else {
      // A flipped recipient key no longer names this receiver.
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << position;
    }
  }
  // Cut at a chunk boundary too: without the final tag the stream is incomplete.
  size_t first_chunk_end = 16 + 4 + 112 + 24 + 4 + 64 * 1024 + 17;
  for (size_t length : {size_t{0}, size_t{10}, size_t{100}, first_chunk_end, sealed.size() - 1}) {
    absl::Status status = Open(sealed.substr(0, length), keys).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << length;
  }
  // Bytes appended after the final chunk.
  EXPECT_EQ(Open(sealed + "x", keys).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SealedTest, BadKeysAreRefused) {
  EXPECT_EQ(Seal("x", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Seal("x", {"zz"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsKeyHex(std::string(64, 'A')));
}

}  // namespace
}  // namespace parley::results
