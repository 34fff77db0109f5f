#include "engine/duckdb/session.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/duckdb/duckdb_api.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine::duckdb {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::optional<std::string> Text(const char* text) { return std::string(text); }

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_exec_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "parts");
    Write("people.csv", "name,email,age\nann,alice@x,31\nbob,bob@y,45\ncy,cy@z,\n");
    Write("secret.csv", "token\nhunter2\n");
    Write("parts/a.csv", "k,v\n1,10\n2,20\n");
    Write("parts/b.csv", "k,v\n3,30\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(dir_ / name, std::ios::binary) << contents;
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  SourceView PeopleView() const {
    return {"people",
            "SELECT name, email, age FROM read_csv(" + QuoteString(PathOf("people.csv")) +
                ", header=true, auto_detect=true)",
            {PathOf("people.csv")},
            {}};
  }

  std::unique_ptr<Session> OpenPeople(Limits limits = {}) {
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Open({PeopleView()}, limits);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? std::move(*session) : nullptr;
  }

  std::filesystem::path dir_;
};

TEST_F(SessionTest, ViewsWorkAfterLockDown) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  absl::StatusOr<ResultTable> result =
      session->Run("SELECT count(*) AS n, sum(age) AS total, max(name) AS last FROM people");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->columns,
              ElementsAre(ResultColumn{"n", "BIGINT"}, ResultColumn{"total", "HUGEINT"},
                          ResultColumn{"last", "VARCHAR"}));
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_THAT(result->rows[0], ElementsAre(Text("3"), Text("76"), Text("cy")));
}

TEST_F(SessionTest, NullsAreNullopt) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  absl::StatusOr<ResultTable> result = session->Run("SELECT age FROM people ORDER BY name");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_EQ(result->rows[2][0], std::nullopt);
}

TEST_F(SessionTest, ReadingAnotherFileIsDenied) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  for (const std::string& sql : {
           std::string("SELECT * FROM read_csv('/etc/passwd')"),
           "SELECT * FROM read_csv(" + QuoteString(PathOf("secret.csv")) + ")",
           "SELECT * FROM read_text(" + QuoteString(PathOf("secret.csv")) + ")",
           "SELECT * FROM glob(" + QuoteString(PathOf("*")) + ")",
       }) {
    absl::StatusOr<ResultTable> result = session->Run(sql);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << sql;
    EXPECT_EQ(result.status().message(), "query failed during execution: permission error");
  }
}

TEST_F(SessionTest, WritingAttachingAndInstallingAreDenied) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  for (const std::string& sql : {
           "COPY people TO " + QuoteString(PathOf("out.csv")),
           "COPY (SELECT 1) TO " + QuoteString(PathOf("out.csv")),
           "ATTACH " + QuoteString(PathOf("other.db")) + " AS other",
           std::string("INSTALL httpfs"),
           std::string("LOAD httpfs"),
       }) {
    absl::StatusOr<ResultTable> result = session->Run(sql);
    // The refusal must be the lock-down's, not an incidental failure (a typo, no network).
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << sql;
    EXPECT_EQ(result.status().message(), "query failed during execution: permission error");
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other.db"));
}

TEST_F(SessionTest, ConfigurationIsLocked) {
  Limits limits;
  limits.memory_limit = "1GB";
  auto session = OpenPeople(limits);
  ASSERT_NE(session, nullptr);
  for (const char* sql : {"SET enable_external_access=true", "RESET enable_external_access",
                          "SET lock_configuration=false", "SET memory_limit='100GB'",
                          "SET allowed_directories=['/']"}) {
    absl::StatusOr<ResultTable> result = session->Run(sql);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << sql;
    EXPECT_EQ(result.status().message(), "query failed during execution: invalid input error");
    // Settings a database that is not locked accepts: there, only the lock refused them.
    // (DuckDB never re-enables external access at run time, locked or not.)
    std::string_view text = sql;
    if (text.find("memory_limit") != std::string_view::npos ||
        text.find("lock_configuration") != std::string_view::npos) {
      auto unlocked = OpenInMemoryDatabase({});
      ASSERT_TRUE(unlocked.ok());
      EXPECT_TRUE(ExecuteStatement(unlocked->connection.get(), sql, "control").ok()) << sql;
    }
  }
  absl::StatusOr<ResultTable> limit = session->Run("SELECT current_setting('memory_limit')");
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_THAT(limit->rows[0][0], Text("953.6 MiB"));
  absl::StatusOr<ResultTable> still = session->Run("SELECT count(*) FROM people");
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_THAT(still->rows[0], ElementsAre(Text("3")));
}

TEST_F(SessionTest, GlobViewReadsItsDirectoryOnly) {
  std::string glob = PathOf("parts/*.csv");
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Open({{"parts",
                      "SELECT k, v FROM read_csv(" + QuoteString(glob) + ", header=true)",
                      {},
                      {PathOf("parts") + "/"}}},
                    {});
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<ResultTable> result = (*session)->Run("SELECT sum(v) FROM parts");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->rows[0], ElementsAre(Text("60")));
  absl::StatusOr<ResultTable> escape =
      (*session)->Run("SELECT * FROM read_csv(" + QuoteString(PathOf("secret.csv")) + ")");
  EXPECT_EQ(escape.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(SessionTest, OnlyOneStatementRuns) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  absl::StatusOr<ResultTable> result = session->Run("SELECT 1; DROP VIEW people");
  EXPECT_EQ(result.status(),
            absl::InvalidArgumentError("query failed: expected exactly one statement"));
  EXPECT_TRUE(session->Run("SELECT count(*) FROM people").ok());
}

TEST_F(SessionTest, ParserErrorIsClassOnly) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->Run("SELEKT 'alice@x'").status(),
            absl::InvalidArgumentError("query failed: parser error"));
}

TEST_F(SessionTest, ConversionErrorDoesNotQuoteTheValue) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  absl::StatusOr<ResultTable> result =
      session->Run("SELECT sum(CAST(email AS INTEGER)) FROM people");
  EXPECT_EQ(result.status(),
            absl::InvalidArgumentError("query failed during execution: conversion error"));
  EXPECT_THAT(result.status().message(), Not(HasSubstr("alice")));
}

TEST_F(SessionTest, BinderErrorDoesNotListColumns) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->Run("SELECT emial FROM people").status(),
            absl::InvalidArgumentError("query failed during execution: binder error"));
}

TEST_F(SessionTest, TimeoutInterruptsTheQuery) {
  Limits limits;
  limits.threads = 2;
  limits.timeout = std::chrono::milliseconds(200);
  auto session = OpenPeople(limits);
  ASSERT_NE(session, nullptr);
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ResultTable> result = session->Run(
      "SELECT sum(a.range * b.range) FROM range(10000000000) a CROSS JOIN range(1000) b");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.status(), absl::DeadlineExceededError("query exceeded the time limit of 0.2 s"));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // The session stays usable, and the interrupt does not leak into the next query.
  absl::StatusOr<ResultTable> next = session->Run("SELECT count(*) FROM people");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(next->rows[0], ElementsAre(Text("3")));
}

TEST_F(SessionTest, TheCancelFlagInterruptsTheQuery) {
  std::atomic<bool> cancel = false;
  Limits limits;
  limits.threads = 2;
  limits.cancel = &cancel;
  auto session = OpenPeople(limits);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Run("SELECT count(*) FROM people").ok()) << "an unset flag changes nothing";
  std::thread interrupt([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ResultTable> result = session->Run(
      "SELECT sum(a.range * b.range) FROM range(10000000000) a CROSS JOIN range(1000) b");
  auto elapsed = std::chrono::steady_clock::now() - start;
  interrupt.join();
  EXPECT_EQ(result.status(), absl::CancelledError("query interrupted"));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// The server's run queue stops one run, and follows its progress, through a RunControl.
TEST_F(SessionTest, ARunControlCancelsOneRunAndReportsItsProgress) {
  {
    absl::StatusOr<InMemoryDatabase> writer = OpenInMemoryDatabase({});
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE(ExecuteStatement(writer->connection.get(),
                                 "COPY (SELECT range AS x, range % 97 AS g FROM range(2000000)) "
                                 "TO " +
                                     QuoteString(PathOf("big.parquet")) +
                                     " (FORMAT parquet, ROW_GROUP_SIZE 10000)",
                                 "write")
                    .ok());
  }
  std::string scan = "SELECT x, g FROM read_parquet(" + QuoteString(PathOf("big.parquet")) + ")";
  Limits limits;
  limits.threads = 2;
  auto session = Session::Open({{"big", scan, {PathOf("big.parquet")}, {}}}, limits,
                               /*estimate_progress=*/true);
  ASSERT_TRUE(session.ok()) << session.status();
  RunControl control;
  double seen = -1;
  std::thread interrupt([&] {
    for (int i = 0; i < 100 && seen < 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      seen = control.progress.load();
    }
    control.cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ResultTable> result = (*session)->Run(
      "SELECT count(*) FROM big a JOIN big b ON a.g = b.g AND a.x < b.x + 1000000", &control);
  interrupt.join();
  EXPECT_EQ(result.status(), absl::CancelledError("query interrupted"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_GE(seen, 0) << "no progress was reported";
  EXPECT_LT(seen, 100);
  // The session's next run, without a control, is not cancelled.
  absl::StatusOr<ResultTable> next = (*session)->Run("SELECT count(*) FROM big");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(next->rows[0], ElementsAre(Text("2000000")));
}

TEST_F(SessionTest, ARunControlSetsThatRunsTimeLimit) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  RunControl control;
  control.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ResultTable> result = session->Run(
      "SELECT sum(a.range * b.range) FROM range(10000000000) a CROSS JOIN range(1000) b", &control);
  EXPECT_EQ(result.status(), absl::DeadlineExceededError("query exceeded the time limit of 0.3 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SessionTest, FastQueriesAreNotInterrupted) {
  Limits hasty;
  hasty.timeout = std::chrono::milliseconds(1);
  auto session = OpenPeople(hasty);
  ASSERT_NE(session, nullptr);
  // Many short queries: a late watchdog must never cancel the next one.
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<ResultTable> result = session->Run("SELECT 42");
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
    }
  }
  Limits relaxed_limits;
  relaxed_limits.timeout = std::chrono::seconds(10);
  auto relaxed = OpenPeople(relaxed_limits);
  ASSERT_NE(relaxed, nullptr);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(relaxed->Run("SELECT 42").ok());
}

TEST_F(SessionTest, MemoryLimitGivesResourceExhausted) {
  Limits limits;
  limits.memory_limit = "100MB";
  limits.threads = 1;
  auto session = OpenPeople(limits);
  ASSERT_NE(session, nullptr);
  absl::StatusOr<ResultTable> result =
      session->Run("SELECT length(list(range)) FROM range(200000000)");
  EXPECT_EQ(result.status(),
            absl::ResourceExhaustedError("query exceeded the memory limit of 100MB"));
}

TEST_F(SessionTest, OpenNamesTheViewThatFails) {
  SourceView ghost{"ghost",
                   "SELECT a FROM read_csv(" + QuoteString(PathOf("missing.csv")) + ")",
                   {PathOf("missing.csv")},
                   {}};
  EXPECT_EQ(Session::Open({PeopleView(), ghost}, {}).status(),
            absl::InvalidArgumentError("cannot create view 'ghost': IO error"));
  SourceView renamed{"people2",
                     "SELECT salary FROM read_csv(" + QuoteString(PathOf("people.csv")) + ")",
                     {PathOf("people.csv")},
                     {}};
  EXPECT_EQ(Session::Open({renamed}, {}).status(),
            absl::InvalidArgumentError("cannot create view 'people2': binder error"));
}

TEST_F(SessionTest, DescribeListsColumnsAndTypes) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  absl::StatusOr<std::vector<ResultColumn>> columns = session->Describe("people");
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_THAT(*columns,
              ElementsAre(ResultColumn{"name", "VARCHAR"}, ResultColumn{"email", "VARCHAR"},
                          ResultColumn{"age", "BIGINT"}));
  EXPECT_EQ(session->Describe("nope").status(), absl::NotFoundError("no view named 'nope'"));
}

TEST_F(SessionTest, ResultTypeNamesMatchDescribe) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  const std::string select =
      "SELECT 1::TINYINT a, 1::SMALLINT b, 1::INTEGER c, 1::BIGINT d, 1::HUGEINT e, "
      "1::UTINYINT f, 1::UBIGINT g, 1::UHUGEINT h, 1.5::FLOAT i, 1.5::DOUBLE j, "
      "1.5::DECIMAL(18,3) k, 'x' l, true m, DATE '2024-01-02' n, TIMESTAMP '2024-01-02 03:04:05' "
      "o, "
      "TIMESTAMPTZ '2024-01-02 03:04:05+00' p, TIME '01:02:03' q, INTERVAL 1 DAY r, "
      "'\\x01'::BLOB s, [1, 2] t, {'a': 1, 'B c': 'x'} u, MAP {'k': 1} v, [1, 2]::INTEGER[2] w, "
      "gen_random_uuid() x, NULL y, '101'::BIT z, TIMESTAMP_S '2024-01-02' aa, [[1]] ab, "
      "'{}'::JSON ac, 1.5::DECIMAL(4,1) ad";
  absl::StatusOr<ResultTable> result = session->Run(select);
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<ResultTable> described = session->Run("DESCRIBE " + select);
  ASSERT_TRUE(described.ok()) << described.status();
  ASSERT_EQ(described->rows.size(), result->columns.size());
  for (size_t i = 0; i < result->columns.size(); ++i) {
    EXPECT_EQ(result->columns[i].type, *described->rows[i][1]) << result->columns[i].name;
  }
}

// A SELECT is planned once and its values are rendered from the typed result; each value must
// read exactly as DuckDB's own CAST(... AS VARCHAR) renders it (which is what results showed
// before, and what plain DuckDB prints). Types the C API cannot render go through the cast.
TEST_F(SessionTest, RendersEveryValueAsDuckDbsCastToVarchar) {
  auto session = OpenPeople();
  ASSERT_NE(session, nullptr);
  const std::vector<std::string> values = {
      "(-128)::TINYINT", "127::TINYINT", "(-32768)::SMALLINT", "(-2147483648)::INTEGER",
      "(-9223372036854775808)::BIGINT", "9223372036854775807::BIGINT", "255::UTINYINT",
      "65535::USMALLINT", "4294967295::UINTEGER", "18446744073709551615::UBIGINT",
      "(-170141183460469231731687303715884105728)::HUGEINT",
      "170141183460469231731687303715884105727::HUGEINT",
      "340282366920938463463374607431768211455::UHUGEINT", "1.0::DOUBLE", "0.1::DOUBLE",
      "(-0.0)::DOUBLE", "1e15::DOUBLE", "1e16::DOUBLE", "1e20::DOUBLE",
      "123456789012345678::DOUBLE", "1e-5::DOUBLE", "0.0001::DOUBLE", "'nan'::DOUBLE",
      "'inf'::DOUBLE", "'-inf'::DOUBLE", "2.5e-310::DOUBLE", "1.7976931348623157e308::DOUBLE",
      "round(2.0 / 3, 2)", "avg(x) FROM range(10) t(x)", "sum(x) FROM range(10) t(x)", "0.1::FLOAT",
      "1e20::FLOAT", "3.4028235e38::FLOAT", "'nan'::FLOAT", "1.5::DECIMAL(4,1)",
      "(-0.05)::DECIMAL(18,3)", "12345678901234567.891::DECIMAL(38,3)", "0::DECIMAL(10,4)",
      "(-1)::DECIMAL(38,10)", "1::DECIMAL(2,0)",
      "(-99999999999999999999999999999999999999)::DECIMAL(38,0)", "DATE '2024-01-02'",
      "DATE '0001-01-01'", "'infinity'::DATE", "'-infinity'::DATE", "DATE '-0044-03-15'",
      "TIMESTAMP '2024-01-02 03:04:05.123456'", "TIMESTAMP '2024-01-02 03:04:05'",
      "'-infinity'::TIMESTAMP", "TIME '03:04:05.25'", "TIME '00:00:00'",
      "INTERVAL '1 year 2 months 3 days 04:05:06.7'", "INTERVAL (-5) MINUTE", "INTERVAL 0 DAY",
      "true", "false", "'hello'", "''", "'a''b\nc'", "'{\"k\": 1}'::JSON", "'\\x00'::BLOB",
      "'abc\\xFF'::BLOB",
      // Through the cast: types the C API renders empty.
      "TIMESTAMPTZ '2024-01-02 03:04:05.5+02'", "TIMESTAMP_S '2024-01-02 03:04:05'",
      "TIMESTAMP_MS '2024-01-02 03:04:05.123'", "TIMESTAMP_NS '2024-01-02 03:04:05.123456789'",
      "TIMETZ '03:04:05+02'", "'12345678-1234-5678-1234-567812345678'::UUID", "[1, 2, 3]",
      "{'a': 1, 'b': 'x'}", "MAP {'k': 1}", "'a'::ENUM('a', 'b')", "'1010'::BIT",
      "[1, 2]::INTEGER[2]", "123::VARINT", "NULL"};
  for (const std::string& value : values) {
    size_t from = value.find(" FROM ");
    std::string expression = value.substr(0, from);
    std::string rest = from == std::string::npos ? "" : value.substr(from);
    absl::StatusOr<ResultTable> typed = session->Run("SELECT " + expression + " AS v" + rest);
    absl::StatusOr<ResultTable> cast =
        session->Run("SELECT CAST(" + expression + " AS VARCHAR) AS v" + rest);
    ASSERT_TRUE(typed.ok()) << value << ": " << typed.status();
    ASSERT_TRUE(cast.ok()) << value << ": " << cast.status();
    ASSERT_EQ(typed->rows.size(), 1u) << value;
    EXPECT_EQ(typed->rows, cast->rows) << value;
    EXPECT_EQ(cast->columns[0].type, "VARCHAR");
  }
  // Columns rendered directly and a column that needs the cast, in one result.
  absl::StatusOr<ResultTable> mixed = session->Run(
      "SELECT 1.5::DOUBLE AS d, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS t, name FROM people "
      "ORDER BY name DESC");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_THAT(mixed->columns, ElementsAre(ResultColumn{"d", "DOUBLE"},
                                          ResultColumn{"t", "TIMESTAMP WITH TIME ZONE"},
                                          ResultColumn{"name", "VARCHAR"}));
  EXPECT_THAT(mixed->rows[0], ElementsAre(Text("1.5"), Text("2024-01-02 01:04:05+00"), Text("cy")));
  EXPECT_THAT(mixed->rows[2],
              ElementsAre(Text("1.5"), Text("2024-01-02 01:04:05+00"), Text("ann")));
}

TEST(EngineQuoteTest, DoublesQuotes) {
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdentifier(""), "\"\"");
  EXPECT_EQ(QuoteString("it's"), "'it''s'");
  EXPECT_EQ(QuoteString("a\\b"), "'a\\b'");
}

}  // namespace
}  // namespace parley::engine::duckdb
