#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// The per-probe series: a metric store made for tens of thousands of probes.
//
// prometheus-cpp's families keep labels as maps of strings, take a mutex per
// observation, find a series to remove by walking all of them (10,000 probes
// took minutes to shut down) and build a copy of everything to serialize it.
// Here a series is a node in its family's list: values are atomics written
// by one thread (the probes'), label values are views of strings the owner
// keeps, adding and removing are O(1), and the text format is written
// straight from the nodes. The registry keeps sloprobe's few own series.
namespace sloprobe::daemon::series {

inline constexpr std::size_t kMaxLabels = 4;

// Histogram upper bounds with their `le` text made once.
class Bounds {
 public:
  explicit Bounds(std::vector<double> upper);
  const std::vector<double>& Values() const { return values_; }
  const std::vector<std::string>& Texts() const { return texts_; }

 private:
  std::vector<double> values_;
  std::vector<std::string> texts_;
};

// One labelled series; a node of its family's list.
class Series {
 public:
  Series(const Series&) = delete;
  Series& operator=(const Series&) = delete;

  // When the series was added (Unix nanoseconds): where its counts start,
  // since they never go down while it exists.
  std::uint64_t CreatedUnixNano() const { return created_; }

 protected:
  Series() = default;
  ~Series() = default;

 private:
  template <typename>
  friend class Family;
  friend class FamilyBase;
  friend class TextCursor;
  static Series* Next(const Series& s) { return s.next_; }
  std::array<std::string_view, kMaxLabels> values_{};
  Series* prev_ = nullptr;
  Series* next_ = nullptr;
  bool removed_ = false;    // by its owner, while a TextCursor was reading
  std::uint64_t born_ = 0;  // the store's count of series added, when added
  std::uint64_t created_ = 0;
};

// Written by one thread, read by any: a relaxed load and store instead of a
// locked read-modify-write.
class Counter : public Series {
 public:
  void Increment(double by = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge : public Series {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Increment(double by = 1) { Set(Value() + by); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram : public Series {
 public:
  explicit Histogram(const Bounds& bounds);
  // A value goes into the first bucket whose bound is at least the value
  // (`le`); NaN and values above every bound into +Inf only.
  void Observe(double v);

  const Bounds& BucketBounds() const { return bounds_; }
  // Non-cumulative counts, one per bound and a last one for +Inf.
  std::uint64_t CountAt(std::size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const Bounds& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

class Store;

class FamilyBase {
 public:
  FamilyBase(Store& store, std::string name, std::string help, Type type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& Name() const { return name_; }
  const std::string& Help() const { return help_; }
  Type Kind() const { return type_; }
  // Labels in name order: the k-th name, and its value in `s`.
  std::size_t LabelCount() const { return order_.size(); }
  std::string_view LabelName(std::size_t k) const { return label_names_[order_[k]]; }
  std::string_view LabelValue(const Series& s, std::size_t k) const { return s.values_[order_[k]]; }

  // Callers hold the store's mutex; series marked removed are skipped.
  const Series* FirstLive() const { return Live(head_); }
  static const Series* NextLive(const Series& s) { return Live(s.next_); }
  void WriteHeader(std::string& out) const;
  // `labels` is scratch space, kept between calls to save allocations.
  void WriteSeries(std::string& out, const Series& s, std::string& labels,
                   std::string_view external) const;
  void Collect(std::vector<prometheus::MetricFamily>& out,
               const std::vector<prometheus::ClientMetric::Label>& external) const;
  // Unlinks and deletes a series whose removal waited for a reader.
  virtual void Destroy(Series* s) = 0;

 protected:
  // An empty value is written as no label at all (as Prometheus reads it):
  // a label that applies to some series of a family only.
  void Link(Series& s, std::initializer_list<std::string_view> values);
  void Unlink(Series& s);
  Series* First() const { return head_; }

  Store& store_;

 private:
  static const Series* Live(const Series* s) {
    while (s != nullptr && s->removed_) s = s->next_;
    return s;
  }
  // `a="x",b="y"` plus the external labels, in name order.
  void Labels(std::string& out, const Series& s, std::string_view external) const;

  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
  // Label indexes in name order: the order every Prometheus client writes.
  std::vector<std::size_t> order_;
  // For each of them, `name="` (`,name="` after the first).
  std::vector<std::string> keys_;
  Series* head_ = nullptr;
  Series* tail_ = nullptr;
};

template <typename T>
class Family final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  ~Family() override {
    for (Series* s = First(); s != nullptr;) {
      Series* next = Series::Next(*s);
      delete static_cast<T*>(s);
      s = next;
    }
  }

  // `values` are views: the strings must outlive the series (the owner of
  // the series keeps them).
  template <typename... Args>
  T& Add(std::initializer_list<std::string_view> values, Args&&... args);
  // The series is gone from every exposition from now on; while a
  // TextCursor is reading, its memory is freed only when the last one ends.
  void Remove(T* s);
  void Destroy(Series* s) override {
    Unlink(*s);
    delete static_cast<T*>(s);
  }
};

// Every family of per-probe series, in the order they were made.
class Store {
 public:
  template <typename T>
  Family<T>& Make(std::string name, std::string help, std::vector<std::string> label_names) {
    constexpr Type type = std::is_same_v<T, Counter> ? Type::kCounter
                          : std::is_same_v<T, Gauge> ? Type::kGauge
                                                     : Type::kHistogram;
    auto f = std::make_unique<Family<T>>(*this, std::move(name), std::move(help), type,
                                         std::move(label_names));
    auto& ref = *f;
    families_.push_back(std::move(f));
    return ref;
  }

  // The same as prometheus-cpp's data model, for tests.
  std::vector<prometheus::MetricFamily> Collect(
      const std::vector<prometheus::ClientMetric::Label>& external = {}) const;
  // Calls `visit(family)` for every family with series, in order, holding
  // the lock throughout; the visitor walks FirstLive() and NextLive().
  template <typename Visit>
  void ForEachFamily(Visit&& visit) const {
    const std::lock_guard lock(mutex_);
    for (const auto& f : families_) {
      if (f->FirstLive() != nullptr) visit(static_cast<const FamilyBase&>(*f));
    }
  }

 private:
  template <typename>
  friend class Family;
  friend class TextCursor;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  // TextCursors alive, and the series removed meanwhile (marked, still
  // linked so that a cursor's position stays valid).
  std::uint64_t added_ = 0;
  mutable int readers_ = 0;
  mutable std::vector<std::pair<FamilyBase*, Series*>> removed_;
};

// The store's text a piece at a time, without holding its lock between
// pieces: a scrape of 10,000 probes (about 100 MB) is sent as it is made,
// in bounded memory, while probes keep recording and reloads keep removing.
// It writes the series that existed when it was made and were not removed
// before their turn; never one added meanwhile, so that a probe a reload
// removed and added again cannot appear twice.
class TextCursor {
 public:
  TextCursor(std::shared_ptr<const Store> store,
             const std::vector<prometheus::ClientMetric::Label>& external);
  ~TextCursor();
  TextCursor(const TextCursor&) = delete;
  TextCursor& operator=(const TextCursor&) = delete;

  // Appends whole series until `out` holds at least `limit` bytes or the
  // store is done; false once there is nothing more.
  bool Next(std::string& out, std::size_t limit);

 private:
  std::shared_ptr<const Store> store_;
  std::string external_;
  std::string labels_;  // scratch
  // The first series from `at` on that this cursor writes, or null.
  const Series* Visible(const Series* at) const;

  std::uint64_t added_;  // the store's count when the cursor was made
  std::size_t family_ = 0;
  const Series* at_ = nullptr;
  bool in_family_ = false;
};

template <typename T>
template <typename... Args>
T& Family<T>::Add(std::initializer_list<std::string_view> values, Args&&... args) {
  auto* s = new T(std::forward<Args>(args)...);
  s->created_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  const std::lock_guard lock(store_.mutex_);
  Link(*s, values);
  s->born_ = ++store_.added_;
  return *s;
}

template <typename T>
void Family<T>::Remove(T* s) {
  if (s == nullptr) return;
  {
    const std::lock_guard lock(store_.mutex_);
    if (store_.readers_ > 0) {
      s->removed_ = true;
      store_.removed_.emplace_back(this, s);
      return;
    }
    Unlink(*s);
  }
  delete s;
}

// Text format helpers shared with the writer of prometheus-cpp families.
void AppendDouble(std::string& out, double v);
void AppendUnsigned(std::string& out, std::uint64_t v);
void AppendEscaped(std::string& out, std::string_view value);

}  // namespace sloprobe::daemon::series
