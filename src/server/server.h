// The HTTP server of a Parley home (`parley serve`): the API's routes (api/routes.h) over HTTP or
// HTTPS, each request authenticated by its bearer token into the Caller of one organisation,
// decoded strictly, answered by the service through api::LocalService and encoded back. HTTP
// only carries what the service decides; nothing here decides who may do what.
//
//   api::LocalService home(home_dir, {});
//   PARLEY_ASSIGN_OR_RETURN(auto server, server::Server::Create(home, options));
//   PARLEY_ASSIGN_OR_RETURN(int port, server->Bind());   // then tell clients where
//   server->Serve();                                     // until Stop(), from another thread
//
// What a client gets (docs/api.md): a JSON response with 200, or {"error": {code, message}} with
// the status of api/http_status.h. On top of the service's errors: 401 for a request without a
// valid token (one message whatever was wrong), 404 for a path outside the routes, 405 for a
// route asked with another method, 400 for a body that is not a JSON object of the request's
// fields (the message names the field), 415 for a body that is not application/json, 413 for a
// body larger than Options::max_body_bytes. A client that stops sending is cut off after
// Options::read_timeout; others are served meanwhile (a pool of Options::threads).
//
// A listen address that is not loopback is refused unless TLS is configured: tokens must not
// cross a network in the clear.
//
// The web console (server/console.h, docs/console.md) rides on the same server: its files at `/`,
// its sign-in session (POST/GET/DELETE /api/v1/session) whose HttpOnly cookie stands in for the
// bearer token on the other routes, with a CSRF header and an Origin check on every change, and
// the security headers (CSP, no framing, nosniff) of every response.
// Thread safety: Stop may be called from any thread; everything else from one.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/local_service.h"
#include "api/routes.h"

namespace parley::server {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: any free port (Bind returns it)
  std::string tls_cert_file;  // PEM; both or neither
  std::string tls_key_file;
  size_t max_body_bytes = 1 << 20;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{30};
  // Workers; each connection holds one while it is open (keep-alive connections are let go after
  // 2 s idle, or after 1000 requests). A busy keep-alive client never idles, so a client beyond
  // the workers waits for another to leave: there must be more workers than clients at once
  // (bench/README.md, "HTTP workers"). Idle workers cost a thread each and no CPU.
  int threads = 128;
  // The web console (server/console.h, docs/console.md): the folder of its built files, served
  // at `/` (empty: no files; the session routes still answer), and how long a sign-in lasts.
  std::string console_dir;
  std::chrono::seconds session_lifetime{8 * 3600};
  // The sessions' clock (tests give a fake one); empty: the system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called after each request with one line (method, path, status, microseconds): never a body
  // or a header.
  std::function<void(const std::string&)> log;
};

// Whether `host` is a loopback address ("127.0.0.1", "::1", "localhost", any 127.x.y.z).
bool IsLoopback(const std::string& host);

// "HOST:PORT" or "[V6]:PORT" into host and port. InvalidArgument naming the text's problem.
absl::Status ParseListen(const std::string& listen, std::string& host, int& port);

class Server {
 public:
  // InvalidArgument for a non-loopback host without TLS, or only one of the TLS files;
  // FailedPrecondition when the certificate or key cannot be loaded. `service` must outlive the
  // server.
  static absl::StatusOr<std::unique_ptr<Server>> Create(api::LocalService& service,
                                                        Options options);
  ~Server();

  // Binds the listening socket; returns the port (the one chosen when Options::port is 0).
  // Unavailable when the address cannot be bound.
  absl::StatusOr<int> Bind();
  // Serves until Stop. Internal when the listening loop fails.
  absl::Status Serve();
  void Stop();

  // The routes this server answers, in registration order.
  std::vector<api::Route> routes() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::server
