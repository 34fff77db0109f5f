#include "engine/engine.h"

#include <unistd.h>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace parley::engine {

std::string DefaultMemoryLimit() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return "4GB";
  int64_t megabytes = static_cast<int64_t>(pages) * page_size / (1024 * 1024);
  return absl::StrCat(megabytes * 3 / 4, "MB");
}

namespace {
constexpr char kSourceReadErrorUrl[] = "parley.engine/source-read-error";
}  // namespace

// The payload: file, line and column separated by NUL bytes (which no path or name holds).
void SetSourceReadError(absl::Status& status, const SourceReadError& error) {
  std::string payload = absl::StrCat(error.file, std::string(1, '\0'), error.line,
                                     std::string(1, '\0'), error.column);
  status.SetPayload(kSourceReadErrorUrl, absl::Cord(payload));
}

std::optional<SourceReadError> GetSourceReadError(const absl::Status& status) {
  auto payload = status.GetPayload(kSourceReadErrorUrl);
  if (!payload) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(std::string(*payload), '\0');
  if (parts.size() != 3) return std::nullopt;
  SourceReadError error{parts[0], 0, parts[2]};
  if (!absl::SimpleAtoi(parts[1], &error.line)) error.line = 0;
  return error;
}

}  // namespace parley::engine
