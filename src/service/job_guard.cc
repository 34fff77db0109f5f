// The output guard of jobs (issue 12): no output of a job may carry a value of an input's
// identifier columns (never_output, the custom rule's disallowed_output_columns and identity
// columns). The values exported to the job are hashed; every token and every cell of every
// output file is looked up. A match withholds the whole run: a reason names the file and the
// column, never the value. Equal text is what is caught; a job that encodes identifiers (hashes,
// shifts, splits them) is the reviewers' to refuse when they read its code.
#include <algorithm>
#include <functional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "service/job_internal.h"

namespace parley::service::internal {
namespace {

uint64_t Hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

bool TokenDelimiter(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case ',':
    case ';':
    case '"':
    case '\'':
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
    case '\0':
      return true;
    default:
      return false;
  }
}

bool CellDelimiter(char c) {
  return c == ',' || c == '\t' || c == '\n' || c == '\r' || c == ';' || c == '|' || c == '\0';
}

// Calls `visit` on every maximal run of characters `delimiter` does not stop.
template <class Visit>
bool ForEachPiece(std::string_view text, bool (*delimiter)(char), Visit&& visit) {
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || delimiter(text[i])) {
      if (i > start) {
        std::string_view piece = text.substr(start, i - start);
        // A cell as CSV or JSON writes it: spaces and quotes around it are not part of the value.
        while (!piece.empty() && (piece.front() == ' ' || piece.front() == '"')) {
          piece.remove_prefix(1);
        }
        while (!piece.empty() && (piece.back() == ' ' || piece.back() == '"'))
          piece.remove_suffix(1);
        if (!piece.empty() && visit(piece)) return true;
      }
      start = i + 1;
    }
  }
  return false;
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
  // Sorted hashes per column: compact (8 bytes a value) and quick to look up.
  std::vector<std::vector<uint64_t>> hashes;
  for (const GuardedColumn& column : guarded) {
    std::vector<uint64_t> sorted;
    sorted.reserve(column.values.size());
    for (const std::string& value : column.values) sorted.push_back(Hash(value));
    std::sort(sorted.begin(), sorted.end());
    hashes.push_back(std::move(sorted));
  }
  for (const jobs::OutputFile& file : outputs) {
    const GuardedColumn* found = nullptr;
    auto lookup = [&](std::string_view piece) {
      uint64_t hash = Hash(piece);
      for (size_t i = 0; i < guarded.size(); ++i) {
        if (std::binary_search(hashes[i].begin(), hashes[i].end(), hash) &&
            guarded[i].values.contains(std::string(piece))) {
          found = &guarded[i];
          return true;
        }
      }
      return false;
    };
    if (ForEachPiece(file.bytes, &TokenDelimiter, lookup) ||
        ForEachPiece(file.bytes, &CellDelimiter, lookup)) {
      return absl::StrCat("output '", file.relative_path, "' contains values of column '",
                          found->table, ".", found->column,
                          "', which its owner does not let leave the room; every output of the "
                          "run is withheld");
    }
  }
  return "";
}

}  // namespace parley::service::internal
