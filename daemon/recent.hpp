#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "probes/common/result.hpp"

// What the status page and `sloprobe check` say about a probe: its latest
// runs, their quantiles, and whether its objectives hold over them, judged
// the way the shipped alert rules judge them.
namespace sloprobe::daemon {

// Samples of one kind of latency, in seconds.
struct LatencySamples {
  std::vector<double> seconds;

  // The q-quantile (0 < q <= 1) by the nearest-rank method: a value that was
  // measured, never one interpolated between two. nullopt without samples.
  std::optional<double> Quantile(double q) const;
  // The share of samples above `threshold`: what "slower than the
  // objective" means in sloprobe_probe_slow_total and the alert rules.
  std::optional<double> SlowRatio(double threshold) const;
};

// Runs of one probe to be judged: all of `sloprobe check`'s, or the ones the
// status page keeps.
struct RunSamples {
  std::size_t runs = 0;
  std::size_t failures = 0;
  std::vector<std::size_t> failures_by_reason =
      std::vector<std::size_t>(static_cast<std::size_t>(probes::kReasonCount));
  LatencySamples duration;     // every run, failed or not, as the histogram has them
  LatencySamples ttft;         // llm_stream: runs with a first token
  LatencySamples inter_chunk;  // llm_stream: every gap
  LatencySamples e2e;          // llm_stream: runs with a last token
  LatencySamples round_trip;   // websocket: every message with its reply

  void Add(const probes::ProbeResult& result);
  double ErrorRatio() const {
    return runs == 0 ? 0.0 : static_cast<double>(failures) / static_cast<double>(runs);
  }
};

// One configured objective against the samples.
struct Verdict {
  // "latency", "ttft", "inter_chunk", "e2e", "round_trip" or "error_ratio"
  std::string objective;
  // Latency objectives: the quantile and threshold (seconds); error_ratio:
  // the highest ratio allowed, in `threshold`.
  double quantile = 0;
  double threshold = 0;
  // Latency: the measured quantile and the share of samples over the
  // threshold; error_ratio: the measured ratio, in both. nullopt: no samples.
  std::optional<double> observed;
  std::optional<double> ratio;
  // Met: at most 1 - quantile of the samples over the threshold (latency),
  // or the error ratio at most the objective. A latency objective with no
  // samples is not met when there were runs (all failed before a sample).
  bool met = true;

  // "latency p95 <= 200ms", "error ratio <= 1%".
  std::string Describe() const;
  // "measured 4.8ms, 0.5% slower", "measured 2.0%", "no samples".
  std::string Measured() const;
};

// "850µs", "12.3ms", "1.52s"; "-" for none. The one way a latency is shown
// to a person (status page, `sloprobe check`).
std::string LatencyText(std::optional<double> seconds);
// "0.0%", "2.5%", "0.012%" (small ratios keep their digits).
std::string RatioText(double ratio);

// Every objective `objectives` configures, in a fixed order.
std::vector<Verdict> Judge(const config::Objectives& objectives, const RunSamples& samples);

// The latest runs of one probe, oldest first, as a fixed ring: the newest
// `capacity` runs within `window`, for the status page. Every probe has one,
// so a run takes 7 bytes (9 with one more latency), allocated at the first
// run: the finish time in whole seconds, the
// reason, and each latency as a 16-bit logarithmic code, exact to within
// 0.03 % from a microsecond to days.
class RecentRuns {
 public:
  // The one latency besides the run's own that a run keeps.
  enum class Extra {
    kNone,
    kTtft,       // llm_stream: time to first token
    kRoundTrip,  // websocket: the run's slowest round trip
  };
  // What a probe keeps: its type's extra; a scenario with a stream step
  // keeps that step's time to first token, one with a WebSocket step (and
  // no stream) its slowest round trip.
  static Extra ExtraFor(const config::ProbeConfig& probe);

  // Room for a window's worth of runs at `interval`, at most `max_runs`.
  RecentRuns(config::Duration window, config::Duration interval, Extra extra,
             std::size_t max_runs = kMaxRuns);

  // The objectives the ring keeps samples for: latency, error_ratio, ttft
  // and round_trip (judged by each run's slowest round trip, which is exact
  // when a run sends one message); not inter_chunk and e2e.
  static config::Objectives Tracked(const config::Objectives& objectives);
  // The tracked objectives this ring keeps samples for: those of
  // Tracked() but ttft or round_trip without the matching Extra.
  config::Objectives Judged(const config::Objectives& objectives) const;

  static constexpr std::size_t kMaxRuns = 120;  // a run every 7.5 s fills 15 minutes

  void Add(const probes::ProbeResult& result, double finished_unix);

  struct Run {
    double finished_unix = 0;
    double seconds = 0;
    probes::Reason reason = probes::Reason::kOk;
  };
  // Runs that finished at or after `since_unix`, oldest first.
  std::vector<Run> Since(double since_unix) const;
  // The newest run, however old; nullopt before the first.
  std::optional<Run> Last() const;
  // The same runs as samples to judge, with the extra latency.
  RunSamples SamplesSince(double since_unix) const;
  std::size_t Capacity() const { return capacity_; }

 private:
  template <typename F>
  void ForEachSince(double since_unix, F&& f) const;

  // Latencies as 16-bit codes: 0 is "none" (a run without a first token).
  static std::uint16_t Encode(std::optional<double> seconds);
  static std::optional<double> Decode(std::uint16_t code);

  // Structure of arrays (no padding): times in whole seconds since the
  // Unix epoch (enough to tell which runs are in a 15-minute window), then
  // durations and extra latencies (with an Extra, the second half), then
  // reasons.
  std::uint32_t* FinishedAt() const { return finished_.get(); }
  std::uint16_t* Durations() const { return latencies_.get(); }
  std::uint16_t* Extras() const { return latencies_.get() + capacity_; }
  std::uint8_t* Reasons() const { return reasons_.get(); }

  std::uint16_t capacity_;
  std::uint16_t next_ = 0;  // where the next run goes
  std::uint16_t size_ = 0;
  Extra extra_;
  // Null until the first run.
  std::unique_ptr<std::uint32_t[]> finished_;
  std::unique_ptr<std::uint16_t[]> latencies_;
  std::unique_ptr<std::uint8_t[]> reasons_;
};

}  // namespace sloprobe::daemon
