// The OpenAPI 3.1 document of the API, built from the endpoint list (api/routes.h) and each
// request's and response's field list (their Visit), so it cannot describe a field or a route the
// code does not have. docs/openapi.json is this document; a test checks the file against it and
// against the routes a running server answers.
//
//   std::cout << api::Dump(api::OpenApiDocument(), 2);
//
// Thread safety: a pure function.
#pragma once

#include <nlohmann/json.hpp>

namespace parley::api {

nlohmann::json OpenApiDocument();

}  // namespace parley::api
