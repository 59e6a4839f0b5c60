#include "daemon/oneshot.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <set>

#include "config/loader.hpp"
#include "config/text.hpp"
#include "probes/kinds.hpp"

namespace sloprobe::daemon {

namespace asio = boost::asio;

namespace {

boost::json::value Optional(std::optional<double> v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

asio::awaitable<void> RunProbe(std::shared_ptr<probes::Probe> probe, const OneShotOptions& options,
                               std::chrono::steady_clock::time_point deadline,
                               const config::Redactor& redactor, ProbeReport& report) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (int n = 0;; ++n) {
    if (options.duration ? (n > 0 && std::chrono::steady_clock::now() >= deadline)
                         : n >= options.runs) {
      break;
    }
    if (n > 0 && options.pause > config::Duration::zero()) {
      pause.expires_after(options.pause);
      co_await pause.async_wait(asio::use_awaitable);
    }
    const auto result = co_await probes::RunGuarded(*probe);
    report.samples.Add(result);
    if (!result.Ok()) {
      report.failure_reason = std::string(probes::ReasonName(result.reason));
      report.failure_step = probe->Config().type == config::ProbeType::kScenario ? result.step : "";
      report.failure_detail = redactor.Redact(result.detail);
    }
  }
  report.verdicts = Judge(CheckObjectives(probe->Config().objectives), report.samples);
}

}  // namespace

bool ProbeReport::Passed() const {
  return std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.met; });
}

config::Objectives CheckObjectives(const config::Objectives& configured) {
  auto objectives = configured;
  if (!objectives.error_ratio) objectives.error_ratio = 0.0;
  return objectives;
}

void PrintTable(const std::vector<ProbeReport>& reports, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"PROBE", "TYPE", "RUNS", "ERRORS", "P50", "P95", "P99", "RESULT"}};
  for (const auto& r : reports) {
    const auto& d = r.samples.duration;
    rows.push_back({r.name, r.type, std::to_string(r.samples.runs),
                    RatioText(r.samples.ErrorRatio()), LatencyText(d.Quantile(0.5)),
                    LatencyText(d.Quantile(0.95)), LatencyText(d.Quantile(0.99)),
                    r.Passed() ? "PASS" : "FAIL"});
  }
  std::vector<std::size_t> width(rows.front().size());
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (std::size_t k = 0; k < rows.size(); ++k) {
    std::string line;
    for (std::size_t i = 0; i < rows[k].size(); ++i) {
      line += rows[k][i];
      if (i + 1 < rows[k].size()) line += std::string(width[i] - rows[k][i].size() + 2, ' ');
    }
    out << line << '\n';
    if (k == 0) continue;
    const auto& r = reports[k - 1];
    for (const auto& v : r.verdicts) {
      out << "    " << (v.met ? "ok    " : "BREACH") << "  " << v.Describe() << "  ("
          << v.Measured() << ")";
      out << '\n';
    }
    if (!r.failure_reason.empty()) {
      out << "    last failure: " << r.failure_reason;
      if (!r.failure_step.empty()) out << " at step " << r.failure_step;
      out << ": " << r.failure_detail << '\n';
    }
  }
  const auto passed = static_cast<std::size_t>(
      std::count_if(reports.begin(), reports.end(), [](const auto& r) { return r.Passed(); }));
  out << passed << " of " << config::Count(reports.size(), "probe") << " met "
      << (reports.size() == 1 ? "its" : "their") << " objectives\n";
}

void PrintJson(const std::vector<ProbeReport>& reports, std::ostream& out) {
  boost::json::array probes;
  bool all = true;
  for (const auto& r : reports) {
    const auto& d = r.samples.duration;
    boost::json::object failures;
    for (std::size_t i = 1; i < r.samples.failures_by_reason.size(); ++i) {
      if (r.samples.failures_by_reason[i] == 0) continue;
      failures[probes::ReasonName(static_cast<probes::Reason>(i))] =
          r.samples.failures_by_reason[i];
    }
    boost::json::array verdicts;
    for (const auto& v : r.verdicts) {
      boost::json::object o{{"objective", v.objective},
                            {"description", v.Describe()},
                            {"threshold", v.threshold},
                            {"observed", Optional(v.observed)},
                            {"met", v.met}};
      if (v.objective != "error_ratio") {
        o["quantile"] = v.quantile;
        o["slow_ratio"] = Optional(v.ratio);
      }
      verdicts.push_back(std::move(o));
    }
    boost::json::object probe{{"name", r.name},
                              {"type", r.type},
                              {"runs", r.samples.runs},
                              {"failures", r.samples.failures},
                              {"error_ratio", r.samples.ErrorRatio()},
                              {"failures_by_reason", std::move(failures)},
                              {"duration_seconds",
                               {{"p50", Optional(d.Quantile(0.5))},
                                {"p95", Optional(d.Quantile(0.95))},
                                {"p99", Optional(d.Quantile(0.99))}}},
                              {"objectives", std::move(verdicts)},
                              {"passed", r.Passed()}};
    if (!r.failure_reason.empty()) {
      probe["last_failure"] = {
          {"reason", r.failure_reason}, {"step", r.failure_step}, {"detail", r.failure_detail}};
    }
    all = all && r.Passed();
    probes.push_back(std::move(probe));
  }
  out << boost::json::serialize(boost::json::object{{"passed", all}, {"probes", std::move(probes)}})
      << '\n';
}

int RunOneShot(const OneShotOptions& options, std::ostream& out, std::ostream& err) {
  // Run by hand as root, the credentials are read where the packaged unit
  // loads them from.
  auto loaded = config::LoadConfigFile(options.config_file, config::ByHandLoadOptions(false));
  if (!loaded.config) {
    for (const auto& e : loaded.errors) err << e.ToString() << '\n';
    return kCheckError;
  }
  const auto& config = *loaded.config;
  std::set<std::string, std::less<>> wanted(options.probes.begin(), options.probes.end());
  for (const auto& name : wanted) {
    const bool known = std::any_of(config.probes.begin(), config.probes.end(),
                                   [&](const auto& p) { return p.name == name; });
    if (!known) {
      err << options.config_file << ": no probe named '" << name << "'\n";
      return kCheckError;
    }
  }
  asio::io_context io(1);
  auto tls = std::make_shared<probes::TlsContexts>();
  auto secrets = std::make_shared<const config::Redactor>(config.redactor);
  std::vector<std::shared_ptr<probes::Probe>> probes;
  for (const auto& p : config.probes) {
    if (!wanted.empty() && !wanted.contains(p.name)) continue;
    try {
      probes.push_back(probes::MakeProbe(p, io.get_executor(), tls, secrets));
    } catch (const std::exception& e) {
      err << config::ConfigError{p.location, e.what()}.ToString() << '\n';
      return kCheckError;
    }
  }
  if (probes.empty()) {
    err << options.config_file << ": no probes to run\n";
    return kCheckError;
  }
  std::vector<ProbeReport> reports(probes.size());
  const auto deadline =
      std::chrono::steady_clock::now() + options.duration.value_or(config::Duration::zero());
  for (std::size_t i = 0; i < probes.size(); ++i) {
    reports[i].name = probes[i]->Config().name;
    reports[i].type = std::string(config::ProbeTypeName(probes[i]->Config().type));
    asio::co_spawn(io, RunProbe(probes[i], options, deadline, config.redactor, reports[i]),
                   asio::detached);
  }
  io.run();
  if (options.json) {
    PrintJson(reports, out);
  } else {
    PrintTable(reports, out);
  }
  const bool passed =
      std::all_of(reports.begin(), reports.end(), [](const auto& r) { return r.Passed(); });
  return passed ? kCheckPassed : kCheckBreached;
}

}  // namespace sloprobe::daemon
