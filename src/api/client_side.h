// What a client does on its own machine with what a server cannot be trusted with: key pairs for
// sealed results and opening them (docs/formats/sealed-results.md), and re-checking a
// collaboration's audit chain against the hashes it saw before (docs/audit.md, "Verifying
// through a server"). The CLI calls these; nothing here talks to a server.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "api/types.h"

namespace parley::api {

// The SHA-256 (lowercase hex) of the file at `path`, read in pieces; NotFound when unreadable.
absl::StatusOr<std::string> FileSha256(const std::string& path);

// A fresh X25519 key pair: {public key, private key}, each 64 hex digits.
absl::StatusOr<std::pair<std::string, std::string>> NewResultKeyPair();
// Whether `text` is a key as NewResultKeyPair writes it.
bool IsResultKey(const std::string& text);

// The result sealed in `sealed_base64`, opened with the receiver's key pair. DataLoss for
// altered, truncated or undecodable bytes; PermissionDenied when it was not sealed to this key.
absl::StatusOr<Result> OpenSealedResult(const std::string& sealed_base64,
                                        const std::string& public_key,
                                        const std::string& private_key);

// The bytes sealed in `sealed_base64` (a job's output), opened with the receiver's key pair;
// errors as OpenSealedResult. With `expected_sha256` (hex), DataLoss when the opened bytes do not
// hash to it.
absl::StatusOr<std::string> OpenSealedBytes(const std::string& sealed_base64,
                                            const std::string& public_key,
                                            const std::string& private_key,
                                            const std::string& expected_sha256 = "");

// A client's own verification of a collaboration's chain as a server listed it.
struct ClientAuditCheck {
  bool ok = true;
  std::string problem;      // when !ok: what is wrong, with the entry number
  int64_t entries = 0;      // entries listed
  int64_t seen_before = 0;  // entries the client had seen before (and found unchanged)
  std::string head;         // the hash of the last entry listed ("" for none)
};
// Recomputes every entry's hash from its fields and its link to the previous one, then compares
// with `seen` (seq -> hash, from earlier verifications): an entry seen before that is missing
// (the log was cut back) or has another hash (history was rewritten) is a problem naming it.
ClientAuditCheck CheckAuditChain(const ListAuditResponse& listed,
                                 const std::map<int64_t, std::string>& seen);

}  // namespace parley::api
