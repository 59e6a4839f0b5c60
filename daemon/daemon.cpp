#include "daemon/daemon.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "config/loader.hpp"
#include "config/text.hpp"
#include "daemon/check.hpp"
#include "daemon/exposition.hpp"
#include "daemon/http_server.hpp"
#include "daemon/log.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify.hpp"
#include "daemon/otlp_exporter.hpp"
#include "daemon/recent.hpp"
#include "daemon/reload.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/status_page.hpp"
#include "daemon/version.hpp"
#include "daemon/web_security.hpp"
#include "probes/kinds.hpp"

namespace sloprobe::daemon {

namespace asio = boost::asio;
using probes::Reason;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// What the status page summarises, and how many probes it shows at most.
constexpr auto kStatusWindow = std::chrono::minutes(15);
constexpr std::size_t kStatusRows = 500;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string SecondsText(probes::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

struct Daemon::Impl : std::enable_shared_from_this<Daemon::Impl> {
  struct Slot {
    std::shared_ptr<probes::Probe> probe;
    std::unique_ptr<ProbeMetrics> metrics;
    std::optional<Reason> last;  // reason of the last finished run
    std::uint64_t failed_runs = 0;
    std::optional<Reason> last_cleanup;  // of the last cleanup failure, while failing
    bool held = false;                   // the last run asked to wait (429 Retry-After)
    bool retired = false;                // removed or replaced by a reload; its runs record nothing
    // For the status page.
    std::optional<RecentRuns> recent;  // set once the slot is made
    struct Failure {
      double at_unix = 0;
      Reason reason = Reason::kOk;
      std::string step;
      std::string detail;
    };
    std::unique_ptr<Failure> last_failure;  // only probes that failed pay for one
  };
  struct Run {
    Scheduler::ProbeId probe = 0;
    asio::cancellation_signal signal;
  };

  Impl(asio::io_context& io_context, config::Config cfg, DaemonOptions opts)
      : io(io_context),
        config(std::move(cfg)),
        options(std::move(opts)),
        registry(std::make_shared<prometheus::Registry>()),
        metrics(registry),
        wake(io) {
    prometheus::BuildGauge()
        .Name("sloprobe_build_info")
        .Help("A constant 1, labelled with the version sloprobe was built from.")
        .Register(*registry)
        .Add({{"version", std::string(kVersion)}})
        .Set(1);
    auto secrets = std::make_shared<const config::Redactor>(config.redactor);
    Logger::Get().SetRedactor(config.redactor);
    const auto epoch = Scheduler::Clock::now();
    for (const auto& p : config.probes) {
      AddSlot(p, probes::MakeProbe(p, io.get_executor(), tls, secrets), epoch);
    }
    DropProbeConfigs();
    SetExternalLabels(config.external_labels);
    metrics.SetConfigReload(true, UnixNow());
  }

  // Each probe keeps its own configuration; a second copy of every probe's
  // (about 1.5 KB each) would only take memory.
  void DropProbeConfigs() {
    config.probes.clear();
    config.probes.shrink_to_fit();
  }

  // Read by the scrape worker and the OTLP thread, replaced by a reload.
  void SetExternalLabels(const std::vector<std::pair<std::string, std::string>>& labels) {
    std::vector<prometheus::ClientMetric::Label> next;
    for (const auto& [name, value] : labels) next.push_back({name, value});
    const std::lock_guard lock(labels_mutex);
    external_labels = std::move(next);
  }

  void AddSlot(const config::ProbeConfig& p, std::shared_ptr<probes::Probe> probe,
               Scheduler::TimePoint epoch) {
    auto slot = std::make_shared<Slot>();
    slot->probe = std::move(probe);
    slot->metrics = metrics.ForProbe(p);
    slot->recent.emplace(kStatusWindow, p.interval, RecentRuns::ExtraFor(p));
    const auto id =
        scheduler.Add(p.name,
                      {std::chrono::duration_cast<Scheduler::Duration>(p.interval),
                       std::chrono::duration_cast<Scheduler::Duration>(p.jitter), p.max_in_flight},
                      epoch);
    if (id != slots.size()) throw std::logic_error("scheduler ids out of step");
    slots.push_back(std::move(slot));
    by_name[p.name] = id;
  }

  // Stops planning the probe, cancels its runs and removes its series.
  void Retire(Scheduler::ProbeId id) {
    auto& slot = slots[id];
    slot->retired = true;
    scheduler.Remove(id);
    for (auto& [run_id, run] : runs) {
      if (run.probe == id) run.signal.emit(asio::cancellation_type::terminal);
    }
    slot->metrics.reset();
    by_name.erase(slot->probe->Config().name);
    slot = nullptr;  // runs still in flight hold their own reference
  }

  ReloadOutcome Reload(config::LoadResult loaded) {
    ReloadOutcome outcome;
    if (stopping) {
      outcome.errors.push_back("shutting down");
      return outcome;
    }
    if (reload_hook) reload_hook(true, nullptr);
    outcome.read_at = loaded.read_at;
    config::Redactor next_secrets;
    if (!loaded.config) {
      for (const auto& e : loaded.errors) outcome.errors.push_back(e.ToString());
    } else {
      next_secrets = loaded.config->redactor;
      outcome.ok = Apply(std::move(*loaded.config), outcome);
    }
    // Errors leave the process (log, HTTP, `sloprobe reload`): a secret of
    // the running or the refused configuration that a message might quote is
    // masked once, here.
    for (auto& e : outcome.errors) e = next_secrets.Redact(config.redactor.Redact(e));
    metrics.SetConfigReload(outcome.ok, UnixNow());
    if (outcome.ok) {
      std::vector<LogField> fields{{"unchanged", std::to_string(outcome.unchanged)},
                                   {"changed", std::to_string(outcome.changed)},
                                   {"added", std::to_string(outcome.added)},
                                   {"removed", std::to_string(outcome.removed)}};
      if (config.uses_credentials && config::SystemdPassedCredentials()) {
        // LoadCredential= copies the files when the service starts; a reload
        // reads those copies again, not the files they came from.
        fields.push_back({"credentials",
                          "as systemd passed them at start; new or changed credential files "
                          "take effect after systemctl restart sloprobe"});
      }
      LogInfo("configuration reloaded", std::move(fields));
      WarnIfCredentialsExposed(config);
    } else {
      for (const auto& e : outcome.errors) {
        LogError("configuration reload failed; keeping the running configuration", {{"error", e}});
      }
    }
    if (reload_hook) reload_hook(false, &outcome);
    return outcome;
  }

  // Sets every new or changed probe up first; if one cannot be, nothing
  // changes and `outcome.errors` says which, where. Then swaps.
  bool Apply(config::Config next, ReloadOutcome& outcome) {
    auto secrets = std::make_shared<const config::Redactor>(next.redactor);
    std::vector<std::pair<const config::ProbeConfig*, std::shared_ptr<probes::Probe>>> fresh;
    std::set<std::string, std::less<>> keep;
    for (const auto& p : next.probes) {
      const auto it = by_name.find(p.name);
      if (it != by_name.end() && slots[it->second]->probe->Config().fingerprint == p.fingerprint) {
        keep.insert(p.name);
        continue;
      }
      (it == by_name.end() ? outcome.added : outcome.changed) += 1;
      try {
        fresh.emplace_back(&p, probes::MakeProbe(p, io.get_executor(), tls, secrets));
      } catch (const std::exception& e) {
        outcome.errors.push_back(config::ConfigError{p.location, e.what()}.ToString());
      }
    }
    std::unique_ptr<OtlpExporter> exporter;
    const bool otlp_changed = next.otlp.has_value() != config.otlp.has_value() ||
                              (next.otlp && next.otlp->fingerprint != config.otlp->fingerprint);
    if (otlp_changed && next.otlp) {
      try {
        exporter = MakeExporter(*next.otlp);
      } catch (const std::exception& e) {
        outcome.errors.push_back(std::string("otlp: ") + e.what());
      }
    }
    if (!outcome.errors.empty()) return false;
    outcome.unchanged = keep.size();
    std::vector<Scheduler::ProbeId> retire;
    for (const auto& [name, id] : by_name) {
      if (!keep.contains(name)) retire.push_back(id);
    }
    outcome.removed = retire.size() - outcome.changed;
    for (const auto id : retire) Retire(id);
    Logger::Get().SetRedactor(next.redactor);
    const auto epoch = Scheduler::Clock::now();
    for (auto& [p, probe] : fresh) AddSlot(*p, std::move(probe), epoch);
    SetExternalLabels(next.external_labels);
    config = std::move(next);
    DropProbeConfigs();
    if (otlp_changed) {
      if (otlp) {
        otlp->BeginStop(Scheduler::Clock::now());  // no flush: the new one takes over
        otlp.reset();                              // joins; removes its series
      }
      otlp = std::move(exporter);
      if (otlp) otlp->Start();
    }
    wake.cancel();  // a new probe may be due before the loop's next wake
    return true;
  }

  std::unique_ptr<OtlpExporter> MakeExporter(const config::OtlpConfig& c) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    std::string instance = host;
    if (server) instance += ":" + std::to_string(server->LocalEndpoint().port());
    return std::make_unique<OtlpExporter>(
        c,
        [this] {
          auto labels = ExternalLabels();
          auto own = CollectOwn(labels);
          return OtlpExporter::Sources{std::move(own), metrics.Store(), std::move(labels)};
        },
        *registry,
        otlp::Attributes{{"service.name", "sloprobe"},
                         {"service.version", std::string(kVersion)},
                         {"service.instance.id", instance},
                         {"host.name", host}},
        std::string(kVersion));
  }

  std::vector<prometheus::ClientMetric::Label> ExternalLabels() const {
    const std::lock_guard lock(labels_mutex);
    return external_labels;
  }

  // sloprobe's own series and process_*, external labels added.
  std::vector<prometheus::MetricFamily> CollectOwn(
      const std::vector<prometheus::ClientMetric::Label>& labels) const {
    auto families = registry->Collect();
    auto more = process.Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    AddLabels(families, labels);
    return families;
  }

  // What /metrics serves, as families (for OTLP); safe from any thread.
  std::vector<prometheus::MetricFamily> CollectAll() const {
    const auto labels = ExternalLabels();
    auto families = CollectOwn(labels);
    auto more = metrics.Store()->Collect(labels);  // the registry's are in already
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    return families;
  }

  asio::io_context& io;
  config::Config config;  // without its probes: the slots hold them
  DaemonOptions options;
  std::shared_ptr<probes::TlsContexts> tls = std::make_shared<probes::TlsContexts>();
  std::map<std::string, Scheduler::ProbeId, std::less<>> by_name;
  std::function<void(bool, const ReloadOutcome*)> reload_hook;
  bool loop_running = false;
  std::optional<Scheduler::TimePoint> wake_at;  // while the loop waits
  std::shared_ptr<prometheus::Registry> registry;
  mutable std::mutex labels_mutex;
  std::vector<prometheus::ClientMetric::Label> external_labels;  // guarded by labels_mutex
  Metrics metrics;
  ProcessCollector process;
  Scheduler scheduler;
  std::vector<std::shared_ptr<Slot>> slots;  // index: Scheduler::ProbeId; null once retired
  asio::steady_timer wake;
  std::unique_ptr<HttpServer> server;
  bool started = false;
  bool stopping = false;
  std::map<std::uint64_t, Run> runs;  // in flight
  std::uint64_t next_run_id = 0;
  std::function<void()> on_idle;  // set while stopping, called when runs reaches 0
  // Last, so that it is stopped and joined before anything it reads goes.
  std::unique_ptr<OtlpExporter> otlp;

  // The /metrics body a piece at a time, made on the web server's worker
  // thread: first sloprobe's own series and process_*, then the probes'
  // series about kPiece bytes at a time.
  HttpServer::Response MetricsResponse() const {
    constexpr std::size_t kPiece = 512 * 1024;
    struct Body {
      const Impl* impl;
      std::shared_ptr<series::TextCursor> cursor;  // after the first piece
      std::vector<prometheus::ClientMetric::Label> labels;
    };
    auto body = std::make_shared<Body>(Body{this, nullptr, ExternalLabels()});
    return HttpServer::Response::Streamed(
        "text/plain; version=0.0.4; charset=utf-8", [body](std::string& out) {
          if (!body->cursor) {
            out = WriteText(body->impl->CollectOwn(body->labels));
            body->cursor =
                std::make_shared<series::TextCursor>(body->impl->metrics.Store(), body->labels);
            return true;
          }
          out.reserve(kPiece + 64 * 1024);
          if (body->cursor->Next(out, kPiece)) return true;
          body->cursor.reset();
          // A scrape's blocks are free again: give their pages back.
          ::malloc_trim(0);
          return false;
        });
  }

  HttpServer::Response Handle(const HttpServer::Request& request) {
    namespace http = boost::beast::http;
    const auto method = request.method();
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/-/reload") {
      if (method != http::verb::post && method != http::verb::put) {
        return {405, "text/plain; charset=utf-8", "Only POST or PUT requests allowed\n"};
      }
      if (!options.enable_lifecycle) {
        return {403, "text/plain; charset=utf-8", "Lifecycle API is not enabled.\n"};
      }
      const auto outcome = Reload(config::LoadConfigFile(options.config_file));
      if (outcome.ok) return {200, "text/plain; charset=utf-8", "Reloaded\n"};
      std::string body = "failed to reload config; the running configuration is unchanged\n";
      for (const auto& e : outcome.errors) body += e + "\n";
      return {500, "text/plain; charset=utf-8", std::move(body)};
    }
    if (method != http::verb::get && method != http::verb::head) {
      return {405, "text/plain; charset=utf-8", "Method Not Allowed\n"};
    }
    if (path == "/metrics") {
      return MetricsResponse();
    }
    if (path == "/-/healthy") return {200, "text/plain; charset=utf-8", "Healthy\n"};
    if (path == "/-/ready") {
      if (started && !stopping) return {200, "text/plain; charset=utf-8", "Ready\n"};
      return {503, "text/plain; charset=utf-8", "Not Ready\n"};
    }
    if (path == "/") return {200, "text/html; charset=utf-8", RenderStatusPage(Status(target))};
    return {404, "text/plain; charset=utf-8", "Not Found\n"};
  }

  // The status page's rows: those whose name holds ?probe=, worst first.
  // Beyond kStatusRows probes, the ones whose last run failed are chosen
  // first, then by name; only the rows shown are summarised, so that the
  // page costs the probes' thread little however many probes there are.
  StatusPage Status(std::string_view target) const {
    StatusPage page;
    page.now_unix = UnixNow();
    page.window_seconds = std::chrono::duration<double>(kStatusWindow).count();
    page.version = std::string(kVersion);
    page.total = by_name.size();
    if (const auto url = boost::urls::parse_origin_form(target)) {
      const auto params = url->params();
      if (const auto it = params.find("probe"); it != params.end() && (*it).has_value) {
        page.filter = (*it).value;
      }
    }
    std::vector<const Slot*> chosen;
    for (const auto& [name, id] : by_name) {
      if (name.find(page.filter) != std::string::npos) chosen.push_back(slots[id].get());
    }
    auto failed = [](const Slot* s) { return s->last && *s->last != Reason::kOk; };
    if (chosen.size() > kStatusRows) {
      std::stable_partition(chosen.begin(), chosen.end(), failed);
      chosen.resize(kStatusRows);
    }
    const double since = page.now_unix - page.window_seconds;
    for (const auto* slot : chosen) {
      const auto& c = slot->probe->Config();
      StatusRow row;
      row.name = c.name;
      row.type = std::string(config::ProbeTypeName(c.type));
      row.interval = c.interval;
      if (const auto last = slot->recent->Last()) {
        row.last_run_unix = last->finished_unix;
        row.last_seconds = last->seconds;
      }
      row.runs = slot->recent->Since(since);
      row.verdicts = Judge(slot->recent->Judged(c.objectives), slot->recent->SamplesSince(since));
      row.state = StateOf(slot->last, row.verdicts);
      if (c.objectives.latency)
        row.latency_threshold = config::ToSeconds(c.objectives.latency->threshold);
      if (const auto& f = slot->last_failure) {
        row.failure_unix = f->at_unix;
        row.failure_reason = std::string(probes::ReasonName(f->reason));
        row.failure_step = f->step;
        row.failure_detail = f->detail;
      }
      page.rows.push_back(std::move(row));
    }
    // Worst first: failing, breaching, pending, ok; by name within each.
    constexpr std::array<int, 4> kRank{1, 0, 2, 3};  // indexed by StatusRow::State
    std::stable_sort(page.rows.begin(), page.rows.end(), [&](const auto& a, const auto& b) {
      return kRank[static_cast<std::size_t>(a.state)] > kRank[static_cast<std::size_t>(b.state)];
    });
    return page;
  }

  void Start() {
    std::shared_ptr<WebConfigWatcher> web;
    if (!options.web_config_file.empty()) {
      std::vector<std::string> errors;
      web = WebConfigWatcher::Load(options.web_config_file, errors);
      if (!web) {
        std::string text = "invalid --web.config.file";
        for (const auto& e : errors) text += "; " + e;
        throw std::runtime_error(text);
      }
    }
    auto handler = [this](const HttpServer::Request& r) { return Handle(r); };
    HttpServer::Limits limits;
    limits.max_connections = options.max_connections;
    if (options.listen_fd >= 0) {
      server = std::make_unique<HttpServer>(io.get_executor(), options.listen_fd, handler, limits);
    } else {
      auto endpoint = ParseListenAddress(options.listen_address);
      if (!endpoint) {
        throw std::runtime_error("invalid --web.listen-address '" + options.listen_address +
                                 "' (use host:port or :port)");
      }
      server = std::make_unique<HttpServer>(io.get_executor(), *endpoint, handler, limits);
    }
    server->Secure(std::move(web));
    server->Start();
    if (config.otlp) {
      otlp = MakeExporter(*config.otlp);
      otlp->Start();
    }
    started = true;
    asio::co_spawn(io, Loop(shared_from_this()), asio::detached);
  }

  // Wakes at the next due slot, starts or skips what is due, repeats.
  static asio::awaitable<void> Loop(std::shared_ptr<Impl> self) {
    std::vector<Scheduler::Action> actions;
    self->loop_running = true;
    struct Exit {
      Impl& impl;
      ~Exit() {
        impl.loop_running = false;
        impl.wake_at.reset();
      }
    } on_exit{*self};
    while (!self->stopping) {
      const auto next = self->scheduler.NextDue();
      if (!next) break;
      self->wake.expires_at(*next);
      self->wake_at = *next;
      co_await self->wake.async_wait(kTuple);
      self->wake_at.reset();
      if (self->stopping) break;
      actions.clear();
      self->scheduler.Collect(Scheduler::Clock::now(), actions);
      for (const auto& a : actions) {
        if (!self->slots[a.probe]) continue;
        auto& slot = *self->slots[a.probe];
        if (a.kind == Scheduler::Action::Kind::kPostpone) {
          slot.metrics->RecordPostponed();
          LogDebug("run postponed", {{"probe", slot.probe->Config().name}});
          continue;
        }
        if (a.kind == Scheduler::Action::Kind::kSkip) {
          slot.metrics->RecordSkipped();
          LogDebug("run skipped",
                   {{"probe", slot.probe->Config().name},
                    {"in_flight", std::to_string(self->scheduler.InFlight(a.probe))}});
          continue;
        }
        const auto id = self->next_run_id++;
        auto& run = self->runs[id];
        run.probe = a.probe;
        asio::co_spawn(
            self->io, RunOnce(self, a.probe, a.due),
            asio::bind_cancellation_slot(run.signal.slot(), [self, id](const std::exception_ptr&) {
              self->runs.erase(id);
              if (self->runs.empty() && self->on_idle) {
                auto done = std::move(self->on_idle);
                self->on_idle = nullptr;
                done();
              }
            }));
      }
    }
  }

  static asio::awaitable<void> RunOnce(std::shared_ptr<Impl> self, Scheduler::ProbeId id,
                                       Scheduler::TimePoint due) {
    const auto lag = Scheduler::Clock::now() - due;
    self->metrics.ObserveSchedulerLag(std::chrono::duration<double>(lag).count());
    auto slot_ref = self->slots[id];  // keeps the slot alive across a reload
    auto& slot = *slot_ref;
    auto probe = slot.probe;
    const auto result = co_await probes::RunGuarded(*probe);
    self->scheduler.Finished(id);
    if (self->stopping || slot.retired) co_return;  // a cancelled run measures nothing
    const auto now = UnixNow();
    slot.metrics->Record(result, now);
    Remember(slot, result, now);
    Report(slot, result);
    self->HonourRetryAfter(id, slot, result);
  }

  // What the status page shows of a finished run.
  static void Remember(Slot& slot, const probes::ProbeResult& result, double now) {
    slot.recent->Add(result, now);
    if (result.Ok()) return;
    if (!slot.last_failure) slot.last_failure = std::make_unique<Slot::Failure>();
    auto& f = *slot.last_failure;
    f.at_unix = now;
    f.reason = result.reason;
    f.step = slot.probe->Config().type == config::ProbeType::kScenario ? result.step : "";
    f.detail = result.detail;
  }

  // A 429's Retry-After holds the probe back, up to max_retry_after.
  void HonourRetryAfter(Scheduler::ProbeId id, Slot& slot, const probes::ProbeResult& result) {
    const auto& probe = slot.probe->Config();
    const auto limit = std::chrono::duration_cast<Scheduler::Duration>(probe.max_retry_after);
    if (!result.retry_after || *result.retry_after <= std::chrono::seconds::zero() ||
        limit <= Scheduler::Duration::zero()) {
      slot.held = false;
      return;
    }
    // Compared in seconds first: a huge Retry-After must not overflow.
    const auto wait = *result.retry_after >= std::chrono::ceil<std::chrono::seconds>(limit)
                          ? limit
                          : std::chrono::duration_cast<Scheduler::Duration>(*result.retry_after);
    scheduler.Postpone(id, Scheduler::Clock::now() + wait);
    if (!slot.held) {
      LogInfo("target asked to wait; postponing runs",
              {{"probe", probe.name},
               {"retry_after_seconds", std::to_string(result.retry_after->count())},
               {"postponed_seconds", SecondsText(wait)}});
    }
    slot.held = true;
  }

  // Logs state changes, not every run: ok -> failing, reason changes,
  // failing -> ok. Every run is logged at debug level.
  static void Report(Slot& slot, const probes::ProbeResult& r) {
    const auto& name = slot.probe->Config().name;
    if (Logger::Get().Enabled(LogLevel::kDebug)) {
      std::vector<LogField> fields{{"probe", name},
                                   {"ok", r.Ok() ? "true" : "false"},
                                   {"duration_seconds", SecondsText(r.duration)}};
      for (const auto& step : r.steps) {
        if (step.phases.ttfb) fields.push_back({"ttfb_seconds", SecondsText(*step.phases.ttfb)});
        if (step.status != 0) fields.push_back({"status", std::to_string(step.status)});
      }
      if (!r.Ok()) fields.push_back({"reason", std::string(probes::ReasonName(r.reason))});
      LogDebug("probe run", std::move(fields));
    }
    ReportCleanup(slot, r);
    if (r.Ok()) {
      if (slot.last && *slot.last != Reason::kOk) {
        LogInfo("probe recovered",
                {{"probe", name}, {"failed_runs", std::to_string(slot.failed_runs)}});
      }
      slot.failed_runs = 0;
    } else {
      ++slot.failed_runs;
      const bool was_ok = !slot.last || *slot.last == Reason::kOk;
      if (was_ok || *slot.last != r.reason) {
        std::vector<LogField> fields{{"probe", name},
                                     {"reason", std::string(probes::ReasonName(r.reason))}};
        if (slot.probe->Config().type == config::ProbeType::kScenario) {
          fields.push_back({"step", r.step});
        }
        fields.push_back({"detail", r.detail});
        LogWarn(was_ok ? "probe failing" : "probe failure reason changed", std::move(fields));
      }
    }
    slot.last = r.reason;
  }

  // Cleanup failures are logged when they start and when their reason
  // changes, like run failures, and apart from them.
  static void ReportCleanup(Slot& slot, const probes::ProbeResult& r) {
    const probes::StepResult* failed = nullptr;
    for (const auto& step : r.steps) {
      if (step.cleanup && !step.Ok() && !step.retried) {
        failed = &step;
        break;
      }
    }
    if (failed == nullptr) {
      slot.last_cleanup.reset();
      return;
    }
    if (slot.last_cleanup != failed->reason) {
      LogWarn("cleanup step failing", {{"probe", slot.probe->Config().name},
                                       {"step", failed->name},
                                       {"reason", std::string(probes::ReasonName(failed->reason))},
                                       {"detail", failed->detail}});
    }
    slot.last_cleanup = failed->reason;
  }

  void Stop(std::function<void()> done) {
    if (stopping) return;
    stopping = true;
    wake.cancel();
    // The exporter sends a last snapshot on its own thread meanwhile.
    if (otlp) otlp->BeginStop(Scheduler::Clock::now() + options.stop_grace);
    auto finish = [self = shared_from_this(), done = std::move(done)]() mutable {
      if (self->otlp) self->otlp->Join();
      if (self->server) self->server->Stop();
      if (done) done();
    };
    if (runs.empty()) {
      asio::post(io, std::move(finish));
      return;
    }
    // Cancel every run; give them the grace period to unwind.
    auto grace = std::make_shared<asio::steady_timer>(io, options.stop_grace);
    auto once = std::make_shared<std::function<void()>>(std::move(finish));
    auto fire = [once, grace]() {
      if (!*once) return;
      auto f = std::move(*once);
      *once = nullptr;
      grace->cancel();
      f();
    };
    on_idle = fire;
    grace->async_wait([fire](boost::system::error_code) { fire(); });
    for (auto& [id, run] : runs) run.signal.emit(asio::cancellation_type::terminal);
  }
};

Daemon::Daemon(asio::io_context& io, config::Config config, DaemonOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(options))) {}

Daemon::~Daemon() {
  if (impl_->server) impl_->server->Stop();
}

void Daemon::Start() { impl_->Start(); }

void Daemon::Stop(std::function<void()> done) { impl_->Stop(std::move(done)); }

bool Daemon::SchedulerProgressing(std::chrono::steady_clock::duration tolerance) const {
  return LoopProgressing(impl_->loop_running, impl_->wake_at, Scheduler::Clock::now(), tolerance);
}

std::size_t Daemon::ProbeCount() const { return impl_->by_name.size(); }

ReloadOutcome Daemon::Reload(config::LoadResult loaded) { return impl_->Reload(std::move(loaded)); }

void Daemon::OnReload(std::function<void(bool, const ReloadOutcome*)> hook) {
  impl_->reload_hook = std::move(hook);
}

asio::ip::tcp::endpoint Daemon::WebEndpoint() const { return impl_->server->LocalEndpoint(); }

std::shared_ptr<prometheus::Registry> Daemon::Registry() const { return impl_->registry; }

std::vector<prometheus::MetricFamily> Daemon::Collect() const { return impl_->CollectAll(); }

namespace {

// Every kept-alive probe holds a connection: lift the soft limit on open
// files to the hard one (systemd gives 1024 and 524288), as Go programs such
// as blackbox_exporter do.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    LogWarn("cannot raise the open files limit", {{"error", std::strerror(errno)}});
  }
}

// Scrapes and OTLP snapshots make buffers of megabytes now and then. glibc
// raises its mmap threshold to the size of each such block freed (up to
// 32 MB), after which the next ones come from, and stay in, the heap: a
// fixed threshold keeps every block of 1 MiB or more in a mapping of its
// own, returned to the system when freed.
void KeepLargeBlocksOutOfTheHeap() { ::mallopt(M_MMAP_THRESHOLD, 1 << 20); }

}  // namespace

std::string StatusText(std::size_t probes, const ReloadOutcome* last_reload) {
  std::string text = config::Count(probes, "probe") + " running";
  if (last_reload != nullptr && !last_reload->ok) {
    text += "; last reload failed (" + config::Count(last_reload->errors.size(), "error") +
            "), running the previous configuration";
  } else if (last_reload != nullptr) {
    text += "; configuration reloaded";
  }
  return text;
}

int RunDaemon(const std::string& config_file, DaemonOptions options) {
  options.config_file = config_file;
  KeepLargeBlocksOutOfTheHeap();
  RaiseOpenFileLimit();
  auto loaded = config::LoadConfigFile(config_file);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) {
      LogError("invalid configuration", {{"error", e.ToString()}});
    }
    return kExitConfig;
  }
  const auto probe_count = loaded.config->probes.size();
  const auto probes_in_file = loaded.config->probes_in_file;
  const auto sharding = loaded.config->sharding;
  WarnIfCredentialsExposed(*loaded.config);

  asio::io_context io(1);
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>(io, std::move(*loaded.config), options);
    daemon->Start();
  } catch (const boost::system::system_error& e) {
    // Only an address in use may come free; anything else (no right to the
    // port, an address this host lacks) needs the configuration changed.
    const auto where = options.listen_fd >= 0 ? std::string("the socket from systemd")
                                              : "'" + options.listen_address + "'";
    LogError("cannot start", {{"error", "web listener on " + where + ": " + e.code().message()}});
    return e.code() == asio::error::address_in_use ? 1 : kExitConfig;
  } catch (const std::exception& e) {
    // A probe, the web configuration or the listen address is wrong.
    LogError("cannot start", {{"error", e.what()}});
    return kExitConfig;
  }
  const auto endpoint = daemon->WebEndpoint();
  LogInfo("listening", {{"address", EndpointText(endpoint)}});
  std::vector<LogField> started{{"version", std::string(kVersion)},
                                {"config", config_file},
                                {"probes", std::to_string(probe_count)}};
  if (sharding.shards > 1) {
    started.push_back({"probes_in_file", std::to_string(probes_in_file)});
    started.push_back(
        {"shard", std::to_string(sharding.shard) + "/" + std::to_string(sharding.shards)});
  }
  LogInfo("started", std::move(started));

  // Taken before anything announces the daemon: a SIGHUP (systemctl reload)
  // that comes right after READY=1 must reload, not kill, it.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  Notifier notifier;
  ReloadStatusWriter reload_status(RuntimeDirectory());
  daemon->OnReload([&](bool before, const ReloadOutcome* outcome) {
    if (before) {
      notifier.Reloading();
    } else {
      // STATUS= first: `sloprobe reload` returns once the outcome is written.
      notifier.Ready(StatusText(daemon->ProbeCount(), outcome));
      reload_status.Record(*outcome);
    }
  });
  reload_status.Started();
  notifier.Ready(StatusText(daemon->ProbeCount(), nullptr));

  // WATCHDOG=1 at half of WatchdogSec=, only while the scheduler loop is
  // alive; a stalled loop stops the pings and systemd restarts the service.
  asio::steady_timer watchdog(io);
  std::function<void()> arm_watchdog;
  bool stall_logged = false;
  if (const auto period = notifier.WatchdogPeriod()) {
    arm_watchdog = [&, period = *period] {
      watchdog.expires_after(period);
      watchdog.async_wait([&, period](boost::system::error_code ec) {
        if (ec) return;
        if (daemon->SchedulerProgressing(period)) {
          notifier.Watchdog();
          stall_logged = false;
        } else if (!stall_logged) {
          LogError("scheduler is not making progress; withholding the watchdog ping");
          stall_logged = true;
        }
        arm_watchdog();
      });
    };
    notifier.Watchdog();
    arm_watchdog();
  }

  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      LogInfo("reloading configuration", {{"config", config_file}});
      daemon->Reload(config::LoadConfigFile(config_file));
      signals.async_wait(on_signal);
      return;
    }
    LogInfo("stopping", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}});
    notifier.Stopping();
    watchdog.cancel();
    daemon->Stop([&] {
      signals.cancel();
      // Runs that ignored cancellation for the whole grace period are
      // abandoned here; their sockets close as the context is destroyed.
      io.stop();
    });
  };
  signals.async_wait(on_signal);
  io.run();
  LogInfo("stopped");
  return 0;
}

}  // namespace sloprobe::daemon
