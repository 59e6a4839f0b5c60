#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace boost::asio {
class io_context;
}
#include "daemon/otlp.hpp"

namespace sloprobe::daemon {

// Pushes snapshots of the metrics to an OTLP/HTTP endpoint every
// `interval`, on a thread of its own: collecting, encoding, compressing,
// resolving and sending never run on the probes' thread, so they cannot delay
// a probe. At most kMaxQueued snapshots wait (the oldest is dropped: with
// cumulative data the newest says it all). 429, 502, 503, 504 and network
// failures are retried with exponential backoff and jitter, honouring
// Retry-After; other statuses are not. Counts what it did in
// sloprobe_otlp_exports_total{result} and sloprobe_otlp_export_duration_seconds.
class OtlpExporter {
 public:
  static constexpr std::size_t kMaxQueued = 4;
  // What one snapshot exports: sloprobe's own families, and the per-probe
  // series of `store` with `external` labels added.
  struct Sources {
    std::vector<prometheus::MetricFamily> families;
    std::shared_ptr<const series::Store> store;
    std::vector<prometheus::ClientMetric::Label> external;
  };
  using Collect = std::function<Sources()>;

  // `resource`: the attributes sloprobe sets (service.name, ...); the
  // config's own resource entries override them by name.
  OtlpExporter(config::OtlpConfig config, Collect collect, prometheus::Registry& self_metrics,
               otlp::Attributes resource, std::string version);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Adds its series to the registry and starts the thread. At most one
  // exporter may be started on a registry at a time.
  void Start();
  // Takes a last snapshot and sends what is queued until `deadline`, then
  // stops; returns at once. Join() waits for the thread.
  void BeginStop(std::chrono::steady_clock::time_point deadline);
  void Join();

  const config::OtlpConfig& Config() const;

 private:
  struct State;
  std::unique_ptr<boost::asio::io_context> io_;
  std::shared_ptr<State> state_;
};

// gzip (RFC 1952) of `data`, as Content-Encoding: gzip wants it.
std::string Gzip(std::string_view data);

}  // namespace sloprobe::daemon
