// `parley demo`: the reference story end to end on the embedded engine. It generates a
// retailer's audience graph and a supplier's loyalty table deterministically (the same sizes give
// the same files, bit for bit), sets up the collaboration, both members, their tables and rules,
// runs the campaign query as the supplier, prints the segments and the targetable total, and
// shows a query the rules reject, with its explanation.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/status.h"

namespace parley::cli {

struct DemoOptions {
  std::string home;
  int64_t households = 2'000'000;
  int64_t supplier_members = 1'500'000;
  int64_t shared = 1'200'000;
  bool fresh = false;
};

// Writes the demo's two Parquet files into `directory`: retail.parquet (households rows) and
// loyalty.parquet (supplier_members rows, `shared` of them matching a household).
// The demo's analysis rules (also used by the benchmark).
extern const char kDemoRetailRule[];
extern const char kDemoLoyaltyRule[];

absl::Status GenerateDemoData(const DemoOptions& options, const std::string& directory);

absl::Status RunDemo(const DemoOptions& options, std::ostream& out);

// 1234567 → "1,234,567".
std::string WithThousands(int64_t value);
// "\n▶ WHO: WHAT" — one step of the story.
void DemoStep(std::ostream& out, const std::string& who, const std::string& what);

class Backend;
// The notebook step (demo_notebook.cc): the retailer's private library and segmentation notebook,
// approved and run by the supplier, whose segment counts must add up to `sql_total` (Internal
// when they do not, or when the run does not succeed). Writes the outputs the supplier receives
// into HOME/demo-results. `data` holds the demo's Parquet files.
absl::Status RunDemoNotebookStep(Backend& retailer, Backend& supplier, const std::string& home,
                                 const std::string& data, int64_t sql_total, std::ostream& out);

}  // namespace parley::cli
