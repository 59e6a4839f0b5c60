#include "daemon/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "probes/common/probe.hpp"

namespace sloprobe::daemon {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const std::vector<double>& DefaultDurationBuckets() {
  static const std::vector<double> b{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,      2.5,   5,    10,    30,   60};
  return b;
}

const std::vector<double>& DefaultPhaseBuckets() {
  static const std::vector<double> b{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return b;
}

const std::vector<double>& DefaultLagBuckets() {
  // 1 ms and 2 ms are boundaries so that lag targets can be read exactly.
  static const std::vector<double> b{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002,
                                     0.005,   0.01,   0.025,   0.05,   0.1,   1};
  return b;
}

const std::vector<double>& DefaultLlmTtftBuckets() {
  // vLLM's time_to_first_token set plus 0.5 ms, 2.5 ms and 200 ms.
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
                                     0.1,    0.2,   0.25,   0.5,   0.75, 1,    2.5,  5,    7.5,
                                     10,     20,    40,     80,    160,  640,  2560};
  return b;
}

const std::vector<double>& DefaultLlmGapBuckets() {
  // vLLM's time_per_output_token set, below which a chunk gap on a fast
  // server or a coalescing proxy still needs resolution: 0.1 ms to 5 ms.
  static const std::vector<double> b{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
      0.3,    0.4,     0.5,    0.75,  1,      2.5,   5,    7.5,   10,   20,    40,  80};
  return b;
}

const std::vector<double>& DefaultLlmE2eBuckets() {
  // vLLM's e2e_request_latency set plus short streams (10 ms to 250 ms).
  static const std::vector<double> b{0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5,  0.8, 1,
                                     1.5,  2,     2.5,  5,   10,   15,  20,   30,  40,
                                     50,   60,    120,  240, 480,  960, 1920, 7680};
  return b;
}

const std::vector<double>& DefaultTokensPerChunkBuckets() {
  static const std::vector<double> b{1, 1.5, 2, 3, 4, 6, 8, 12, 16, 32, 64};
  return b;
}

std::vector<double> WithBoundaries(std::vector<double> buckets, const std::vector<double>& extra) {
  buckets.insert(buckets.end(), extra.begin(), extra.end());
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

namespace {

// The failure reasons an HTTP request can end with; their counters exist
// from the start at 0, so that rate() sees the first failure of each kind.
bool ReasonApplies(probes::Reason r, bool may_use_tls, bool stream) {
  using probes::Reason;
  switch (r) {
    case Reason::kOk:
      return false;
    case Reason::kStreamError:
    case Reason::kNoTokens:
      return stream;
    case Reason::kTls:
      return may_use_tls;
    default:
      return true;
  }
}

constexpr std::array<std::string_view, 3> kLoginResults{"reused", "new", "retry"};

double Seconds(probes::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Metrics::Metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      probe_duration_(store_->Make<series::Histogram>(
          "sloprobe_probe_duration_seconds", "Duration of whole probe runs, failed ones included.",
          {"probe"})),
      step_duration_(store_->Make<series::Histogram>(
          "sloprobe_step_duration_seconds",
          "Duration of one step of a scenario run, failed ones included.", {"probe", "step"})),
      phase_duration_(store_->Make<series::Histogram>(
          "sloprobe_http_phase_duration_seconds",
          "Duration of one phase of an HTTP exchange: resolve, connect, "
          "tls, ttfb (request sent to first response byte), transfer.",
          {"probe", "step", "phase"})),
      runs_(store_->Make<series::Counter>("sloprobe_probe_runs_total",
                                          "Probe runs finished, successful or not.", {"probe"})),
      failures_(store_->Make<series::Counter>(
          "sloprobe_probe_failures_total",
          "Probe runs that failed, by the step where and the reason why.",
          {"probe", "step", "reason"})),
      cleanup_failures_(
          store_->Make<series::Counter>("sloprobe_scenario_cleanup_failures_total",
                                        "Failed runs of scenario steps marked always (cleanup), "
                                        "by step and reason.",
                                        {"probe", "step", "reason"})),
      logins_(store_->Make<series::Counter>(
          "sloprobe_scenario_logins_total",
          "Runs of a scenario's cached (login) step: reused (skipped, cached "
          "values still fresh), new (sent), retry (sent again after a 401).",
          {"probe", "step", "result"})),
      slow_(store_->Make<series::Counter>("sloprobe_probe_slow_total",
                                          "Probe runs slower than the latency objective threshold.",
                                          {"probe"})),
      skipped_(store_->Make<series::Counter>(
          "sloprobe_probe_skipped_total",
          "Planned runs not started because max_in_flight runs were still going.", {"probe"})),
      postponed_(store_->Make<series::Counter>(
          "sloprobe_probe_postponed_total",
          "Planned runs not started because the target answered 429 with "
          "Retry-After.",
          {"probe"})),
      success_(store_->Make<series::Gauge>(
          "sloprobe_probe_success",
          "Whether the last run of the probe succeeded (1) or failed (0).", {"probe"})),
      last_run_(store_->Make<series::Gauge>(
          "sloprobe_probe_last_run_timestamp_seconds",
          "Unix time at which the last run of the probe finished.", {"probe"})),
      interval_(store_->Make<series::Gauge>(
          "sloprobe_probe_interval_seconds",
          "Configured interval between planned runs of the probe.", {"probe"})),
      consecutive_failures_(
          store_->Make<series::Gauge>("sloprobe_probe_consecutive_failures",
                                      "Runs of the probe that failed in a row, up to the last "
                                      "one; 0 after a success.",
                                      {"probe"})),
      objective_latency_(store_->Make<series::Gauge>(
          "sloprobe_objective_latency_seconds",
          "Configured latency objective threshold of the probe.", {"probe"})),
      objective_quantile_(store_->Make<series::Gauge>(
          "sloprobe_objective_latency_quantile",
          "Configured latency objective quantile of the probe.", {"probe"})),
      objective_error_ratio_(store_->Make<series::Gauge>(
          "sloprobe_objective_error_ratio", "Configured highest acceptable ratio of failed runs.",
          {"probe"})),
      cert_expiry_(store_->Make<series::Gauge>(
          "sloprobe_tls_cert_expiry_timestamp_seconds",
          "Unix time at which the server's leaf certificate expires.", {"probe"})),
      llm_ttfb_(store_->Make<series::Histogram>(
          "sloprobe_llm_time_to_first_byte_seconds",
          "LLM streams: request handed to the socket to the first response byte.",
          {"probe", "step", "api", "model"})),
      llm_ttft_(store_->Make<series::Histogram>(
          "sloprobe_llm_time_to_first_token_seconds",
          "LLM streams: request handed to the socket to the first chunk that "
          "carries output (text, reasoning or a tool call).",
          {"probe", "step", "api", "model"})),
      llm_gaps_(store_->Make<series::Histogram>(
          "sloprobe_llm_inter_chunk_seconds",
          "LLM streams: time between consecutive chunks that carry output, one "
          "sample per gap.",
          {"probe", "step", "api", "model"})),
      llm_tpot_(store_->Make<series::Histogram>(
          "sloprobe_llm_time_per_output_token_seconds",
          "LLM streams: (last token - first token) / (output tokens - 1), one "
          "sample per run.",
          {"probe", "step", "api", "model"})),
      llm_e2e_(store_->Make<series::Histogram>(
          "sloprobe_llm_time_to_last_token_seconds",
          "LLM streams: request handed to the socket to the last chunk that "
          "carries output (end-to-end latency as a user sees it).",
          {"probe", "step", "api", "model"})),
      llm_stream_(store_->Make<series::Histogram>(
          "sloprobe_llm_stream_duration_seconds",
          "LLM streams: request handed to the socket to the end marker of the "
          "stream, or the end of the body without one.",
          {"probe", "step", "api", "model"})),
      llm_tokens_per_chunk_(store_->Make<series::Histogram>(
          "sloprobe_llm_tokens_per_chunk",
          "LLM streams: output tokens (server usage) per chunk that "
          "carries output, one sample per run; above 1 when the "
          "server or a proxy batches tokens.",
          {"probe", "step", "api", "model"})),
      llm_output_tokens_(store_->Make<series::Counter>(
          "sloprobe_llm_output_tokens_total",
          "LLM streams: output tokens, from the server's usage fields "
          "or, without them, counted token chunks (see "
          "sloprobe_llm_usage_reported).",
          {"probe", "step", "api", "model"})),
      llm_input_tokens_(store_->Make<series::Counter>(
          "sloprobe_llm_input_tokens_total",
          "LLM streams: prompt tokens, from the server's usage fields.",
          {"probe", "step", "api", "model"})),
      llm_usage_reported_(
          store_->Make<series::Gauge>("sloprobe_llm_usage_reported",
                                      "LLM streams: whether the last stream carried token usage "
                                      "(1) or output tokens were counted from chunks (0).",
                                      {"probe", "step", "api", "model"})),
      llm_ttft_slow_(
          store_->Make<series::Counter>("sloprobe_llm_ttft_slow_total",
                                        "LLM streams: time-to-first-token samples above the ttft "
                                        "objective threshold.",
                                        {"probe", "step", "api", "model"})),
      llm_inter_chunk_slow_(
          store_->Make<series::Counter>("sloprobe_llm_inter_chunk_slow_total",
                                        "LLM streams: inter-chunk gaps above the inter_chunk "
                                        "objective threshold.",
                                        {"probe", "step", "api", "model"})),
      llm_e2e_slow_(
          store_->Make<series::Counter>("sloprobe_llm_e2e_slow_total",
                                        "LLM streams: time-to-last-token samples above the e2e "
                                        "objective threshold.",
                                        {"probe", "step", "api", "model"})),
      objective_ttft_(store_->Make<series::Gauge>(
          "sloprobe_objective_ttft_seconds", "Configured time-to-first-token objective threshold.",
          {"probe"})),
      objective_ttft_quantile_(store_->Make<series::Gauge>(
          "sloprobe_objective_ttft_quantile", "Configured time-to-first-token objective quantile.",
          {"probe"})),
      objective_inter_chunk_(store_->Make<series::Gauge>(
          "sloprobe_objective_inter_chunk_seconds",
          "Configured inter-chunk latency objective threshold.", {"probe"})),
      objective_inter_chunk_quantile_(
          store_->Make<series::Gauge>("sloprobe_objective_inter_chunk_quantile",
                                      "Configured inter-chunk latency objective "
                                      "quantile.",
                                      {"probe"})),
      objective_e2e_(store_->Make<series::Gauge>(
          "sloprobe_objective_e2e_seconds", "Configured time-to-last-token objective threshold.",
          {"probe"})),
      objective_e2e_quantile_(store_->Make<series::Gauge>(
          "sloprobe_objective_e2e_quantile", "Configured time-to-last-token objective quantile.",
          {"probe"})),
      websocket_round_trip_(store_->Make<series::Histogram>(
          "sloprobe_websocket_round_trip_seconds",
          "WebSocket probes: a message sent to its matching reply read.", {"probe", "step"})),
      websocket_round_trip_slow_(store_->Make<series::Counter>(
          "sloprobe_websocket_round_trip_slow_total",
          "WebSocket probes: round trips above the round_trip objective threshold.",
          {"probe", "step"})),
      objective_round_trip_(store_->Make<series::Gauge>(
          "sloprobe_objective_round_trip_seconds",
          "Configured WebSocket round-trip objective threshold.", {"probe"})),
      objective_round_trip_quantile_(store_->Make<series::Gauge>(
          "sloprobe_objective_round_trip_quantile",
          "Configured WebSocket round-trip objective quantile.", {"probe"})),
      scheduler_lag_(&BuildHistogram()
                          .Name("sloprobe_scheduler_lag_seconds")
                          .Help("Actual start of a probe run minus its planned start.")
                          .Register(*registry_)
                          .Add({}, DefaultLagBuckets())),
      reload_ok_(&BuildGauge()
                      .Name("sloprobe_config_last_reload_successful")
                      .Help("Whether the last configuration load succeeded.")
                      .Register(*registry_)
                      .Add({})),
      reload_time_(&BuildGauge()
                        .Name("sloprobe_config_last_reload_success_timestamp_seconds")
                        .Help("Unix time of the last successful configuration load.")
                        .Register(*registry_)
                        .Add({})) {}

void Metrics::SetConfigReload(bool ok, double now_unix) {
  reload_ok_->Set(ok ? 1 : 0);
  if (ok) reload_time_->Set(now_unix);
}

std::vector<prometheus::MetricFamily> Metrics::Collect(
    const std::vector<prometheus::ClientMetric::Label>& external) const {
  auto families = registry_->Collect();
  auto more = store_->Collect(external);
  families.insert(families.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  return families;
}

const series::Bounds& Metrics::DefaultBounds(const std::vector<double>& defaults) {
  // One per default set, shared by every probe that does not change it.
  auto& slot = default_bounds_[&defaults];
  if (!slot) slot = std::make_unique<series::Bounds>(defaults);
  return *slot;
}

std::unique_ptr<ProbeMetrics> Metrics::ForProbe(const config::ProbeConfig& config) {
  return std::unique_ptr<ProbeMetrics>(new ProbeMetrics(*this, config));
}

ProbeMetrics::ProbeMetrics(Metrics& owner, const config::ProbeConfig& config)
    : owner_(owner), name_(config.name) {
  std::vector<double> thresholds;
  if (config.objectives.latency) {
    threshold_seconds_ = config::ToSeconds(config.objectives.latency->threshold);
    thresholds.push_back(threshold_seconds_);
  }
  const auto& base =
      config.buckets.duration.empty() ? DefaultDurationBuckets() : config.buckets.duration;
  duration_bounds_ = &BoundsOf(WithBoundaries(base, thresholds), DefaultDurationBuckets());
  phase_bounds_ = &BoundsOf(config.buckets.phase, DefaultPhaseBuckets());
  duration_ = &owner.probe_duration_.Add({name_}, *duration_bounds_);
  runs_ = &owner.runs_.Add({name_});
  if (config.objectives.latency) slow_ = &owner.slow_.Add({name_});
  skipped_ = &owner.skipped_.Add({name_});
  postponed_ = &owner.postponed_.Add({name_});
  success_ = &owner.success_.Add({name_});
  last_run_ = &owner.last_run_.Add({name_});
  interval_ = &owner.interval_.Add({name_});
  interval_->Set(config::ToSeconds(config.interval));
  consecutive_failures_ = &owner.consecutive_failures_.Add({name_});
  switch (config.type) {
    case config::ProbeType::kHttp:
      AddStep(std::string(probes::kRequestStep),
              config.request.url.scheme_id() == boost::urls::scheme::https, false, false, false);
      break;
    case config::ProbeType::kScenario:
      for (const auto& step : config.steps) {
        // A URL that starts with a variable may turn out to be https.
        const bool stream = step.type == config::ProbeType::kLlmStream;
        AddStep(step.name,
                step.request.url.scheme_id() != boost::urls::scheme::http &&
                    step.request.url.scheme_id() != boost::urls::scheme::ws,
                true, step.always, step.cache.has_value(), stream);
        auto& [name, series] = Step(step.name);
        if (stream) AddLlm(series, name, step.llm, config);
        if (step.type == config::ProbeType::kWebSocket) AddWebSocket(series, name, config);
      }
      break;
    case config::ProbeType::kLlmStream:
      AddStep(std::string(probes::kRequestStep),
              config.request.url.scheme_id() == boost::urls::scheme::https, false, false, false,
              true);
      AddLlm(Step(std::string(probes::kRequestStep)).second, "", config.llm, config);
      break;
    case config::ProbeType::kWebSocket:
      AddStep(std::string(probes::kRequestStep),
              config.request.url.scheme_id() == boost::urls::scheme::wss, false, false, false);
      AddWebSocket(Step(std::string(probes::kRequestStep)).second, "", config);
      break;
  }
  const auto& o = config.objectives;
  if (o.latency) {
    AddObjective(owner.objective_latency_, threshold_seconds_);
    AddObjective(owner.objective_quantile_, o.latency->quantile);
  }
  if (o.error_ratio) AddObjective(owner.objective_error_ratio_, *o.error_ratio);
  if (o.ttft) {
    AddObjective(owner.objective_ttft_, config::ToSeconds(o.ttft->threshold));
    AddObjective(owner.objective_ttft_quantile_, o.ttft->quantile);
  }
  if (o.inter_chunk) {
    AddObjective(owner.objective_inter_chunk_, config::ToSeconds(o.inter_chunk->threshold));
    AddObjective(owner.objective_inter_chunk_quantile_, o.inter_chunk->quantile);
  }
  if (o.e2e) {
    AddObjective(owner.objective_e2e_, config::ToSeconds(o.e2e->threshold));
    AddObjective(owner.objective_e2e_quantile_, o.e2e->quantile);
  }
  if (o.round_trip) {
    AddObjective(owner.objective_round_trip_, config::ToSeconds(o.round_trip->threshold));
    AddObjective(owner.objective_round_trip_quantile_, o.round_trip->quantile);
  }
}

const series::Bounds& ProbeMetrics::BoundsOf(std::vector<double> values,
                                             const std::vector<double>& defaults) {
  if (values.empty() || values == defaults) return owner_.DefaultBounds(defaults);
  owned_bounds_.push_back(std::make_unique<series::Bounds>(std::move(values)));
  return *owned_bounds_.back();
}

void ProbeMetrics::AddObjective(series::Family<series::Gauge>& family, double value) {
  auto& g = family.Add({name_});
  g.Set(value);
  objectives_.emplace_back(&family, &g);
}

void ProbeMetrics::AddLlm(StepSeries& series, std::string_view step, const config::LlmStream& llm,
                          const config::ProbeConfig& config) {
  series.llm = std::make_unique<LlmSeries>();
  LlmSeries& l = *series.llm;
  l.api = std::string(config::LlmApiName(llm.api));
  l.model = llm.model;
  const std::initializer_list<std::string_view> labels{name_, step, l.api, l.model};
  auto bounds =
      [&](const std::vector<double>& configured, const std::vector<double>& fallback,
          const std::optional<config::LatencyObjective>& objective) -> const series::Bounds& {
    std::vector<double> extra;
    if (objective) extra.push_back(config::ToSeconds(objective->threshold));
    return BoundsOf(WithBoundaries(configured.empty() ? fallback : configured, extra), fallback);
  };
  const auto& b = config.buckets;
  const auto& o = config.objectives;
  const auto& ttft = bounds(b.ttft, DefaultLlmTtftBuckets(), o.ttft);
  const auto& gaps = bounds(b.inter_chunk, DefaultLlmGapBuckets(), o.inter_chunk);
  const auto& e2e = bounds(b.e2e, DefaultLlmE2eBuckets(), o.e2e);
  auto slow = [&](series::Family<series::Counter>& family,
                  const std::optional<config::LatencyObjective>& objective) {
    if (!objective) return SlowSamples{};
    return SlowSamples{&family.Add(labels), config::ToSeconds(objective->threshold)};
  };
  l.ttfb = &owner_.llm_ttfb_.Add(labels, ttft);
  l.ttft = &owner_.llm_ttft_.Add(labels, ttft);
  l.gaps = &owner_.llm_gaps_.Add(labels, gaps);
  l.tpot = &owner_.llm_tpot_.Add(labels, gaps);
  l.e2e = &owner_.llm_e2e_.Add(labels, e2e);
  l.stream = &owner_.llm_stream_.Add(labels, e2e);
  l.tokens_per_chunk = &owner_.llm_tokens_per_chunk_.Add(
      labels, owner_.DefaultBounds(DefaultTokensPerChunkBuckets()));
  l.output_tokens = &owner_.llm_output_tokens_.Add(labels);
  l.input_tokens = &owner_.llm_input_tokens_.Add(labels);
  l.usage_reported = &owner_.llm_usage_reported_.Add(labels);
  l.ttft_slow = slow(owner_.llm_ttft_slow_, o.ttft);
  l.gaps_slow = slow(owner_.llm_inter_chunk_slow_, o.inter_chunk);
  l.e2e_slow = slow(owner_.llm_e2e_slow_, o.e2e);
}

void ProbeMetrics::AddWebSocket(StepSeries& series, std::string_view step,
                                const config::ProbeConfig& config) {
  const auto& o = config.objectives.round_trip;
  std::vector<double> extra;
  if (o) extra.push_back(config::ToSeconds(o->threshold));
  const auto& base =
      config.buckets.round_trip.empty() ? DefaultPhaseBuckets() : config.buckets.round_trip;
  series.round_trip = &owner_.websocket_round_trip_.Add(
      {name_, step}, BoundsOf(WithBoundaries(base, extra), DefaultPhaseBuckets()));
  if (o) {
    series.round_trip_slow = SlowSamples{&owner_.websocket_round_trip_slow_.Add({name_, step}),
                                         config::ToSeconds(o->threshold)};
  }
}

void ProbeMetrics::RecordStream(const LlmSeries& l, const probes::StreamTimings& s) {
  auto observe = [](series::Histogram* h, const std::optional<probes::Duration>& d) {
    if (d) h->Observe(Seconds(*d));
  };
  observe(l.ttfb, s.ttfb);
  observe(l.ttft, s.ttft);
  if (s.ttft) l.ttft_slow.Observe(Seconds(*s.ttft));
  for (const auto gap : s.gaps) {
    l.gaps->Observe(Seconds(gap));
    l.gaps_slow.Observe(Seconds(gap));
  }
  observe(l.tpot, s.tpot);
  observe(l.e2e, s.e2e);
  if (s.e2e) l.e2e_slow.Observe(Seconds(*s.e2e));
  observe(l.stream, s.stream);
  if (!s.output_tokens_approximate && s.token_items > 0) {
    l.tokens_per_chunk->Observe(static_cast<double>(s.output_tokens) /
                                static_cast<double>(s.token_items));
  }
  l.output_tokens->Increment(static_cast<double>(s.output_tokens));
  if (s.input_tokens) l.input_tokens->Increment(static_cast<double>(*s.input_tokens));
  l.usage_reported->Set(s.output_tokens_approximate ? 0 : 1);
}

void ProbeMetrics::RecordRoundTrips(const StepSeries& series,
                                    const std::vector<probes::Duration>& rtts) {
  if (series.round_trip == nullptr) return;
  for (const auto rtt : rtts) {
    series.round_trip->Observe(Seconds(rtt));
    series.round_trip_slow.Observe(Seconds(rtt));
  }
}

void ProbeMetrics::RemoveStreamSeries(const StepSeries& series) {
  if (series.round_trip != nullptr) owner_.websocket_round_trip_.Remove(series.round_trip);
  if (series.round_trip_slow.counter != nullptr) {
    owner_.websocket_round_trip_slow_.Remove(series.round_trip_slow.counter);
  }
  if (!series.llm) return;
  const LlmSeries& l = *series.llm;
  const std::pair<series::Family<series::Histogram>*, series::Histogram*> histograms[] = {
      {&owner_.llm_ttfb_, l.ttfb},
      {&owner_.llm_ttft_, l.ttft},
      {&owner_.llm_gaps_, l.gaps},
      {&owner_.llm_tpot_, l.tpot},
      {&owner_.llm_e2e_, l.e2e},
      {&owner_.llm_stream_, l.stream},
      {&owner_.llm_tokens_per_chunk_, l.tokens_per_chunk}};
  for (auto [family, h] : histograms) family->Remove(h);
  owner_.llm_output_tokens_.Remove(l.output_tokens);
  owner_.llm_input_tokens_.Remove(l.input_tokens);
  owner_.llm_usage_reported_.Remove(l.usage_reported);
  const std::pair<series::Family<series::Counter>*, const SlowSamples*> slow[] = {
      {&owner_.llm_ttft_slow_, &l.ttft_slow},
      {&owner_.llm_inter_chunk_slow_, &l.gaps_slow},
      {&owner_.llm_e2e_slow_, &l.e2e_slow}};
  for (auto [family, samples] : slow) {
    if (samples->counter != nullptr) family->Remove(samples->counter);
  }
}

void ProbeMetrics::AddStep(const std::string& step, bool may_use_tls, bool scenario, bool cleanup,
                           bool cached, bool stream) {
  if (first_step_.empty()) first_step_ = step;
  auto& [name, series] = Step(step);
  for (int i = 1; i < probes::kReasonCount; ++i) {
    const auto r = static_cast<probes::Reason>(i);
    if (!ReasonApplies(r, may_use_tls, stream)) continue;
    Failure(step, r, false);
    if (cleanup) Failure(step, r, true);
  }
  if (scenario) {
    series.duration = &owner_.step_duration_.Add({name_, name}, *duration_bounds_);
  }
  if (cached) {
    for (std::size_t i = 0; i < kLoginResults.size(); ++i) {
      series.logins[i] = &owner_.logins_.Add({name_, name, kLoginResults[i]});
    }
  }
}

series::Counter& ProbeMetrics::Failure(const std::string& step, probes::Reason reason,
                                       bool cleanup) {
  auto& [name, series] = Step(step);
  auto*& counter =
      (cleanup ? series.cleanup_failures : series.failures)[static_cast<std::size_t>(reason)];
  if (counter == nullptr) {
    auto& family = cleanup ? owner_.cleanup_failures_ : owner_.failures_;
    counter = &family.Add({name_, name, probes::ReasonName(reason)});
  }
  return *counter;
}

ProbeMetrics::~ProbeMetrics() {
  owner_.probe_duration_.Remove(duration_);
  owner_.runs_.Remove(runs_);
  if (slow_ != nullptr) owner_.slow_.Remove(slow_);
  owner_.skipped_.Remove(skipped_);
  owner_.postponed_.Remove(postponed_);
  owner_.success_.Remove(success_);
  owner_.last_run_.Remove(last_run_);
  owner_.interval_.Remove(interval_);
  owner_.consecutive_failures_.Remove(consecutive_failures_);
  for (auto [family, gauge] : objectives_) family->Remove(gauge);
  if (cert_expiry_ != nullptr) owner_.cert_expiry_.Remove(cert_expiry_);
  for (auto& [name, series] : steps_) {
    RemoveStreamSeries(series);
    for (auto* h : series.phases) {
      if (h != nullptr) owner_.phase_duration_.Remove(h);
    }
    if (series.duration != nullptr) owner_.step_duration_.Remove(series.duration);
    for (auto* c : series.failures) {
      if (c != nullptr) owner_.failures_.Remove(c);
    }
    for (auto* c : series.cleanup_failures) {
      if (c != nullptr) owner_.cleanup_failures_.Remove(c);
    }
    for (auto* c : series.logins) {
      if (c != nullptr) owner_.logins_.Remove(c);
    }
  }
}

std::pair<const std::string, ProbeMetrics::StepSeries>& ProbeMetrics::Step(
    const std::string& name) {
  auto it = steps_.find(name);
  if (it != steps_.end()) return *it;
  return *steps_.emplace(name, StepSeries{}).first;
}

void ProbeMetrics::Record(const probes::ProbeResult& result, double now_unix) {
  const double seconds = Seconds(result.duration);
  duration_->Observe(seconds);
  runs_->Increment();
  // Slow means "not in the threshold's le bucket": the same comparison the
  // histogram makes, so slow_total == count - bucket{le=threshold}.
  if (slow_ != nullptr && seconds > threshold_seconds_) slow_->Increment();
  success_->Set(result.Ok() ? 1 : 0);
  if (result.Ok()) {
    consecutive_failures_->Set(0);
  } else {
    consecutive_failures_->Increment();
  }
  last_run_->Set(now_unix);
  if (!result.Ok()) {
    // A run that failed outside any step (an internal error) is put on the first.
    Failure(result.step.empty() ? first_step_ : result.step, result.reason, false).Increment();
  }
  for (const auto& step : result.steps) {
    auto& [step_name, series] = Step(step.name);
    if (step.login != probes::StepResult::Login::kNone) {
      const auto i = static_cast<std::size_t>(step.login) - 1;
      if (series.logins[i] != nullptr) series.logins[i]->Increment();
    }
    if (step.cleanup && !step.Ok() && !step.retried) {
      Failure(step.name, step.reason, true).Increment();
    }
    if (!step.sent) continue;  // nothing was timed
    if (series.duration != nullptr) series.duration->Observe(Seconds(step.duration));
    const std::array<const std::optional<probes::Duration>*, kPhaseNames.size()> phases{
        &step.phases.resolve, &step.phases.connect,  &step.phases.tls,
        &step.phases.ttfb,    &step.phases.transfer, &step.phases.upgrade};
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (!*phases[i]) continue;
      if (series.phases[i] == nullptr) {
        series.phases[i] =
            &owner_.phase_duration_.Add({name_, step_name, kPhaseNames[i]}, *phase_bounds_);
      }
      series.phases[i]->Observe(Seconds(**phases[i]));
    }
    // A scenario's stream and WebSocket steps.
    if (step.stream && series.llm) RecordStream(*series.llm, *step.stream);
    RecordRoundTrips(series, step.round_trips);
  }
  // A probe's own stream or exchange is on its only step (looked up only
  // then: most runs have neither).
  if (result.stream || !result.round_trips.empty()) {
    const auto& own = Step(first_step_).second;
    if (result.stream && own.llm) RecordStream(*own.llm, *result.stream);
    RecordRoundTrips(own, result.round_trips);
  }
  if (result.cert_not_after) {
    if (cert_expiry_ == nullptr) cert_expiry_ = &owner_.cert_expiry_.Add({name_});
    cert_expiry_->Set(static_cast<double>(*result.cert_not_after));
  }
}

namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

// Fields of /proc/self/stat after the command name.
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  while (rest >> field) out.push_back(field);
  return out;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

ProcessCollector::ProcessCollector() {
  const auto fields = StatFields();
  // Field 22 of stat (index 19 after the name): start time in clock ticks.
  if (fields.size() > 19) {
    start_time_seconds_ =
        BootTimeSeconds() + std::stod(fields[19]) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const auto fields = StatFields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (fields.size() > 21) {
    const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    out.push_back(Family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         cpu));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, std::stod(fields[20])));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge,
                         std::stod(fields[21]) * static_cast<double>(sysconf(_SC_PAGESIZE))));
  }
  double fds = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (fds > 0) --fds;  // the iterator's own descriptor
  out.push_back(
      Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  out.push_back(Family("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       start_time_seconds_));
  return out;
}

}  // namespace sloprobe::daemon
