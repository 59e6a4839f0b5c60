#include "daemon/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

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

std::vector<double> WithBoundaries(std::vector<double> buckets, const std::vector<double>& extra) {
  buckets.insert(buckets.end(), extra.begin(), extra.end());
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

namespace {

// The failure reasons an HTTP request can end with; their counters exist
// from the start at 0, so that rate() sees the first failure of each kind.
bool ReasonApplies(probes::Reason r, bool may_use_tls) {
  using probes::Reason;
  switch (r) {
    case Reason::kOk:
    case Reason::kStreamError:
    case Reason::kNoTokens:
      return false;
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
      probe_duration_(BuildHistogram()
                          .Name("sloprobe_probe_duration_seconds")
                          .Help("Duration of whole probe runs, failed ones included.")
                          .Register(*registry_)),
      step_duration_(BuildHistogram()
                         .Name("sloprobe_step_duration_seconds")
                         .Help("Duration of one step of a scenario run, failed ones included.")
                         .Register(*registry_)),
      phase_duration_(BuildHistogram()
                          .Name("sloprobe_http_phase_duration_seconds")
                          .Help("Duration of one phase of an HTTP exchange: resolve, connect, "
                                "tls, ttfb (request sent to first response byte), transfer.")
                          .Register(*registry_)),
      runs_(BuildCounter()
                .Name("sloprobe_probe_runs_total")
                .Help("Probe runs finished, successful or not.")
                .Register(*registry_)),
      failures_(BuildCounter()
                    .Name("sloprobe_probe_failures_total")
                    .Help("Probe runs that failed, by the step where and the reason why.")
                    .Register(*registry_)),
      cleanup_failures_(BuildCounter()
                            .Name("sloprobe_scenario_cleanup_failures_total")
                            .Help("Failed runs of scenario steps marked always (cleanup), "
                                  "by step and reason.")
                            .Register(*registry_)),
      logins_(BuildCounter()
                  .Name("sloprobe_scenario_logins_total")
                  .Help("Runs of a scenario's cached (login) step: reused (skipped, cached "
                        "values still fresh), new (sent), retry (sent again after a 401).")
                  .Register(*registry_)),
      slow_(BuildCounter()
                .Name("sloprobe_probe_slow_total")
                .Help("Probe runs slower than the latency objective threshold.")
                .Register(*registry_)),
      skipped_(BuildCounter()
                   .Name("sloprobe_probe_skipped_total")
                   .Help("Planned runs not started because max_in_flight runs were still going.")
                   .Register(*registry_)),
      postponed_(BuildCounter()
                     .Name("sloprobe_probe_postponed_total")
                     .Help("Planned runs not started because the target answered 429 with "
                           "Retry-After.")
                     .Register(*registry_)),
      success_(BuildGauge()
                   .Name("sloprobe_probe_success")
                   .Help("Whether the last run of the probe succeeded (1) or failed (0).")
                   .Register(*registry_)),
      last_run_(BuildGauge()
                    .Name("sloprobe_probe_last_run_timestamp_seconds")
                    .Help("Unix time at which the last run of the probe finished.")
                    .Register(*registry_)),
      objective_latency_(BuildGauge()
                             .Name("sloprobe_objective_latency_seconds")
                             .Help("Configured latency objective threshold of the probe.")
                             .Register(*registry_)),
      objective_quantile_(BuildGauge()
                              .Name("sloprobe_objective_latency_quantile")
                              .Help("Configured latency objective quantile of the probe.")
                              .Register(*registry_)),
      objective_error_ratio_(BuildGauge()
                                 .Name("sloprobe_objective_error_ratio")
                                 .Help("Configured highest acceptable ratio of failed runs.")
                                 .Register(*registry_)),
      cert_expiry_(BuildGauge()
                       .Name("sloprobe_tls_cert_expiry_timestamp_seconds")
                       .Help("Unix time at which the server's leaf certificate expires.")
                       .Register(*registry_)),
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

std::unique_ptr<ProbeMetrics> Metrics::ForProbe(const config::ProbeConfig& config) {
  return std::unique_ptr<ProbeMetrics>(new ProbeMetrics(*this, config));
}

ProbeMetrics::ProbeMetrics(Metrics& owner, const config::ProbeConfig& config)
    : owner_(owner), name_(config.name) {
  const prometheus::Labels labels{{"probe", name_}};
  std::vector<double> thresholds;
  if (config.objectives.latency) {
    threshold_seconds_ = config::ToSeconds(config.objectives.latency->threshold);
    thresholds.push_back(threshold_seconds_);
  }
  const auto& base =
      config.buckets.duration.empty() ? DefaultDurationBuckets() : config.buckets.duration;
  duration_buckets_ = WithBoundaries(base, thresholds);
  duration_ = &owner.probe_duration_.Add(labels, duration_buckets_);
  phase_buckets_ = config.buckets.phase.empty() ? DefaultPhaseBuckets() : config.buckets.phase;
  runs_ = &owner.runs_.Add(labels);
  if (config.objectives.latency) slow_ = &owner.slow_.Add(labels);
  skipped_ = &owner.skipped_.Add(labels);
  postponed_ = &owner.postponed_.Add(labels);
  success_ = &owner.success_.Add(labels);
  last_run_ = &owner.last_run_.Add(labels);
  switch (config.type) {
    case config::ProbeType::kHttp:
      AddStep("request", config.request.url.scheme_id() == boost::urls::scheme::https, false, false,
              false);
      break;
    case config::ProbeType::kScenario:
      for (const auto& step : config.steps) {
        // A URL that starts with a variable may turn out to be https.
        AddStep(step.name, step.request.url.scheme_id() != boost::urls::scheme::http, true,
                step.always, step.cache.has_value());
      }
      break;
  }
  if (config.objectives.latency) {
    auto& g = owner.objective_latency_.Add(labels);
    g.Set(threshold_seconds_);
    auto& q = owner.objective_quantile_.Add(labels);
    q.Set(config.objectives.latency->quantile);
    objectives_ = {{&owner.objective_latency_, &g}, {&owner.objective_quantile_, &q}};
  }
  if (config.objectives.error_ratio) {
    auto& g = owner.objective_error_ratio_.Add(labels);
    g.Set(*config.objectives.error_ratio);
    objectives_.emplace_back(&owner.objective_error_ratio_, &g);
  }
}

void ProbeMetrics::AddStep(const std::string& step, bool may_use_tls, bool scenario, bool cleanup,
                           bool cached) {
  if (first_step_.empty()) first_step_ = step;
  auto& series = Step(step);
  for (int i = 1; i < probes::kReasonCount; ++i) {
    const auto r = static_cast<probes::Reason>(i);
    if (!ReasonApplies(r, may_use_tls)) continue;
    Failure(step, r, false);
    if (cleanup) Failure(step, r, true);
  }
  if (scenario) {
    series.duration =
        &owner_.step_duration_.Add({{"probe", name_}, {"step", step}}, duration_buckets_);
  }
  if (cached) {
    for (std::size_t i = 0; i < kLoginResults.size(); ++i) {
      series.logins[i] = &owner_.logins_.Add(
          {{"probe", name_}, {"step", step}, {"result", std::string(kLoginResults[i])}});
    }
  }
}

prometheus::Counter& ProbeMetrics::Failure(const std::string& step, probes::Reason reason,
                                           bool cleanup) {
  auto& series = Step(step);
  auto*& counter =
      (cleanup ? series.cleanup_failures : series.failures)[static_cast<std::size_t>(reason)];
  if (counter == nullptr) {
    auto& family = cleanup ? owner_.cleanup_failures_ : owner_.failures_;
    counter = &family.Add(
        {{"probe", name_}, {"step", step}, {"reason", std::string(probes::ReasonName(reason))}});
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
  for (auto [family, gauge] : objectives_) family->Remove(gauge);
  if (cert_expiry_ != nullptr) owner_.cert_expiry_.Remove(cert_expiry_);
  for (auto& [name, series] : steps_) {
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

ProbeMetrics::StepSeries& ProbeMetrics::Step(const std::string& name) {
  auto it = steps_.find(name);
  if (it != steps_.end()) return it->second;
  return steps_.emplace(name, StepSeries{}).first->second;
}

void ProbeMetrics::Record(const probes::ProbeResult& result, double now_unix) {
  const double seconds = Seconds(result.duration);
  duration_->Observe(seconds);
  runs_->Increment();
  // Slow means "not in the threshold's le bucket": the same comparison the
  // histogram makes, so slow_total == count - bucket{le=threshold}.
  if (slow_ != nullptr && seconds > threshold_seconds_) slow_->Increment();
  success_->Set(result.Ok() ? 1 : 0);
  last_run_->Set(now_unix);
  if (!result.Ok()) {
    // A run that failed outside any step (an internal error) is put on the first.
    Failure(result.step.empty() ? first_step_ : result.step, result.reason, false).Increment();
  }
  for (const auto& step : result.steps) {
    auto& series = Step(step.name);
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
        &step.phases.resolve, &step.phases.connect, &step.phases.tls, &step.phases.ttfb,
        &step.phases.transfer};
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (!*phases[i]) continue;
      if (series.phases[i] == nullptr) {
        series.phases[i] = &owner_.phase_duration_.Add(
            {{"probe", name_}, {"step", step.name}, {"phase", std::string(kPhaseNames[i])}},
            phase_buckets_);
      }
      series.phases[i]->Observe(Seconds(**phases[i]));
    }
  }
  if (result.cert_not_after) {
    if (cert_expiry_ == nullptr) cert_expiry_ = &owner_.cert_expiry_.Add({{"probe", name_}});
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
