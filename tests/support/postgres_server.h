// A throw-away PostgreSQL server for tests: initdb in a fresh temporary directory, started on a
// free 127.0.0.1 port (and a unix socket in that directory), stopped and removed when the object
// goes away — also when the test fails, since a test holds it by value or in a suite fixture.
//
// PostgreSQL refuses to run as root: when the tests run as root the server runs as the `postgres`
// system user (Debian's package creates it), through runuser; the directory is given to it.
// Local (socket) connections are trusted, for the tests' own set-up as the superuser "postgres";
// TCP connections need a password (scram-sha-256), so what Parley does with credentials is real.
// Every statement is logged (log_statement=all), so tests can read what reached the server.
//
//   PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<PostgresServer> server, PostgresServer::Start());
//   ASSERT_OK(server->Execute("CREATE TABLE t (a int)"));
//   std::string conninfo = server->TcpConninfo("reader");  // host=127.0.0.1 port=... user=...
//
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parley::testing {

class PostgresServer {
 public:
  // Errors name the step that failed and include the tool's output (the tests' own data only).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  int port() const { return port_; }
  const std::string& directory() const { return directory_; }

  // The superuser, over the unix socket (trusted).
  std::string AdminConninfo(const std::string& database = "postgres") const;
  // `user` over TCP on 127.0.0.1 (its password must come from .pgpass or a service file).
  std::string TcpConninfo(const std::string& user, const std::string& database = "postgres") const;

  // Runs `sql` (one or more statements) as the superuser. Error with the server's message.
  absl::Status Execute(const std::string& sql, const std::string& database = "postgres") const;
  // The rows of one query as text, NULL as "<null>".
  absl::StatusOr<std::vector<std::vector<std::string>>> Query(const std::string& sql) const;

  // The server's log so far (every statement is in it).
  std::string Log() const;
  // The statements of the log that contain `needle`.
  std::vector<std::string> LoggedStatements(const std::string& needle) const;

  // Stops the server (fast shutdown) and waits for it; idempotent.
  absl::Status Stop();
  // Starts it again after Stop, on the same port and data.
  absl::Status Restart();

 private:
  PostgresServer() = default;
  absl::Status RunAsServerUser(const std::vector<std::string>& arguments,
                               std::string* output) const;

  std::string directory_;
  std::string bin_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace parley::testing
