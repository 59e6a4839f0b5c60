#include "daemon/series.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sloprobe::daemon::series {

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r{};
  // Whole numbers (counts, most counters) the short way; %.16g writes them
  // the same, digits only, up to 16 of them.
  if (v == std::trunc(v) && std::fabs(v) < 1e15 && !(v == 0 && std::signbit(v))) {
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  } else {
    // 16 significant digits, like printf's %.16g: what prometheus-cpp's
    // stream writes, so that `le` labels stay the strings rules match.
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                      std::numeric_limits<double>::max_digits10 - 1);
  }
  out.append(buf, r.ptr);
}

void AppendUnsigned(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendEscaped(std::string& out, std::string_view value) {
  // Not find_first_of: that is a memchr over the set for every character.
  const bool plain = std::none_of(value.begin(), value.end(),
                                  [](char c) { return c == '\n' || c == '\\' || c == '"'; });
  if (plain) {
    out += value;  // the usual case: nothing to escape
    return;
  }
  for (const char c : value) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        out += c;
    }
  }
}

Bounds::Bounds(std::vector<double> upper) : values_(std::move(upper)) {
  texts_.reserve(values_.size());
  for (const double b : values_) {
    std::string text;
    AppendDouble(text, b);
    texts_.push_back(std::move(text));
  }
}

Histogram::Histogram(const Bounds& bounds)
    : bounds_(bounds),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.Values().size() + 1)) {}

void Histogram::Observe(double v) {
  const auto& b = bounds_.Values();
  const std::size_t i =
      std::isnan(v) ? b.size()
                    : static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
  counts_[i].store(counts_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
}

FamilyBase::FamilyBase(Store& store, std::string name, std::string help, Type type,
                       std::vector<std::string> label_names)
    : store_(store),
      name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (label_names_.size() > kMaxLabels) throw std::logic_error("too many labels: " + name_);
  for (std::size_t i = 0; i < label_names_.size(); ++i) order_.push_back(i);
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return label_names_[a] < label_names_[b]; });
  for (const std::size_t i : order_) keys_.push_back(label_names_[i] + "=\"");
}

void FamilyBase::Link(Series& s, std::initializer_list<std::string_view> values) {
  if (values.size() != label_names_.size()) {
    throw std::logic_error("label values do not match the names of " + name_);
  }
  std::copy(values.begin(), values.end(), s.values_.begin());
  s.prev_ = tail_;
  s.next_ = nullptr;
  (tail_ != nullptr ? tail_->next_ : head_) = &s;
  tail_ = &s;
}

void FamilyBase::Unlink(Series& s) {
  (s.prev_ != nullptr ? s.prev_->next_ : head_) = s.next_;
  (s.next_ != nullptr ? s.next_->prev_ : tail_) = s.prev_;
  s.prev_ = s.next_ = nullptr;
}

void FamilyBase::Labels(std::string& labels, const Series& s, std::string_view external) const {
  labels.clear();
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const std::string_view value = s.values_[order_[k]];
    if (value.empty()) continue;  // the same as no label at all
    if (!labels.empty()) labels += ',';
    labels += keys_[k];
    AppendEscaped(labels, value);
    labels += '"';
  }
  if (!external.empty()) {
    if (!labels.empty()) labels += ',';
    labels += external;
  }
}

namespace {

// `name` `suffix` `{labels}` ` `: a sample up to its value.
void Head(std::string& out, std::string_view name, std::string_view suffix,
          std::string_view labels) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

}  // namespace

void FamilyBase::WriteHeader(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += help_;
  out += "\n# TYPE ";
  out += name_;
  out += type_ == Type::kCounter ? " counter\n"
         : type_ == Type::kGauge ? " gauge\n"
                                 : " histogram\n";
}

void FamilyBase::WriteSeries(std::string& out, const Series& s, std::string& labels,
                             std::string_view external) const {
  Labels(labels, s, external);
  switch (type_) {
    case Type::kCounter:
      Head(out, name_, "", labels);
      AppendDouble(out, static_cast<const Counter&>(s).Value());
      out += '\n';
      break;
    case Type::kGauge:
      Head(out, name_, "", labels);
      AppendDouble(out, static_cast<const Gauge&>(s).Value());
      out += '\n';
      break;
    case Type::kHistogram: {
      const auto& h = static_cast<const Histogram&>(s);
      const auto& texts = h.BucketBounds().Texts();
      // `name_bucket{labels,le="`, written once and copied for each bucket.
      const std::size_t prefix_at = out.size();
      out += name_;
      out += "_bucket{";
      if (!labels.empty()) {
        out += labels;
        out += ',';
      }
      out += "le=\"";
      const std::size_t prefix_size = out.size() - prefix_at;
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= texts.size(); ++i) {
        cumulative += h.CountAt(i);
        if (i > 0) out.append(out, prefix_at, prefix_size);
        out += i < texts.size() ? std::string_view(texts[i]) : std::string_view("+Inf");
        out += "\"} ";
        AppendUnsigned(out, cumulative);
        out += '\n';
      }
      Head(out, name_, "_sum", labels);
      AppendDouble(out, h.Sum());
      out += '\n';
      Head(out, name_, "_count", labels);
      AppendUnsigned(out, cumulative);
      out += '\n';
      break;
    }
  }
}

void FamilyBase::Collect(std::vector<prometheus::MetricFamily>& out,
                         const std::vector<prometheus::ClientMetric::Label>& external) const {
  if (FirstLive() == nullptr) return;
  prometheus::MetricFamily f;
  f.name = name_;
  f.help = help_;
  f.type = type_ == Type::kCounter ? prometheus::MetricType::Counter
           : type_ == Type::kGauge ? prometheus::MetricType::Gauge
                                   : prometheus::MetricType::Histogram;
  for (const Series* s = FirstLive(); s != nullptr; s = NextLive(*s)) {
    prometheus::ClientMetric m;
    for (const std::size_t i : order_) {
      if (!s->values_[i].empty()) m.label.push_back({label_names_[i], std::string(s->values_[i])});
    }
    for (const auto& l : external) m.label.push_back(l);
    switch (type_) {
      case Type::kCounter:
        m.counter.value = static_cast<const Counter*>(s)->Value();
        break;
      case Type::kGauge:
        m.gauge.value = static_cast<const Gauge*>(s)->Value();
        break;
      case Type::kHistogram: {
        const auto& h = *static_cast<const Histogram*>(s);
        const auto& bounds = h.BucketBounds().Values();
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          cumulative += h.CountAt(i);
          m.histogram.bucket.push_back({cumulative, i < bounds.size()
                                                        ? bounds[i]
                                                        : std::numeric_limits<double>::infinity()});
        }
        m.histogram.sample_count = cumulative;
        m.histogram.sample_sum = h.Sum();
        break;
      }
    }
    f.metric.push_back(std::move(m));
  }
  out.push_back(std::move(f));
}

namespace {

std::string ExternalText(const std::vector<prometheus::ClientMetric::Label>& external) {
  std::string text;
  for (const auto& l : external) {
    if (!text.empty()) text += ',';
    text += l.name;
    text += "=\"";
    AppendEscaped(text, l.value);
    text += '"';
  }
  return text;
}

}  // namespace

std::vector<prometheus::MetricFamily> Store::Collect(
    const std::vector<prometheus::ClientMetric::Label>& external) const {
  std::vector<prometheus::MetricFamily> out;
  const std::lock_guard lock(mutex_);
  for (const auto& f : families_) f->Collect(out, external);
  return out;
}

TextCursor::TextCursor(std::shared_ptr<const Store> store,
                       const std::vector<prometheus::ClientMetric::Label>& external)
    : store_(std::move(store)), external_(ExternalText(external)) {
  const std::lock_guard lock(store_->mutex_);
  ++store_->readers_;
  added_ = store_->added_;
}

TextCursor::~TextCursor() {
  const std::lock_guard lock(store_->mutex_);
  if (--store_->readers_ > 0) return;
  for (auto [family, s] : store_->removed_) family->Destroy(s);
  store_->removed_.clear();
}

const Series* TextCursor::Visible(const Series* at) const {
  while (at != nullptr && (at->removed_ || at->born_ > added_)) at = at->next_;
  return at;
}

bool TextCursor::Next(std::string& out, std::size_t limit) {
  const std::lock_guard lock(store_->mutex_);
  const auto& families = store_->families_;
  while (family_ < families.size()) {
    const auto& f = *families[family_];
    if (!in_family_) {
      at_ = Visible(f.FirstLive());
      if (at_ != nullptr) f.WriteHeader(out);
      in_family_ = true;
    } else {
      at_ = Visible(at_);  // it may have been removed while the lock was free
    }
    while (at_ != nullptr) {
      if (out.size() >= limit) return true;
      f.WriteSeries(out, *at_, labels_, external_);
      at_ = Visible(at_->next_);
    }
    ++family_;
    in_family_ = false;
  }
  return false;
}

}  // namespace sloprobe::daemon::series
