// Metering's commands: `parley usage -c C [--month YYYY-MM] [--by member|payer|month]`, what the
// collaboration's queries scanned and what that costs at the price per TB (any member may read
// it: totals, never SQL), and `parley usage limit -c C [--per-query SIZE] [--monthly SIZE]`, the
// caller's own limits on what the queries it pays for may scan.
#include <iostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {
namespace {

// 3045966 → "3.0 MB" (decimal units: 1 TB = 10^12 bytes, as prices per TB count).
std::string Bytes(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", value, units[unit]);
}

// "10GB", "1.5 TB", "500000", "none" (no limit): bytes, decimal units. nullopt for "none".
absl::StatusOr<std::optional<int64_t>> ParseSize(const std::string& flag, std::string text) {
  text = std::string(absl::StripAsciiWhitespace(text));
  if (absl::AsciiStrToLower(text) == "none") return std::optional<int64_t>();
  size_t end = 0;
  while (end < text.size() && (absl::ascii_isdigit(text[end]) || text[end] == '.')) ++end;
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(end)));
  double number = 0;
  const std::pair<const char*, double> units[] = {
      {"", 1}, {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"pb", 1e15}};
  for (const auto& [name, factor] : units) {
    if (unit == name && end > 0 && absl::SimpleAtod(text.substr(0, end), &number) && number >= 0 &&
        number * factor < 9.2e18) {
      return std::optional<int64_t>(static_cast<int64_t>(number * factor + 0.5));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag,
      ": a size is bytes with an optional unit (kB, MB, GB, TB, PB; 1 TB = 10^12 bytes), "
      "like 10GB, or none"));
}

// The caller's limits and what the queries it pays for used this month.
void PrintLimits(const api::UsageResponse& r) {
  auto limit = [](const std::optional<int64_t>& bytes) {
    return bytes ? absl::StrCat(Bytes(*bytes), " (", *bytes, ")") : std::string("none");
  };
  std::cout << "your limits: per query " << limit(r.limits.per_query_bytes) << ", per month "
            << limit(r.limits.monthly_bytes) << "; used by queries you pay for in "
            << r.current_month << ": " << Bytes(r.used_this_month) << " (" << r.used_this_month
            << ")\n";
}

void PrintUsage(const api::UsageResponse& r) {
  std::cout << "usage of collaboration '" << r.collaboration << "' by " << r.by << ", "
            << (r.month ? *r.month : std::string("all months")) << " (price " << r.price_per_tb
            << " per TB)\n";
  std::cout << absl::StrFormat("%-16s %8s %14s %22s %12s %10s  %s\n", r.by, "queries",
                               "rows scanned", "bytes scanned", "duration ms", "result rows",
                               "cost");
  auto line = [](const api::UsageLine& l) {
    std::cout << absl::StrFormat("%-16s %8d %14d %22s %12d %10d  %s\n", l.key, l.queries,
                                 l.rows_scanned,
                                 absl::StrCat(Bytes(l.bytes_scanned), " (", l.bytes_scanned, ")"),
                                 l.duration_micros / 1000, l.result_rows, l.cost);
  };
  for (const api::UsageLine& l : r.lines) line(l);
  line(r.total);
  PrintLimits(r);
  for (const api::TableSize& table : r.tables) {
    std::cout << "table " << table.table << " (" << table.owner
              << "): " << (table.rows ? absl::StrCat(*table.rows, " rows, ") : std::string())
              << Bytes(table.bytes) << " (" << table.bytes << ")\n";
  }
}

}  // namespace

void Cli::AddUsageCommand() {
  auto* usage = app_.add_subcommand(
      "usage",
      "what the collaboration's queries scanned, per member, payer or month, and its cost");
  usage->require_subcommand(0, 1);
  // Not required here: `usage limit` takes its own -c (checked below for the report).
  usage->add_option("-c,--collaboration", globals_.collaboration, "the collaboration");
  usage->add_option("--month", usage_month_, "one month, YYYY-MM (default: every month)");
  usage->add_option("--by", usage_by_, "member (who ran them), payer or month")
      ->capture_default_str()
      ->check(CLI::IsMember({"member", "payer", "month"}));
  usage->add_option("--price-per-tb", price_per_tb_,
                    "embedded mode: the price of a terabyte scanned (default 5.00); a server "
                    "uses its own (parley serve --price-per-tb)");
  auto* limit = usage->add_subcommand(
      "limit", "set your limits on what the queries you pay for may scan (absent: none)");
  AddCollaborationOption(limit);
  limit->add_option("--per-query", per_query_limit_, "bytes one query may scan: 10GB, or none");
  limit->add_option("--monthly", monthly_limit_,
                    "bytes the queries you pay for may scan per month (UTC): 1TB, or none");
  Add(limit, [this] {
    api::SetUsageLimitsRequest request{globals_.collaboration, std::nullopt, std::nullopt};
    if (!per_query_limit_.empty()) {
      absl::StatusOr<std::optional<int64_t>> parsed = ParseSize("--per-query", per_query_limit_);
      if (!parsed.ok()) return Usage(parsed.status().message());
      request.per_query_bytes = *parsed;
    }
    if (!monthly_limit_.empty()) {
      absl::StatusOr<std::optional<int64_t>> parsed = ParseSize("--monthly", monthly_limit_);
      if (!parsed.ok()) return Usage(parsed.status().message());
      request.monthly_bytes = *parsed;
    }
    return Answer(OpenBackend()->SetUsageLimits(request), [](const auto& r) {
      PrintLimits(r);
      return 0;
    });
  });
  Add(usage, [this] {
    if (globals_.collaboration.empty()) return Usage("--collaboration is required");
    if (remote() && !price_per_tb_.empty()) {
      return Usage("--price-per-tb: with --server the server's price applies");
    }
    api::UsageRequest request{globals_.collaboration, std::nullopt, usage_by_};
    if (!usage_month_.empty()) request.month = usage_month_;
    return Answer(OpenBackend()->Usage(request), [](const auto& r) {
      PrintUsage(r);
      return 0;
    });
  });
}

}  // namespace parley::cli
