#include "api/routes.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/codec.h"
#include "base/status.h"

namespace parley::api {
namespace {

// absl::StrSplit takes absl::string_view, which is not std::string_view in this build.
std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

// Parameters whose request field is an integer.
bool IsIntegerParameter(std::string_view name) {
  return name == "query_id" || name == "change_id" || name == "webhook_id" || name == "run_id";
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

bool Route::HasBody() const {
  return std::strcmp(method, "POST") == 0 || std::strcmp(method, "PUT") == 0;
}

bool Route::Streamed() const { return std::strcmp(operation, "Upload") == 0; }

std::vector<std::string> QueryParameters(const Route& route) {
  if (std::strcmp(route.operation, "ListAudit") == 0) return {"after", "before", "limit"};
  return {};
}

std::vector<std::string> PathParameters(std::string_view pattern) {
  std::vector<std::string> names;
  for (std::string_view segment : Split(pattern)) {
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      names.emplace_back(segment.substr(1, segment.size() - 2));
    }
  }
  return names;
}

absl::StatusOr<std::string> FillPath(const Route& route, nlohmann::json& fields) {
  std::string path;
  for (std::string_view segment : Split(route.path)) {
    if (segment.empty()) continue;
    path += '/';
    if (segment.front() != '{') {
      path += segment;
      continue;
    }
    std::string name(segment.substr(1, segment.size() - 2));
    auto it = fields.find(name);
    if (it == fields.end())
      return absl::InvalidArgumentError(absl::StrCat("$.", name, ": missing"));
    if (it->is_string()) {
      std::string value = it->get<std::string>();
      if (value.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("$.", name, ": must not be empty"));
      }
      path += PercentEncode(value);
    } else if (it->is_number_integer()) {
      path += std::to_string(it->get<int64_t>());
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("$.", name, ": expected a string, got ", it->type_name()));
    }
    fields.erase(it);
  }
  if (route.HasBody()) return path;
  char separator = '?';
  for (const std::string& name : QueryParameters(route)) {
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    if (!it->is_null()) {
      if (!it->is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat("$.", name, ": expected an integer, got ", it->type_name()));
      }
      absl::StrAppend(&path, std::string(1, separator), name, "=", it->get<int64_t>());
      separator = '&';
    }
    fields.erase(it);
  }
  if (!fields.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("$.", fields.begin().key(), ": cannot be sent with ", route.method));
  }
  return path;
}

std::optional<std::map<std::string, std::string>> MatchPath(std::string_view pattern,
                                                            std::string_view path) {
  std::vector<std::string_view> want = Split(pattern);
  std::vector<std::string_view> got = Split(path);
  if (want.size() != got.size()) return std::nullopt;
  std::map<std::string, std::string> parameters;
  for (size_t i = 0; i < want.size(); ++i) {
    std::string_view w = want[i];
    if (w.size() > 2 && w.front() == '{' && w.back() == '}') {
      if (got[i].empty()) return std::nullopt;
      parameters[std::string(w.substr(1, w.size() - 2))] = std::string(got[i]);
    } else if (w != got[i]) {
      return std::nullopt;
    }
  }
  return parameters;
}

absl::StatusOr<nlohmann::json> RequestJson(const Route& route,
                                           const std::map<std::string, std::string>& parameters,
                                           std::string_view body,
                                           const std::multimap<std::string, std::string>& query) {
  nlohmann::json fields = nlohmann::json::object();
  if (route.HasBody()) {
    std::string_view trimmed = body;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n' ||
                                trimmed.front() == '\r' || trimmed.front() == '\t')) {
      trimmed.remove_prefix(1);
    }
    // An empty body is an empty request: `POST .../leave` needs nothing more than its path.
    if (!trimmed.empty()) {
      PARLEY_ASSIGN_OR_RETURN(fields, ParseJson(body));
      if (!fields.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("$: expected an object, got ", codec_internal::TypeName(fields)));
      }
    }
  } else if (!body.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("$: a ", route.method, " request has no body"));
  }
  for (const auto& [name, value] : parameters) {
    if (fields.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("$.", name, ": given in the path; leave it out of the body"));
    }
    if (IsIntegerParameter(name)) {
      int64_t number = 0;
      if (!absl::SimpleAtoi(value, &number)) {
        return absl::InvalidArgumentError(absl::StrCat("$.", name, ": expected an integer"));
      }
      fields[name] = number;
    } else {
      fields[name] = value;
    }
  }
  std::vector<std::string> known = QueryParameters(route);
  for (const auto& [name, value] : query) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      // The name is echoed only when it looks like one (it is the client's text).
      bool plain = !name.empty() && name.size() <= 40 &&
                   std::all_of(name.begin(), name.end(), [](unsigned char c) {
                     return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                   });
      return absl::InvalidArgumentError(absl::StrCat(
          plain ? absl::StrCat("query parameter '", name, "'") : "a query parameter", ": ",
          route.method, " ", route.path,
          known.empty() ? " takes none" : absl::StrCat(" takes ", absl::StrJoin(known, ", "))));
    }
    if (query.count(name) > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", name, "': given more than once"));
    }
    if (fields.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("$.", name, ": given in the query string; leave it out of the body"));
    }
    // Digits with an optional sign, nothing else (no spaces, no "+"): the service then checks
    // the range.
    int64_t number = 0;
    bool digits = !value.empty() && value.find_first_not_of(
                                        "0123456789", value[0] == '-' ? 1 : 0) == std::string::npos;
    if (!digits || value == "-" || !absl::SimpleAtoi(value, &number)) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter '", name, "': expected an integer"));
    }
    fields[name] = number;
  }
  return fields;
}

}  // namespace parley::api
