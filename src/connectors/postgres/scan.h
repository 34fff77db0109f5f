// Reading a PostgreSQL relation inside a DuckDB session: a table function of Parley's own
// (engine::duckdb::ScanFunction) that streams the rows with binary COPY.
//
// At the start of each scan it opens its own connection, begins a read-only transaction, takes an
// ACCESS SHARE lock on the relation (which needs SELECT on the table; with column grants only it
// is skipped) and checks — under that lock, so no ALTER can slip in between — that the connection
// reaches the registered relation and that every column it reads still has its pinned type. Then
// it runs
//   COPY (SELECT <the columns DuckDB asks for, each cast to its pinned type> FROM <relation>
//   [WHERE <filter>]) TO STDOUT (FORMAT binary)
// and decodes the rows straight into DuckDB vectors, one vector's worth at a time: memory stays
// bounded whatever the table's size. The columns are those DuckDB's projection pushdown asks for
// (the checked query's); the filter is rendered by Parley from the checked query's IR
// (render/postgres/scan_filter.h), never taken from text.
//
// A plain table of at least 32 MB (on PostgreSQL 14 or later) is read in parallel: the first
// connection, after its checks, exports its snapshot and cuts the table's pages into ranges;
// workers (up to 4 connections, one per DuckDB thread) each open a connection in that snapshot,
// check the relation again and copy range after range (`ctid >= '(a,0)' AND ctid < '(b,0)'`, the
// last range open-ended). Together they read exactly the rows of a single COPY, in another order.
//
// Errors during a scan are reported to DuckDB in fixed words (the service has already checked the
// same things with full messages before the query ran: PostgresConnector::ViewForQuery).
//
// Thread safety: the object is immutable; each DuckDB thread of a parallel scan uses its own
// connection, and they share only the atomic index of the next range.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/records.h"
#include "connectors/postgres/remote.h"
#include "engine/duckdb/scan_function.h"

namespace parley::connectors::postgres {

class PostgresScan : public engine::duckdb::ScanFunction,
                     public std::enable_shared_from_this<PostgresScan> {
 public:
  // `columns`: the columns the view exposes (names and pinned engine types), in order.
  PostgresScan(Description description, std::vector<catalog::Column> columns, std::string filter,
               std::string context);

  // The function's name in the session ("parley_postgres_scan_<n>", unique in the process).
  const std::string& function_name() const { return function_name_; }
  absl::Status Register(duckdb_connection connection) const override;

  // The SELECT the scan copies for these columns (indices into `columns`), limited to `range` (a
  // condition on ctid, for one part of a parallel scan) when not empty.
  std::string RemoteSelect(const std::vector<size_t>& projected, std::string_view range = "") const;

  const Description& description() const { return description_; }
  const std::vector<catalog::Column>& columns() const { return columns_; }
  const std::string& filter() const { return filter_; }
  const std::string& context() const { return context_; }

  // Metering: the rows decoded and the bytes of the COPY stream received (values and their
  // per-field framing) since the scan was created, over every scan of it in the session.
  std::optional<engine::ScanCount> Scanned() const override;
  void CountScanned(int64_t rows, int64_t bytes) const;

 private:
  mutable std::atomic<int64_t> rows_scanned_{0};
  mutable std::atomic<int64_t> bytes_scanned_{0};
  Description description_;
  std::vector<catalog::Column> columns_;
  std::string filter_;
  std::string context_;
  std::string function_name_;
};

}  // namespace parley::connectors::postgres
