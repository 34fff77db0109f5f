#include "api/encryption_spec.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace parley::api {
namespace {

using crypto::ColumnKind;

absl::Status KnownKeys(const nlohmann::json& object, std::set<std::string> keys,
                       const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (!keys.count(key)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", key, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EncryptionSpec> ReadSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("spec file '", path, "' cannot be read"));
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  std::string where = absl::StrCat("spec '", path, "'");
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not a JSON object"));
  }
  PARLEY_RETURN_IF_ERROR(KnownKeys(json, {"table", "settings", "columns"}, where));
  EncryptionSpec spec;
  if (!json.contains("table") || !json["table"].is_string() ||
      json["table"].get<std::string>().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"table\" names the table the file will be registered as"));
  }
  spec.table = json["table"].get<std::string>();
  if (json.contains("settings")) {
    const nlohmann::json& settings = json["settings"];
    if (!settings.is_object()) return absl::InvalidArgumentError(where + ": settings is an object");
    PARLEY_RETURN_IF_ERROR(
        KnownKeys(settings,
                  {"preserve_nulls", "allow_joins_on_columns_with_different_names",
                   "allow_cleartext", "allow_duplicates"},
                  where + ", settings"));
    for (const auto& [key, value] : settings.items()) {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": settings.", key, " is true or false"));
      }
    }
    spec.settings.preserve_nulls = settings.value("preserve_nulls", false);
    spec.settings.allow_joins_on_columns_with_different_names =
        settings.value("allow_joins_on_columns_with_different_names", false);
  }
  if (!json.contains("columns") || !json["columns"].is_object() || json["columns"].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"columns\" maps every column of the file to its kind"));
  }
  for (const auto& [name, entry] : json["columns"].items()) {
    std::string at = absl::StrCat(where, ", column '", name, "'");
    if (!entry.is_object()) return absl::InvalidArgumentError(at + ": an object with a kind");
    PARLEY_RETURN_IF_ERROR(KnownKeys(entry, {"kind", "type", "normalise", "pad_to"}, at));
    ColumnEncryption column;
    if (!entry.contains("kind") || !entry["kind"].is_string()) {
      return absl::InvalidArgumentError(at + ": \"kind\" is fingerprint, sealed or cleartext");
    }
    absl::StatusOr<ColumnKind> kind = crypto::ParseColumnKind(entry["kind"].get<std::string>());
    if (!kind.ok())
      return absl::InvalidArgumentError(absl::StrCat(at, ": ", kind.status().message()));
    column.kind = *kind;
    if (entry.contains("type") || entry.contains("normalise")) {
      if (column.kind != ColumnKind::kFingerprint) {
        return absl::InvalidArgumentError(at + ": type and normalise are for fingerprint columns");
      }
    }
    if (entry.contains("pad_to") && column.kind != ColumnKind::kSealed) {
      return absl::InvalidArgumentError(at + ": pad_to is for sealed columns");
    }
    if (entry.contains("type")) {
      absl::StatusOr<crypto::ValueType> type =
          entry["type"].is_string() ? crypto::ParseValueType(entry["type"].get<std::string>())
                                    : absl::InvalidArgumentError("a value type is a string");
      if (!type.ok())
        return absl::InvalidArgumentError(absl::StrCat(at, ": ", type.status().message()));
      column.type = *type;
    }
    if (entry.contains("normalise")) {
      absl::StatusOr<crypto::Normalisation> normalisation =
          entry["normalise"].is_string()
              ? crypto::ParseNormalisation(entry["normalise"].get<std::string>())
              : absl::InvalidArgumentError("normalise is a string");
      if (!normalisation.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": ", normalisation.status().message()));
      }
      if (column.type != crypto::ValueType::kString &&
          normalisation->kind != crypto::NormalisationKind::kNone) {
        return absl::InvalidArgumentError(at + ": normalise applies to string columns");
      }
      column.normalisation = *normalisation;
    }
    if (entry.contains("pad_to")) {
      if (!entry["pad_to"].is_number_integer() || entry["pad_to"].get<int64_t>() < 1 ||
          entry["pad_to"].get<int64_t>() > 65535) {
        return absl::InvalidArgumentError(at + ": pad_to is a number of bytes from 1 to 65535");
      }
      column.pad_to = entry["pad_to"].get<size_t>();
    }
    if (!spec.columns.emplace(absl::AsciiStrToLower(name), column).second) {
      return absl::InvalidArgumentError(at + ": listed twice");
    }
  }
  return spec;
}

}  // namespace parley::api
