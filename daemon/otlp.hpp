#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The OpenTelemetry (OTLP) form of sloprobe's metrics: the same families
// /metrics serves, mapped by the OpenTelemetry metrics data model and its
// Prometheus compatibility rules, and encoded as an
// ExportMetricsServiceRequest in protobuf or in the OTLP JSON mapping.
namespace sloprobe::daemon::series {
class Store;
}

namespace sloprobe::daemon::otlp {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// One data point. Numbers carry `value`; histograms carry the rest, with
// per-bucket (not cumulative) counts: counts.size() == bounds.size() + 1.
struct Point {
  Attributes attributes;
  std::uint64_t start_unix_nano = 0;
  double value = 0;
  std::uint64_t count = 0;
  double sum = 0;
  std::vector<double> bounds;
  std::vector<std::uint64_t> counts;
};

struct Metric {
  enum class Kind { kGauge, kSum, kHistogram };
  std::string name;  // counters without "_total"
  std::string description;
  std::string unit;  // UCUM: "s", "By", "{token}", "1" for ratios, else empty
  Kind kind = Kind::kGauge;
  std::vector<Point> points;
};

struct Request {
  std::vector<Metric> metrics;
};

// The unit a metric name implies, by the Prometheus naming conventions.
std::string UnitOf(std::string_view prometheus_name);

// Gives every series a start time that stays put while its counters only
// grow: the first time a series is seen (or `process_start` on the first
// call), again when a cumulative value goes down (a reset).
class StartTimes {
 public:
  explicit StartTimes(std::uint64_t process_start_unix_nano)
      : process_start_(process_start_unix_nano) {}
  std::uint64_t For(const std::string& series_key, double cumulative, std::uint64_t now);
  // Ends one export: forgets series that were not seen in it (removed by a
  // reload); after the first, series that appear were created since.
  void EndPass();

 private:
  struct Seen {
    std::uint64_t start = 0;
    double last = 0;
    std::uint64_t pass = 0;
  };
  std::uint64_t pass_ = 0;
  std::uint64_t process_start_;
  bool first_pass_done_ = false;
  std::map<std::string, Seen> seen_;
};

// Maps Prometheus families to OTLP metrics: counter -> monotonic cumulative
// Sum (name without "_total"), gauge -> Gauge, histogram -> cumulative
// Histogram with explicit bounds; labels become attributes.
Request ToRequest(const std::vector<prometheus::MetricFamily>& families, StartTimes& starts,
                  std::uint64_t now_unix_nano);

enum class Encoding { kProtobuf, kJson };

// A whole export: `families` mapped as ToRequest does (start times from
// `starts`), then every series of `store`, each with `external` attributes,
// encoded straight from the store's nodes with no copy of the data model
// in between (10,000 probes are about a million samples). A store series
// starts when it was created: its counts never go down while it exists.
std::string EncodeSnapshot(Encoding encoding, const std::vector<prometheus::MetricFamily>& families,
                           StartTimes& starts, const series::Store* store,
                           const std::vector<prometheus::ClientMetric::Label>& external,
                           std::uint64_t now_unix_nano, const Attributes& resource,
                           std::string_view scope_version);

}  // namespace sloprobe::daemon::otlp
