#include "engine/engine.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace parley::engine {

std::string DefaultMemoryLimit() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return "4GB";
  int64_t megabytes = static_cast<int64_t>(pages) * page_size / (1024 * 1024);
  return absl::StrCat(megabytes * 3 / 4, "MB");
}

}  // namespace parley::engine
