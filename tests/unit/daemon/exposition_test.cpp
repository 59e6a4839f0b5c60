#include "daemon/exposition.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "config/loader.hpp"
#include "daemon/metrics.hpp"

namespace sloprobe::daemon {
namespace {

using namespace std::chrono_literals;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<config::ProbeConfig> Probes() {
  auto r = config::LoadConfigString(R"(
probes:
  - name: health
    type: http
    request: {url: "https://h/health"}
    objectives: {latency: {quantile: 0.95, threshold: 37ms}, error_ratio: 0.01}
  - name: flow
    type: scenario
    steps:
      - name: login
        request: {method: POST, url: "http://h/login"}
        cache: {ttl: 5m}
      - {name: list, request: {url: "http://h/agents"}}
  - name: chat
    type: llm_stream
    api: anthropic
    url: "http://h/v1/messages"
    model: "m \"quoted\" \\ back\nslash"
    prompt: hi
    objectives: {ttft: {quantile: 0.9, threshold: 250ms}}
)",
                                    "t.yml");
  if (!r.config) throw std::runtime_error(r.errors.at(0).ToString());
  return r.config->probes;
}

probes::ProbeResult Outcome(probes::Duration d, probes::Reason reason, const std::string& step) {
  probes::ProbeResult r;
  r.duration = d;
  r.reason = reason;
  r.step = reason == probes::Reason::kOk ? "" : step;
  probes::StepResult s;
  s.name = step;
  s.sent = true;
  s.duration = d;
  s.phases.connect = 123us;
  s.phases.ttfb = d / 3;
  s.phases.transfer = 7ns;
  r.steps.push_back(s);
  return r;
}

MetricFamily Manual(MetricType type) {
  MetricFamily f;
  f.name = "manual_" + std::to_string(static_cast<int>(type));
  f.type = type;  // no help: no HELP line
  ClientMetric m;
  m.label = {{"a", "x"}, {"b", "line\nbreak"}};
  m.timestamp_ms = 1700000000123;
  m.gauge.value = std::numeric_limits<double>::quiet_NaN();
  m.counter.value = 1e21;
  m.untyped.value = -std::numeric_limits<double>::infinity();
  m.summary.sample_count = 3;
  m.summary.sample_sum = 0.1 + 0.2;
  m.summary.quantile = {{0.5, 1.5}, {0.99, 1e-300}};
  m.histogram.sample_count = 2;
  m.histogram.sample_sum = 123456789.123456789;
  m.histogram.bucket = {{1, 1e-7}, {2, std::numeric_limits<double>::infinity()}};
  f.metric.push_back(m);
  ClientMetric bare;  // no labels at all
  bare.gauge.value = std::numeric_limits<double>::infinity();
  bare.counter.value = 0;
  f.metric.push_back(bare);
  return f;
}

// prometheus-cpp's own serializer is the reference: the same bytes for
// sloprobe's real families (every probe kind, odd label values, values from
// nanoseconds to Unix times) and for every metric type with NaN, infinities,
// timestamps and buckets that end in +Inf.
TEST(Exposition, WritesWhatPrometheusCppWrites) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  std::vector<std::unique_ptr<ProbeMetrics>> series;
  for (const auto& p : Probes()) series.push_back(metrics.ForProbe(p));
  series[0]->Record(Outcome(37ms, probes::Reason::kOk, "request"), 1795398804.382148);
  series[0]->Record(Outcome(2500ms, probes::Reason::kTimeout, "request"), 1795398805.5);
  series[1]->Record(Outcome(3ms, probes::Reason::kHttpStatus, "list"), 1.0 / 3);
  probes::ProbeResult llm = Outcome(80ms, probes::Reason::kOk, "request");
  llm.stream.emplace();
  llm.stream->ttft = 41ms;
  llm.stream->gaps = {1ms, 0ns, 12345ns};
  llm.stream->output_tokens = 17;
  series[2]->Record(llm, 1e9);
  metrics.ObserveSchedulerLag(0.00004);
  auto families = metrics.Collect();
  for (auto type : {MetricType::Counter, MetricType::Gauge, MetricType::Summary,
                    MetricType::Untyped, MetricType::Histogram}) {
    families.push_back(Manual(type));
  }
  const auto expected = prometheus::TextSerializer().Serialize(families);
  ASSERT_GT(expected.size(), 10000u);
  EXPECT_EQ(WriteText(families), expected);
}

// Samples and comment lines of a text exposition, as a sorted list: the
// order of lines within a family does not matter to a parser.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// prometheus-cpp's text of the store's Collect(): Metrics::Collect() also
// holds the registry's families, which WriteText leaves out.
std::string StoreReference(const Metrics& metrics, prometheus::Registry& registry,
                           const std::vector<ClientMetric::Label>& external) {
  auto families = metrics.Collect(external);
  std::set<std::string> own;
  for (const auto& f : registry.Collect()) own.insert(f.name);
  std::erase_if(families, [&](const MetricFamily& f) { return own.contains(f.name); });
  return prometheus::TextSerializer().Serialize(families);
}

// The store writes its series straight from the nodes, buckets first; the
// same lines as prometheus-cpp's serializer makes of the store's Collect(),
// external labels included, and both omit families without series.
TEST(Exposition, StoreTextHasTheLinesOfItsCollectedFamilies) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  std::vector<std::unique_ptr<ProbeMetrics>> series;
  for (const auto& p : Probes()) series.push_back(metrics.ForProbe(p));
  series[0]->Record(Outcome(37ms, probes::Reason::kOk, "request"), 1795398804.382148);
  series[1]->Record(Outcome(3ms, probes::Reason::kHttpStatus, "list"), 1.0 / 3);
  series.pop_back();  // a removed probe leaves nothing behind
  const std::vector<ClientMetric::Label> external{{"location", "eu \"west\""}};
  std::string text;
  metrics.WriteText(text, external);
  EXPECT_EQ(text.find("sloprobe_llm"), std::string::npos);
  EXPECT_EQ(text.find("sloprobe_scheduler_lag"), std::string::npos);  // the registry's
  EXPECT_NE(
      text.find(
          R"(phase="ttfb",probe="health",step="request",location="eu \"west\"",le="0.025"} 1)"),
      std::string::npos);
  EXPECT_EQ(Lines(text), Lines(StoreReference(metrics, *registry, external)));
}

// Label values with a quote, a backslash and a line break (an LLM probe's
// model) are escaped in the store's text as prometheus-cpp escapes them.
TEST(Exposition, StoreTextEscapesLabelValues) {
  auto registry = std::make_shared<prometheus::Registry>();
  Metrics metrics(registry);
  auto chat = metrics.ForProbe(Probes()[2]);
  probes::ProbeResult llm = Outcome(80ms, probes::Reason::kOk, "request");
  llm.stream.emplace();
  llm.stream->ttft = 41ms;
  llm.stream->gaps = {1ms};
  chat->Record(llm, 1e9);
  std::string text;
  metrics.WriteText(text, {});
  EXPECT_NE(text.find(R"(model="m \"quoted\" \\ back\nslash")"), std::string::npos);
  EXPECT_EQ(Lines(text), Lines(StoreReference(metrics, *registry, {})));
}

TEST(Exposition, AddLabelsAppendsToEverySeriesAndLeavesOwnLabelsAlone) {
  std::vector<MetricFamily> families{Manual(MetricType::Counter)};
  AddLabels(families, {{"location", "eu-west"}, {"a", "external"}});
  const auto& first = families[0].metric[0].label;
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].value, "x");  // its own `a`
  EXPECT_EQ(first[2].name, "location");
  const auto& bare = families[0].metric[1].label;
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_EQ(bare[0].name, "location");
  EXPECT_EQ(bare[1].value, "external");
  EXPECT_NE(WriteText(families).find("manual_0{location=\"eu-west\",a=\"external\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace sloprobe::daemon

namespace sloprobe::daemon::series {
namespace {

// A cursor reads the store a piece at a time without holding it; series
// removed between pieces are not written (nor read: their labels' strings
// are gone, which AddressSanitizer would catch), and are freed when the
// last cursor ends (LeakSanitizer would catch it if they were not).
TEST(TextCursor, WritesInPiecesAndSkipsWhatWasRemovedMeanwhile) {
  auto store = std::make_shared<Store>();
  auto& family = store->Make<Counter>("c_total", "help", {"probe"});
  auto names = std::make_unique<std::vector<std::string>>();
  for (int i = 0; i < 100; ++i) names->push_back("probe-" + std::to_string(i));
  std::vector<Counter*> series;
  for (const auto& n : *names) series.push_back(&family.Add({n}));
  for (std::size_t i = 0; i < series.size(); ++i) series[i]->Increment(static_cast<double>(i));

  std::string text;
  {
    TextCursor cursor(store, {{"location", "x"}});
    ASSERT_TRUE(cursor.Next(text, 400));  // a few series, then it stops
    const auto first_piece = text.size();
    EXPECT_LT(first_piece, 1000u);
    // Every other series goes, written or not, and its name with it.
    for (std::size_t i = 0; i < series.size(); i += 2) family.Remove(series[i]);
    for (std::size_t i = 0; i < names->size(); i += 2) (*names)[i] = std::string(64, '?');
    int pieces = 1;
    while (cursor.Next(text, text.size() + 400)) ++pieces;
    EXPECT_GE(pieces, 4);
    EXPECT_EQ(text.find('?'), std::string::npos);
  }
  std::set<std::string> seen;
  for (const auto& line : Lines(text)) {
    if (line.starts_with("#")) continue;
    EXPECT_TRUE(seen.insert(line.substr(0, line.find('}'))).second) << line;
    EXPECT_NE(line.find(",location=\"x\"} "), std::string::npos) << line;
  }
  EXPECT_GE(seen.size(), 50u);  // the kept ones, and removed ones written before
  EXPECT_LT(seen.size(), 60u);
  // Once the cursor is gone, removal is immediate and the text shrinks.
  std::string after;
  TextCursor all(store, {});
  while (all.Next(after, std::numeric_limits<std::size_t>::max())) {
  }
  EXPECT_EQ(Lines(after).size(), 50u + 2);  // HELP and TYPE
  EXPECT_NE(after.find("c_total{probe=\"probe-99\"} 99\n"), std::string::npos);
}

// An empty label value is no label, wherever it sorts; Collect() (OTLP's
// and the tests' view) leaves it out the same way.
TEST(TextCursor, WritesAnEmptyLabelValueAsNoLabel) {
  auto store = std::make_shared<Store>();
  auto& family = store->Make<Counter>("c_total", "help", {"probe", "b", "a"});
  family.Add({"p", "", "x"}).Increment();
  family.Add({"p", "y", ""}).Increment(2);
  family.Add({"", "", ""}).Increment(3);
  std::string text;
  TextCursor cursor(store, {{"location", "l"}});
  while (cursor.Next(text, std::numeric_limits<std::size_t>::max())) {
  }
  EXPECT_NE(text.find("\nc_total{a=\"x\",probe=\"p\",location=\"l\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nc_total{b=\"y\",probe=\"p\",location=\"l\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nc_total{location=\"l\"} 3\n"), std::string::npos) << text;
  const auto families = store->Collect({});
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].metric.size(), 3u);
  EXPECT_EQ(families[0].metric[0].label.size(), 2u);
  EXPECT_EQ(families[0].metric[1].label.size(), 2u);
  EXPECT_TRUE(families[0].metric[2].label.empty());
}

}  // namespace
}  // namespace sloprobe::daemon::series
