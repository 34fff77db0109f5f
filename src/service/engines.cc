#include "service/engines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "nlohmann/json.hpp"

namespace parley::service {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

fs::path RegistryPath(const std::string& home) { return fs::path(home) / "engines.json"; }

Json ToJson(const EngineRegistration& engine) {
  return Json{{"name", engine.name},
              {"kind", engine.kind},
              {"url", engine.url},
              {"cluster", engine.cluster},
              {"database", engine.database},
              {"user", engine.user},
              {"password_file", engine.password_file},
              {"loader_user", engine.loader_user},
              {"loader_password_file", engine.loader_password_file},
              {"nodes", engine.nodes},
              {"version", engine.version}};
}

}  // namespace

absl::StatusOr<std::vector<EngineRegistration>> ReadEngines(const std::string& home) {
  fs::path path = RegistryPath(home);
  std::ifstream in(path);
  if (!in) return std::vector<EngineRegistration>{};
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, false);
  std::vector<EngineRegistration> engines;
  if (json.is_discarded() || !json.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the engine registry '", path.string(), "' does not parse"));
  }
  for (const Json& entry : json) {
    EngineRegistration engine;
    try {
      engine.name = entry.at("name");
      engine.kind = entry.at("kind");
      engine.url = entry.at("url");
      engine.cluster = entry.at("cluster");
      engine.database = entry.at("database");
      engine.user = entry.at("user");
      engine.password_file = entry.at("password_file");
      engine.loader_user = entry.value("loader_user", "");
      engine.loader_password_file = entry.value("loader_password_file", "");
      engine.nodes = entry.value("nodes", std::vector<std::string>{});
      engine.version = entry.value("version", "");
    } catch (const Json::exception&) {
      return absl::InvalidArgumentError(
          absl::StrCat("the engine registry '", path.string(), "' has an invalid entry"));
    }
    engines.push_back(std::move(engine));
  }
  return engines;
}

absl::Status WriteEngines(const std::string& home, const std::vector<EngineRegistration>& engines) {
  Json json = Json::array();
  for (const EngineRegistration& engine : engines) json.push_back(ToJson(engine));
  fs::path path = RegistryPath(home);
  std::string temporary = path.string() + ".new";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot write '", path.string(), "': ", std::strerror(errno)));
  }
  std::string text = json.dump(2) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Secret> ReadPasswordFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the password file '", path, "' (a regular file, not a link)"));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("the password file '", path, "' is not a regular file"));
  }
  if (info.st_uid != ::geteuid() || (info.st_mode & 077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("the password file '", path,
                     "' must be owned by the user Parley runs as and readable by it only "
                     "(chmod 600)"));
  }
  // Read into one buffer of the file's size (a growing string would leave copies behind), wiped
  // once the Secret holds its copy.
  std::string text(static_cast<size_t>(std::min<off_t>(info.st_size, 64 * 1024)) + 1, '\0');
  size_t length = 0;
  ssize_t got;
  while (length < text.size() &&
         (got = ::read(fd, text.data() + length, text.size() - length)) > 0) {
    length += static_cast<size_t>(got);
  }
  ::close(fd);
  absl::string_view line =
      absl::StripTrailingAsciiWhitespace(absl::string_view(text.data(), length));
  if (line.empty() || line.find('\n') != absl::string_view::npos || length == text.size()) {
    WipeString(text);
    return absl::FailedPreconditionError(
        absl::StrCat("the password file '", path, "' must hold one line: the password"));
  }
  Secret password(std::string_view(line.data(), line.size()));
  WipeString(text);
  return password;
}

absl::StatusOr<connectors::clickhouse::EngineAccess> AccessOf(
    const EngineRegistration& registration) {
  connectors::clickhouse::EngineAccess access;
  access.name = registration.name;
  access.cluster = registration.cluster;
  access.reader.url = registration.url;
  access.reader.database = registration.database;
  access.reader.user = registration.user;
  PARLEY_ASSIGN_OR_RETURN(access.reader.password, ReadPasswordFile(registration.password_file));
  if (!registration.loader_user.empty()) {
    engine::clickhouse::ConnectOptions loader = access.reader;
    loader.user = registration.loader_user;
    PARLEY_ASSIGN_OR_RETURN(loader.password, ReadPasswordFile(registration.loader_password_file));
    access.loader = std::move(loader);
  }
  access.nodes = registration.nodes;
  if (access.nodes.empty()) access.nodes.push_back(registration.url);
  return access;
}

absl::Status CheckEngine(EngineRegistration& registration) {
  static const std::regex kName("[a-z][a-z0-9_]{0,31}");
  if (!std::regex_match(registration.name, kName)) {
    return absl::InvalidArgumentError(
        "an engine's name is 1 to 32 lower-case letters, digits or _, starting with a letter");
  }
  static const std::regex kPlain("[A-Za-z_][A-Za-z0-9_]{0,127}");
  if (!std::regex_match(registration.cluster, kPlain) ||
      !std::regex_match(registration.database, kPlain)) {
    return absl::InvalidArgumentError(
        "--cluster and --database are plain ClickHouse names (letters, digits, _)");
  }
  for (std::string* file : {&registration.password_file, &registration.loader_password_file}) {
    if (!file->empty()) *file = fs::absolute(*file).string();
  }
  if (registration.loader_user.empty() != registration.loader_password_file.empty()) {
    return absl::InvalidArgumentError("--loader-user and --loader-password-file go together");
  }
  PARLEY_ASSIGN_OR_RETURN(connectors::clickhouse::EngineAccess access, AccessOf(registration));
  std::string engine_name = absl::StrCat("clickhouse engine '", registration.name, "'");
  auto named = [&](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat(engine_name, ": ", status.message()));
  };
  absl::StatusOr<std::unique_ptr<engine::clickhouse::ClickHouseEngine>> engine =
      engine::clickhouse::ClickHouseEngine::Connect(access.reader);
  if (!engine.ok()) return named(engine.status());
  registration.version = (*engine)->facts().version;
  absl::StatusOr<engine::ResultTable> cluster = (*engine)->Query(absl::StrCat(
      "SELECT count() FROM system.clusters WHERE cluster = '", registration.cluster, "'"));
  if (!cluster.ok()) return named(cluster.status());
  if (cluster->rows.empty() || cluster->rows[0][0].value_or("0") == "0") {
    return absl::FailedPreconditionError(absl::StrCat(engine_name, ": its node has no cluster '",
                                                      registration.cluster, "' in remote_servers"));
  }
  if (access.loader.has_value()) {
    for (const std::string& node : access.nodes) {
      engine::clickhouse::ConnectOptions loader = *access.loader;
      loader.url = node;
      absl::StatusOr<std::string> answered =
          engine::clickhouse::ExecuteStatement(loader, "SELECT 1");
      if (!answered.ok()) {
        return named(absl::Status(
            answered.status().code(),
            absl::StrCat("the loader account on node ", node, ": ", answered.status().message())));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace parley::service
