// Known-answer tests of the primitives against their published vectors: RFC 5869 (HKDF-SHA-256,
// test cases 1-3), RFC 4231 (HMAC-SHA-256, test cases 1, 2, 3, 4, 6, 7) and the AES-256-GCM test
// cases 13-16 of McGrew & Viega's GCM specification (the NIST-submitted vectors).
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "crypto/aes_gcm.h"
#include "crypto/hkdf.h"
#include "crypto/hmac.h"
#include "crypto/secret_key.h"

namespace parley::crypto {
namespace {

std::string Hex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}
std::string Bytes(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}
std::string Hex(const Digest256& digest) {
  return Hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

TEST(Hkdf, Rfc5869TestCase1) {
  EXPECT_EQ(Hex(*HkdfSha256(std::string(22, '\x0b'), Bytes("000102030405060708090a0b0c"),
                            Bytes("f0f1f2f3f4f5f6f7f8f9"), 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869TestCase2LongInputs) {
  std::string ikm, salt, info;
  for (int i = 0; i < 80; ++i) {
    ikm.push_back(static_cast<char>(i));
    salt.push_back(static_cast<char>(0x60 + i));
    info.push_back(static_cast<char>(0xb0 + i));
  }
  EXPECT_EQ(Hex(*HkdfSha256(ikm, salt, info, 82)),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41"
            "c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
  EXPECT_EQ(Hex(*HkdfSha256(std::string(22, '\x0b'), "", "", 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, RefusesLengthsHkdfCannotGive) {
  EXPECT_EQ(HkdfSha256("k", "", "", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256("k", "", "", 8161).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Hmac, Rfc4231) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(Hex(HmacSha256(Bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                           std::string(50, '\xcd'))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "This is a test using a larger than block-size key and a larger than "
                           "block-size data. The key needs to be hashed before being used by the "
                           "HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(Hmac, KeyIsReusableAndPrefixIsConcatenation) {
  HmacSha256Key key("Jefe");
  EXPECT_EQ(Hex(key.Mac("what do ya want ", "for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(key.Mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

struct GcmCase {
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* aad;
  const char* ciphertext_and_tag;
};

TEST(AesGcm, GcmSpecificationTestCases13To16) {
  const std::string key16 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
  const GcmCase cases[] = {
      {"0000000000000000000000000000000000000000000000000000000000000000",
       "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
      {"0000000000000000000000000000000000000000000000000000000000000000",
       "000000000000000000000000", "00000000000000000000000000000000", "",
       "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
      {key16.c_str(), "cafebabefacedbaddecaf888",
       "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
       "49a6b525b16aedf5aa0de657ba637b391aafd255",
       "",
       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
       "56828838c5f61e6393ba7a0abcc9f662898015adb094dac5d93471bdec1a502270e3cc6c"},
      {key16.c_str(), "cafebabefacedbaddecaf888",
       "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
       "49a6b525b16aedf5aa0de657ba637b39",
       "feedfacedeadbeeffeedfacedeadbeefabaddad2",
       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
       "56828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
  };
  for (const GcmCase& test : cases) {
    auto cipher = AesGcm256::Create(Bytes(test.key));
    ASSERT_TRUE(cipher.ok());
    std::string sealed;
    ASSERT_TRUE(
        cipher->Seal(Bytes(test.nonce), Bytes(test.aad), Bytes(test.plaintext), sealed).ok());
    EXPECT_EQ(Hex(sealed), test.ciphertext_and_tag);
    std::string opened;
    ASSERT_TRUE(cipher->Open(Bytes(test.nonce), Bytes(test.aad), sealed, opened).ok());
    EXPECT_EQ(Hex(opened), test.plaintext);
  }
}

TEST(AesGcm, AlteredCiphertextTagOrAadDoesNotOpen) {
  auto cipher = AesGcm256::Create(std::string(32, 'k'));
  ASSERT_TRUE(cipher.ok());
  std::string nonce(12, 'n'), sealed, out;
  ASSERT_TRUE(cipher->Seal(nonce, "table\0column", "secret value", sealed).ok());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] ^= 1;
    EXPECT_EQ(cipher->Open(nonce, "table\0column", altered, out).code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
    EXPECT_TRUE(out.empty());
  }
  EXPECT_EQ(cipher->Open(nonce, "other", sealed, out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cipher->Open(std::string(12, 'm'), "table\0column", sealed, out).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(AesGcm256::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SecretKey, ExactlyThirtyTwoBytesAndRandomKeysDiffer) {
  EXPECT_EQ(SecretKey::FromBytes("short").status().message(), "a key has 32 bytes, not 5");
  EXPECT_TRUE(SecretKey::FromBytes(std::string(32, 'x')).ok());
  EXPECT_NE(SecretKey::Random().view(), SecretKey::Random().view());
}

}  // namespace
}  // namespace parley::crypto
