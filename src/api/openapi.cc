#include "api/openapi.h"

#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "api/routes.h"
#include "api/server_types.h"
#include "api/types.h"

namespace parley::api {
namespace {

using Json = nlohmann::json;

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class T>
struct IsMap<std::map<std::string, T>> : std::true_type {};

template <class T>
Json SchemaOf();
template <class F>
Json FieldSchema();

// The schema of an object type from its Visit: properties, the required ones, nothing else.
class SchemaVisitor {
 public:
  template <class F>
  void Required(const char* name, F&) {
    properties_[name] = SchemaOf<F>();
    required_.push_back(name);
  }
  template <class F>
  void Optional(const char* name, F&) {
    properties_[name] = FieldSchema<F>();
  }
  Json Schema() const {
    Json schema = {{"type", "object"},
                   {"properties", properties_.empty() ? Json::object() : properties_},
                   {"additionalProperties", false}};
    if (!required_.empty()) schema["required"] = required_;
    return schema;
  }

 private:
  Json properties_ = Json::object();
  std::vector<std::string> required_;
};

template <class T>
Json SchemaOf() {
  if constexpr (std::is_same_v<T, std::string>) {
    return {{"type", "string"}};
  } else if constexpr (std::is_same_v<T, bool>) {
    return {{"type", "boolean"}};
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return {{"type", "integer"}, {"format", "int64"}};
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    return {{"type", "object"}};
  } else if constexpr (IsVector<T>::value) {
    return {{"type", "array"}, {"items", SchemaOf<typename T::value_type>()}};
  } else if constexpr (IsOptional<T>::value) {
    // An optional field is absent when it has no value; inside an array (a result cell) it is
    // null.
    Json inner = SchemaOf<typename T::value_type>();
    return {{"oneOf", Json::array({inner, {{"type", "null"}}})}};
  } else if constexpr (IsMap<T>::value) {
    return {{"type", "object"}, {"additionalProperties", SchemaOf<typename T::mapped_type>()}};
  } else {
    T value{};
    SchemaVisitor visitor;
    value.Visit(visitor);
    return visitor.Schema();
  }
}

// Optional fields' schemas are the inner type's: absence, not null, is how a field has no value.
template <class F>
Json FieldSchema() {
  if constexpr (IsOptional<F>::value) {
    return SchemaOf<typename F::value_type>();
  } else {
    return SchemaOf<F>();
  }
}

Json Parameter(const std::string& name) {
  Json schema = name == "query_id" || name == "change_id" || name == "webhook_id"
                    ? Json{{"type", "integer"}, {"format", "int64"}}
                    : Json{{"type", "string"}};
  return {{"name", name}, {"in", "path"}, {"required", true}, {"schema", schema}};
}

template <class Request, class Response>
void AddOperation(Json& paths, Json& schemas, const Endpoint<Request, Response>& endpoint) {
  const Route& route = endpoint.route;
  std::string request_name = std::string(route.operation) + "Request";
  std::string response_name = std::string(route.operation) + "Response";
  Json request_schema = SchemaOf<Request>();
  // Path parameters travel in the path, not the body.
  std::vector<std::string> parameters = PathParameters(route.path);
  for (const std::string& name : parameters) {
    request_schema["properties"].erase(name);
    if (request_schema.contains("required")) {
      Json required = Json::array();
      for (const Json& field : request_schema["required"]) {
        if (field != name) required.push_back(field);
      }
      if (required.empty()) {
        request_schema.erase("required");
      } else {
        request_schema["required"] = required;
      }
    }
  }
  Json operation = {{"operationId", route.operation},
                    {"responses",
                     {{"200",
                       {{"description", "the response"},
                        {"content",
                         {{"application/json",
                           {{"schema", {{"$ref", "#/components/schemas/" + response_name}}}}}}}}},
                      {"default",
                       {{"description", "an error (docs/api.md: code and HTTP status)"},
                        {"content",
                         {{"application/json",
                           {{"schema", {{"$ref", "#/components/schemas/ErrorResponse"}}}}}}}}}}}};
  if (!parameters.empty()) {
    operation["parameters"] = Json::array();
    for (const std::string& name : parameters) operation["parameters"].push_back(Parameter(name));
  }
  for (const std::string& name : QueryParameters(route)) {
    if (!operation.contains("parameters")) operation["parameters"] = Json::array();
    operation["parameters"].push_back({{"name", name},
                                       {"in", "query"},
                                       {"required", false},
                                       {"schema", {{"type", "integer"}, {"format", "int64"}}}});
  }
  if (route.Streamed()) {
    // The file's bytes are the body; its checksum and size are headers.
    operation["parameters"].push_back(
        {{"name", "X-Parley-Sha256"},
         {"in", "header"},
         {"required", true},
         {"schema", {{"type", "string"}, {"pattern", "^[0-9a-f]{64}$"}}}});
    operation["parameters"].push_back({{"name", "X-Parley-Upload-Bytes"},
                                       {"in", "header"},
                                       {"required", false},
                                       {"schema", {{"type", "integer"}, {"format", "int64"}}}});
    operation["requestBody"] = {
        {"required", true},
        {"content",
         {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
  } else if (route.HasBody()) {
    schemas[request_name] = request_schema;
    operation["requestBody"] = {
        {"required", false},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + request_name}}}}}}}};
  }
  schemas[response_name] = SchemaOf<Response>();
  if (!route.authenticated) operation["security"] = Json::array();
  paths[route.path][absl::AsciiStrToLower(route.method)] = operation;
}

struct ErrorBody {
  Error error;
  template <class V>
  void Visit(V& v) {
    v.Required("error", error);
  }
};

}  // namespace

nlohmann::json OpenApiDocument() {
  Json paths = Json::object();
  Json schemas = Json::object();
#define PARLEY_OPERATION(name, request, response, method, path) \
  AddOperation(paths, schemas, k##name);
  PARLEY_API_ENDPOINTS(PARLEY_OPERATION)
#undef PARLEY_OPERATION
  // The console's session routes: signing in takes the token in its body; the others need the
  // session cookie it sets.
#define PARLEY_SESSION_OPERATION(name, request, response, method, path, authenticated) \
  AddOperation(paths, schemas, k##name);                                               \
  if (authenticated) {                                                                 \
    paths[path][absl::AsciiStrToLower(method)]["security"] =                           \
        Json::array({{{"session", Json::array()}}});                                   \
  }
  PARLEY_SESSION_ENDPOINTS(PARLEY_SESSION_OPERATION)
#undef PARLEY_SESSION_OPERATION
  schemas["ErrorResponse"] = SchemaOf<ErrorBody>();
  return {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "Parley API"},
        {"version", "1"},
        {"description",
         "The API of a Parley server: every use case of a clean room as JSON over HTTP(S). "
         "Generated from src/api (routes.h and the request and response types); see "
         "docs/api.md for what responses carry and how errors map to statuses."}}},
      {"components",
       {{"schemas", schemas},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
          {"session",
           {{"type", "apiKey"},
            {"in", "cookie"},
            {"name", "parley_session"},
            {"description",
             "the console's session (POST /api/v1/session); every POST, PUT and DELETE made "
             "with it also carries the session's csrf_token in the X-Parley-CSRF header "
             "(docs/console.md)"}}}}}}},
      {"security", Json::array({{{"bearer", Json::array()}}, {{"session", Json::array()}}})},
      {"paths", paths},
  };
}

}  // namespace parley::api
