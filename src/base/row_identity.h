// Every view the engine creates over a source carries one hidden column, kRowIdColumn, whose
// value identifies the row within one scan of that view (two rows never share it; the same row
// keeps it through joins). The rewrite uses it to count each row of a table at most once per
// output group however many rows of other tables it matches (rewrite/once_per_group.h).
//
// No one can name it in a query: it is never an allowed column (a source column whose name starts
// with kReservedColumnPrefix cannot be registered, and the binder ignores such names), and only
// the rewrite, which runs after the policy check, refers to it. Queries that do not refer to it do
// not pay for it: DuckDB prunes an unreferenced view column before the scan.
#pragma once

#include <string_view>

#include "absl/strings/match.h"

namespace parley {

inline constexpr char kReservedColumnPrefix[] = "__parley";
inline constexpr char kRowIdColumn[] = "__parley_row_id";

// Whether `name` is reserved for Parley's hidden columns (case-insensitive, as SQL names are).
inline bool IsReservedColumnName(std::string_view name) {
  return absl::StartsWithIgnoreCase(absl::string_view(name.data(), name.size()),
                                    kReservedColumnPrefix);
}

}  // namespace parley
