#pragma once

#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/loader.hpp"

namespace prometheus {
class Registry;
}

namespace sloprobe::daemon {

struct DaemonOptions {
  std::string listen_address = ":9479";
  // Serve on this already listening socket instead (socket activation).
  int listen_fd = -1;
  std::chrono::milliseconds stop_grace{1500};
  // Read again on SIGHUP and POST /-/reload.
  std::string config_file;
  // Serves POST /-/reload (otherwise 403), like Prometheus's flag.
  bool enable_lifecycle = false;
  // TLS, basic authentication and rate limit for the web endpoints
  // (exporter-toolkit format; docs/security.md). Empty: plain HTTP, open.
  std::string web_config_file;
  // Connections to the web endpoints at once; more are closed on accept.
  std::size_t max_connections = 64;
};

// What a reload did. On failure nothing changed and `errors` says why, each
// with its location.
struct ReloadOutcome {
  bool ok = false;
  std::vector<std::string> errors;
  std::size_t unchanged = 0, changed = 0, added = 0, removed = 0;
  // When the file this reload judged was read (LoadResult::read_at).
  std::chrono::steady_clock::time_point read_at{};
};

// The running service: probes on a schedule, their metrics, and the web
// endpoints. Everything runs on the one io_context it is given; none of its
// members may be called from another thread while that context runs, except
// through asio::post.
class Daemon {
 public:
  // Builds every probe; throws std::runtime_error naming the probe when one
  // cannot be set up. Nothing runs until Start.
  Daemon(boost::asio::io_context& io, config::Config config, DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds the web listener (throws boost::system::system_error) and starts
  // the scheduler.
  void Start();

  // Applies a newly loaded configuration, or keeps the running one if it has
  // errors or a probe cannot be set up. Probes whose fingerprint did not
  // change keep their series and schedule; changed ones restart; removed
  // ones have their runs cancelled and their series removed. Logs the
  // outcome and sets sloprobe_config_last_reload_successful.
  ReloadOutcome Reload(config::LoadResult loaded);

  // Calls `hook` before (true) and after (false) every reload, whichever
  // way it was asked for; for sd_notify.
  void OnReload(std::function<void(bool before, const ReloadOutcome*)> hook);

  // Stops scheduling, cancels in-flight runs and waits for them at most the
  // grace period, closes the web server, then calls `done`.
  void Stop(std::function<void()> done);

  boost::asio::ip::tcp::endpoint WebEndpoint() const;
  // Probes configured now.
  std::size_t ProbeCount() const;
  // See LoopProgressing (daemon/notify.hpp).
  bool SchedulerProgressing(std::chrono::steady_clock::duration tolerance) const;
  // sloprobe's own series (the probes' are in Metrics' store).
  std::shared_ptr<prometheus::Registry> Registry() const;
  // Every family /metrics serves, as prometheus-cpp's data model.
  std::vector<prometheus::MetricFamily> Collect() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The STATUS= text systemctl status shows: "3 probes running", then how the
// last reload (if any) went.
std::string StatusText(std::size_t probes, const ReloadOutcome* last_reload);

// Exit status for a configuration that cannot start (sysexits.h EX_CONFIG):
// starting again cannot help, so the unit does not restart on it
// (RestartPreventExitStatus=) and ends in `failed` at once.
inline constexpr int kExitConfig = 78;

// Runs the daemon until SIGTERM or SIGINT, reloading `config_file` on SIGHUP;
// returns the process exit code: 0 after a stop, kExitConfig when the
// configuration cannot start, 1 when something else keeps it from starting.
int RunDaemon(const std::string& config_file, DaemonOptions options);

}  // namespace sloprobe::daemon
