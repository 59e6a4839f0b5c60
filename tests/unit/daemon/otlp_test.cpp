#include "daemon/otlp.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace sloprobe::daemon::otlp {
namespace {

TEST(Otlp, UnitsFollowThePrometheusNameSuffix) {
  EXPECT_EQ(UnitOf("sloprobe_probe_duration_seconds"), "s");
  EXPECT_EQ(UnitOf("process_cpu_seconds_total"), "s");
  EXPECT_EQ(UnitOf("process_resident_memory_bytes"), "By");
  EXPECT_EQ(UnitOf("sloprobe_llm_output_tokens_total"), "{token}");
  EXPECT_EQ(UnitOf("sloprobe_llm_tokens_per_chunk"), "{token}");
  EXPECT_EQ(UnitOf("sloprobe_objective_error_ratio"), "1");
  // No "1" for plain counts: a collector's Prometheus exporter would append
  // "_ratio" to such a gauge's name.
  EXPECT_EQ(UnitOf("sloprobe_probe_success"), "");
  EXPECT_EQ(UnitOf("sloprobe_probe_runs_total"), "");
}

TEST(Otlp, StartTimesStayPutUntilAResetAndForgetRemovedSeries) {
  StartTimes starts(100);
  EXPECT_EQ(starts.For("a", 5, 1000), 100u);  // there at the first export: the process start
  starts.EndPass();
  EXPECT_EQ(starts.For("a", 7, 2000), 100u);
  EXPECT_EQ(starts.For("b", 1, 2000), 2000u);  // new since: now
  starts.EndPass();
  EXPECT_EQ(starts.For("a", 2, 3000), 3000u);  // went down: a reset
  starts.EndPass();                            // "b" not seen in this pass
  EXPECT_EQ(starts.For("b", 9, 4000), 4000u);  // so it is new again
}

TEST(Otlp, FamiliesMapToTheDataModel) {
  prometheus::Registry registry;
  prometheus::BuildCounter()
      .Name("x_runs_total")
      .Help("runs")
      .Register(registry)
      .Add({{"probe", "p"}})
      .Increment(3);
  prometheus::BuildGauge().Name("x_up").Help("up").Register(registry).Add({}).Set(1);
  auto& h = prometheus::BuildHistogram()
                .Name("x_duration_seconds")
                .Help("duration")
                .Register(registry)
                .Add({{"probe", "p"}}, prometheus::Histogram::BucketBoundaries{0.1, 0.5});
  for (double v : {0.05, 0.2, 0.3, 0.7}) h.Observe(v);
  StartTimes starts(10);
  const auto r = ToRequest(registry.Collect(), starts, 99, {{"service.name", "sloprobe"}}, "1");
  ASSERT_EQ(r.metrics.size(), 3u);
  std::map<std::string, const Metric*> by_name;
  for (const auto& m : r.metrics) by_name[m.name] = &m;

  const auto* runs = by_name.at("x_runs");
  EXPECT_EQ(runs->kind, Metric::Kind::kSum);
  EXPECT_EQ(runs->points.at(0).value, 3);
  EXPECT_EQ(runs->points.at(0).start_unix_nano, 10u);
  EXPECT_EQ(runs->points.at(0).attributes, (Attributes{{"probe", "p"}}));

  EXPECT_EQ(by_name.at("x_up")->kind, Metric::Kind::kGauge);
  EXPECT_EQ(by_name.at("x_up")->points.at(0).start_unix_nano, 0u);

  const auto* d = by_name.at("x_duration_seconds");
  EXPECT_EQ(d->kind, Metric::Kind::kHistogram);
  EXPECT_EQ(d->unit, "s");
  const auto& p = d->points.at(0);
  EXPECT_EQ(p.bounds, (std::vector<double>{0.1, 0.5}));
  EXPECT_EQ(p.counts, (std::vector<std::uint64_t>{1, 2, 1}));  // per bucket, +Inf last
  EXPECT_EQ(p.count, 4u);
  EXPECT_DOUBLE_EQ(p.sum, 1.25);
}

}  // namespace
}  // namespace sloprobe::daemon::otlp
