#include "tests/support/metrics_helper.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace sloprobe::test {
namespace {

LabelSet LabelsOf(const prometheus::ClientMetric& m) {
  LabelSet out;
  for (const auto& l : m.label) out[l.name] = l.value;
  return out;
}

bool Includes(const LabelSet& all, const LabelSet& subset) {
  for (const auto& [k, v] : subset) {
    auto it = all.find(k);
    if (it == all.end() || it->second != v) return false;
  }
  return true;
}

// Calls `visit(labels, value)` for every sample called `name`.
template <typename F>
void ForEachSample(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   F visit) {
  for (const auto& f : families) {
    for (const auto& m : f.metric) {
      auto labels = LabelsOf(m);
      switch (f.type) {
        case prometheus::MetricType::Counter:
          if (name == f.name) visit(labels, m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          if (name == f.name) visit(labels, m.gauge.value);
          break;
        case prometheus::MetricType::Untyped:
          if (name == f.name) visit(labels, m.untyped.value);
          break;
        case prometheus::MetricType::Histogram:
          if (name == f.name + "_count") visit(labels, double(m.histogram.sample_count));
          if (name == f.name + "_sum") visit(labels, m.histogram.sample_sum);
          if (name == f.name + "_bucket") {
            for (const auto& b : m.histogram.bucket) {
              auto with_le = labels;
              with_le["le"] = std::isinf(b.upper_bound) ? "+Inf" : [&] {
                std::ostringstream s;
                s << b.upper_bound;
                return s.str();
              }();
              visit(with_le, double(b.cumulative_count));
            }
          }
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace

double MetricValue(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const LabelSet& labels) {
  std::optional<double> found;
  ForEachSample(families, name, [&](const LabelSet& l, double v) {
    if (l == labels) found = v;
  });
  return found.value_or(std::numeric_limits<double>::quiet_NaN());
}

bool HasSeries(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
               const LabelSet& labels) {
  return !std::isnan(MetricValue(families, name, labels));
}

double SumValues(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                 const LabelSet& subset) {
  double sum = 0;
  ForEachSample(families, name, [&](const LabelSet& l, double v) {
    if (Includes(l, subset)) sum += v;
  });
  return sum;
}

double ValueOrZero(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const LabelSet& labels) {
  const double v = MetricValue(families, name, labels);
  return std::isnan(v) ? 0 : v;
}

double ProbeRuns(const std::vector<prometheus::MetricFamily>& families, const std::string& probe) {
  return ValueOrZero(families, "sloprobe_probe_runs_total", {{"probe", probe}});
}

}  // namespace sloprobe::test
