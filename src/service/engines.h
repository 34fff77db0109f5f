// The engines a home's tables may live on besides local DuckDB: ClickHouse clusters the operator
// registers (`parley engine add`). They are server-wide — every collaboration may place tables on
// them — and only the operator, who works on the home itself (as with `serve init`), registers or
// removes one: a member never gives Parley an address to connect to with the operator's accounts.
//
// The registry is HOME/engines.json (mode 0600), not the catalog: an engine is machine
// configuration (addresses, accounts), not policy, and no audit chain or collaboration holds it.
// No password is stored anywhere by Parley: a registration names the operator's password files
// (mode 0600, owned by the user Parley runs as), read each time an engine is used — as the
// PostgreSQL connector leaves passwords to libpq's .pgpass / service files. Nothing Parley prints,
// logs, audits or returns holds a password.
//
// Thread safety: the functions read or replace the file whole (written to a temporary file and
// renamed), so readers never see half a registry; two operators registering at the same moment
// may lose one registration (the command is the operator's, run by hand).
#pragma once

#include <string>
#include <vector>

#include "base/secret.h"
#include "base/status.h"
#include "connectors/clickhouse/clickhouse_connector.h"

namespace parley::service {

struct EngineRegistration {
  std::string name;  // [a-z][a-z0-9_]{0,31}
  std::string kind = "clickhouse";
  std::string url;      // http://HOST:PORT of the node queries are sent to
  std::string cluster;  // the remote_servers cluster of its Distributed tables
  std::string database;
  std::string user;           // the readonly=1 query account
  std::string password_file;  // absolute path
  std::string loader_user;    // the writer account that loads files; "" for none
  std::string loader_password_file;
  std::vector<std::string> nodes;  // every node's HTTP address (loading creates tables on each)
  std::string version;             // the server version seen when it was registered
};

// The registrations of `home`, by name; empty when there is no registry yet. InvalidArgument
// naming the file when it does not parse.
absl::StatusOr<std::vector<EngineRegistration>> ReadEngines(const std::string& home);
absl::Status WriteEngines(const std::string& home, const std::vector<EngineRegistration>& engines);

// Reads a password file: a regular file owned by this user that neither group nor others may
// read (FailedPrecondition naming the file otherwise — never its contents), one line of at most
// 64 KiB. The password comes back in a Secret; the buffer it was read into is wiped.
absl::StatusOr<Secret> ReadPasswordFile(const std::string& path);

// What the clickhouse connector and engine need of `registration`, passwords read now.
absl::StatusOr<connectors::clickhouse::EngineAccess> AccessOf(
    const EngineRegistration& registration);

// Checks a new registration against the cluster: the query account connects and passes the
// engine's checks (version, readonly=1 and the profile's limits: a writable account is refused
// with the reason), the cluster is defined on the node, the loader account (if any) reaches every
// node. Fills `registration.version`.
absl::Status CheckEngine(EngineRegistration& registration);

}  // namespace parley::service
