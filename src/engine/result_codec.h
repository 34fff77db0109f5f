// A compact binary form of a ResultTable, for small results kept in the catalog instead of a file
// (docs/audit.md, "Durability"). It keeps exactly what the engine returned: each column's name
// and type name, and each value's bytes (any bytes, NUL and non-UTF-8 included) or NULL, so
// reading it back gives the same table without a Parquet round trip (which costs a private
// DuckDB query) or a text format that would have to escape or replace bytes.
//
//   std::optional<std::string> bytes = EncodeResult(result, 64 * 1024);
//   PARLEY_ASSIGN_OR_RETURN(ResultTable again, DecodeResult(*bytes));
//
// Layout (little-endian): "PRB1", u32 column count, per column (u32 length + name, u32 length +
// type), u64 row count, per row and column a tag byte (0 NULL, 1 value) and, for a value,
// u32 length + bytes. Nothing follows the last row.
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/engine.h"

namespace parley::engine {

// The encoded result, or nullopt when it would take more than `max_bytes` (decided while
// encoding, so a large result costs no more than `max_bytes` of work).
std::optional<std::string> EncodeResult(const ResultTable& result, size_t max_bytes);

// The table `bytes` encode. DataLoss when they are not an encoded result (wrong magic, a length
// past the end, bytes left over); the message carries no content.
absl::StatusOr<ResultTable> DecodeResult(std::string_view bytes);

}  // namespace parley::engine
