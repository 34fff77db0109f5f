// The PSI session's transport between two machines: one TCP connection, optionally TLS
// (OpenSSL) with the responder's certificate checked by the initiator against a CA file. The
// responder listens and accepts exactly one connection; the initiator connects, retrying while
// nobody listens yet (the two commands are often started at about the same time).
//
//   PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Listener> listener, Listener::Open("127.0.0.1:0"));
//   int port = listener->port();
//   PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<Channel> channel, listener->Accept(options));
//
// Reads and writes fail with DeadlineExceeded after `io_timeout` without progress, so a silent
// peer cannot hold a session forever. Thread safety: as Channel.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "psi/channel.h"

namespace parley::psi {

struct TransportOptions {
  // Responder: PEM certificate chain and key; both or neither.
  std::string tls_cert_file, tls_key_file;
  // Initiator: PEM CA certificates; given, the connection is TLS and the responder's certificate
  // must chain to one of them and name the host connected to.
  std::string tls_ca_file;
  std::chrono::seconds io_timeout{300};
  // Initiator: how long to keep retrying a refused connection.
  std::chrono::seconds connect_timeout{10};
  // Responder: how long to wait for the peer to connect.
  std::chrono::seconds accept_timeout{3600};
};

class Listener {
 public:
  // Listens on HOST:PORT (port 0: any free port). InvalidArgument for a malformed address,
  // Unavailable when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<Listener>> Open(const std::string& host_port);
  ~Listener();
  // The port listened on (the one chosen when 0 was asked).
  int port() const { return port_; }
  // Waits for one connection (and the TLS handshake when a certificate is given).
  absl::StatusOr<std::unique_ptr<Channel>> Accept(const TransportOptions& options);

 private:
  Listener(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

// Connects to HOST:PORT (and runs the TLS handshake when a CA file is given).
absl::StatusOr<std::unique_ptr<Channel>> Connect(const std::string& host_port,
                                                 const TransportOptions& options);

// "HOST:PORT" or "[V6]:PORT" split; InvalidArgument otherwise.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& host_port);

}  // namespace parley::psi
