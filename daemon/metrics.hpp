#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/series.hpp"
#include "probes/common/result.hpp"

namespace sloprobe::daemon {

// Default histogram upper bounds, in seconds.
const std::vector<double>& DefaultDurationBuckets();
const std::vector<double>& DefaultPhaseBuckets();
const std::vector<double>& DefaultLagBuckets();
// LLM streams: supersets of vLLM's server-side buckets, so that client and
// server views line up; gaps get extra sub-10 ms bounds.
const std::vector<double>& DefaultLlmTtftBuckets();  // also time to first byte
const std::vector<double>& DefaultLlmGapBuckets();   // inter-chunk, time per output token
const std::vector<double>& DefaultLlmE2eBuckets();   // time to last token, stream duration
const std::vector<double>& DefaultTokensPerChunkBuckets();

// `buckets` with every threshold inserted as a boundary (kept sorted and
// unique), so that `le`-based SLO queries are exact at the threshold.
std::vector<double> WithBoundaries(std::vector<double> buckets, const std::vector<double>& extra);

enum class Phase { kResolve, kConnect, kTls, kTtfb, kTransfer, kUpgrade };
inline constexpr std::array<std::string_view, 6> kPhaseNames{"resolve", "connect",  "tls",
                                                             "ttfb",    "transfer", "upgrade"};

class Metrics;

// The series of one probe, resolved once when the probe is set up so that
// recording a run does no label lookups.
class ProbeMetrics {
 public:
  ~ProbeMetrics();
  ProbeMetrics(const ProbeMetrics&) = delete;
  ProbeMetrics& operator=(const ProbeMetrics&) = delete;

  // Records a finished run. `now_unix` is the wall-clock end of the run.
  void Record(const probes::ProbeResult& result, double now_unix);
  void RecordSkipped() { skipped_->Increment(); }
  // A planned run was not started because the target asked to wait (429
  // with Retry-After).
  void RecordPostponed() { postponed_->Increment(); }

 private:
  friend class Metrics;
  using ReasonCounters = std::array<series::Counter*, probes::kReasonCount>;
  // Samples above an LLM or WebSocket objective's threshold (a bucket
  // boundary, so the count equals _count - _bucket{le=threshold}); null
  // without the objective.
  struct SlowSamples {
    series::Counter* counter = nullptr;
    double threshold = 0;
    void Observe(double seconds) const {
      if (counter != nullptr && seconds > threshold) counter->Increment();
    }
  };
  struct LlmSeries {
    std::string api;  // label values the series view
    std::string model;
    series::Histogram* ttfb = nullptr;
    series::Histogram* ttft = nullptr;
    series::Histogram* gaps = nullptr;
    series::Histogram* tpot = nullptr;
    series::Histogram* e2e = nullptr;
    series::Histogram* stream = nullptr;
    series::Histogram* tokens_per_chunk = nullptr;
    series::Counter* output_tokens = nullptr;
    series::Counter* input_tokens = nullptr;
    series::Gauge* usage_reported = nullptr;
    SlowSamples ttft_slow;
    SlowSamples gaps_slow;
    SlowSamples e2e_slow;
  };
  struct StepSeries {
    std::array<series::Histogram*, kPhaseNames.size()> phases{};
    series::Histogram* duration = nullptr;  // scenario steps only
    ReasonCounters failures{};
    ReasonCounters cleanup_failures{};         // `always` steps only
    std::array<series::Counter*, 3> logins{};  // the cached step: reused, new, retry
    // A stream (llm_stream probe or step); the series' `step` label is
    // empty (absent) for a probe's own request.
    std::unique_ptr<LlmSeries> llm;
    // A WebSocket exchange (websocket probe or step), the same way.
    series::Histogram* round_trip = nullptr;
    SlowSamples round_trip_slow;
  };
  ProbeMetrics(Metrics& owner, const config::ProbeConfig& config);
  // The step's entry: its name (a stable string for label views) and series.
  std::pair<const std::string, StepSeries>& Step(const std::string& name);
  // Bounds to share when they equal the defaults, else owned by this probe.
  const series::Bounds& BoundsOf(std::vector<double> values, const std::vector<double>& defaults);
  void AddStep(const std::string& step, bool may_use_tls, bool scenario, bool cleanup, bool cached,
               bool stream = false);
  // `step` is the `step` label: empty for the probe's own request.
  void AddLlm(StepSeries& series, std::string_view step, const config::LlmStream& llm,
              const config::ProbeConfig& config);
  void AddWebSocket(StepSeries& series, std::string_view step, const config::ProbeConfig& config);
  void AddObjective(series::Family<series::Gauge>& family, double value);
  static void RecordStream(const LlmSeries& llm, const probes::StreamTimings& s);
  static void RecordRoundTrips(const StepSeries& series, const std::vector<probes::Duration>& rtts);
  void RemoveStreamSeries(const StepSeries& series);
  series::Counter& Failure(const std::string& step, probes::Reason reason, bool cleanup);

  Metrics& owner_;
  std::string name_;
  std::string first_step_;
  std::vector<std::unique_ptr<series::Bounds>> owned_bounds_;
  const series::Bounds* duration_bounds_ = nullptr;
  const series::Bounds* phase_bounds_ = nullptr;
  double threshold_seconds_ = 0;  // meaningful only with a latency objective
  series::Histogram* duration_;
  series::Counter* runs_;
  series::Counter* slow_ = nullptr;  // only with a latency objective
  series::Counter* skipped_;
  series::Counter* postponed_;
  series::Gauge* success_;
  series::Gauge* last_run_;
  series::Gauge* interval_;
  series::Gauge* consecutive_failures_;
  std::vector<std::pair<series::Family<series::Gauge>*, series::Gauge*>> objectives_;
  series::Gauge* cert_expiry_ = nullptr;
  std::map<std::string, StepSeries, std::less<>> steps_;
};

// Owns every metric family sloprobe exports to Prometheus.
class Metrics {
 public:
  explicit Metrics(std::shared_ptr<prometheus::Registry> registry);

  std::unique_ptr<ProbeMetrics> ForProbe(const config::ProbeConfig& config);

  void ObserveSchedulerLag(double seconds) { scheduler_lag_->Observe(seconds); }
  // The per-probe series in the text format, `external` labels on each, in
  // one piece: what a scrape sends piece by piece (series::TextCursor).
  void WriteText(std::string& out,
                 const std::vector<prometheus::ClientMetric::Label>& external) const {
    series::TextCursor cursor(store_, external);
    while (cursor.Next(out, std::numeric_limits<std::size_t>::max())) {
    }
  }
  // For reading the per-probe series a piece at a time (series::TextCursor).
  std::shared_ptr<const series::Store> Store() const { return store_; }
  // Everything this owns as families: the registry's (sloprobe's own
  // series) and the per-probe ones.
  std::vector<prometheus::MetricFamily> Collect(
      const std::vector<prometheus::ClientMetric::Label>& external = {}) const;
  void SetConfigReload(bool ok, double now_unix);

  prometheus::Registry& Registry() { return *registry_; }

 private:
  friend class ProbeMetrics;
  const series::Bounds& DefaultBounds(const std::vector<double>& defaults);

  std::shared_ptr<prometheus::Registry> registry_;
  // Keyed by the address of a Default*Buckets() vector.
  std::map<const std::vector<double>*, std::unique_ptr<series::Bounds>> default_bounds_;
  // Before the families it makes. Shared: a scrape still being sent keeps
  // it (see series::TextCursor).
  std::shared_ptr<series::Store> store_ = std::make_shared<series::Store>();
  series::Family<series::Histogram>& probe_duration_;
  series::Family<series::Histogram>& step_duration_;
  series::Family<series::Histogram>& phase_duration_;
  series::Family<series::Counter>& runs_;
  series::Family<series::Counter>& failures_;
  series::Family<series::Counter>& cleanup_failures_;
  series::Family<series::Counter>& logins_;
  series::Family<series::Counter>& slow_;
  series::Family<series::Counter>& skipped_;
  series::Family<series::Counter>& postponed_;
  series::Family<series::Gauge>& success_;
  series::Family<series::Gauge>& last_run_;
  series::Family<series::Gauge>& interval_;
  series::Family<series::Gauge>& consecutive_failures_;
  series::Family<series::Gauge>& objective_latency_;
  series::Family<series::Gauge>& objective_quantile_;
  series::Family<series::Gauge>& objective_error_ratio_;
  series::Family<series::Gauge>& cert_expiry_;
  series::Family<series::Histogram>& llm_ttfb_;
  series::Family<series::Histogram>& llm_ttft_;
  series::Family<series::Histogram>& llm_gaps_;
  series::Family<series::Histogram>& llm_tpot_;
  series::Family<series::Histogram>& llm_e2e_;
  series::Family<series::Histogram>& llm_stream_;
  series::Family<series::Histogram>& llm_tokens_per_chunk_;
  series::Family<series::Counter>& llm_output_tokens_;
  series::Family<series::Counter>& llm_input_tokens_;
  series::Family<series::Gauge>& llm_usage_reported_;
  series::Family<series::Counter>& llm_ttft_slow_;
  series::Family<series::Counter>& llm_inter_chunk_slow_;
  series::Family<series::Counter>& llm_e2e_slow_;
  series::Family<series::Gauge>& objective_ttft_;
  series::Family<series::Gauge>& objective_ttft_quantile_;
  series::Family<series::Gauge>& objective_inter_chunk_;
  series::Family<series::Gauge>& objective_inter_chunk_quantile_;
  series::Family<series::Gauge>& objective_e2e_;
  series::Family<series::Gauge>& objective_e2e_quantile_;
  series::Family<series::Histogram>& websocket_round_trip_;
  series::Family<series::Counter>& websocket_round_trip_slow_;
  series::Family<series::Gauge>& objective_round_trip_;
  series::Family<series::Gauge>& objective_round_trip_quantile_;
  prometheus::Histogram* scheduler_lag_;
  prometheus::Gauge* reload_ok_;
  prometheus::Gauge* reload_time_;
};

// process_* metrics from /proc/self, in the names the Prometheus client
// libraries use, so that standard dashboards work.
class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

}  // namespace sloprobe::daemon
