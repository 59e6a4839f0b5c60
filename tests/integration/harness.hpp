#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "probes/common/result.hpp"
#include "testbed/testbed.hpp"
#include "tests/support/metrics_helper.hpp"

// Real servers on 127.0.0.1 port 0, each on its own thread, for tests that
// talk over loopback.
namespace sloprobe::test {

// The testbed on its own io_context thread.
class TestbedServer {
 public:
  explicit TestbedServer(testbed::Options options = {});
  ~TestbedServer();
  std::uint16_t Port() const { return port_; }
  std::string Url(std::string_view path) const;
  testbed::Testbed& Bed() { return *bed_; }
  void SetFaults(const std::string& yaml) { bed_->SetFaults(testbed::ParseFaults(yaml)); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<testbed::Testbed> bed_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// Parses one probe from YAML (the body of a `probes:` list item, without
// the dash) and fails the test on a config error.
config::ProbeConfig ProbeFromYaml(const std::string& yaml);
config::Config ConfigFromYaml(const std::string& yaml);

// Runs one probe `times` times in a row on a private io_context (so a
// keep-alive connection and a scenario's cached login carry over) and
// returns the results. `before_run`, if set, is called with the run's index
// before each run. `secrets` are scrubbed from details, as in the daemon.
std::vector<probes::ProbeResult> RunRepeatedly(
    const config::ProbeConfig& probe, int times, const std::function<void(int)>& before_run = {},
    std::shared_ptr<const config::Redactor> secrets = nullptr);
inline probes::ProbeResult RunOnce(const config::ProbeConfig& probe) {
  return RunRepeatedly(probe, 1).at(0);
}

// The daemon on its own io_context thread, listening on 127.0.0.1:0.
class DaemonRunner {
 public:
  explicit DaemonRunner(config::Config config, daemon::DaemonOptions options = {});
  ~DaemonRunner();
  std::uint16_t Port() const { return port_; }
  std::vector<prometheus::MetricFamily> Collect() const;
  // Polls `condition` on the metrics every 10 ms until it holds or
  // `timeout` passes; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<prometheus::MetricFamily>&)>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Stops the daemon and returns how long the stop took.
  std::chrono::milliseconds Stop();
  // Reloads from YAML text on the daemon's thread, as SIGHUP would.
  daemon::ReloadOutcome Reload(const std::string& yaml, const std::string& file = "t.yml");

 private:
  boost::asio::io_context io_;
  std::unique_ptr<daemon::Daemon> daemon_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  bool stopped_ = false;
};

// A blocking HTTP/1.1 GET (or other method) to 127.0.0.1:port, for checking
// the daemon's endpoints the way a scraper would.
struct SimpleResponse {
  int status = 0;
  std::string content_type;
  std::string body;
  bool chunked = false;  // sent with Transfer-Encoding: chunked
};
// `version` 10 asks as HTTP/1.0. The body may be of any size.
SimpleResponse HttpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body = "", unsigned version = 11);

// `yaml` with every WSBASE replaced by the testbed's ws:// base URL and
// every BASE by its http:// one.
std::string At(const TestbedServer& bed, std::string yaml);

// A run's steps for messages: "login,chat(stream_error),cleanup(not sent)".
std::string Steps(const probes::ProbeResult& r);
// Why a run failed, with its step and steps, for messages.
std::string Why(const probes::ProbeResult& r);

// The testbed's newest record for `path`, waiting (bounded) until the
// server has added it.
testbed::Record LastRecord(TestbedServer& bed, const std::string& path);

// A throwaway directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& Path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace sloprobe::test
