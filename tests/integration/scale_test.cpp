// Many probes in one daemon, many daemons sharing one probe list: scrapes
// sent in pieces while reloads remove series, external labels on every
// series, and sharding that follows reloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "config/sharding.hpp"
#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using Families = std::vector<prometheus::MetricFamily>;

// `count` probes named prefix0.. that never run during a test (one run an
// hour, first runs spread over it) but have all their series from the start.
std::string IdleProbes(const std::string& prefix, int count) {
  std::string yaml;
  for (int i = 0; i < count; ++i) {
    yaml += "  - {name: " + prefix + std::to_string(i) +
            ", type: http, interval: 1h, request: {url: \"http://127.0.0.1:9/\"}}\n";
  }
  return yaml;
}

std::vector<std::string> SampleLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// The series part of a sample line: everything before the value.
std::string SeriesOf(const std::string& line) { return line.substr(0, line.rfind(' ')); }

// A scrape of a few MB goes out in chunks, whole and without a series
// twice, even while reloads remove and add half of the probes under it; an
// HTTP/1.0 client gets the same lines in one body.
TEST(Scale, LargeScrapesAreChunkedAndWholeWhileReloadsRemoveSeries) {
  const std::string stay = IdleProbes("stay", 600);
  const std::string a = "probes:\n" + stay + IdleProbes("a", 600);
  const std::string b = "probes:\n" + stay + IdleProbes("b", 600);
  DaemonRunner d(ConfigFromYaml(a));

  const auto first = HttpRequest(d.Port(), "GET", "/metrics");
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(first.chunked);
  EXPECT_GT(first.body.size(), std::size_t{2} << 20);  // several pieces
  const auto old = HttpRequest(d.Port(), "GET", "/metrics", "", 10);
  EXPECT_FALSE(old.chunked);
  EXPECT_EQ(SampleLines(old.body).size(), SampleLines(first.body).size());

  std::atomic<bool> done{false};
  std::atomic<int> reloads{0};
  std::thread reloader([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      const auto outcome = d.Reload(i % 2 == 0 ? b : a);
      EXPECT_TRUE(outcome.ok);
      ++reloads;
    }
  });
  for (int scrape = 0; scrape < 8; ++scrape) {
    const auto r = HttpRequest(d.Port(), "GET", "/metrics");
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(r.chunked);
    ASSERT_FALSE(r.body.empty());
    EXPECT_EQ(r.body.back(), '\n');
    const auto lines = SampleLines(r.body);
    std::set<std::string> series;
    std::size_t stayed = 0;
    for (const auto& line : lines) {
      EXPECT_TRUE(series.insert(SeriesOf(line)).second) << "twice: " << line;
      if (line.starts_with("sloprobe_probe_runs_total{probe=\"stay")) ++stayed;
    }
    // The probes no reload touches are in every scrape, each once.
    EXPECT_EQ(stayed, 600u);
  }
  done = true;
  reloader.join();
  EXPECT_GT(reloads.load(), 0);
}

TEST(Scale, ExternalLabelsAreOnEverySeriesAndFollowReloads) {
  TestbedServer bed;
  const std::string probes =
      "probes:\n  - {name: health, type: http, interval: 20ms, request: "
      "{url: \"" +
      bed.Url("/health") + "\"}}\n";
  DaemonRunner d(
      ConfigFromYaml("external_labels: {location: eu-west, tier: \"a \\\"b\\\"\"}\n" + probes));
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return SumValues(f, "sloprobe_probe_runs_total", {{"probe", "health"}}) >= 2;
  }));
  auto lines = SampleLines(HttpRequest(d.Port(), "GET", "/metrics").body);
  ASSERT_GT(lines.size(), 50u);
  for (const auto& line : lines) {
    EXPECT_NE(line.find(R"(location="eu-west",tier="a \"b\"")"), std::string::npos) << line;
  }
  // The families OTLP sends carry them too, the probe's and sloprobe's own,
  // each family once.
  std::set<std::string> names;
  for (const auto& family : d.Collect()) {
    EXPECT_TRUE(names.insert(family.name).second) << family.name;
    for (const auto& m : family.metric) {
      EXPECT_TRUE(std::any_of(m.label.begin(), m.label.end(), [](const auto& l) {
        return l.name == "location" && l.value == "eu-west";
      })) << family.name;
    }
  }

  ASSERT_TRUE(d.Reload("external_labels: {location: us-east}\n" + probes).ok);
  lines = SampleLines(HttpRequest(d.Port(), "GET", "/metrics").body);
  for (const auto& line : lines) {
    EXPECT_NE(line.find(R"(location="us-east")"), std::string::npos) << line;
    EXPECT_EQ(line.find("tier="), std::string::npos) << line;
  }
  ASSERT_TRUE(d.Reload(probes).ok);
  for (const auto& line : SampleLines(HttpRequest(d.Port(), "GET", "/metrics").body)) {
    EXPECT_EQ(line.find("location="), std::string::npos) << line;
  }
}

// Two instances with the same file and different shards run every probe
// exactly once between them; a reload to the other shard swaps the sets.
TEST(Scale, ShardsSplitTheProbesAndAReloadMovesThem) {
  TestbedServer bed;
  std::string probes = "probes:\n";
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i) {
    names.push_back("p" + std::to_string(i));
    probes += "  - {name: " + names.back() + ", type: http, interval: 20ms, request: {url: \"" +
              bed.Url("/health") + "\"}}\n";
  }
  const auto on_zero = std::count_if(
      names.begin(), names.end(), [](const std::string& n) { return config::ShardOf(n, 2) == 0; });
  ASSERT_GT(on_zero, 0);  // both instances have work
  ASSERT_LT(on_zero, 8);
  auto config = [&](int shard) {
    return "sharding: {shards: 2, shard: " + std::to_string(shard) + "}\n" + probes;
  };
  DaemonRunner zero(ConfigFromYaml(config(0)));
  DaemonRunner one(ConfigFromYaml(config(1)));
  auto runs_where = [&](const DaemonRunner& d, std::uint32_t shard) {
    return d.WaitFor([&](const Families& f) {
      for (const auto& name : names) {
        const bool mine = config::ShardOf(name, 2) == shard;
        if (mine != HasSeries(f, "sloprobe_probe_runs_total", {{"probe", name}})) return false;
        if (mine && ProbeRuns(f, name) < 1) return false;
      }
      return true;
    });
  };
  EXPECT_TRUE(runs_where(zero, 0));
  EXPECT_TRUE(runs_where(one, 1));
  ASSERT_TRUE(zero.Reload(config(1)).ok);
  EXPECT_TRUE(runs_where(zero, 1));
}

}  // namespace
}  // namespace sloprobe::test
