// Populates the console benchmark's collaboration (bench/console/console_bench.mjs) in a home
// that no server has open yet: a collaboration created by MEMBER, audit entries until its chain
// holds AUDIT of them, then TABLES tables over one CSV. Every write goes through the service's
// own use cases (api::LocalService, as `parley serve` calls them: CreateCollaboration,
// ProposeChange, AddTable), so the catalog, its audit chain and its policy state are what the API
// would have left; only HTTP and the token check are skipped. Through the API the same took about
// 25 minutes on a loaded machine (bench/README.md).
//
// The change requests come first: each audit entry records the collaboration's policy state,
// whose digest covers every table, so entries written before the tables are cheap. What already
// exists is kept and only the rest added, so it can be run again on the same home.
//
//   build/release/bench/console_populate HOME COLLABORATION MEMBER CSV TABLES AUDIT
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "api/local_service.h"
#include "identity/caller.h"

using parley::identity::Caller;

namespace {

[[noreturn]] void Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "console_populate: %s: %s\n", what, std::string(status.message()).c_str());
  std::exit(1);
}

std::string TableName(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "t%04d", i);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: console_populate HOME COLLABORATION MEMBER CSV TABLES AUDIT\n");
    return 2;
  }
  const std::string home_dir = argv[1], collaboration = argv[2], member = argv[3], csv = argv[4];
  const int tables = std::atoi(argv[5]);
  const int64_t audit = std::atoll(argv[6]);
  auto start = std::chrono::steady_clock::now();
  parley::api::LocalService home(home_dir, {});
  Caller caller = Caller::Embedded(member);

  parley::api::ListTablesRequest list{collaboration};
  auto existing = home.ListTables(caller, list);
  if (!existing.ok()) {
    if (existing.status().code() != absl::StatusCode::kNotFound)
      Fail("list tables", existing.status());
    parley::api::CreateCollaborationRequest create;
    create.name = collaboration;
    if (auto made = home.CreateCollaboration(caller, create); !made.ok()) {
      Fail("create the collaboration", made.status());
    }
    existing = home.ListTables(caller, list);
    if (!existing.ok()) Fail("list tables", existing.status());
  }
  std::set<std::string> have;
  for (const auto& table : existing->tables) have.insert(table.name);

  auto head = [&]() -> int64_t {
    parley::api::ListAuditRequest page;
    page.collaboration = collaboration;
    page.limit = 1;
    auto listed = home.ListAudit(caller, page);
    if (!listed.ok()) Fail("list the audit log", listed.status());
    return listed->head_seq.value_or(0);
  };
  // The tables still to add write one entry each.
  int64_t missing_tables = 0;
  for (int i = 0; i < tables; ++i) missing_tables += have.count(TableName(i)) == 0 ? 1 : 0;
  int64_t entries = head();
  // The only member's change request commits at once: proposed, approved, applied, committed.
  for (int i = 0; entries + missing_tables < audit; ++i) {
    parley::api::ProposeChangeRequest change;
    change.collaboration = collaboration;
    change.kind = "query_logging";
    change.query_logging = i % 2 == 0;
    if (auto proposed = home.ProposeChange(caller, change); !proposed.ok()) {
      Fail("propose a change", proposed.status());
    }
    if (i % 256 == 255)
      entries = head();
    else
      entries += 4;
  }
  for (int i = 0; i < tables; ++i) {
    if (have.count(TableName(i)) > 0) continue;
    parley::api::AddTableRequest add;
    add.collaboration = collaboration;
    add.table = TableName(i);
    add.source = csv;
    if (auto added = home.AddTable(caller, add); !added.ok()) Fail("add a table", added.status());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("populated %s: %d tables, %lld audit entries in %.1f s\n", collaboration.c_str(),
              tables, static_cast<long long>(head()), seconds);
  return 0;
}
