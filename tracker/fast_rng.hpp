// fast_rng: a small, fast, non-cryptographic generator (xoshiro-style
// splitmix64) for spreading the peer handout. Each server thread owns one;
// tests seed it to get repeatable handouts.
#pragma once

#include <cstdint>

namespace blobswarm::tracker {

class fast_rng {
 public:
  explicit fast_rng(std::uint64_t seed) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is
  // below 2^-32 for the sizes of a swarm, irrelevant for load spreading).
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

 private:
  std::uint64_t state_;
};

}  // namespace blobswarm::tracker
