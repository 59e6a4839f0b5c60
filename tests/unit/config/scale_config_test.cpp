// `sharding:` and `external_labels:`: what lets many instances share one
// probe list and tell their series apart.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "config/sharding.hpp"
#include "tests/unit/config/load_helpers.hpp"

namespace sloprobe::config {
namespace {

using test::ExpectErrors;
using test::Load;

std::string Probes(int n) {
  std::string yaml = "probes:\n";
  for (int i = 0; i < n; ++i) {
    yaml += "  - {name: p" + std::to_string(i) +
            ", type: http, request: {url: \"http://127.0.0.1/\"}}\n";
  }
  return yaml;
}

std::set<std::string> Names(const Config& c) {
  std::set<std::string> out;
  for (const auto& p : c.probes) out.insert(p.name);
  return out;
}

// Fixed values: a change of hash would move every probe of every fleet at
// the next upgrade, so it must be deliberate.
TEST(Sharding, AssignmentIsStable) {
  EXPECT_EQ(ShardOf("health", 1), 0u);
  std::vector<std::uint32_t> got;
  for (const char* name : {"health", "login", "agents-flow", "chat", "p0", "p1"}) {
    got.push_back(ShardOf(name, 4));
  }
  EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 3, 2, 3, 0, 0}));
}

TEST(Sharding, SpreadsEvenlyAndMovesLittleWhenAShardIsAdded) {
  constexpr int kProbes = 10000;
  std::map<std::uint32_t, int> per_shard;
  int moved = 0, moved_elsewhere = 0;
  for (int i = 0; i < kProbes; ++i) {
    const auto name = "probe-" + std::to_string(i);
    const auto before = ShardOf(name, 4);
    const auto after = ShardOf(name, 5);
    ++per_shard[after];
    if (before != after) {
      ++moved;
      if (after != 4) ++moved_elsewhere;  // only the new shard may take probes
    }
  }
  ASSERT_EQ(per_shard.size(), 5u);
  for (const auto& [shard, count] : per_shard) {
    EXPECT_NEAR(count, kProbes / 5, kProbes / 5 / 10) << "shard " << shard;
  }
  EXPECT_NEAR(moved, kProbes / 5, kProbes / 5 / 10);
  EXPECT_EQ(moved_elsewhere, 0);
}

TEST(Sharding, InstancesSplitTheFileWithoutGapOrOverlap) {
  std::set<std::string> all;
  std::size_t total = 0;
  for (int shard = 0; shard < 3; ++shard) {
    const auto r =
        Load("sharding: {shards: 3, shard: " + std::to_string(shard) + "}\n" + Probes(30));
    ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
    EXPECT_EQ(r.config->probes_in_file, 30u);
    EXPECT_EQ(r.config->sharding.shards, 3u);
    for (const auto& p : r.config->probes) {
      EXPECT_EQ(ShardOf(p.name, 3), static_cast<std::uint32_t>(shard));
    }
    const auto names = Names(*r.config);
    total += names.size();
    all.insert(names.begin(), names.end());
  }
  EXPECT_EQ(total, 30u);
  EXPECT_EQ(all.size(), 30u);
  // Without sharding, every probe runs here.
  EXPECT_EQ(Load(Probes(30)).config->probes.size(), 30u);
}

// A probe that another instance runs is still checked here: one bad entry
// fails every instance's load, not only the one that would run it.
TEST(Sharding, ProbesOfOtherShardsAreValidatedToo) {
  std::string yaml = "sharding: {shards: 2, shard: 0}\n" + Probes(4) +
                     "  - {name: bad, type: http, request: {url: \"ftp://x/\"}}\n";
  const auto r = Load(yaml);
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("http://"), std::string::npos) << r.errors[0].ToString();
}

TEST(Sharding, Errors) {
  const std::string probes = Probes(1);
  ExpectErrors("sharding: {shards: 2}\n" + probes, {{1, 11, "needs 'shards'"}});
  ExpectErrors("sharding: {shards: 0, shard: 0}\n" + probes, {{1, 20, "from 1 to 10000"}});
  ExpectErrors("sharding: {shards: 3, shard: 3}\n" + probes, {{1, 30, "from 0 to 2"}});
  ExpectErrors("sharding: {shards: 3, shard: -1}\n" + probes, {{1, 30, "from 0 to 2"}});
  ExpectErrors("sharding: {shards: two, shard: 0}\n" + probes, {{1, 20, "a whole number"}});
  ExpectErrors("sharding: {shards: 2, shard: 0, shrd: 1}\n" + probes,
               {{1, 33, "did you mean 'shard'?"}});
}

TEST(ExternalLabels, KeptInOrder) {
  const auto r = Load("external_labels: {location: eu-west-1, cluster: \"prod 2\"}\n" + Probes(1));
  ASSERT_TRUE(r.config) << r.errors.at(0).ToString();
  const std::vector<std::pair<std::string, std::string>> expected{{"location", "eu-west-1"},
                                                                  {"cluster", "prod 2"}};
  EXPECT_EQ(r.config->external_labels, expected);
  EXPECT_TRUE(Load(Probes(1)).config->external_labels.empty());
}

TEST(ExternalLabels, Errors) {
  const std::string probes = Probes(1);
  ExpectErrors("external_labels: [location]\n" + probes, {{1, 18, "must be a mapping"}});
  ExpectErrors("external_labels: {9lives: x}\n" + probes, {{1, 19, "is not a label name"}});
  ExpectErrors("external_labels: {\"a-b\": x}\n" + probes, {{1, 19, "is not a label name"}});
  ExpectErrors("external_labels: {__name__: x}\n" + probes, {{1, 19, "reserved for Prometheus"}});
  ExpectErrors("external_labels: {probe: x}\n" + probes, {{1, 19, "already sets"}});
  ExpectErrors("external_labels: {instance: x}\n" + probes, {{1, 19, "already sets"}});
  ExpectErrors("external_labels: {location: \"\"}\n" + probes, {{1, 29, "is empty"}});
  ExpectErrors("external_labels: {location: {a: b}}\n" + probes, {{1, 29, "must be"}});
}

}  // namespace
}  // namespace sloprobe::config
