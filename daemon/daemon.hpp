#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace prometheus {
class Registry;
}

namespace sloprobe::daemon {

struct DaemonOptions {
  std::string listen_address = ":9479";
  std::chrono::milliseconds stop_grace{1500};
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

  // Stops scheduling, cancels in-flight runs and waits for them at most the
  // grace period, closes the web server, then calls `done`.
  void Stop(std::function<void()> done);

  boost::asio::ip::tcp::endpoint WebEndpoint() const;
  std::shared_ptr<prometheus::Registry> Registry() const;
  // The /metrics body: the registry plus process_* metrics.
  std::string RenderMetrics() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Runs the daemon until SIGTERM or SIGINT; returns the process exit code.
int RunDaemon(const std::string& config_file, const DaemonOptions& options);

}  // namespace sloprobe::daemon
