#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "probes/result.hpp"

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

enum class Phase { kResolve, kConnect, kTls, kTtfb, kTransfer };
inline constexpr std::array<std::string_view, 5> kPhaseNames{"resolve", "connect", "tls", "ttfb",
                                                             "transfer"};

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
  using ReasonCounters = std::array<prometheus::Counter*, probes::kReasonCount>;
  struct StepSeries {
    std::array<prometheus::Histogram*, kPhaseNames.size()> phases{};
    prometheus::Histogram* duration = nullptr;  // scenario steps only
    ReasonCounters failures{};
    ReasonCounters cleanup_failures{};             // `always` steps only
    std::array<prometheus::Counter*, 3> logins{};  // the cached step: reused, new, retry
  };
  ProbeMetrics(Metrics& owner, const config::ProbeConfig& config);
  StepSeries& Step(const std::string& name);
  // Samples above an LLM objective's threshold (a bucket boundary, so the
  // count equals _count - _bucket{le=threshold}); null without the objective.
  struct SlowSamples {
    prometheus::Counter* counter = nullptr;
    double threshold = 0;
    void Observe(double seconds) const {
      if (counter != nullptr && seconds > threshold) counter->Increment();
    }
  };
  struct LlmSeries {
    prometheus::Histogram* ttfb;
    prometheus::Histogram* ttft;
    prometheus::Histogram* gaps;
    prometheus::Histogram* tpot;
    prometheus::Histogram* e2e;
    prometheus::Histogram* stream;
    prometheus::Histogram* tokens_per_chunk;
    prometheus::Counter* output_tokens;
    prometheus::Counter* input_tokens;
    prometheus::Gauge* usage_reported;
    SlowSamples ttft_slow;
    SlowSamples gaps_slow;
    SlowSamples e2e_slow;
  };
  void AddStep(const std::string& step, bool may_use_tls, bool scenario, bool cleanup, bool cached,
               bool stream = false);
  void AddLlm(const config::ProbeConfig& config);
  void AddObjective(prometheus::Family<prometheus::Gauge>& family, double value);
  void RecordStream(const probes::StreamTimings& s);
  prometheus::Counter& Failure(const std::string& step, probes::Reason reason, bool cleanup);

  Metrics& owner_;
  std::string name_;
  std::string first_step_;
  std::vector<double> duration_buckets_;
  std::vector<double> phase_buckets_;
  double threshold_seconds_ = 0;  // meaningful only with a latency objective
  prometheus::Histogram* duration_;
  prometheus::Counter* runs_;
  prometheus::Counter* slow_ = nullptr;  // only with a latency objective
  prometheus::Counter* skipped_;
  prometheus::Counter* postponed_;
  prometheus::Gauge* success_;
  prometheus::Gauge* last_run_;
  prometheus::Gauge* interval_;
  prometheus::Gauge* consecutive_failures_;
  std::vector<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>> objectives_;
  prometheus::Gauge* cert_expiry_ = nullptr;
  std::map<std::string, StepSeries, std::less<>> steps_;
  std::optional<LlmSeries> llm_;  // llm_stream probes
};

// Owns every metric family sloprobe exports to Prometheus.
class Metrics {
 public:
  explicit Metrics(std::shared_ptr<prometheus::Registry> registry);

  std::unique_ptr<ProbeMetrics> ForProbe(const config::ProbeConfig& config);

  void ObserveSchedulerLag(double seconds) { scheduler_lag_->Observe(seconds); }
  void SetConfigReload(bool ok, double now_unix);

  prometheus::Registry& Registry() { return *registry_; }

 private:
  friend class ProbeMetrics;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& probe_duration_;
  prometheus::Family<prometheus::Histogram>& step_duration_;
  prometheus::Family<prometheus::Histogram>& phase_duration_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Counter>& cleanup_failures_;
  prometheus::Family<prometheus::Counter>& logins_;
  prometheus::Family<prometheus::Counter>& slow_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& postponed_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Gauge>& interval_;
  prometheus::Family<prometheus::Gauge>& consecutive_failures_;
  prometheus::Family<prometheus::Gauge>& objective_latency_;
  prometheus::Family<prometheus::Gauge>& objective_quantile_;
  prometheus::Family<prometheus::Gauge>& objective_error_ratio_;
  prometheus::Family<prometheus::Gauge>& cert_expiry_;
  prometheus::Family<prometheus::Histogram>& llm_ttfb_;
  prometheus::Family<prometheus::Histogram>& llm_ttft_;
  prometheus::Family<prometheus::Histogram>& llm_gaps_;
  prometheus::Family<prometheus::Histogram>& llm_tpot_;
  prometheus::Family<prometheus::Histogram>& llm_e2e_;
  prometheus::Family<prometheus::Histogram>& llm_stream_;
  prometheus::Family<prometheus::Histogram>& llm_tokens_per_chunk_;
  prometheus::Family<prometheus::Counter>& llm_output_tokens_;
  prometheus::Family<prometheus::Counter>& llm_input_tokens_;
  prometheus::Family<prometheus::Gauge>& llm_usage_reported_;
  prometheus::Family<prometheus::Counter>& llm_ttft_slow_;
  prometheus::Family<prometheus::Counter>& llm_inter_chunk_slow_;
  prometheus::Family<prometheus::Counter>& llm_e2e_slow_;
  prometheus::Family<prometheus::Gauge>& objective_ttft_;
  prometheus::Family<prometheus::Gauge>& objective_ttft_quantile_;
  prometheus::Family<prometheus::Gauge>& objective_inter_chunk_;
  prometheus::Family<prometheus::Gauge>& objective_inter_chunk_quantile_;
  prometheus::Family<prometheus::Gauge>& objective_e2e_;
  prometheus::Family<prometheus::Gauge>& objective_e2e_quantile_;
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
