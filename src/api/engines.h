// The operator's engine registry in API terms (`parley engine add|list|show|remove`): what a
// registration holds, never a password (registrations name the operator's password files). These
// are not HTTP routes: the operator registers engines on the server's home itself, as with
// `serve init` (docs/scale-out.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::api {

struct EngineInfo {
  std::string name;
  std::string kind;
  std::string url;
  std::string cluster;
  std::string database;
  std::string user;
  std::string password_file;
  std::string loader_user;  // "" when files cannot be loaded into it
  std::string loader_password_file;
  std::vector<std::string> nodes;
  std::string version;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("kind", kind);
    v.Required("url", url);
    v.Required("cluster", cluster);
    v.Required("database", database);
    v.Required("user", user);
    v.Required("password_file", password_file);
    v.Required("loader_user", loader_user);
    v.Required("loader_password_file", loader_password_file);
    v.Required("nodes", nodes);
    v.Required("version", version);
  }
};

struct ListEnginesResponse {
  std::vector<EngineInfo> engines;
  template <class V>
  void Visit(V& v) {
    v.Required("engines", engines);
  }
};

struct RemoveEngineResponse {
  std::string removed;
  template <class V>
  void Visit(V& v) {
    v.Required("removed", removed);
  }
};

}  // namespace parley::api
