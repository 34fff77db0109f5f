// Client-side column encryption of files, for the CLI's `parley secret new`, `parley encrypt` and
// `parley decrypt` (docs/formats/encrypted-columns.md). It runs on a data owner's or a receiver's
// machine and talks to no server: a private DuckDB reads the CSV or Parquet input and writes the
// output, calling Parley's encoders as scalar functions, so the work streams in chunks with
// bounded memory on every core, and the output is written to a temporary in its folder and
// renamed only when complete.
//
// Errors name files, columns and rows, never values or key bytes.
// Thread safety: free functions without shared state; each call uses its own database.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parley::api {

// Writes a new random 256-bit secret to `path` (text: "parley-secret-v1 <base64url>"), created
// with mode 0600. AlreadyExists when the path exists (a secret is never replaced by accident).
absl::Status WriteNewSecret(const std::string& path);

struct CryptoFileOptions {
  std::string secret_path;
  std::string collaboration;
  std::string input;   // .csv or .parquet
  std::string output;  // .csv or .parquet
  bool replace = false;
  std::string memory_limit;  // empty: DuckDB's default
  int threads = 0;           // 0: every core
  // Called from a helper thread with the fraction done (0..1) while the file is processed.
  std::function<void(double)> progress;
};

struct EncryptOptions : CryptoFileOptions {
  std::string spec_path;  // the encryption spec (JSON)
};

struct DecryptOptions : CryptoFileOptions {
  // The table sealed columns came from when their output name is the source column's name.
  std::string table;
  // "OUT=TABLE.COLUMN" (or "OUT=COLUMN" with `table`): where a renamed output column came from.
  std::vector<std::string> columns;
};

struct CryptoFileSummary {
  int64_t rows = 0;
  // Per column of the output: its name and what was done ("fingerprint", "sealed", "cleartext",
  // "opened from TABLE.COLUMN").
  std::vector<std::pair<std::string, std::string>> columns;
};

absl::StatusOr<CryptoFileSummary> EncryptFile(const EncryptOptions& options);
absl::StatusOr<CryptoFileSummary> DecryptFile(const DecryptOptions& options);

}  // namespace parley::api
