// API types (see api/types.h for the conventions every type follows): metering — `parley usage`,
// what a collaboration's queries scanned per member, per payer or per month with its cost at the
// server's price per TB, and a member's own limits on what the queries it pays for may scan.
// Money is decimal text ("5.00", "0.000125") so that nothing is rounded on the way; bytes are
// integers (1 TB = 10^12 bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// A member's limits in a collaboration, in bytes scanned; absent: no limit.
struct UsageLimits {
  std::optional<int64_t> per_query_bytes;
  std::optional<int64_t> monthly_bytes;
  template <class V>
  void Visit(V& v) {
    v.Optional("per_query_bytes", per_query_bytes);
    v.Optional("monthly_bytes", monthly_bytes);
  }
};

// `parley usage`: by "member" (who ran the queries, the default), "payer" or "month"; one month
// ("2026-11") or, absent, every month.
struct UsageRequest {
  std::string collaboration;
  std::optional<std::string> month;
  std::string by = "member";
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("month", month);
    v.Optional("by", by);
  }
};

struct UsageLine {
  std::string key;  // the member, the payer, the month, or "total"
  int64_t queries = 0;
  int64_t rows_scanned = 0;
  int64_t bytes_scanned = 0;
  int64_t duration_micros = 0;
  int64_t result_rows = 0;
  int64_t result_bytes = 0;
  std::string cost;  // bytes_scanned at the price per TB
  template <class V>
  void Visit(V& v) {
    v.Required("key", key);
    v.Required("queries", queries);
    v.Required("rows_scanned", rows_scanned);
    v.Required("bytes_scanned", bytes_scanned);
    v.Required("duration_micros", duration_micros);
    v.Required("result_rows", result_rows);
    v.Required("result_bytes", result_bytes);
    v.Required("cost", cost);
  }
};

// A table's size as measured when it was added (what estimates use): metadata every member sees.
struct TableSize {
  std::string table;
  std::string owner;
  std::optional<int64_t> rows;  // absent: not known (a remote table never analysed)
  int64_t bytes = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("table", table);
    v.Required("owner", owner);
    v.Optional("rows", rows);
    v.Required("bytes", bytes);
  }
};

struct UsageResponse {
  std::string collaboration;
  std::string by;
  std::optional<std::string> month;
  std::string current_month;
  std::string price_per_tb;
  std::vector<UsageLine> lines;
  UsageLine total;
  UsageLimits limits;           // the caller's own
  int64_t used_this_month = 0;  // by queries the caller pays for (running ones: their estimate)
  std::vector<TableSize> tables;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("by", by);
    v.Optional("month", month);
    v.Required("current_month", current_month);
    v.Required("price_per_tb", price_per_tb);
    v.Required("lines", lines);
    v.Required("total", total);
    v.Required("limits", limits);
    v.Required("used_this_month", used_this_month);
    v.Required("tables", tables);
  }
};

// `parley usage limit`: replaces the caller's limits (an absent limit: none). Answers the usage
// report of the current month by member, with the new limits.
struct SetUsageLimitsRequest {
  std::string collaboration;
  std::optional<int64_t> per_query_bytes;
  std::optional<int64_t> monthly_bytes;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("per_query_bytes", per_query_bytes);
    v.Optional("monthly_bytes", monthly_bytes);
  }
};

}  // namespace parley::api
