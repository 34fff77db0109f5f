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
    layout.tables[absl::AsciiStrToLower(name)] =
        render::ClickHouseTable{placement.relation, placement.local, placement.sharding_key};
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
      if (scans != nullptr) scans->push_back(catalog::TableScan{table.name, 0, 0});
      views.push_back(std::move(view));
    }
  }
  engine::Engine::Stage failed_at = engine::Engine::Stage::kSources;
  absl::StatusOr<engine::ResultTable> result =
      engine->Run(engine::Plan{explanation.rendered_sql, std::move(views), control}, &failed_at);
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
