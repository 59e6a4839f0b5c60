#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <random>

#include "config/loader.hpp"
#include "probes/kinds.hpp"

namespace sloprobe::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;

TestbedServer::TestbedServer(testbed::Options options) {
  options.listen = "127.0.0.1:0";
  bed_ = std::make_unique<testbed::Testbed>(io_.get_executor(), options);
  port_ = bed_->Port();
  bed_->Start();
  thread_ = std::thread([this] { io_.run(); });
}

TestbedServer::~TestbedServer() {
  asio::post(io_, [this] {
    bed_->Stop();
    io_.stop();
  });
  thread_.join();
}

std::string TestbedServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

config::Config ConfigFromYaml(const std::string& yaml) {
  auto r = config::LoadConfigString(yaml, "test.yml");
  if (!r.config) {
    std::string all;
    for (const auto& e : r.errors) all += e.ToString() + "\n";
    ADD_FAILURE() << all;
    throw std::runtime_error("bad test config");
  }
  return std::move(*r.config);
}

config::ProbeConfig ProbeFromYaml(const std::string& yaml) {
  std::string indented;
  std::istringstream in(yaml);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    indented += (first ? "  - " : "    ") + line + "\n";
    first = false;
  }
  return ConfigFromYaml("probes:\n" + indented).probes.at(0);
}

std::vector<probes::ProbeResult> RunRepeatedly(const config::ProbeConfig& probe, int times,
                                               const std::function<void(int)>& before_run,
                                               std::shared_ptr<const config::Redactor> secrets) {
  asio::io_context io;
  auto p = probes::MakeProbe(probe, io.get_executor(), std::make_shared<probes::TlsContexts>(),
                             std::move(secrets));
  std::vector<probes::ProbeResult> results;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < times; ++i) {
          if (before_run) before_run(i);
          results.push_back(co_await p->Run());
        }
      },
      asio::detached);
  io.run();
  return results;
}

DaemonRunner::DaemonRunner(config::Config config, daemon::DaemonOptions options) {
  options.listen_address = "127.0.0.1:0";
  daemon_ = std::make_unique<daemon::Daemon>(io_, std::move(config), options);
  daemon_->Start();
  port_ = daemon_->WebEndpoint().port();
  thread_ = std::thread([this] { io_.run(); });
}

DaemonRunner::~DaemonRunner() {
  Stop();
  thread_.join();
}

std::chrono::milliseconds DaemonRunner::Stop() {
  if (stopped_) return {};
  stopped_ = true;
  const auto start = std::chrono::steady_clock::now();
  std::promise<void> done;
  asio::post(io_, [&] { daemon_->Stop([&] { done.set_value(); }); });
  done.get_future().wait();
  const auto took = std::chrono::steady_clock::now() - start;
  asio::post(io_, [this] { io_.stop(); });
  return std::chrono::duration_cast<std::chrono::milliseconds>(took);
}

daemon::ReloadOutcome DaemonRunner::Reload(const std::string& yaml, const std::string& file) {
  std::promise<daemon::ReloadOutcome> outcome;
  asio::post(io_,
             [&] { outcome.set_value(daemon_->Reload(config::LoadConfigString(yaml, file))); });
  return outcome.get_future().get();
}

std::vector<prometheus::MetricFamily> DaemonRunner::Collect() const {
  // Safe from any thread: families may be read while the daemon's thread
  // records.
  return daemon_->Collect();
}

bool DaemonRunner::WaitFor(
    const std::function<bool(const std::vector<prometheus::MetricFamily>&)>& condition,
    std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition(Collect())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition(Collect());
}

SimpleResponse HttpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body, unsigned version) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target, version};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  if (!body.empty()) {
    req.body() = body;
    req.prepare_payload();
  }
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(req.method() == http::verb::head);
  parser.body_limit(boost::none);
  http::read(socket, buffer, parser);
  const auto& res = parser.get();
  return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
          res.body(), parser.chunked()};
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("sloprobe-test-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string At(const TestbedServer& bed, std::string yaml) {
  const std::string base = bed.Url("");
  const std::string ws = "ws" + base.substr(4);  // http://... -> ws://...
  for (const auto& [from, to] :
       {std::pair{std::string("WSBASE"), ws}, std::pair{std::string("BASE"), base}}) {
    for (auto pos = yaml.find(from); pos != std::string::npos; pos = yaml.find(from, pos)) {
      yaml.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  return yaml;
}

std::string Steps(const probes::ProbeResult& r) {
  std::string out;
  for (const auto& s : r.steps) {
    if (!out.empty()) out += ",";
    out += s.name;
    if (!s.sent) out += "(not sent)";
    if (!s.Ok()) out += "(" + std::string(probes::ReasonName(s.reason)) + ")";
  }
  return out;
}

std::string Why(const probes::ProbeResult& r) {
  return std::string(probes::ReasonName(r.reason)) + " at " + r.step + ": " + r.detail + " [" +
         Steps(r) + "]";
}

testbed::Record LastRecord(TestbedServer& bed, const std::string& path) {
  for (int i = 0; i < 200; ++i) {
    const auto records = bed.Bed().Records();
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      if (it->path == path) return *it;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "no record for " << path;
  return {};
}

}  // namespace sloprobe::test
