// A Parquet file of a small result, encoded in-process without DuckDB. Storing each query's result
// through DuckDB's COPY cost about 1 ms of CPU per query — as much as everything else Parley adds
// to a small query together (bench/README.md, "Fixed cost per query") — because a COPY is planned
// and executed like any query. A small result needs none of that: one row group, one
// uncompressed PLAIN data page per column, the footer in Thrift's compact protocol.
//
// The file must be the one DuckDB would have written, since DuckDB reads it back (result get,
// saved results registered as tables): each column gets the physical and logical type DuckDB's
// own writer gives the same column type, and each value must be exactly what DuckDB's cast of its
// text would store. So the encoder accepts only the column types whose text form it parses
// strictly (BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, HUGEINT, FLOAT, DOUBLE, DECIMAL(p,s),
// VARCHAR, DATE) and only values in the canonical form DuckDB prints them in; for anything else it
// answers Unimplemented and the caller writes the file through DuckDB as before.
//
//   absl::StatusOr<std::string> bytes = EncodeParquet(result, {{"parley_types", "[...]"}});
//   if (absl::IsUnimplemented(bytes.status())) { /* write through DuckDB */ }
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"

namespace parley::engine {

// The largest result encoded here (cells, and bytes of text): larger results go through DuckDB,
// which compresses them (zstd) and splits them into row groups.
inline constexpr size_t kEncodedParquetMaxCells = 64 * 1024;
inline constexpr size_t kEncodedParquetMaxBytes = 1024 * 1024;

// The bytes of a Parquet file holding `result` (every column nullable), with `metadata` as the
// file's key/value metadata. Unimplemented (naming the column, never a value) when a column's
// type or one of its values is outside what is described above, or the result is larger than
// the limits; InvalidArgument for a result without columns or with a row of the wrong width.
absl::StatusOr<std::string> EncodeParquet(
    const ResultTable& result, const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace parley::engine
