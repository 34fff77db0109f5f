// Where a query runs: on local DuckDB, or on the registered engine that holds all its tables
// (service/engines.h). A query is compiled once for DuckDB to learn which tables it reads; when
// they live on one ClickHouse engine it is compiled again for that engine's dialect, with the
// layout of its tables on the cluster (Distributed and local tables, sharding keys). A query
// whose tables are on two engines (or on an engine and in local files) is refused before anything
// runs: no engine can read the other's tables, and moving one side over is not planned (yet).
//
// Also the operator's engine registry (Service::AddEngine, ListEngines, RemoveEngine).
#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/clickhouse/clickhouse_connector.h"
#include "engine/clickhouse/clickhouse_engine.h"
#include "render/clickhouse/clickhouse_dialect.h"
#include "service/run_failure.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;
namespace clickhouse = connectors::clickhouse;

namespace {

// Splits what a query read on the cluster among the tables it read. ClickHouse 18.16 reports a
// query's rows and bytes read in total (its answer's "statistics", summed over the shards), not
// per table: each table gets a share in proportion to its size (bytes by bytes, rows by rows; equal
// shares when no size is known), the remainder going to the last table, so that the per-table
// figures always add up to exactly what the cluster read. A query over one table gets it all.
std::vector<catalog::TableScan> SplitEngineRead(const engine::ScanCount& read,
                                                std::vector<catalog::TableScan> sizes) {
  auto split = [&](int64_t total, int64_t catalog::TableScan::*field) {
    int64_t weight = 0;
    for (const catalog::TableScan& size : sizes) weight += std::max<int64_t>(size.*field, 0);
    int64_t given = 0;
    std::vector<int64_t> shares;
    for (size_t i = 0; i < sizes.size(); ++i) {
      int64_t share = 0;
      if (i + 1 == sizes.size()) {
        share = total - given;
      } else if (weight > 0) {
        share = static_cast<int64_t>(static_cast<__int128>(total) *
                                     std::max<int64_t>(sizes[i].*field, 0) / weight);
      } else {
        share = total / static_cast<int64_t>(sizes.size());
      }
      given += share;
      shares.push_back(share);
    }
    for (size_t i = 0; i < sizes.size(); ++i) sizes[i].*field = shares[i];
  };
  split(std::max<int64_t>(read.rows, 0), &catalog::TableScan::rows);
  split(std::max<int64_t>(read.bytes, 0), &catalog::TableScan::bytes);
  return sizes;
}

}  // namespace

absl::StatusOr<clickhouse::EngineAccess> Service::Impl::EngineAccessOf(
    const std::string& name) const {
  PARLEY_ASSIGN_OR_RETURN(std::vector<EngineRegistration> engines, ReadEngines(home.string()));
  for (const EngineRegistration& engine : engines) {
    if (engine.name != name) continue;
    PARLEY_ASSIGN_OR_RETURN(clickhouse::EngineAccess access, AccessOf(engine));
    access.reader.timeout = options.limits.timeout;
    access.reader.cancel = options.limits.cancel;
    return access;
  }
  return absl::NotFoundError(absl::StrCat(
      "there is no engine '", name, "' (the operator registers one with 'parley engine add')"));
}

absl::StatusOr<std::string> Service::Impl::RouteQuery(const QueryContext& context,
                                                      query::Request& request,
                                                      query::Compiled& compiled) {
  // Where each table the query reads lives: "" for local files, else its engine's name.
  std::map<std::string, std::string> engine_of;
  std::map<std::string, clickhouse::Placement> placements;
  bool any_elsewhere = false;
  for (const std::string& name : compiled.tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name) continue;
      if (table.source_kind == clickhouse::kClickHouseKind) {
        PARLEY_ASSIGN_OR_RETURN(clickhouse::Placement placement,
                                clickhouse::ParsePlacement(table.source_json));
        engine_of[name] = placement.engine;
        placements[name] = std::move(placement);
        any_elsewhere = true;
      } else {
        engine_of[name] = "";
      }
    }
  }
  if (!any_elsewhere) return std::string();
  std::map<std::string, std::vector<std::string>> tables_on;  // engine → its tables
  for (const auto& [table, engine] : engine_of) tables_on[engine].push_back(table);
  if (tables_on.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [engine, tables] : tables_on) {
      parts.push_back(absl::StrCat(
          engine.empty() ? "local files" : absl::StrCat("clickhouse engine '", engine, "'"), ": '",
          absl::StrJoin(tables, "', '"), "'"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the query reads tables on different engines (", absl::StrJoin(parts, "; "),
                     "); a query runs on one engine, so all its tables must live on the same one"));
  }
  const std::string engine = tables_on.begin()->first;
  render::ClickHouseLayout layout;
  for (const auto& [name, placement] : placements) {
    layout.database = placement.database;
    layout.tables[absl::AsciiStrToLower(name)] = render::ClickHouseTable{
        placement.relation, placement.local, placement.sharding_key, placement.row_id};
  }
  render::ClickHouseDialect dialect(std::move(layout));
  request.dialect = &dialect;
  PARLEY_ASSIGN_OR_RETURN(compiled, query::Compile(*context.snapshot, request));
  request.dialect = nullptr;
  return engine;
}

absl::StatusOr<engine::ResultTable> Service::Impl::ExecuteOnEngine(
    const QueryContext& context, const Explanation& explanation, engine::RunControl* control,
    std::vector<catalog::TableScan>* scans) {
  PARLEY_ASSIGN_OR_RETURN(clickhouse::EngineAccess access, EngineAccessOf(explanation.engine));
  PARLEY_ASSIGN_OR_RETURN(auto engine,
                          engine::clickhouse::ClickHouseEngine::Connect(access.reader));
  std::vector<engine::SourceView> views;
  for (const std::string& name : explanation.tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name) continue;
      PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
      PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, connector->ViewFor(table, {}));
      // Checked before every run, naming the table as its members know it and its owner; never
      // anything of the remote data.
      PARLEY_RETURN_IF_ERROR(engine->CheckTable(
          view.name, view.pinned_columns,
          absl::StrCat("table '", table.name, "' of member '", table.owner, "'")));
      view.pinned_columns.clear();
      views.push_back(std::move(view));
    }
  }
  engine::Engine::Stage failed_at = engine::Engine::Stage::kSources;
  engine::ScanCount read{-1, -1};
  engine::Plan plan{explanation.rendered_sql, std::move(views), control};
  plan.read = &read;
  absl::StatusOr<engine::ResultTable> result = engine->Run(plan, &failed_at);
  if (scans != nullptr && (result.ok() || failed_at == engine::Engine::Stage::kQuery)) {
    // The tables' sizes as the estimate used them (refreshed when the query was recorded).
    PARLEY_ASSIGN_OR_RETURN(auto sizes, store->ListTableSizes(context.collaboration.name));
    std::vector<catalog::TableScan> measured;
    for (const std::string& name : explanation.tables) {
      auto size = sizes.find(name);
      catalog::TableScan scan{name, 0, 0};
      if (size != sizes.end())
        scan = {name, std::max<int64_t>(size->second.rows, 0), size->second.bytes};
      measured.push_back(std::move(scan));
    }
    // A run that failed on the cluster reports nothing of what it read: it is charged its
    // estimate, as a run whose process died is.
    if (read.rows >= 0 && read.bytes >= 0) measured = SplitEngineRead(read, std::move(measured));
    for (catalog::TableScan& scan : measured) scans->push_back(std::move(scan));
  }
  if (!result.ok() && failed_at == engine::Engine::Stage::kQuery &&
      !absl::IsCancelled(result.status()) && !absl::IsDeadlineExceeded(result.status())) {
    bool protects_rows = explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
                         explanation.verdict.rule_kind == policy::RuleKind::kList ||
                         (explanation.verdict.rule_kind == policy::RuleKind::kCustom &&
                          !explanation.verdict.thresholds.empty());
    if (protects_rows) return RunFailure();
  }
  return result;
}

void Service::Impl::RefreshEngineTableSizes(const QueryContext& context,
                                            const std::vector<std::string>& tables) {
  absl::StatusOr<std::map<std::string, catalog::TableSize>> sizes =
      store->ListTableSizes(context.collaboration.name);
  if (!sizes.ok()) return;
  for (const std::string& name : tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name || table.source_kind != clickhouse::kClickHouseKind) continue;
      absl::StatusOr<catalog::TableSize> size = MeasureTable(table, {});
      if (!size.ok()) continue;
      auto known = sizes->find(name);
      if (known != sizes->end() && known->second == *size) continue;
      store->SetTableSize(context.collaboration.name, name, *size).IgnoreError();
    }
  }
}

absl::StatusOr<EngineRegistration> Service::AddEngine(EngineRegistration registration) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<EngineRegistration> engines,
                          ReadEngines(impl_->home.string()));
  for (const EngineRegistration& engine : engines) {
    if (engine.name == registration.name) {
      return absl::AlreadyExistsError(
          absl::StrCat("engine '", registration.name, "' is already registered"));
    }
  }
  PARLEY_RETURN_IF_ERROR(CheckEngine(registration));
  engines.push_back(registration);
  PARLEY_RETURN_IF_ERROR(WriteEngines(impl_->home.string(), engines));
  return registration;
}

absl::StatusOr<std::vector<EngineRegistration>> Service::ListEngines() {
  return ReadEngines(impl_->home.string());
}

absl::Status Service::RemoveEngine(const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<EngineRegistration> engines,
                          ReadEngines(impl_->home.string()));
  auto found = std::find_if(engines.begin(), engines.end(),
                            [&](const EngineRegistration& engine) { return engine.name == name; });
  if (found == engines.end()) {
    return absl::NotFoundError(absl::StrCat("there is no engine '", name, "'"));
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Collaboration> collaborations,
                          impl_->store->ListCollaborations());
  for (const catalog::Collaboration& collaboration : collaborations) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables,
                            impl_->store->ListTables(collaboration.name));
    for (const catalog::Table& table : tables) {
      if (table.source_kind != clickhouse::kClickHouseKind) continue;
      absl::StatusOr<clickhouse::Placement> placement =
          clickhouse::ParsePlacement(table.source_json);
      if (placement.ok() && placement->engine == name) {
        return absl::FailedPreconditionError(absl::StrCat(
            "engine '", name, "' still holds table '", table.name, "' of collaboration '",
            collaboration.name, "': its owner removes it first ('parley table remove')"));
      }
    }
  }
  engines.erase(found);
  return WriteEngines(impl_->home.string(), engines);
}

}  // namespace parley::service
