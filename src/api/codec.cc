#include "api/codec.h"

#include "absl/strings/str_cat.h"
#include "api/http_status.h"

namespace parley::api {

std::string Dump(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ErrorJson(const absl::Status& status) {
  return {{"error", ToJson(Error{std::string(StatusCodeName(status.code())),
                                 std::string(status.message())})}};
}

absl::Status StatusFromErrorJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("error")) {
    return absl::InvalidArgumentError("$.error: missing");
  }
  Error error;
  absl::Status status = codec_internal::Decode(json["error"], "$.error", error);
  if (!status.ok()) return status;
  return absl::Status(StatusCodeFromName(error.code), error.message);
}

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    // The exception's text quotes the input near the error; report the offset only.
    return absl::InvalidArgumentError(absl::StrCat("$: not valid JSON (at byte ", error.byte, ")"));
  }
}

namespace codec_internal {

std::string TypeName(const nlohmann::json& json) {
  if (json.is_number_integer()) return "integer";
  if (json.is_number()) return "number";
  return json.type_name();
}

absl::Status Mismatch(const std::string& path, const char* expected, const nlohmann::json& json) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected ", expected, ", got ", TypeName(json)));
}

nlohmann::json Encode(const std::string& value) { return value; }
nlohmann::json Encode(bool value) { return value; }
nlohmann::json Encode(int64_t value) { return value; }
nlohmann::json Encode(const nlohmann::json& value) { return value; }

absl::Status Decode(const nlohmann::json& json, const std::string& path, std::string& value) {
  if (!json.is_string()) return Mismatch(path, "a string", json);
  value = json.get<std::string>();
  return absl::OkStatus();
}

absl::Status Decode(const nlohmann::json& json, const std::string& path, bool& value) {
  if (!json.is_boolean()) return Mismatch(path, "a boolean", json);
  value = json.get<bool>();
  return absl::OkStatus();
}

absl::Status Decode(const nlohmann::json& json, const std::string& path, int64_t& value) {
  if (json.is_number_unsigned()) {
    if (json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": integer out of range"));
    }
  } else if (!json.is_number_integer()) {
    return Mismatch(path, "an integer", json);
  }
  value = json.get<int64_t>();
  return absl::OkStatus();
}

absl::Status Decode(const nlohmann::json& json, const std::string& path, nlohmann::json& value) {
  if (!json.is_object()) return Mismatch(path, "an object", json);
  value = json;
  return absl::OkStatus();
}

absl::Status Decoder::Finish() const {
  if (!status_.ok()) return status_;
  for (const auto& [key, item] : in_.items()) {
    if (!known_.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ".", key, ": unknown field"));
    }
  }
  return absl::OkStatus();
}

}  // namespace codec_internal
}  // namespace parley::api
