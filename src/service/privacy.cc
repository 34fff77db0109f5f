// Differential privacy in the service: what a query may spend of its collaboration's budget, the
// noise added to a private query's exact bounded aggregates before anything of them is stored or
// delivered, and the budget as members see it (`parley budget`).
#include <ctime>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dp/accuracy.h"
#include "dp/budget.h"
#include "service/service_impl.h"

namespace parley::service {
namespace {

// δ in proportion to ε, so that the month's ε and δ run out together.
int64_t DeltaFor(const catalog::PrivacyBudget& budget, int64_t epsilon) {
  __int128 delta =
      static_cast<__int128>(budget.delta_per_period) * epsilon / budget.epsilon_per_period;
  return static_cast<int64_t>(delta);
}

}  // namespace

absl::StatusOr<std::pair<int64_t, int64_t>> Service::Impl::PrivacySpendOf(
    const QueryContext& context, const Request& request) {
  const std::optional<catalog::PrivacyBudget>& budget = context.collaboration.privacy_budget;
  if (!request.accuracy.accuracy.empty()) {
    if (!request.epsilon.empty()) {
      return absl::InvalidArgumentError(
          "--accuracy and --epsilon: give one of them (the epsilon an accuracy costs is computed "
          "from it)");
    }
    PARLEY_RETURN_IF_ERROR(
        dp::ParseAccuracyTarget(request.accuracy.accuracy, request.accuracy.confidence).status());
    if (!budget.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--accuracy: collaboration '", context.collaboration.name,
                       "' has no privacy budget, so no query adds noise"));
    }
  } else if (!request.accuracy.confidence.empty()) {
    return absl::InvalidArgumentError("--confidence: applies only with --accuracy");
  }
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
  return std::pair<int64_t, int64_t>{epsilon, DeltaFor(*budget, epsilon)};
}

absl::Status Service::Impl::SpendForAccuracy(const QueryContext& context,
                                             const AccuracyRequest& accuracy, dp::NoisePlan& plan) {
  const catalog::PrivacyBudget& budget = *context.collaboration.privacy_budget;
  PARLEY_ASSIGN_OR_RETURN(dp::AccuracyTarget target,
                          dp::ParseAccuracyTarget(accuracy.accuracy, accuracy.confidence));
  std::string described = dp::DescribeAccuracyTarget(target);
  absl::StatusOr<int64_t> epsilon = dp::EpsilonForAccuracy(plan, target);
  if (!epsilon.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--accuracy: ", epsilon.status().message()));
  }
  if (*epsilon > budget.max_epsilon) {
    return absl::InvalidArgumentError(
        absl::StrCat("--accuracy: ", described, " needs epsilon ", dp::FormatEpsilon(*epsilon),
                     " for this query, above the most one query may spend in collaboration '",
                     context.collaboration.name, "' (", dp::FormatEpsilon(budget.max_epsilon),
                     "); ask for a wider interval or a lower confidence"));
  }
  plan.epsilon = *epsilon;
  plan.delta = plan.grouped ? DeltaFor(budget, *epsilon) : 0;
  plan.accuracy = described;
  return dp::SetScales(plan);
}

absl::StatusOr<std::optional<int64_t>> Service::Impl::EpsilonLeft(
    const catalog::Collaboration& collaboration) {
  if (!collaboration.privacy_budget.has_value()) return std::optional<int64_t>();
  PARLEY_ASSIGN_OR_RETURN(std::vector<catalog::PrivacySpend> spent,
                          store->ListPrivacySpends(collaboration.name));
  std::string period = CurrentPeriod();
  int64_t left = collaboration.privacy_budget->epsilon_per_period;
  for (const catalog::PrivacySpend& spend : spent) {
    if (spend.period == period) left -= spend.epsilon;
  }
  return std::optional<int64_t>(std::max<int64_t>(0, left));
}

std::string Service::Impl::CurrentPeriod() const {
  std::time_t now =
      static_cast<std::time_t>(options.clock ? options.clock() : catalog::SystemClockSeconds());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return absl::StrFormat("%04d-%02d", utc.tm_year + 1900, utc.tm_mon + 1);
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
  view.current_period = CurrentPeriod();
  return view;
}

}  // namespace parley::service
