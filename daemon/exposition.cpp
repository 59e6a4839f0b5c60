#include "daemon/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "daemon/series.hpp"

namespace sloprobe::daemon {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using series::AppendDouble;
using series::AppendEscaped;
using series::AppendUnsigned;

// One sample's name and labels up to the value: `name{a="x",le="0.1"} `.
// `extra` is the bucket's or quantile's label, already formatted.
class Head {
 public:
  Head(std::string& out, const MetricFamily& family, const ClientMetric& metric)
      : out_(out), family_(family), metric_(metric) {}

  void Write(std::string_view suffix, std::string_view extra_name = {},
             std::string_view extra_value = {}) {
    out_ += family_.name;
    out_ += suffix;
    if (!metric_.label.empty() || !extra_name.empty()) {
      out_ += '{';
      bool first = true;
      for (const auto& l : metric_.label) {
        if (!first) out_ += ',';
        first = false;
        out_ += l.name;
        out_ += "=\"";
        AppendEscaped(out_, l.value);
        out_ += '"';
      }
      if (!extra_name.empty()) {
        if (!first) out_ += ',';
        out_ += extra_name;
        out_ += "=\"";
        out_ += extra_value;
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  void Tail() {
    if (metric_.timestamp_ms != 0) {
      out_ += ' ';
      out_ += std::to_string(metric_.timestamp_ms);
    }
    out_ += '\n';
  }

 private:
  std::string& out_;
  const MetricFamily& family_;
  const ClientMetric& metric_;
};

void WriteMetric(std::string& out, const MetricFamily& family, const ClientMetric& m) {
  Head head(out, family, m);
  std::string bound;
  switch (family.type) {
    case MetricType::Counter:
      head.Write("");
      AppendDouble(out, m.counter.value);
      head.Tail();
      break;
    case MetricType::Gauge:
      head.Write("");
      AppendDouble(out, m.gauge.value);
      head.Tail();
      break;
    case MetricType::Untyped:
      head.Write("");
      AppendDouble(out, m.untyped.value);
      head.Tail();
      break;
    case MetricType::Summary:
      head.Write("_count");
      AppendUnsigned(out, m.summary.sample_count);
      head.Tail();
      head.Write("_sum");
      AppendDouble(out, m.summary.sample_sum);
      head.Tail();
      for (const auto& q : m.summary.quantile) {
        bound.clear();
        AppendDouble(bound, q.quantile);
        head.Write("", "quantile", bound);
        AppendDouble(out, q.value);
        head.Tail();
      }
      break;
    case MetricType::Histogram: {
      const auto& h = m.histogram;
      head.Write("_count");
      AppendUnsigned(out, h.sample_count);
      head.Tail();
      head.Write("_sum");
      AppendDouble(out, h.sample_sum);
      head.Tail();
      double last = -std::numeric_limits<double>::infinity();
      for (const auto& b : h.bucket) {
        bound.clear();
        AppendDouble(bound, b.upper_bound);
        head.Write("_bucket", "le", bound);
        AppendUnsigned(out, b.cumulative_count);
        head.Tail();
        last = b.upper_bound;
      }
      if (last != std::numeric_limits<double>::infinity()) {
        head.Write("_bucket", "le", "+Inf");
        AppendUnsigned(out, h.sample_count);
        head.Tail();
      }
      break;
    }
  }
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

std::string WriteText(const std::vector<MetricFamily>& families) {
  // A first guess from the sample count avoids most of the regrowth.
  std::size_t samples = 0;
  for (const auto& f : families) {
    for (const auto& m : f.metric) samples += 3 + m.histogram.bucket.size();
  }
  std::string out;
  out.reserve(samples * 96);
  for (const auto& f : families) {
    if (!f.help.empty()) {
      out += "# HELP ";
      out += f.name;
      out += ' ';
      out += f.help;
      out += '\n';
    }
    out += "# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    for (const auto& m : f.metric) WriteMetric(out, f, m);
  }
  return out;
}

void AddLabels(std::vector<MetricFamily>& families,
               const std::vector<ClientMetric::Label>& labels) {
  if (labels.empty()) return;
  for (auto& f : families) {
    for (auto& m : f.metric) {
      for (const auto& l : labels) {
        const bool present = std::any_of(m.label.begin(), m.label.end(),
                                         [&](const auto& own) { return own.name == l.name; });
        if (!present) m.label.push_back(l);
      }
    }
  }
}

}  // namespace sloprobe::daemon
