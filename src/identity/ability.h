// What a member of a collaboration may do beyond being there: run queries, receive results.
// One enum and one set type, with the one table of names next to the enum, so that abilities
// are never booleans passed side by side.
//
//   identity::AbilitySet abilities = {identity::Ability::kQuery};
//   if (!abilities.Has(identity::Ability::kReceive)) ...
//   abilities.ToString();  // "query"
//
// Thread safety: an immutable-by-default value type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace parley::identity {

enum class Ability : uint8_t {
  kQuery = 0,    // send queries (explain, run, run templates)
  kReceive = 1,  // be named a receiver of results
  kRunJobs = 2,  // run approved jobs (code in the sandbox)
};
inline constexpr Ability kAllAbilities[] = {Ability::kQuery, Ability::kReceive, Ability::kRunJobs};

std::string_view AbilityName(Ability ability);  // "query" | "receive" | "run_jobs"
// The inverse of AbilityName; nullopt for any other text.
std::optional<Ability> ParseAbility(std::string_view name);

class AbilitySet {
 public:
  AbilitySet() = default;
  AbilitySet(std::initializer_list<Ability> abilities) {
    for (Ability ability : abilities) Add(ability);
  }
  // From the catalog's storage of a member (a flag each).
  static AbilitySet FromFlags(bool can_query, bool can_receive, bool can_run_jobs = false) {
    AbilitySet set;
    if (can_query) set.Add(Ability::kQuery);
    if (can_receive) set.Add(Ability::kReceive);
    if (can_run_jobs) set.Add(Ability::kRunJobs);
    return set;
  }

  bool Has(Ability ability) const { return (bits_ & Bit(ability)) != 0; }
  bool empty() const { return bits_ == 0; }
  AbilitySet& Add(Ability ability) {
    bits_ |= Bit(ability);
    return *this;
  }
  AbilitySet& Remove(Ability ability) {
    bits_ &= static_cast<uint8_t>(~Bit(ability));
    return *this;
  }
  // "query, receive", "query", or "none".
  std::string ToString() const;

  friend bool operator==(AbilitySet, AbilitySet) = default;

 private:
  static uint8_t Bit(Ability ability) {
    return static_cast<uint8_t>(1u << static_cast<uint8_t>(ability));
  }
  uint8_t bits_ = 0;
};

}  // namespace parley::identity
