// Metering's use cases: the usage report (`parley usage`), a member's limits on what the queries
// it pays for may scan, and a table's size as its connector measures it. Charging a query — the
// payer in force, the estimate checked against the payer's limits and reserved, then the
// measured scans — happens in the catalog's transactions that record and finish it
// (catalog/usage.cc), called from queries.cc.
//
// Who sees what: every active member sees the room's totals per member, per payer and per month
// (what cost sharing needs) and the tables' sizes (metadata, like their columns); no report
// carries a query's SQL, tables or result. Limits are each member's own: a member reads and sets
// only its own.
#include <map>
#include <regex>

#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

using namespace internal;

namespace {

// `bytes` at `price_per_tb_micros` per 10^12 bytes, in millionths, rounded to the nearest.
int64_t CostMicros(int64_t bytes, int64_t price_per_tb_micros) {
  __int128 product = static_cast<__int128>(bytes) * price_per_tb_micros;
  return static_cast<int64_t>((product + 500'000'000'000) / 1'000'000'000'000);
}

void Add(UsageLine& line, const catalog::UsageRecord& record) {
  ++line.queries;
  line.rows_scanned += record.rows_scanned;
  line.bytes_scanned += record.bytes_scanned;
  line.duration_micros += record.duration_micros;
  line.result_rows += record.result_rows;
  line.result_bytes += record.result_bytes;
}

}  // namespace

absl::StatusOr<catalog::TableSize> Service::Impl::MeasureTable(
    const catalog::Table& table, const std::vector<std::string>& files) {
  PARLEY_ASSIGN_OR_RETURN(const connectors::Connector* connector, ConnectorOf(table));
  return connector->Measure(table.source_json, files);
}

absl::StatusOr<UsageReport> Service::Impl::Usage(const identity::Caller& caller,
                                                 const std::string& collaboration,
                                                 const std::string& month, const std::string& by) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  if (by != "member" && by != "payer" && by != "month") {
    return absl::InvalidArgumentError("usage is reported by member, payer or month");
  }
  static const std::regex kMonth("[0-9]{4}-(0[1-9]|1[0-2])");
  if (!month.empty() && !std::regex_match(month, kMonth)) {
    return absl::InvalidArgumentError("a month is written YYYY-MM, like 2026-11");
  }
  UsageReport report;
  report.by = by;
  report.month = month;
  report.current_period = CurrentPeriod();
  report.price_per_tb_micros = options.price_per_tb_micros;
  report.total.key = "total";
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::UsageRecord> records,
                          store->ListUsage(collaboration));
  std::map<std::string, UsageLine> lines;
  for (const catalog::UsageRecord& record : records) {
    if (record.payer == caller.member() && record.period == report.current_period) {
      report.used_this_month += record.bytes_scanned;
    }
    if (!month.empty() && record.period != month) continue;
    const std::string& key = by == "member"  ? record.runner
                             : by == "payer" ? record.payer
                                             : record.period;
    UsageLine& line = lines[key];
    line.key = key;
    Add(line, record);
    Add(report.total, record);
  }
  for (auto& [key, line] : lines) {
    line.cost_micros = CostMicros(line.bytes_scanned, report.price_per_tb_micros);
    report.lines.push_back(std::move(line));
  }
  report.total.cost_micros = CostMicros(report.total.bytes_scanned, report.price_per_tb_micros);
  PARLEY_ASSIGN_OR_RETURN(report.limits, store->GetUsageLimits(collaboration, caller.member()));
  PARLEY_ASSIGN_OR_RETURN(auto sizes, store->ListTableSizes(collaboration));
  // The tables every member sees in the room's metadata: those of active members.
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::Table> tables, ActiveTables(found));
  for (const catalog::Table& table : tables) {
    auto size = sizes.find(table.name);
    if (size == sizes.end()) continue;  // added before metering: no size known
    TableSizeView view{table.name, table.owner, std::nullopt, size->second.bytes};
    if (size->second.rows >= 0) view.rows = size->second.rows;
    report.tables.push_back(std::move(view));
  }
  return report;
}

absl::StatusOr<UsageReport> Service::Impl::SetUsageLimits(const identity::Caller& caller,
                                                          const std::string& collaboration,
                                                          const catalog::UsageLimits& limits) {
  PARLEY_ASSIGN_OR_RETURN(auto found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  PARLEY_RETURN_IF_ERROR(store->SetUsageLimits(collaboration, caller.member(), limits));
  return Usage(caller, collaboration, CurrentPeriod(), "member");
}

}  // namespace parley::service
