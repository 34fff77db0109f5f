// The TCP transport on loopback: a whole session, address parsing, a refused connection.
#include "psi/tcp.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "psi/protocol.h"

namespace parley::psi {
namespace {

TEST(TcpTest, SessionOverLoopback) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("127.0.0.1:0");
  ASSERT_TRUE(listener.ok()) << listener.status();
  int port = (*listener)->port();
  ASSERT_GT(port, 0);
  absl::StatusOr<SessionResult> served = absl::UnknownError("");
  std::thread server([&] {
    absl::StatusOr<std::unique_ptr<Channel>> channel = (*listener)->Accept({});
    ASSERT_TRUE(channel.ok()) << channel.status();
    served = RunSession(**channel, Role::kResponder, {"a", "b", "c"}, {});
  });
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Connect("127.0.0.1:" + std::to_string(port), {});
  ASSERT_TRUE(channel.ok()) << channel.status();
  absl::StatusOr<SessionResult> connected =
      RunSession(**channel, Role::kInitiator, {"c", "d", "a", "e"}, {});
  server.join();
  ASSERT_TRUE(connected.ok()) << connected.status();
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(connected->matched, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(served->matched, (std::vector<size_t>{0, 2}));
}

TEST(TcpTest, Addresses) {
  EXPECT_EQ(SplitHostPort("127.0.0.1:80")->second, 80);
  EXPECT_EQ(SplitHostPort("[::1]:443")->first, "::1");
  EXPECT_EQ(SplitHostPort("localhost").status().message(), "'localhost' is not HOST:PORT");
  EXPECT_EQ(SplitHostPort("h:99999").status().message(),
            "'h:99999' does not end in a port number (0 to 65535)");
}

TEST(TcpTest, NobodyListening) {
  // Take a free port, then close it: nothing listens there.
  int port = (*Listener::Open("127.0.0.1:0"))->port();
  TransportOptions options;
  options.connect_timeout = std::chrono::seconds(0);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Connect("127.0.0.1:" + std::to_string(port), options);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(channel.status().message(),
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

}  // namespace
}  // namespace parley::psi

namespace parley::psi {
namespace {

// A self-signed certificate for 127.0.0.1 made with the openssl command line; returns false when
// it cannot be made.
bool MakeCertificate(const std::filesystem::path& dir, const std::string& name) {
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      (dir / (name + "_key.pem")).string() + " -out " + (dir / (name + "_cert.pem")).string() +
      " 2>/dev/null";
  return std::system(command.c_str()) == 0;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("parley_psi_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(MakeCertificate(dir_, "server"));
    ASSERT_TRUE(MakeCertificate(dir_, "other"));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A session over TLS with the server's certificate; the client trusts `ca`.
  std::pair<absl::Status, absl::Status> Session(const std::string& ca) {
    absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Open("127.0.0.1:0");
    EXPECT_TRUE(listener.ok());
    TransportOptions server_options;
    server_options.tls_cert_file = (dir_ / "server_cert.pem").string();
    server_options.tls_key_file = (dir_ / "server_key.pem").string();
    absl::Status served;
    std::thread server([&] {
      absl::StatusOr<std::unique_ptr<Channel>> channel = (*listener)->Accept(server_options);
      if (!channel.ok()) {
        served = channel.status();
        return;
      }
      served = RunSession(**channel, Role::kResponder, {"a", "b"}, {}).status();
    });
    TransportOptions client_options;
    client_options.tls_ca_file = (dir_ / (ca + "_cert.pem")).string();
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Connect("127.0.0.1:" + std::to_string((*listener)->port()), client_options);
    absl::Status connected = channel.status();
    if (channel.ok()) {
      absl::StatusOr<SessionResult> result = RunSession(**channel, Role::kInitiator, {"b"}, {});
      connected = result.status();
      if (result.ok()) EXPECT_EQ(result->intersection_size, 1u);
    } else {
      // The server still waits in its handshake or session: end it.
      channel = absl::UnknownError("");
    }
    server.join();
    return {served, connected};
  }

  std::filesystem::path dir_;
};

TEST_F(TlsTest, SessionOverTls) {
  auto [served, connected] = Session("server");
  EXPECT_TRUE(served.ok()) << served;
  EXPECT_TRUE(connected.ok()) << connected;
}

TEST_F(TlsTest, AServerWithAnotherCertificateIsRefused) {
  auto [served, connected] = Session("other");
  EXPECT_FALSE(served.ok());
  EXPECT_EQ(connected.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      connected.message(),
      "the TLS handshake failed: the peer's certificate was refused: self-signed certificate");
}

}  // namespace
}  // namespace parley::psi
