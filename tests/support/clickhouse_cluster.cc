#include "support/clickhouse_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "support/free_port.h"

namespace parley::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kServer[] = "/usr/sbin/clickhouse-server";

std::string RandomHex(int bytes) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    unsigned char byte = static_cast<unsigned char>(random.get());
    absl::StrAppend(&out, absl::Hex(byte, absl::kZeroPad2));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClickHouseCluster>> ClickHouseCluster::Start(
    int shards, int64_t max_memory_usage, int64_t max_result_rows) {
  if (!fs::exists(kServer)) {
    return absl::FailedPreconditionError(
        absl::StrCat("ClickHouse is not installed (", kServer,
                     " is missing): scripts/bootstrap.sh installs the clickhouse-server package"));
  }
  if (shards < 1) return absl::InvalidArgumentError("a cluster has at least one shard");
  std::unique_ptr<ClickHouseCluster> cluster(new ClickHouseCluster());
  std::string pattern = (fs::temp_directory_path() / "parley-ch-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  cluster->directory_ = pattern;
  cluster->reader_password_ = RandomHex(16);
  cluster->loader_password_ = RandomHex(16);
  cluster->max_memory_usage_ = max_memory_usage;
  cluster->max_result_rows_ = max_result_rows;
  for (int i = 0; i < shards; ++i) {
    Node node;
    node.directory = absl::StrCat(pattern, "/node", i);
    for (int* port : {&node.http_port, &node.tcp_port, &node.interserver_port}) {
      absl::StatusOr<int> free = FreeLoopbackPort();
      if (!free.ok()) return free.status();
      *port = *free;
    }
    cluster->nodes_.push_back(node);
  }
  for (Node& node : cluster->nodes_) {
    std::error_code error;
    fs::create_directories(node.directory, error);
    if (error) return absl::InternalError("cannot create a node's directory");
    absl::Status written = cluster->WriteConfig(node);
    if (!written.ok()) return written;
    absl::Status launched = cluster->Launch(node);
    if (!launched.ok()) return launched;
  }
  for (const Node& node : cluster->nodes_) {
    absl::Status ready = cluster->WaitReady(node);
    if (!ready.ok()) return ready;
  }
  absl::Status database =
      cluster->ExecuteOnEach({absl::StrCat("CREATE DATABASE IF NOT EXISTS ", kDatabase)});
  if (!database.ok()) return database;
  return cluster;
}

absl::Status ClickHouseCluster::WriteConfig(const Node& node) const {
  std::string shards;
  for (const Node& other : nodes_) {
    absl::StrAppend(&shards, "      <shard><replica><host>127.0.0.1</host><port>", other.tcp_port,
                    "</port><user>cluster</user><password>", reader_password_,
                    "</password></replica></shard>\n");
  }
  const std::string& d = node.directory;
  std::ofstream config(d + "/config.xml");
  config << "<?xml version=\"1.0\"?>\n<yandex>\n"
         << "  <logger><level>warning</level><log>" << d << "/server.log</log><errorlog>" << d
         << "/server.err.log</errorlog><console>0</console></logger>\n"
         << "  <http_port>" << node.http_port << "</http_port>\n"
         << "  <tcp_port>" << node.tcp_port << "</tcp_port>\n"
         << "  <interserver_http_port>" << node.interserver_port << "</interserver_http_port>\n"
         << "  <interserver_http_host>127.0.0.1</interserver_http_host>\n"
         << "  <listen_host>127.0.0.1</listen_host>\n"
         << "  <timezone>UTC</timezone>\n"
         << "  <max_connections>256</max_connections>\n"
         << "  <max_concurrent_queries>64</max_concurrent_queries>\n"
         << "  <mark_cache_size>268435456</mark_cache_size>\n"
         << "  <uncompressed_cache_size>268435456</uncompressed_cache_size>\n"
         << "  <path>" << d << "/data/</path>\n"
         << "  <tmp_path>" << d << "/tmp/</tmp_path>\n"
         << "  <user_files_path>" << d << "/user_files/</user_files_path>\n"
         << "  <format_schema_path>" << d << "/format_schemas/</format_schema_path>\n"
         << "  <users_config>" << d << "/users.xml</users_config>\n"
         << "  <default_profile>default</default_profile>\n"
         << "  <default_database>default</default_database>\n"
         << "  <remote_servers>\n    <" << kCluster << ">\n"
         << shards << "    </" << kCluster << ">\n  </remote_servers>\n</yandex>\n";
  std::ofstream users(d + "/users.xml");
  users << "<?xml version=\"1.0\"?>\n<yandex>\n  <profiles>\n"
        << "    <default><max_memory_usage>" << 2 * max_memory_usage_
        << "</max_memory_usage></default>\n"
        << "    <" << kReader << ">\n"
        << "      <readonly>1</readonly>\n"
        << "      <join_use_nulls>1</join_use_nulls>\n"
        << "      <output_format_json_quote_denormals>1</output_format_json_quote_denormals>\n"
        << "      <max_memory_usage>" << max_memory_usage_ << "</max_memory_usage>\n"
        << "      <max_execution_time>300</max_execution_time>\n"
        << "      <max_result_rows>" << max_result_rows_ << "</max_result_rows>\n"
        << "    </" << kReader << ">\n  </profiles>\n  <users>\n"
        << "    <default><password></password><networks><ip>127.0.0.1</ip></networks>"
        << "<profile>default</profile><quota>default</quota></default>\n"
        << "    <cluster><password>" << reader_password_
        << "</password><networks><ip>127.0.0.1</ip></networks>"
        << "<profile>default</profile><quota>default</quota></cluster>\n"
        << "    <" << kReader << "><password>" << reader_password_
        << "</password><networks><ip>127.0.0.1</ip></networks><profile>" << kReader
        << "</profile><quota>default</quota><allow_databases><database>" << kDatabase
        << "</database></allow_databases></" << kReader << ">\n"
        << "    <" << kLoader << "><password>" << loader_password_
        << "</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile>"
        << "<quota>default</quota><allow_databases><database>" << kDatabase
        << "</database></allow_databases></" << kLoader << ">\n"
        << "  </users>\n  <quotas><default></default></quotas>\n</yandex>\n";
  if (!config || !users) return absl::InternalError("cannot write a node's configuration");
  return absl::OkStatus();
}

absl::Status ClickHouseCluster::Launch(Node& node) const {
  std::string config = absl::StrCat("--config-file=", node.directory, "/config.xml");
  std::string log = node.directory + "/stdout.log";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // The server dies with the test process, even when the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(125);
    setsid();
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
      close(out);
    }
    if (chdir(node.directory.c_str()) != 0) _exit(126);
    execl(kServer, kServer, config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  node.pid = pid;
  return absl::OkStatus();
}

absl::Status ClickHouseCluster::WaitReady(const Node& node) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(node.pid, &status, WNOHANG) == node.pid) {
      const_cast<Node&>(node).pid = -1;
      return absl::InternalError(absl::StrCat(
          "clickhouse-server in ", node.directory, " exited at start: ",
          ReadFile(node.directory + "/server.err.log"), ReadFile(node.directory + "/stdout.log")));
    }
    httplib::Client client("127.0.0.1", node.http_port);
    client.set_connection_timeout(1);
    auto response = client.Get("/ping");
    if (response && response->status == 200) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::InternalError(
      absl::StrCat("clickhouse-server in ", node.directory,
                   " did not answer within 60 s: ", ReadFile(node.directory + "/server.err.log")));
}

std::string ClickHouseCluster::HttpUrl(int node) const {
  return absl::StrCat("http://127.0.0.1:", nodes_[node].http_port);
}

absl::StatusOr<std::string> ClickHouseCluster::Query(int node, const std::string& sql) const {
  httplib::Client client("127.0.0.1", nodes_[node].http_port);
  client.set_read_timeout(600);
  // Inserts into a Distributed table return once every shard has its rows (18.16 has no SYSTEM
  // FLUSH DISTRIBUTED), so a test reads what it wrote.
  auto response = client.Post("/?user=default&insert_distributed_sync=1", sql, "text/plain");
  if (!response) {
    return absl::UnavailableError(absl::StrCat("node ", node, " did not answer over HTTP"));
  }
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("node ", node, ": ", response->body));
  }
  return response->body;
}

absl::Status ClickHouseCluster::Execute(int node, const std::string& sql) const {
  return Query(node, sql).status();
}

absl::Status ClickHouseCluster::ExecuteOnEach(const std::vector<std::string>& statements) const {
  for (int node = 0; node < shards(); ++node) {
    for (const std::string& statement : statements) {
      absl::Status status = Execute(node, statement);
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ClickHouseCluster::Stop() {
  for (Node& node : nodes_) {
    if (node.pid > 0) kill(node.pid, SIGTERM);
  }
  for (Node& node : nodes_) {
    if (node.pid <= 0) continue;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (waitpid(node.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(node.pid, SIGKILL);
        waitpid(node.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    node.pid = -1;
  }
  return absl::OkStatus();
}

ClickHouseCluster::~ClickHouseCluster() {
  Stop().IgnoreError();
  if (!directory_.empty()) {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }
}

}  // namespace parley::testing
