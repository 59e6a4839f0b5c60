#include "daemon/otlp.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

namespace sloprobe::daemon::otlp {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The protobuf wire format, as much of it as OTLP metrics need.
class Writer {
 public:
  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Tag(int field, int wire_type) {
    Varint((static_cast<std::uint64_t>(field) << 3) | static_cast<unsigned>(wire_type));
  }
  void Fixed64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void Double(double d) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    Fixed64(bits);
  }
  // Fields; proto3 leaves defaults out, as protobuf encoders do.
  void UintField(int field, std::uint64_t v) {
    if (v == 0) return;
    Tag(field, 0);
    Varint(v);
  }
  void Fixed64Field(int field, std::uint64_t v) {
    if (v == 0) return;
    Tag(field, 1);
    Fixed64(v);
  }
  // Always written: a oneof member or an optional field has presence.
  void DoubleField(int field, double v) {
    Tag(field, 1);
    Double(v);
  }
  void BytesField(int field, std::string_view bytes) {
    Tag(field, 2);
    Varint(bytes.size());
    out_.append(bytes);
  }
  void StringField(int field, std::string_view s) {
    if (!s.empty()) BytesField(field, s);
  }
  void MessageField(int field, const Writer& message) { BytesField(field, message.out_); }
  const std::string& Bytes() const { return out_; }

 private:
  std::string out_;
};

enum : int { kCumulative = 2 };  // AggregationTemporality

Writer KeyValue(const std::string& key, const std::string& value) {
  Writer any;
  any.BytesField(1, value);  // AnyValue.string_value, present even when empty
  Writer kv;
  kv.StringField(1, key);
  kv.MessageField(2, any);
  return kv;
}

Writer Number(const Point& p, std::uint64_t now) {
  Writer w;
  w.Fixed64Field(2, p.start_unix_nano);
  w.Fixed64Field(3, now);
  w.DoubleField(4, p.value);  // as_double
  for (const auto& [k, v] : p.attributes) w.MessageField(7, KeyValue(k, v));
  return w;
}

Writer HistogramPoint(const Point& p, std::uint64_t now) {
  Writer w;
  w.Fixed64Field(2, p.start_unix_nano);
  w.Fixed64Field(3, now);
  w.Fixed64Field(4, p.count);
  w.DoubleField(5, p.sum);
  Writer counts;  // packed repeated fixed64
  for (const auto c : p.counts) counts.Fixed64(c);
  w.BytesField(6, counts.Bytes());
  Writer bounds;  // packed repeated double
  for (const auto b : p.bounds) bounds.Double(b);
  if (!p.bounds.empty()) w.BytesField(7, bounds.Bytes());
  for (const auto& [k, v] : p.attributes) w.MessageField(9, KeyValue(k, v));
  return w;
}

std::string SeriesKey(const std::string& name,
                      const std::vector<prometheus::ClientMetric::Label>& labels) {
  std::string key = name;
  for (const auto& l : labels) key += '\x1f' + l.name + '\x1e' + l.value;
  return key;
}

boost::json::array JsonAttributes(const Attributes& attributes) {
  boost::json::array out;
  for (const auto& [k, v] : attributes) {
    out.push_back({{"key", k}, {"value", {{"stringValue", v}}}});
  }
  return out;
}

}  // namespace

std::string UnitOf(std::string_view name) {
  if (EndsWith(name, "_total")) name.remove_suffix(6);
  if (EndsWith(name, "_seconds")) return "s";
  if (EndsWith(name, "_bytes")) return "By";
  if (EndsWith(name, "_tokens") || EndsWith(name, "_tokens_per_chunk")) return "{token}";
  if (EndsWith(name, "_ratio")) return "1";
  return "";
}

std::uint64_t StartTimes::For(const std::string& key, double cumulative, std::uint64_t now) {
  auto [it, inserted] = seen_.try_emplace(key);
  if (inserted) {
    it->second.start = first_pass_done_ ? now : process_start_;
  } else if (cumulative < it->second.last) {
    it->second.start = now;  // reset
  }
  it->second.last = cumulative;
  it->second.pass = pass_;
  return it->second.start;
}

void StartTimes::EndPass() {
  std::erase_if(seen_, [this](const auto& entry) { return entry.second.pass != pass_; });
  ++pass_;
  first_pass_done_ = true;
}

Request ToRequest(const std::vector<prometheus::MetricFamily>& families, StartTimes& starts,
                  std::uint64_t now, Attributes resource, std::string scope_version) {
  Request request;
  request.resource = std::move(resource);
  request.scope_version = std::move(scope_version);
  request.time_unix_nano = now;
  for (const auto& family : families) {
    if (family.metric.empty()) continue;
    Metric m;
    m.description = family.help;
    m.unit = UnitOf(family.name);
    m.name = family.name;
    switch (family.type) {
      case prometheus::MetricType::Counter:
        m.kind = Metric::Kind::kSum;
        if (EndsWith(m.name, "_total")) m.name.resize(m.name.size() - 6);
        break;
      case prometheus::MetricType::Histogram:
        m.kind = Metric::Kind::kHistogram;
        break;
      case prometheus::MetricType::Gauge:
      case prometheus::MetricType::Untyped:
        m.kind = Metric::Kind::kGauge;
        break;
      default:
        continue;  // sloprobe exports no summaries or info metrics
    }
    for (const auto& cm : family.metric) {
      Point p;
      for (const auto& l : cm.label) p.attributes.emplace_back(l.name, l.value);
      const auto key = SeriesKey(family.name, cm.label);
      switch (m.kind) {
        case Metric::Kind::kSum:
          p.value = cm.counter.value;
          p.start_unix_nano = starts.For(key, p.value, now);
          break;
        case Metric::Kind::kGauge:
          p.value =
              family.type == prometheus::MetricType::Gauge ? cm.gauge.value : cm.untyped.value;
          break;
        case Metric::Kind::kHistogram: {
          p.count = cm.histogram.sample_count;
          p.sum = cm.histogram.sample_sum;
          std::uint64_t below = 0;
          for (const auto& b : cm.histogram.bucket) {
            if (b.upper_bound != std::numeric_limits<double>::infinity()) {
              p.bounds.push_back(b.upper_bound);
            }
            p.counts.push_back(b.cumulative_count - below);
            below = b.cumulative_count;
          }
          if (p.counts.size() == p.bounds.size()) p.counts.push_back(p.count - below);
          p.start_unix_nano = starts.For(key, static_cast<double>(p.count), now);
          break;
        }
      }
      m.points.push_back(std::move(p));
    }
    request.metrics.push_back(std::move(m));
  }
  starts.EndPass();
  return request;
}

std::string EncodeProtobuf(const Request& r) {
  Writer resource;
  for (const auto& [k, v] : r.resource) resource.MessageField(1, KeyValue(k, v));
  Writer scope;
  scope.StringField(1, r.scope_name);
  scope.StringField(2, r.scope_version);
  Writer scope_metrics;
  scope_metrics.MessageField(1, scope);
  for (const auto& m : r.metrics) {
    Writer data;
    int field = 5;
    switch (m.kind) {
      case Metric::Kind::kGauge:
        for (const auto& p : m.points) data.MessageField(1, Number(p, r.time_unix_nano));
        break;
      case Metric::Kind::kSum:
        for (const auto& p : m.points) data.MessageField(1, Number(p, r.time_unix_nano));
        data.UintField(2, kCumulative);
        data.UintField(3, 1);  // is_monotonic
        field = 7;
        break;
      case Metric::Kind::kHistogram:
        for (const auto& p : m.points) data.MessageField(1, HistogramPoint(p, r.time_unix_nano));
        data.UintField(2, kCumulative);
        field = 9;
        break;
    }
    Writer metric;
    metric.StringField(1, m.name);
    metric.StringField(2, m.description);
    metric.StringField(3, m.unit);
    metric.MessageField(field, data);
    scope_metrics.MessageField(2, metric);
  }
  Writer resource_metrics;
  resource_metrics.MessageField(1, resource);
  resource_metrics.MessageField(2, scope_metrics);
  Writer request;
  request.MessageField(1, resource_metrics);
  return request.Bytes();
}

// The OTLP JSON mapping: lowerCamelCase names, 64-bit integers as decimal
// strings, enums as numbers.
std::string EncodeJson(const Request& r) {
  namespace json = boost::json;
  const auto time = std::to_string(r.time_unix_nano);
  json::array metrics;
  for (const auto& m : r.metrics) {
    json::array points;
    for (const auto& p : m.points) {
      json::object point{{"attributes", JsonAttributes(p.attributes)}, {"timeUnixNano", time}};
      if (p.start_unix_nano != 0) point["startTimeUnixNano"] = std::to_string(p.start_unix_nano);
      if (m.kind == Metric::Kind::kHistogram) {
        point["count"] = std::to_string(p.count);
        point["sum"] = p.sum;
        json::array counts, bounds;
        for (const auto c : p.counts) counts.push_back(json::value(std::to_string(c)));
        for (const auto b : p.bounds) bounds.push_back(b);
        point["bucketCounts"] = std::move(counts);
        point["explicitBounds"] = std::move(bounds);
      } else {
        point["asDouble"] = p.value;
      }
      points.push_back(std::move(point));
    }
    // Like protobuf, proto3 JSON leaves empty strings out.
    json::object metric{{"name", m.name}};
    if (!m.description.empty()) metric["description"] = m.description;
    if (!m.unit.empty()) metric["unit"] = m.unit;
    switch (m.kind) {
      case Metric::Kind::kGauge:
        metric["gauge"] = {{"dataPoints", std::move(points)}};
        break;
      case Metric::Kind::kSum:
        metric["sum"] = {{"dataPoints", std::move(points)},
                         {"aggregationTemporality", kCumulative},
                         {"isMonotonic", true}};
        break;
      case Metric::Kind::kHistogram:
        metric["histogram"] = {{"dataPoints", std::move(points)},
                               {"aggregationTemporality", kCumulative}};
        break;
    }
    metrics.push_back(std::move(metric));
  }
  json::object scope{{"name", r.scope_name}};
  if (!r.scope_version.empty()) scope["version"] = r.scope_version;
  json::object request{
      {"resourceMetrics",
       json::array{json::object{
           {"resource", {{"attributes", JsonAttributes(r.resource)}}},
           {"scopeMetrics", json::array{json::object{{"scope", std::move(scope)},
                                                     {"metrics", std::move(metrics)}}}}}}}};
  return json::serialize(request);
}

}  // namespace sloprobe::daemon::otlp
