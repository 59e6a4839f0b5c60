#include "daemon/recent.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sloprobe::daemon {

namespace {

double SecondsOf(probes::Duration d) { return std::chrono::duration<double>(d).count(); }

// "200ms", "1.5s": a threshold as a person would write it.
std::string ThresholdText(double seconds) {
  return config::FormatDuration(
      std::chrono::duration_cast<config::Duration>(std::chrono::duration<double>(seconds)));
}

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string QuantileText(double q) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "p%g", q * 100);
  return buf;
}

}  // namespace

std::optional<double> LatencySamples::Quantile(double q) const {
  if (seconds.empty()) return std::nullopt;
  auto sorted = seconds;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  const auto i = std::clamp<std::size_t>(rank, 1, sorted.size()) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(i), sorted.end());
  return sorted[i];
}

std::optional<double> LatencySamples::SlowRatio(double threshold) const {
  if (seconds.empty()) return std::nullopt;
  const auto slow = std::count_if(seconds.begin(), seconds.end(),
                                  [threshold](double s) { return s > threshold; });
  return static_cast<double>(slow) / static_cast<double>(seconds.size());
}

void RunSamples::Add(const probes::ProbeResult& result) {
  ++runs;
  if (!result.Ok()) {
    ++failures;
    ++failures_by_reason[static_cast<std::size_t>(result.reason)];
  }
  duration.seconds.push_back(SecondsOf(result.duration));
  result.ForEachRoundTrip(
      [&](probes::Duration rtt) { round_trip.seconds.push_back(SecondsOf(rtt)); });
  result.ForEachStream([&](const probes::StreamTimings& s) {
    if (s.ttft) ttft.seconds.push_back(SecondsOf(*s.ttft));
    for (const auto gap : s.gaps) inter_chunk.seconds.push_back(SecondsOf(gap));
    if (s.e2e) e2e.seconds.push_back(SecondsOf(*s.e2e));
  });
}

std::string Verdict::Describe() const {
  if (objective == "error_ratio") {
    char buf[48];
    std::snprintf(buf, sizeof buf, "error ratio <= %g%%", threshold * 100);
    return buf;
  }
  const std::string what = objective == "inter_chunk"  ? "inter-chunk"
                           : objective == "round_trip" ? "round trip"
                                                       : objective;
  return what + " " + QuantileText(quantile) + " <= " + ThresholdText(threshold);
}

std::string LatencyText(std::optional<double> seconds) {
  if (!seconds) return "-";
  if (*seconds < 0.001) return Format("%.0fµs", *seconds * 1e6);
  if (*seconds < 1) return Format("%.1fms", *seconds * 1e3);
  return Format("%.2fs", *seconds);
}

std::string RatioText(double ratio) {
  return Format(ratio > 0 && ratio < 0.001 ? "%.3f%%" : "%.1f%%", ratio * 100);
}

std::string Verdict::Measured() const {
  if (!observed) return "no samples";
  if (objective == "error_ratio") return "measured " + RatioText(*observed);
  return "measured " + LatencyText(observed) + ", " + RatioText(ratio.value_or(0)) + " slower";
}

std::vector<Verdict> Judge(const config::Objectives& objectives, const RunSamples& samples) {
  std::vector<Verdict> verdicts;
  auto latency = [&](const char* name, const std::optional<config::LatencyObjective>& o,
                     const LatencySamples& s) {
    if (!o) return;
    Verdict v;
    v.objective = name;
    v.quantile = o->quantile;
    v.threshold = config::ToSeconds(o->threshold);
    v.observed = s.Quantile(o->quantile);
    v.ratio = s.SlowRatio(v.threshold);
    // The alert rules' comparison: more than 1 - q of the samples slower.
    // A small tolerance keeps 5 slow runs of 100 within a p95.
    v.met = v.ratio ? *v.ratio <= (1 - o->quantile) + 1e-9 : samples.runs == 0;
    verdicts.push_back(std::move(v));
  };
  latency("latency", objectives.latency, samples.duration);
  latency("ttft", objectives.ttft, samples.ttft);
  latency("inter_chunk", objectives.inter_chunk, samples.inter_chunk);
  latency("e2e", objectives.e2e, samples.e2e);
  latency("round_trip", objectives.round_trip, samples.round_trip);
  if (objectives.error_ratio) {
    Verdict v;
    v.objective = "error_ratio";
    v.threshold = *objectives.error_ratio;
    if (samples.runs > 0) v.observed = v.ratio = samples.ErrorRatio();
    v.met = samples.ErrorRatio() <= *objectives.error_ratio + 1e-9;
    verdicts.push_back(std::move(v));
  }
  return verdicts;
}

RecentRuns::Extra RecentRuns::ExtraFor(const config::ProbeConfig& probe) {
  if (probe.Runs(config::ProbeType::kLlmStream)) return Extra::kTtft;
  if (probe.Runs(config::ProbeType::kWebSocket)) return Extra::kRoundTrip;
  return Extra::kNone;
}

config::Objectives RecentRuns::Tracked(const config::Objectives& objectives) {
  auto tracked = objectives;
  tracked.inter_chunk.reset();
  tracked.e2e.reset();
  return tracked;
}

config::Objectives RecentRuns::Judged(const config::Objectives& objectives) const {
  auto judged = Tracked(objectives);
  // A scenario with stream and WebSocket steps keeps TTFT only.
  if (extra_ != Extra::kTtft) judged.ttft.reset();
  if (extra_ != Extra::kRoundTrip) judged.round_trip.reset();
  return judged;
}

RecentRuns::RecentRuns(config::Duration window, config::Duration interval, Extra extra,
                       std::size_t max_runs)
    : extra_(extra) {
  const auto per_window =
      interval.count() <= 0 ? max_runs : static_cast<std::size_t>(window / interval) + 1;
  capacity_ = static_cast<std::uint16_t>(std::clamp<std::size_t>(per_window, 1, max_runs));
}

namespace {
// code = 1 + ln(seconds / 1 µs) * kScale: one step is 0.05 %, so a decoded
// value is within 0.025 % of what was measured; 65535 is about 2 days.
constexpr double kScale = 2000;
constexpr double kUnit = 1e-6;
}  // namespace

std::uint16_t RecentRuns::Encode(std::optional<double> seconds) {
  if (!seconds) return 0;
  if (*seconds <= kUnit) return 1;
  const double code = 1 + std::round(std::log(*seconds / kUnit) * kScale);
  return static_cast<std::uint16_t>(std::min(code, 65535.0));
}

std::optional<double> RecentRuns::Decode(std::uint16_t code) {
  if (code == 0) return std::nullopt;
  return kUnit * std::exp((code - 1) / kScale);
}

void RecentRuns::Add(const probes::ProbeResult& result, double finished_unix) {
  if (!finished_) {
    // Only probes that run get the memory, and exactly as much as they need.
    finished_ = std::make_unique<std::uint32_t[]>(capacity_);
    latencies_ = std::make_unique<std::uint16_t[]>(capacity_ * (extra_ == Extra::kNone ? 1u : 2u));
    reasons_ = std::make_unique<std::uint8_t[]>(capacity_);
  }
  // The run's first time to first token, or its slowest round trip.
  std::optional<double> extra;
  if (extra_ == Extra::kTtft) {
    result.ForEachStream([&](const probes::StreamTimings& s) {
      if (!extra && s.ttft) extra = SecondsOf(*s.ttft);
    });
  } else if (extra_ == Extra::kRoundTrip) {
    result.ForEachRoundTrip(
        [&](probes::Duration rtt) { extra = std::max(extra.value_or(0), SecondsOf(rtt)); });
  }
  FinishedAt()[next_] = static_cast<std::uint32_t>(std::max(0.0, finished_unix));
  // A duration of 0 is still a sample: at least the smallest code.
  Durations()[next_] = std::max<std::uint16_t>(1, Encode(SecondsOf(result.duration)));
  if (extra_ != Extra::kNone) Extras()[next_] = Encode(extra);
  Reasons()[next_] = static_cast<std::uint8_t>(result.reason);
  next_ = static_cast<std::uint16_t>((next_ + 1) % capacity_);
  if (size_ < capacity_) ++size_;
}

template <typename F>
void RecentRuns::ForEachSince(double since_unix, F&& f) const {
  const std::size_t first = size_ < capacity_ ? 0 : next_;
  for (std::size_t k = 0; k < size_; ++k) {
    const auto i = (first + k) % capacity_;
    if (static_cast<double>(FinishedAt()[i]) >= std::floor(since_unix)) f(i);
  }
}

std::vector<RecentRuns::Run> RecentRuns::Since(double since_unix) const {
  std::vector<Run> runs;
  runs.reserve(size_);
  ForEachSince(since_unix, [&](std::size_t i) {
    runs.push_back({static_cast<double>(FinishedAt()[i]), Decode(Durations()[i]).value_or(0),
                    static_cast<probes::Reason>(Reasons()[i])});
  });
  return runs;
}

std::optional<RecentRuns::Run> RecentRuns::Last() const {
  if (size_ == 0) return std::nullopt;
  const std::size_t i = (next_ + capacity_ - 1) % capacity_;
  return Run{static_cast<double>(FinishedAt()[i]), Decode(Durations()[i]).value_or(0),
             static_cast<probes::Reason>(Reasons()[i])};
}

RunSamples RecentRuns::SamplesSince(double since_unix) const {
  RunSamples samples;
  ForEachSince(since_unix, [&](std::size_t i) {
    ++samples.runs;
    if (const auto reason = Reasons()[i]; reason != 0) {
      ++samples.failures;
      ++samples.failures_by_reason[reason];
    }
    samples.duration.seconds.push_back(Decode(Durations()[i]).value_or(0));
    if (extra_ == Extra::kNone) return;
    if (const auto extra = Decode(Extras()[i])) {
      (extra_ == Extra::kTtft ? samples.ttft : samples.round_trip).seconds.push_back(*extra);
    }
  });
  return samples;
}

}  // namespace sloprobe::daemon
