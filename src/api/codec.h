// JSON codecs for every API type (api/types.h), generic over each type's `Visit` field list, so
// a field is named once and encoded and decoded the same way.
//
//   std::string body = api::Dump(api::ToJson(response));
//   PARLEY_ASSIGN_OR_RETURN(auto request, api::Parse<api::AddMemberRequest>(body));
//
// Decoding is strict and never throws: a body that is not JSON, a missing required field, a
// field of the wrong JSON type or an unknown field is InvalidArgument with a message naming the
// field by its JSON path ("$.members[1].abilities: expected an array, got string"). Messages name
// paths and JSON types only, never the values sent. Encoding cannot fail: strings that are not
// valid UTF-8 are dumped with U+FFFD in place of the bad bytes (see Dump).
// Thread safety: all functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/types.h"

namespace parley::api {

// The text of a JSON value: compact when `indent` < 0. Invalid UTF-8 is replaced, not thrown.
std::string Dump(const nlohmann::json& json, int indent = -1);

// {"error": {"code": "NOT_FOUND", "message": "..."}} for a failed status.
nlohmann::json ErrorJson(const absl::Status& status);
// The inverse of ErrorJson, for a client: the status the body describes, or InvalidArgument
// naming the problem when the body is not an error object (an unknown code becomes Unknown).
absl::Status StatusFromErrorJson(const nlohmann::json& json);

namespace codec_internal {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

std::string TypeName(const nlohmann::json& json);
absl::Status Mismatch(const std::string& path, const char* expected, const nlohmann::json& json);

nlohmann::json Encode(const std::string& value);
nlohmann::json Encode(bool value);
nlohmann::json Encode(int64_t value);
nlohmann::json Encode(const nlohmann::json& value);
template <class T>
nlohmann::json Encode(const std::vector<T>& values);
template <class T>
nlohmann::json Encode(const std::optional<T>& value);
template <class T>
nlohmann::json Encode(const std::map<std::string, T>& values);
template <class T>
nlohmann::json Encode(const T& value);

absl::Status Decode(const nlohmann::json& json, const std::string& path, std::string& value);
absl::Status Decode(const nlohmann::json& json, const std::string& path, bool& value);
absl::Status Decode(const nlohmann::json& json, const std::string& path, int64_t& value);
// Every JSON-valued field of the API (rules, audit details) is an object.
absl::Status Decode(const nlohmann::json& json, const std::string& path, nlohmann::json& value);
template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, std::vector<T>& values);
template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, std::optional<T>& value);
template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path,
                    std::map<std::string, T>& values);
template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, T& value);

class Encoder {
 public:
  explicit Encoder(nlohmann::json& out) : out_(out) {}
  template <class F>
  void Required(const char* name, const F& field) {
    out_[name] = Encode(field);
  }
  template <class F>
  void Optional(const char* name, const F& field) {
    if constexpr (IsOptional<F>::value) {
      if (field) out_[name] = Encode(*field);
    } else {
      out_[name] = Encode(field);
    }
  }

 private:
  nlohmann::json& out_;
};

class Decoder {
 public:
  Decoder(const nlohmann::json& in, const std::string& path) : in_(in), path_(path) {}
  template <class F>
  void Required(const char* name, F& field) {
    Field(name, field, /*required=*/true);
  }
  template <class F>
  void Optional(const char* name, F& field) {
    Field(name, field, /*required=*/false);
  }
  // After the visit: the first problem, or an unknown field.
  absl::Status Finish() const;

 private:
  template <class F>
  void Field(const char* name, F& field, bool required) {
    known_.insert(name);
    if (!status_.ok()) return;
    std::string path = absl::StrCat(path_, ".", name);
    auto it = in_.find(name);
    if (it == in_.end()) {
      if (required) status_ = absl::InvalidArgumentError(absl::StrCat(path, ": missing"));
      return;
    }
    status_ = Decode(*it, path, field);
  }

  const nlohmann::json& in_;
  std::string path_;
  std::set<std::string> known_;
  absl::Status status_;
};

template <class T>
nlohmann::json Encode(const std::vector<T>& values) {
  nlohmann::json array = nlohmann::json::array();
  for (const T& value : values) array.push_back(Encode(value));
  return array;
}

// Inside arrays (result cells): null for an absent value. Optional fields are omitted instead
// (Encoder::Optional).
template <class T>
nlohmann::json Encode(const std::optional<T>& value) {
  return value ? Encode(*value) : nlohmann::json(nullptr);
}

template <class T>
nlohmann::json Encode(const std::map<std::string, T>& values) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : values) object[key] = Encode(value);
  return object;
}

template <class T>
nlohmann::json Encode(const T& value) {
  nlohmann::json object = nlohmann::json::object();
  Encoder encoder(object);
  // Visit is shared with decoding and so not const; the encoder only reads the fields.
  const_cast<T&>(value).Visit(encoder);
  return object;
}

template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, std::vector<T>& values) {
  if (!json.is_array()) return Mismatch(path, "an array", json);
  values.clear();
  values.resize(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    absl::Status status = Decode(json[i], absl::StrCat(path, "[", i, "]"), values[i]);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, std::optional<T>& value) {
  if (json.is_null()) {
    value.reset();
    return absl::OkStatus();
  }
  T inner{};
  absl::Status status = Decode(json, path, inner);
  if (status.ok()) value = std::move(inner);
  return status;
}

template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path,
                    std::map<std::string, T>& values) {
  if (!json.is_object()) return Mismatch(path, "an object", json);
  values.clear();
  for (const auto& [key, item] : json.items()) {
    absl::Status status = Decode(item, absl::StrCat(path, ".", key), values[key]);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

template <class T>
absl::Status Decode(const nlohmann::json& json, const std::string& path, T& value) {
  if (!json.is_object()) return Mismatch(path, "an object", json);
  Decoder decoder(json, path);
  value.Visit(decoder);
  return decoder.Finish();
}

}  // namespace codec_internal

// The JSON object of an API value.
template <class T>
nlohmann::json ToJson(const T& value) {
  return codec_internal::Encode(value);
}

// An API value from its JSON object; InvalidArgument naming the JSON path of the first problem.
template <class T>
absl::StatusOr<T> FromJson(const nlohmann::json& json) {
  T value{};
  absl::Status status = codec_internal::Decode(json, "$", value);
  if (!status.ok()) return status;
  return value;
}

// Parses JSON text; InvalidArgument with the byte offset when it is not JSON.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text);

// An API value from JSON text (a request body, a response a client received).
template <class T>
absl::StatusOr<T> Parse(std::string_view text) {
  absl::StatusOr<nlohmann::json> json = ParseJson(text);
  if (!json.ok()) return json.status();
  return FromJson<T>(*json);
}

}  // namespace parley::api
