// sloprobe: continuous synthetic probes with SLO-ready metrics.
// Flags only; everything else lives in sloprobe::daemon.
#include <CLI/CLI.hpp>
#include <iostream>
#include <utility>

#include "daemon/check.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "daemon/notify.hpp"
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
  app.add_flag("--config.check", check_only, "Validate the configuration and exit (1 on errors)");
  app.add_option("--web.listen-address", options.listen_address,
                 "Address for /metrics and the lifecycle endpoints, host:port or :port")
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
  CLI11_PARSE(app, argc, argv);

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
      LogError("cannot start", {{"error", error}});
      return 1;
    }
    options.listen_fd = *fd;
  }
  return RunDaemon(config_file, std::move(options));
}
