// The postgres connector against a real PostgreSQL 15 (tests/support/postgres_server.h): the
// exact type mapping, refusals at registration, credentials (never inline, .pgpass and service
// files honoured), the columns a scan asks for, and every remote failure a query can meet —
// dropped table, revoked grant, schema drift, a replaced table, an unreachable server — each a
// clear error naming the table and its owner and never a value.
#include "connectors/postgres/postgres_connector.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "base/status_testing.h"
#include "connectors/connector.h"
#include "engine/duckdb/session.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/postgres_server.h"

namespace parley {
namespace {

using connectors::postgres::PostgresConnector;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PostgresServer;

constexpr char kPassword[] = "s3cret-Pa55word";

class PostgresConnectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ASSERT_OK(server_->Execute(
        absl::StrCat("CREATE ROLE reader LOGIN PASSWORD '", kPassword,
                     "'; CREATE SCHEMA crm; GRANT USAGE ON SCHEMA crm TO reader;"
                     "ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT ON TABLES TO reader;")));
    pgpass_ = std::filesystem::path(server_->directory()) / "pgpass";
    std::ofstream(pgpass_) << "127.0.0.1:" << server_->port() << ":*:reader:" << kPassword << "\n";
    std::filesystem::permissions(
        pgpass_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    setenv("PGPASSFILE", pgpass_.c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    unsetenv("PGPASSFILE");
  }

  std::string Description(const std::string& relation) const {
    return absl::StrCat(R"({"conninfo": ")", server_->TcpConninfo("reader"), R"(", "relation": ")",
                        relation, R"("})");
  }

  // Registers `relation` as the supplier's table `name`, all columns allowed.
  absl::StatusOr<catalog::Table> Register(const std::string& name, const std::string& relation) {
    catalog::Table table;
    table.collaboration = "room";
    table.name = name;
    table.owner = "supplier";
    table.source_kind = "postgres";
    PARLEY_ASSIGN_OR_RETURN(table.source_json, connector_.Validate(Description(relation)));
    PARLEY_ASSIGN_OR_RETURN(table.source_schema, connector_.InferSchema(table.source_json));
    for (const catalog::Column& column : table.source_schema) {
      table.allowed_columns.push_back(column.name);
    }
    return table;
  }

  // Runs `sql` over the view of `table` in a locked-down DuckDB session.
  absl::StatusOr<engine::ResultTable> Run(const catalog::Table& table, const std::string& sql,
                                          const std::string& filter = "") {
    PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, connector_.ViewForQuery(table, {}, filter));
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<engine::duckdb::Session> session,
                            engine::duckdb::Session::Open({view}, engine::Limits{}));
    return session->Run(sql);
  }

  static std::vector<std::vector<std::string>> Values(const engine::ResultTable& result) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : result.rows) {
      std::vector<std::string>& values = rows.emplace_back();
      for (const auto& value : row) values.push_back(value.value_or("<null>"));
    }
    return rows;
  }

  static PostgresServer* server_;
  static std::filesystem::path pgpass_;
  PostgresConnector connector_;
};

PostgresServer* PostgresConnectorTest::server_ = nullptr;
std::filesystem::path PostgresConnectorTest::pgpass_;

TEST_F(PostgresConnectorTest, EveryTypeIsMappedExactlyAndReadBack) {
  ASSERT_OK(server_->Execute(R"sql(
    CREATE TABLE crm.every_type (
      i2 smallint, i4 integer, i8 bigint, n4 numeric(4,2), n9 numeric(9,0), n18 numeric(18,4),
      n38 numeric(38,10), f4 real, f8 double precision, t text, v varchar(10), b boolean,
      d date, ts timestamp, tz timestamptz, u uuid, by bytea);
    INSERT INTO crm.every_type VALUES
      (1, -32768, -2147483648, -99.99, 999999999, 12345678901234.5678,
       1234567890123456789012345678.0123456789, 1.5, -2.25, 'héllo ''"', 'abc', true,
       '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.5+02',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff41'),
      (2, 32767, 9223372036854775807, 0.01, -1, -0.0001, -0.0000000001, 'NaN', 'Infinity',
       '', '', false, 'infinity', '-infinity', 'infinity',
       '00000000-0000-0000-0000-000000000000', '\x'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL),
      (4, 0, -9223372036854775808, 10, 0, 99999999999999.9999, -99999999999999999999999999.9999999999,
       '-Infinity', 1e300, 'x', 'y', NULL, '1969-12-31', '1900-01-01 00:00:00',
       '1999-12-31 23:59:59.999999+00', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\x0a');
  )sql"));
  ASSERT_OK_AND_ASSIGN(catalog::Table table, Register("every", "crm.every_type"));
  std::vector<std::pair<std::string, std::string>> schema;
  for (const catalog::Column& column : table.source_schema) {
    schema.emplace_back(column.name, column.type);
  }
  EXPECT_EQ(schema,
            (std::vector<std::pair<std::string, std::string>>{{"i2", "SMALLINT"},
                                                              {"i4", "INTEGER"},
                                                              {"i8", "BIGINT"},
                                                              {"n4", "DECIMAL(4,2)"},
                                                              {"n9", "DECIMAL(9,0)"},
                                                              {"n18", "DECIMAL(18,4)"},
                                                              {"n38", "DECIMAL(38,10)"},
                                                              {"f4", "FLOAT"},
                                                              {"f8", "DOUBLE"},
                                                              {"t", "VARCHAR"},
                                                              {"v", "VARCHAR"},
                                                              {"b", "BOOLEAN"},
                                                              {"d", "DATE"},
                                                              {"ts", "TIMESTAMP"},
                                                              {"tz", "TIMESTAMP WITH TIME ZONE"},
                                                              {"u", "UUID"},
                                                              {"by", "BLOB"}}));
  ASSERT_OK_AND_ASSIGN(engine::ResultTable result,
                       Run(table, "SELECT * EXCLUDE (__parley_row_id) FROM every ORDER BY i2"));
  // The engine's own column types (what the pinned-schema check compares).
  for (size_t i = 0; i < schema.size(); ++i) EXPECT_EQ(result.columns[i].type, schema[i].second);
  EXPECT_EQ(
      Values(result),
      (std::vector<std::vector<std::string>>{
          {"1", "-32768", "-2147483648", "-99.99", "999999999", "12345678901234.5678",
           "1234567890123456789012345678.0123456789", "1.5", "-2.25", "héllo '\"", "abc", "true",
           "2024-02-29", "2024-02-29 12:34:56.123456", "2024-02-29 10:34:56.5+00",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\\x00\\xFFA"},
          {"2", "32767", "9223372036854775807", "0.01", "-1", "-0.0001", "-0.0000000001", "nan",
           "inf", "", "", "false", "infinity", "-infinity", "infinity",
           "00000000-0000-0000-0000-000000000000", ""},
          {"3", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>",
           "<null>", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>", "<null>"},
          {"4", "0", "-9223372036854775808", "10.00", "0", "99999999999999.9999",
           "-99999999999999999999999999.9999999999", "-inf", "1e+300", "x", "y", "<null>",
           "1969-12-31", "1900-01-01 00:00:00", "1999-12-31 23:59:59.999999+00",
           "ffffffff-ffff-ffff-ffff-ffffffffffff", "\\x0A"}}));
}

TEST_F(PostgresConnectorTest, UnsupportedTypesAreRefusedAtRegistrationNamingTheColumn) {
  ASSERT_OK(
      server_->Execute("CREATE TABLE crm.loose (id int, amount numeric);"
                       "CREATE TABLE crm.padded (id int, code char(3));"
                       "CREATE TABLE crm.doc (id int, body jsonb);"
                       "CREATE TABLE crm.wide (id int, big numeric(40,2));"
                       "CREATE TABLE crm.listy (id int, tags text[]);"));
  auto refusal = [&](const std::string& relation) {
    absl::StatusOr<catalog::Table> table = Register("x", relation);
    return table.ok() ? std::string("ok") : std::string(table.status().message());
  };
  EXPECT_THAT(refusal("crm.loose"),
              HasSubstr("column 'amount' is numeric without a declared precision"));
  EXPECT_THAT(refusal("crm.padded"),
              HasSubstr("column 'code' has the PostgreSQL type character(3), which Parley "
                        "does not read"));
  EXPECT_THAT(refusal("crm.doc"), HasSubstr("column 'body' has the PostgreSQL type jsonb"));
  EXPECT_THAT(refusal("crm.wide"), HasSubstr("column 'big' is numeric(40,2): only numeric(p,s)"));
  EXPECT_THAT(refusal("crm.listy"), HasSubstr("column 'tags' has the PostgreSQL type text[]"));
}

TEST_F(PostgresConnectorTest, AnInlinePasswordIsRefusedWithoutEchoingIt) {
  for (const std::string& conninfo :
       {absl::StrCat(server_->TcpConninfo("reader"), " password=", kPassword),
        absl::StrCat("postgresql://reader:", kPassword, "@127.0.0.1:", server_->port(),
                     "/postgres")}) {
    absl::StatusOr<std::string> validated = connector_.Validate(
        absl::StrCat(R"({"conninfo": ")", conninfo, R"(", "relation": "crm.x"})"));
    ASSERT_FALSE(validated.ok());
    EXPECT_EQ(validated.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(validated.status().message(), HasSubstr("a password may not be given inline"));
    EXPECT_THAT(validated.status().message(), Not(HasSubstr(kPassword)));
    EXPECT_THAT(validated.status().message(), Not(HasSubstr("reader")));
  }
}

TEST_F(PostgresConnectorTest, PgpassAndServiceFilesAreHonouredAndAWrongPasswordIsNamedNotShown) {
  ASSERT_OK(server_->Execute("CREATE TABLE crm.small (id int); INSERT INTO crm.small VALUES (7)"));
  // .pgpass (PGPASSFILE, set for the suite) gives the password for the plain conninfo.
  ASSERT_OK(Register("small", "crm.small").status());
  // A service entry names host, port, user and database.
  std::filesystem::path services = std::filesystem::path(server_->directory()) / "services";
  std::ofstream(services) << "[warehouse]\nhost=127.0.0.1\nport=" << server_->port()
                          << "\nuser=reader\ndbname=postgres\n";
  setenv("PGSERVICEFILE", services.c_str(), 1);
  ASSERT_OK_AND_ASSIGN(std::string description,
                       connector_.Validate(R"({"conninfo": "service=warehouse", )"
                                           R"("relation": "crm.small"})"));
  EXPECT_THAT(description, HasSubstr(R"("conninfo":"service=warehouse")"));
  EXPECT_THAT(description, Not(HasSubstr(kPassword)));
  // Without the password file the server's demand is explained, not echoed.
  unsetenv("PGPASSFILE");
  absl::StatusOr<std::string> refused = connector_.Validate(Description("crm.small"));
  setenv("PGPASSFILE", pgpass_.c_str(), 1);
  unsetenv("PGSERVICEFILE");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(),
            "the PostgreSQL source: the PostgreSQL server asks for a password that neither "
            ".pgpass nor the service entry gives");
}

TEST_F(PostgresConnectorTest, AScanAsksTheServerForTheColumnsTheQueryNeedsAndThePushedFilter) {
  ASSERT_OK(server_->Execute(
      "CREATE TABLE crm.projected (id int, region text, spend numeric(10,2), secret text);"
      "INSERT INTO crm.projected SELECT i, CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END,"
      " i * 1.5, 'hidden' FROM generate_series(1, 1000) i;"));
  ASSERT_OK_AND_ASSIGN(catalog::Table table, Register("projected", "crm.projected"));
  ASSERT_OK_AND_ASSIGN(engine::ResultTable result,
                       Run(table,
                           "SELECT region, sum(spend) FROM projected WHERE region = 'north' "
                           "GROUP BY region",
                           R"(("region" = 'north'))"));
  EXPECT_EQ(Values(result), (std::vector<std::vector<std::string>>{{"north", "375750.00"}}));
  EXPECT_THAT(
      server_->LoggedStatements("crm\".\"projected\" WHERE"),
      ::testing::ElementsAre(HasSubstr(
          R"(COPY (SELECT "region"::text, "spend"::numeric(10,2) FROM "crm"."projected" WHERE ("region" = 'north')) TO STDOUT (FORMAT binary))")));
  // COUNT(*) needs no column at all.
  ASSERT_OK_AND_ASSIGN(result, Run(table, "SELECT count(*) FROM projected"));
  EXPECT_EQ(Values(result), (std::vector<std::vector<std::string>>{{"1000"}}));
}

// The checks every query makes, in the order a table can break.
TEST_F(PostgresConnectorTest, RemoteFailuresNameTheTableAndItsOwnerNeverAValue) {
  ASSERT_OK(server_->Execute(
      "CREATE TABLE crm.fragile (id int, label text); INSERT INTO crm.fragile VALUES (1, "
      "'confidential-value');"));
  ASSERT_OK_AND_ASSIGN(catalog::Table table, Register("fragile", "crm.fragile"));
  ASSERT_OK(Run(table, "SELECT count(*) FROM fragile").status());
  auto failure = [&]() {
    absl::StatusOr<engine::ResultTable> result = Run(table, "SELECT label FROM fragile");
    EXPECT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), Not(HasSubstr("confidential")));
    return result.status();
  };

  // Schema drift: a column's type changed.
  ASSERT_OK(server_->Execute("ALTER TABLE crm.fragile ALTER COLUMN id TYPE bigint"));
  absl::Status status = failure();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "table 'fragile' of member 'supplier' no longer matches its pinned schema: column "
            "'id' was INTEGER, is now BIGINT");
  ASSERT_OK(server_->Execute("ALTER TABLE crm.fragile ALTER COLUMN id TYPE int"));
  ASSERT_OK(Run(table, "SELECT count(*) FROM fragile").status());

  // A column dropped.
  ASSERT_OK(server_->Execute("ALTER TABLE crm.fragile RENAME COLUMN label TO label2"));
  status = failure();
  EXPECT_EQ(status.message(),
            "table 'fragile' of member 'supplier' no longer matches its pinned schema: column "
            "'label' is missing");
  ASSERT_OK(server_->Execute("ALTER TABLE crm.fragile RENAME COLUMN label2 TO label"));

  // The grant revoked.
  ASSERT_OK(server_->Execute("REVOKE SELECT ON crm.fragile FROM reader"));
  status = failure();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(),
            "table 'fragile' of member 'supplier': the PostgreSQL role may no longer read "
            "column 'id'");
  ASSERT_OK(server_->Execute("GRANT SELECT ON crm.fragile TO reader"));
  ASSERT_OK(Run(table, "SELECT count(*) FROM fragile").status());

  // Dropped, then re-created with the same shape: another table, not the registered one.
  ASSERT_OK(server_->Execute("DROP TABLE crm.fragile"));
  status = failure();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "table 'fragile' of member 'supplier': the PostgreSQL table does not exist");
  ASSERT_OK(server_->Execute("CREATE TABLE crm.fragile (id int, label text)"));
  status = failure();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("table 'fragile' of member 'supplier': its PostgreSQL source now "
                        "reaches a different table than the one registered"));

  // The server down.
  ASSERT_OK(server_->Stop());
  status = failure();
  ASSERT_OK(server_->Restart());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "table 'fragile' of member 'supplier': the PostgreSQL server cannot be reached or "
            "refused the connection");
}

TEST_F(PostgresConnectorTest, ARelationIsClaimedByItsIdentity) {
  ASSERT_OK(server_->Execute("CREATE TABLE crm.claimed (id int)"));
  ASSERT_OK_AND_ASSIGN(catalog::Table first, Register("a", "crm.claimed"));
  ASSERT_OK_AND_ASSIGN(catalog::Table again, Register("b", "CRM.Claimed"));
  std::vector<connectors::FileId> claims = connector_.Claims(first.source_json);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims, connector_.Claims(again.source_json));
  EXPECT_NE(claims[0].first & (uint64_t{1} << 63), 0u);
  ASSERT_OK(server_->Execute("CREATE TABLE crm.other (id int)"));
  ASSERT_OK_AND_ASSIGN(catalog::Table other, Register("c", "crm.other"));
  EXPECT_NE(connector_.Claims(other.source_json), claims);
}

TEST_F(PostgresConnectorTest, WithColumnGrantsTheSourceIsTheColumnsTheRoleMayRead) {
  ASSERT_OK(server_->Execute(
      "CREATE TABLE crm.partly (id int, region text, secret jsonb);"
      "INSERT INTO crm.partly VALUES (1, 'north', '{}');"
      "REVOKE ALL ON crm.partly FROM reader; GRANT SELECT (id, region) ON crm.partly TO reader;"
      "CREATE TABLE crm.nothing (id int); REVOKE ALL ON crm.nothing FROM reader;"));
  ASSERT_OK_AND_ASSIGN(catalog::Table table, Register("partly", "crm.partly"));
  ASSERT_EQ(table.source_schema.size(), 2u);
  EXPECT_EQ(table.source_schema[0].name, "id");
  EXPECT_EQ(table.source_schema[1].name, "region");
  ASSERT_OK_AND_ASSIGN(engine::ResultTable result, Run(table, "SELECT id, region FROM partly"));
  EXPECT_EQ(Values(result), (std::vector<std::vector<std::string>>{{"1", "north"}}));
  absl::StatusOr<catalog::Table> nothing = Register("nothing", "crm.nothing");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(nothing.status().message(),
            "the PostgreSQL source: the role has no SELECT privilege on the table");
}

// A table of at least 4096 pages is read by several connections, each copying ranges of pages
// in the first connection's exported snapshot: the same rows, exactly, as one COPY of the same
// data gives (the small table below is read by one connection), with and without a pushed filter.
TEST_F(PostgresConnectorTest, AParallelScanReturnsExactlyTheRowsOfASingleScan) {
  // fillfactor 10 and rows of ~850 bytes: one row per page, so 5000 rows are 5000 pages.
  ASSERT_OK(server_->Execute(
      "CREATE TABLE crm.large (id int, region text, amount numeric(12,2), pad text)"
      " WITH (fillfactor = 10);"
      "INSERT INTO crm.large SELECT i, CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'north'"
      " ELSE 'south' END, i * 1.25, repeat(md5(i::text), 26) FROM generate_series(1, 5000) i;"
      "DELETE FROM crm.large WHERE id % 1000 = 7;"
      "CREATE TABLE crm.compact AS SELECT * FROM crm.large;"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::vector<std::string>> pages,
                       server_->Query("SELECT pg_relation_size('crm.large') / 8192 >= 4096, "
                                      "pg_relation_size('crm.compact') / 8192 < 4096"));
  ASSERT_EQ(pages, (std::vector<std::vector<std::string>>{{"t", "t"}}));
  ASSERT_OK_AND_ASSIGN(catalog::Table large, Register("large", "crm.large"));
  ASSERT_OK_AND_ASSIGN(catalog::Table small, Register("compact", "crm.compact"));
  auto rows =
      [&](const catalog::Table& table, const std::string& sql,
          const std::string& filter) -> absl::StatusOr<std::vector<std::vector<std::string>>> {
    PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, connector_.ViewForQuery(table, {}, filter));
    engine::Limits limits;
    limits.threads = 4;
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<engine::duckdb::Session> session,
                            engine::duckdb::Session::Open({view}, limits));
    PARLEY_ASSIGN_OR_RETURN(engine::ResultTable result, session->Run(sql));
    return Values(result);
  };
  const std::string every_row = "SELECT id, region, amount, md5(pad) FROM {} ORDER BY id";
  auto on = [](std::string sql, const std::string& table) {
    return absl::StrReplaceAll(sql, {{"{}", table}});
  };
  ASSERT_OK_AND_ASSIGN(auto parallel, rows(large, on(every_row, "large"), ""));
  ASSERT_OK_AND_ASSIGN(auto single, rows(small, on(every_row, "compact"), ""));
  EXPECT_EQ(parallel.size(), 4995u);
  EXPECT_EQ(parallel, single);
  // The ranges: 2 connections × 4 ranges, the last open-ended; every worker joined the snapshot.
  std::vector<std::string> ranges = server_->LoggedStatements("\"crm\".\"large\" WHERE ctid >=");
  ASSERT_EQ(ranges.size(), 8u);
  // The connections run their ranges side by side, so the log's order is not the ranges' order.
  EXPECT_EQ(std::count_if(
                ranges.begin(), ranges.end(),
                [](const std::string& range) { return range.find("ctid <") == std::string::npos; }),
            1);
  EXPECT_THAT(server_->LoggedStatements("SET TRANSACTION SNAPSHOT"), Not(::testing::IsEmpty()));
  EXPECT_THAT(server_->LoggedStatements("\"crm\".\"compact\" WHERE ctid"), ::testing::IsEmpty());

  // A pushed filter is kept in every range, parenthesised before the range's own condition.
  const std::string filtered =
      "SELECT region, count(*), sum(amount) FROM {} WHERE region = 'north' OR id < 10 "
      "GROUP BY region ORDER BY region";
  const std::string pushed = R"(("region" = 'north') OR ("id" < 10))";
  ASSERT_OK_AND_ASSIGN(parallel, rows(large, on(filtered, "large"), pushed));
  ASSERT_OK_AND_ASSIGN(single, rows(small, on(filtered, "compact"), pushed));
  EXPECT_EQ(parallel, single);
  EXPECT_EQ(parallel, (std::vector<std::vector<std::string>>{{"north", "1665", "5205607.50"},
                                                             {"south", "3", "18.75"},
                                                             {"<null>", "3", "22.50"}}));
  EXPECT_THAT(server_->LoggedStatements(
                  R"(WHERE (("region" = 'north') OR ("id" < 10)) AND ctid >= '(0,0)'::tid)"),
              ::testing::SizeIs(1));
}

TEST_F(PostgresConnectorTest, AMissingRelationIsNamedToItsOwnerAtRegistration) {
  absl::StatusOr<catalog::Table> table = Register("x", "crm.nowhere");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(table.status().message(),
            "the PostgreSQL source: the role sees no table or view 'crm.nowhere'");
}

}  // namespace
}  // namespace parley
