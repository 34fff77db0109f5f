// LocalService: metering — the usage report and a member's scan limits, in API terms.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {

namespace {

UsageLine FromService(const service::UsageLine& line) {
  return {line.key,
          line.queries,
          line.rows_scanned,
          line.bytes_scanned,
          line.duration_micros,
          line.result_rows,
          line.result_bytes,
          FormatMoney(line.cost_micros)};
}

UsageResponse FromService(const std::string& collaboration, const service::UsageReport& report) {
  UsageResponse response;
  response.collaboration = collaboration;
  response.by = report.by;
  if (!report.month.empty()) response.month = report.month;
  response.current_month = report.current_period;
  response.price_per_tb = FormatMoney(report.price_per_tb_micros);
  for (const service::UsageLine& line : report.lines) response.lines.push_back(FromService(line));
  response.total = FromService(report.total);
  response.limits = {report.limits.per_query_bytes, report.limits.monthly_bytes};
  response.used_this_month = report.used_this_month;
  for (const service::TableSizeView& table : report.tables) {
    response.tables.push_back({table.table, table.owner, table.rows, table.bytes});
  }
  return response;
}

}  // namespace

absl::StatusOr<int64_t> ParsePricePerTb(std::string_view text) {
  const absl::Status invalid = absl::InvalidArgumentError(
      "a price per TB is a decimal number from 0 to 1000000 with at most 6 decimals, like 5 or "
      "6.25");
  size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : text.substr(point + 1);
  if (whole.empty() || whole.size() > 7 || fraction.size() > 6 ||
      (point != std::string_view::npos && fraction.empty())) {
    return invalid;
  }
  for (char c : std::string(whole) + std::string(fraction)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return invalid;
  }
  int64_t units = 0, micros = 0;
  if (!absl::SimpleAtoi(std::string(whole), &units)) return invalid;
  std::string padded = std::string(fraction) + std::string(6 - fraction.size(), '0');
  if (!absl::SimpleAtoi(padded, &micros)) return invalid;
  int64_t total = units * 1'000'000 + micros;
  if (total > int64_t{1'000'000} * 1'000'000) return invalid;
  return total;
}

std::string FormatMoney(int64_t micros) {
  std::string digits = absl::StrCat(micros % 1'000'000 + 1'000'000).substr(1);
  while (digits.size() > 2 && digits.back() == '0') digits.pop_back();
  return absl::StrCat(micros / 1'000'000, ".", digits);
}

absl::StatusOr<UsageResponse> LocalService::Usage(const identity::Caller& caller,
                                                  const UsageRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::UsageReport report,
      service->Usage(caller, request.collaboration, request.month.value_or(""), request.by));
  return FromService(request.collaboration, report);
}

absl::StatusOr<UsageResponse> LocalService::SetUsageLimits(const identity::Caller& caller,
                                                           const SetUsageLimitsRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(
      service::UsageReport report,
      service->SetUsageLimits(caller, request.collaboration,
                              {request.per_query_bytes, request.monthly_bytes}));
  return FromService(request.collaboration, report);
}

}  // namespace parley::api
