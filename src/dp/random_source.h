// Where the noise of differential privacy gets its randomness. Every sampler in src/dp draws
// uniform integers from a RandomSource, never from floating point: the binary uses
// SystemRandomSource (the kernel's CSPRNG through getrandom(2)); tests use a seeded generator
// (dp/seeded_random_source.h, linked into tests only) so that their draws repeat.
//
//   dp::SystemRandomSource random;
//   uint64_t die = dp::UniformBelow(random, 6);  // 0..5, each with probability 1/6 exactly
//
// Thread safety: SystemRandomSource may be shared by any number of threads; a seeded source is
// for one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::dp {

using uint128 = unsigned __int128;

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // 64 uniformly random bits.
  virtual uint64_t Next64() = 0;
};

// The operating system's CSPRNG (getrandom(2), blocking only until the kernel's pool is seeded
// at boot). A failure of the kernel call aborts the process: noise drawn from anything weaker
// would void the guarantee silently.
class SystemRandomSource : public RandomSource {
 public:
  uint64_t Next64() override;
};

// A uniform integer in [0, bound) exactly (rejection sampling, no modulo bias); bound > 0.
uint64_t UniformBelow(RandomSource& random, uint64_t bound);
uint128 UniformBelow128(RandomSource& random, uint128 bound);

}  // namespace parley::dp
