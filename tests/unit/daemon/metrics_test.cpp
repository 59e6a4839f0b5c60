#include "daemon/metrics.hpp"

#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "tests/support/metrics_helper.hpp"

namespace sloprobe::daemon {
namespace {

using namespace std::chrono_literals;
using test::MetricValue;

config::ProbeConfig Probe(const std::string& extra) {
  auto r = config::LoadConfigString(
      "probes:\n  - name: p\n    type: http\n    request: {url: \"https://h/\"}\n" + extra,
      "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0];
}

probes::ProbeResult Result(probes::Duration d, probes::Reason reason = probes::Reason::kOk) {
  probes::ProbeResult r;
  r.duration = d;
  r.reason = reason;
  probes::StepResult step;
  step.name = "request";
  step.phases.connect = 100us;
  step.phases.ttfb = d / 2;
  r.steps.push_back(step);
  return r;
}

TEST(Metrics, ThresholdBecomesABucketBoundary) {
  EXPECT_EQ(WithBoundaries({0.1, 0.5, 1}, {0.2, 0.5}), (std::vector<double>{0.1, 0.2, 0.5, 1}));
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm =
      metrics.ForProbe(Probe("    objectives: {latency: {quantile: 0.95, threshold: 37ms}}\n"));
  pm->Record(Result(37ms), 1000);  // exactly at the threshold: in the bucket, not slow
  pm->Record(Result(38ms), 1000);
  const auto families = metrics.Collect();
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_duration_seconds_bucket",
                        {{"probe", "p"}, {"le", "0.037"}}),
            1);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_slow_total", {{"probe", "p"}}), 1);
  EXPECT_EQ(MetricValue(families, "sloprobe_objective_latency_seconds", {{"probe", "p"}}), 0.037);
  EXPECT_EQ(MetricValue(families, "sloprobe_objective_latency_quantile", {{"probe", "p"}}), 0.95);
}

TEST(Metrics, FailureCountersStartAtZeroForTheReasonsThatApply) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(Probe("    objectives: {error_ratio: 0.01}\n"));
  auto families = metrics.Collect();
  for (const char* reason : {"dns", "connect", "tls", "timeout", "http_status", "rate_limited",
                             "expectation", "body_too_large", "protocol", "truncated", "auth"}) {
    EXPECT_EQ(MetricValue(families, "sloprobe_probe_failures_total",
                          {{"probe", "p"}, {"reason", reason}, {"step", "request"}}),
              0)
        << reason;
  }
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_probe_failures_total",
                               {{"probe", "p"}, {"reason", "no_tokens"}}));
  // No latency objective, so no "slow" series.
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_probe_slow_total", {{"probe", "p"}}));
  pm->Record(Result(5ms, probes::Reason::kTimeout), 1234);
  pm->Record(Result(5ms), 1235);
  families = metrics.Collect();
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_failures_total",
                        {{"probe", "p"}, {"reason", "timeout"}, {"step", "request"}}),
            1);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_runs_total", {{"probe", "p"}}), 2);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_success", {{"probe", "p"}}), 1);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_last_run_timestamp_seconds", {{"probe", "p"}}),
            1235);
  EXPECT_EQ(MetricValue(families, "sloprobe_objective_error_ratio", {{"probe", "p"}}), 0.01);
  EXPECT_EQ(MetricValue(families, "sloprobe_http_phase_duration_seconds_count",
                        {{"probe", "p"}, {"step", "request"}, {"phase", "connect"}}),
            2);
  // Phases that did not happen have no samples (and here no series).
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_http_phase_duration_seconds_count",
                               {{"probe", "p"}, {"step", "request"}, {"phase", "tls"}}));
}

TEST(Metrics, IntervalAndFailuresInARowAreExported) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(Probe("    interval: 45s\n"));
  const test::LabelSet labels{{"probe", "p"}};
  auto in_a_row = [&] {
    return MetricValue(metrics.Collect(), "sloprobe_probe_consecutive_failures", labels);
  };
  EXPECT_EQ(MetricValue(metrics.Collect(), "sloprobe_probe_interval_seconds", labels), 45);
  EXPECT_EQ(in_a_row(), 0);
  pm->Record(Result(5ms, probes::Reason::kTimeout), 1);
  pm->Record(Result(5ms, probes::Reason::kConnect), 2);
  EXPECT_EQ(in_a_row(), 2);
  pm->Record(Result(5ms), 3);
  EXPECT_EQ(in_a_row(), 0);
  pm->Record(Result(5ms, probes::Reason::kTimeout), 4);
  EXPECT_EQ(in_a_row(), 1);
}

config::ProbeConfig LlmProbe(const std::string& objectives) {
  auto r = config::LoadConfigString(
      "probes:\n  - name: chat\n    type: llm_stream\n    api: openai\n"
      "    url: \"http://h/v1/chat/completions\"\n    model: m\n    prompt: hi\n" +
          objectives,
      "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0];
}

// Each LLM objective counts the samples above its threshold, and the
// threshold is a bucket boundary, so slow == _count - _bucket{le=threshold}.
TEST(Metrics, LlmObjectivesCountSlowSamples) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(
      LlmProbe("    objectives: {ttft: {threshold: 300ms}, inter_chunk: {threshold: 40ms},\n"
               "                 e2e: {threshold: 2s}}\n"));
  auto run = [&](probes::Duration ttft, std::vector<probes::Duration> gaps, probes::Duration e2e) {
    probes::ProbeResult r = Result(e2e);
    r.stream = probes::StreamTimings{};
    r.stream->ttft = ttft;
    r.stream->gaps = std::move(gaps);
    r.stream->e2e = e2e;
    pm->Record(r, 1);
  };
  run(300ms, {40ms, 41ms, 10ms}, 2s);         // exactly at: not slow, except one gap
  run(301ms, {100ms}, 2001ms);                // all slow
  run(50ms, {1ms, 39ms, 45ms, 90ms}, 500ms);  // two slow gaps
  const auto families = metrics.Collect();
  const test::LabelSet labels{{"probe", "chat"}, {"api", "openai"}, {"model", "m"}};
  struct Case {
    const char* slow;
    const char* histogram;
    const char* le;
    double want;
  };
  for (const auto& c :
       {Case{"sloprobe_llm_ttft_slow_total", "sloprobe_llm_time_to_first_token_seconds", "0.3", 1},
        Case{"sloprobe_llm_inter_chunk_slow_total", "sloprobe_llm_inter_chunk_seconds", "0.04", 4},
        Case{"sloprobe_llm_e2e_slow_total", "sloprobe_llm_time_to_last_token_seconds", "2", 1}}) {
    SCOPED_TRACE(c.slow);
    EXPECT_EQ(MetricValue(families, c.slow, labels), c.want);
    auto with_le = labels;
    with_le["le"] = c.le;
    EXPECT_EQ(MetricValue(families, std::string(c.histogram) + "_count", labels) -
                  MetricValue(families, std::string(c.histogram) + "_bucket", with_le),
              c.want);
  }
}

TEST(Metrics, LlmSlowCountersExistOnlyWithTheirObjective) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(LlmProbe("    objectives: {ttft: {threshold: 300ms}}\n"));
  const auto families = metrics.Collect();
  const test::LabelSet labels{{"probe", "chat"}, {"api", "openai"}, {"model", "m"}};
  EXPECT_EQ(MetricValue(families, "sloprobe_llm_ttft_slow_total", labels), 0);
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_llm_inter_chunk_slow_total", labels));
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_llm_e2e_slow_total", labels));
}

TEST(Metrics, RemovingAProbeRemovesItsSeries) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  {
    auto pm =
        metrics.ForProbe(Probe("    objectives: {latency: {threshold: 1s}, error_ratio: 0.1}\n"));
    pm->Record(Result(5ms, probes::Reason::kTls), 1);
    EXPECT_TRUE(test::HasSeries(metrics.Collect(), "sloprobe_probe_runs_total", {{"probe", "p"}}));
  }
  {
    auto pm = metrics.ForProbe(
        LlmProbe("    objectives: {ttft: {threshold: 1s}, inter_chunk: {threshold: 1s},\n"
                 "                 e2e: {threshold: 1s}}\n"));
    EXPECT_TRUE(test::HasSeries(metrics.Collect(), "sloprobe_llm_e2e_slow_total",
                                {{"probe", "chat"}, {"api", "openai"}, {"model", "m"}}));
  }
  for (const auto& family : metrics.Collect()) {
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        EXPECT_NE(l.value, "p") << family.name;
        EXPECT_NE(l.value, "chat") << family.name;
      }
    }
  }
}

TEST(Metrics, CustomBucketsAreUsed) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(Probe(
      "    objectives: {latency: {threshold: 150ms}}\n    buckets: {duration: [0.1, 0.2]}\n"));
  pm->Record(Result(120ms), 1);
  const auto families = metrics.Collect();
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_duration_seconds_bucket",
                        {{"probe", "p"}, {"le", "0.15"}}),
            1);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_duration_seconds_bucket",
                        {{"probe", "p"}, {"le", "0.1"}}),
            0);
}

config::ProbeConfig Scenario() {
  auto r = config::LoadConfigString(R"yaml(probes:
  - name: s
    type: scenario
    steps:
      - {name: login, request: {url: "http://h/login"}, cache: {ttl: 1m}}
      - {name: list, request: {url: "https://h/agents"}}
      - {name: delete, always: true, request: {url: "http://h/agents/1"}}
)yaml",
                                    "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes[0];
}

probes::StepResult Step(std::string name, probes::Reason reason = probes::Reason::kOk) {
  probes::StepResult s;
  s.name = std::move(name);
  s.duration = 10ms;
  s.phases.ttfb = 5ms;
  s.reason = reason;
  return s;
}

TEST(Metrics, ScenarioSeriesAreLabelledByStep) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto pm = metrics.ForProbe(Scenario());
  auto families = metrics.Collect();
  // Failure counters per step from the start; tls only where https may be used.
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_failures_total",
                        {{"probe", "s"}, {"step", "list"}, {"reason", "tls"}}),
            0);
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_probe_failures_total",
                               {{"probe", "s"}, {"step", "login"}, {"reason", "tls"}}));
  EXPECT_EQ(MetricValue(families, "sloprobe_scenario_cleanup_failures_total",
                        {{"probe", "s"}, {"step", "delete"}, {"reason", "http_status"}}),
            0);
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_scenario_cleanup_failures_total",
                               {{"probe", "s"}, {"step", "list"}, {"reason", "http_status"}}));
  for (const char* result : {"reused", "new", "retry"}) {
    EXPECT_EQ(MetricValue(families, "sloprobe_scenario_logins_total",
                          {{"probe", "s"}, {"step", "login"}, {"result", result}}),
              0);
  }

  // Run 1: login sent, list fails, cleanup fails too.
  probes::ProbeResult r1;
  r1.duration = 30ms;
  r1.reason = probes::Reason::kHttpStatus;
  r1.step = "list";
  r1.steps = {Step("login"), Step("list", probes::Reason::kHttpStatus),
              Step("delete", probes::Reason::kTimeout)};
  r1.steps[0].login = probes::StepResult::Login::kNew;
  r1.steps[2].cleanup = true;
  // Run 2: login reused (not sent); list gets 401, login again, list again.
  probes::ProbeResult r2;
  r2.duration = 30ms;
  r2.steps = {Step("login"), Step("list", probes::Reason::kAuth), Step("login"), Step("list"),
              Step("delete")};
  r2.steps[0].sent = false;
  r2.steps[0].login = probes::StepResult::Login::kReused;
  r2.steps[1].retried = true;
  r2.steps[2].login = probes::StepResult::Login::kRetry;
  r2.steps[4].cleanup = true;
  pm->Record(r1, 1);
  pm->Record(r2, 2);
  families = metrics.Collect();
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_failures_total",
                        {{"probe", "s"}, {"step", "list"}, {"reason", "http_status"}}),
            1);
  EXPECT_EQ(test::SumValues(families, "sloprobe_probe_failures_total", {{"probe", "s"}}), 1);
  EXPECT_EQ(MetricValue(families, "sloprobe_scenario_cleanup_failures_total",
                        {{"probe", "s"}, {"step", "delete"}, {"reason", "timeout"}}),
            1);
  for (auto [result, count] : {std::pair{"reused", 1}, {"new", 1}, {"retry", 1}}) {
    EXPECT_EQ(MetricValue(families, "sloprobe_scenario_logins_total",
                          {{"probe", "s"}, {"step", "login"}, {"result", result}}),
              count)
        << result;
  }
  // Every sent step is observed, the 401 attempt included; a reused login is not.
  EXPECT_EQ(MetricValue(families, "sloprobe_step_duration_seconds_count",
                        {{"probe", "s"}, {"step", "login"}}),
            2);
  EXPECT_EQ(MetricValue(families, "sloprobe_step_duration_seconds_count",
                        {{"probe", "s"}, {"step", "list"}}),
            3);
  EXPECT_EQ(MetricValue(families, "sloprobe_http_phase_duration_seconds_count",
                        {{"probe", "s"}, {"step", "list"}, {"phase", "ttfb"}}),
            3);
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_duration_seconds_count", {{"probe", "s"}}), 2);
  pm->RecordPostponed();
  families = metrics.Collect();
  EXPECT_EQ(MetricValue(families, "sloprobe_probe_postponed_total", {{"probe", "s"}}), 1);
  // Http probes export no step histogram: their one step is the whole run.
  auto http = metrics.ForProbe(Probe(""));
  http->Record(Result(5ms), 3);
  families = metrics.Collect();
  EXPECT_FALSE(test::HasSeries(families, "sloprobe_step_duration_seconds_count",
                               {{"probe", "p"}, {"step", "request"}}));
  // Removing the probe removes every series it had.
  pm.reset();
  http.reset();
  for (const auto& f : metrics.Collect()) {
    for (const auto& m : f.metric) {
      for (const auto& label : m.label) EXPECT_NE(label.name, "probe") << f.name;
    }
  }
}

TEST(ProcessCollector, ReportsThisProcess) {
  ProcessCollector c;
  const auto families = c.Collect();
  EXPECT_GT(MetricValue(families, "process_resident_memory_bytes", {}), 1 << 20);
  EXPECT_GE(MetricValue(families, "process_open_fds", {}), 3);
  EXPECT_GT(MetricValue(families, "process_start_time_seconds", {}), 1.6e9);
  EXPECT_GE(MetricValue(families, "process_cpu_seconds_total", {}), 0);
}

}  // namespace
}  // namespace sloprobe::daemon
