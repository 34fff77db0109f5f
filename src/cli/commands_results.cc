// Results kept in the home and the home itself: result list|get|delete, home info|set.
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {
namespace {

// 3045966 → "3.0 MB": sizes for people (decimal units, as ls -h --si and file managers).
std::string Size(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", value, units[unit]);
}

void PrintHome(const api::HomeInfoResponse& home) {
  std::cout << "home " << home.path << "\n"
            << "  size: " << Size(home.total_bytes) << "\n"
            << "  catalog: " << Size(home.catalog_bytes) << "\n"
            << "  results: " << home.result_count << " (" << Size(home.result_bytes) << ")\n"
            << "  result retention: "
            << (home.result_retention_days ? absl::StrCat(*home.result_retention_days, " days")
                                           : std::string("none (results are kept until deleted)"))
            << "\n";
}

}  // namespace

void Cli::AddResultCommands() {
  CLI::App* group = Group("result", "results kept for you: list, get and delete them");
  auto* list = group->add_subcommand("list", "the results kept for you (you receive them)");
  AddCollaborationOption(list);
  Add(list, [this] {
    return Answer(OpenBackend()->ListResults({globals_.collaboration}), [](const auto& r) {
      for (const api::StoredResult& result : r.results) {
        std::cout << result.query_id << "  " << FormatTime(result.created_at) << "  runner "
                  << result.runner << "  rows " << result.row_count << "  " << Size(result.bytes)
                  << "  receivers " << absl::StrJoin(result.receivers, ",") << "\n";
      }
      return 0;
    });
  });

  auto* get = group->add_subcommand("get", "a kept result, as a table or to --output");
  AddCollaborationOption(get);
  get->add_option("id", query_id_, "the query's id")->required();
  AddOutputOptions(get);
  Add(get, [this] {
    if (auto usage = OutputUsage()) return Usage(*usage);
    auto response = OpenBackend()->GetResult({globals_.collaboration, query_id_});
    if (absl::Status opened = OpenSealed(response); !opened.ok()) return Fail(opened);
    if (!response.ok()) return Fail(response.status(), globals_.collaboration);
    if (globals_.json) PrintJson(*response);
    return WriteOrPrint(response->result);
  });

  auto* remove = group->add_subcommand(
      "delete", "delete a kept result (for all its receivers; the query's record stays)");
  AddCollaborationOption(remove);
  remove->add_option("id", query_id_, "the query's id")->required();
  Add(remove, [this] {
    return Answer(OpenBackend()->DeleteResult({globals_.collaboration, query_id_}),
                  [](const auto& r) {
                    std::cout << "deleted the result of query " << r.query_id << " in "
                              << r.collaboration << "\n";
                    return 0;
                  });
  });
}

// The home is a local, operator's concern: a server's home is not for its clients to read or
// change (its operator runs these commands on the server's machine).
std::string RemoteHomeRefusal(const std::string& command) {
  return absl::StrCat(command,
                      " is not available with --server: it reads and changes a local home; "
                      "run it where the home is (the server's operator runs it on the server's "
                      "machine)");
}

void Cli::AddHomeCommands() {
  CLI::App* group = Group("home", "the home directory: its size and settings");
  auto* info = group->add_subcommand("info", "the home's size, its results and settings");
  Add(
      info,
      [this] {
        if (remote()) return Usage(RemoteHomeRefusal("home info"));
        return Answer(OpenBackend()->HomeInfo({}), [](const auto& r) {
          PrintHome(r);
          return 0;
        });
      },
      /*needs_actor=*/false);

  auto* set = group->add_subcommand("set", "change the home's settings");
  set->add_option("--result-retention", result_retention_,
                  "delete results older than this many days (when the home is opened), or "
                  "'off' to keep them until deleted")
      ->required();
  Add(
      set,
      [this] {
        if (remote()) return Usage(RemoteHomeRefusal("home set"));
        api::SetResultRetentionRequest request;
        if (result_retention_ != "off") {
          int64_t days = 0;
          if (!absl::SimpleAtoi(result_retention_, &days) || days < 1) {
            return Usage("--result-retention takes a number of days (at least 1) or 'off'");
          }
          request.days = days;
        }
        return Answer(OpenBackend()->SetResultRetention(request), [](const auto& r) {
          PrintHome(r);
          return 0;
        });
      },
      /*needs_actor=*/false);
}

}  // namespace parley::cli
