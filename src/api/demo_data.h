// The demo's data (`parley demo`, the benchmarks): a retailer's audience graph and a supplier's
// loyalty table, generated deterministically by DuckDB (the same sizes give the same files, bit
// for bit). Here rather than in the CLI because generating them needs the engine's DuckDB, which
// a front end does not link.
// Thread safety: free function; concurrent calls must use different directories.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace parley::api {

// Writes retail.parquet (`households` rows) and loyalty.parquet (`supplier_members` rows,
// `shared` of them matching a household) into `directory`, creating it.
absl::Status GenerateDemoData(int64_t households, int64_t supplier_members, int64_t shared,
                              const std::string& directory);

}  // namespace parley::api
