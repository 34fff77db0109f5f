#include "service/analysis_template.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"

namespace parley::service {
namespace {

using Json = nlohmann::json;

bool IsNameStart(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) {
  return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)) ||
         std::isupper(static_cast<unsigned char>(c));
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 63 || !IsNameStart(name[0])) return false;
  for (char c : name) {
    if (!(IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)))) return false;
  }
  return true;
}

absl::StatusOr<ParameterType> ParseType(std::string_view name) {
  if (name == "integer") return ParameterType::kInteger;
  if (name == "number") return ParameterType::kNumber;
  if (name == "text") return ParameterType::kText;
  if (name == "date") return ParameterType::kDate;
  if (name == "boolean") return ParameterType::kBoolean;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown parameter type '", std::string(name),
                   "' (one of integer, number, text, date, boolean)"));
}

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool ValidDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  if (!AllDigits(text.substr(0, 4)) || !AllDigits(text.substr(5, 2)) ||
      !AllDigits(text.substr(8, 2))) {
    return false;
  }
  int year = std::stoi(std::string(text.substr(0, 4)));
  int month = std::stoi(std::string(text.substr(5, 2)));
  int day = std::stoi(std::string(text.substr(8, 2)));
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// A number as SQL understands it: optional sign, digits, optional fraction and exponent.
bool ValidNumber(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    size_t exponent = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == text.size();
}

// The typed value, or nullopt when `text` is not of `type`.
std::optional<sql::ParameterValue> TypedValue(ParameterType type, const std::string& text) {
  sql::ParameterValue value;
  switch (type) {
    case ParameterType::kInteger: {
      std::string_view digits = text;
      if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
      if (!AllDigits(digits) || digits.size() > 18) return std::nullopt;
      value.constant = sql::Constant{sql::ConstantKind::kInteger, text};
      return value;
    }
    case ParameterType::kNumber:
      if (!ValidNumber(text)) return std::nullopt;
      value.constant = sql::Constant{sql::ConstantKind::kFloat, text};
      value.cast_type = sql::TypeKind::kDouble;
      return value;
    case ParameterType::kText:
      value.constant = sql::Constant{sql::ConstantKind::kString, text};
      return value;
    case ParameterType::kDate:
      if (!ValidDate(text)) return std::nullopt;
      value.constant = sql::Constant{sql::ConstantKind::kString, text};
      value.cast_type = sql::TypeKind::kDate;
      return value;
    case ParameterType::kBoolean:
      if (text != "true" && text != "false") return std::nullopt;
      value.constant = sql::Constant{sql::ConstantKind::kBoolean, text};
      return value;
  }
  return std::nullopt;
}

std::string ExpectedForm(ParameterType type) {
  switch (type) {
    case ParameterType::kInteger:
      return "an integer";
    case ParameterType::kNumber:
      return "a number";
    case ParameterType::kText:
      return "text";
    case ParameterType::kDate:
      return "a date (YYYY-MM-DD)";
    case ParameterType::kBoolean:
      return "true or false";
  }
  return "a value";
}

}  // namespace

std::string ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kInteger:
      return "integer";
    case ParameterType::kNumber:
      return "number";
    case ParameterType::kText:
      return "text";
    case ParameterType::kDate:
      return "date";
    case ParameterType::kBoolean:
      return "boolean";
  }
  return "text";
}

absl::StatusOr<TemplateParameter> ParseParameterSpec(std::string_view spec) {
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", std::string(spec), "' needs a type: name:type[=default]"));
  }
  TemplateParameter parameter;
  parameter.name = std::string(spec.substr(0, colon));
  if (!ValidName(parameter.name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid parameter name '", parameter.name,
                                                   "' (lower case letters, digits and _)"));
  }
  std::string_view rest = spec.substr(colon + 1);
  size_t equals = rest.find('=');
  PARLEY_ASSIGN_OR_RETURN(parameter.type, ParseType(rest.substr(0, equals)));
  if (equals != std::string_view::npos) {
    std::string value(rest.substr(equals + 1));
    if (!TypedValue(parameter.type, value)) {
      return absl::InvalidArgumentError(absl::StrCat("the default of parameter '", parameter.name,
                                                     "' is not ", ExpectedForm(parameter.type)));
    }
    parameter.default_value = value;
  }
  return parameter;
}

std::string ParametersJson(const std::vector<TemplateParameter>& parameters) {
  Json array = Json::array();
  for (const TemplateParameter& parameter : parameters) {
    Json item = {{"name", parameter.name}, {"type", ParameterTypeName(parameter.type)}};
    item["default"] = parameter.default_value ? Json(*parameter.default_value) : Json(nullptr);
    array.push_back(std::move(item));
  }
  return array.dump();
}

absl::StatusOr<std::vector<TemplateParameter>> ParametersFromJson(std::string_view json) {
  Json array = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return absl::DataLossError("stored template parameters are unreadable");
  std::vector<TemplateParameter> parameters;
  for (const Json& item : array) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
        !item.contains("type") || !item["type"].is_string()) {
      return absl::DataLossError("stored template parameters are unreadable");
    }
    TemplateParameter parameter;
    parameter.name = item["name"].get<std::string>();
    auto type = ParseType(item["type"].get<std::string>());
    if (!type.ok()) return absl::DataLossError("stored template parameters are unreadable");
    parameter.type = *type;
    if (item.contains("default") && item["default"].is_string()) {
      parameter.default_value = item["default"].get<std::string>();
    }
    parameters.push_back(std::move(parameter));
  }
  return parameters;
}

std::string TemplateId(std::string_view sql, const std::vector<TemplateParameter>& parameters) {
  Json content = {{"parameters", Json::parse(ParametersJson(parameters))},
                  {"sql", std::string(sql)}};
  return crypto::Sha256Hex(content.dump());
}

absl::StatusOr<std::string> PositionalSql(std::string_view sql,
                                          const std::vector<TemplateParameter>& parameters) {
  std::string out(sql);
  std::set<std::string> used;
  size_t i = 0;
  auto skip_until = [&](std::string_view end) {
    size_t found = sql.find(end, i);
    i = found == std::string_view::npos ? sql.size() : found + end.size();
  };
  // Whether the character before position `at` continues an identifier (so `$` or `E'` there
  // is part of a name, not the start of a literal).
  auto after_identifier = [&](size_t at) {
    return at > 0 && (IsNameChar(sql[at - 1]) || sql[at - 1] == '$');
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' && after_identifier(i) && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
        !after_identifier(i - 1)) {
      // E'...': backslash escapes, so \' does not end the literal.
      ++i;
      while (i < sql.size() && sql[i] != '\'') i += sql[i] == '\\' ? 2 : 1;
      ++i;
    } else if (c == '\'') {  // string literal; '' is an escaped quote: two literals in a row
      ++i;
      skip_until("'");
    } else if (c == '"') {
      ++i;
      skip_until("\"");
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      skip_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      i += 2;
      skip_until("*/");
    } else if (c == '$' && !after_identifier(i) && i + 1 < sql.size() &&
               (sql[i + 1] == '$' || IsNameStart(sql[i + 1]))) {
      // A dollar-quoted string: $tag$ ... $tag$.
      size_t end = sql.find('$', i + 1);
      if (end == std::string_view::npos) break;
      std::string tag(sql.substr(i, end - i + 1));
      i = end + 1;
      skip_until(tag);
    } else if (c == ':' && i + 1 < sql.size() && sql[i + 1] == ':') {
      i += 2;  // a :: cast
    } else if (c == ':' && i + 1 < sql.size() && IsNameStart(sql[i + 1])) {
      size_t start = i++;
      while (i < sql.size() && IsNameChar(sql[i])) ++i;
      std::string name(sql.substr(start + 1, i - start - 1));
      size_t index = 0;
      while (index < parameters.size() && parameters[index].name != name) ++index;
      if (index == parameters.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the template uses parameter :", name, " but does not declare it"));
      }
      used.insert(name);
      std::string positional = absl::StrCat("$", index + 1);
      positional.resize(std::max(positional.size(), i - start), ' ');
      out.replace(start + (out.size() - sql.size()), i - start, positional);
    } else {
      ++i;
    }
  }
  for (const TemplateParameter& parameter : parameters) {
    if (!used.contains(parameter.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter '", parameter.name, "' is declared but the template never uses it"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<sql::ParameterValue>> ParameterValues(
    const std::vector<TemplateParameter>& parameters,
    const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    bool declared = false;
    for (const TemplateParameter& parameter : parameters) declared |= parameter.name == name;
    if (!declared) {
      return absl::InvalidArgumentError(absl::StrCat("the template has no parameter '", name, "'"));
    }
  }
  std::vector<sql::ParameterValue> typed;
  for (const TemplateParameter& parameter : parameters) {
    auto given = values.find(parameter.name);
    if (given == values.end() && !parameter.default_value) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", parameter.name, "' (",
                                                     ParameterTypeName(parameter.type),
                                                     ") needs a value"));
    }
    const std::string& text = given != values.end() ? given->second : *parameter.default_value;
    std::optional<sql::ParameterValue> value = TypedValue(parameter.type, text);
    if (!value) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", parameter.name, "' expects ", ExpectedForm(parameter.type)));
    }
    typed.push_back(*std::move(value));
  }
  return typed;
}

std::vector<sql::ParameterValue> PlaceholderValues(
    const std::vector<TemplateParameter>& parameters) {
  std::vector<sql::ParameterValue> values;
  for (const TemplateParameter& parameter : parameters) {
    const char* placeholder = "";
    switch (parameter.type) {
      case ParameterType::kInteger:
      case ParameterType::kNumber:
        placeholder = "0";
        break;
      case ParameterType::kText:
        placeholder = "";
        break;
      case ParameterType::kDate:
        placeholder = "2000-01-01";
        break;
      case ParameterType::kBoolean:
        placeholder = "false";
        break;
    }
    values.push_back(*TypedValue(parameter.type, placeholder));
  }
  return values;
}

}  // namespace parley::service
