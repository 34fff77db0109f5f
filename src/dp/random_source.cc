#include "dp/random_source.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace parley::dp {

uint64_t SystemRandomSource::Next64() {
  uint64_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  size_t filled = 0;
  while (filled < sizeof(value)) {
    ssize_t got = ::getrandom(bytes + filled, sizeof(value) - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "parley: getrandom failed; refusing to draw noise without it\n");
      std::abort();
    }
    filled += static_cast<size_t>(got);
  }
  return value;
}

uint128 UniformBelow128(RandomSource& random, uint128 bound) {
  // Draw as many bits as `bound - 1` needs and reject values at or above it: each accepted value
  // is equally likely, and fewer than half the draws are rejected.
  uint128 top = bound - 1;
  int bits = 0;
  while (bits < 128 && (top >> bits) != 0) ++bits;
  if (bits == 0) return 0;
  for (;;) {
    uint128 value = random.Next64();
    if (bits > 64) value |= static_cast<uint128>(random.Next64()) << 64;
    if (bits < 128) value &= (static_cast<uint128>(1) << bits) - 1;
    if (value <= top) return value;
  }
}

uint64_t UniformBelow(RandomSource& random, uint64_t bound) {
  return static_cast<uint64_t>(UniformBelow128(random, bound));
}

}  // namespace parley::dp
