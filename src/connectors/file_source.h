// File sources: CSV and Parquet files (a path or a glob) registered as tables. A connector
// infers a schema once (when the table is added, to be pinned in the catalog) and later builds
// the view the engine creates over the source, exposing only the allowed columns. Before a query
// runs, the live schema is compared with the pinned one so a file that changed shape fails with a
// clear error instead of a wrong answer.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "catalog/store.h"
#include "engine/duckdb/duckdb_engine.h"
#include "engine/duckdb/session.h"

namespace parley::connectors {

// Resolves `location` to an absolute path or glob. NotFound when no file matches (the message
// names the location); InvalidArgument for an unsupported extension when kind is not given.
absl::StatusOr<std::string> ResolveLocation(const std::string& location);
absl::StatusOr<catalog::SourceKind> KindFromLocation(const std::string& location);

// Reads the source's header / metadata and returns its columns. InvalidArgument for a file
// DuckDB cannot read as that kind (malformed CSV, not a Parquet file), naming the location but
// never quoting its contents; also for an empty file and for column names that repeat ignoring
// case. NotFound when the location matches no file. A CSV file is read in full once, so a
// malformed line anywhere is reported now rather than at query time.
absl::StatusOr<std::vector<catalog::Column>> InferSchema(catalog::SourceKind kind,
                                                         const std::string& location);

// The files a source reads now — the file, or what the glob matches — each identified by device
// and inode, so that a symbolic or hard link to a file and the file itself compare equal. Files
// that cannot be examined are left out.
using FileId = std::pair<uint64_t, uint64_t>;
std::set<FileId> SourceFiles(const std::string& location);

// The exact files a source reads now, as canonical paths (symbolic links resolved): the file, or
// what the glob matches under glob(3) — `*`, `?` and `[…]` within one folder, no recursive `**`,
// no hidden files. These, and only these, are what a query reads. NotFound when none.
absl::StatusOr<std::vector<std::string>> SourcePaths(const std::string& location);

// The view over `table` exposing its allowed columns, and the hidden row identity
// (base/row_identity.h) that only the rewrite refers to. Types are detected again on every read
// (not forced to the pinned ones), so a file that changed shape is visible to CheckPinnedSchema.
// CSV is read as RFC 4180 with a header (tab-separated for .tsv); Parquet as is.
// `files` are the table's SourcePaths, resolved (and checked) just before the query runs: DuckDB
// reads exactly those and may open no other path. The view's pinned_columns are the allowed
// columns with their pinned types, which the engine checks before every run.
engine::SourceView ViewFor(const catalog::Table& table, const std::vector<std::string>& files);

// Compares what the session sees for `table`'s view with the pinned schema, as the engine does
// before every run (engine::duckdb::CheckPinnedColumns). FailedPrecondition naming the table, the
// column and both types when they differ, or the missing column; Internal when an allowed column
// is not in the pinned schema.
absl::Status CheckPinnedSchema(engine::duckdb::Session& session, const catalog::Table& table);

}  // namespace parley::connectors
