#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "config/config.hpp"
#include "probes/result.hpp"
#include "probes/tls_contexts.hpp"

namespace sloprobe::probes {

// One configured probe. Run() may be called again before an earlier run has
// finished (max_in_flight > 1); all runs happen on the executor the probe was
// made with. Keep the probe alive (shared_ptr) until its runs have finished.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual boost::asio::awaitable<ProbeResult> Run() = 0;
  virtual const config::ProbeConfig& Config() const = 0;
};

// Runs `probe` once. Probes classify every expected failure; an exception
// is a bug, and it must not take the caller down with it: it becomes a
// `protocol` failure whose detail starts with "internal error".
boost::asio::awaitable<ProbeResult> RunGuarded(Probe& probe);

// Throws std::runtime_error with a message naming the probe when the probe
// cannot be set up (e.g. its CA file is not valid PEM).
// Probes made with the same `tls` share TLS contexts. `secrets` (the
// config's resolved secrets) are scrubbed from failure details, in case a
// server sends one back.
std::shared_ptr<Probe> MakeProbe(const config::ProbeConfig& config,
                                 boost::asio::any_io_executor executor,
                                 std::shared_ptr<TlsContexts> tls,
                                 std::shared_ptr<const config::Redactor> secrets = nullptr);

}  // namespace sloprobe::probes
