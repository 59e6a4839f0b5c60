#pragma once

#include <cstdint>
#include <string_view>

namespace sloprobe::config {

// `sharding:`: this instance runs only the probes assigned to `shard` out of
// `shards`; every instance reads the same probe list.
struct ShardingConfig {
  std::uint32_t shards = 1;
  std::uint32_t shard = 0;
};

// The shard in [0, shards) that owns the probe called `name`, by rendezvous
// (highest random weight) hashing: the same answer on every machine, build
// and run, probes spread evenly, and going from N to N + 1 shards moves only
// the probes the new shard wins (about 1 in N + 1), none between old shards.
std::uint32_t ShardOf(std::string_view name, std::uint32_t shards);

}  // namespace sloprobe::config
