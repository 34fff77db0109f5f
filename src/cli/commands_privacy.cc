// Differential privacy's command: `parley budget -c C`, a collaboration's budget and what is left
// of it per month (any member may read it). The budget is set by `collaboration create
// --dp-epsilon` and spent by `query run` (commands_collaboration.cc, commands_query.cc).
#include <iostream>

#include "cli/command_line.h"
#include "cli/output.h"

namespace parley::cli {

void Cli::AddBudgetCommand() {
  auto* budget = app_.add_subcommand(
      "budget", "a collaboration's differential-privacy budget and what is left, per month");
  AddCollaborationOption(budget);
  Add(budget, [this] {
    return Answer(OpenBackend()->Budget({globals_.collaboration}), [](const auto& r) {
      PrintBudget(std::cout, r);
      return 0;
    });
  });
}

}  // namespace parley::cli
