// Client-side column encryption through the real binary (issue 11, docs/formats/
// encrypted-columns.md): two owners encrypt with the shared secret, register, the runner joins on
// fingerprints and receives sealed columns, the receiver decrypts — and the rows equal the same
// query on the cleartext files in plain DuckDB. Every misuse is refused with its reason.
#include <filesystem>

#include "cli_test_support.h"
#include "gmock/gmock.h"

namespace parley::cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CryptoE2eTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // Retail: 300 households with mixed-case e-mail addresses; loyalty: members 150..450 with
    // lower-case ones, so the overlap (150..300) is found only after normalisation.
    Exec(
        "COPY (SELECT i AS household_id, 'User' || i || '@Example.COM' AS email, 'Name ' || i AS "
        "name, ['18-24', '25-34', '35-44'][i % 3 + 1] AS age_band FROM range(1, 301) t(i)) TO '" +
        Path("retail.csv") + "' (HEADER)");
    Exec(
        "COPY (SELECT ' user' || i || '@example.com' AS email, 'Street ' || i AS address, "
        "['gold', 'silver'][i % 2 + 1] AS tier FROM range(150, 451) t(i)) TO '" +
        Path("loyalty.csv") + "' (HEADER)");
    WriteText(
        dir_ / "retail_spec.json",
        R"({"table": "retail", "columns": {"household_id": {"kind": "fingerprint", "type": "integer"},
                  "email": {"kind": "fingerprint", "normalise": "email"},
                  "name": {"kind": "sealed", "pad_to": 24}, "age_band": {"kind": "cleartext"}}})");
    WriteText(
        dir_ / "loyalty_spec.json",
        R"({"table": "loyalty", "columns": {"email": {"kind": "fingerprint", "normalise": "email"},
                  "address": {"kind": "sealed", "pad_to": 24}, "tier": {"kind": "cleartext"}}})");
    ASSERT_EQ(Parley({"secret", "new", Path("shared.key")}).exit_code, 0);
  }

  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  Outcome Encrypt(const std::string& spec, const std::string& in, const std::string& out,
                  const std::string& key = "shared.key",
                  const std::string& collaboration = "campaign") {
    return Parley({"encrypt", "--secret", Path(key), "--collaboration", collaboration, "--spec",
                   Path(spec), Path(in), Path(out)});
  }

  // The room: the retailer creates it and adds the supplier, who queries and receives.
  void CreateRoom(const std::vector<std::string>& settings = {}) {
    std::vector<std::string> create = {"collaboration", "create", "campaign", "--abilities",
                                       "none"};
    create.insert(create.end(), settings.begin(), settings.end());
    Ok("retailer", create);
    Ok("retailer", {"member", "add", "-c", "campaign", "supplier", "--abilities", "query,receive"});
  }

  void AddTable(const std::string& owner, const std::string& name, const std::string& file) {
    Ok(owner, {"table", "add", "-c", "campaign", name, "--source", Path(file)});
    Ok(owner,
       {"rule", "set", "-c", "campaign", name, "--json",
        R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})"});
  }
};

TEST_F(CryptoE2eTest, JoinOnFingerprintsAndDecryptEqualsTheCleartextQuery) {
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc.csv").exit_code, 0);
  ASSERT_EQ(Encrypt("loyalty_spec.json", "loyalty.csv", "loyalty_enc.parquet").exit_code, 0);
  // Nothing of the cleartext identifiers or names is left in the encrypted file.
  std::string encrypted = ReadText(dir_ / "retail_enc.csv");
  EXPECT_THAT(encrypted, Not(HasSubstr("Example")));
  EXPECT_THAT(encrypted, Not(HasSubstr("Name ")));
  EXPECT_THAT(encrypted, HasSubstr("18-24"));

  CreateRoom();
  AddTable("retailer", "retail", "retail_enc.csv");
  AddTable("supplier", "loyalty", "loyalty_enc.parquet");

  Ok("supplier", {"query", "run", "-c", "campaign", "--sql",
                  "SELECT r.name, l.address, l.tier FROM retail r JOIN loyalty l ON r.email = "
                  "l.email",
                  "--output", Path("sealed_result.csv")});
  EXPECT_THAT(ReadText(dir_ / "sealed_result.csv"), HasSubstr("ps1."));
  Outcome opened = Parley({"decrypt", "--secret", Path("shared.key"), "--collaboration", "campaign",
                           "--column", "name=retail.name", "--column", "address=loyalty.address",
                           Path("sealed_result.csv"), Path("opened.csv")});
  ASSERT_EQ(opened.exit_code, 0) << opened;
  Csv result = ParseCsv(ReadText(dir_ / "opened.csv"));
  EXPECT_EQ(result.header, (std::vector<std::string>{"name", "address", "tier"}));
  Rows expected = OracleRows("SELECT r.name, l.address, l.tier FROM read_csv('" +
                             Path("retail.csv") + "') r JOIN read_csv('" + Path("loyalty.csv") +
                             "') l ON lower(r.email) = trim(l.email)");
  EXPECT_EQ(expected.size(), 151u);
  EXPECT_EQ(Sorted(result.rows), Sorted(expected));

  // COUNT(DISTINCT) of a fingerprint over the join, by a cleartext dimension.
  Ok("supplier", {"query", "run", "-c", "campaign", "--sql",
                  "SELECT l.tier, COUNT(DISTINCT r.email) AS n FROM retail r JOIN loyalty l ON "
                  "r.email = l.email GROUP BY l.tier",
                  "--output", Path("counts.csv")});
  Rows expected_counts =
      OracleRows("SELECT l.tier, COUNT(DISTINCT lower(r.email)) FROM read_csv('" +
                 Path("retail.csv") + "') r JOIN read_csv('" + Path("loyalty.csv") +
                 "') l ON lower(r.email) = trim(l.email) GROUP BY l.tier");
  EXPECT_EQ(Sorted(ParseCsv(ReadText(dir_ / "counts.csv")).rows), Sorted(expected_counts));
}

TEST_F(CryptoE2eTest, MisuseOfEncryptedColumnsIsRefusedWithItsReason) {
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc.csv").exit_code, 0);
  ASSERT_EQ(Encrypt("loyalty_spec.json", "loyalty.csv", "loyalty_enc.csv").exit_code, 0);
  CreateRoom();
  AddTable("retailer", "retail", "retail_enc.csv");
  AddTable("supplier", "loyalty", "loyalty_enc.csv");
  struct Misuse {
    std::string sql;
    std::string reason;
  };
  const Misuse misuses[] = {
      {"SELECT email, COUNT(*) FROM retail GROUP BY email",
       "GROUP BY on encrypted column 'retail.email' needs the collaboration setting "
       "preserve_nulls"},
      {"SELECT COUNT(*) FROM retail WHERE email = 'x'",
       "fingerprint column 'retail.email' cannot be used in a function, operator, cast, CASE or "
       "comparison"},
      {"SELECT upper(name) AS n FROM retail", "sealed column 'retail.name' cannot be used"},
      {"SELECT COUNT(*) FROM retail r JOIN loyalty l ON r.email = l.tier",
       "fingerprint column 'retail.email' can be compared only with '=' to another fingerprint "
       "column"},
      {"SELECT name FROM retail UNION SELECT address FROM loyalty",
       "sealed column 'retail.name' cannot be an output of a set operation"},
  };
  for (const Misuse& misuse : misuses) {
    Outcome refused = As("supplier", {"query", "run", "-c", "campaign", "--sql", misuse.sql});
    EXPECT_EQ(refused.exit_code, kExitRejected) << misuse.sql << "\n" << refused;
    EXPECT_THAT(refused.out + refused.err, HasSubstr(misuse.reason)) << misuse.sql;
  }
}

TEST_F(CryptoE2eTest, DecryptNamesWrongSecretCollaborationAlteredAndMovedCells) {
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc.csv").exit_code, 0);
  ASSERT_EQ(Parley({"secret", "new", Path("other.key")}).exit_code, 0);
  auto decrypt = [&](const std::string& key, const std::string& collaboration,
                     const std::string& in, const std::string& out) {
    return Parley({"decrypt", "--secret", Path(key), "--collaboration", collaboration, "--table",
                   "retail", Path(in), Path(out)});
  };
  Outcome wrong_secret = decrypt("other.key", "campaign", "retail_enc.csv", "a.csv");
  EXPECT_EQ(wrong_secret.exit_code, kExitError);
  EXPECT_THAT(wrong_secret.err,
              HasSubstr("column 'name', row 1: the cell was sealed with another secret"));
  Outcome wrong_room = decrypt("shared.key", "elsewhere", "retail_enc.csv", "b.csv");
  EXPECT_THAT(wrong_room.err,
              HasSubstr("column 'name', row 1: the cell was sealed for another collaboration"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.csv"));

  Csv cells = ParseCsv(ReadText(dir_ / "retail_enc.csv"));
  auto write = [&](const std::string& name, const Csv& csv) {
    std::string text = "household_id,email,name,age_band\n";
    for (const auto& row : csv.rows) {
      text += row[0] + "," + row[1] + "," + row[2] + "," + row[3] + "\n";
    }
    WriteText(dir_ / name, text);
  };
  Csv altered = cells;
  std::string& cell = altered.rows[4][2];
  cell[cell.size() - 3] = cell[cell.size() - 3] == 'A' ? 'B' : 'A';
  write("altered.csv", altered);
  Outcome tampered = decrypt("shared.key", "campaign", "altered.csv", "c.csv");
  EXPECT_THAT(tampered.err,
              HasSubstr("column 'name', row 5: the cell does not open as this table and column: "
                        "it was altered, or moved from another table or column"));
  // Sealed names moved into the age_band column (a column of sealed cells, opened as
  // retail.age_band): the cell opens only as the column it came from, which decrypt names.
  Csv moved = cells;
  for (size_t row = 0; row < moved.rows.size(); ++row) {
    moved.rows[row][3] = moved.rows[(row + 7) % moved.rows.size()][2];
  }
  write("moved.csv", moved);
  Outcome moved_out = decrypt("shared.key", "campaign", "moved.csv", "d.csv");
  EXPECT_THAT(moved_out.err, HasSubstr("column 'age_band', row 1: the cell does not open: it was "
                                       "sealed as retail.name, not retail.age_band"));
  // A cleartext cell in a column of sealed cells is refused too.
  Csv mixed = cells;
  mixed.rows[3][2] = "Name 4";
  write("mixed.csv", mixed);
  EXPECT_THAT(decrypt("shared.key", "campaign", "mixed.csv", "f.csv").err,
              HasSubstr("column 'name', row 4: not an encrypted cell (no pf1. or ps1. prefix)"));
  Outcome fine = decrypt("shared.key", "campaign", "retail_enc.csv", "e.csv");
  ASSERT_EQ(fine.exit_code, 0) << fine;
  EXPECT_EQ(ParseCsv(ReadText(dir_ / "e.csv")).rows[4][2], "Name 5");
}

TEST_F(CryptoE2eTest, RegistrationChecksTheSettingsAndTheKeys) {
  CreateRoom({"--allow-cleartext", "false", "--preserve-nulls", "true"});
  Outcome shown = As("retailer", {"collaboration", "show", "campaign"});
  EXPECT_THAT(shown.out, HasSubstr("encryption: allow_cleartext no, allow_duplicates no, "
                                   "allow_joins_on_columns_with_different_names no, "
                                   "preserve_nulls yes"));
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc.csv").exit_code, 0);
  Outcome cleartext = As(
      "retailer", {"table", "add", "-c", "campaign", "retail", "--source", Path("retail_enc.csv")});
  EXPECT_EQ(cleartext.exit_code, kExitError);
  EXPECT_THAT(cleartext.err,
              HasSubstr("column 'age_band' of table 'retail' is cleartext, and "
                        "collaboration 'campaign' does not allow cleartext columns"));
  // Duplicates in a fingerprint column.
  WriteText(dir_ / "dups.csv", "email\na@example.com\nA@example.com\n");
  WriteText(dir_ / "dups_spec.json",
            R"({"table": "dups", "settings": {"preserve_nulls": true},
                "columns": {"email": {"kind": "fingerprint", "normalise": "email"}}})");
  ASSERT_EQ(Encrypt("dups_spec.json", "dups.csv", "dups_enc.csv").exit_code, 0);
  Outcome dups =
      As("retailer", {"table", "add", "-c", "campaign", "dups", "--source", Path("dups_enc.csv")});
  EXPECT_THAT(dups.err, HasSubstr("column 'email' of table 'dups' is a fingerprint column with "
                                  "repeated values, and collaboration 'campaign' does not allow "
                                  "duplicates"));
  // Two tables encrypted with different secrets.
  WriteText(dir_ / "one.csv", "email\na@example.com\n");
  WriteText(dir_ / "one_spec.json",
            R"({"table": "one", "settings": {"preserve_nulls": true},
                "columns": {"email": {"kind": "fingerprint", "normalise": "email"}}})");
  ASSERT_EQ(Encrypt("one_spec.json", "one.csv", "one_enc.csv").exit_code, 0);
  Ok("retailer", {"table", "add", "-c", "campaign", "one", "--source", Path("one_enc.csv")});
  ASSERT_EQ(Parley({"secret", "new", Path("other.key")}).exit_code, 0);
  ASSERT_EQ(Encrypt("one_spec.json", "one.csv", "two_enc.csv", "other.key").exit_code, 0);
  Outcome other =
      As("supplier", {"table", "add", "-c", "campaign", "two", "--source", Path("two_enc.csv")});
  EXPECT_THAT(other.err, HasSubstr("column 'email' of table 'two' was encrypted with another "
                                   "secret, collaboration id or settings than one.email"));
}

TEST_F(CryptoE2eTest, UpdatingTheSourceCannotStripTheEncryption) {
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc.csv").exit_code, 0);
  CreateRoom();
  AddTable("retailer", "retail", "retail_enc.csv");
  // The same columns and types, but the e-mail addresses in clear.
  Csv cells = ParseCsv(ReadText(dir_ / "retail_enc.csv"));
  std::string text = "household_id,email,name,age_band\n";
  for (size_t row = 0; row < cells.rows.size(); ++row) {
    text += cells.rows[row][0] + ",user" + std::to_string(row) + "@example.com," +
            cells.rows[row][2] + "," + cells.rows[row][3] + "\n";
  }
  WriteText(dir_ / "stripped.csv", text);
  Outcome stripped = As("retailer", {"table", "update", "-c", "campaign", "retail", "--source",
                                     Path("stripped.csv")});
  EXPECT_EQ(stripped.exit_code, kExitError) << stripped;
  EXPECT_THAT(stripped.err, HasSubstr("column 'email' of table 'retail' is fingerprint but "
                                      "cleartext in the new source"));
  // A fresh encryption of the same file is accepted, and queries still see the fingerprints.
  ASSERT_EQ(Encrypt("retail_spec.json", "retail.csv", "retail_enc2.csv").exit_code, 0);
  Ok("retailer",
     {"table", "update", "-c", "campaign", "retail", "--source", Path("retail_enc2.csv")});
  Outcome refused = As("supplier", {"query", "run", "-c", "campaign", "--sql",
                                    "SELECT COUNT(*) FROM retail WHERE email = 'x'"});
  EXPECT_EQ(refused.exit_code, kExitRejected) << refused;
}

TEST_F(CryptoE2eTest, EncryptRefusesBadInputsNamingColumnAndRow) {
  WriteText(dir_ / "bad.csv", "household_id,email,name,age_band\n1,a@b.c,A,x\n2,nope,B,y\n");
  Outcome bad = Encrypt("retail_spec.json", "bad.csv", "bad_enc.csv");
  EXPECT_EQ(bad.exit_code, kExitError);
  EXPECT_THAT(bad.err, HasSubstr("column 'email', row 2: the value is not an e-mail address"));
  EXPECT_THAT(bad.err, Not(HasSubstr("nope")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bad_enc.csv"));
  WriteText(dir_ / "extra.csv", "household_id,email,name,age_band,extra\n1,a@b.c,A,x,1\n");
  EXPECT_THAT(Encrypt("retail_spec.json", "extra.csv", "x.csv").err,
              HasSubstr("column 'extra' of '" + Path("extra.csv") + "' is not in the spec"));
  std::filesystem::permissions(dir_ / "shared.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(Encrypt("retail_spec.json", "retail.csv", "y.csv").err,
              HasSubstr("is readable by other users: chmod 600 it"));
  EXPECT_EQ(Parley({"secret", "new", Path("shared.key")}).exit_code, kExitError);
}

}  // namespace
}  // namespace parley::cli_test
