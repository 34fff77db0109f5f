#include "server_test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "absl/strings/str_cat.h"

namespace parley::cli_test {

namespace fs = std::filesystem;

void ServedHomeTest::SetUp() {
  std::string pattern = (fs::path(::testing::TempDir()) / "parley_served_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
  scratch_ = dir_ / "scratch";
  fs::create_directories(scratch_);
  server_home_ = dir_ / "server_home";
  Outcome init = Embedded({"serve", "init", "--save-token", TokenFile("admin")});
  ASSERT_EQ(init.exit_code, 0) << init;
  EXPECT_NE(init.out.find("saved to"), std::string::npos) << init.out;
  // The admin token is nowhere in the output.
  EXPECT_EQ(init.out.find("pt_"), std::string::npos) << init.out;
}

void ServedHomeTest::TearDown() {
  if (server_pid_ > 0) {
    int status = StopServer();
    if (status < 0) {
      ADD_FAILURE() << "the server did not stop on SIGTERM";
    } else {
      // Stopped, not killed by the signal (no thread of it may take SIGTERM but the waiter).
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
      EXPECT_NE(ServerLog().find("parley serve: stopped"), std::string::npos) << ServerLog();
    }
  }
  fs::remove_all(dir_);
}

void ServedHomeTest::StartServer(const std::vector<std::string>& extra) {
  std::vector<std::string> arguments = {"--home", server_home_.string(), "serve", "--listen",
                                        "127.0.0.1:0"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  ++server_starts_;
  std::string name = absl::StrCat("server", server_starts_);
  server_pid_ = SpawnInBackground(arguments, scratch_, name);
  ASSERT_GT(server_pid_, 0);
  // Ready when it prints where it listens (port 0: the system chose a free one).
  std::regex listening("listening on (http://127\\.0\\.0\\.1:([0-9]+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::smatch match;
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    out = ServerLog();
    if (std::regex_search(out, match, listening)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_TRUE(std::regex_search(out, match, listening))
      << "the server did not become ready: " << out << ReadText(scratch_ / (name + "_stderr.txt"));
  url_ = match[1];
  port_ = std::stoi(match[2]);
}

int ServedHomeTest::StopServer(std::chrono::seconds wait) {
  if (server_pid_ <= 0) return 0;
  kill(server_pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
      server_pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(server_pid_, SIGKILL);
  waitpid(server_pid_, &status, 0);
  server_pid_ = -1;
  return -1;
}

void ServedHomeTest::KillServer() {
  ASSERT_EQ(kill(server_pid_, SIGKILL), 0);
  int status = 0;
  waitpid(server_pid_, &status, 0);
  server_pid_ = -1;
}

std::string ServedHomeTest::ServerLog() {
  return ReadText(scratch_ / absl::StrCat("server", server_starts_, "_stdout.txt"));
}

void ServedHomeTest::AddOrganisations(const std::vector<std::string>& organisations) {
  for (const std::string& organisation : organisations) {
    Outcome added =
        Remote("admin", {"org", "add", organisation, "--save-token", TokenFile(organisation)});
    ASSERT_EQ(added.exit_code, 0) << added;
  }
}

fs::path ServedHomeTest::Config(const std::string& organisation) {
  fs::path config = dir_ / (organisation + "_config");
  fs::create_directories(config);
  return config;
}

std::string ServedHomeTest::TokenFile(const std::string& organisation) {
  if (organisation == "admin") return (dir_ / "admin.token").string();
  return (Config(organisation) / "token").string();
}

std::string ServedHomeTest::Token(const std::string& organisation) {
  std::string token = ReadText(TokenFile(organisation));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

Outcome ServedHomeTest::Remote(const std::string& organisation,
                               std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"--server", url_, "--token-file", TokenFile(organisation)});
  return Spawn(arguments, scratch_);
}

Outcome ServedHomeTest::Ok(const std::string& organisation,
                           const std::vector<std::string>& arguments) {
  Outcome outcome = Remote(organisation, arguments);
  EXPECT_EQ(outcome.exit_code, 0) << organisation << ": " << outcome;
  return outcome;
}

Outcome ServedHomeTest::Embedded(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"--home", server_home_.string()});
  return Spawn(arguments, scratch_);
}

WebhookReceiver::WebhookReceiver() {
  server_.Post("/hook", [this](const httplib::Request& request, httplib::Response& response) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      got_.push_back({request.get_header_value("X-Parley-Event"),
                      request.get_header_value("X-Parley-Signature"), request.body});
    }
    arrived_.notify_all();
    response.status = 204;
  });
  server_.Post("/slow", [this](const httplib::Request&, httplib::Response& response) {
    std::unique_lock<std::mutex> lock(mutex_);
    ++slow_calls_;
    released_.wait(lock, [this] { return release_; });
    response.status = 204;
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

WebhookReceiver::~WebhookReceiver() {
  Release();
  server_.stop();
  thread_.join();
}

void WebhookReceiver::Release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    release_ = true;
  }
  released_.notify_all();
}

std::string WebhookReceiver::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<WebhookReceiver::Delivery> WebhookReceiver::Await(size_t count,
                                                              std::chrono::seconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  arrived_.wait_for(lock, wait, [&] { return got_.size() >= count; });
  return got_;
}

int WebhookReceiver::slow_calls() {
  std::lock_guard<std::mutex> lock(mutex_);
  return slow_calls_;
}

}  // namespace parley::cli_test
