#include "engine/duckdb/duckdb_engine.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::engine::duckdb {
namespace {

using ::testing::ElementsAre;

class DuckDbEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_duckdb_engine_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "t.csv") << "k,v\n1,10\n2,20\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SourceView View(std::vector<ResultColumn> pinned = {{"k", "BIGINT"}, {"v", "BIGINT"}}) {
    std::string path = (dir_ / "t.csv").string();
    return SourceView{
        "t", "SELECT k, v FROM read_csv(" + QuoteString(path) + ")", {path}, {}, std::move(pinned)};
  }

  std::filesystem::path dir_;
};

TEST_F(DuckDbEngineTest, ReusesIdleSessionsAndClosesFailedOnes) {
  int opened = 0;
  DuckDbEngine engine({.limits = {}, .on_session_opened = [&opened] { ++opened; }});
  EXPECT_EQ(engine.dialect(), "duckdb");
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ResultTable> result = engine.Run({"SELECT sum(v) AS s FROM t", {View()}});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_THAT(result->rows, ElementsAre(ElementsAre("30")));
  }
  EXPECT_EQ(opened, 1);
  // A failed run is marked as such, and its session is not reused.
  Engine::Stage stage = Engine::Stage::kSources;
  absl::Status failed =
      engine.Run({"SELECT CAST('x' || k AS INTEGER) FROM t", {View()}}, &stage).status();
  EXPECT_EQ(failed, absl::InvalidArgumentError("query failed during execution: conversion error"));
  EXPECT_EQ(stage, Engine::Stage::kQuery);
  ASSERT_TRUE(engine.Run({"SELECT 1 FROM t", {View()}}).ok());
  EXPECT_EQ(opened, 2);
}

// The service sends the pinned columns only while a file's version is not yet trusted: a run
// that checks them and one that does not are served by the same session (the check runs on it).
TEST_F(DuckDbEngineTest, ARunThatChecksPinnedColumnsSharesTheSessionOfOneThatDoesNot) {
  int opened = 0;
  DuckDbEngine engine({.limits = {}, .on_session_opened = [&opened] { ++opened; }});
  ASSERT_TRUE(engine.Run({"SELECT sum(v) AS s FROM t", {View({{"k", "BIGINT"}})}}).ok());
  ASSERT_TRUE(engine.Run({"SELECT sum(v) AS s FROM t", {View({})}}).ok());
  ASSERT_TRUE(engine.Run({"SELECT sum(v) AS s FROM t", {View({{"k", "BIGINT"}})}}).ok());
  EXPECT_EQ(opened, 1);
  // A reused session whose view no longer fits the pinned columns still refuses the run.
  absl::Status status = engine.Run({"SELECT 1 FROM t", {View({{"gone", "BIGINT"}})}}).status();
  EXPECT_EQ(status, absl::FailedPreconditionError(
                        "table 't' no longer matches its pinned schema: column 'gone' is missing"));
}

TEST_F(DuckDbEngineTest, PinnedColumnsAreCheckedBeforeTheRun) {
  DuckDbEngine engine({});
  Engine::Stage stage = Engine::Stage::kQuery;
  absl::Status status =
      engine.Run({"SELECT 1 FROM t", {View({{"k", "BIGINT"}, {"V", "VARCHAR"}})}}, &stage).status();
  EXPECT_EQ(status, absl::FailedPreconditionError(
                        "table 't' no longer matches its pinned schema: column 'V' was VARCHAR, "
                        "is now BIGINT"));
  EXPECT_EQ(stage, Engine::Stage::kSources);
  status = engine.Run({"SELECT 1 FROM t", {View({{"gone", "BIGINT"}})}}).status();
  EXPECT_EQ(status, absl::FailedPreconditionError(
                        "table 't' no longer matches its pinned schema: column 'gone' is missing"));
}

TEST_F(DuckDbEngineTest, RunsFromManyThreadsAtOnce) {
  DuckDbEngine engine({.limits = {.threads = 1}});
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<ResultTable> result = engine.Run({"SELECT count(*) AS n FROM t", {View()}});
        if (!result.ok() || result->rows.at(0).at(0) != "2") ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace parley::engine::duckdb
