#include "api/encrypted_files.h"

#include <duckdb.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/encryption_spec.h"
#include "crypto/column_cipher.h"
#include "crypto/secret_key.h"
#include "engine/duckdb/duckdb_api.h"

namespace parley::api {
namespace {

namespace dk = engine::duckdb;
using crypto::ColumnKind;

constexpr std::string_view kSecretHeader = "parley-secret-v1 ";

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         absl::AsciiStrToLower(text.substr(text.size() - suffix.size())) == suffix;
}

absl::StatusOr<std::string> SourceSql(const std::string& path) {
  if (EndsWith(path, ".csv")) {
    // Every column as text, exactly as written: "007" must reach the integer canonicaliser as
    // "007", and a cleartext column must come out as it went in.
    return absl::StrCat("read_csv(", dk::QuoteString(path),
                        ", header = true, all_varchar = true, auto_detect = true)");
  }
  if (EndsWith(path, ".parquet")) return absl::StrCat("read_parquet(", dk::QuoteString(path), ")");
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "': the input is a .csv or .parquet file"));
}

absl::StatusOr<std::string> CopyFormat(const std::string& path) {
  if (EndsWith(path, ".csv")) return std::string("FORMAT csv, HEADER true");
  if (EndsWith(path, ".parquet")) return std::string("FORMAT parquet");
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "': the output is a .csv or .parquet file"));
}

absl::StatusOr<crypto::SecretKey> ReadSecret(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("secret file '", path, "' does not exist"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("secret file '", path, "' is readable by other users: chmod 600 it"));
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string_view body = text;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  if (!body.starts_with(kSecretHeader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not a Parley secret file (make one with `parley secret new`)"));
  }
  absl::StatusOr<std::string> bytes = crypto::Base64UrlDecode(body.substr(kSecretHeader.size()));
  if (!bytes.ok() || bytes->size() != crypto::SecretKey::kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret file '", path, "' is damaged: it holds no 256-bit secret"));
  }
  absl::StatusOr<crypto::SecretKey> key = crypto::SecretKey::FromBytes(*bytes);
  std::fill(bytes->begin(), bytes->end(), '\0');
  std::fill(text.begin(), text.end(), '\0');
  return key;
}

// What one generated scalar function does to one column, shared by DuckDB's threads.
struct ColumnJob {
  std::string name;         // the output column
  bool check_only = false;  // return whether each cell encodes/opens, for finding the first bad row
  // Encrypting.
  ColumnKind kind = ColumnKind::kCleartext;
  std::optional<crypto::FingerprintEncoder> fingerprint;
  const crypto::KeyRing* ring = nullptr;
  std::string table;
  size_t pad_to = 64;
  // Decrypting: the source table and column, and the other sources named for a moved cell.
  bool open = false;
  std::string source_table, source_column;
  std::vector<std::pair<std::string, std::string>> other_sources;

  std::mutex mutex;
  std::string error;  // the first failure's reason (never a value)

  void Fail(duckdb_function_info info, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (error.empty()) error = reason;
    }
    duckdb_scalar_function_set_error(info, reason.c_str());
  }
};

std::string MovedFrom(ColumnJob& job, std::string_view cell) {
  for (const auto& [table, column] : job.other_sources) {
    absl::StatusOr<crypto::SealOpener> other = crypto::SealOpener::Create(*job.ring, table, column);
    crypto::OpenFailure failure;
    if (other.ok() && other->Open(cell, failure).ok()) {
      return absl::StrCat(": it was sealed as ", table, ".", column, ", not ", job.source_table,
                          ".", job.source_column);
    }
  }
  return "";
}

void RunColumn(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  auto* job = static_cast<ColumnJob*>(duckdb_scalar_function_get_extra_info(info));
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector in = duckdb_data_chunk_get_vector(input, 0);
  auto* cells = static_cast<duckdb_string_t*>(duckdb_vector_get_data(in));
  uint64_t* validity = duckdb_vector_get_validity(in);
  uint64_t* out_validity = nullptr;
  bool* checks = nullptr;
  if (job->check_only) {
    checks = static_cast<bool*>(duckdb_vector_get_data(output));
  } else {
    duckdb_vector_ensure_validity_writable(output);
    out_validity = duckdb_vector_get_validity(output);
  }
  // A cipher context per chunk: contexts are not shareable between DuckDB's threads, and the key
  // schedule is paid once per 2048 rows.
  std::optional<crypto::SealEncoder> sealer;
  std::optional<crypto::SealOpener> opener;
  if (job->open) {
    auto created = crypto::SealOpener::Create(*job->ring, job->source_table, job->source_column);
    if (!created.ok()) return job->Fail(info, std::string(created.status().message()));
    opener.emplace(std::move(*created));
  } else if (job->kind == ColumnKind::kSealed) {
    auto created = crypto::SealEncoder::Create(*job->ring, job->table, job->name, job->pad_to);
    if (!created.ok()) return job->Fail(info, std::string(created.status().message()));
    sealer.emplace(std::move(*created));
  }
  std::string buffer;  // reused for every cell of the chunk
  for (idx_t row = 0; row < rows; ++row) {
    std::optional<std::string_view> value;
    if (validity == nullptr || duckdb_validity_row_is_valid(validity, row)) {
      value =
          std::string_view(duckdb_string_t_data(&cells[row]), duckdb_string_t_length(cells[row]));
    }
    absl::Status status;
    bool is_null = false;
    if (opener.has_value()) {
      if (!value.has_value()) {
        is_null = true;
      } else {
        crypto::OpenFailure failure;
        absl::StatusOr<std::optional<std::string>> opened = opener->Open(*value, failure);
        if (!opened.ok()) {
          status = opened.status();
          if (failure == crypto::OpenFailure::kNotThisColumn && !job->check_only) {
            std::string moved = MovedFrom(*job, *value);
            if (!moved.empty()) {
              status = absl::DataLossError(absl::StrCat("the cell does not open", moved));
            }
          }
        } else if (!opened->has_value()) {
          is_null = true;
        } else {
          buffer = std::move(**opened);
        }
      }
    } else if (sealer.has_value()) {
      status = sealer->EncodeInto(value, buffer, is_null);
    } else {
      status = job->fingerprint->EncodeInto(value, buffer, is_null);
    }
    if (job->check_only) {
      checks[row] = status.ok();
      continue;
    }
    if (!status.ok()) return job->Fail(info, std::string(status.message()));
    if (is_null) {
      duckdb_validity_set_row_invalid(out_validity, row);
    } else {
      duckdb_vector_assign_string_element_len(output, row, buffer.data(), buffer.size());
    }
  }
}

absl::Status RegisterColumnFunction(duckdb_connection connection, const std::string& name,
                                    ColumnJob* job) {
  duckdb_scalar_function function = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(function, name.c_str());
  dk::DuckLogicalType varchar;
  *varchar.out() = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  dk::DuckLogicalType boolean;
  *boolean.out() = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
  duckdb_scalar_function_add_parameter(function, varchar.get());
  duckdb_scalar_function_set_return_type(function, job->check_only ? boolean.get() : varchar.get());
  duckdb_scalar_function_set_function(function, RunColumn);
  duckdb_scalar_function_set_extra_info(function, job, nullptr);
  // NULLs reach the function (sealed or randomised unless nulls are preserved); random nonces make
  // it volatile, so DuckDB never folds or deduplicates calls.
  duckdb_scalar_function_set_special_handling(function);
  duckdb_scalar_function_set_volatile(function);
  duckdb_state state = duckdb_register_scalar_function(connection, function);
  duckdb_destroy_scalar_function(&function);
  if (state != DuckDBSuccess) return absl::InternalError("cannot register a column function");
  return absl::OkStatus();
}

struct Column {
  std::string name;
  std::string type;
};

absl::StatusOr<std::vector<Column>> DescribeSource(duckdb_connection connection,
                                                   const std::string& source,
                                                   const std::string& path) {
  dk::DuckResult result;
  if (duckdb_query(connection, absl::StrCat("DESCRIBE SELECT * FROM ", source).c_str(),
                   result.out()) != DuckDBSuccess) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' cannot be read as ",
                                                   EndsWith(path, ".csv") ? "CSV" : "Parquet",
                                                   " with a header"));
  }
  std::vector<Column> columns;
  for (idx_t row = 0; row < duckdb_row_count(&result.get()); ++row) {
    dk::DuckString name(duckdb_value_varchar(&result.get(), 0, row));
    dk::DuckString type(duckdb_value_varchar(&result.get(), 1, row));
    columns.push_back({name.get(), type.get()});
  }
  return columns;
}

// Runs `sql` (a COPY) while a helper thread reports DuckDB's progress.
absl::StatusOr<int64_t> RunWithProgress(duckdb_connection connection, const std::string& sql,
                                        const std::function<void(double)>& progress) {
  std::mutex mutex;
  std::condition_variable done_signal;
  bool done = false;
  std::thread reporter;
  if (progress) {
    reporter = std::thread([&] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!done_signal.wait_for(lock, std::chrono::milliseconds(200), [&] { return done; })) {
        duckdb_query_progress_type state = duckdb_query_progress(connection);
        if (state.percentage >= 0) progress(state.percentage / 100.0);
      }
    });
  }
  dk::DuckResult result;
  duckdb_state state = duckdb_query(connection, sql.c_str(), result.out());
  if (reporter.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    done_signal.notify_all();
    reporter.join();
    if (state == DuckDBSuccess) progress(1.0);
  }
  if (state != DuckDBSuccess) {
    dk::ErrorClass error = dk::ClassifyError(duckdb_result_error_type(&result.get()));
    return absl::Status(error.code, error.name);
  }
  return static_cast<int64_t>(duckdb_rows_changed(&result.get()));
}

// The 1-based data row of the first cell `job` refuses, found by a second, single-threaded pass
// (the parallel pass stops at the first failure without knowing its row).
std::optional<int64_t> FirstBadRow(duckdb_connection connection, const std::string& source,
                                   const Column& column, ColumnJob& job, const std::string& name) {
  job.check_only = true;
  if (!RegisterColumnFunction(connection, name, &job).ok()) return std::nullopt;
  dk::ExecuteStatement(connection, "SET threads = 1", "settings").IgnoreError();
  dk::DuckResult result;
  std::string sql =
      absl::StrCat("SELECT n FROM (SELECT row_number() OVER () AS n, ", name, "(CAST(",
                   dk::QuoteIdentifier(column.name), " AS VARCHAR)) AS ok FROM ", source,
                   ") WHERE NOT ok ORDER BY n LIMIT 1");
  if (duckdb_query(connection, sql.c_str(), result.out()) != DuckDBSuccess ||
      duckdb_row_count(&result.get()) == 0) {
    return std::nullopt;
  }
  return duckdb_value_int64(&result.get(), 0, 0);
}

std::string TemporaryPath(const std::string& output) {
  size_t slash = output.rfind('/');
  std::string folder = slash == std::string::npos ? "" : output.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? output : output.substr(slash + 1);
  std::string extension = name.substr(name.rfind('.'));
  return absl::StrCat(folder, ".", name, ".parley-", getpid(), extension);
}

// Names the finished temporary `output`: atomically, and without replacing a file that appeared
// meanwhile unless `replace`.
absl::Status Publish(const std::string& temporary, const std::string& output, bool replace) {
  int fd = open(temporary.c_str(), O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  if (replace) {
    if (rename(temporary.c_str(), output.c_str()) != 0) {
      unlink(temporary.c_str());
      return absl::PermissionDeniedError(absl::StrCat("cannot write '", output, "'"));
    }
    return absl::OkStatus();
  }
  int linked = link(temporary.c_str(), output.c_str());
  unlink(temporary.c_str());
  if (linked != 0) {
    return errno == EEXIST
               ? absl::AlreadyExistsError(
                     absl::StrCat("'", output, "' exists; use --force to replace it"))
               : absl::PermissionDeniedError(absl::StrCat("cannot write '", output, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckFiles(const CryptoFileOptions& options) {
  if (access(options.input.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("input file '", options.input, "' cannot be read"));
  }
  if (!options.replace && access(options.output.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("'", options.output, "' exists; use --force to replace it"));
  }
  return absl::OkStatus();
}

struct Session {
  dk::InMemoryDatabase database;
  std::string source;
  std::vector<Column> columns;
};

absl::StatusOr<Session> OpenSession(const CryptoFileOptions& options) {
  PARLEY_RETURN_IF_ERROR(CheckFiles(options));
  PARLEY_ASSIGN_OR_RETURN(std::string source, SourceSql(options.input));
  PARLEY_RETURN_IF_ERROR(CopyFormat(options.output).status());
  dk::DatabaseOptions database_options;
  database_options.memory_limit = options.memory_limit;
  database_options.threads = options.threads;
  PARLEY_ASSIGN_OR_RETURN(dk::InMemoryDatabase database,
                          dk::OpenInMemoryDatabase(database_options));
  PARLEY_ASSIGN_OR_RETURN(std::vector<Column> columns,
                          DescribeSource(database.connection.get(), source, options.input));
  return Session{std::move(database), std::move(source), std::move(columns)};
}

// The COPY of `select_list` from the session's source to a temporary, then published.
absl::StatusOr<int64_t> WriteOutput(Session& session, const CryptoFileOptions& options,
                                    const std::vector<std::string>& select_list,
                                    std::vector<std::unique_ptr<ColumnJob>>& jobs,
                                    const std::vector<size_t>& job_columns,
                                    const std::string& verb) {
  std::string temporary = TemporaryPath(options.output);
  std::string list;
  for (const std::string& item : select_list)
    absl::StrAppend(&list, list.empty() ? "" : ", ", item);
  std::string sql =
      absl::StrCat("COPY (SELECT ", list, " FROM ", session.source, ") TO ",
                   dk::QuoteString(temporary), " (", *CopyFormat(options.output), ")");
  duckdb_connection connection = session.database.connection.get();
  absl::StatusOr<int64_t> rows = RunWithProgress(connection, sql, options.progress);
  if (rows.ok()) {
    PARLEY_RETURN_IF_ERROR(Publish(temporary, options.output, options.replace));
    return rows;
  }
  unlink(temporary.c_str());
  for (size_t i = 0; i < jobs.size(); ++i) {
    ColumnJob& job = *jobs[i];
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(job.mutex);
      reason = job.error;
    }
    if (reason.empty()) continue;
    std::optional<int64_t> row =
        FirstBadRow(connection, session.source, session.columns[job_columns[i]], job,
                    absl::StrCat("parley_check_", i));
    return absl::InvalidArgumentError(
        absl::StrCat("cannot ", verb, " '", options.input, "': column '", job.name, "'",
                     row.has_value() ? absl::StrCat(", row ", *row) : std::string(), ": ", reason));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot ", verb, " '", options.input, "': ", rows.status().message()));
}

}  // namespace

absl::Status WriteNewSecret(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("'", path, "' exists; a secret is never replaced (remove it first)"));
    }
    return absl::PermissionDeniedError(absl::StrCat("cannot create '", path, "'"));
  }
  crypto::SecretKey secret = crypto::SecretKey::Random();
  std::string text = std::string(kSecretHeader) + crypto::Base64UrlEncode(secret.view()) + "\n";
  bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written &= fsync(fd) == 0;
  close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!written) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CryptoFileSummary> EncryptFile(const EncryptOptions& options) {
  PARLEY_ASSIGN_OR_RETURN(crypto::SecretKey secret, ReadSecret(options.secret_path));
  PARLEY_ASSIGN_OR_RETURN(EncryptionSpec spec, ReadSpec(options.spec_path));
  PARLEY_ASSIGN_OR_RETURN(crypto::KeyRing ring,
                          crypto::KeyRing::Create(secret, options.collaboration, spec.settings));
  PARLEY_ASSIGN_OR_RETURN(Session session, OpenSession(options));
  std::set<std::string> seen;
  for (const Column& column : session.columns) {
    std::string key = absl::AsciiStrToLower(column.name);
    if (!spec.columns.count(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", column.name, "' of '", options.input,
                       "' is not in the spec: say its kind (fingerprint, sealed or cleartext)"));
    }
    seen.insert(key);
  }
  for (const auto& [name, column] : spec.columns) {
    if (!seen.count(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the spec names column '", name, "', which '", options.input, "' lacks"));
    }
  }
  CryptoFileSummary summary;
  std::vector<std::string> select;
  std::vector<std::unique_ptr<ColumnJob>> jobs;
  std::vector<size_t> job_columns;
  for (size_t i = 0; i < session.columns.size(); ++i) {
    const Column& column = session.columns[i];
    const ColumnEncryption& column_spec = spec.columns.at(absl::AsciiStrToLower(column.name));
    std::string quoted = dk::QuoteIdentifier(column.name);
    summary.columns.emplace_back(column.name,
                                 std::string(crypto::ColumnKindName(column_spec.kind)));
    if (column_spec.kind == ColumnKind::kCleartext) {
      select.push_back(quoted);
      continue;
    }
    if (column_spec.kind == ColumnKind::kFingerprint &&
        (absl::StartsWith(column.type, "FLOAT") || absl::StartsWith(column.type, "DOUBLE"))) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", column.name,
                       "' is floating point: equality on it is not reliable, so it "
                       "cannot be a fingerprint"));
    }
    auto job = std::make_unique<ColumnJob>();
    job->name = column.name;
    job->kind = column_spec.kind;
    job->ring = &ring;
    job->table = spec.table;
    job->pad_to = column_spec.pad_to;
    if (column_spec.kind == ColumnKind::kFingerprint) {
      PARLEY_ASSIGN_OR_RETURN(crypto::FingerprintEncoder encoder,
                              crypto::FingerprintEncoder::Create(
                                  ring, column.name, column_spec.type, column_spec.normalisation));
      job->fingerprint.emplace(std::move(encoder));
    } else {
      // Fails early for a table or column name the key derivation refuses.
      PARLEY_RETURN_IF_ERROR(ring.SealingKey(spec.table, column.name).status());
    }
    std::string function = absl::StrCat("parley_encrypt_", jobs.size());
    PARLEY_RETURN_IF_ERROR(
        RegisterColumnFunction(session.database.connection.get(), function, job.get()));
    select.push_back(absl::StrCat(function, "(CAST(", quoted, " AS VARCHAR)) AS ", quoted));
    jobs.push_back(std::move(job));
    job_columns.push_back(i);
  }
  PARLEY_ASSIGN_OR_RETURN(summary.rows,
                          WriteOutput(session, options, select, jobs, job_columns, "encrypt"));
  return summary;
}

absl::StatusOr<CryptoFileSummary> DecryptFile(const DecryptOptions& options) {
  PARLEY_ASSIGN_OR_RETURN(crypto::SecretKey secret, ReadSecret(options.secret_path));
  // Sealing keys do not depend on the settings; the opener accepts the key id of any of them.
  PARLEY_ASSIGN_OR_RETURN(crypto::KeyRing ring,
                          crypto::KeyRing::Create(secret, options.collaboration, {}));
  PARLEY_ASSIGN_OR_RETURN(Session session, OpenSession(options));
  std::map<std::string, std::pair<std::string, std::string>> sources;  // output -> table.column
  for (const std::string& mapping : options.columns) {
    size_t equals = mapping.find('=');
    std::string out = mapping.substr(0, equals);
    std::string from = equals == std::string::npos ? "" : mapping.substr(equals + 1);
    size_t dot = from.find('.');
    std::string table = dot == std::string::npos ? options.table : from.substr(0, dot);
    std::string column = dot == std::string::npos ? from : from.substr(dot + 1);
    if (out.empty() || column.empty() || table.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--column '", mapping, "': write OUT=TABLE.COLUMN (or OUT=COLUMN with --table)"));
    }
    sources[absl::AsciiStrToLower(out)] = {table, column};
  }
  // Which columns hold sealed cells: one pass counting them per text column.
  std::vector<size_t> text_columns;
  std::string counts;
  for (size_t i = 0; i < session.columns.size(); ++i) {
    if (session.columns[i].type != "VARCHAR") continue;
    text_columns.push_back(i);
    absl::StrAppend(&counts, counts.empty() ? "" : ", ", "count(*) FILTER (WHERE starts_with(",
                    dk::QuoteIdentifier(session.columns[i].name), ", 'ps1.'))");
  }
  std::set<size_t> sealed;
  if (!counts.empty()) {
    dk::DuckResult result;
    if (duckdb_query(session.database.connection.get(),
                     absl::StrCat("SELECT ", counts, " FROM ", session.source).c_str(),
                     result.out()) != DuckDBSuccess) {
      return absl::InvalidArgumentError(absl::StrCat("'", options.input, "' cannot be read"));
    }
    for (size_t k = 0; k < text_columns.size(); ++k) {
      if (duckdb_value_int64(&result.get(), k, 0) > 0) sealed.insert(text_columns[k]);
    }
  }
  for (const auto& [out, from] : sources) {
    bool found = false;
    for (const Column& column : session.columns) found |= absl::AsciiStrToLower(column.name) == out;
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("--column names '", out, "', which '", options.input, "' lacks"));
    }
  }
  std::vector<std::pair<std::string, std::string>> all_sources;
  for (size_t i : sealed) {
    const Column& column = session.columns[i];
    auto mapped = sources.find(absl::AsciiStrToLower(column.name));
    if (mapped == sources.end()) {
      if (options.table.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", column.name,
                         "' holds sealed cells: say which table it came from with "
                         "--table TABLE, or --column ",
                         column.name, "=TABLE.COLUMN"));
      }
      sources[absl::AsciiStrToLower(column.name)] = {options.table, column.name};
    }
    all_sources.push_back(sources[absl::AsciiStrToLower(column.name)]);
  }
  CryptoFileSummary summary;
  std::vector<std::string> select;
  std::vector<std::unique_ptr<ColumnJob>> jobs;
  std::vector<size_t> job_columns;
  for (size_t i = 0; i < session.columns.size(); ++i) {
    const Column& column = session.columns[i];
    std::string quoted = dk::QuoteIdentifier(column.name);
    auto mapped = sources.find(absl::AsciiStrToLower(column.name));
    if (mapped == sources.end() || (!sealed.count(i) && column.type != "VARCHAR")) {
      select.push_back(quoted);
      summary.columns.emplace_back(column.name, "unchanged");
      continue;
    }
    auto job = std::make_unique<ColumnJob>();
    job->name = column.name;
    job->open = true;
    job->ring = &ring;
    job->source_table = mapped->second.first;
    job->source_column = mapped->second.second;
    for (const auto& other : all_sources) {
      if (other != mapped->second) job->other_sources.push_back(other);
    }
    PARLEY_RETURN_IF_ERROR(ring.SealingKey(job->source_table, job->source_column).status());
    std::string function = absl::StrCat("parley_decrypt_", jobs.size());
    PARLEY_RETURN_IF_ERROR(
        RegisterColumnFunction(session.database.connection.get(), function, job.get()));
    select.push_back(absl::StrCat(function, "(", quoted, ") AS ", quoted));
    summary.columns.emplace_back(
        column.name, absl::StrCat("opened from ", job->source_table, ".", job->source_column));
    jobs.push_back(std::move(job));
    job_columns.push_back(i);
  }
  PARLEY_ASSIGN_OR_RETURN(summary.rows,
                          WriteOutput(session, options, select, jobs, job_columns, "decrypt"));
  return summary;
}

}  // namespace parley::api
