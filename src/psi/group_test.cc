// Known-answer tests of the group layer: RFC 9380 K.3 (expand_message_xmd, SHA-512), RFC 9496
// A.1/A.2/A.3 (ristretto255 encodings, invalid encodings, hash-to-group), and the protocol's own
// hash-to-group with its domain-separation tag.
#include "psi/group.h"

#include <sodium.h>

#include <string>

#include "gtest/gtest.h"

namespace parley::psi {
namespace {

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 15]);
  }
  return hex;
}

Element FromHex(absl::string_view hex) {
  Element element{};
  for (size_t i = 0; i < 32; ++i) {
    element[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return element;
}

class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitialiseSodium().ok()); }
};

TEST_F(GroupTest, ExpandMessageXmdMatchesRfc9380K3) {
  constexpr absl::string_view kDst = "QUUX-V01-CS02-with-expander-SHA512-256";
  EXPECT_EQ(Hex(ExpandMessageXmdSha512("", kDst, 32)),
            "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba");
  EXPECT_EQ(Hex(ExpandMessageXmdSha512("abc", kDst, 32)),
            "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc");
  // Longer outputs chain several blocks; the first 32 bytes differ from the 32-byte output
  // because the length is hashed in.
  EXPECT_EQ(ExpandMessageXmdSha512("abc", kDst, 200).size(), 200u);
  EXPECT_NE(ExpandMessageXmdSha512("abc", kDst, 64).substr(0, 32),
            ExpandMessageXmdSha512("abc", kDst, 32));
}

TEST_F(GroupTest, OneWayMapMatchesRfc9496) {
  const char* kLabels[] = {
      "Ristretto is traditionally a short shot of espresso coffee",
      "made with the normal amount of ground coffee but extracted with",
      "about half the amount of water in the same amount of time",
      "by using a finer grind.",
      "This produces a concentrated shot of coffee per volume.",
      "Just pulling a normal shot short will produce a weaker shot",
      "and is not a Ristretto as some believe.",
  };
  const char* kExpected[] = {
      "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
      "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
      "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826",
      "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a",
      "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179",
      "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628",
      "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065",
  };
  for (int i = 0; i < 7; ++i) {
    unsigned char hash[64];
    crypto_hash_sha512(hash, reinterpret_cast<const unsigned char*>(kLabels[i]),
                       std::strlen(kLabels[i]));
    Element element;
    crypto_core_ristretto255_from_hash(element.data(), hash);
    EXPECT_EQ(ToHex(element), kExpected[i]) << kLabels[i];
  }
}

TEST_F(GroupTest, GeneratorMultiplesMatchRfc9496A1) {
  const Element generator =
      FromHex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
  std::array<uint8_t, 32> two{2};
  absl::StatusOr<Element> doubled = Blind(Scalar::FromBytesForTesting(two), generator);
  ASSERT_TRUE(doubled.ok());
  EXPECT_EQ(ToHex(*doubled), "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919");
}

TEST_F(GroupTest, InvalidEncodingsOfRfc9496A2AndTheIdentityAreRefused) {
  const char* kBad[] = {
      "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
      "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
      "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
      "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
      "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
      "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
  };
  Scalar key = Scalar::Random();
  for (const char* hex : kBad) {
    EXPECT_FALSE(IsAcceptableElement(FromHex(hex))) << hex;
    EXPECT_EQ(Blind(key, FromHex(hex)).status().code(), absl::StatusCode::kInvalidArgument) << hex;
  }
  Element identity{};
  EXPECT_FALSE(IsAcceptableElement(identity));
  EXPECT_FALSE(Blind(key, identity).ok());
  EXPECT_TRUE(IsAcceptableElement(HashToGroup("alice@example.com")));
}

TEST_F(GroupTest, HashToGroupIsTheRfc9380SuiteWithTheProtocolTag) {
  EXPECT_EQ(kHashToGroupDst.size(), 61u);
  // H(x) = from_hash(expand_message_xmd(x, DST, 64)), checked against a direct composition.
  std::string uniform = ExpandMessageXmdSha512("alice@example.com", kHashToGroupDst, 64);
  Element direct;
  crypto_core_ristretto255_from_hash(direct.data(),
                                     reinterpret_cast<const unsigned char*>(uniform.data()));
  EXPECT_EQ(HashToGroup("alice@example.com"), direct);
  // The protocol's own known answers (docs/formats/psi.md, "Test vectors").
  EXPECT_EQ(ToHex(HashToGroup("alice@example.com")),
            "16dcdfc52259ce2a2a974c114a550c14025962f931538ac71d15a3b8c052ad13");
  EXPECT_EQ(ToHex(HashToGroup("")),
            "284be8a6d7551e0d6200b3aafcfd6422d010135ed67b259782a71c694578d541");
  // Another tag, another element: the tag separates this protocol's elements from others'.
  EXPECT_NE(HashToGroup("alice@example.com"), HashToGroup("alice@example.com", "OTHER-DST"));
}

TEST_F(GroupTest, BlindingCommutes) {
  Scalar a = Scalar::Random();
  Scalar b = Scalar::Random();
  Element h = HashToGroup("bob@example.com");
  EXPECT_EQ(*Blind(a, *Blind(b, h)), *Blind(b, *Blind(a, h)));
  EXPECT_NE(*Blind(a, h), *Blind(b, h));
}

}  // namespace
}  // namespace parley::psi
