#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "support/free_port.h"

namespace parley::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

// Runs argv, capturing stdout and stderr; the exit status.
int RunCapturing(const std::vector<std::string>& argv, std::string* output) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    // A directory every user may enter (initdb and pg_ctl look at the working directory).
    if (chdir("/") != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) output->append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The account the server runs as when the tests run as root.
const char* ServerUser() {
  if (getpwnam("postgres") != nullptr) return "postgres";
  return "nobody";
}

}  // namespace

absl::Status PostgresServer::RunAsServerUser(const std::vector<std::string>& arguments,
                                             std::string* output) const {
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {"/usr/sbin/runuser", "-u", ServerUser(), "--"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::string captured;
  int code = RunCapturing(argv, &captured);
  if (output != nullptr) *output = captured;
  if (code != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(arguments, " "), " exited with ", code, ": ", captured));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bin_ = kBin;
  if (!fs::exists(fs::path(kBin) / "initdb")) {
    return absl::FailedPreconditionError(
        absl::StrCat("PostgreSQL 15 is not installed (", kBin,
                     "/initdb is missing): scripts/bootstrap.sh installs the postgresql package"));
  }
  std::string pattern = (fs::temp_directory_path() / "parley-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  server->directory_ = pattern;
  if (geteuid() == 0) {
    passwd* account = getpwnam(ServerUser());
    if (account == nullptr || chown(pattern.c_str(), account->pw_uid, account->pw_gid) != 0) {
      return absl::InternalError("cannot give the temporary directory to the server's account");
    }
  }
  absl::StatusOr<int> port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  server->port_ = *port;
  std::string data = server->directory_ + "/data";
  absl::Status initialised = server->RunAsServerUser(
      {server->bin_ + "/initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
       "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
      nullptr);
  if (!initialised.ok()) return initialised;
  absl::Status started = server->Restart();
  if (!started.ok()) return started;
  return server;
}

absl::Status PostgresServer::Restart() {
  std::string data = directory_ + "/data";
  std::string options =
      absl::StrCat("-p ", port_, " -k ", directory_,
                   " -c listen_addresses=127.0.0.1 -c log_statement=all -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off");
  absl::Status status = RunAsServerUser({bin_ + "/pg_ctl", "-D", data, "-o", options, "-l",
                                         directory_ + "/server.log", "-w", "-t", "60", "start"},
                                        nullptr);
  if (!status.ok()) return status;
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (!running_) return absl::OkStatus();
  running_ = false;
  return RunAsServerUser(
      {bin_ + "/pg_ctl", "-D", directory_ + "/data", "-m", "fast", "-w", "-t", "60", "stop"},
      nullptr);
}

PostgresServer::~PostgresServer() {
  Stop().IgnoreError();
  if (!directory_.empty()) {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }
}

std::string PostgresServer::AdminConninfo(const std::string& database) const {
  return absl::StrCat("host=", directory_, " port=", port_, " user=postgres dbname=", database);
}

std::string PostgresServer::TcpConninfo(const std::string& user,
                                        const std::string& database) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=", user, " dbname=", database);
}

absl::Status PostgresServer::Execute(const std::string& sql, const std::string& database) const {
  PGconn* connection = PQconnectdb(AdminConninfo(database).c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string message = PQerrorMessage(connection);
    PQfinish(connection);
    return absl::UnavailableError(absl::StrCat("cannot connect: ", message));
  }
  PGresult* result = PQexec(connection, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  absl::Status outcome = absl::OkStatus();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    outcome = absl::InternalError(absl::StrCat("statement failed: ", PQerrorMessage(connection)));
  }
  PQclear(result);
  PQfinish(connection);
  return outcome;
}

absl::StatusOr<std::vector<std::vector<std::string>>> PostgresServer::Query(
    const std::string& sql) const {
  PGconn* connection = PQconnectdb(AdminConninfo().c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    PQfinish(connection);
    return absl::UnavailableError("cannot connect");
  }
  PGresult* result = PQexec(connection, sql.c_str());
  if (PQresultStatus(result) != PGRES_TUPLES_OK) {
    std::string message = PQerrorMessage(connection);
    PQclear(result);
    PQfinish(connection);
    return absl::InternalError(message);
  }
  std::vector<std::vector<std::string>> rows;
  for (int row = 0; row < PQntuples(result); ++row) {
    std::vector<std::string>& values = rows.emplace_back();
    for (int column = 0; column < PQnfields(result); ++column) {
      values.push_back(PQgetisnull(result, row, column) ? "<null>"
                                                        : PQgetvalue(result, row, column));
    }
  }
  PQclear(result);
  PQfinish(connection);
  return rows;
}

std::string PostgresServer::Log() const {
  std::ifstream in(directory_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> PostgresServer::LoggedStatements(const std::string& needle) const {
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(Log(), '\n')) {
    if (line.find(needle) != absl::string_view::npos) found.emplace_back(line);
  }
  return found;
}

}  // namespace parley::testing
