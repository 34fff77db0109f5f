// Client-side encryption at registration: each allowed text column's kind is read from its cells,
// so the server verifies what a sidecar could only declare (docs/formats/encrypted-columns.md).
#include <map>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/duckdb/duckdb_api.h"
#include "engine/duckdb/session.h"
#include "service/service_impl.h"

namespace parley::service {
namespace {

// A cell's shape, as crypto/column_cipher.h writes it: prefix, 8-character secret id and key id,
// then the payload (43 characters for a fingerprint's HMAC).
constexpr char kFingerprintPattern[] =
    "^pf1\\.[A-Za-z0-9_-]{8}\\.[A-Za-z0-9_-]{8}\\.[A-Za-z0-9_-]{43}$";
constexpr char kSealedPattern[] = "^ps1\\.[A-Za-z0-9_-]{8}\\.[A-Za-z0-9_-]{8}\\.[A-Za-z0-9_-]+$";

int64_t Number(const std::optional<std::string>& cell) {
  return cell.has_value() ? std::stoll(*cell) : 0;
}

std::string Refusal(const catalog::Table& table, const std::string& column,
                    const std::string& reason) {
  return absl::StrCat("column '", column, "' of table '", table.name, "' ", reason);
}

}  // namespace

absl::Status internal::ClassifyColumns(const engine::SourceView& view,
                                       const catalog::Collaboration& collaboration,
                                       const std::vector<catalog::Table>& others,
                                       catalog::Table& table) {
  namespace dk = engine::duckdb;
  const catalog::EncryptionSettings& settings = collaboration.encryption;
  std::vector<catalog::Column*> text;
  std::vector<std::string> cleartext;  // allowed columns that cannot be encrypted (not text)
  for (const std::string& allowed : table.allowed_columns) {
    for (catalog::Column& column : table.source_schema) {
      if (column.name != allowed) continue;
      if (column.type == "VARCHAR") {
        text.push_back(&column);
      } else {
        cleartext.push_back(column.name);
      }
    }
  }
  // The key id that every encrypted column of the collaboration shares, from the tables already
  // registered (the first one found).
  std::string expected_key;
  std::string expected_from;
  for (const catalog::Table& other : others) {
    for (const catalog::Column& column : other.source_schema) {
      if (!column.kind.empty() && expected_key.empty()) {
        expected_key = column.key_id;
        expected_from = absl::StrCat(other.name, ".", column.name);
      }
    }
  }
  std::vector<std::string> kinds(text.size());
  if (!text.empty()) {
    std::string list = "count(*)";
    for (const catalog::Column* column : text) {
      std::string q = dk::QuoteIdentifier(column->name);
      std::string encrypted =
          absl::StrCat("(starts_with(", q, ", 'pf1.') OR starts_with(", q, ", 'ps1.'))");
      absl::StrAppend(&list, ", count(", q, "), count(*) FILTER (WHERE regexp_full_match(", q,
                      ", '", kFingerprintPattern, "')), count(*) FILTER (WHERE regexp_full_match(",
                      q, ", '", kSealedPattern, "')), count(DISTINCT CASE WHEN ", encrypted,
                      " THEN substr(", q, ", 5, 17) END), min(CASE WHEN ", encrypted,
                      " THEN substr(", q, ", 5, 17) END), count(DISTINCT ", q, ")");
    }
    engine::Limits limits;
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<dk::Session> session,
                            dk::Session::Open({view}, limits));
    PARLEY_ASSIGN_OR_RETURN(
        engine::ResultTable counts,
        session->Run(absl::StrCat("SELECT ", list, " FROM ", dk::QuoteIdentifier(view.name))));
    if (counts.rows.size() != 1) return absl::InternalError("counting a table's cells failed");
    const auto& row = counts.rows[0];
    int64_t rows = Number(row[0]);
    for (size_t i = 0; i < text.size(); ++i) {
      catalog::Column& column = *text[i];
      size_t at = 1 + i * 6;
      int64_t values = Number(row[at]), fingerprints = Number(row[at + 1]),
              sealed = Number(row[at + 2]), keys = Number(row[at + 3]),
              distinct = Number(row[at + 5]);
      column.kind.clear();
      column.key_id.clear();
      if (fingerprints == 0 && sealed == 0 && keys == 0) {
        cleartext.push_back(column.name);
        continue;
      }
      if (fingerprints != values && sealed != values) {
        return absl::InvalidArgumentError(Refusal(
            table, column.name,
            "mixes encrypted cells with other cells (or malformed ones): encrypt the whole column "
            "with `parley encrypt`"));
      }
      if (keys != 1) {
        return absl::InvalidArgumentError(Refusal(
            table, column.name, "holds cells encrypted with different secrets or collaborations"));
      }
      column.kind = fingerprints == values ? "fingerprint" : "sealed";
      column.key_id = *row[at + 4];
      if (values != rows && !settings.preserve_nulls) {
        return absl::InvalidArgumentError(Refusal(
            table, column.name,
            absl::StrCat("has NULLs, but collaboration '", collaboration.name,
                         "' does not preserve nulls: encrypt with \"preserve_nulls\": false in "
                         "the spec's settings")));
      }
      if (column.kind == "fingerprint" && distinct != values && !settings.allow_duplicates) {
        return absl::InvalidArgumentError(Refusal(
            table, column.name,
            absl::StrCat("is a fingerprint column with repeated values, and collaboration '",
                         collaboration.name, "' does not allow duplicates")));
      }
      if (expected_key.empty()) {
        expected_key = column.key_id;
        expected_from = absl::StrCat(table.name, ".", column.name);
      } else if (column.key_id != expected_key) {
        return absl::InvalidArgumentError(Refusal(
            table, column.name,
            absl::StrCat("was encrypted with another secret, collaboration id or settings than ",
                         expected_from,
                         ": every member encrypts with the collaboration's shared secret, its id "
                         "and its settings")));
      }
    }
  }
  if (!settings.allow_cleartext && !cleartext.empty()) {
    return absl::InvalidArgumentError(
        Refusal(table, cleartext.front(),
                absl::StrCat("is cleartext, and collaboration '", collaboration.name,
                             "' does not allow cleartext columns (allow_cleartext)")));
  }
  return absl::OkStatus();
}

}  // namespace parley::service
