#include "connectors/postgres/scan.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace parley::connectors::postgres {
namespace {

enum class Kind {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kFloat,
  kDouble,
  kText,  // VARCHAR and BLOB: bytes as they come
  kDate,
  kTimestamp,  // with or without time zone: microseconds
  kUuid,
  kDecimal,
};

struct ColumnReader {
  Kind kind = Kind::kText;
  int width = 0;  // kDecimal
  int scale = 0;
};

absl::StatusOr<ColumnReader> ReaderFor(const std::string& type) {
  static const std::pair<const char*, Kind> kKinds[] = {
      {"BOOLEAN", Kind::kBool},  {"SMALLINT", Kind::kInt16},
      {"INTEGER", Kind::kInt32}, {"BIGINT", Kind::kInt64},
      {"FLOAT", Kind::kFloat},   {"DOUBLE", Kind::kDouble},
      {"VARCHAR", Kind::kText},  {"BLOB", Kind::kText},
      {"DATE", Kind::kDate},     {"TIMESTAMP", Kind::kTimestamp},
      {"UUID", Kind::kUuid},     {"TIMESTAMP WITH TIME ZONE", Kind::kTimestamp}};
  for (const auto& [name, kind] : kKinds) {
    if (type == name) return ColumnReader{kind};
  }
  absl::string_view rest = type;
  if (absl::ConsumePrefix(&rest, "DECIMAL(") && absl::ConsumeSuffix(&rest, ")")) {
    size_t comma = rest.find(',');
    ColumnReader reader{Kind::kDecimal};
    if (comma != absl::string_view::npos &&
        absl::SimpleAtoi(rest.substr(0, comma), &reader.width) &&
        absl::SimpleAtoi(rest.substr(comma + 1), &reader.scale) && reader.width >= 1 &&
        reader.width <= 38 && reader.scale >= 0 && reader.scale <= reader.width) {
      return reader;
    }
  }
  return absl::InternalError(absl::StrCat("no reader for the pinned type ", type));
}

duckdb_logical_type LogicalTypeFor(const std::string& type, const ColumnReader& reader) {
  switch (reader.kind) {
    case Kind::kBool:
      return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    case Kind::kInt16:
      return duckdb_create_logical_type(DUCKDB_TYPE_SMALLINT);
    case Kind::kInt32:
      return duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
    case Kind::kInt64:
      return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    case Kind::kFloat:
      return duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
    case Kind::kDouble:
      return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    case Kind::kText:
      return duckdb_create_logical_type(type == "BLOB" ? DUCKDB_TYPE_BLOB : DUCKDB_TYPE_VARCHAR);
    case Kind::kDate:
      return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
    case Kind::kTimestamp:
      return duckdb_create_logical_type(type == "TIMESTAMP" ? DUCKDB_TYPE_TIMESTAMP
                                                            : DUCKDB_TYPE_TIMESTAMP_TZ);
    case Kind::kUuid:
      return duckdb_create_logical_type(DUCKDB_TYPE_UUID);
    case Kind::kDecimal:
      return duckdb_create_decimal_type(static_cast<uint8_t>(reader.width),
                                        static_cast<uint8_t>(reader.scale));
  }
  return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

uint16_t Be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
uint32_t Be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
uint64_t Be64(const char* p) { return (uint64_t{Be32(p)} << 32) | Be32(p + 4); }

// PostgreSQL counts days and microseconds from 2000-01-01, DuckDB from 1970-01-01.
constexpr int32_t kEpochDays = 10957;
constexpr int64_t kEpochMicros = int64_t{kEpochDays} * 86'400'000'000;

constexpr __int128 Pow10(int n) {
  __int128 value = 1;
  for (int i = 0; i < n; ++i) value *= 10;
  return value;
}

// One COPY being decoded: the message received last and where decoding is in it.
struct Stream {
  Connection* connection = nullptr;  // not owned
  char* message = nullptr;           // current COPY message (PQfreemem)
  int length = 0;
  int offset = 0;
  bool header_read = false;
  bool active = false;  // a COPY is running on the connection
  bool done = false;    // that COPY ended

  void Reset(Connection* on) {
    if (message != nullptr) PQfreemem(message);
    *this = Stream{};
    connection = on;
  }
  ~Stream() {
    if (message != nullptr) PQfreemem(message);
  }
};

// A large plain table is read by several connections at once, each copying ranges of pages
// (ctid ranges, which PostgreSQL 14 and later scan by page, not by filtering a whole scan), all
// in the snapshot the first connection exported: together they read exactly the rows one COPY
// would. Below kMinParallelPages (32 MB) one connection is as fast and costs the server less.
constexpr int64_t kMinParallelPages = 4096;
constexpr int64_t kPagesPerConnection = 4096;
constexpr int kMaxConnections = 4;
// Ranges per connection: a connection that finishes early takes another range.
constexpr int kRangesPerConnection = 4;

// The scan's shared state: the first connection, which checks the relation under its lock and
// then either copies the whole relation itself or, for a parallel scan, holds the exported
// snapshot (and the lock) while the workers copy its page ranges.
struct ScanState {
  const PostgresScan* scan = nullptr;  // what it counts its rows and bytes to (metering)
  std::unique_ptr<Connection> connection;
  std::vector<size_t> projected;      // indices into the scan's columns
  std::vector<ColumnReader> readers;  // parallel to projected
  std::vector<std::string> needed;    // the projected columns' names
  Stream stream;                      // the single COPY (not parallel)
  bool parallel = false;
  std::string snapshot;               // pg_export_snapshot()
  std::vector<std::string> ranges;    // the workers' ctid conditions
  std::atomic<size_t> next_range{0};  // the next range a worker takes
};

// A worker of a parallel scan: its own connection in the shared snapshot, and the range it copies.
struct WorkerState {
  std::unique_ptr<Connection> connection;
  Stream stream;
};

const char* kScanError = "the PostgreSQL scan failed";

// Decodes one field (`data`, `size` bytes) of column `c` into row `row` of `vector`. False on a
// field that does not have its type's shape.
bool Decode(const ColumnReader& reader, const char* data, int32_t size, duckdb_vector vector,
            idx_t row) {
  void* out = duckdb_vector_get_data(vector);
  switch (reader.kind) {
    case Kind::kBool:
      if (size != 1) return false;
      static_cast<bool*>(out)[row] = data[0] != 0;
      return true;
    case Kind::kInt16:
      if (size != 2) return false;
      static_cast<int16_t*>(out)[row] = static_cast<int16_t>(Be16(data));
      return true;
    case Kind::kInt32:
      if (size != 4) return false;
      static_cast<int32_t*>(out)[row] = static_cast<int32_t>(Be32(data));
      return true;
    case Kind::kInt64:
      if (size != 8) return false;
      static_cast<int64_t*>(out)[row] = static_cast<int64_t>(Be64(data));
      return true;
    case Kind::kFloat: {
      if (size != 4) return false;
      uint32_t bits = Be32(data);
      std::memcpy(static_cast<float*>(out) + row, &bits, 4);
      return true;
    }
    case Kind::kDouble: {
      if (size != 8) return false;
      uint64_t bits = Be64(data);
      std::memcpy(static_cast<double*>(out) + row, &bits, 8);
      return true;
    }
    case Kind::kText:
      duckdb_vector_assign_string_element_len(vector, row, data, static_cast<idx_t>(size));
      return true;
    case Kind::kDate: {
      if (size != 4) return false;
      int32_t days = static_cast<int32_t>(Be32(data));
      int32_t value;
      if (days == std::numeric_limits<int32_t>::max()) {
        value = days;  // infinity
      } else if (days == std::numeric_limits<int32_t>::min()) {
        value = -std::numeric_limits<int32_t>::max();  // -infinity
      } else if (__builtin_add_overflow(days, kEpochDays, &value)) {
        return false;
      }
      static_cast<duckdb_date*>(out)[row].days = value;
      return true;
    }
    case Kind::kTimestamp: {
      if (size != 8) return false;
      int64_t micros = static_cast<int64_t>(Be64(data));
      int64_t value;
      if (micros == std::numeric_limits<int64_t>::max()) {
        value = micros;
      } else if (micros == std::numeric_limits<int64_t>::min()) {
        value = -std::numeric_limits<int64_t>::max();
      } else if (__builtin_add_overflow(micros, kEpochMicros, &value) ||
                 value == std::numeric_limits<int64_t>::max() ||
                 value <= -std::numeric_limits<int64_t>::max()) {
        return false;
      }
      static_cast<duckdb_timestamp*>(out)[row].micros = value;
      return true;
    }
    case Kind::kUuid: {
      if (size != 16) return false;
      // DuckDB keeps a UUID as a 128-bit integer with the top bit flipped, so that signed order
      // is the bytes' order.
      duckdb_hugeint& value = static_cast<duckdb_hugeint*>(out)[row];
      value.upper = static_cast<int64_t>(Be64(data) ^ (uint64_t{1} << 63));
      value.lower = Be64(data + 8);
      return true;
    }
    case Kind::kDecimal: {
      if (size < 8) return false;
      int ndigits = static_cast<int16_t>(Be16(data));
      int weight = static_cast<int16_t>(Be16(data + 2));
      uint16_t sign = Be16(data + 4);
      if (ndigits < 0 || size != 8 + 2 * ndigits || (sign != 0 && sign != 0x4000)) {
        return false;  // NaN and infinities have no DECIMAL value
      }
      const __int128 limit = Pow10(reader.width);
      __int128 value = 0;
      for (int i = 0; i < ndigits; ++i) {
        int digit = Be16(data + 8 + 2 * i);
        if (digit > 9999) return false;
        // The digit counts 10000^(weight - i); scaled by 10^scale.
        int exponent = 4 * (weight - i) + reader.scale;
        if (exponent >= 0) {
          if (exponent > 38) {
            if (digit != 0) return false;
            continue;
          }
          __int128 term = Pow10(exponent) * digit;  // < 10^42: fits
          if (term >= limit || value >= limit - term) return false;
          value += term;
        } else {
          // Digits below the scale must be zero (the column's scale bounds the value's).
          if (exponent <= -4) {
            if (digit != 0) return false;
            continue;
          }
          int divisor = static_cast<int>(Pow10(-exponent));
          if (digit % divisor != 0) return false;
          value += digit / divisor;
          if (value >= limit) return false;
        }
      }
      if (sign == 0x4000) value = -value;
      if (reader.width <= 4) {
        static_cast<int16_t*>(out)[row] = static_cast<int16_t>(value);
      } else if (reader.width <= 9) {
        static_cast<int32_t*>(out)[row] = static_cast<int32_t>(value);
      } else if (reader.width <= 18) {
        static_cast<int64_t*>(out)[row] = static_cast<int64_t>(value);
      } else {
        duckdb_hugeint& hugeint = static_cast<duckdb_hugeint*>(out)[row];
        hugeint.lower = static_cast<uint64_t>(value);
        hugeint.upper = static_cast<int64_t>(value >> 64);
      }
      return true;
    }
  }
  return false;
}

std::atomic<uint64_t> next_function{0};

struct Callbacks {
  static void Bind(duckdb_bind_info info) {
    const auto* scan =
        static_cast<const std::shared_ptr<const PostgresScan>*>(duckdb_bind_get_extra_info(info))
            ->get();
    for (const catalog::Column& column : scan->columns()) {
      absl::StatusOr<ColumnReader> reader = ReaderFor(column.type);
      if (!reader.ok()) {
        duckdb_bind_set_error(info, kScanError);
        return;
      }
      duckdb_logical_type type = LogicalTypeFor(column.type, *reader);
      duckdb_bind_add_result_column(info, column.name.c_str(), type);
      duckdb_destroy_logical_type(&type);
    }
  }

  static void DestroyState(void* state) { delete static_cast<ScanState*>(state); }
  static void DestroyWorker(void* state) { delete static_cast<WorkerState*>(state); }

  static void Init(duckdb_init_info info) {
    const PostgresScan& scan =
        *static_cast<const std::shared_ptr<const PostgresScan>*>(duckdb_init_get_extra_info(info))
             ->get();
    auto state = std::make_unique<ScanState>();
    state->scan = &scan;
    idx_t count = duckdb_init_get_column_count(info);
    for (idx_t i = 0; i < count; ++i) {
      idx_t index = duckdb_init_get_column_index(info, i);
      if (index >= scan.columns().size()) {
        duckdb_init_set_error(info, kScanError);
        return;
      }
      absl::StatusOr<ColumnReader> reader = ReaderFor(scan.columns()[index].type);
      if (!reader.ok()) {
        duckdb_init_set_error(info, kScanError);
        return;
      }
      state->projected.push_back(index);
      state->readers.push_back(*reader);
      state->needed.push_back(scan.columns()[index].name);
    }
    absl::Status started = Start(scan, *state);
    if (!started.ok()) {
      std::string message(started.message());
      duckdb_init_set_error(info, message.c_str());
      return;
    }
    duckdb_init_set_max_threads(
        info, state->parallel ? std::min<idx_t>(state->ranges.size(), kMaxConnections) : 1);
    duckdb_init_set_init_data(info, state.release(), DestroyState);
  }

  // Connects, checks the relation under a lock and either starts the COPY or, for a large plain
  // table, exports the snapshot and cuts the table into page ranges for the workers.
  static absl::Status Start(const PostgresScan& scan, ScanState& state) {
    PARLEY_ASSIGN_OR_RETURN(state.connection,
                            Connection::Open(scan.description().conninfo, scan.context()));
    Connection& connection = *state.connection;
    PARLEY_RETURN_IF_ERROR(
        connection.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, PGRES_COMMAND_OK)
            .status());
    PARLEY_ASSIGN_OR_RETURN(
        RemoteRelation now,
        DescribeRelation(connection, scan.description().schema, scan.description().table));
    // LOCK needs SELECT on the whole table; with column grants only, the casts of RemoteSelect
    // still keep the rows' binary form the one decoded if the table changes in between.
    if (now.table_selectable) {
      PARLEY_RETURN_IF_ERROR(connection
                                 .Execute(absl::StrCat("LOCK TABLE ",
                                                       QualifiedName(scan.description().schema,
                                                                     scan.description().table),
                                                       " IN ACCESS SHARE MODE"),
                                          {}, PGRES_COMMAND_OK)
                                 .status());
      PARLEY_ASSIGN_OR_RETURN(
          now, DescribeRelation(connection, scan.description().schema, scan.description().table));
    }
    PARLEY_RETURN_IF_ERROR(
        CheckPinned(now, scan.description(), scan.columns(), state.needed, scan.context()));
    PARLEY_RETURN_IF_ERROR(PlanRanges(connection, now, state));
    if (state.parallel) return absl::OkStatus();
    state.stream.Reset(&connection);
    std::string copy =
        absl::StrCat("COPY (", scan.RemoteSelect(state.projected), ") TO STDOUT (FORMAT binary)");
    PARLEY_RETURN_IF_ERROR(connection.Execute(copy, {}, PGRES_COPY_OUT).status());
    state.stream.active = true;
    return absl::OkStatus();
  }

  // Decides whether the scan is parallel: a plain table (or materialised view) of at least
  // kMinParallelPages on PostgreSQL 14 or later (TID range scans). The page count is taken in
  // the transaction, after the snapshot: pages added later hold no row the snapshot sees, and the
  // last range is open-ended anyway.
  static absl::Status PlanRanges(Connection& connection, const RemoteRelation& relation,
                                 ScanState& state) {
    std::string oid = relation.identity.substr(relation.identity.rfind('/') + 1);
    PARLEY_ASSIGN_OR_RETURN(
        std::shared_ptr<PGresult> sized,
        connection.Execute("SELECT c.relkind::text, pg_relation_size(c.oid) / "
                           "current_setting('block_size')::int8, "
                           "current_setting('server_version_num')::int8 FROM pg_class c "
                           "WHERE c.oid = $1::oid",
                           {oid}));
    if (PQntuples(sized.get()) != 1) return absl::OkStatus();
    std::string_view kind = PQgetvalue(sized.get(), 0, 0);
    int64_t pages = 0;
    int64_t version = 0;
    if (!absl::SimpleAtoi(PQgetvalue(sized.get(), 0, 1), &pages) ||
        !absl::SimpleAtoi(PQgetvalue(sized.get(), 0, 2), &version)) {
      return absl::OkStatus();
    }
    if ((kind != "r" && kind != "m") || version < 140000 || pages < kMinParallelPages) {
      return absl::OkStatus();
    }
    int connections = static_cast<int>(
        std::min<int64_t>(kMaxConnections, std::max<int64_t>(2, pages / kPagesPerConnection)));
    int64_t count = int64_t{connections} * kRangesPerConnection;
    int64_t per_range = (pages + count - 1) / count;
    PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<PGresult> exported,
                            connection.Execute("SELECT pg_export_snapshot()", {}));
    state.snapshot = PQgetvalue(exported.get(), 0, 0);
    for (int64_t from = 0; from < pages; from += per_range) {
      std::string range = absl::StrCat("ctid >= '(", from, ",0)'::tid");
      if (from + per_range < pages) {
        absl::StrAppend(&range, " AND ctid < '(", from + per_range, ",0)'::tid");
      }
      state.ranges.push_back(std::move(range));
    }
    state.parallel = true;
    return absl::OkStatus();
  }

  // A worker of a parallel scan. The local init cannot see the shared state, so the worker's
  // connection is opened at its first Scan call.
  static void InitWorker(duckdb_init_info info) {
    duckdb_init_set_init_data(info, new WorkerState(), DestroyWorker);
  }

  // Opens a worker's connection, in the first connection's snapshot (so it sees exactly the rows
  // the first one sees), checked to reach the same relation with the pinned columns.
  static absl::Status StartWorker(const ScanState& state, WorkerState& worker) {
    const PostgresScan& scan = *state.scan;
    PARLEY_ASSIGN_OR_RETURN(worker.connection,
                            Connection::Open(scan.description().conninfo, scan.context()));
    Connection& connection = *worker.connection;
    PARLEY_RETURN_IF_ERROR(
        connection.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, PGRES_COMMAND_OK)
            .status());
    // SET TRANSACTION SNAPSHOT takes no parameter; the identifier is the server's own answer
    // (hexadecimal digits and dashes), checked before it is spelled into the statement.
    if (state.snapshot.empty() ||
        state.snapshot.find_first_not_of("0123456789ABCDEFabcdef-") != std::string::npos) {
      return absl::InternalError(absl::StrCat(scan.context(), ": unexpected snapshot identifier"));
    }
    PARLEY_RETURN_IF_ERROR(
        connection
            .Execute(absl::StrCat("SET TRANSACTION SNAPSHOT '", state.snapshot, "'"), {},
                     PGRES_COMMAND_OK)
            .status());
    PARLEY_ASSIGN_OR_RETURN(
        RemoteRelation now,
        DescribeRelation(connection, scan.description().schema, scan.description().table));
    return CheckPinned(now, scan.description(), scan.columns(), state.needed, scan.context());
  }

  // Fetches the next COPY message; false at the end (stream.done) or on an error (message set).
  static bool NextMessage(const ScanState& state, Stream& stream, const char** error) {
    if (stream.message != nullptr) {
      PQfreemem(stream.message);
      stream.message = nullptr;
    }
    int length = PQgetCopyData(stream.connection->get(), &stream.message, /*async=*/0);
    if (length == -1) {
      stream.done = true;
      std::shared_ptr<PGresult> result(PQgetResult(stream.connection->get()), PQclear);
      if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        *error = kScanError;
        return false;
      }
      // Drain: the connection is ready for the next COPY.
      while (PGresult* rest = PQgetResult(stream.connection->get())) PQclear(rest);
      return false;
    }
    if (length < 0) {
      stream.done = true;
      *error = kScanError;
      return false;
    }
    stream.length = length;
    stream.offset = 0;
    state.scan->CountScanned(0, length);
    return true;
  }

  // Decodes rows of `stream` into `output` from row `row` on, until the chunk is full or the COPY
  // ends; returns the next free row, or sets `error`.
  static idx_t Fill(const ScanState& state, Stream& stream,
                    const std::vector<duckdb_vector>& vectors,
                    const std::vector<uint64_t*>& validity, idx_t row, const char** error) {
    const idx_t capacity = duckdb_vector_size();
    while (row < capacity && !stream.done) {
      if (stream.message == nullptr || stream.offset >= stream.length) {
        if (!NextMessage(state, stream, error)) break;
      }
      const char* data = stream.message;
      int end = stream.length;
      int& at = stream.offset;
      if (!stream.header_read) {
        // "PGCOPY\n\377\r\n\0", flags, header extension length and the extension.
        if (end - at < 19 || std::memcmp(data + at, "PGCOPY\n\377\r\n\0", 11) != 0) {
          *error = kScanError;
          break;
        }
        uint32_t extension = Be32(data + at + 15);
        if (extension > static_cast<uint32_t>(end - at - 19)) {
          *error = kScanError;
          break;
        }
        at += 19 + static_cast<int>(extension);
        stream.header_read = true;
        continue;
      }
      if (end - at < 2) {
        *error = kScanError;
        break;
      }
      int16_t fields = static_cast<int16_t>(Be16(data + at));
      at += 2;
      if (fields == -1) {  // the trailer: the rows end; the result follows
        continue;
      }
      if (fields != static_cast<int16_t>(state.projected.size())) {
        *error = kScanError;
        break;
      }
      for (size_t i = 0; i < state.projected.size() && *error == nullptr; ++i) {
        if (end - at < 4) {
          *error = kScanError;
          break;
        }
        int32_t size = static_cast<int32_t>(Be32(data + at));
        at += 4;
        if (size == -1) {
          duckdb_validity_set_row_invalid(validity[i], row);
          continue;
        }
        if (size < 0 || size > end - at ||
            !Decode(state.readers[i], data + at, size, vectors[i], row)) {
          *error = kScanError;
          break;
        }
        at += size;
      }
      if (*error != nullptr) break;
      ++row;
    }
    return row;
  }

  static void Scan(duckdb_function_info info, duckdb_data_chunk output) {
    auto& state = *static_cast<ScanState*>(duckdb_function_get_init_data(info));
    std::vector<duckdb_vector> vectors;
    std::vector<uint64_t*> validity;
    for (size_t i = 0; i < state.projected.size(); ++i) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(output, i);
      duckdb_vector_ensure_validity_writable(vector);
      vectors.push_back(vector);
      validity.push_back(duckdb_vector_get_validity(vector));
    }
    idx_t row = 0;
    const char* error = nullptr;
    if (!state.parallel) {
      row = Fill(state, state.stream, vectors, validity, 0, &error);
    } else {
      auto* worker = static_cast<WorkerState*>(duckdb_function_get_local_init_data(info));
      if (worker == nullptr) error = kScanError;
      std::string failure;
      if (error == nullptr && worker->connection == nullptr) {
        absl::Status started = StartWorker(state, *worker);
        if (!started.ok()) {
          worker->connection.reset();
          failure = std::string(started.message());
          duckdb_function_set_error(info, failure.c_str());
          return;
        }
      }
      // Copies range after range until the chunk is full or no range is left.
      while (error == nullptr && row < duckdb_vector_size()) {
        if (!worker->stream.active || worker->stream.done) {
          size_t next = state.next_range.fetch_add(1);
          if (next >= state.ranges.size()) break;
          worker->stream.Reset(worker->connection.get());
          std::string copy =
              absl::StrCat("COPY (", state.scan->RemoteSelect(state.projected, state.ranges[next]),
                           ") TO STDOUT (FORMAT binary)");
          if (!worker->connection->Execute(copy, {}, PGRES_COPY_OUT).ok()) {
            error = kScanError;
            break;
          }
          worker->stream.active = true;
        }
        row = Fill(state, worker->stream, vectors, validity, row, &error);
      }
    }
    if (error != nullptr) {
      duckdb_function_set_error(info, error);
      return;
    }
    state.scan->CountScanned(static_cast<int64_t>(row), 0);
    duckdb_data_chunk_set_size(output, row);
  }

  static void DestroyExtra(void* extra) {
    delete static_cast<std::shared_ptr<const PostgresScan>*>(extra);
  }
};

}  // namespace

PostgresScan::PostgresScan(Description description, std::vector<catalog::Column> columns,
                           std::string filter, std::string context)
    : description_(std::move(description)),
      columns_(std::move(columns)),
      filter_(std::move(filter)),
      context_(std::move(context)),
      function_name_(absl::StrCat("parley_postgres_scan_", next_function.fetch_add(1))) {}

std::string PostgresScan::RemoteSelect(const std::vector<size_t>& projected,
                                       std::string_view range) const {
  std::vector<std::string> names;
  // Each column cast to the type whose binary form the scan decodes: a no-op for a table that
  // still has its pinned types (checked just before), and a guarantee if it changed since.
  for (size_t index : projected) {
    names.push_back(absl::StrCat(QuoteIdentifier(columns_[index].name),
                                 "::", PostgresType(columns_[index].type)));
  }
  std::string select = absl::StrCat("SELECT ", absl::StrJoin(names, ", "), " FROM ",
                                    QualifiedName(description_.schema, description_.table));
  // A range is AND-ed to the filter: the filter in parentheses, whatever its top operator.
  if (!filter_.empty()) {
    absl::StrAppend(&select, " WHERE ", range.empty() ? filter_ : absl::StrCat("(", filter_, ")"));
  }
  if (!range.empty()) {
    absl::StrAppend(&select, filter_.empty() ? " WHERE " : " AND ", std::string(range));
  }
  return select;
}

absl::Status PostgresScan::Register(duckdb_connection connection) const {
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, function_name_.c_str());
  duckdb_table_function_set_extra_info(function,
                                       new std::shared_ptr<const PostgresScan>(shared_from_this()),
                                       Callbacks::DestroyExtra);
  duckdb_table_function_set_bind(function, Callbacks::Bind);
  duckdb_table_function_set_init(function, Callbacks::Init);
  duckdb_table_function_set_local_init(function, Callbacks::InitWorker);
  duckdb_table_function_set_function(function, Callbacks::Scan);
  duckdb_table_function_supports_projection_pushdown(function, true);
  duckdb_state state = duckdb_register_table_function(connection, function);
  duckdb_destroy_table_function(&function);
  if (state == DuckDBError) {
    return absl::InternalError(
        absl::StrCat(context_, ": cannot register its PostgreSQL reader in the session"));
  }
  return absl::OkStatus();
}

void PostgresScan::CountScanned(int64_t rows, int64_t bytes) const {
  rows_scanned_.fetch_add(rows, std::memory_order_relaxed);
  bytes_scanned_.fetch_add(bytes, std::memory_order_relaxed);
}

std::optional<engine::ScanCount> PostgresScan::Scanned() const {
  return engine::ScanCount{rows_scanned_.load(std::memory_order_relaxed),
                           bytes_scanned_.load(std::memory_order_relaxed)};
}

}  // namespace parley::connectors::postgres
