// The daemon end to end in-process: scheduler, probes against the testbed,
// the metrics they produce, and the web endpoints.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "daemon/log.hpp"
#include "tests/integration/harness.hpp"

namespace sloprobe::test {
namespace {

using namespace std::chrono_literals;
using Families = std::vector<prometheus::MetricFamily>;

std::string ProbeYaml(const std::string& name, const std::string& url, const std::string& extra) {
  return "  - name: " + name + "\n    type: http\n    request: {url: \"" + url + "\"}\n" + extra;
}

TEST(Daemon, EachFaultGivesItsReasonAndTheCountsAddUp) {
  TestbedServer bed;
  bed.SetFaults(R"(
- {route: /agents, action: reset_mid_body}
- {route: /loop, error_ratio: 1, error_status: 500}
)");
  const std::string yaml =
      "global: {interval: 50ms, timeout: 1s}\nprobes:\n" +
      ProbeYaml(
          "ok", bed.Url("/health"),
          "    objectives: {latency: {quantile: 0.9, threshold: 500ms}, error_ratio: 0.1}\n") +
      ProbeYaml("truncated", bed.Url("/agents"), "") + ProbeYaml("status", bed.Url("/loop"), "");
  DaemonRunner d(ConfigFromYaml(yaml));
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return ProbeRuns(f, "ok") >= 10 && ProbeRuns(f, "truncated") >= 10 &&
           ProbeRuns(f, "status") >= 10;
  }));
  d.Stop();
  const auto f = d.Collect();
  // Every run of a failing probe is counted under exactly one reason.
  EXPECT_EQ(SumValues(f, "sloprobe_probe_failures_total", {{"probe", "ok"}}), 0);
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "truncated"}, {"reason", "truncated"}, {"step", "request"}}),
            ProbeRuns(f, "truncated"));
  EXPECT_EQ(SumValues(f, "sloprobe_probe_failures_total", {{"probe", "truncated"}}),
            ProbeRuns(f, "truncated"));
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "status"}, {"reason", "http_status"}, {"step", "request"}}),
            ProbeRuns(f, "status"));
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_success", {{"probe", "ok"}}), 1);
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_success", {{"probe", "status"}}), 0);
  // Histogram counts agree with the run counters.
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_duration_seconds_count", {{"probe", "ok"}}),
            ProbeRuns(f, "ok"));
  EXPECT_EQ(MetricValue(f, "sloprobe_http_phase_duration_seconds_count",
                        {{"probe", "ok"}, {"step", "request"}, {"phase", "ttfb"}}),
            ProbeRuns(f, "ok"));
  EXPECT_EQ(
      MetricValue(f, "sloprobe_probe_duration_seconds_bucket", {{"probe", "ok"}, {"le", "0.5"}}),
      ProbeRuns(f, "ok"));
  // Every started run was measured for lag. Runs still in flight at the
  // stop (at most one per probe here) were cancelled and recorded nothing.
  const double finished = ProbeRuns(f, "ok") + ProbeRuns(f, "truncated") + ProbeRuns(f, "status");
  const double started = MetricValue(f, "sloprobe_scheduler_lag_seconds_count", {});
  EXPECT_GE(started, finished);
  EXPECT_LE(started, finished + 3);
  EXPECT_EQ(MetricValue(f, "sloprobe_config_last_reload_successful", {}), 1);
}

TEST(Daemon, AStalledTargetIsSkippedAndStallsNothingElse) {
  TestbedServer bed;
  bed.SetFaults("- {route: /agents, action: stall}");
  const std::string yaml = "global: {interval: 50ms}\nprobes:\n" +
                           ProbeYaml("stalled", bed.Url("/agents"), "    timeout: 1s\n") +
                           ProbeYaml("fine", bed.Url("/health"), "    timeout: 1s\n");
  const auto started = std::chrono::steady_clock::now();
  DaemonRunner d(ConfigFromYaml(yaml));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "stalled") >= 2; }, 5s));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  d.Stop();
  const auto f = d.Collect();
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_failures_total",
                        {{"probe", "stalled"}, {"reason", "timeout"}, {"step", "request"}}),
            ProbeRuns(f, "stalled"));
  // While each stalled run waited out its second, the slots in between were
  // skipped, not queued.
  EXPECT_GE(MetricValue(f, "sloprobe_probe_skipped_total", {{"probe", "stalled"}}), 30);
  // The healthy probe kept its rate: about one run per 50 ms.
  const double expected = std::chrono::duration<double>(elapsed).count() / 0.05;
  EXPECT_GT(ProbeRuns(f, "fine"), expected * 0.8);
  EXPECT_EQ(MetricValue(f, "sloprobe_probe_skipped_total", {{"probe", "fine"}}), 0);
}

TEST(Daemon, StopsPromptlyWithRunsInFlight) {
  TestbedServer bed;
  bed.SetFaults("- {route: /health, action: stall}");
  const std::string yaml = "global: {interval: 20ms, timeout: 30s, max_in_flight: 5}\nprobes:\n" +
                           ProbeYaml("stuck", bed.Url("/health"), "");
  DaemonRunner d(ConfigFromYaml(yaml));
  ASSERT_TRUE(d.WaitFor([](const Families& f) {
    return MetricValue(f, "sloprobe_scheduler_lag_seconds_count", {}) >= 5;
  }));
  // Five runs wait on a server that never answers; stopping cancels them
  // instead of waiting out their 30 s timeout.
  const auto took = d.Stop();
  EXPECT_LT(took, 1000ms);
  // Cancelled runs are not recorded as failures of the target.
  EXPECT_EQ(ProbeRuns(d.Collect(), "stuck"), 0);
}

TEST(Daemon, ServesMetricsAndLifecycleEndpoints) {
  testbed::Options options;
  options.api_keys["it-secret-api-key-value"] = "probe";
  TestbedServer bed(options);
  ::setenv("SLOPROBE_IT_KEY", "it-secret-api-key-value", 1);
  const std::string yaml =
      "global: {interval: 50ms}\nsecrets: {key: {env: SLOPROBE_IT_KEY}}\nprobes:\n"
      "  - name: agents\n    type: http\n    request:\n      url: \"" +
      bed.Url("/agents") +
      "\"\n      headers: {Authorization: \"Bearer ${secrets.key}\"}\n"
      "    objectives: {latency: {quantile: 0.95, threshold: 20ms}}\n";
  DaemonRunner d(ConfigFromYaml(yaml));
  ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "agents") >= 2; }));
  EXPECT_EQ(MetricValue(d.Collect(), "sloprobe_probe_success", {{"probe", "agents"}}), 1);
  const auto metrics = HttpRequest(d.Port(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* needle :
       {"# HELP sloprobe_probe_duration_seconds ",
        "# TYPE sloprobe_probe_duration_seconds histogram",
        "sloprobe_probe_duration_seconds_bucket{probe=\"agents\",le=\"0.02\"}",
        "sloprobe_objective_latency_seconds{probe=\"agents\"} 0.02",
        "sloprobe_build_info{version=", "process_cpu_seconds_total ",
        "process_resident_memory_bytes ", "process_open_fds ", "process_start_time_seconds "}) {
    EXPECT_NE(metrics.body.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(metrics.body.find("it-secret-api-key-value"), std::string::npos);
  EXPECT_EQ(HttpRequest(d.Port(), "GET", "/-/healthy").status, 200);
  EXPECT_EQ(HttpRequest(d.Port(), "GET", "/-/ready").status, 200);
  EXPECT_EQ(HttpRequest(d.Port(), "GET", "/nope").status, 404);
  EXPECT_EQ(HttpRequest(d.Port(), "POST", "/metrics").status, 405);
  // HEAD: the header a GET gets, without the body.
  const auto head = HttpRequest(d.Port(), "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, metrics.content_type);
  EXPECT_TRUE(head.chunked);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(HttpRequest(d.Port(), "HEAD", "/-/healthy").status, 200);
}

TEST(Daemon, LogsStateChangesNotEveryRun) {
  std::ostringstream log;
  daemon::Logger::Get().Configure(daemon::LogLevel::kInfo, daemon::LogFormat::kLogfmt, &log);
  {
    TestbedServer bed;
    bed.SetFaults("- {route: /health, error_ratio: 1, error_status: 503}");
    DaemonRunner d(ConfigFromYaml("global: {interval: 20ms}\nprobes:\n" +
                                  ProbeYaml("flappy", bed.Url("/health"), "")));
    ASSERT_TRUE(d.WaitFor([](const Families& f) { return ProbeRuns(f, "flappy") >= 10; }));
    bed.SetFaults("");
    ASSERT_TRUE(d.WaitFor([](const Families& f) {
      return MetricValue(f, "sloprobe_probe_success", {{"probe", "flappy"}}) == 1;
    }));
    const double runs = ProbeRuns(d.Collect(), "flappy");
    ASSERT_TRUE(d.WaitFor([&](const Families& f) { return ProbeRuns(f, "flappy") >= runs + 10; }));
  }
  daemon::Logger::Get().Configure(daemon::LogLevel::kInfo, daemon::LogFormat::kLogfmt, &std::cerr);
  const auto text = log.str();
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("msg=\"probe failing\" probe=flappy reason=http_status "
                  "detail=\"status 503, expected 2xx\""),
            1u)
      << text;
  EXPECT_EQ(count("msg=\"probe recovered\" probe=flappy"), 1u) << text;
}

}  // namespace
}  // namespace sloprobe::test
