// A throw-away ClickHouse cluster for tests: N `clickhouse-server` processes (Debian's 18.16), each
// with its own config, users and data under one fresh temporary directory, listening on free
// 127.0.0.1 ports only, and a `remote_servers` cluster "parley" with one shard per node. Stopped
// (TERM, then KILL) by PID and removed when the object goes away — also when the test fails,
// since a test holds it by value or in a suite fixture; each server also gets SIGTERM if the test
// process dies (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
//
// ON CLUSTER DDL needs ZooKeeper, which 18.16 clusters here do not have: ExecuteOnEach applies
// schema to every node, which is what an operator does for shard-local and Distributed tables.
//
// Users (users.xml of every node):
// - "default": the tests' administrator, no password, loopback only (schema, data);
// - "cluster": what the nodes use towards each other for Distributed queries;
// - "loader": a writer account of the database "rooms" only (profile default), for Parley's loading
//   of members' files (`engine add --loader-user`); password loader_password();
// - "parley": the account Parley's engine connects as — profile "parley" with readonly=1,
//   join_use_nulls=1, max_memory_usage, max_execution_time and max_result_rows, allowed only the
//   database "rooms", loopback only; its password is random per cluster (reader_password()).
// The database "rooms" exists on every node. Servers run in UTC.
//
//   ASSERT_OK_AND_ASSIGN(auto cluster, ClickHouseCluster::Start(2));
//   ASSERT_OK(cluster->ExecuteOnEach("CREATE TABLE rooms.t_local (...) ENGINE = MergeTree ..."));
//   std::string url = cluster->HttpUrl(0);  // http://127.0.0.1:PORT
//
// Thread safety: one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parley::testing {

class ClickHouseCluster {
 public:
  static constexpr char kCluster[] = "parley";
  static constexpr char kDatabase[] = "rooms";
  static constexpr char kReader[] = "parley";
  static constexpr char kLoader[] = "loader";

  // Starts `shards` nodes (1 or more) and waits until each answers. Errors: FailedPrecondition
  // when clickhouse-server is not installed; Internal naming the node and the step otherwise,
  // with the server's error log (the tests' own data only).
  // `max_memory_usage`: the reader profile's cap per query and node, in bytes (benchmarks raise
  // it).
  // `max_result_rows`: the reader profile's cap on a result's rows.
  static absl::StatusOr<std::unique_ptr<ClickHouseCluster>> Start(
      int shards = 2, int64_t max_memory_usage = 2'000'000'000,
      int64_t max_result_rows = 1'000'000);
  ~ClickHouseCluster();

  int shards() const { return static_cast<int>(nodes_.size()); }
  int http_port(int node) const { return nodes_[node].http_port; }
  int tcp_port(int node) const { return nodes_[node].tcp_port; }
  pid_t pid(int node) const { return nodes_[node].pid; }
  std::string HttpUrl(int node) const;
  const std::string& directory() const { return directory_; }
  const std::string& reader_password() const { return reader_password_; }
  const std::string& loader_password() const { return loader_password_; }

  // Runs one statement as "default" on `node` over HTTP (inserts into Distributed tables are
  // synchronous: insert_distributed_sync=1); error with the server's message.
  absl::Status Execute(int node, const std::string& sql) const;
  // Runs each statement of `statements` on every node, in order.
  absl::Status ExecuteOnEach(const std::vector<std::string>& statements) const;
  // The output of one query as "default" on `node` (TabSeparated text).
  absl::StatusOr<std::string> Query(int node, const std::string& sql) const;

  // Stops every node (TERM, then KILL after 20 s) and waits for it; idempotent.
  absl::Status Stop();

 private:
  struct Node {
    std::string directory;
    int http_port = 0;
    int tcp_port = 0;
    int interserver_port = 0;
    pid_t pid = -1;
  };
  ClickHouseCluster() = default;
  absl::Status WriteConfig(const Node& node) const;
  absl::Status Launch(Node& node) const;
  absl::Status WaitReady(const Node& node) const;

  std::string directory_;
  std::string reader_password_;
  std::string loader_password_;
  int64_t max_memory_usage_ = 0;
  int64_t max_result_rows_ = 0;
  std::vector<Node> nodes_;
};

}  // namespace parley::testing
