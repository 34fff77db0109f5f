// What the end-to-end tests of `parley serve` share: a fixture that runs the real binary as a
// server of its own home on a free loopback port (the system picks it: `--listen 127.0.0.1:0`,
// read back from the line the server prints when it is ready), organisations each with its own
// config directory holding its token file, the CLI's remote mode as one of them, and stopping the
// server even when a test fails. Also a loopback receiver of webhook deliveries.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli_test_support.h"
#include "gtest/gtest.h"

namespace parley::cli_test {

class ServedHomeTest : public ::testing::Test {
 protected:
  // A temporary directory with the server's home, initialised by `serve init` (the operator's
  // token in TokenFile("admin")). The server is not started yet.
  void SetUp() override;
  // Stops the server (SIGTERM; a server that does not end in time is killed and the test fails)
  // and removes the directory.
  void TearDown() override;

  // Starts `parley --home HOME serve --listen 127.0.0.1:0 extra...` and waits (up to 30 s) until
  // it listens; sets url_ and port_. Each start writes its own output files (ServerLog).
  void StartServer(const std::vector<std::string>& extra = {});
  // SIGTERM, then waits up to `wait`; the exit status, or -1 when it had to be killed. 0 when no
  // server runs.
  int StopServer(std::chrono::seconds wait = std::chrono::seconds(20));
  // SIGKILL, at once.
  void KillServer();
  // What the running (or last) server printed on stdout.
  std::string ServerLog();

  // The operator adds each organisation through the server, its token saved in TokenFile.
  void AddOrganisations(const std::vector<std::string>& organisations);
  // An organisation's config directory (created) and token file: DIR/<organisation>_config/token;
  // the operator's is DIR/admin.token.
  std::filesystem::path Config(const std::string& organisation);
  std::string TokenFile(const std::string& organisation);
  // The token itself (the file's text without its line end).
  std::string Token(const std::string& organisation);

  // `parley --server URL --token-file <organisation's token file> arguments...`
  Outcome Remote(const std::string& organisation, std::vector<std::string> arguments);
  // Remote, expected to succeed.
  Outcome Ok(const std::string& organisation, const std::vector<std::string>& arguments);
  // `parley --home HOME arguments...` on the server's home (embedded mode, before it serves).
  Outcome Embedded(std::vector<std::string> arguments);

  std::filesystem::path dir_, scratch_, server_home_;
  std::string url_;
  int port_ = 0;
  pid_t server_pid_ = -1;

 private:
  int server_starts_ = 0;
};

// A loopback receiver of webhook deliveries: records each (event header, signature, body); the
// path /slow holds its answer until released.
class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();
  void Release();
  std::string Url(const std::string& path) const;
  struct Delivery {
    std::string event, signature, body;
  };
  // The deliveries so far, once at least `count` arrived (or `wait` passed).
  std::vector<Delivery> Await(size_t count, std::chrono::seconds wait = std::chrono::seconds(30));
  int slow_calls();

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable released_, arrived_;
  bool release_ = false;
  int slow_calls_ = 0;
  std::vector<Delivery> got_;
};

}  // namespace parley::cli_test
