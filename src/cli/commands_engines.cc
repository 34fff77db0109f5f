// `parley engine add|list|show|remove`: the ClickHouse clusters tables may live on
// (docs/scale-out.md). Server-wide and the operator's: they work on a home of this machine (the
// server's, as `serve init` does), never over --server, and act as no member — whoever may open
// the home is its operator. Nothing they print holds a password: registrations name the
// operator's password files.
#include <iostream>

#include "absl/strings/str_join.h"
#include "cli/command_line.h"

namespace parley::cli {
namespace {

void PrintEngine(const api::EngineInfo& engine) {
  std::cout << engine.name << ": " << engine.kind << " " << engine.url << ", cluster "
            << engine.cluster << ", database " << engine.database << ", user " << engine.user
            << " (password file " << engine.password_file << ")";
  if (!engine.loader_user.empty()) {
    std::cout << ", loader " << engine.loader_user << " (password file "
              << engine.loader_password_file << ")";
  }
  if (!engine.nodes.empty()) std::cout << ", nodes " << absl::StrJoin(engine.nodes, " ");
  if (!engine.version.empty()) std::cout << ", ClickHouse " << engine.version;
  std::cout << "\n";
}

}  // namespace

void Cli::AddEngineCommands() {
  CLI::App* group =
      Group("engine", "the operator's engines (ClickHouse clusters) tables may live on");
  auto* add = group->add_subcommand(
      "add",
      "register a ClickHouse cluster (checks the server version and that the account is "
      "read-only)");
  add->add_option("name", engine_name_, "the engine's name")->required();
  add->add_option("--clickhouse", engine_url_, "http://HOST:PORT of the node queries go to")
      ->required();
  add->add_option("--cluster", engine_cluster_, "the remote_servers cluster")->required();
  add->add_option("--database", engine_database_, "the one database the account may read")
      ->required();
  add->add_option("--user", engine_user_, "the query account (profile readonly=1)")->required();
  add->add_option("--password-file", engine_password_file_,
                  "a file (mode 600) holding its password, read at each use, never stored")
      ->required();
  auto* loader = add->add_option("--loader-user", engine_loader_user_,
                                 "a writer account that loads members' files into the cluster");
  auto* loader_file = add->add_option("--loader-password-file", engine_loader_password_file_,
                                      "a file (mode 600) holding the loader's password");
  loader->needs(loader_file);
  loader_file->needs(loader);
  add->add_option("--node", engine_nodes_,
                  "every node's http://HOST:PORT, repeated (loading creates tables on each; "
                  "default: --clickhouse only)");
  Add(
      add,
      [this] {
        if (remote()) return Usage("engine add works on a home of this machine, not --server");
        api::LocalService home(globals_.home, ServiceOptions());
        api::EngineInfo engine;
        engine.name = engine_name_;
        engine.kind = "clickhouse";
        engine.url = engine_url_;
        engine.cluster = engine_cluster_;
        engine.database = engine_database_;
        engine.user = engine_user_;
        engine.password_file = engine_password_file_;
        engine.loader_user = engine_loader_user_;
        engine.loader_password_file = engine_loader_password_file_;
        engine.nodes = engine_nodes_;
        return Answer(home.AddEngine(engine), [](const api::EngineInfo& added) {
          std::cout << "added engine ";
          PrintEngine(added);
          return 0;
        });
      },
      /*needs_actor=*/false);

  auto* list = group->add_subcommand("list", "list the registered engines");
  Add(
      list,
      [this] {
        if (remote()) return Usage("engine list works on a home of this machine, not --server");
        api::LocalService home(globals_.home, ServiceOptions());
        return Answer(home.ListEngines(), [](const api::ListEnginesResponse& response) {
          if (response.engines.empty()) std::cout << "no engines\n";
          for (const api::EngineInfo& engine : response.engines) PrintEngine(engine);
          return 0;
        });
      },
      /*needs_actor=*/false);

  auto* show = group->add_subcommand("show", "show one engine");
  show->add_option("name", engine_name_, "the engine's name")->required();
  Add(
      show,
      [this] {
        if (remote()) return Usage("engine show works on a home of this machine, not --server");
        api::LocalService home(globals_.home, ServiceOptions());
        absl::StatusOr<api::ListEnginesResponse> listed = home.ListEngines();
        absl::StatusOr<api::EngineInfo> found =
            absl::NotFoundError(absl::StrCat("there is no engine '", engine_name_, "'"));
        if (!listed.ok()) found = listed.status();
        for (const api::EngineInfo& engine :
             listed.ok() ? listed->engines : std::vector<api::EngineInfo>{}) {
          if (engine.name == engine_name_) found = engine;
        }
        return Answer(found, [](const api::EngineInfo& engine) {
          PrintEngine(engine);
          return 0;
        });
      },
      /*needs_actor=*/false);

  auto* remove =
      group->add_subcommand("remove", "unregister an engine (refused while a table lives on it)");
  remove->add_option("name", engine_name_, "the engine's name")->required();
  Add(
      remove,
      [this] {
        if (remote()) return Usage("engine remove works on a home of this machine, not --server");
        api::LocalService home(globals_.home, ServiceOptions());
        return Answer(home.RemoveEngine(engine_name_), [](const api::RemoveEngineResponse& r) {
          std::cout << "removed engine " << r.removed << "\n";
          return 0;
        });
      },
      /*needs_actor=*/false);
}

}  // namespace parley::cli
