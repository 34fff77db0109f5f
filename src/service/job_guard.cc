// The output guard of jobs (issue 12): no output of a job may carry a value of an input's
// identifier columns (never_output, the custom rule's disallowed_output_columns and identity
// columns). A match withholds the whole run: a reason names the file and the column, never the
// value.
//
// What is compared is a canonical form, not the raw text, so that re-formatting a value does not
// get it past the guard: every text is cut into tokens at punctuation and whitespace, tokens are
// lower-cased (ASCII), and a token that is a decimal number is written as its exact digits and
// exponent ("42", "42.0", "+042", "4.2e1" and "420E-1" are one number; no rounding, so a long
// identifier never collides with its neighbour). A guarded value is cut the same way and matched
// as a run of consecutive tokens, so quotes, case, surrounding or repeated whitespace, CSV quoting
// ("O""Brien") and markup around it change nothing; a value of several words is also matched
// with its spaces removed. JSON outputs are read as JSON too (escapes such as \u0041 decoded),
// HTML and SVG with their character references decoded. What stays the reviewers' to refuse when
// they read the code is a job that encodes identifiers (hashes, shifts, splits them).
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/job_internal.h"

namespace parley::service::internal {
namespace {

// The longest run of tokens a guarded value is matched on; a longer value is matched on its
// first kMaxTokens tokens (withholding more, never less).
constexpr size_t kMaxTokens = 8;

uint64_t Hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

bool TokenDelimiter(unsigned char c) {
  if (c <= ' ' || c == 0x7f) return true;  // whitespace and control characters
  switch (c) {
    case ',':
    case ';':
    case '"':
    case '\'':
    case '`':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '=':
    case '|':
    case ':':
    case '\\':
    case '/':
      return true;
    default:
      return false;
  }
}

// A decimal number's exact canonical form: "\x01" (no token holds it), the sign, the significant
// digits and the power of ten of the last one. nullopt when `token` is not a number.
std::optional<std::string> CanonicalNumber(std::string_view token) {
  size_t i = 0;
  bool negative = false;
  if (i < token.size() && (token[i] == '+' || token[i] == '-')) negative = token[i++] == '-';
  std::string digits;
  int64_t exponent = 0;
  bool any_digit = false;
  for (; i < token.size() && absl::ascii_isdigit(token[i]); ++i) {
    digits += token[i];
    any_digit = true;
  }
  if (i < token.size() && token[i] == '.') {
    for (++i; i < token.size() && absl::ascii_isdigit(token[i]); ++i) {
      digits += token[i];
      --exponent;
      any_digit = true;
    }
  }
  if (!any_digit) return std::nullopt;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    int64_t power = 0;
    std::string_view rest = token.substr(i + 1);
    if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
    if (rest.empty() || rest.size() > 6 ||
        !absl::SimpleAtoi(absl::string_view(rest.data(), rest.size()), &power))
      return std::nullopt;
    exponent += power;
    i = token.size();
  }
  if (i != token.size()) return std::nullopt;
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos)
    return std::string(
        "\x01"
        "0");
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  return absl::StrCat("\x01", negative ? "-" : "", digits, "e", exponent);
}

std::string CanonicalToken(std::string_view token) {
  // A sentence's full stop is not part of a value ("the id is 42.").
  while (token.size() > 1 && token.back() == '.') token.remove_suffix(1);
  if (std::optional<std::string> number = CanonicalNumber(token)) return *std::move(number);
  std::string lower(token);
  absl::AsciiStrToLower(&lower);
  return lower;
}

std::vector<std::string> CanonicalTokens(std::string_view text) {
  std::vector<std::string> tokens;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || TokenDelimiter(static_cast<unsigned char>(text[i]))) {
      if (i > start) tokens.push_back(CanonicalToken(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  return tokens;
}

// HTML's and SVG's character references decoded (&amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;):
// a value written as "&#65;lice" is still "Alice". Characters above 0x7f are kept as one '?'.
std::string DecodeReferences(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    size_t end = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (end == std::string_view::npos || end - i > 10) {
      decoded += text[i];
      continue;
    }
    std::string_view name = text.substr(i + 1, end - i - 1);
    int code = -1;
    if (name == "amp") code = '&';
    if (name == "lt") code = '<';
    if (name == "gt") code = '>';
    if (name == "quot") code = '"';
    if (name == "apos") code = '\'';
    if (name == "nbsp") code = ' ';
    if (name.size() > 1 && name[0] == '#') {
      int base = (name[1] == 'x' || name[1] == 'X') ? 16 : 10;
      std::string_view digits = name.substr(base == 16 ? 2 : 1);
      absl::string_view number(digits.data(), digits.size());
      int value = 0;
      bool parsed =
          base == 16 ? absl::SimpleHexAtoi(number, &value) : absl::SimpleAtoi(number, &value);
      if (parsed && value >= 0) code = value < 0x80 ? value : '?';
    }
    if (code < 0) {
      decoded += text[i];
      continue;
    }
    decoded += static_cast<char>(code);
    i = end;
  }
  return decoded;
}

// A JSON document's scalars, one a line (strings unescaped, numbers as written by the parser);
// JSON lines are read line by line. Empty when the text is not JSON.
std::string JsonScalars(std::string_view text) {
  std::string lines;
  std::function<void(const nlohmann::json&)> visit = [&](const nlohmann::json& value) {
    if (value.is_object()) {
      for (const auto& [key, item] : value.items()) {
        absl::StrAppend(&lines, key, "\n");
        visit(item);
      }
    } else if (value.is_array()) {
      for (const nlohmann::json& item : value) visit(item);
    } else if (value.is_string()) {
      absl::StrAppend(&lines, value.get<std::string>(), "\n");
    } else {
      absl::StrAppend(&lines, value.dump(), "\n");
    }
  };
  nlohmann::json whole = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded()) {
    visit(whole);
    return lines;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    nlohmann::json line = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    if (!line.is_discarded()) visit(line);
    start = end + 1;
  }
  return lines;
}

// The guarded values' canonical forms, hashed: one entry per form, with its column.
struct GuardIndex {
  std::vector<std::pair<uint64_t, size_t>> forms;  // sorted by hash
  size_t longest = 1;                              // tokens in the longest form

  void Add(const std::string& form, size_t column) { forms.emplace_back(Hash(form), column); }
  const size_t* Find(std::string_view form) const {
    uint64_t hash = Hash(form);
    auto it = std::lower_bound(forms.begin(), forms.end(), std::make_pair(hash, size_t{0}));
    return it != forms.end() && it->first == hash ? &it->second : nullptr;
  }
};

GuardIndex IndexOf(const std::vector<GuardedColumn>& guarded) {
  GuardIndex index;
  for (size_t column = 0; column < guarded.size(); ++column) {
    for (const std::string& value : guarded[column].values) {
      std::vector<std::string> tokens = CanonicalTokens(value);
      if (tokens.empty()) continue;
      if (tokens.size() > kMaxTokens) tokens.resize(kMaxTokens);
      index.longest = std::max(index.longest, tokens.size());
      index.Add(absl::StrJoin(tokens, " "), column);
      // "Alice Smith" written as "AliceSmith". Not for numbers: "1 2" is not 12.
      bool numbers = std::any_of(tokens.begin(), tokens.end(),
                                 [](const std::string& token) { return token[0] == '\x01'; });
      if (tokens.size() > 1 && !numbers) index.Add(absl::StrJoin(tokens, ""), column);
    }
  }
  // The hashes are 64 bits: a collision can only withhold a run, never let a value through.
  std::sort(index.forms.begin(), index.forms.end());
  return index;
}

// The column of the first guarded value found in `text`, or nullptr.
const size_t* Scan(std::string_view text, const GuardIndex& index) {
  std::vector<std::string> tokens = CanonicalTokens(text);
  std::string window;
  for (size_t start = 0; start < tokens.size(); ++start) {
    window.clear();
    for (size_t length = 1; length <= index.longest && start + length <= tokens.size(); ++length) {
      if (length > 1) window += ' ';
      window += tokens[start + length - 1];
      if (const size_t* column = index.Find(window)) return column;
    }
  }
  return nullptr;
}

}  // namespace

std::set<std::string> GuardedColumnsOf(const policy::Rule& rule) {
  std::set<std::string> columns;
  if (rule.kind != policy::RuleKind::kCustom) return columns;
  columns.insert(rule.custom.never_output.begin(), rule.custom.never_output.end());
  columns.insert(rule.custom.disallowed_output_columns.begin(),
                 rule.custom.disallowed_output_columns.end());
  for (const policy::IdentityThreshold& threshold : rule.custom.aggregation_thresholds) {
    columns.insert(threshold.identity_column);
  }
  return columns;
}

std::string GuardOutputs(const std::vector<jobs::OutputFile>& outputs,
                         const std::vector<GuardedColumn>& guarded) {
  GuardIndex index = IndexOf(guarded);
  if (index.forms.empty()) return "";
  for (const jobs::OutputFile& file : outputs) {
    const size_t* found = Scan(file.bytes, index);
    const std::string& name = file.relative_path;
    if (found == nullptr && absl::EndsWithIgnoreCase(name, ".json")) {
      found = Scan(JsonScalars(file.bytes), index);
    }
    if (found == nullptr &&
        (absl::EndsWithIgnoreCase(name, ".html") || absl::EndsWithIgnoreCase(name, ".svg"))) {
      found = Scan(DecodeReferences(file.bytes), index);
    }
    if (found != nullptr) {
      const GuardedColumn& column = guarded[*found];
      return absl::StrCat("output '", name, "' contains values of column '", column.table, ".",
                          column.column,
                          "', which its owner does not let leave the room; every output of the "
                          "run is withheld");
    }
  }
  return "";
}

}  // namespace parley::service::internal
