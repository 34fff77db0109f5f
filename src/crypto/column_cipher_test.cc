#include "crypto/column_cipher.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

namespace parley::crypto {
namespace {

SecretKey TestSecret() {
  std::string bytes;
  for (int i = 0; i < 32; ++i) bytes.push_back(static_cast<char>(i));
  return *SecretKey::FromBytes(bytes);
}

KeyRing Ring(std::string_view collaboration = "campaign", CellSettings settings = {}) {
  auto ring = KeyRing::Create(TestSecret(), collaboration, settings);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *ring;
}

TEST(ColumnCipher, FingerprintsEqualForEquallyNormalisedValues) {
  KeyRing ring = Ring();
  auto email =
      FingerprintEncoder::Create(ring, "email", ValueType::kString, *ParseNormalisation("email"));
  ASSERT_TRUE(email.ok());
  auto a = email->Encode("Alice@Example.com");
  auto b = email->Encode("  alice@example.COM ");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(**a, **b);
  EXPECT_TRUE(a->value().starts_with("pf1." + ring.secret_id() + "." + ring.key_id() + "."));
  EXPECT_EQ(a->value().size(), 4 + 8 + 1 + 8 + 1 + 43);
  auto c = email->Encode("bob@example.com");
  EXPECT_NE(**a, **c);
  EXPECT_EQ(email->Encode("not an address").status().message(),
            "the value is not an e-mail address (one '@' between text)");
}

TEST(ColumnCipher, IntegersAreCanonicalAndTypedApartFromStrings) {
  KeyRing ring = Ring();
  auto id = FingerprintEncoder::Create(ring, "id", ValueType::kInteger, {});
  auto text = FingerprintEncoder::Create(ring, "id", ValueType::kString, {});
  ASSERT_TRUE(id.ok() && text.ok());
  EXPECT_EQ(**id->Encode("007"), **id->Encode("+7"));
  EXPECT_NE(**id->Encode("7"), **text->Encode("7"));
  EXPECT_EQ(id->Encode("7.0").status().message(), "the value is not an integer");
  EXPECT_EQ(id->Encode("99999999999999999999").status().message(), "the integer is out of range");
  EXPECT_EQ(**id->Encode("-0"), **id->Encode("0"));
}

TEST(ColumnCipher, FingerprintKeysDependOnColumnCollaborationAndSecret) {
  auto encode = [](const KeyRing& ring, std::string_view column) {
    return **FingerprintEncoder::Create(ring, column, ValueType::kString, {})->Encode("x");
  };
  KeyRing ring = Ring();
  std::string mac = encode(ring, "email").substr(22);
  EXPECT_EQ(encode(ring, "EMAIL").substr(22), mac);  // names compare without case, as in SQL
  EXPECT_NE(encode(ring, "phone").substr(22), mac);
  EXPECT_NE(encode(Ring("other"), "email").substr(22), mac);
  CellSettings any_names;
  any_names.allow_joins_on_columns_with_different_names = true;
  KeyRing shared = Ring("campaign", any_names);
  EXPECT_EQ(encode(shared, "email").substr(22), encode(shared, "phone").substr(22));
  EXPECT_NE(shared.key_id(), ring.key_id());
  EXPECT_EQ(shared.secret_id(), ring.secret_id());
}

TEST(ColumnCipher, NullsArePreservedOrMadeUnique) {
  CellSettings preserve;
  preserve.preserve_nulls = true;
  auto kept = FingerprintEncoder::Create(Ring("c", preserve), "email", ValueType::kString, {});
  EXPECT_FALSE(kept->Encode(std::nullopt)->has_value());
  auto unique = FingerprintEncoder::Create(Ring(), "email", ValueType::kString, {});
  auto first = unique->Encode(std::nullopt);
  auto second = unique->Encode(std::nullopt);
  ASSERT_TRUE(first->has_value() && second->has_value());
  EXPECT_NE(**first, **second);
  EXPECT_EQ(KindOfCell(**first), ColumnKind::kFingerprint);
}

TEST(ColumnCipher, SealedCellsRoundTripAtOneLength) {
  KeyRing ring = Ring();
  auto seal = SealEncoder::Create(ring, "retail", "name", 16);
  auto open = SealOpener::Create(ring, "RETAIL", "Name");
  ASSERT_TRUE(seal.ok() && open.ok());
  auto short_cell = seal->Encode("Al");
  auto long_cell = seal->Encode("Bartholomew Ng");
  auto null_cell = seal->Encode(std::nullopt);
  ASSERT_TRUE(short_cell.ok() && long_cell.ok() && null_cell.ok());
  EXPECT_EQ(short_cell->value().size(), long_cell->value().size());
  EXPECT_EQ(null_cell->value().size(), long_cell->value().size());
  OpenFailure failure;
  EXPECT_EQ(**open->Open(**short_cell, failure), "Al");
  EXPECT_EQ(failure, OpenFailure::kNone);
  EXPECT_EQ(**open->Open(**long_cell, failure), "Bartholomew Ng");
  EXPECT_FALSE(open->Open(**null_cell, failure)->has_value());
  EXPECT_EQ(seal->Encode(std::string(17, 'x')).status().message(),
            "a value is longer than pad_to (16 bytes)");
  EXPECT_NE(**seal->Encode("Al"), **short_cell);  // a fresh nonce each time
}

TEST(ColumnCipher, EachWayACellFailsToOpenIsNamed) {
  KeyRing ring = Ring();
  auto seal = SealEncoder::Create(ring, "retail", "name", 16);
  std::string cell = **seal->Encode("Alice");
  OpenFailure failure;

  auto other_secret = KeyRing::Create(*SecretKey::FromBytes(std::string(32, 'z')), "campaign", {});
  EXPECT_EQ(
      SealOpener::Create(*other_secret, "retail", "name")->Open(cell, failure).status().message(),
      "the cell was sealed with another secret");
  EXPECT_EQ(failure, OpenFailure::kWrongSecret);

  EXPECT_EQ(SealOpener::Create(Ring("elsewhere"), "retail", "name")
                ->Open(cell, failure)
                .status()
                .message(),
            "the cell was sealed for another collaboration");
  EXPECT_EQ(failure, OpenFailure::kWrongCollaboration);

  const std::string moved_message =
      "the cell does not open as this table and column: it was altered, or moved from another "
      "table or column";
  EXPECT_EQ(SealOpener::Create(ring, "retail", "address")->Open(cell, failure).status().message(),
            moved_message);
  EXPECT_EQ(failure, OpenFailure::kNotThisColumn);
  EXPECT_EQ(SealOpener::Create(ring, "loyalty", "name")->Open(cell, failure).status().message(),
            moved_message);

  std::string tampered = cell;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(SealOpener::Create(ring, "retail", "name")->Open(tampered, failure).status().message(),
            moved_message);
  EXPECT_EQ(
      SealOpener::Create(ring, "retail", "name")->Open("ps1.garbage", failure).status().message(),
      "a malformed encrypted cell");
}

// The vectors of docs/formats/encrypted-columns.md, computed independently by
// docs/formats/encrypted_columns_vectors.py (Python hmac/hashlib and `cryptography`).
TEST(ColumnCipherVectors, MatchTheIndependentComputation) {
  KeyRing ring = Ring();
  EXPECT_EQ(ring.secret_id(), "W7GIk9YO");
  EXPECT_EQ(ring.key_id(), "uww6aco0");
  auto fingerprint = [&](const KeyRing& keys, std::string_view column, ValueType type,
                         std::string_view normalisation, std::string_view value) {
    auto encoder =
        FingerprintEncoder::Create(keys, column, type, *ParseNormalisation(normalisation));
    EXPECT_TRUE(encoder.ok());
    auto cell = encoder->Encode(value);
    EXPECT_TRUE(cell.ok()) << cell.status();
    return cell.ok() ? **cell : "";
  };
  EXPECT_EQ(fingerprint(ring, "email", ValueType::kString, "email", " Alice@Example.COM"),
            "pf1.W7GIk9YO.uww6aco0.dqeTCfDw_DXbE1Uc-2DmAE5Ct3Lk_OK3UQ-WmJsh5Oc");
  EXPECT_EQ(fingerprint(ring, "customer_id", ValueType::kInteger, "none", "007"),
            "pf1.W7GIk9YO.uww6aco0.kM1yOf_RGhXQNhbu8onAsog5XcT-u1uOiSpdIecJe6c");
  EXPECT_EQ(fingerprint(ring, "phone", ValueType::kString, "phone:44", "020 7946 0018"),
            "pf1.W7GIk9YO.uww6aco0.k3n9F4BFwkdPhZgwWDhSqnG-Nl5Zat_KEwMAr-zSQ2I");
  EXPECT_EQ(fingerprint(ring, "name", ValueType::kString, "text", " CAFE\xcc\x81 "),
            "pf1.W7GIk9YO.uww6aco0.Apa4rYbwKsUHk9CpAGC0M5UJHJAUOD41YX2nlsbtNBY");
  CellSettings any_names;
  any_names.allow_joins_on_columns_with_different_names = true;
  EXPECT_EQ(fingerprint(Ring("campaign", any_names), "contact", ValueType::kString, "email",
                        "alice@example.com"),
            "pf1.W7GIk9YO.R-kEA0Ze.di6JbSdLCC64U1LACy25KAxNaRgemWf0d3dOpLpoygU");
  // Sealed with the nonce 00 01 .. 0b by the Python script; opened here.
  OpenFailure failure;
  auto opened = SealOpener::Create(ring, "retail", "name")
                    ->Open(
                        "ps1.W7GIk9YO.uww6aco0.AAECAwQFBgcICQoLEbRMq4R52wPdk1stXSyIPfZDnNpwRl4ywm"
                        "LDWK52jt0YPZs",
                        failure);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(**opened, "Alice");
}

}  // namespace
}  // namespace parley::crypto
