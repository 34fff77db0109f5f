#include "identity/ability.h"

#include <vector>

#include "absl/strings/str_join.h"

namespace parley::identity {

std::string_view AbilityName(Ability ability) {
  switch (ability) {
    case Ability::kQuery:
      return "query";
    case Ability::kReceive:
      return "receive";
    case Ability::kRunJobs:
      return "run_jobs";
  }
  return "unknown";
}

std::optional<Ability> ParseAbility(std::string_view name) {
  for (Ability ability : kAllAbilities) {
    if (AbilityName(ability) == name) return ability;
  }
  return std::nullopt;
}

std::string AbilitySet::ToString() const {
  std::vector<std::string> names;
  for (Ability ability : kAllAbilities) {
    if (Has(ability)) names.push_back(std::string(AbilityName(ability)));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

}  // namespace parley::identity
