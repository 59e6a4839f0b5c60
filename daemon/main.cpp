// sloprobe: continuous synthetic probes with SLO-ready metrics.
// Flags only; everything else lives in sloprobe::daemon.
#include <CLI/CLI.hpp>
#include <iostream>
#include <utility>

#include "daemon/check.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "daemon/notify.hpp"
#include "daemon/oneshot.hpp"
#include "daemon/reload.hpp"
#include "daemon/version.hpp"

int main(int argc, char** argv) {
  using namespace sloprobe::daemon;
  CLI::App app{"sloprobe: continuous synthetic performance monitoring"};
  std::string config_file = "/etc/sloprobe/sloprobe.yml";
  bool check_only = false;
  DaemonOptions options;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  app.add_option("--config.file", config_file, "Configuration file")->capture_default_str();
  app.add_flag("--config.check", check_only,
               "Validate the configuration and exit: 0 valid, 1 errors, 3 valid but credentials "
               "could not be read");
  app.add_option(
         "--web.listen-address", options.listen_address,
         "Address for the status page, /metrics and the lifecycle endpoints, host:port or :port")
      ->capture_default_str();
  bool systemd_socket = false;
  app.add_flag("--web.systemd-socket", systemd_socket,
               "Serve on the socket systemd passes (sloprobe.socket) instead of "
               "--web.listen-address");
  app.add_flag("--web.enable-lifecycle", options.enable_lifecycle,
               "Serve POST /-/reload (reload the configuration over HTTP)");
  app.add_option("--web.config.file", options.web_config_file,
                 "TLS and basic authentication for the web endpoints (exporter-toolkit format; "
                 "read again when it or its certificates change)");
  app.add_option("--web.max-connections", options.max_connections,
                 "Connections to the web endpoints at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();
  app.set_version_flag("--version", std::string("sloprobe ") + std::string(kVersion));
  app.footer(
      "Signals: SIGHUP reloads the configuration (a bad one is refused and the running one\n"
      "kept; `sloprobe reload` waits for the outcome); SIGTERM and SIGINT stop. Exit status\n"
      "78: the configuration cannot start. Endpoints: / (status page), /metrics, /-/healthy,\n"
      "/-/ready, /-/reload. Documentation: man sloprobe, /usr/share/doc/sloprobe.");

  OneShotOptions oneshot;
  std::string oneshot_output = "table";
  std::string oneshot_duration;
  std::string oneshot_pause = "0s";
  auto* check = app.add_subcommand(
      "check",
      "Run the probes now, a number of times or for a while, print p50/p95/p99, error ratio "
      "and each objective, and exit 1 if one is not met (2 if the configuration cannot run)");
  check->footer(
      "Probes run side by side; the runs of one probe one after another. Objectives are judged\n"
      "as the shipped alert rules judge them: a latency objective holds while at most\n"
      "1 - quantile of the runs are slower than its threshold. A probe without an error_ratio\n"
      "objective must not fail at all. Exit status: 0 every objective met, 1 one was not,\n"
      "2 the configuration cannot be loaded or run.");
  check->add_option("--config.file", config_file, "Configuration file")->capture_default_str();
  check->add_option("--runs", oneshot.runs, "Runs of each probe")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  check->add_option("--duration", oneshot_duration,
                    "Run each probe again and again for this long instead (e.g. 2m)");
  check
      ->add_option("--pause", oneshot_pause,
                   "Wait between one run of a probe and its next (e.g. 500ms)")
      ->capture_default_str();
  check->add_option("--probe", oneshot.probes, "Run only this probe (repeat for more)");
  check->add_option("--output", oneshot_output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  ReloadRequest reload_request;
  std::string reload_timeout = "60s";
  auto* reload = app.add_subcommand(
      "reload",
      "Ask the running daemon to reload its configuration and wait for the outcome: exit 0 "
      "reloaded, 1 refused (the errors are printed; the running configuration is kept) or no "
      "outcome in time, 2 no daemon to ask. The unit's ExecReload=, so that systemctl reload "
      "reports a refusal; by hand, set RUNTIME_DIRECTORY=/run/sloprobe");
  reload->add_option("--pid", reload_request.pid, "The daemon's process ($MAINPID)")->required();
  reload->add_option("--timeout", reload_timeout, "How long to wait for the outcome")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (reload->parsed()) {
    const auto timeout = sloprobe::config::ParseDuration(reload_timeout);
    if (!timeout || timeout->count() <= 0) {
      std::cerr << "--timeout: invalid duration '" << reload_timeout << "' (e.g. 60s)\n";
      return kReloadNotAsked;
    }
    reload_request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    reload_request.directory = RuntimeDirectory();
    return RequestReload(reload_request, std::cout, std::cerr);
  }

  if (check->parsed()) {
    oneshot.config_file = config_file;
    oneshot.json = oneshot_output == "json";
    auto duration_flag = [](const std::string& name, const std::string& text) {
      auto d = sloprobe::config::ParseDuration(text);
      if (!d || d->count() < 0) {
        std::cerr << name << ": invalid duration '" << text << "' (e.g. 500ms, 2m)\n";
      }
      return d;
    };
    if (!oneshot_duration.empty()) {
      oneshot.duration = duration_flag("--duration", oneshot_duration);
      if (!oneshot.duration) return kCheckError;
    }
    const auto pause = duration_flag("--pause", oneshot_pause);
    if (!pause) return kCheckError;
    oneshot.pause = *pause;
    Logger::Get().Configure(LogLevel::kError, LogFormat::kLogfmt, &std::cerr);
    return RunOneShot(oneshot, std::cout, std::cerr);
  }

  if (check_only) {
    return CheckConfig(config_file, options.web_config_file, std::cout, std::cerr);
  }

  LogLevel level{};
  LogFormat format{};
  ParseLogLevel(log_level, level);
  ParseLogFormat(log_format, format);
  Logger::Get().Configure(level, format, &std::cerr);
  if (systemd_socket) {
    std::string error;
    const auto fd = SystemdListenSocket(error);
    if (!fd) {
      // The units, not the moment, are wrong: sloprobe.socket is not there.
      LogError("cannot start", {{"error", error}});
      return kExitConfig;
    }
    options.listen_fd = *fd;
  }
  return RunDaemon(config_file, std::move(options));
}
