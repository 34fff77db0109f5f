// The clickhouse connector: tables that live on a ClickHouse cluster the operator registered as an
// engine (`parley engine add`). A query over them runs on that cluster (engine/clickhouse), so the
// connector never reads rows for a query: it pins a table's columns at registration and tells the
// service where the table is (its Placement), from which the service builds the clickhouse
// dialect's layout and checks the pinned columns before every run.
//
// Two ways to put a member's table there:
// - in place: a Distributed table already in the engine's database
//   {"engine": "warehouse", "relation": "audience"} — its shard-local table and sharding key are
//   read from the Distributed table's definition, so joins on both tables' sharding keys run
//   co-located (render/clickhouse);
// - loaded: a member's file copied into the cluster at registration, sharded by a column
//   {"engine": "warehouse", "relation": "demo_loyalty", "load": "/data/loyalty.csv",
//    "sharding_key": "hashed_email"} — through the engine's loader account (the query account is
//   readonly=1 and cannot write): the file's rows streamed (one DuckDB chunk and one piece of the
//   request body in memory, whatever the file's size) into staging tables on every node, then
//   renamed to a MergeTree table `<relation>_local` with a Distributed table `<relation>` over it,
//   sharded by sipHash64(sharding_key). A failed load drops what it created; a load that dies
//   midway leaves only staging tables (`<relation>_loading_<id>`), never a half-loaded relation.
// Either way the stored description is the in-place form:
//   {"database", "engine", "local", "relation", "row_id", "sharding_key"}.
// A loaded table carries Parley's hidden row identity, an Int64 column `__parley_row_id` (the
// file's row number); a table in place has one when the operator gave it that column. It is never
// one of the table's columns for members (InferSchema leaves it out, so it is not pinned, shown or
// selectable) and only the once-per-group weighting refers to it.
//
// The connector knows engines only through an EngineLookup the service gives it (the registry of
// engines lives in the home, service/engines.h); passwords reach it in ConnectOptions and nothing
// it returns or stores holds one.
//
// Thread safety: stateless apart from the lookup, which must be safe to call from several threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "engine/clickhouse/clickhouse_engine.h"

namespace parley::connectors::clickhouse {

inline constexpr std::string_view kClickHouseKind = "clickhouse";

// What the connector needs of a registered engine.
struct EngineAccess {
  std::string name;
  std::string cluster;  // the remote_servers cluster its Distributed tables use
  engine::clickhouse::ConnectOptions reader;
  // The writer account that loads files; absent when the operator registered none.
  std::optional<engine::clickhouse::ConnectOptions> loader;
  std::vector<std::string> nodes;  // every node's HTTP address (DDL runs on each)
};
// NotFound naming the engine when there is no such engine.
using EngineLookup = std::function<absl::StatusOr<EngineAccess>(const std::string& name)>;

// Where a registered table is on its engine (a stored description, parsed).
struct Placement {
  std::string engine;
  std::string database;
  std::string relation;      // the Distributed table queries read
  std::string local;         // its shard-local table
  std::string sharding_key;  // "" when not sipHash64(one column) over the engine's cluster
  // Whether the relation has Parley's hidden row identity, an Int64 column kRowIdColumn
  // (base/row_identity.h) unique over the table: a loaded file always has it (its row number);
  // a table registered in place has it when its Distributed table has that column. Needed by the
  // once-per-group weighting of a sum over a join (render/clickhouse).
  bool row_id = false;
};
// InvalidArgument "invalid clickhouse source description at <JSON path>: ..." for anything else.
absl::StatusOr<Placement> ParsePlacement(std::string_view description);

// How files are loaded.
struct LoadOptions {
  // The size the rows are sent in: a piece of the INSERT's body is filled to about this many bytes
  // (plus one row) before it is sent.
  size_t buffer_bytes = 1 << 20;
  // Called with each piece's size before it is sent; false stops the load there, as a cut
  // connection would (for tests of a load that fails midway).
  std::function<bool(size_t)> on_piece;
};

class ClickHouseConnector : public Connector {
 public:
  explicit ClickHouseConnector(EngineLookup lookup, LoadOptions load = {})
      : lookup_(std::move(lookup)), load_(std::move(load)) {}
  std::string_view kind() const override { return kClickHouseKind; }
  // In place: connects (the engine's checks: version, readonly account), finds the relation, which
  // must be a Distributed table of the engine's database over a local table of that database
  // (NotFound / InvalidArgument naming the relation). Loaded: checks the engine has a loader
  // account, the file (as the files connector does) and the sharding key's presence.
  absl::StatusOr<std::string> Validate(std::string_view description) const override;
  // Over a server: the operator's account reads every table of the engine's database, so the
  // cluster's table names say whose data they are — a member registers in place only relations
  // named "<member>_..." (docs/scale-out.md); a file loaded into the cluster is the member's by
  // construction (the service checks the file is under its folder of the data root). Checked
  // before anything connects, so that a refusal tells nothing of what the cluster holds.
  absl::Status CheckServedFor(std::string_view description,
                              const std::string& organisation) const override;
  // Loaded: loads the file into the cluster (see above) and returns the in-place description.
  // AlreadyExists naming the relation when it is already on the cluster; InvalidArgument naming
  // a column whose type has no exact ClickHouse counterpart, or the missing sharding key.
  absl::StatusOr<std::string> Pin(std::string_view description) const override;
  // The relation's columns as DESCRIBE TABLE shows them, with Parley's type names.
  absl::StatusOr<std::vector<catalog::Column>> InferSchema(
      std::string_view description) const override;
  // Loaded (before Pin): the file, so that the service checks it is the member's own.
  absl::StatusOr<std::vector<std::string>> ResolveFiles(
      std::string_view description) const override;
  // No local view: the relation by name, with the allowed columns' pinned types.
  absl::StatusOr<engine::SourceView> ViewFor(const catalog::Table& table,
                                             const std::vector<std::string>& files) const override;
  // Rows: the Distributed table's count(). Bytes: the uncompressed size of the local table's
  // active parts on every registered node (system.parts) — what ClickHouse's bytes_read counts,
  // for a query that reads every column. A local table that is not of the MergeTree family has no
  // parts: its bytes are 0.
  absl::StatusOr<catalog::TableSize> Measure(std::string_view description,
                                             const std::vector<std::string>& files) const override;
  SourceSummary Summarize(std::string_view description) const override;
  // The relation on its engine's database, so that no other member registers it.
  std::vector<FileId> Claims(std::string_view description) const override;

 private:
  absl::StatusOr<std::string> DescribeInPlace(const EngineAccess& access,
                                              const std::string& relation) const;
  EngineLookup lookup_;
  LoadOptions load_;
};

}  // namespace parley::connectors::clickhouse
