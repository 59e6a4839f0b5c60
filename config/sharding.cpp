#include "config/sharding.hpp"

namespace sloprobe::config {

namespace {

// FNV-1a: stable across builds and platforms, unlike std::hash.
std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64's finalizer: spreads every input bit over the whole word.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

std::uint32_t ShardOf(std::string_view name, std::uint32_t shards) {
  const std::uint64_t key = Fnv1a(name);
  std::uint32_t best = 0;
  std::uint64_t best_weight = 0;
  for (std::uint32_t shard = 0; shard < shards; ++shard) {
    const std::uint64_t weight = Mix(key ^ Mix(shard + 1));
    if (shard == 0 || weight > best_weight) {
      best = shard;
      best_weight = weight;
    }
  }
  return best;
}

}  // namespace sloprobe::config
