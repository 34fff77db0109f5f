// A deterministic RandomSource for tests ONLY (xoshiro256** seeded through splitmix64): the same
// seed gives the same draws, so statistical tests and attack reproductions repeat exactly. It is
// in its own library (parley_dp_testing) that only test binaries link; nothing in the binary can
// construct it.
#pragma once

#include <cstdint>

#include "dp/random_source.h"

namespace parley::dp {

class SeededRandomSource : public RandomSource {
 public:
  explicit SeededRandomSource(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next64() override {
    uint64_t result = Rotate(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotate(state_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotate(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace parley::dp
