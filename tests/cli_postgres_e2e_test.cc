// A PostgreSQL table read in place, through the real binary (issue 10): the supplier's customers
// live in PostgreSQL, the retailer's purchases in Parquet; the joined answers are exactly those
// of the same data with both tables in files; the server's statement log shows that only the
// columns the query needs and its filters reached PostgreSQL; a password never appears anywhere
// Parley writes or prints; another member cannot register the same remote table.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_testing.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/postgres_server.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using cli_test::CliTest;
using cli_test::kExitError;
using cli_test::kExitNotPermitted;
using cli_test::Outcome;
using cli_test::ReadText;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;

constexpr char kPassword[] = "Xq7-never-print-me";

// Both tables answer any query of the retailer's.
constexpr char kRetailerQueries[] =
    R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["retailer"]})";

class CliPostgresTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    // The supplier's warehouse, and a role that may only read it (docs/sources.md).
    ASSERT_OK(server_->Execute(absl::StrCat(R"sql(
      CREATE ROLE parley_reader LOGIN PASSWORD ')sql",
                                            kPassword, R"sql(';
      CREATE SCHEMA crm;
      CREATE TABLE crm.customers (
        email text, region text, segment varchar(20), joined date, lifetime numeric(10,2),
        notes text);
      INSERT INTO crm.customers
        SELECT 'u' || i || '@example.org',
               CASE i % 4 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' END,
               CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'basic' END,
               DATE '2024-01-01' + (i * 7) % 200,
               ((i * 37) % 1000) / 4.0,
               'private note ' || i
        FROM generate_series(1, 300) i;
      GRANT USAGE ON SCHEMA crm TO parley_reader;
      GRANT SELECT ON crm.customers TO parley_reader;
    )sql")));
    pgpass_ = fs::path(server_->directory()) / "pgpass";
    std::ofstream(pgpass_) << "127.0.0.1:" << server_->port() << ":*:parley_reader:" << kPassword
                           << "\n";
    fs::permissions(pgpass_, fs::perms::owner_read | fs::perms::owner_write);
    services_ = fs::path(server_->directory()) / "pg_service.conf";
    std::ofstream(services_) << "[warehouse]\nhost=127.0.0.1\nport=" << server_->port()
                             << "\nuser=parley_reader\ndbname=postgres\n";
    // The child processes (parley) inherit these: libpq reads them there.
    setenv("PGPASSFILE", pgpass_.c_str(), 1);
    setenv("PGSERVICEFILE", services_.c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    unsetenv("PGPASSFILE");
    unsetenv("PGSERVICEFILE");
  }

  // The supplier's rows exported to Parquet, with the same types.
  void ExportCustomersToParquet(const fs::path& path) {
    absl::StatusOr<std::vector<std::vector<std::string>>> rows =
        server_->Query("SELECT * FROM crm.customers ORDER BY email");
    ASSERT_TRUE(rows.ok()) << rows.status();
    Exec(
        "CREATE TABLE customers (email VARCHAR, region VARCHAR, segment VARCHAR, joined DATE, "
        "lifetime DECIMAL(10,2), notes VARCHAR)");
    std::vector<std::string> values;
    for (const auto& row : *rows) {
      std::vector<std::string> literals;
      for (const std::string& value : row) {
        literals.push_back(value == "<null>" ? "NULL" : absl::StrCat("'", value, "'"));
      }
      values.push_back(absl::StrCat("(", absl::StrJoin(literals, ", "), ")"));
    }
    Exec(absl::StrCat("INSERT INTO customers VALUES ", absl::StrJoin(values, ", ")));
    Exec(absl::StrCat("COPY customers TO '", path.string(), "' (FORMAT parquet)"));
  }

  void MakePurchases(const fs::path& path) {
    Exec(absl::StrCat(
        "COPY (SELECT 'u' || (i % 350) || '@example.org' AS email, (i * 13) % 97 + 0.5 AS "
        "amount, 'sku' || (i % 11) AS sku FROM range(1, 2001) t(i)) TO '",
        path.string(), "' (FORMAT parquet)"));
  }

  // A room where the retailer's purchases (Parquet) meet the supplier's customers from `source`.
  void MakeRoom(const std::string& room, const std::vector<std::string>& customers_source) {
    Ok("retailer", {"collaboration", "create", room});
    Ok("retailer", {"member", "add", "-c", room, "supplier", "--abilities", "query,receive"});
    Ok("retailer", {"table", "add", "-c", room, "purchases", "--source",
                    (dir_ / "purchases.parquet").string()});
    std::vector<std::string> add = {"table", "add", "-c", room, "customers"};
    add.insert(add.end(), customers_source.begin(), customers_source.end());
    add.insert(add.end(), {"--columns", "email,region,segment,joined,lifetime"});
    Ok("supplier", add);
    Ok("retailer", {"rule", "set", "-c", room, "purchases", "--json", kRetailerQueries});
    Ok("supplier", {"rule", "set", "-c", room, "customers", "--json", kRetailerQueries});
  }

  std::string Answer(const std::string& room, const std::string& sql) {
    Outcome outcome = Ok("retailer", {"query", "run", "-c", room, "--sql", sql, "--output", "-"});
    return outcome.out;
  }

  static PostgresServer* server_;
  static fs::path pgpass_;
  static fs::path services_;
};

PostgresServer* CliPostgresTest::server_ = nullptr;
fs::path CliPostgresTest::pgpass_;
fs::path CliPostgresTest::services_;

TEST_F(CliPostgresTest, AJoinWithAPostgresTableGivesExactlyTheRowsOfTheSameDataFromFiles) {
  MakePurchases(dir_ / "purchases.parquet");
  ExportCustomersToParquet(dir_ / "customers.parquet");
  MakeRoom("files", {"--source", (dir_ / "customers.parquet").string()});
  MakeRoom("pg", {"--postgres", "service=warehouse", "--relation", "crm.customers"});

  const std::vector<std::string> queries = {
      // Row-level, with filters on both sides.
      "SELECT p.email, p.amount, c.region, c.lifetime FROM purchases p JOIN customers c ON "
      "p.email = c.email WHERE c.region IN ('north', 'east') AND c.joined >= '2024-03-01' AND "
      "p.amount > 40 ORDER BY p.email, p.amount",
      // Grouped.
      "SELECT c.segment, c.region, count(*) AS n, sum(p.amount) AS total, max(c.lifetime) AS "
      "top FROM purchases p JOIN customers c ON p.email = c.email GROUP BY c.segment, c.region "
      "ORDER BY c.segment, c.region",
      // NULL regions, an outer join, text ordering and BETWEEN.
      "SELECT c.email, c.region, p.sku FROM customers c LEFT JOIN purchases p ON p.email = "
      "c.email AND p.amount < 3 WHERE (c.region IS NULL OR c.region > 'm') AND c.lifetime "
      "BETWEEN 10 AND 120.5 ORDER BY c.email, p.sku",
  };
  for (const std::string& sql : queries) {
    std::string from_files = Answer("files", sql);
    std::string from_postgres = Answer("pg", sql);
    EXPECT_EQ(from_postgres, from_files) << sql;
    EXPECT_GT(std::count(from_files.begin(), from_files.end(), '\n'), 3) << sql;
  }

  // What reached PostgreSQL: only the columns each query needs, with its filters.
  std::vector<std::string> copies = server_->LoggedStatements("COPY (SELECT");
  ASSERT_EQ(copies.size(), 4u) << server_->Log();
  // At registration, the registered text columns' cells are read once to classify encrypted
  // columns (docs/formats/encrypted-columns.md); the queries' reads follow.
  EXPECT_THAT(copies[0], HasSubstr(R"(COPY (SELECT "email"::text, "region"::text, "segment"::text )"
                                   R"(FROM "crm"."customers") TO STDOUT (FORMAT binary))"))
      << copies[0];
  copies.erase(copies.begin());
  EXPECT_THAT(
      copies[0],
      HasSubstr(
          R"(COPY (SELECT "email"::text, "region"::text, "joined"::date, "lifetime"::numeric(10,2) FROM )"
          R"("crm"."customers" WHERE ("region" IN ('north', 'east')) AND )"
          R"(("joined" >= '2024-03-01'::date)) TO STDOUT (FORMAT binary))"))
      << copies[0];
  EXPECT_THAT(copies[1],
              HasSubstr(R"(COPY (SELECT "email"::text, "region"::text, "segment"::text, )"
                        R"("lifetime"::numeric(10,2) FROM )"
                        R"("crm"."customers") TO STDOUT (FORMAT binary))"))
      << copies[1];
  EXPECT_THAT(
      copies[2],
      HasSubstr(
          R"(COPY (SELECT "email"::text, "region"::text, "lifetime"::numeric(10,2) FROM "crm"."customers" )"
          R"(WHERE (("region" IS NULL) OR ("region" COLLATE "C" > 'm')) AND )"
          R"(("lifetime" >= 10.00 AND "lifetime" <= 120.50)) TO STDOUT)"))
      << copies[2];
  for (const std::string& copy : copies) EXPECT_THAT(copy, Not(HasSubstr("notes")));
}

TEST_F(CliPostgresTest, APasswordIsNeverStoredPrintedOrLogged) {
  // The suite's own set-up created the role with its password: only what follows counts.
  size_t log_start = server_->Log().size();
  Ok("supplier", {"collaboration", "create", "room"});
  std::string inline_password =
      absl::StrCat("host=127.0.0.1 port=", server_->port(),
                   " user=parley_reader dbname=postgres password=", kPassword);
  Outcome refused = As("supplier", {"table", "add", "-c", "room", "customers", "--postgres",
                                    inline_password, "--relation", "crm.customers"});
  EXPECT_EQ(refused.exit_code, cli_test::kExitError) << refused;
  EXPECT_THAT(refused.err, HasSubstr("a password may not be given inline"));
  Outcome refused_json =
      As("supplier", {"--json", "table", "add", "-c", "room", "customers", "--postgres",
                      inline_password, "--relation", "crm.customers"});
  EXPECT_NE(refused_json.exit_code, 0);

  // The password from .pgpass works, and goes nowhere Parley writes.
  Ok("supplier", {"table", "add", "-c", "room", "customers", "--postgres",
                  server_->TcpConninfo("parley_reader"), "--relation", "crm.customers"});
  Ok("supplier", {"rule", "set", "-c", "room", "customers", "--json",
                  R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": )"
                  R"(["supplier"]})"});
  Outcome ran = Ok("supplier", {"query", "run", "-c", "room", "--sql",
                                "SELECT count(*) FROM customers", "--output", "-"});
  EXPECT_THAT(ran.out, HasSubstr("300"));
  std::vector<Outcome> outputs = {
      refused,
      refused_json,
      ran,
      Ok("supplier", {"--json", "table", "show", "-c", "room", "customers"}),
      Ok("supplier", {"table", "list", "-c", "room"}),
      Ok("supplier", {"--json", "audit", "list", "-c", "room"})};
  for (const Outcome& outcome : outputs) {
    EXPECT_THAT(outcome.out + outcome.err, Not(HasSubstr(kPassword))) << outcome;
  }
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(home_)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_THAT(ReadText(entry.path()), Not(HasSubstr(kPassword))) << entry.path();
  }
  EXPECT_THAT(server_->Log().substr(log_start), Not(HasSubstr(kPassword)));
}

// `table add --preview` shows the owner the relation's pinned columns and first rows, and adds
// nothing.
TEST_F(CliPostgresTest, APreviewShowsTheOwnerItsColumnsAndFirstRowsAndAddsNothing) {
  ASSERT_OK(server_->Execute(
      "CREATE TABLE crm.peek (id int, region text, amount numeric(8,2), day date, seen timestamptz,"
      " flag boolean);"
      "INSERT INTO crm.peek VALUES (1, 'north', 2.50, '2024-02-29', '2024-02-29 12:00:00+02', "
      "true),"
      " (2, NULL, -1.00, NULL, NULL, false);"
      "GRANT SELECT ON crm.peek TO parley_reader;"));
  Ok("supplier", {"collaboration", "create", "room"});
  Outcome preview = Ok("supplier", {"table", "add", "-c", "room", "peek", "--postgres",
                                    "service=warehouse", "--relation", "crm.peek", "--preview"});
  EXPECT_EQ(preview.out,
            "preview (nothing added) of table peek (owner supplier, postgres)\n"
            "  source: service=warehouse crm.peek\n"
            "  columns:\n"
            "    id      INTEGER\n"
            "    region  VARCHAR\n"
            "    amount  DECIMAL(8,2)\n"
            "    day     DATE\n"
            "    seen    TIMESTAMP WITH TIME ZONE\n"
            "    flag    BOOLEAN\n"
            "  rule: none (the table cannot be queried until its owner sets one)\n"
            "first 2 rows:\n"
            "id | region | amount | day        | seen                   | flag\n"
            "---+--------+--------+------------+------------------------+------\n"
            " 1 | north  |   2.50 | 2024-02-29 | 2024-02-29 10:00:00+00 | true\n"
            " 2 | NULL   |  -1.00 | NULL       | NULL                   | false\n"
            "(2 rows)\n");
  EXPECT_THAT(Ok("supplier", {"table", "list", "-c", "room"}).out, Not(HasSubstr("peek")));
  // Then added for real, with the same columns.
  EXPECT_THAT(Ok("supplier", {"table", "add", "-c", "room", "peek", "--postgres",
                              "service=warehouse", "--relation", "crm.peek"})
                  .out,
              HasSubstr("added table peek"));
}

TEST_F(CliPostgresTest, AnotherMemberCannotRegisterTheSameRemoteTable) {
  Ok("supplier", {"collaboration", "create", "room"});
  Ok("supplier", {"member", "add", "-c", "room", "retailer", "--abilities", "query,receive"});
  Ok("supplier", {"table", "add", "-c", "room", "customers", "--postgres", "service=warehouse",
                  "--relation", "crm.customers"});
  // The same relation under another spelling and another connection string.
  Outcome taken =
      As("retailer", {"table", "add", "-c", "room", "theirs", "--postgres",
                      server_->TcpConninfo("parley_reader"), "--relation", "CRM.\"customers\""});
  EXPECT_EQ(taken.exit_code, kExitNotPermitted) << taken;
  EXPECT_THAT(taken.err, HasSubstr("is a remote table another member registered"));
}

TEST_F(CliPostgresTest, ARemoteSchemaChangeStopsQueriesWithTheTableAndOwnerNamed) {
  ASSERT_OK(
      server_->Execute("CREATE TABLE crm.drifting (id int, amount numeric(8,2));"
                       "INSERT INTO crm.drifting VALUES (1, 2.50);"
                       "GRANT SELECT ON crm.drifting TO parley_reader;"));
  Ok("supplier", {"collaboration", "create", "room"});
  Ok("supplier", {"table", "add", "-c", "room", "d", "--postgres", "service=warehouse",
                  "--relation", "crm.drifting"});
  Ok("supplier", {"rule", "set", "-c", "room", "d", "--json",
                  R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": )"
                  R"(["supplier"]})"});
  Ok("supplier", {"query", "run", "-c", "room", "--sql", "SELECT sum(amount) FROM d"});
  ASSERT_OK(server_->Execute("ALTER TABLE crm.drifting ALTER COLUMN amount TYPE float8"));
  Outcome drifted = As("supplier", {"query", "run", "-c", "room", "--sql",
                                    "SELECT sum(amount) FROM d", "--output", "-"});
  EXPECT_NE(drifted.exit_code, 0);
  EXPECT_THAT(drifted.err, HasSubstr("table 'd' of member 'supplier' no longer matches its "
                                     "pinned schema: column 'amount' was DECIMAL(8,2), is now "
                                     "DOUBLE"));
  EXPECT_THAT(drifted.err, Not(HasSubstr("2.5")));
}

// Issue 11: a PostgreSQL relation whose columns hold pf1./ps1. cells (written by `parley encrypt`
// and loaded into the database) is classified from its cells and enforced exactly as the same
// cells in a file: joins on fingerprints give the cleartext answer, misuse is refused with the
// file's reasons, `table show` names each column's kind, and a relation mixing cells is refused.
TEST_F(CliPostgresTest, EncryptedCellsInAPostgresTableAreClassifiedAndEnforcedAsInAFile) {
  Exec(
      absl::StrCat("COPY (SELECT 'User' || i || '@Example.COM' AS email, 'Name ' || i AS name, "
                   "['north', 'south'][i % 2 + 1] AS region FROM range(1, 101) t(i)) TO '",
                   (dir_ / "retail.csv").string(), "' (HEADER)"));
  Exec(
      absl::StrCat("COPY (SELECT 'user' || i || '@example.com' AS email, ['gold', 'basic'][i % 2 "
                   "+ 1] AS tier FROM range(60, 161) t(i)) TO '",
                   (dir_ / "loyalty.csv").string(), "' (HEADER)"));
  cli_test::WriteText(dir_ / "retail_spec.json",
                      R"({"table": "retail", "columns": {"email": {"kind": "fingerprint", )"
                      R"("normalise": "email"}, "name": {"kind": "sealed", "pad_to": 16}, )"
                      R"("region": {"kind": "cleartext"}}})");
  cli_test::WriteText(dir_ / "loyalty_spec.json",
                      R"({"table": "loyalty", "columns": {"email": {"kind": "fingerprint", )"
                      R"("normalise": "email"}, "tier": {"kind": "cleartext"}}})");
  ASSERT_EQ(Parley({"secret", "new", (dir_ / "shared.key").string()}).exit_code, 0);
  for (const char* table : {"retail", "loyalty"}) {
    Outcome encrypted =
        Parley({"encrypt", "--secret", (dir_ / "shared.key").string(), "--collaboration", "vault",
                "--spec", (dir_ / absl::StrCat(table, "_spec.json")).string(),
                (dir_ / absl::StrCat(table, ".csv")).string(),
                (dir_ / absl::StrCat(table, "_enc.csv")).string()});
    ASSERT_EQ(encrypted.exit_code, 0) << encrypted;
  }
  // The retailer's encrypted cells loaded into PostgreSQL as text (the cells hold no commas or
  // quotes), and a copy in which one fingerprint cell is cleartext.
  cli_test::Csv cells = cli_test::ParseCsv(ReadText(dir_ / "retail_enc.csv"));
  ASSERT_EQ(cells.header, (std::vector<std::string>{"email", "name", "region"}));
  std::vector<std::string> values;
  for (const auto& row : cells.rows) {
    values.push_back(absl::StrCat("('", row[0], "', '", row[1], "', '", row[2], "')"));
  }
  ASSERT_OK(server_->Execute(absl::StrCat(
      "CREATE TABLE crm.retail_enc (email text, name text, region text);"
      "INSERT INTO crm.retail_enc VALUES ",
      absl::StrJoin(values, ", "),
      ";"
      "CREATE TABLE crm.retail_mixed AS SELECT * FROM crm.retail_enc;"
      "UPDATE crm.retail_mixed SET email = 'user7@example.com' WHERE name = (SELECT min(name) "
      "FROM crm.retail_mixed);"
      "GRANT SELECT ON crm.retail_enc, crm.retail_mixed TO parley_reader;")));

  Ok("retailer", {"collaboration", "create", "vault"});
  Ok("retailer", {"member", "add", "-c", "vault", "supplier", "--abilities", "query,receive"});
  Outcome mixed = As("retailer", {"table", "add", "-c", "vault", "mixed", "--postgres",
                                  "service=warehouse", "--relation", "crm.retail_mixed"});
  EXPECT_EQ(mixed.exit_code, kExitError) << mixed;
  EXPECT_THAT(mixed.err, HasSubstr("column 'email' of table 'mixed' mixes encrypted cells with "
                                   "other cells (or malformed ones)"));
  Ok("retailer", {"table", "add", "-c", "vault", "retail", "--postgres", "service=warehouse",
                  "--relation", "crm.retail_enc"});
  Ok("supplier",
     {"table", "add", "-c", "vault", "loyalty", "--source", (dir_ / "loyalty_enc.csv").string()});
  const std::string rule =
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["supplier"]})";
  Ok("retailer", {"rule", "set", "-c", "vault", "retail", "--json", rule});
  Ok("supplier", {"rule", "set", "-c", "vault", "loyalty", "--json", rule});

  Outcome shown = Ok("supplier", {"table", "show", "-c", "vault", "retail"});
  EXPECT_THAT(shown.out, HasSubstr("    email   VARCHAR  fingerprint\n"
                                   "    name    VARCHAR  sealed\n"
                                   "    region  VARCHAR  cleartext\n"));

  // The join on fingerprints counts what the cleartext join counts.
  Outcome counted = Ok("supplier", {"query", "run", "-c", "vault", "--sql",
                                    "SELECT r.region, COUNT(DISTINCT r.email) AS n FROM retail r "
                                    "JOIN loyalty l ON r.email = l.email GROUP BY r.region",
                                    "--output", (dir_ / "counts.csv").string()});
  cli_test::Rows expected = OracleRows(absl::StrCat(
      "SELECT r.region, COUNT(DISTINCT lower(r.email)) FROM read_csv('",
      (dir_ / "retail.csv").string(), "') r JOIN read_csv('", (dir_ / "loyalty.csv").string(),
      "') l ON lower(r.email) = l.email GROUP BY r.region"));
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(cli_test::Sorted(cli_test::ParseCsv(ReadText(dir_ / "counts.csv")).rows),
            cli_test::Sorted(expected));

  const std::pair<std::string, std::string> misuses[] = {
      {"SELECT email, COUNT(*) FROM retail GROUP BY email",
       "GROUP BY on encrypted column 'retail.email' needs the collaboration setting "
       "preserve_nulls"},
      {"SELECT COUNT(*) FROM retail WHERE email = 'x'",
       "fingerprint column 'retail.email' cannot be used in a function, operator, cast, CASE or "
       "comparison"},
      {"SELECT upper(name) AS n FROM retail", "sealed column 'retail.name' cannot be used"},
  };
  for (const auto& [sql, reason] : misuses) {
    Outcome refused = As("supplier", {"query", "run", "-c", "vault", "--sql", sql});
    EXPECT_EQ(refused.exit_code, cli_test::kExitRejected) << sql << "\n" << refused;
    EXPECT_THAT(refused.out + refused.err, HasSubstr(reason)) << sql;
  }
}

}  // namespace
}  // namespace parley
