#include "daemon/otlp.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/json/parse.hpp>

#include "daemon/series.hpp"

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
  const auto r = ToRequest(registry.Collect(), starts, 99);
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

// The start of a store series is when it was made: a series a reload
// removed and made again starts anew, one that stays keeps its start.
TEST(Otlp, StoreSeriesStartWhenTheyWereMade) {
  series::Store store;
  auto& runs = store.Make<series::Counter>("x_runs_total", "runs", {"probe"});
  const std::string a = "a", b = "b";
  auto* kept = &runs.Add({a});
  auto* replaced = &runs.Add({b});
  kept->Increment(2);
  StartTimes starts(1);
  auto points = [&] {
    const auto body =
        EncodeSnapshot(Encoding::kJson, {}, starts, &store, {{"location", "x"}}, 99, {}, "1");
    const auto json = boost::json::parse(body);
    std::map<std::string, std::pair<std::uint64_t, double>> out;
    const auto& metric =
        json.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics").at(0);
    EXPECT_EQ(metric.at("name").as_string(), "x_runs");
    for (const auto& p : metric.at("sum").at("dataPoints").as_array()) {
      const auto& attrs = p.at("attributes").as_array();
      EXPECT_EQ(attrs.size(), 2u);
      EXPECT_EQ(attrs.at(1).at("key").as_string(), "location");
      out[std::string(attrs.at(0).at("value").at("stringValue").as_string())] = {
          std::stoull(std::string(p.at("startTimeUnixNano").as_string())),
          p.at("asDouble").to_number<double>()};
    }
    return out;
  };
  const auto first = points();
  EXPECT_EQ(first.at("a"), std::make_pair(kept->CreatedUnixNano(), 2.0));
  EXPECT_EQ(first.at("b").first, replaced->CreatedUnixNano());
  runs.Remove(replaced);
  replaced = &runs.Add({b});
  const auto second = points();
  EXPECT_EQ(second.at("a").first, first.at("a").first);
  EXPECT_EQ(second.at("b").first, replaced->CreatedUnixNano());
  EXPECT_GE(second.at("b").first, first.at("b").first);
}

}  // namespace
}  // namespace sloprobe::daemon::otlp
