// Load on `parley serve` over loopback: C concurrent clients (keep-alive connections) for D
// seconds, each sending metadata requests (list tables, show the collaboration) and small queries
// (a GROUP BY over a 4-row CSV) in the ratio 4:1, as one organisation with its own token. Prints
// requests per second and p50/p99 latency per kind, and the number of errors (non-200 answers).
// Queries go through the server's run queue (service/run_queue.h: 4 workers, as `parley serve`).
// A baseline measured in the same run: the same metadata call and the same small query made one
// at a time through the embedded service (api::LocalService in this process, no HTTP, no queue),
// and the ratio of the server's figures to it.
//
//   build/release/bench/server_bench [clients=16] [seconds=5] [http_threads=parley serve's default]
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "api/local_service.h"
#include "identity/caller.h"
#include "server/server.h"

namespace fs = std::filesystem;
using parley::identity::Caller;

int main(int argc, char** argv) {
  int clients = argc > 1 ? std::atoi(argv[1]) : 16;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
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
  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "setup failed: %s\n", std::string(status.message()).c_str());
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

  std::mutex mutex;
  std::vector<double> metadata, queries;
  std::atomic<int> errors = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", *port);
      client.set_bearer_token_auth(token->token);
      client.set_keep_alive(true);
      client.set_read_timeout(60);
      std::vector<double> mine_metadata, mine_queries;
      for (int i = c; std::chrono::steady_clock::now() < deadline; ++i) {
        bool query = i % 5 == 4;
        auto start = std::chrono::steady_clock::now();
        auto result =
            query
                ? client.Post(
                      "/api/v1/collaborations/room/queries",
                      R"({"sql": "SELECT region, SUM(amount) AS total FROM sales GROUP BY region"})",
                      "application/json")
            : i % 2 == 0 ? client.Get("/api/v1/collaborations/room/tables")
                         : client.Get("/api/v1/collaborations/room");
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!result || result->status != 200) {
          if (errors++ < 3) {
            std::lock_guard<std::mutex> lock(mutex);
            std::fprintf(stderr, "error after %.0f ms (request %d of client %d): %s\n", ms, i, c,
                         result ? (std::to_string(result->status) + " " + result->body).c_str()
                                : httplib::to_string(result.error()).c_str());
          }
        }
        (query ? mine_queries : mine_metadata).push_back(ms);
      }
      std::lock_guard<std::mutex> lock(mutex);
      metadata.insert(metadata.end(), mine_metadata.begin(), mine_metadata.end());
      queries.insert(queries.end(), mine_queries.begin(), mine_queries.end());
    });
  }
  for (std::thread& thread : threads) thread.join();
  (*server)->Stop();
  serving.join();

  auto report = [&](const char* kind, std::vector<double>& latencies) {
    if (latencies.empty()) return;
    std::sort(latencies.begin(), latencies.end());
    auto at = [&](double q) {
      return latencies[std::min(latencies.size() - 1, size_t(q * latencies.size()))];
    };
    std::printf("%-9s %8zu requests  %8.1f/s  p50 %7.2f ms  p99 %7.2f ms\n", kind, latencies.size(),
                latencies.size() / double(seconds), at(0.50), at(0.99));
  };
  // The baseline: one call at a time through the embedded service, on the same home.
  parley::api::LocalService embedded((dir / "home").string(), {});
  std::vector<double> base_metadata, base_queries;
  for (int i = 0; i < 300; ++i) {
    bool query = i % 2 == 1;
    auto start = std::chrono::steady_clock::now();
    bool ok =
        query ? embedded
                    .RunQuery(caller, {"room",
                                       "SELECT region, SUM(amount) AS total FROM sales GROUP BY "
                                       "region"})
                    .ok()
              : embedded.ListTables(caller, {"room"}).ok();
    if (!ok) ++errors;
    (query ? base_queries : base_metadata)
        .push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
  }
  auto quantile = [](std::vector<double>& latencies, double q) {
    std::sort(latencies.begin(), latencies.end());
    return latencies.empty()
               ? 0.0
               : latencies[std::min(latencies.size() - 1, size_t(q * latencies.size()))];
  };
  std::printf("parley serve, %d clients on loopback for %d s, %d HTTP workers\n", clients, seconds,
              options.threads);
  report("metadata", metadata);
  report("query", queries);
  std::printf("errors    %d\n", errors.load());
  std::printf(
      "baseline (embedded service, one call at a time): metadata p50 %.2f ms p99 %.2f ms, "
      "query p50 %.2f ms p99 %.2f ms\n",
      quantile(base_metadata, 0.5), quantile(base_metadata, 0.99), quantile(base_queries, 0.5),
      quantile(base_queries, 0.99));
  std::printf("ratio server/baseline: metadata p50 %.1fx p99 %.1fx, query p50 %.1fx p99 %.1fx\n",
              quantile(metadata, 0.5) / quantile(base_metadata, 0.5),
              quantile(metadata, 0.99) / quantile(base_metadata, 0.99),
              quantile(queries, 0.5) / quantile(base_queries, 0.5),
              quantile(queries, 0.99) / quantile(base_queries, 0.99));
  std::printf("targets (issue 8): metadata p99 < 50 ms: %s; query p99 < 100 ms: %s; no error: %s\n",
              quantile(metadata, 0.99) < 50 ? "met" : "NOT met",
              quantile(queries, 0.99) < 100 ? "met" : "NOT met", errors == 0 ? "met" : "NOT met");
  server->reset();
  fs::remove_all(dir);
  return errors.load() == 0 ? 0 : 1;
}
