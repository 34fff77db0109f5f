#include "api/client_side.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/codec.h"
#include "base/status.h"
#include "crypto/sha256.h"
#include "results/sealed.h"

namespace parley::api {

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the file '", path, "'"));
  crypto::Sha256Stream digest;
  std::string buffer(1 << 16, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) digest.Update(std::string_view(buffer.data(), in.gcount()));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read the file '", path, "'"));
  return digest.HexDigest();
}

absl::StatusOr<std::pair<std::string, std::string>> NewResultKeyPair() {
  PARLEY_ASSIGN_OR_RETURN(results::KeyPair pair, results::NewKeyPair());
  return std::make_pair(pair.public_key, pair.private_key);
}

bool IsResultKey(const std::string& text) { return results::IsKeyHex(text); }

absl::StatusOr<std::string> OpenSealedBytes(const std::string& sealed_base64,
                                            const std::string& public_key,
                                            const std::string& private_key,
                                            const std::string& expected_sha256) {
  std::string sealed;
  if (!absl::Base64Unescape(sealed_base64, &sealed)) {
    return absl::DataLossError("the sealed result is not valid base64");
  }
  results::KeyPair keys;
  keys.public_key = public_key;
  keys.private_key = private_key;
  PARLEY_ASSIGN_OR_RETURN(std::string content, results::Open(sealed, keys));
  if (!expected_sha256.empty() && crypto::Sha256Hex(content) != expected_sha256) {
    return absl::DataLossError("the opened content does not match its sha256");
  }
  return content;
}

absl::StatusOr<Result> OpenSealedResult(const std::string& sealed_base64,
                                        const std::string& public_key,
                                        const std::string& private_key) {
  PARLEY_ASSIGN_OR_RETURN(std::string content,
                          OpenSealedBytes(sealed_base64, public_key, private_key));
  // Authenticated, so written by the server that sealed it; still decoded strictly.
  absl::StatusOr<nlohmann::json> json = ParseJson(content);
  if (!json.ok()) return absl::DataLossError("the opened result is not a result document");
  absl::StatusOr<Result> result = FromJson<Result>(*json);
  if (!result.ok()) return absl::DataLossError("the opened result is not a result document");
  return result;
}

namespace {

std::string EntryHash(const std::string& prev_hash, const AuditEntry& entry,
                      const std::string& collaboration, bool with_state) {
  nlohmann::json document = {
      {"seq", entry.seq},     {"time", entry.time},     {"collaboration", collaboration},
      {"actor", entry.actor}, {"action", entry.action}, {"details", entry.details}};
  if (with_state) document["state"] = entry.state_sha256;
  return crypto::Sha256Hex(absl::StrCat(
      prev_hash, "\n", document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

}  // namespace

ClientAuditCheck CheckAuditChain(const ListAuditResponse& listed,
                                 const std::map<int64_t, std::string>& seen) {
  ClientAuditCheck check;
  check.entries = static_cast<int64_t>(listed.entries.size());
  std::string prev(64, '0');
  int64_t expected_seq = 1;
  for (const AuditEntry& entry : listed.entries) {
    if (entry.seq != expected_seq) {
      check.ok = false;
      check.problem = absl::StrCat("entry ", expected_seq, " is missing from the list (got entry ",
                                   entry.seq, " in its place)");
      return check;
    }
    if (entry.prev_hash != prev) {
      check.ok = false;
      check.problem = absl::StrCat("entry ", entry.seq, " does not link to entry ", entry.seq - 1);
      return check;
    }
    // Entries of catalogs older than schema version 3 were hashed without a state; later ones
    // with it ("" for entries that record none).
    if (EntryHash(prev, entry, listed.collaboration, true) != entry.hash &&
        (!entry.state_sha256.empty() ||
         EntryHash(prev, entry, listed.collaboration, false) != entry.hash)) {
      check.ok = false;
      check.problem =
          absl::StrCat("entry ", entry.seq, " does not hash to the hash listed with it");
      return check;
    }
    prev = entry.hash;
    ++expected_seq;
  }
  check.head = listed.entries.empty() ? "" : listed.entries.back().hash;
  for (const auto& [seq, hash] : seen) {
    if (seq > check.entries) {
      check.ok = false;
      check.problem = absl::StrCat("the log was cut back: it has ", check.entries,
                                   " entries, and entry ", seq, " was shown before");
      return check;
    }
    if (listed.entries[static_cast<size_t>(seq - 1)].hash != hash) {
      check.ok = false;
      check.problem = absl::StrCat("history was rewritten: entry ", seq,
                                   " is not the entry shown before (its hash changed)");
      return check;
    }
    ++check.seen_before;
  }
  return check;
}

}  // namespace parley::api
