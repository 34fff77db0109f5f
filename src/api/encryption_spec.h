// The encryption spec a member writes for `parley encrypt` (docs/formats/encrypted-columns.md):
// which table the file becomes and, for every column, its kind (fingerprint, sealed, cleartext),
// value type, normalisation and padding. Read and checked in full before a row is encrypted, so a
// mistake in the spec never leaves a half-written output.
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <map>
#include <string>

#include "base/status.h"
#include "crypto/column_cipher.h"

namespace parley::api {

struct ColumnEncryption {
  crypto::ColumnKind kind = crypto::ColumnKind::kCleartext;
  crypto::ValueType type = crypto::ValueType::kString;
  crypto::Normalisation normalisation;
  size_t pad_to = 64;
};

struct EncryptionSpec {
  std::string table;
  crypto::CellSettings settings;
  std::map<std::string, ColumnEncryption> columns;  // by lower-cased name
};

// Reads the spec at `path`. Errors name the spec file, the column and the key that is wrong,
// never a value of the file to encrypt (the spec holds none).
absl::StatusOr<EncryptionSpec> ReadSpec(const std::string& path);

}  // namespace parley::api
