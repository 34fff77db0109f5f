#pragma once

#include "absl/status/status.h"

namespace parley::service {

// For rules that protect rows (aggregation and list), whatever still fails while the engine runs
// (an error the guards did not foresee, a limit, a cancellation) is reported, returned and
// recorded with this one fixed status: the engine's own message, or even its class, could depend
// on rows the runner may not see (issue 6). The code is the same too. Header-only so that the
// neighbouring-dataset oracle (tests/fuzz) shows the runner exactly what the service shows.
inline absl::Status RunFailure() {
  return absl::AbortedError(
      "the query failed while it ran; for aggregation and list rules the cause is not shown, "
      "because it could depend on rows that no one may see");
}

}  // namespace parley::service
