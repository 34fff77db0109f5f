// Differential privacy in the service: what a query may spend of its collaboration's budget, the
// noise added to a private query's exact bounded aggregates before anything of them is stored or
// delivered, and the budget as members see it (`parley budget`).
#include <ctime>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dp/budget.h"
#include "service/service_impl.h"

namespace parley::service {

absl::StatusOr<std::pair<int64_t, int64_t>> Service::Impl::PrivacySpendOf(
    const QueryContext& context, const Request& request) {
  const std::optional<catalog::PrivacyBudget>& budget = context.collaboration.privacy_budget;
  if (!budget.has_value()) {
    if (!request.epsilon.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--epsilon: collaboration '", context.collaboration.name,
                       "' has no privacy budget, so no query spends epsilon"));
    }
    return std::pair<int64_t, int64_t>{0, 0};
  }
  int64_t epsilon = budget->default_epsilon;
  if (!request.epsilon.empty()) {
    PARLEY_ASSIGN_OR_RETURN(epsilon, dp::ParseEpsilon(request.epsilon, "--epsilon"));
    if (epsilon <= 0 || epsilon > budget->max_epsilon) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--epsilon: ", request.epsilon, " is outside what one query may spend in collaboration '",
          context.collaboration.name, "' (above 0, at most ",
          dp::FormatEpsilon(budget->max_epsilon), ")"));
    }
  }
  // δ in proportion to ε, so that the month's ε and δ run out together.
  __int128 delta =
      static_cast<__int128>(budget->delta_per_period) * epsilon / budget->epsilon_per_period;
  return std::pair<int64_t, int64_t>{epsilon, static_cast<int64_t>(delta)};
}

absl::StatusOr<engine::ResultTable> Service::Impl::Noise(const dp::NoisePlan& plan,
                                                         const engine::ResultTable& exact) {
  absl::StatusOr<dp::NoisyResult> noisy;
  if (options.noise_random_for_tests != nullptr) {
    std::lock_guard<std::mutex> lock(noise_mutex);
    noisy = dp::ApplyNoise(plan, exact.rows, *options.noise_random_for_tests);
  } else {
    noisy = dp::ApplyNoise(plan, exact.rows, system_random);
  }
  if (!noisy.ok()) return noisy.status();
  engine::ResultTable result;
  for (const dp::NoisyResult::Column& column : noisy->columns) {
    result.columns.push_back(engine::ResultColumn{column.name, column.type});
  }
  result.rows = std::move(noisy->rows);
  return result;
}

absl::StatusOr<BudgetView> Service::Impl::Budget(const identity::Caller& caller,
                                                 const std::string& collaboration) {
  PARLEY_ASSIGN_OR_RETURN(catalog::Collaboration found, store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(Require(caller, found, identity::Action::kView));
  BudgetView view;
  view.budget = found.privacy_budget;
  PARLEY_ASSIGN_OR_RETURN(view.spent, store->ListPrivacySpends(collaboration));
  std::time_t now =
      static_cast<std::time_t>(options.clock ? options.clock() : catalog::SystemClockSeconds());
  std::tm utc{};
  gmtime_r(&now, &utc);
  view.current_period = absl::StrFormat("%04d-%02d", utc.tm_year + 1900, utc.tm_mon + 1);
  return view;
}

}  // namespace parley::service
