#include "absl/strings/str_cat.h"
#include "connectors/connector.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

bool ProtectsRows(const Explanation& explanation) {
  return explanation.verdict.rule_kind == policy::RuleKind::kAggregation ||
         explanation.verdict.rule_kind == policy::RuleKind::kList;
}

// For rules that protect rows, whatever still fails while the engine runs (an error the guards
// did not foresee, a limit, a cancellation) is reported, returned and recorded with one fixed
// message: the engine's own message, or even its class, could depend on rows the runner may
// not see (issue 6). The code is the same too.
absl::Status RunFailure() {
  return absl::AbortedError(
      "the query failed while it ran; for aggregation and list rules the cause is not shown, "
      "because it could depend on rows that no one may see");
}

}  // namespace

absl::StatusOr<engine::ResultTable> Service::Impl::Execute(const QueryContext& context,
                                                           const Explanation& explanation) {
  std::vector<engine::SourceView> views;
  PARLEY_ASSIGN_OR_RETURN(RegisteredFiles registered, AllRegisteredFiles());
  for (const std::string& name : explanation.tables) {
    for (const catalog::Table& table : context.tables) {
      if (table.name != name) continue;
      // The exact files are resolved now and checked now; DuckDB gets those paths and no
      // other, so a link re-pointed or a file added since the table was registered cannot
      // bring another member's rows in.
      PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
      PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> files,
                              connector->ResolveFiles(table.source_json));
      PARLEY_RETURN_IF_ERROR(CheckOwnFiles(table.owner, files, registered, table.name));
      PARLEY_ASSIGN_OR_RETURN(engine::SourceView view, connector->ViewFor(table, files));
      PARLEY_ASSIGN_OR_RETURN(view.pinned_columns, connectors::PinnedColumns(table));
      views.push_back(std::move(view));
    }
  }
  // The engine checks the views' pinned columns before it runs the SQL; only a failure while the
  // SQL ran can depend on the rows.
  engine::Engine::Stage failed_at = engine::Engine::Stage::kSources;
  absl::StatusOr<engine::ResultTable> result =
      engine->Run(engine::Plan{explanation.rendered_sql, std::move(views)}, &failed_at);
  if (!result.ok() && failed_at == engine::Engine::Stage::kQuery && ProtectsRows(explanation)) {
    return RunFailure();
  }
  return result;
}

}  // namespace parley::service
