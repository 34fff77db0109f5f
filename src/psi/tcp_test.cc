// The TCP transport on loopback: a whole session, address parsing, a refused connection.
#include "psi/tcp.h"

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
