// API types (see api/types.h for the conventions every type follows): differential privacy —
// a collaboration's privacy budget (set once, at creation) and `parley budget`, what is left of
// it per month. What one query spends is in its explanation (api/queries.h, Privacy).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// Differential privacy's budget of a collaboration, per calendar month (UTC); decimals as text
// ("10", "0.00001") so that no value is rounded on the way.
struct PrivacyBudget {
  std::string epsilon_per_month;
  std::string delta_per_month;
  std::string default_epsilon;  // what a query spends unless its runner asks otherwise
  std::string max_epsilon;      // the most one query may spend
  template <class V>
  void Visit(V& v) {
    v.Required("epsilon_per_month", epsilon_per_month);
    v.Required("delta_per_month", delta_per_month);
    v.Required("default_epsilon", default_epsilon);
    v.Required("max_epsilon", max_epsilon);
  }
};

// `parley budget`: a collaboration's privacy budget and what is left of it per month.
struct BudgetRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct BudgetPeriod {
  std::string period;  // "2026-11"
  std::string epsilon_spent;
  std::string epsilon_left;
  std::string delta_spent;
  std::string delta_left;
  int64_t queries = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("period", period);
    v.Required("epsilon_spent", epsilon_spent);
    v.Required("epsilon_left", epsilon_left);
    v.Required("delta_spent", delta_spent);
    v.Required("delta_left", delta_left);
    v.Required("queries", queries);
  }
};
struct BudgetResponse {
  std::string collaboration;
  std::optional<PrivacyBudget> budget;  // absent: the collaboration has none
  std::vector<BudgetPeriod> periods;    // the current month first, then earlier ones spent in
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("budget", budget);
    v.Required("periods", periods);
  }
};

}  // namespace parley::api
