#include "daemon/recent.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace sloprobe::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

probes::ProbeResult Result(milliseconds duration, probes::Reason reason = probes::Reason::kOk) {
  probes::ProbeResult r;
  r.duration = duration;
  r.reason = reason;
  return r;
}

LatencySamples Samples(std::vector<double> s) { return LatencySamples{std::move(s)}; }

TEST(LatencySamples, QuantileIsNearestRank) {
  // 1..100: p50 is the 50th value, p95 the 95th, p99 the 99th.
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);
  const auto s = Samples(values);
  EXPECT_EQ(s.Quantile(0.5), 50);
  EXPECT_EQ(s.Quantile(0.95), 95);
  EXPECT_EQ(s.Quantile(0.99), 99);
  EXPECT_EQ(s.Quantile(1.0), 100);
  EXPECT_EQ(Samples({7}).Quantile(0.5), 7);
  EXPECT_FALSE(Samples({}).Quantile(0.5));
}

TEST(LatencySamples, SlowRatioCountsOnlySamplesAboveTheThreshold) {
  const auto s = Samples({0.1, 0.2, 0.2, 0.3});
  EXPECT_DOUBLE_EQ(*s.SlowRatio(0.2), 0.25);  // equal is not slower, as le buckets count it
  EXPECT_DOUBLE_EQ(*s.SlowRatio(0.05), 1.0);
  EXPECT_FALSE(Samples({}).SlowRatio(1));
}

config::Objectives LatencyAndErrors(milliseconds threshold, double quantile, double errors) {
  config::Objectives o;
  o.latency = config::LatencyObjective{quantile, threshold};
  o.error_ratio = errors;
  return o;
}

TEST(Judge, LatencyObjectiveHoldsUpToOneMinusQuantileSlow) {
  RunSamples samples;
  for (int i = 0; i < 95; ++i) samples.Add(Result(milliseconds(10)));
  for (int i = 0; i < 5; ++i) samples.Add(Result(milliseconds(300)));
  auto verdicts = Judge(LatencyAndErrors(milliseconds(200), 0.95, 0.01), samples);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].objective, "latency");
  EXPECT_TRUE(verdicts[0].met) << "exactly 5 % slower is within a p95";
  EXPECT_DOUBLE_EQ(*verdicts[0].ratio, 0.05);
  EXPECT_DOUBLE_EQ(*verdicts[0].observed, 0.01);  // the 95th value
  EXPECT_EQ(verdicts[0].Describe(), "latency p95 <= 200ms");

  samples.Add(Result(milliseconds(300)));
  verdicts = Judge(LatencyAndErrors(milliseconds(200), 0.95, 0.01), samples);
  EXPECT_FALSE(verdicts[0].met) << "6 of 101 slower breaches a p95";
}

TEST(Verdict, TextsForPeople) {
  EXPECT_EQ(LatencyText(std::nullopt), "-");
  EXPECT_EQ(LatencyText(0.00085), "850µs");
  EXPECT_EQ(LatencyText(0.0123), "12.3ms");
  EXPECT_EQ(LatencyText(1.523), "1.52s");
  EXPECT_EQ(RatioText(0), "0.0%");
  EXPECT_EQ(RatioText(0.025), "2.5%");
  EXPECT_EQ(RatioText(0.00012), "0.012%");
  Verdict v;
  v.objective = "latency";
  EXPECT_EQ(v.Measured(), "no samples");
  v.observed = 0.0048;
  v.ratio = 0.005;
  EXPECT_EQ(v.Measured(), "measured 4.8ms, 0.5% slower");
  v.objective = "error_ratio";
  v.observed = 0.02;
  EXPECT_EQ(v.Measured(), "measured 2.0%");
}

TEST(Judge, ErrorRatioCountsFailedRuns) {
  RunSamples samples;
  for (int i = 0; i < 99; ++i) samples.Add(Result(milliseconds(1)));
  samples.Add(Result(milliseconds(1), probes::Reason::kHttpStatus));
  auto verdicts = Judge(LatencyAndErrors(milliseconds(200), 0.95, 0.01), samples);
  EXPECT_EQ(verdicts[1].objective, "error_ratio");
  EXPECT_TRUE(verdicts[1].met);
  EXPECT_EQ(verdicts[1].Describe(), "error ratio <= 1%");
  samples.Add(Result(milliseconds(1), probes::Reason::kTimeout));
  verdicts = Judge(LatencyAndErrors(milliseconds(200), 0.95, 0.01), samples);
  EXPECT_FALSE(verdicts[1].met);
  EXPECT_DOUBLE_EQ(*verdicts[1].observed, 2.0 / 101);
  EXPECT_EQ(samples.failures_by_reason[static_cast<std::size_t>(probes::Reason::kTimeout)], 1u);
}

TEST(Judge, LlmObjectivesUseTheirOwnSamples) {
  config::Objectives o;
  o.ttft = config::LatencyObjective{0.5, milliseconds(100)};
  o.inter_chunk = config::LatencyObjective{0.5, milliseconds(10)};
  RunSamples samples;
  auto r = Result(milliseconds(900));
  r.stream.emplace();
  r.stream->ttft = milliseconds(50);
  r.stream->gaps = {milliseconds(5), milliseconds(20), milliseconds(30)};
  samples.Add(r);
  const auto verdicts = Judge(o, samples);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_TRUE(verdicts[0].met) << "ttft 50ms, whole run 900ms";
  EXPECT_FALSE(verdicts[1].met) << "two of three gaps over 10ms";
  EXPECT_EQ(verdicts[1].Describe(), "inter-chunk p50 <= 10ms");
}

TEST(Judge, LatencyWithoutSamplesIsNotMetOnceThereWereRuns) {
  config::Objectives o;
  o.ttft = config::LatencyObjective{0.95, milliseconds(100)};
  RunSamples samples;
  EXPECT_TRUE(Judge(o, samples)[0].met);
  samples.Add(Result(milliseconds(5), probes::Reason::kNoTokens));
  EXPECT_FALSE(Judge(o, samples)[0].met);
}

TEST(RecentRuns, CapacityCoversTheWindowAtTheInterval) {
  EXPECT_EQ(RecentRuns(std::chrono::minutes(15), seconds(30), RecentRuns::Extra::kNone).Capacity(),
            31u);
  EXPECT_EQ(RecentRuns(std::chrono::minutes(15), seconds(1), RecentRuns::Extra::kNone).Capacity(),
            RecentRuns::kMaxRuns);
}

TEST(RecentRuns, KeepsTheNewestRunsOldestFirst) {
  RecentRuns ring(seconds(40), seconds(10), RecentRuns::Extra::kNone);  // 5 runs
  ASSERT_EQ(ring.Capacity(), 5u);
  for (int i = 0; i < 8; ++i) {
    ring.Add(Result(milliseconds(i), i == 6 ? probes::Reason::kConnect : probes::Reason::kOk),
             1000 + i);
  }
  const auto runs = ring.Since(0);
  ASSERT_EQ(runs.size(), 5u);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    EXPECT_EQ(runs[k].finished_unix, 1003 + static_cast<double>(k));
    const double want = (3 + static_cast<double>(k)) / 1000;
    EXPECT_NEAR(runs[k].seconds, want, want * 3e-4) << "kept to within 0.03 %";
  }
  EXPECT_EQ(runs[3].reason, probes::Reason::kConnect);
  ASSERT_TRUE(ring.Last());
  EXPECT_EQ(ring.Last()->finished_unix, 1007);
  EXPECT_FALSE(RecentRuns(seconds(40), seconds(10), RecentRuns::Extra::kNone).Last());
  EXPECT_EQ(ring.Since(1006).size(), 2u);
  const auto samples = ring.SamplesSince(1005);
  EXPECT_EQ(samples.runs, 3u);
  EXPECT_EQ(samples.failures, 1u);
}

TEST(RecentRuns, KeepsLatenciesToWithinThreeHundredthsOfAPercent) {
  RecentRuns ring(seconds(60), milliseconds(1), RecentRuns::Extra::kNone);
  const std::vector<probes::Duration> durations{std::chrono::nanoseconds(0),
                                                std::chrono::microseconds(1),
                                                std::chrono::microseconds(137),
                                                milliseconds(20),
                                                seconds(3),
                                                std::chrono::hours(30)};
  for (const auto d : durations) {
    probes::ProbeResult r;
    r.duration = d;
    ring.Add(r, 100);
  }
  const auto runs = ring.Since(0);
  ASSERT_EQ(runs.size(), durations.size());
  EXPECT_LE(runs[0].seconds, 1e-6) << "zero stays a sample, at the smallest value";
  for (std::size_t i = 1; i < durations.size(); ++i) {
    const double want = std::chrono::duration<double>(durations[i]).count();
    EXPECT_NEAR(runs[i].seconds, want, want * 2.6e-4) << want;
  }
}

TEST(RecentRuns, KeepsTimeToFirstTokenForStreams) {
  RecentRuns ring(seconds(60), seconds(10), RecentRuns::Extra::kTtft);
  auto r = Result(milliseconds(500));
  r.stream.emplace();
  r.stream->ttft = milliseconds(40);
  ring.Add(r, 10);
  ring.Add(Result(milliseconds(20), probes::Reason::kNoTokens), 11);
  const auto samples = ring.SamplesSince(0);
  ASSERT_EQ(samples.ttft.seconds.size(), 1u);
  EXPECT_NEAR(samples.ttft.seconds[0], 0.04, 0.04 * 3e-4);
}

TEST(RecentRuns, KeepsEachRunsSlowestRoundTripForWebSockets) {
  RecentRuns ring(seconds(60), seconds(10), RecentRuns::Extra::kRoundTrip);
  auto r = Result(milliseconds(50));
  r.round_trips = {milliseconds(3), milliseconds(9), milliseconds(4)};
  ring.Add(r, 10);
  ring.Add(Result(milliseconds(20), probes::Reason::kTimeout), 11);  // no reply at all
  const auto samples = ring.SamplesSince(0);
  ASSERT_EQ(samples.round_trip.seconds.size(), 1u);
  EXPECT_NEAR(samples.round_trip.seconds[0], 0.009, 0.009 * 3e-4);
  EXPECT_TRUE(samples.ttft.seconds.empty());
}

TEST(RecentRuns, KeepsTheExtraLatencyOfWhatAProbeRuns) {
  config::ProbeConfig p;
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kNone);
  p.type = config::ProbeType::kLlmStream;
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kTtft);
  p.type = config::ProbeType::kWebSocket;
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kRoundTrip);
  p.type = config::ProbeType::kScenario;
  p.steps.resize(2);
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kNone);
  p.steps[1].type = config::ProbeType::kWebSocket;
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kRoundTrip);
  p.steps[0].type = config::ProbeType::kLlmStream;
  EXPECT_EQ(RecentRuns::ExtraFor(p), RecentRuns::Extra::kTtft);
}

TEST(RecentRuns, TracksOnlyObjectivesItHasSamplesFor) {
  config::Objectives o;
  o.latency = config::LatencyObjective{0.95, milliseconds(10)};
  o.inter_chunk = config::LatencyObjective{0.95, milliseconds(10)};
  o.e2e = config::LatencyObjective{0.95, milliseconds(10)};
  o.round_trip = config::LatencyObjective{0.95, milliseconds(10)};
  const auto tracked = RecentRuns::Tracked(o);
  EXPECT_TRUE(tracked.latency && tracked.round_trip);
  EXPECT_FALSE(tracked.inter_chunk || tracked.e2e);
  // A scenario with a stream and a WebSocket step keeps TTFT: its
  // round-trip objective is not judged from samples the ring lacks.
  o.ttft = config::LatencyObjective{0.95, milliseconds(10)};
  const RecentRuns ttft_ring(seconds(60), seconds(10), RecentRuns::Extra::kTtft);
  const auto judged = ttft_ring.Judged(o);
  EXPECT_TRUE(judged.latency && judged.ttft);
  EXPECT_FALSE(judged.round_trip || judged.inter_chunk || judged.e2e);
  const RecentRuns rtt_ring(seconds(60), seconds(10), RecentRuns::Extra::kRoundTrip);
  EXPECT_TRUE(rtt_ring.Judged(o).round_trip);
  EXPECT_FALSE(rtt_ring.Judged(o).ttft);
}

TEST(Judge, RoundTripObjectiveCountsEveryMessage) {
  config::Objectives o;
  o.round_trip = config::LatencyObjective{0.5, milliseconds(10)};
  RunSamples samples;
  auto r = Result(milliseconds(100));
  r.round_trips = {milliseconds(5), milliseconds(6), milliseconds(50)};
  samples.Add(r);
  const auto verdicts = Judge(o, samples);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_TRUE(verdicts[0].met) << "one of three over 10ms is within a p50";
  EXPECT_EQ(verdicts[0].Describe(), "round trip p50 <= 10ms");
}

}  // namespace
}  // namespace sloprobe::daemon
