// Live reload in-process: a good reload changes only what changed, a bad one
// changes nothing, in-flight runs of removed probes record nothing, and a
// hundred reloads under load lose no run of an unchanged probe.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using Families = std::vector<prometheus::MetricFamily>;

std::string Probe(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "  - name: " + name + "\n    type: http\n    request: {url: \"" + url + "\"}\n" + extra;
}

std::string Config(const std::string& probes) {
  return "global: {interval: 50ms, timeout: 1s}\nprobes:\n" + probes;
}

TEST(Reload, KeepsUnchangedProbesRestartsChangedOnesAndRemovesTheRest) {
  TestbedServer bed;
  const auto slow = "    objectives: {latency: {threshold: 37ms}}\n";
  DaemonRunner d(ConfigFromYaml(Config(Probe("same", bed.Url("/health")) +
                                       Probe("tuned", bed.Url("/health"), slow) +
                                       Probe("gone", bed.Url("/health")))));
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return ProbeRuns(f, "same") >= 5 && ProbeRuns(f, "tuned") >= 5 && ProbeRuns(f, "gone") >= 5;
  }));
  const auto before = d.Collect();
  // Formatting and comments differ for "same"; that is not a change.
  const auto outcome = d.Reload(
      Config("  # reformatted\n  - {name: same, type: http, request: {url: \"" +
             bed.Url("/health") + "\"}}\n" +
             Probe("tuned", bed.Url("/health"), "    objectives: {latency: {threshold: 250ms}}\n") +
             Probe("new", bed.Url("/health"))));
  ASSERT_TRUE(outcome.ok) << (outcome.errors.empty() ? "" : outcome.errors[0]);
  EXPECT_EQ(outcome.unchanged, 1u);
  EXPECT_EQ(outcome.changed, 1u);
  EXPECT_EQ(outcome.added, 1u);
  EXPECT_EQ(outcome.removed, 1u);

  const auto after = d.Collect();
  // The unchanged probe's counter and histogram went on from where they were.
  EXPECT_GE(ProbeRuns(after, "same"), ProbeRuns(before, "same"));
  EXPECT_EQ(ValueOrZero(after, "sloprobe_probe_duration_seconds_count", {{"probe", "same"}}),
            ProbeRuns(after, "same"));
  // The changed probe restarted with its new objective and buckets.
  EXPECT_EQ(ValueOrZero(after, "sloprobe_objective_latency_seconds", {{"probe", "tuned"}}), 0.25);
  EXPECT_TRUE(HasSeries(after, "sloprobe_probe_duration_seconds_bucket",
                        {{"probe", "tuned"}, {"le", "0.25"}}));
  EXPECT_FALSE(HasSeries(after, "sloprobe_probe_duration_seconds_bucket",
                         {{"probe", "tuned"}, {"le", "0.037"}}));
  EXPECT_LT(ProbeRuns(after, "tuned"), ProbeRuns(before, "tuned"));
  // The removed probe is gone from every family; the new one runs.
  for (const auto& family : after) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) EXPECT_NE(l.value, "gone") << family.name;
    }
  }
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "new") >= 3; }));
  EXPECT_EQ(ValueOrZero(d.Collect(), "sloprobe_config_last_reload_successful", {}), 1);
}

TEST(Reload, ABadConfigurationChangesNothingAndSaysWhere) {
  TestbedServer bed;
  DaemonRunner d(ConfigFromYaml(Config(Probe("a", bed.Url("/health")))));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "a") >= 3; }));
  const double reloaded_at =
      ValueOrZero(d.Collect(), "sloprobe_config_last_reload_success_timestamp_seconds", {});

  const auto outcome = d.Reload(Config(Probe("a", bed.Url("/health"), "    intervl: 1s\n")));
  EXPECT_FALSE(outcome.ok);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_NE(outcome.errors[0].find("t.yml:6:5:"), std::string::npos) << outcome.errors[0];
  EXPECT_NE(outcome.errors[0].find("did you mean 'interval'"), std::string::npos);

  auto f = d.Collect();
  EXPECT_EQ(ValueOrZero(f, "sloprobe_config_last_reload_successful", {}), 0);
  EXPECT_EQ(ValueOrZero(f, "sloprobe_config_last_reload_success_timestamp_seconds", {}),
            reloaded_at);
  // The running probe goes on.
  const double runs = ProbeRuns(f, "a");
  ASSERT_TRUE(d.WaitFor([&](const Families& g) { return ProbeRuns(g, "a") >= runs + 3; }));

  // A probe that loads but cannot be set up (a CA file that is no
  // certificate) fails the reload too, before anything changed.
  TempDir dir;
  const auto ca = dir.Path() / "ca.pem";
  std::ofstream(ca) << "not a certificate\n";
  const auto bad_ca = d.Reload(Config(Probe("a", bed.Url("/health")) +
                                      "  - name: tls\n    type: http\n    request:\n"
                                      "      url: \"https://127.0.0.1:1/\"\n"
                                      "      tls: {ca_file: \"" +
                                      ca.string() + "\"}\n"));
  EXPECT_FALSE(bad_ca.ok);
  ASSERT_EQ(bad_ca.errors.size(), 1u);
  EXPECT_EQ(bad_ca.errors[0].rfind("t.yml:6:5: probe 'tls': cannot load TLS trust settings", 0), 0u)
      << bad_ca.errors[0];
  EXPECT_EQ(bad_ca.errors[0].find("unknown key"), std::string::npos) << bad_ca.errors[0];
  EXPECT_FALSE(HasSeries(d.Collect(), "sloprobe_probe_runs_total", {{"probe", "tls"}}));

  EXPECT_TRUE(d.Reload(Config(Probe("a", bed.Url("/health")))).ok);
  f = d.Collect();
  EXPECT_EQ(ValueOrZero(f, "sloprobe_config_last_reload_successful", {}), 1);
  EXPECT_GT(ValueOrZero(f, "sloprobe_config_last_reload_success_timestamp_seconds", {}),
            reloaded_at);
}

TEST(Reload, RunsInFlightOfARemovedOrChangedProbeAreCancelledAndRecordNothing) {
  TestbedServer bed;
  bed.SetFaults("- {route: /slow, delay: 5s}\n");
  DaemonRunner d(ConfigFromYaml("global: {interval: 100ms, timeout: 10s}\nprobes:\n" +
                                Probe("stuck", bed.Url("/slow")) + Probe("held", bed.Url("/slow")) +
                                Probe("ok", bed.Url("/health"))));
  // Both slow probes have a run in flight once their first start has passed.
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return ValueOrZero(f, "sloprobe_scheduler_lag_seconds_count", {}) >= 5 &&
           ProbeRuns(f, "ok") >= 2;
  }));
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = d.Reload("global: {interval: 100ms, timeout: 10s}\nprobes:\n" +
                                Probe("held", bed.Url("/slow"), "    jitter: 1ms\n") +
                                Probe("ok", bed.Url("/health")));
  ASSERT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.changed, 1u);
  EXPECT_EQ(outcome.removed, 1u);
  // The cancelled runs ended long before their 5 s answer and recorded
  // nothing: no series for the removed probe, no run for the restarted one.
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "ok") >= 20; }));
  const auto f = d.Collect();
  EXPECT_FALSE(HasSeries(f, "sloprobe_probe_runs_total", {{"probe", "stuck"}}));
  EXPECT_EQ(ProbeRuns(f, "held"), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_LT(d.Stop(), 2s);
}

// An unchanged probe keeps its schedule across reloads: while another probe is
// replaced a hundred times, its counters never go back and every planned start
// is accounted for exactly once, as a run or (when the previous run is still
// going, as happens on a loaded machine under sanitizers) as a counted skip.
TEST(Reload, AHundredReloadsUnderLoadLoseNoRunOfAnUnchangedProbe) {
  TestbedServer bed;
  auto config = [&](int i) {
    return "global: {interval: 20ms, timeout: 1s}\nprobes:\n" +
           Probe("steady", bed.Url("/health")) +
           Probe("churn", bed.Url("/health"),
                 "    objectives: {latency: {threshold: " + std::to_string(100 + i) + "ms}}\n");
  };
  DaemonRunner d(ConfigFromYaml(config(0)));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "steady") >= 5; }));
  const auto t0 = std::chrono::steady_clock::now();
  const auto starts = [](const Families& f) {
    return ProbeRuns(f, "steady") +
           ValueOrZero(f, "sloprobe_probe_skipped_total", {{"probe", "steady"}});
  };
  const auto before = d.Collect();
  const auto t1 = std::chrono::steady_clock::now();
  const double lag_before = ValueOrZero(before, "sloprobe_scheduler_lag_seconds_count", {});
  const double starts_before = starts(before);
  double last = ProbeRuns(before, "steady");
  for (int i = 1; i <= 100; ++i) {
    const auto outcome = d.Reload(config(i));
    ASSERT_TRUE(outcome.ok);
    ASSERT_EQ(outcome.unchanged, 1u);
    ASSERT_EQ(outcome.changed, 1u);
    const double now = ProbeRuns(d.Collect(), "steady");
    ASSERT_GE(now, last) << "the unchanged probe's counter went back at reload " << i;
    last = now;
    std::this_thread::sleep_for(5ms);  // pacing between reloads, not an assertion
  }
  ASSERT_TRUE(d.WaitFor([&](const Families& f) { return ProbeRuns(f, "steady") >= last + 5; }));
  const auto t2 = std::chrono::steady_clock::now();
  d.Stop();
  const auto t3 = std::chrono::steady_clock::now();
  const auto f = d.Collect();
  EXPECT_EQ(ValueOrZero(f, "sloprobe_probe_duration_seconds_count", {{"probe", "steady"}}),
            ProbeRuns(f, "steady"));
  // Neither lost (a schedule reset or a cancelled run) nor doubled (a second
  // schedule). The window is bounded from inside (t1..t2) and outside
  // (t0..t3); a run in flight at either end may fall on the other side.
  const double inner = std::chrono::duration<double>(t2 - t1) / 20ms;
  const double outer = std::chrono::duration<double>(t3 - t0) / 20ms;
  EXPECT_GE(starts(f) - starts_before, std::floor(inner) - 2);
  EXPECT_LE(starts(f) - starts_before, std::ceil(outer) + 2);
  EXPECT_GT(ValueOrZero(f, "sloprobe_scheduler_lag_seconds_count", {}), lag_before);
  EXPECT_EQ(ValueOrZero(f, "sloprobe_objective_latency_seconds", {{"probe", "churn"}}), 0.2);
}

}  // namespace
}  // namespace sloprobe::test

namespace sloprobe::test {
namespace {

TEST(Reload, LifecycleEndpointReloadsTheFileOnlyWhenEnabled) {
  TestbedServer bed;
  TempDir dir;
  const auto file = dir.Path() / "sloprobe.yml";
  auto write = [&](const std::string& yaml) { std::ofstream(file) << yaml; };
  const std::string first = Config(Probe("a", bed.Url("/health")));
  write(first);

  daemon::DaemonOptions closed;
  closed.config_file = file.string();
  DaemonRunner off(ConfigFromYaml(first), closed);
  EXPECT_EQ(HttpRequest(off.Port(), "POST", "/-/reload").status, 403);
  off.Stop();

  daemon::DaemonOptions open = closed;
  open.enable_lifecycle = true;
  DaemonRunner on(ConfigFromYaml(first), open);
  EXPECT_EQ(HttpRequest(on.Port(), "GET", "/-/reload").status, 405);

  write(Config(Probe("a", bed.Url("/health")) + Probe("b", bed.Url("/health"))));
  const auto ok = HttpRequest(on.Port(), "POST", "/-/reload");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(HasSeries(on.Collect(), "sloprobe_probe_runs_total", {{"probe", "b"}}));

  write("probes: [\n");
  const auto bad = HttpRequest(on.Port(), "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_NE(bad.body.find(file.string() + ":"), std::string::npos) << bad.body;
  EXPECT_TRUE(HasSeries(on.Collect(), "sloprobe_probe_runs_total", {{"probe", "b"}}));
  EXPECT_EQ(ValueOrZero(on.Collect(), "sloprobe_config_last_reload_successful", {}), 0);
}

}  // namespace
}  // namespace sloprobe::test
