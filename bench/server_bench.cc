// Load on `parley serve` over loopback: C concurrent clients (keep-alive connections) for D
// seconds, each sending metadata requests (list tables, show the collaboration) and small queries
// (a GROUP BY over a 4-row CSV) in the ratio 4:1, as one organisation with its own token. The
// loop is closed: each client sends its next request as soon as the answer arrives, with no
// think time. Prints requests per second and p50/p99 latency per kind, the number of errors
// (non-200 answers), and the CPU time per request of the server and of the clients.
//
// The clients run in another process (forked before the server starts any thread), so the
// server's CPU time is its own (getrusage of this process during the run) and the clients'
// is reported apart (their process's rusage). Both share the machine's cores, as on one host.
// Queries go through the server's run queue (service/run_queue.h: 4 workers, as `parley serve`).
// A baseline measured in the same run: the same metadata call and the same small query made one
// at a time through the embedded service (api::LocalService in this process, no HTTP, no queue),
// and the ratio of the server's figures to it.
//
//   build/release/bench/server_bench [clients=50] [seconds=10] [http_threads=parley serve's
//                                     default] [query_every=5] [rate=0]
//
// query_every: every Nth request of a client is a query (5: 4 metadata requests to 1 query;
// 1: queries only; 0: metadata only), to see each kind's cost alone.
// rate: 0 (the headline figure) is the closed loop above. A positive rate is an open loop: the
// clients together send `rate` requests per second on a fixed schedule (each client one every
// clients/rate seconds, staggered), whatever the answers' speed, and each latency counts from the
// moment its request was due — a server that falls behind is charged for the wait it causes.
#include <httplib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/local_service.h"
#include "identity/caller.h"
#include "server/server.h"

namespace fs = std::filesystem;
using parley::identity::Caller;

namespace {

constexpr char kQuerySql[] = "SELECT region, SUM(amount) AS total FROM sales GROUP BY region";

struct Latencies {
  std::vector<double> metadata, queries;
  int errors = 0;
  double seconds = 0;  // from the first request sent to the last answer received
};

bool WriteAll(int fd, const void* data, size_t size) {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd, at, size);
    if (written <= 0) return false;
    at += written;
    size -= size_t(written);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t size) {
  char* at = static_cast<char*>(data);
  while (size > 0) {
    ssize_t got = ::read(fd, at, size);
    if (got <= 0) return false;
    at += got;
    size -= size_t(got);
  }
  return true;
}

bool WriteVector(int fd, const std::vector<double>& values) {
  uint64_t count = values.size();
  return WriteAll(fd, &count, sizeof count) &&
         WriteAll(fd, values.data(), values.size() * sizeof(double));
}

bool ReadVector(int fd, std::vector<double>& values) {
  uint64_t count = 0;
  if (!ReadAll(fd, &count, sizeof count) || count > (uint64_t{1} << 28)) return false;
  values.resize(count);
  return ReadAll(fd, values.data(), count * sizeof(double));
}

double CpuSeconds(const rusage& usage, bool system) {
  const timeval& t = system ? usage.ru_stime : usage.ru_utime;
  return double(t.tv_sec) + double(t.tv_usec) / 1e6;
}

// The client process: waits for the port and token, runs the clients, sends back the latencies.
int RunClients(int from_server, int to_server, int clients, int seconds, int query_every,
               double rate) {
  int port = 0;
  uint32_t token_size = 0;
  if (!ReadAll(from_server, &port, sizeof port) ||
      !ReadAll(from_server, &token_size, sizeof token_size) || token_size > 4096) {
    return 2;  // the server's setup failed: it said so
  }
  std::string token(token_size, '\0');
  if (!ReadAll(from_server, token.data(), token_size)) return 2;

  Latencies all;
  std::mutex mutex;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_bearer_token_auth(token);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as the CLI's remote backend
      client.set_read_timeout(60);
      std::vector<double> mine_metadata, mine_queries;
      int mine_errors = 0;
      for (int i = c; std::chrono::steady_clock::now() < deadline; ++i) {
        bool query = query_every > 0 && i % query_every == query_every - 1;
        auto sent = std::chrono::steady_clock::now();
        if (rate > 0) {
          // Request number (i - c) of this client is due at its slot of the shared schedule.
          auto due =
              start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>((double(i - c) * clients + c) / rate));
          if (due >= deadline) break;
          if (due > sent) std::this_thread::sleep_until(due);
          sent = due;
        }
        auto result =
            query        ? client.Post("/api/v1/collaborations/room/queries",
                                       std::string(R"({"sql": ")") + kQuerySql + "\"}", "application/json")
            : i % 2 == 0 ? client.Get("/api/v1/collaborations/room/tables")
                         : client.Get("/api/v1/collaborations/room");
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                .count();
        if (!result || result->status != 200) {
          if (mine_errors++ < 3) {
            std::lock_guard<std::mutex> lock(mutex);
            std::fprintf(stderr, "error after %.0f ms (request %d of client %d): %s\n", ms, i, c,
                         result ? (std::to_string(result->status) + " " + result->body).c_str()
                                : httplib::to_string(result.error()).c_str());
          }
        }
        (query ? mine_queries : mine_metadata).push_back(ms);
      }
      std::lock_guard<std::mutex> lock(mutex);
      all.metadata.insert(all.metadata.end(), mine_metadata.begin(), mine_metadata.end());
      all.queries.insert(all.queries.end(), mine_queries.begin(), mine_queries.end());
      all.errors += mine_errors;
    });
  }
  for (std::thread& thread : threads) thread.join();
  all.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bool sent = WriteVector(to_server, all.metadata) && WriteVector(to_server, all.queries) &&
              WriteAll(to_server, &all.errors, sizeof all.errors) &&
              WriteAll(to_server, &all.seconds, sizeof all.seconds);
  return sent ? 0 : 3;
}

double Quantile(std::vector<double> latencies, double q) {
  if (latencies.empty()) return 0.0;
  std::sort(latencies.begin(), latencies.end());
  return latencies[std::min(latencies.size() - 1, size_t(q * latencies.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  int clients = argc > 1 ? std::atoi(argv[1]) : 50;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  int query_every = argc > 4 ? std::atoi(argv[4]) : 5;
  double rate = argc > 5 ? std::atof(argv[5]) : 0;

  // The clients' process is forked first, while this process has one thread.
  int to_clients[2], from_clients[2];
  if (::pipe(to_clients) != 0 || ::pipe(from_clients) != 0) {
    std::perror("pipe");
    return 1;
  }
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    ::close(to_clients[1]);
    ::close(from_clients[0]);
    std::_Exit(RunClients(to_clients[0], from_clients[1], clients, seconds, query_every, rate));
  }
  ::close(to_clients[0]);
  ::close(from_clients[1]);

  fs::path dir = fs::temp_directory_path() / ("parley_server_bench_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "sales.csv") << "region,amount\neast,10\nwest,20\nnorth,5\neast,7\n";

  parley::api::LocalServiceOptions served;
  served.run_workers = 4;
  served.max_runs_per_member = std::max(clients, 8);
  served.max_queued_runs = std::max(2 * clients, 64);
  parley::api::LocalService home((dir / "home").string(), served);
  auto caller = Caller::Embedded("retailer");
  auto fail = [&](const absl::Status& status) {
    std::fprintf(stderr, "setup failed: %s\n", std::string(status.message()).c_str());
    ::close(to_clients[1]);  // the clients' process reads the end and exits
    ::waitpid(child, nullptr, 0);
    std::exit(1);
  };
  if (auto s = home.InitServer("operator"); !s.ok()) fail(s.status());
  auto token = home.AddOrganisation(Caller::Embedded(""), {"retailer"});
  if (!token.ok()) fail(token.status());
  if (auto s = home.CreateCollaboration(caller, {"room"}); !s.ok()) fail(s.status());
  if (auto s = home.AddTable(caller, {"room", "sales", (dir / "sales.csv").string(), {}}); !s.ok())
    fail(s.status());
  auto rule = nlohmann::json::parse(
      R"({"kind": "custom", "any_query": true, "allowed_analysis_providers": ["retailer"]})");
  if (auto s = home.SetRule(caller, {"room", "sales", rule}); !s.ok()) fail(s.status());

  parley::server::Options options;  // as `parley serve` has them, unless the third argument says
  if (argc > 3) options.threads = std::atoi(argv[3]);
  auto server = parley::server::Server::Create(home, options);
  if (!server.ok()) fail(server.status());
  auto port = (*server)->Bind();
  if (!port.ok()) fail(port.status());
  std::thread serving([&] { (void)(*server)->Serve(); });

  rusage before{}, after{}, clients_usage{};
  ::getrusage(RUSAGE_SELF, &before);
  uint32_t token_size = uint32_t(token->token.size());
  Latencies load;
  bool received = WriteAll(to_clients[1], &*port, sizeof(int)) &&
                  WriteAll(to_clients[1], &token_size, sizeof token_size) &&
                  WriteAll(to_clients[1], token->token.data(), token_size) &&
                  ReadVector(from_clients[0], load.metadata) &&
                  ReadVector(from_clients[0], load.queries) &&
                  ReadAll(from_clients[0], &load.errors, sizeof load.errors) &&
                  ReadAll(from_clients[0], &load.seconds, sizeof load.seconds);
  ::getrusage(RUSAGE_SELF, &after);
  int child_status = 0;
  ::wait4(child, &child_status, 0, &clients_usage);
  ::close(to_clients[1]);
  ::close(from_clients[0]);
  (*server)->Stop();
  serving.join();
  if (!received || !WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0) {
    std::fprintf(stderr, "the clients' process failed (status %d)\n", child_status);
    return 1;
  }
  int errors = load.errors;

  // The baseline: one call at a time through the embedded service, on the same home: 150
  // metadata calls, then 150 queries, each kind's CPU time (this process's, DuckDB's threads
  // included) measured apart.
  parley::api::LocalService embedded((dir / "home").string(), {});
  std::vector<double> base_metadata, base_queries;
  double base_cpu_ms[2] = {0, 0};
  for (int query = 0; query < 2; ++query) {
    rusage start_usage{}, end_usage{};
    ::getrusage(RUSAGE_SELF, &start_usage);
    for (int i = 0; i < 150; ++i) {
      auto start = std::chrono::steady_clock::now();
      bool ok = query ? embedded.RunQuery(caller, {"room", kQuerySql}).ok()
                      : embedded.ListTables(caller, {"room"}).ok();
      if (!ok) ++errors;
      (query ? base_queries : base_metadata)
          .push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
    }
    ::getrusage(RUSAGE_SELF, &end_usage);
    base_cpu_ms[query] = 1e3 / 150 *
                         (CpuSeconds(end_usage, false) + CpuSeconds(end_usage, true) -
                          CpuSeconds(start_usage, false) - CpuSeconds(start_usage, true));
  }

  size_t requests = load.metadata.size() + load.queries.size();
  auto report = [&](const char* kind, const std::vector<double>& latencies) {
    if (latencies.empty()) return;
    std::printf("%-9s %8zu requests  %8.1f/s  p50 %7.2f ms  p99 %7.2f ms\n", kind, latencies.size(),
                latencies.size() / load.seconds, Quantile(latencies, 0.50),
                Quantile(latencies, 0.99));
  };
  std::printf(
      "parley serve, %d clients (another process) on loopback for %.1f s, %d HTTP workers, "
      "4 query workers, 1 query every %d requests, %s\n",
      clients, load.seconds, options.threads, query_every,
      rate > 0 ? ("open loop at " + std::to_string(int(rate)) + " requests/s").c_str()
               : "closed loop");
  report("metadata", load.metadata);
  report("query", load.queries);
  std::printf("errors    %d\n", errors);
  double server_user = CpuSeconds(after, false) - CpuSeconds(before, false);
  double server_system = CpuSeconds(after, true) - CpuSeconds(before, true);
  double client_user = CpuSeconds(clients_usage, false);
  double client_system = CpuSeconds(clients_usage, true);
  if (requests > 0) {
    std::printf("server CPU  %.3f ms per request (user %.3f + system %.3f), %.2f cores busy\n",
                1e3 * (server_user + server_system) / requests, 1e3 * server_user / requests,
                1e3 * server_system / requests, (server_user + server_system) / load.seconds);
    std::printf("clients CPU %.3f ms per request (user %.3f + system %.3f), %.2f cores busy\n",
                1e3 * (client_user + client_system) / requests, 1e3 * client_user / requests,
                1e3 * client_system / requests, (client_user + client_system) / load.seconds);
  }
  std::printf(
      "baseline (embedded service, one call at a time): metadata p50 %.2f ms p99 %.2f ms "
      "(CPU %.3f ms), query p50 %.2f ms p99 %.2f ms (CPU %.3f ms)\n",
      Quantile(base_metadata, 0.5), Quantile(base_metadata, 0.99), base_cpu_ms[0],
      Quantile(base_queries, 0.5), Quantile(base_queries, 0.99), base_cpu_ms[1]);
  if (!load.metadata.empty() && !load.queries.empty()) {
    std::printf("ratio server/baseline: metadata p50 %.1fx p99 %.1fx, query p50 %.1fx p99 %.1fx\n",
                Quantile(load.metadata, 0.5) / Quantile(base_metadata, 0.5),
                Quantile(load.metadata, 0.99) / Quantile(base_metadata, 0.99),
                Quantile(load.queries, 0.5) / Quantile(base_queries, 0.5),
                Quantile(load.queries, 0.99) / Quantile(base_queries, 0.99));
  }
  std::printf("targets (issue 8): metadata p99 < 50 ms: %s; query p99 < 100 ms: %s; no error: %s\n",
              Quantile(load.metadata, 0.99) < 50 ? "met" : "NOT met",
              Quantile(load.queries, 0.99) < 100 ? "met" : "NOT met",
              errors == 0 ? "met" : "NOT met");
  server->reset();
  fs::remove_all(dir);
  return errors == 0 ? 0 : 1;
}
