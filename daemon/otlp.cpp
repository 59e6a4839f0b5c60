#include "daemon/otlp.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <memory>
#include <span>

#include "daemon/series.hpp"

namespace sloprobe::daemon::otlp {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The protobuf wire format, as much of it as OTLP metrics need.
class Writer {
 public:
  static std::size_t VarintSize(std::uint64_t v) {
    std::size_t n = 1;
    for (; v >= 0x80; v >>= 7) ++n;
    return n;
  }
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
    char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(bytes, sizeof bytes);
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
  // A KeyValue with a string AnyValue (present even when empty), written in
  // place: its length is known without writing it elsewhere first.
  void KeyValueField(int field, std::string_view key, std::string_view value) {
    const std::size_t any = 1 + VarintSize(value.size()) + value.size();
    const std::size_t kv =
        (key.empty() ? 0 : 1 + VarintSize(key.size()) + key.size()) + 1 + VarintSize(any) + any;
    Tag(field, 2);
    Varint(kv);
    StringField(1, key);
    Tag(2, 2);
    Varint(any);
    BytesField(1, value);
  }
  void Append(std::string_view raw) { out_.append(raw); }
  void Reserve(std::size_t n) { out_.reserve(n); }
  void Clear() { out_.clear(); }
  std::size_t Size() const { return out_.size(); }
  const std::string& Bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

enum : int { kCumulative = 2 };  // AggregationTemporality

using AttributeView = std::pair<std::string_view, std::string_view>;

// One data point as the encoders take it: views, nothing owned.
struct PointView {
  std::span<const AttributeView> attributes;
  std::uint64_t start_unix_nano = 0;
  double value = 0;
  std::uint64_t count = 0;
  double sum = 0;
  std::span<const double> bounds;
  std::span<const std::uint64_t> counts;
};

// Takes metrics one at a time, their points one at a time, and makes the
// request at the end.
class Encoder {
 public:
  explicit Encoder(std::uint64_t now) : now_(now) {}
  virtual ~Encoder() = default;
  virtual void BeginMetric(std::string_view name, std::string_view description,
                           std::string_view unit, Metric::Kind kind) = 0;
  virtual void AddPoint(const PointView& p) = 0;
  virtual void EndMetric() = 0;
  virtual std::string Finish() = 0;

 protected:
  std::uint64_t now_;
};

class ProtobufEncoder final : public Encoder {
 public:
  ProtobufEncoder(std::uint64_t now, const Attributes& resource, std::string_view scope_name,
                  std::string_view scope_version)
      : Encoder(now) {
    for (const auto& [k, v] : resource) resource_.KeyValueField(1, k, v);
    scope_.StringField(1, scope_name);
    scope_.StringField(2, scope_version);
    // Room for the enclosing messages' heads, whose lengths are known only
    // at the end: the metrics are written once, in place.
    gap_ = 2 * (1 + kMaxVarint) + Field(resource_.Size()) + Field(scope_.Size());
    metrics_.Append(std::string(gap_, '\0'));
  }

  void BeginMetric(std::string_view name, std::string_view description, std::string_view unit,
                   Metric::Kind kind) override {
    kind_ = kind;
    head_.Clear();
    head_.StringField(1, name);
    head_.StringField(2, description);
    head_.StringField(3, unit);
    data_.Clear();
  }

  void AddPoint(const PointView& p) override {
    point_.Clear();
    point_.Fixed64Field(2, p.start_unix_nano);
    point_.Fixed64Field(3, now_);
    if (kind_ != Metric::Kind::kHistogram) {
      point_.DoubleField(4, p.value);  // as_double
      for (const auto& [k, v] : p.attributes) point_.KeyValueField(7, k, v);
    } else {
      point_.Fixed64Field(4, p.count);
      point_.DoubleField(5, p.sum);
      point_.Tag(6, 2);  // packed repeated fixed64
      point_.Varint(p.counts.size() * 8);
      for (const auto c : p.counts) point_.Fixed64(c);
      if (!p.bounds.empty()) {
        point_.Tag(7, 2);  // packed repeated double
        point_.Varint(p.bounds.size() * 8);
        for (const auto b : p.bounds) point_.Double(b);
      }
      for (const auto& [k, v] : p.attributes) point_.KeyValueField(9, k, v);
    }
    data_.MessageField(1, point_);
  }

  void EndMetric() override {
    int field = 5;  // gauge
    if (kind_ == Metric::Kind::kSum) {
      data_.UintField(2, kCumulative);
      data_.UintField(3, 1);  // is_monotonic
      field = 7;
    } else if (kind_ == Metric::Kind::kHistogram) {
      data_.UintField(2, kCumulative);
      field = 9;
    }
    head_.Tag(field, 2);
    head_.Varint(data_.Size());
    metrics_.Tag(2, 2);  // ScopeMetrics.metrics
    metrics_.Varint(head_.Size() + data_.Size());
    metrics_.Append(head_.Bytes());
    metrics_.Append(data_.Bytes());
  }

  std::string Finish() override {
    const std::size_t scope_metrics = Field(scope_.Size()) + metrics_.Size() - gap_;
    const std::size_t resource_metrics = Field(resource_.Size()) + Field(scope_metrics);
    Writer head;
    head.Tag(1, 2);  // ExportMetricsServiceRequest.resource_metrics
    head.Varint(resource_metrics);
    head.MessageField(1, resource_);
    head.Tag(2, 2);  // ResourceMetrics.scope_metrics
    head.Varint(scope_metrics);
    head.MessageField(1, scope_);
    std::string out = metrics_.Take();
    const std::size_t at = gap_ - head.Size();
    std::copy(head.Bytes().begin(), head.Bytes().end(), out.begin() + static_cast<long>(at));
    out.erase(0, at);
    return out;
  }

 private:
  static constexpr std::size_t kMaxVarint = 10;
  // The size of a length-delimited field of `n` bytes with a one-byte tag.
  static std::size_t Field(std::size_t n) { return 1 + Writer::VarintSize(n) + n; }

  Writer resource_;
  Writer scope_;
  std::size_t gap_ = 0;
  Metric::Kind kind_ = Metric::Kind::kGauge;
  Writer head_;     // the metric's name, description and unit
  Writer data_;     // its points
  Writer point_;    // scratch
  Writer metrics_;  // every metric so far
};

boost::json::array JsonAttributes(std::span<const AttributeView> attributes) {
  boost::json::array out;
  for (const auto& [k, v] : attributes) {
    out.push_back({{"key", k}, {"value", {{"stringValue", v}}}});
  }
  return out;
}

// The OTLP JSON mapping: lowerCamelCase names, 64-bit integers as decimal
// strings, enums as numbers.
class JsonEncoder final : public Encoder {
 public:
  JsonEncoder(std::uint64_t now, const Attributes& resource, std::string_view scope_name,
              std::string_view scope_version)
      : Encoder(now),
        time_(std::to_string(now)),
        resource_(resource),
        scope_name_(scope_name),
        scope_version_(scope_version) {}

  void BeginMetric(std::string_view name, std::string_view description, std::string_view unit,
                   Metric::Kind kind) override {
    kind_ = kind;
    points_ = {};
    // Like protobuf, proto3 JSON leaves empty strings out.
    metric_ = {{"name", name}};
    if (!description.empty()) metric_["description"] = description;
    if (!unit.empty()) metric_["unit"] = unit;
  }

  void AddPoint(const PointView& p) override {
    namespace json = boost::json;
    json::object point{{"attributes", JsonAttributes(p.attributes)}, {"timeUnixNano", time_}};
    if (p.start_unix_nano != 0) point["startTimeUnixNano"] = std::to_string(p.start_unix_nano);
    if (kind_ == Metric::Kind::kHistogram) {
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
    points_.push_back(std::move(point));
  }

  void EndMetric() override {
    switch (kind_) {
      case Metric::Kind::kGauge:
        metric_["gauge"] = {{"dataPoints", std::move(points_)}};
        break;
      case Metric::Kind::kSum:
        metric_["sum"] = {{"dataPoints", std::move(points_)},
                          {"aggregationTemporality", kCumulative},
                          {"isMonotonic", true}};
        break;
      case Metric::Kind::kHistogram:
        metric_["histogram"] = {{"dataPoints", std::move(points_)},
                                {"aggregationTemporality", kCumulative}};
        break;
    }
    metrics_.push_back(std::move(metric_));
  }

  std::string Finish() override {
    namespace json = boost::json;
    std::vector<AttributeView> views(resource_.begin(), resource_.end());
    json::object scope{{"name", scope_name_}};
    if (!scope_version_.empty()) scope["version"] = scope_version_;
    json::object request{
        {"resourceMetrics",
         json::array{json::object{
             {"resource", {{"attributes", JsonAttributes(views)}}},
             {"scopeMetrics", json::array{json::object{{"scope", std::move(scope)},
                                                       {"metrics", std::move(metrics_)}}}}}}}};
    return json::serialize(request);
  }

 private:
  std::string time_;
  Attributes resource_;
  std::string scope_name_;
  std::string scope_version_;
  Metric::Kind kind_ = Metric::Kind::kGauge;
  boost::json::object metric_;
  boost::json::array points_;
  boost::json::array metrics_;
};

void Append(Encoder& encoder, const Request& r) {
  std::vector<AttributeView> attributes;
  for (const auto& m : r.metrics) {
    encoder.BeginMetric(m.name, m.description, m.unit, m.kind);
    for (const auto& p : m.points) {
      attributes.assign(p.attributes.begin(), p.attributes.end());
      encoder.AddPoint(
          {attributes, p.start_unix_nano, p.value, p.count, p.sum, p.bounds, p.counts});
    }
    encoder.EndMetric();
  }
}

// How a Prometheus family maps: its OTLP kind and name (counters without
// "_total"); false for types sloprobe does not export (summaries, info).
bool MapFamily(prometheus::MetricType type, std::string_view name, Metric::Kind& kind,
               std::string& otlp_name) {
  otlp_name = name;
  switch (type) {
    case prometheus::MetricType::Counter:
      kind = Metric::Kind::kSum;
      if (EndsWith(otlp_name, "_total")) otlp_name.resize(otlp_name.size() - 6);
      return true;
    case prometheus::MetricType::Histogram:
      kind = Metric::Kind::kHistogram;
      return true;
    case prometheus::MetricType::Gauge:
    case prometheus::MetricType::Untyped:
      kind = Metric::Kind::kGauge;
      return true;
    default:
      return false;
  }
}

// Every series of the store, point by point from its nodes.
void AppendStore(Encoder& encoder, const series::Store& store,
                 const std::vector<prometheus::ClientMetric::Label>& external) {
  std::vector<AttributeView> attributes;
  std::vector<std::uint64_t> counts;
  std::string name;
  store.ForEachFamily([&](const series::FamilyBase& f) {
    const auto type = f.Kind() == series::Type::kCounter ? prometheus::MetricType::Counter
                      : f.Kind() == series::Type::kGauge ? prometheus::MetricType::Gauge
                                                         : prometheus::MetricType::Histogram;
    Metric::Kind kind{};
    MapFamily(type, f.Name(), kind, name);
    encoder.BeginMetric(name, f.Help(), UnitOf(f.Name()), kind);
    for (const auto* s = f.FirstLive(); s != nullptr; s = series::FamilyBase::NextLive(*s)) {
      attributes.clear();
      for (std::size_t k = 0; k < f.LabelCount(); ++k) {
        // An empty value is no label (a standalone probe's `step`).
        if (!f.LabelValue(*s, k).empty())
          attributes.emplace_back(f.LabelName(k), f.LabelValue(*s, k));
      }
      for (const auto& l : external) attributes.emplace_back(l.name, l.value);
      PointView p;
      p.attributes = attributes;
      switch (f.Kind()) {
        case series::Type::kCounter:
          p.value = static_cast<const series::Counter*>(s)->Value();
          p.start_unix_nano = s->CreatedUnixNano();
          break;
        case series::Type::kGauge:
          p.value = static_cast<const series::Gauge*>(s)->Value();
          break;
        case series::Type::kHistogram: {
          const auto& h = *static_cast<const series::Histogram*>(s);
          p.bounds = h.BucketBounds().Values();
          counts.clear();
          for (std::size_t i = 0; i <= p.bounds.size(); ++i) {
            counts.push_back(h.CountAt(i));
            p.count += counts.back();
          }
          p.counts = counts;
          p.sum = h.Sum();
          p.start_unix_nano = s->CreatedUnixNano();
          break;
        }
      }
      encoder.AddPoint(p);
    }
    encoder.EndMetric();
  });
}

std::string SeriesKey(const std::string& name,
                      const std::vector<prometheus::ClientMetric::Label>& labels) {
  std::string key = name;
  for (const auto& l : labels) key += '\x1f' + l.name + '\x1e' + l.value;
  return key;
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
                  std::uint64_t now) {
  Request request;
  for (const auto& family : families) {
    if (family.metric.empty()) continue;
    Metric m;
    if (!MapFamily(family.type, family.name, m.kind, m.name)) continue;
    m.description = family.help;
    m.unit = UnitOf(family.name);
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

std::string EncodeSnapshot(Encoding encoding, const std::vector<prometheus::MetricFamily>& families,
                           StartTimes& starts, const series::Store* store,
                           const std::vector<prometheus::ClientMetric::Label>& external,
                           std::uint64_t now, const Attributes& resource,
                           std::string_view scope_version) {
  const auto request = ToRequest(families, starts, now);
  constexpr std::string_view kScope = "sloprobe";
  std::unique_ptr<Encoder> encoder;
  if (encoding == Encoding::kJson) {
    encoder = std::make_unique<JsonEncoder>(now, resource, kScope, scope_version);
  } else {
    encoder = std::make_unique<ProtobufEncoder>(now, resource, kScope, scope_version);
  }
  Append(*encoder, request);
  if (store != nullptr) AppendStore(*encoder, *store, external);
  return encoder->Finish();
}

}  // namespace sloprobe::daemon::otlp
