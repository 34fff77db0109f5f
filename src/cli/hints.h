// The CLI's own words added to what the layers below say: which `parley` command (or flag)
// resolves a violation or an error. The service, catalog and policy describe the remedy in
// domain terms ("its owner 'retailer' must set one"); only the CLI knows its command names, and
// a server or another client shows the same remedies its own way. One table per kind, here.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "api/types.h"

namespace parley::cli {

// The violation's hint with the command that acts on it, when one does.
std::string HintForTerminal(const api::Violation& violation);

// The error with the command or flag that helps, when one does (`collaboration` is the -c of
// the command that failed).
absl::Status WithCommandHint(const absl::Status& status, const std::string& collaboration);

}  // namespace parley::cli
