// The demo's campaign tables (cli/demo.h: retail.parquet, loyalty.parquet) on a test cluster, as
// an operator would put them there: on every node a MergeTree table `<name>_local` and a
// Distributed table `<name>` over them spread by a sharding expression, then the file's rows
// inserted through node 0 synchronously. Shared by the campaign test, the end-to-end test of
// tables on an engine and the benchmark, so that all three measure the same layout.
//
//   ASSERT_OK(LoadCampaign(*cluster, data, {{"retail", "retail", "sipHash64(hashed_email)"},
//                                           {"loyalty_by_row", "loyalty", "rand()"}}));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "query/snapshot.h"
#include "support/clickhouse_cluster.h"

namespace parley::testing {

struct CampaignTable {
  std::string name;      // the Distributed table in database "rooms"
  std::string file;      // "retail" or "loyalty": which of the demo's files it holds
  std::string sharding;  // the Distributed table's sharding expression
};

// The columns of the demo's files, as ClickHouse types.
extern const char kRetailColumns[];
extern const char kLoyaltyColumns[];

// Exports `data`/<file>.parquet to <file>.tsv once (DuckDB), creates each table on every node and
// loads it. Internal naming the step that failed.
absl::Status LoadCampaign(const ClickHouseCluster& cluster, const std::string& data,
                          const std::vector<CampaignTable>& tables);

// The demo's two tables with their typed columns and the demo's rules, as collaboration
// `collaboration`'s snapshot: what the campaign query compiles against on either engine.
std::shared_ptr<const query::Snapshot> CampaignSnapshot(const std::string& collaboration);

}  // namespace parley::testing
